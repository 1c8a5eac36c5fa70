"""Many concurrent check-ins into one session through the whole app (HTTP, the door's batcher,
the database), on SQLite and PostgreSQL; then the same over a live hub pair with real Redis
and a dashboard watching.

Capacity is never overshot, nothing acknowledged is lost or doubled, idempotent retries that
land in the same batch get the same answer, one bad request does not fail its batch-mates, and
an overloaded door answers 503 in the API's envelope.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from hub.app import create_app
from hub.config import DatabaseURL, Settings
from storage.tables import T_COUNTERS, T_EVENTS, T_HISTORY, T_IDEMPOTENCY, T_RECORDS
from tests.conftest import SECRET
from tests.door.kit import make_attendees, make_session, run, scalar
from tests.livehub import LiveHub

N, CAPACITY = 120, 80


def count(db: DatabaseURL, table: Any, *where: Any) -> int:
    return int(scalar(db, sa.select(sa.func.count()).select_from(table).where(*where)))


@asynccontextmanager
async def app_client(settings: Settings, key: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app in this event loop (lifespan run), behind an in-process HTTP client."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                     headers={"API-Key": key}, timeout=60) as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


def checkin(client: httpx.AsyncClient, sid: str, **body: Any) -> Any:
    return client.post(f"/api/v2/sessions/{sid}/attendance/checkin", json=body)


def test_a_rush_into_one_session_holds_capacity_and_loses_nothing(
        settings: Settings, api_key: str) -> None:
    db = settings.database
    sid = make_session(db, name="Keynote", capacity=CAPACITY)
    people = make_attendees(db, N)

    async def go() -> tuple[list[httpx.Response], list[httpx.Response], int]:
        async with app_client(settings, api_key) as client:
            # every attendee once, and the first 20 a second time with the same key: the
            # copies are queued in the same batches as their originals
            bodies = [{"external_id": p, "source": "scan", "idempotency_key": f"k-{p}"}
                      for p in people]
            bodies[1::6] = [{"external_id": "nobody", "source": "scan"}] * len(bodies[1::6])
            copies = [dict(b) for b in bodies[:20]]
            first = await asyncio.gather(*(checkin(client, sid, **b)
                                           for b in bodies + copies))
            batches = client.app.state.hub.door.batches  # type: ignore[attr-defined]
            # retried later, in a new batch
            again = await asyncio.gather(*(checkin(client, sid, **b) for b in bodies[:30]))
            return list(first), list(again), batches

    first, again, batches = asyncio.run(go())
    originals, copies = first[:N], first[N:]
    unknown = len(range(1, N, 6))
    statuses = [r.status_code for r in originals]
    assert statuses.count(404) == unknown
    assert statuses.count(200) == CAPACITY
    assert statuses.count(409) == N - unknown - CAPACITY
    assert {r.json()["reason"] for r in originals if r.status_code == 409} == {"capacity_full"}
    assert sorted(r.json()["data"]["seq"] for r in originals if r.status_code == 200) \
        == list(range(1, CAPACITY + 1))
    assert batches < N / 4, "requests that arrive together share a transaction"
    for copy, original in zip(copies, originals, strict=False):
        assert copy.status_code == original.status_code
        if original.status_code == 200:
            assert copy.content == original.content
    for retry, original in zip(again, originals, strict=False):
        if original.status_code == 200:
            assert retry.status_code == 200 and retry.content == original.content
        else:
            assert retry.status_code == original.status_code

    assert scalar(db, sa.select(T_COUNTERS.c.in_room).where(T_COUNTERS.c.session_id == sid)) \
        == CAPACITY
    assert scalar(db, sa.select(T_COUNTERS.c.seq).where(T_COUNTERS.c.session_id == sid)) \
        == CAPACITY
    assert count(db, T_RECORDS, T_RECORDS.c.session_id == sid) == CAPACITY
    assert count(db, T_HISTORY) == CAPACITY
    assert count(db, T_EVENTS, T_EVENTS.c.session_id == sid) == CAPACITY
    assert count(db, T_IDEMPOTENCY, T_IDEMPOTENCY.c.session_id == sid) == CAPACITY


def test_a_bad_request_in_a_batch_does_not_fail_the_others(
        settings: Settings, api_key: str) -> None:
    db = settings.database
    sid = make_session(db, checkin_code="door")
    people = make_attendees(db, 10)

    async def go() -> list[httpx.Response]:
        async with app_client(settings, api_key) as client:
            bodies: list[dict[str, Any]] = [{"external_id": p} for p in people]
            bodies[3] = {"external_id": people[3], "timestamp": "yesterday-ish"}
            bodies[5] = {"external_id": people[5], "source": "web", "code": "wrong"}
            bodies[7] = {"external_id": people[7], "source": "web", "code": "DOOR"}
            return list(await asyncio.gather(*(checkin(client, sid, **b) for b in bodies)))

    out = asyncio.run(go())
    assert out[3].status_code == 422 and out[3].json()["field"] == "timestamp"
    assert out[5].status_code == 409 and out[5].json()["reason"] == "code_invalid"
    good = [r for i, r in enumerate(out) if i not in (3, 5)]
    assert all(r.status_code == 200 for r in good), [r.text for r in good]
    assert sorted(r.json()["data"]["seq"] for r in good) == list(range(1, 9))
    assert count(db, T_RECORDS) == 8 and count(db, T_HISTORY) == 8


def test_an_overloaded_door_answers_503_with_retry_after(
        settings: Settings, api_key: str) -> None:
    db = settings.database
    sid = make_session(db)
    people = make_attendees(db, 12)

    async def go() -> list[httpx.Response]:
        async with app_client(settings, api_key) as client:
            door = client.app.state.hub.door  # type: ignore[attr-defined]
            door.max_waiting = 0  # nothing may wait: every request is turned away
            refused = list(await asyncio.gather(*(checkin(client, sid, external_id=p)
                                                  for p in people)))
            door.max_waiting = 4096
            refused.append(await checkin(client, sid, external_id=people[0]))
            return refused

    out = asyncio.run(go())
    for r in out[:-1]:
        assert r.status_code == 503
        assert r.headers["Retry-After"] == "1"
        body = r.json()
        assert body["status"] == "error" and body["code"] == "503" and body["message"]
    assert out[-1].status_code == 200 and out[-1].json()["data"]["seq"] == 1
    assert count(db, T_RECORDS) == 1


def test_removal_clear_and_preload_interleave_with_a_rush(
        settings: Settings, api_key: str) -> None:
    """Admin changes lock the counter row first, so counts stay exact beside batches."""
    db = settings.database
    sid = make_session(db)
    people = make_attendees(db, 60)

    async def go() -> dict[str, Any]:
        async with app_client(settings, api_key) as client:
            base = f"/api/v2/sessions/{sid}/attendance"
            jobs = [checkin(client, sid, external_id=p) for p in people[:40]]
            jobs.append(client.post(f"{base}/remove", json={"external_id": people[0]}))
            jobs.append(client.post(f"{base}/preload", json=[
                {"external_id": p} for p in people[40:]]))
            jobs += [checkin(client, sid, external_id=p) for p in people[40:50]]
            done = await asyncio.gather(*jobs)
            assert all(r.status_code == 200 for r in done), [r.text for r in done
                                                             if r.status_code != 200]
            r = await client.get(f"/api/v2/sessions/{sid}/counts")
            return dict(r.json()["data"])

    counts = asyncio.run(go())
    in_room = count(db, T_RECORDS, T_RECORDS.c.session_id == sid,
                    T_RECORDS.c.in_since.is_not(None))
    checked = count(db, T_RECORDS, T_RECORDS.c.session_id == sid,
                    T_RECORDS.c.checkin_time_actual.is_not(None))
    assert counts["in_room"] == in_room and counts["checked_in"] == checked
    assert counts["registered"] == 20
    seqs = run(db, lambda c: _seqs(c, sid))
    assert seqs == list(range(1, len(seqs) + 1))


async def _seqs(conn: Any, sid: str) -> list[int]:
    rows = await conn.execute(sa.select(T_EVENTS.c.seq).where(T_EVENTS.c.session_id == sid)
                              .order_by(T_EVENTS.c.seq))
    return [int(r.seq) for r in rows]


@pytest.mark.slow
def test_live_hubs_with_redis_batch_and_dashboards_see_every_seq(
        pg_db: DatabaseURL, redis_run: tuple[str, str],
        live_hubs: Callable[..., LiveHub]) -> None:
    """Two live hub processes (two workers each) on PostgreSQL and Redis: a rush with
    duplicated idempotent requests, watched by a dashboard on each hub."""
    from tests.realtime.helpers import Dashboard, make_event

    url, prefix = redis_run
    env = {"ROLLCALL_DATABASE_URL": pg_db.sync_url.replace("postgresql+psycopg", "postgresql"),
           "ROLLCALL_SECRET_KEY": SECRET, "ROLLCALL_PUBLIC_URL": "http://testserver",
           "ROLLCALL_REDIS_URL": url, "ROLLCALL_CHANNEL_PREFIX": prefix}
    hubs = [live_hubs(env, workers=2), live_hubs(env, workers=2)]
    n, capacity = 200, 150

    async def go() -> None:
        (event,) = await make_event(pg_db, attendees=n, capacity=capacity)
        sid = event.session_id
        boards = [await Dashboard(f"{h.ws_url}/ws/sessions/{sid}",
                                  headers={"API-Key": event.api_key}).connect() for h in hubs]
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        try:
            for d in boards:
                await d.wait_seq(0)
            async with httpx.AsyncClient(headers={"API-Key": event.api_key}, timeout=60,
                                         limits=limits) as client:
                async def send(i: int, hub: LiveHub) -> httpx.Response:
                    return await client.post(
                        f"{hub.url}/api/v2/sessions/{sid}/attendance/checkin",
                        json={"external_id": f"A{i}", "source": "scan",
                              "idempotency_key": f"live-{i}"})

                plan = [(i, hubs[i % 2]) for i in range(n)]
                plan += [(i, hubs[(i + 1) % 2]) for i in range(0, n, 5)]  # retries, racing
                out = await asyncio.gather(*(send(i, h) for i, h in plan))
                counts = (await client.get(
                    f"{hubs[0].url}/api/v2/sessions/{sid}/counts")).json()["data"]
            first: dict[int, httpx.Response] = {}
            for (i, _), r in zip(plan, out, strict=True):
                assert r.status_code in (200, 409), r.text
                if i in first and r.status_code == 200 and first[i].status_code == 200:
                    assert r.content == first[i].content
                first.setdefault(i, r)
            admitted = [r for r in first.values() if r.status_code == 200]
            assert len(admitted) == capacity
            assert sorted(r.json()["data"]["seq"] for r in admitted) \
                == list(range(1, capacity + 1))
            assert counts["in_room"] == capacity
            for d in boards:
                await d.wait_seq(capacity, within=30)
                await d.wait_counts(counts)
                assert d.problems == []
                assert d.delta_seqs == list(range(1, capacity + 1))
        finally:
            for d in boards:
                await d.close()

    asyncio.run(go())
    assert count(pg_db, T_HISTORY) == capacity
    assert count(pg_db, T_IDEMPOTENCY) == capacity
