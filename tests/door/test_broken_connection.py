"""The door after the database dropped the hub's connections (a restart, a failover, an
idle timeout): the next check-ins are answered, not failed, whether the pooled connection
was idle long enough to be checked first or was used a moment ago."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from hub.config import DatabaseURL, Settings
from storage import engine as storage_engine
from storage.engine import make_engine
from tests.door.kit import make_attendees, make_session


@pytest.fixture
def db(pg_db: DatabaseURL) -> DatabaseURL:
    """Only PostgreSQL has a server to drop connections."""
    return pg_db


def drop_hub_connections(db: DatabaseURL) -> int:
    async def go() -> int:
        engine = make_engine(db)
        try:
            async with engine.begin() as conn:
                rows = await conn.execute(sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
                return len(rows.all())
        finally:
            await engine.dispose()

    return asyncio.run(go())


@pytest.mark.parametrize("idle", [False, True], ids=["just-used", "idle"])
def test_checkins_go_on_after_the_database_dropped_the_pool(
        api: TestClient, settings: Settings, idle: bool,
        monkeypatch: pytest.MonkeyPatch) -> None:
    if idle:  # every pooled connection counts as idle: checked before use
        monkeypatch.setattr(storage_engine, "IDLE_PING_S", 0.0)
    sid = make_session(settings.database, capacity=10)
    make_attendees(settings.database, 3)
    r = api.post(f"/api/v2/sessions/{sid}/attendance/checkin", json={"external_id": "A0001"})
    assert r.status_code == 200, r.text
    assert drop_hub_connections(settings.database) >= 1
    for n in ("A0002", "A0003"):
        r = api.post(f"/api/v2/sessions/{sid}/attendance/checkin", json={"external_id": n})
        assert r.status_code == 200, r.text
    assert api.get(f"/api/v2/sessions/{sid}/counts").json()["data"]["checked_in"] == 3
