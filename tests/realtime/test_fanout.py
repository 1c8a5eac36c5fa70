"""Fan-out inside one worker: encoded once, bounded per connection, never hogging the loop;
and the close-code table."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any, cast

from hub.config import RealtimeConfig
from hub.domain.events import Counts, SessionEvent
from hub.realtime import protocol as p
from hub.realtime.connection import Connection
from hub.realtime.inbox import Stats
from hub.realtime.session_channel import SessionChannel
from hub.realtime.store import SessionState


@dataclass
class StubNode:
    cfg: RealtimeConfig = field(default_factory=lambda: RealtimeConfig(queue_bytes=20_000))
    db: Any = None
    catch_ups: list[int] = field(default_factory=list)
    stats: Stats = field(default_factory=Stats)

    def start_catch_up(self, ch: Any, c: Connection, since: int) -> None:
        self.catch_ups.append(since)


def channel(n: int, node: StubNode) -> tuple[SessionChannel, list[Connection]]:
    ch = SessionChannel(cast(Any, node), "s1")
    ch.state = SessionState(session_id="s1", seq=0, epoch="e1",
                            counts=Counts.of(registered=0, checked_in=0, in_room=0, capacity=None),
                            records=[])
    conns = []
    for _ in range(n):
        c = Connection(cast(Any, None), kind="dashboard", max_bytes=node.cfg.queue_bytes,
                       session_id="s1")
        c.live, c.last_seq = True, 0
        ch.dashboards[c] = None
        conns.append(c)
    return ch, conns


def arrival(seq: int) -> SessionEvent:
    return SessionEvent(session_id="s1", seq=seq, epoch="e1", kind="checkin", at="2026-01-01",
                        counts=Counts.of(registered=0, checked_in=seq, in_room=seq,
                                         capacity=None),
                        record={"user": {"external_id": f"A{seq}"}, "checkin_time": "x",
                                "in_room": True, "pad": "." * 500})


async def test_one_encoding_per_event_shared_by_every_socket_and_the_loop_keeps_turning() -> None:
    node = StubNode()
    ch, conns = channel(5000, node)
    ticks = 0
    stop = False

    async def ticker() -> None:
        nonlocal ticks
        while not stop:
            ticks += 1
            await asyncio.sleep(0)

    t = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    before = ticks
    await ch._apply(arrival(1))
    await ch.flush_deltas()
    stop = True
    await t
    frames = [c.queue[0] for c in conns]
    assert all(f is frames[0] for f in frames)  # the same text object: encoded once
    assert isinstance(frames[0], str)
    assert '"seq":1' in frames[0] and all(c.last_seq == 1 for c in conns)
    assert ticks - before >= 5000 // node.cfg.fanout_batch - 1  # yielded while fanning out


async def test_a_full_queue_closes_only_that_connection_and_frees_it() -> None:
    node = StubNode()
    ch, (slow, fine) = channel(2, node)
    seq = 0
    while slow.closing is None:
        seq += 1
        await ch._apply(arrival(seq))
        await ch.flush_deltas()
        fine.queue.clear()  # this one reads
        fine.queued = 0
        assert slow.queued <= node.cfg.queue_bytes
    assert slow.closing == p.Close.TOO_SLOW
    assert slow.queued == 0 and not slow.queue
    await ch._apply(arrival(seq + 1))
    await ch.flush_deltas()
    assert fine.closing is None and fine.last_seq == seq + 1


async def test_events_out_of_order_are_delivered_in_order_and_duplicates_dropped() -> None:
    node = StubNode()
    ch, (c,) = channel(1, node)
    for seq in (2, 3, 1, 3, 2, 4):
        await ch._offer(arrival(seq))
    await ch.flush_deltas()
    batch, counts = [json.loads(f) for f in c.queue]  # in order, in one batch frame
    assert counts["type"] == "counts" and counts["seq"] == 4  # after the deltas
    assert batch["type"] == "batch" and batch["session_id"] == "s1"
    assert [e["seq"] for e in batch["events"]] == [1, 2, 3, 4]
    assert ch.pending == {}


def test_close_codes_say_whether_to_reconnect() -> None:
    again = {p.Close.GOING_AWAY, p.Close.INTERNAL_ERROR, p.Close.SERVICE_RESTART,
             p.Close.HEARTBEAT_TIMEOUT, p.Close.TOO_SLOW, p.Close.MESSAGE_TOO_BIG}
    for code in p.Close:
        if code == p.Close.NORMAL:
            continue
        assert code.reconnect == (code in again), code
    assert p.Close.TOO_SLOW == 4008
    assert {p.Close.UNAUTHENTICATED, p.Close.FORBIDDEN, p.Close.UNKNOWN_SESSION} == {
        4401, 4403, 4404}


def test_client_frames_are_decoded_with_reasons_naming_the_field() -> None:
    assert p.decode_client('{"type": "resume", "since": 7}') == p.Resume(since=7)
    for text, reason, where in (
        ("nope", "malformed_json", "JSON"),
        ('{"type": "resume", "since": -1}', "invalid", "$.since"),
        ('{"type": "auth"}', "invalid", "password"),
        ('{"type": "prompt", "message": ""}', "invalid", "$.message"),
        ('{"since": 1}', "invalid", "type"),
    ):
        try:
            p.decode_client(text)
        except p.BadFrame as bad:
            assert bad.reason == reason and where in bad.message, (text, bad.message)
        else:
            raise AssertionError(f"{text!r} was accepted")
