"""The door log: every door action the door decides, accepted or refused, is written in the
same batch transaction as the rest of the batch (both door stores: SQLite and PostgreSQL);
a retry answered from the remembered answer is not a new action."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import sqlalchemy as sa

from hub.app import create_app
from hub.config import Settings
from storage.tables import T_DOOR_LOG, T_HISTORY
from tests.door.kit import make_attendees, make_session, run

N, CAPACITY = 60, 25


@asynccontextmanager
async def app_client(settings: Settings, key: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                     headers={"API-Key": key}, timeout=60) as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


def log_rows(settings: Settings) -> list[Any]:
    async def go(conn: Any) -> list[Any]:
        return list(await conn.execute(sa.select(T_DOOR_LOG).order_by(T_DOOR_LOG.c.id)))

    return run(settings.database, go)


def history_count(settings: Settings) -> int:
    async def go(conn: Any) -> int:
        return int((await conn.execute(sa.select(sa.func.count())
                                       .select_from(T_HISTORY))).scalar_one())

    return run(settings.database, go)


def test_every_decided_action_is_logged_in_its_batch(settings: Settings, api_key: str) -> None:
    sid = make_session(settings.database, name="Keynote", capacity=CAPACITY)
    people = make_attendees(settings.database, N)

    async def go() -> tuple[list[httpx.Response], list[httpx.Response], int]:
        async with app_client(settings, api_key) as client:
            bodies = [{"badge_id": f"B{p}", "source": "scan", "idempotency_key": f"k-{p}"}
                      for p in people]
            bodies[::10] = [{"badge_id": f"nobody-{i}"} for i in range(len(bodies[::10]))]
            url = f"/api/v2/sessions/{sid}/attendance/checkin"
            first = await asyncio.gather(*(client.post(url, json=b) for b in bodies))
            batches = client.app.state.hub.door.batches  # type: ignore[attr-defined]
            # retried with the same keys: the accepted ones are answered from memory
            again = await asyncio.gather(*(client.post(url, json=b) for b in bodies[1:10]))
            return list(first), list(again), batches

    first, again, batches = asyncio.run(go())
    assert batches < N  # grouped: the log is written in the batches, not one by one
    answered = Counter("ok" if r.status_code == 200 else r.json()["reason"] for r in first)
    assert answered == {"ok": CAPACITY, "unknown_attendee": N // 10,
                        "capacity_full": N - CAPACITY - N // 10}
    retried = Counter("ok" if r.status_code == 200 else r.json()["reason"] for r in again)
    logged = log_rows(settings)
    # every first request once, and the retries that were decided again (refusals are
    # not remembered); an answer given from memory is not logged again
    assert Counter(r.result for r in logged) == answered + Counter(
        {k: v for k, v in retried.items() if k != "ok"})
    assert sum(1 for r in logged if r.result == "ok") == history_count(settings)
    unknown = [r for r in logged if r.result == "unknown_attendee"]
    assert all(r.attendee_id is None and r.presented_as == "badge_id"
               and r.presented.startswith("nobody-") for r in unknown)
    ok = [r for r in logged if r.result == "ok"]
    assert all(r.attendee_id is not None and r.source == "scan" and r.action == "checkin"
               and r.actor.startswith("api_key:") for r in ok)


def test_a_lone_refusal_is_logged(settings: Settings, api_key: str) -> None:
    sid = make_session(settings.database, name="Keynote")
    make_attendees(settings.database, 1)

    async def go() -> list[int]:
        async with app_client(settings, api_key) as client:
            url = f"/api/v2/sessions/{sid}/attendance/checkout"
            return [(await client.post(url, json={"badge_id": "BA0001"})).status_code]

    assert asyncio.run(go()) == [409]
    (row,) = log_rows(settings)
    assert (row.action, row.result, row.session_id) == ("checkout", "not_checked_in", sid)
    assert history_count(settings) == 0
