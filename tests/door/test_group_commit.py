"""The door's group-commit batcher (hub/batching.py) on a real database (SQLite and
PostgreSQL), driven directly: no HTTP, no mocks.

Requests submitted together from one event loop are all queued before the session's batch task
first runs, so which requests share a batch is deterministic: no timing is involved.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import msgspec
import pytest
import sqlalchemy as sa

from hub.auth.accounts import create_api_key
from hub.auth.cookies import Signer
from hub.auth.principal import Principal
from hub.config import DatabaseURL
from hub.domain.events import NullSink
from hub.door.decide import DoorRequest
from hub.door.service import MAX_BATCH, DoorService, Overloaded
from hub.errors import CheckinRefused, Invalid, ServiceUnavailable, Unauthorized
from storage.engine import make_engine, open_database
from storage.tables import T_API_KEYS, T_COUNTERS, T_EVENTS, T_HISTORY, T_IDEMPOTENCY, T_RECORDS
from tests.conftest import SECRET
from tests.door.kit import make_attendees, make_session, run, scalar

T = TypeVar("T")

API = Principal(kind="api_key", actor="api_key:1")


@asynccontextmanager
async def door_of(db: DatabaseURL) -> AsyncIterator[DoorService]:
    """A batcher on a hub of its own; API key 1 (``API``) exists."""
    database = open_database(db)
    async with database.tx() as conn:
        if (await conn.execute(sa.select(T_API_KEYS.c.id).where(T_API_KEYS.c.id == 1))
                ).first() is None:
            await create_api_key(conn, description="door tests")
    try:
        yield DoorService(database, Signer(SECRET), NullSink())
    finally:
        await database.close()


def drive(db: DatabaseURL, fn: Callable[[DoorService], Awaitable[T]]) -> T:
    async def go() -> T:
        async with door_of(db) as door:
            return await fn(door)

    return asyncio.run(go())


async def settle(door: DoorService, sid: str, bodies: list[dict[str, Any]],
                 action: str = "checkin",
                 principal: Principal = API) -> list[bytes | BaseException]:
    """Submit every body at once; the answers (or errors) in order."""
    return await asyncio.gather(*(
        door.submit(principal, sid, action, DoorRequest(**b)) for b in bodies
    ), return_exceptions=True)


def answer(outcome: bytes | BaseException) -> dict[str, Any]:
    assert isinstance(outcome, bytes), outcome
    data = msgspec.json.decode(outcome)
    assert isinstance(data, dict)
    return data["data"] if "data" in data else data


def count(db: DatabaseURL, table: Any, *where: Any) -> int:
    return int(scalar(db, sa.select(sa.func.count()).select_from(table).where(*where)))


def test_one_batch_settles_many_in_arrival_order(db: DatabaseURL) -> None:
    sid = make_session(db, capacity=5)
    people = make_attendees(db, 8)

    async def go(door: DoorService) -> list[bytes | BaseException]:
        out = await settle(door, sid, [{"external_id": p} for p in people])
        assert door.batches == 1 and door.largest == 8
        return out

    out = drive(db, go)
    admitted = [answer(o) for o in out[:5]]
    assert [a["seq"] for a in admitted] == [1, 2, 3, 4, 5]
    assert [a["counts"]["in_room"] for a in admitted] == [1, 2, 3, 4, 5]
    assert [a["record"]["user"]["external_id"] for a in admitted] == people[:5]
    for o in out[5:]:
        assert isinstance(o, CheckinRefused) and o.reason == "capacity_full"
    assert scalar(db, sa.select(T_COUNTERS.c.in_room).where(T_COUNTERS.c.session_id == sid)) \
        == 5
    assert scalar(db, sa.select(T_COUNTERS.c.seq).where(T_COUNTERS.c.session_id == sid)) == 5
    assert count(db, T_RECORDS) == 5 and count(db, T_HISTORY) == 5 and count(db, T_EVENTS) == 5


def test_batches_are_at_most_max_batch(db: DatabaseURL) -> None:
    sid = make_session(db)
    people = make_attendees(db, MAX_BATCH + 3)

    async def go(door: DoorService) -> None:
        out = await settle(door, sid, [{"badge_id": f"B{p}"} for p in people])
        assert sorted(answer(o)["seq"] for o in out) == list(range(1, MAX_BATCH + 4))
        assert door.batches == 2 and door.largest == MAX_BATCH
        assert door.waiting == 0

    drive(db, go)


def test_same_attendee_twice_in_one_batch_is_decided_in_order(db: DatabaseURL) -> None:
    sid = make_session(db)
    (p,) = make_attendees(db, 1)

    async def go(door: DoorService) -> list[Any]:
        return list(await asyncio.gather(
            door.submit(API, sid, "checkin", DoorRequest(external_id=p)),
            door.submit(API, sid, "checkin", DoorRequest(email=f"{p.lower()}@example.com")),
            door.submit(API, sid, "checkout", DoorRequest(external_id=p)),
            door.submit(API, sid, "checkin", DoorRequest(badge_id=f"B{p}")),
            return_exceptions=True))

    first, twice, out, back = drive(db, go)
    assert answer(first)["seq"] == 1
    assert isinstance(twice, CheckinRefused) and twice.reason == "already_checked_in"
    assert answer(out)["seq"] == 2 and answer(out)["counts"]["in_room"] == 0
    final = answer(back)
    assert final["seq"] == 3
    assert [h["action"] for h in final["record"]["history"]] == ["checkin", "checkout",
                                                                 "checkin"]
    assert final["counts"]["checked_in"] == 1 and final["counts"]["in_room"] == 1
    assert count(db, T_RECORDS) == 1 and count(db, T_HISTORY) == 3


def test_idempotent_retry_in_the_same_batch_gets_the_same_answer(db: DatabaseURL) -> None:
    sid = make_session(db)
    people = make_attendees(db, 3)

    async def go(door: DoorService) -> list[Any]:
        return await settle(door, sid, [
            {"external_id": people[0], "idempotency_key": "k0"},
            {"external_id": people[1], "idempotency_key": "k1"},
            {"external_id": people[0], "idempotency_key": "k0"},
            {"external_id": people[2]},
            {"external_id": people[1], "idempotency_key": "k1"},
        ])

    out = drive(db, go)
    assert all(isinstance(o, bytes) for o in out), out
    assert out[0] == out[2] and out[1] == out[4]
    assert sorted(answer(o)["seq"] for o in out) == [1, 1, 2, 2, 3]
    assert count(db, T_HISTORY) == 3 and count(db, T_IDEMPOTENCY) == 2

    # and in a later batch, from the stored answer
    again = drive(db, lambda door: settle(door, sid, [
        {"external_id": people[0], "idempotency_key": "k0"}]))
    assert again[0] == out[0]
    assert count(db, T_HISTORY) == 3


def test_a_refused_item_does_not_fail_its_batch_mates(db: DatabaseURL) -> None:
    sid = make_session(db, checkin_code="Open")
    people = make_attendees(db, 4)

    async def go(door: DoorService) -> list[Any]:
        out = await settle(door, sid, [
            {"external_id": people[0]},
            {"external_id": "nobody"},
            {"external_id": people[1], "timestamp": "not a time"},
            {"external_id": people[2], "source": "web"},  # held to the code
            {"external_id": people[3], "source": "web", "code": "OPEN"},
        ])
        assert door.batches == 1
        return out

    ok0, unknown, bad_time, no_code, ok3 = drive(db, go)
    assert answer(ok0)["seq"] == 1 and answer(ok3)["seq"] == 2
    assert isinstance(unknown, CheckinRefused) and unknown.reason == "unknown_attendee"
    assert unknown.http_status == 404
    assert isinstance(bad_time, Invalid) and bad_time.field == "timestamp"
    assert isinstance(no_code, CheckinRefused) and no_code.reason == "code_required"
    assert count(db, T_RECORDS) == 2 and count(db, T_EVENTS) == 2


def test_a_batch_whose_transaction_fails_is_settled_one_by_one(pg_db: DatabaseURL) -> None:
    """A NUL in a note cannot be stored by PostgreSQL (the HTTP layer refuses it first; here
    it reaches the database): the batch fails, and its other items are settled alone."""
    db = pg_db
    sid = make_session(db)
    people = make_attendees(db, 4)

    async def go(door: DoorService) -> list[Any]:
        return await settle(door, sid, [
            {"external_id": people[0]},
            {"external_id": people[1], "note": "bad\x00note"},
            {"external_id": people[2]},
            {"external_id": people[3], "idempotency_key": "k3"},
        ])

    out = drive(db, go)
    assert isinstance(out[1], Exception) and not isinstance(out[1], bytes)
    good = [answer(o) for i, o in enumerate(out) if i != 1]
    assert [a["seq"] for a in good] == [1, 2, 3]
    assert count(db, T_RECORDS) == 3 and count(db, T_HISTORY) == 3
    assert scalar(db, sa.select(T_COUNTERS.c.in_room).where(T_COUNTERS.c.session_id == sid)) \
        == 3


def test_a_disabled_api_key_is_refused_inside_the_batch(db: DatabaseURL) -> None:
    """The door caches API-key principals; the enabled flag is re-read in the transaction."""
    sid = make_session(db)
    people = make_attendees(db, 2)
    key_id, _ = run(db, lambda c: create_api_key(c, description="door"))
    principal = Principal(kind="api_key", actor=f"api_key:{key_id}")

    first = drive(db, lambda door: settle(door, sid, [{"external_id": people[0]}],
                                          principal=principal))
    assert answer(first[0])["seq"] == 1

    async def disable(conn: Any) -> None:
        await conn.execute(sa.update(T_API_KEYS).where(T_API_KEYS.c.id == key_id)
                           .values(disabled_at=sa.func.now()))

    run(db, disable)
    (second,) = drive(db, lambda door: settle(door, sid, [{"external_id": people[1]}],
                                              principal=principal))
    assert isinstance(second, Unauthorized) and second.http_status == 401
    assert count(db, T_RECORDS) == 1


def test_more_than_max_waiting_is_refused_with_503(db: DatabaseURL) -> None:
    sid = make_session(db)
    people = make_attendees(db, 6)

    async def go(door: DoorService) -> list[Any]:
        door.max_waiting = 4
        out = await settle(door, sid, [{"external_id": p} for p in people])
        assert door.waiting == 0
        return out

    out = drive(db, go)
    assert [answer(o)["seq"] for o in out[:4]] == [1, 2, 3, 4]
    for o in out[4:]:
        assert isinstance(o, Overloaded) and o.http_status == 503
        assert o.headers["Retry-After"]
    assert count(db, T_RECORDS) == 4


def test_closing_settles_what_is_queued_then_refuses_with_503(db: DatabaseURL) -> None:
    """The hub stopping: every request already queued is committed and answered before the
    database goes away; a request that comes after gets 503 ``unavailable``."""
    sid = make_session(db)
    people = make_attendees(db, 40)

    async def go(door: DoorService) -> tuple[list[Any], BaseException | None]:
        queued = [asyncio.ensure_future(door.submit(API, sid, "checkin",
                                                    DoorRequest(external_id=p)))
                  for p in people]
        await asyncio.sleep(0)  # every request is queued; the first batch has begun
        await door.close()
        assert all(f.done() for f in queued)
        late: BaseException | None = None
        try:
            await door.submit(API, sid, "checkin", DoorRequest(external_id=people[0]))
        except ServiceUnavailable as exc:
            late = exc
        return [f.result() for f in queued], late

    answers, late = drive(db, go)
    assert sorted(answer(a)["seq"] for a in answers) == list(range(1, 41))
    assert count(db, T_RECORDS) == 40
    assert isinstance(late, ServiceUnavailable) and late.reason == "unavailable"


def test_unknown_session_fails_the_whole_batch_with_404(db: DatabaseURL) -> None:
    make_attendees(db, 1)
    out = drive(db, lambda door: settle(door, "nosuch", [{"external_id": "A0001"}] * 2))
    assert all(getattr(o, "http_status", None) == 404 for o in out), out


@pytest.mark.parametrize("action", ["checkin", "checkout"])
def test_events_are_stored_in_seq_order(db: DatabaseURL, action: str) -> None:
    sid = make_session(db)
    people = make_attendees(db, 6)
    drive(db, lambda door: settle(door, sid, [{"external_id": p} for p in people]))
    if action == "checkout":
        drive(db, lambda door: settle(door, sid, [{"external_id": p} for p in people],
                                      "checkout"))

    async def kinds(conn: Any) -> list[tuple[int, str]]:
        rows = await conn.execute(sa.select(T_EVENTS.c.seq, T_EVENTS.c.kind)
                                  .where(T_EVENTS.c.session_id == sid).order_by(T_EVENTS.c.seq))
        return [(r.seq, r.kind) for r in rows]

    want = [(i + 1, "checkin") for i in range(6)]
    if action == "checkout":
        want += [(i + 7, "checkout") for i in range(6)]
    assert run(db, kinds) == want


def test_requests_queued_while_waiting_for_the_lock_join_the_batch(pg_db: DatabaseURL) -> None:
    """Another transaction holds the session's counter row: the door's batch waits for it,
    and the requests that arrive meanwhile are settled in that same batch."""
    db = pg_db
    sid = make_session(db)
    people = make_attendees(db, 12)

    async def go(door: DoorService) -> list[Any]:
        engine = make_engine(db)
        try:
            async with engine.connect() as holder:
                tx = await holder.begin()
                await holder.execute(sa.select(T_COUNTERS.c.seq)
                                     .where(T_COUNTERS.c.session_id == sid).with_for_update())
                first = asyncio.ensure_future(
                    door.submit(API, sid, "checkin", DoorRequest(external_id=people[0])))
                await _until_a_backend_waits_for_a_lock(holder)
                rest = [asyncio.ensure_future(
                    door.submit(API, sid, "checkin", DoorRequest(external_id=p)))
                    for p in people[1:]]
                await asyncio.sleep(0)  # let them queue
                await tx.rollback()
                out = await asyncio.gather(first, *rest, return_exceptions=True)
        finally:
            await engine.dispose()
        assert door.batches == 1 and door.largest == 12
        return list(out)

    out = drive(db, go)
    assert [answer(o)["seq"] for o in out] == list(range(1, 13))


async def _until_a_backend_waits_for_a_lock(conn: Any, within: float = 30.0) -> None:
    """Wait (with a deadline) until another backend is blocked on a lock."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        waiting = (await conn.execute(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()"))).scalar()
        if waiting:
            return
        if loop.time() > deadline:
            raise AssertionError(f"no backend waited for the counter row within {within}s")
        await asyncio.sleep(0.01)
