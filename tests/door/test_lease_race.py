"""Seat leases racing check-ins on PostgreSQL through two real hub processes: leases are
granted only from free seats, every admission a lease covers is honoured on upload, and the
people in the room plus the seats still leased never pass capacity."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from hub.config import DatabaseURL, Settings
from storage.tables import T_COUNTERS, T_LEASES, T_RECORDS
from tests.conftest import SECRET
from tests.door.kit import make_attendees, make_session, run, scalar
from tests.livehub import LiveHub

pytestmark = pytest.mark.slow

CAPACITY, LEASES, SEATS, WALK_INS = 40, 8, 5, 60


@pytest.fixture
def settings(pg_db: DatabaseURL) -> Settings:
    return Settings(database=pg_db, public_url="http://testserver", secret_key=SECRET)


def test_leases_and_check_ins_race_on_two_hubs_and_capacity_holds(
        settings: Settings, hub_env: dict[str, str],
        live_hubs: Callable[..., LiveHub]) -> None:
    from hub.auth.accounts import create_api_key

    db = settings.database
    sid = make_session(db, name="Workshop", capacity=CAPACITY)
    people = make_attendees(db, WALK_INS + LEASES * (SEATS + 1))
    walk_ins, offline = people[:WALK_INS], people[WALK_INS:]
    _, key = run(db, lambda c: create_api_key(c, description="race"))
    hubs = [live_hubs(hub_env, workers=1), live_hubs(hub_env, workers=1)]
    base = [f"{h.url}/api/v2/sessions/{sid}" for h in hubs]

    async def race() -> tuple[list[httpx.Response], list[httpx.Response],
                              list[tuple[dict[str, Any], httpx.Response]]]:
        async with httpx.AsyncClient(headers={"API-Key": key}, timeout=60) as client:
            async def take(n: int) -> httpx.Response:
                return await client.post(f"{base[n % 2]}/leases", json={"seats": SEATS})

            async def walk_in(n: int) -> httpx.Response:
                return await client.post(f"{base[n % 2]}/attendance/checkin",
                                         json={"external_id": walk_ins[n], "source": "scan"})

            got = await asyncio.gather(*(take(n) for n in range(LEASES)),
                                       *(walk_in(n) for n in range(WALK_INS // 2)))
            leases, first = list(got[:LEASES]), list(got[LEASES:])

            # every granted lease uploads one admission more than its seats, while the
            # other walk-ins keep coming
            async def upload(n: int, held: dict[str, Any]) -> tuple[dict[str, Any],
                                                                     httpx.Response]:
                mine = offline[n * (SEATS + 1):(n + 1) * (SEATS + 1)][:held["seats"] + 1]
                r = await client.post(f"{base[(n + 1) % 2]}/attendance/batch", json={
                    "actions": [{"action": "checkin", "external_id": p, "source": "scan",
                                 "lease_id": held["id"], "decided": "ok",
                                 "idempotency_key": f"{held['id']}-{p}"} for p in mine]})
                return held, r

            granted = [(n, r.json()["data"]) for n, r in enumerate(leases)
                       if r.status_code == 201]
            got2 = await asyncio.gather(*(upload(n, h) for n, h in granted),
                                        *(walk_in(n) for n in range(WALK_INS // 2, WALK_INS)))
            uploads = [g for g in got2[:len(granted)] if isinstance(g, tuple)]
            later = [g for g in got2[len(granted):] if isinstance(g, httpx.Response)]
            return leases, first + later, uploads

    leases, walked, uploads = asyncio.run(race())

    assert {r.status_code for r in leases} <= {201, 409}
    granted = [r.json()["data"] for r in leases if r.status_code == 201]
    assert granted, "no lease was granted"
    assert sum(g["seats"] for g in granted) <= CAPACITY
    admitted = sum(r.status_code == 200 for r in walked)
    assert {r.json()["reason"] for r in walked if r.status_code == 409} <= {"capacity_full"}
    on_lease = 0
    for held, r in uploads:
        assert r.status_code == 200, r.text
        codes = [e["code"] for e in r.json()["data"]["results"]]
        # every admission the lease covers is honoured, whatever the walk-ins did
        assert codes[:held["seats"]] == ["200"] * held["seats"], codes
        on_lease += held["seats"]
        admitted += codes.count("200")

    in_room = scalar(db, sa.select(T_COUNTERS.c.in_room).where(T_COUNTERS.c.session_id == sid))
    assert in_room == admitted <= CAPACITY
    assert int(scalar(db, sa.select(sa.func.count()).select_from(T_RECORDS).where(
        T_RECORDS.c.in_since.is_not(None)))) == in_room
    assert int(scalar(db, sa.select(sa.func.coalesce(sa.func.sum(T_LEASES.c.used), 0)))) \
        == on_lease
