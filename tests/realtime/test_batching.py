"""Batched delta frames and the gap grace, on real hub processes with PostgreSQL and Redis.

Deltas of one session that arrive within ``ROLLCALL_WS_FLUSH_S`` go out as one ``batch`` frame
(in ``seq`` order); a lone delta on an idle channel goes out at once, alone. An event that
arrives ahead of its predecessor waits up to ``ROLLCALL_WS_GAP_GRACE_S`` for it to come through
Redis, and only then is the hole read from the database log.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa

from hub.config import DatabaseURL, RealtimeConfig
from hub.domain.events import Counts, SessionEvent
from hub.realtime import protocol as p
from hub.realtime.connection import Connection
from hub.realtime.inbox import Stats
from hub.realtime.session_channel import SessionChannel
from hub.realtime.store import SessionState
from storage.engine import make_engine
from storage.tables import T_EVENTS
from tests.conftest import SECRET
from tests.livehub import LiveHub, start_hub
from tests.realtime.helpers import Dashboard, Door, Event, healthz, make_event

pytestmark = pytest.mark.slow


@pytest.fixture
def db(pg_db: DatabaseURL) -> DatabaseURL:
    """Several processes: PostgreSQL only."""
    return pg_db


@pytest.fixture
def hubs(db: DatabaseURL, redis_run: tuple[str, str],
         tmp_path: Path) -> Iterator[Callable[..., LiveHub]]:
    """hubs(prefix_suffix="", **settings) -> a hub process on this test's database and Redis."""
    url, prefix = redis_run
    started: list[LiveHub] = []

    def start(suffix: str = "", **settings: str) -> LiveHub:
        env = {"ROLLCALL_DATABASE_URL": db.sync_url.replace("postgresql+psycopg", "postgresql"),
               "ROLLCALL_SECRET_KEY": SECRET, "ROLLCALL_PUBLIC_URL": "http://testserver",
               "ROLLCALL_REDIS_URL": url, "ROLLCALL_CHANNEL_PREFIX": prefix + suffix,
               **settings}
        hub = start_hub(env, tmp_path)
        started.append(hub)
        return hub

    yield start
    for h in started:
        h.stop()


def dashboard(hub: LiveHub, event: Event) -> Dashboard:
    return Dashboard(f"{hub.ws_url}/ws/sessions/{event.session_id}",
                     headers={"API-Key": event.api_key})


async def local(hub: LiveHub) -> dict[str, Any]:
    return dict((await healthz(hub.url))["broker"]["local"])


async def test_a_burst_arrives_in_batch_frames_in_seq_order_and_a_lone_event_alone(
        db: DatabaseURL, hubs: Callable[..., LiveHub]) -> None:
    # A wide window: a burst right after a lone event certainly shares frames.
    hub = hubs(ROLLCALL_WS_FLUSH_S="1.0")
    (event,) = await make_event(db, attendees=40)
    board = await dashboard(hub, event).connect()
    door = Door([hub.url], event, concurrency=10)
    try:
        await board.wait_seq(0)
        assert await door.act("checkin", 0) == 200
        await board.wait_seq(1)
        lone = [f for f in board.frames if f["type"] == "checkin"]
        assert [f["seq"] for f in lone] == [1] and board.batches == []  # sent alone

        await door.checkin_many(range(1, 40))
        assert door.failures == []
        final = await door.counts()
        await board.wait_seq(40)
        await board.wait_counts(final)
        assert board.problems == []
        assert board.delta_seqs == list(range(1, 41))
        assert board.batches, "the burst never shared a frame"
        for seqs in board.batches:
            assert len(seqs) >= 2 and seqs == list(range(seqs[0], seqs[0] + len(seqs)))
        batched = [s for seqs in board.batches for s in seqs]
        assert sorted(batched) == batched and set(batched) <= set(range(2, 41))
        stats = await local(hub)
        assert stats["batches"] == len(board.batches) and stats["holes"] == 0
    finally:
        await board.close()
        await door.close()


async def test_two_workers_through_redis_converge_with_batches(
        db: DatabaseURL, hubs: Callable[..., LiveHub]) -> None:
    a, b = hubs(), hubs()
    (event,) = await make_event(db, attendees=300)
    boards = [await dashboard(h, event).connect() for h in (a, b, a, b)]
    door = Door([a.url, b.url], event, concurrency=16)
    try:
        for d in boards:
            await d.wait_seq(0)
        await door.checkin_many(range(300))
        await door.checkin_many(range(0, 300, 3), action="checkout")
        assert door.failures == []
        final = await door.counts()
        assert (final["in_room"], final["checked_out"]) == (200, 100)
        for d in boards:
            await d.wait_seq(400, within=30)
            await d.wait_counts(final)
            assert d.problems == []
            assert d.delta_seqs == list(range(1, 401))
    finally:
        for d in boards:
            await d.close()
        await door.close()


async def event_payload(db: DatabaseURL, session_id: str, seq: int) -> bytes:
    engine = make_engine(db)
    try:
        async with engine.begin() as conn:
            return bytes((await conn.execute(sa.select(T_EVENTS.c.payload).where(
                T_EVENTS.c.session_id == session_id, T_EVENTS.c.seq == seq))).scalar_one())
    finally:
        await engine.dispose()


async def test_an_early_event_waits_for_the_missing_one_to_come_through_redis(
        db: DatabaseURL, hubs: Callable[..., LiveHub], redis_run: tuple[str, str]) -> None:
    url, prefix = redis_run
    hub = hubs(ROLLCALL_WS_GAP_GRACE_S="10")
    deaf = hubs("-elsewhere")  # same database, another channel prefix: hub never hears it
    (event,) = await make_event(db, attendees=3)
    board = await dashboard(hub, event).connect()
    door = Door([hub.url], event)
    late = Door([deaf.url], event)
    client = aioredis.Redis.from_url(url)
    try:
        await board.wait_seq(0)
        assert await late.act("checkin", 0) == 200  # seq 1, published where hub cannot hear
        assert await door.act("checkin", 1) == 200  # seq 2: hub holds it, waiting for seq 1
        # Seq 1 now arrives through Redis, as from a slow worker (any origin but hub's own).
        payload = await event_payload(db, event.session_id, 1)
        heard = await client.publish(f"{prefix}:session:{event.session_id}",
                                     b"0" * 12 + p.bus_event(payload))
        assert heard >= 1
        await board.wait_seq(2)
        assert board.problems == [] and board.delta_seqs == [1, 2]
        assert (await local(hub))["holes"] == 0  # filled by Redis, not read from the log
    finally:
        await client.aclose()
        await board.close()
        await door.close()
        await late.close()


async def test_a_missing_event_is_read_from_the_log_after_the_grace(
        db: DatabaseURL, hubs: Callable[..., LiveHub]) -> None:
    hub = hubs(ROLLCALL_WS_GAP_GRACE_S="0.05")
    deaf = hubs("-elsewhere")
    (event,) = await make_event(db, attendees=3)
    board = await dashboard(hub, event).connect()
    door = Door([hub.url], event)
    late = Door([deaf.url], event)
    try:
        await board.wait_seq(0)
        assert await late.act("checkin", 0) == 200  # seq 1 never reaches hub through Redis
        assert await door.act("checkin", 1) == 200  # seq 2
        await board.wait_seq(2)
        assert board.problems == [] and board.delta_seqs == [1, 2]
        assert (await local(hub))["holes"] == 1
    finally:
        await board.close()
        await door.close()
        await late.close()


# --- the flush window, inside one channel (no clock involved) ------------------------------


class StubNode:
    def __init__(self, flush_s: float) -> None:
        self.cfg = RealtimeConfig(flush_s=flush_s)
        self.db: Any = None
        self.stats = Stats()

    def start_catch_up(self, ch: Any, c: Connection, since: int) -> None:
        raise AssertionError("no catch-up expected")


def arrival(seq: int) -> SessionEvent:
    return SessionEvent(session_id="s1", seq=seq, epoch="e1", kind="checkin", at="2026-01-01",
                        counts=Counts.of(registered=0, checked_in=seq, in_room=seq,
                                         capacity=None),
                        record={"user": {"external_id": f"A{seq}"}})


async def test_a_lone_event_on_an_idle_channel_is_sent_at_once_the_next_ones_wait() -> None:
    node = StubNode(flush_s=60.0)  # a window no test could wait out
    ch = SessionChannel(cast(Any, node), "s1")
    ch.state = SessionState(session_id="s1", seq=0, epoch="e1",
                            counts=Counts.of(registered=0, checked_in=0, in_room=0,
                                             capacity=None), records=[])
    c = Connection(None, kind="dashboard", max_bytes=1 << 20, session_id="s1")
    c.live, c.last_seq = True, 0
    ch.dashboards[c] = None
    try:
        await ch._offer(arrival(1))
        await ch._maybe_flush()
        sent = [json.loads(f) for f in c.queue]
        # At once, alone (with the counts as of it, in the same write).
        assert [(f["type"], f["seq"]) for f in sent] == [("checkin", 1), ("counts", 1)]
        for seq in (2, 3, 4):
            await ch._offer(arrival(seq))
            await ch._maybe_flush()
        assert len(c.queue) == 2 and [s for s, _ in ch.outgoing] == [2, 3, 4]  # held
        await ch.flush_deltas()  # what the window's timer does when it fires
        batch = json.loads(c.queue[2])
        assert batch["type"] == "batch" and [e["seq"] for e in batch["events"]] == [2, 3, 4]
        assert c.last_seq == 4 and node.stats.batches == 1
    finally:
        await ch.stop()
