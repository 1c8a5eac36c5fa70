"""The database goes away under a running hub (PostgreSQL restarting, seen through a relay
the test cuts): every request answers 503 ``unavailable`` with ``Retry-After``, never a 500;
the log gets one warning, no traceback; a door batch is not retried one by one; /healthz
says the database is down; and when it is back, so is the hub."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import psycopg
import psycopg.errors
import pytest
import sqlalchemy.exc as sa_exc
from starlette.testclient import TestClient

from hub.app import create_app
from hub.auth.accounts import create_api_key
from hub.auth.principal import Principal
from hub.config import DatabaseURL, Settings, parse_database_url
from hub.door.decide import DoorRequest
from storage.engine import connection_lost
from tests.conftest import SECRET
from tests.door.kit import make_attendees, make_session, run
from tests.relay import Relay


@pytest.fixture
def relay(pg_db: DatabaseURL) -> Iterator[Relay]:
    parts = urlsplit(pg_db.sync_url)
    r = Relay(parts.hostname or "127.0.0.1", parts.port or 5432)
    yield r
    r.close()


def through(pg_db: DatabaseURL, relay: Relay) -> DatabaseURL:
    parts = urlsplit(pg_db.sync_url)
    user = f"{parts.username}@" if parts.username else ""
    return parse_database_url(f"postgresql://{user}127.0.0.1:{relay.port}{parts.path}")


def unavailable(r: Any) -> None:
    assert r.status_code == 503, r.text
    assert r.json()["reason"] == "unavailable", r.text
    assert int(r.headers["retry-after"]) > 0


def test_a_lost_database_is_503_logged_once_and_the_hub_comes_back(
    pg_db: DatabaseURL, relay: Relay, caplog: pytest.LogCaptureFixture
) -> None:
    sid = make_session(pg_db, capacity=100)
    make_attendees(pg_db, 8)
    key_id, api_key = run(pg_db, lambda conn: create_api_key(conn, description="door"))
    settings = Settings(database=through(pg_db, relay), public_url="http://testserver",
                        secret_key=SECRET)
    # raise_server_exceptions: an error Starlette re-raises (and a server would log as a
    # traceback) fails the test.
    with TestClient(create_app(settings), raise_server_exceptions=True) as api:
        api.headers["API-Key"] = api_key
        door = f"/api/v2/sessions/{sid}/attendance/checkin"
        assert api.post(door, json={"external_id": "A0001"}).status_code == 200
        hub = api.app.state.hub  # type: ignore[attr-defined]

        relay.cut()
        caplog.clear()
        with caplog.at_level(logging.INFO):
            unavailable(api.post(door, json={"external_id": "A0002"}))
            unavailable(api.get(f"/api/v2/sessions/{sid}"))
            unavailable(api.get(f"/api/v2/sessions/{sid}/attendance"))

            # A batch of six: all answered 503 at once, no one-by-one retries.
            caller = Principal(kind="api_key", actor=f"api_key:{key_id}")

            async def batch() -> list[Any]:
                return await asyncio.gather(*(
                    hub.door.submit(caller, sid, "checkin",
                                    DoorRequest(external_id=f"A000{n}")) for n in range(3, 9)
                ), return_exceptions=True)

            before = hub.door.batches
            outcomes = api.portal.call(batch)  # type: ignore[union-attr]
            assert [getattr(o, "reason", o) for o in outcomes] == ["unavailable"] * 6
            assert all(o.headers["Retry-After"] for o in outcomes)
            assert hub.door.batches == before

            health = api.get("/healthz")
            assert health.status_code == 503
            assert health.json()["database"]["state"] == "unreachable"

        lost = [r for r in caplog.records if r.name == "rollcall.database"]
        assert len(lost) == 1 and lost[0].levelno == logging.WARNING, lost
        assert lost[0].exc_info is None
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
        assert not [r for r in caplog.records if "one by one" in r.getMessage()]

        relay.restore()
        assert api.get("/healthz").status_code == 200
        r = api.post(door, json={"external_id": "A0002"})
        assert r.status_code == 200, r.text
        assert r.json()["data"]["counts"]["in_room"] == 2


def test_what_counts_as_a_lost_connection() -> None:
    gone = [
        psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
        psycopg.errors.CannotConnectNow("the database system is starting up"),
        psycopg.OperationalError("consuming input failed: server closed the connection"),
        sa_exc.OperationalError("SELECT 1", {}, psycopg.OperationalError("connection refused")),
    ]
    kept = [
        sa_exc.OperationalError("BEGIN", {}, sqlite3.OperationalError("database is locked")),
        psycopg.errors.QueryCanceled("canceling statement due to statement timeout"),
        psycopg.errors.DeadlockDetected("deadlock detected"),
        sa_exc.IntegrityError("INSERT", {}, psycopg.errors.UniqueViolation("duplicate")),
        RuntimeError("a bug"),
    ]
    assert [connection_lost(e) for e in gone] == [True] * len(gone)
    assert [connection_lost(e) for e in kept] == [False] * len(kept)
