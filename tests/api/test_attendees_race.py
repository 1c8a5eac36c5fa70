"""Many POST /attendees at once, bringing the same new people (by email alone, and by
external_id): one attendee each, never two, on PostgreSQL with real concurrent transactions."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from hub.app import create_app
from hub.auth.accounts import create_api_key
from hub.config import Settings
from storage.engine import make_engine
from storage.tables import T_ATTENDEES

PEOPLE = 4
AT_ONCE = 6  # requests per person


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
async def test_concurrent_posts_of_the_same_new_person_create_one_attendee(
    settings: Settings,
) -> None:
    bodies: list[list[dict[str, Any]]] = []
    for i in range(AT_ONCE):
        for n in range(PEOPLE):
            bodies.append([{"email": f"Race{n}@Example.com", "first_name": f"Try{i}"}])
            bodies.append([{"external_id": f"X-{n}", "email": f"x{n}@example.com",
                            "last_name": f"Try{i}"}])
    engine = make_engine(settings.database)
    async with engine.begin() as conn:
        _, api_key = await create_api_key(conn, description="race")
    app = create_app(settings)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver",
            headers={"API-Key": api_key}, timeout=60) as c:
        answers = await asyncio.gather(*(c.post("/api/v2/attendees", json=b) for b in bodies))
    assert [r.status_code for r in answers] == [200] * len(bodies), [
        r.text for r in answers if r.status_code != 200]

    async with engine.begin() as conn:
        found = list(await conn.execute(sa.select(T_ATTENDEES.c.email_lower,
                                                  T_ATTENDEES.c.external_id)))
    await engine.dispose()
    emails = sorted(r.email_lower for r in found)
    assert emails == sorted([f"race{n}@example.com" for n in range(PEOPLE)]
                            + [f"x{n}@example.com" for n in range(PEOPLE)])
    assert sorted(r.external_id for r in found if r.external_id) == [
        f"X-{n}" for n in range(PEOPLE)]
