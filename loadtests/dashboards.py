"""Many dashboards in one process: WebSocket clients that behave like the moderator screen.

Each dashboard connects to ``/ws/sessions/{id}`` with the ``API-Key`` header, takes the
``snapshot``, then applies deltas in ``seq`` order. It does what the real screen does when the
line is bad: on a gap in ``seq`` or a close with a "reconnect" code it reconnects with
``?since=<last seq applied>``. It records, for the benchmark:

- push lag samples: (seq, arrival time on CLOCK_MONOTONIC) for a stride of the events, merged
  later with the doors' answer times (the same clock);
- events missed: seqs after the first snapshot that never arrived as an event (a resync by a
  fresh snapshot counts the skipped events as missed);
- gaps, duplicates, reconnects by close code, snapshots, the highest ``in_room`` ever shown;
- the final counts, to compare with the database.

Framing and the WebSocket handshake are websockets' sans-I/O ``ClientProtocol``; the I/O is
one lean asyncio protocol per connection (about 3 µs a frame, so one core can follow far
more frames than the asyncio client would). The hub sends deltas that arrive close together
as one ``{"type": "batch", "session_id": ..., "events": [...]}`` frame: its events are applied
one by one, in order, as if each had come alone (a JSON array of messages is accepted too).

Driven by the benchmark over stdin/stdout:

    python -m loadtests.dashboards ws://127.0.0.1:8000 SESSION KEY --count 100 --out dash.json
    -> prints "ready N" once N dashboards hold their snapshot
    <- "final SEQ"  then waits (deadline) until every dashboard has applied SEQ, writes --out
                    and exits; "quit" writes and exits at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from array import array
from collections import Counter
from typing import Any, cast
from urllib.parse import urlsplit

import msgspec
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri

EVENT_TYPES = frozenset({"checkin", "checkout", "removed", "cleared", "preload"})
TERMINAL_CLOSE = frozenset({4400, 4401, 4403, 4404, 1008})


class Msg(msgspec.Struct):
    type: str = ""
    t: float | None = None
    seq: int | None = None
    counts: dict[str, int | None] | None = None
    events: list[Msg] | None = None
    reason: str | None = None


_decoder = msgspec.json.Decoder(Msg | list[Msg])
_PONG = b'{"type":"pong"}'
TICK = 0.01  # seconds: the resolution of the deliveries' timeline


def raise_nofile() -> int:
    """Raise the soft open-files limit to the hard one; return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


class Pool:
    def __init__(self, base: str, session: str, key: str, stride: int, connect_limit: int) -> None:
        self.base = base.rstrip("/")
        self.session = session
        self.key = key
        self.stride = max(1, stride)
        self.sem = asyncio.Semaphore(connect_limit)
        self.dashboards: list[Dashboard] = []
        self.ready = 0
        self.failed = 0
        self.ready_event = asyncio.Event()
        self.target = 0
        self.progress = asyncio.Event()
        self.deliveries = 0
        self.first_delivery = 0.0
        self.last_delivery = 0.0
        # Deliveries per TICK seconds since ``t_base``, to count those inside a time window.
        self.t_base = time.monotonic()
        self.timeline = array("l")
        self.errors: Counter[str] = Counter()


class Dashboard(asyncio.Protocol):
    def __init__(self, pool: Pool, idx: int) -> None:
        self.pool = pool
        self.idx = idx
        self.transport: asyncio.Transport | None = None
        self.proto: ClientProtocol | None = None
        self.first_seq: int | None = None
        self.last: int | None = None
        self.counts: dict[str, int | None] | None = None
        self.counts_seq = -1
        self.events = 0
        self.missed = 0
        self.gaps = 0
        self.duplicates = 0
        self.snapshots = 0
        self.max_in_room = 0
        self.closes: Counter[str] = Counter()
        self.failed: str | None = None
        self.lag_seq = array("q")
        self.lag_t = array("d")
        self.opened = False
        self.closing = False

    # connection management -------------------------------------------------------------
    def url(self) -> str:
        path = f"{self.pool.base}/ws/sessions/{self.pool.session}"
        return path if self.last is None else f"{path}?since={self.last}"

    async def connect(self, delay: float = 0.0) -> None:
        if delay:
            await asyncio.sleep(delay)
        uri = parse_uri(self.url())
        loop = asyncio.get_running_loop()
        backoff = 0.1
        while True:
            try:
                async with self.pool.sem:
                    self.proto = ClientProtocol(uri, max_size=None)
                    self.opened = False
                    self.closing = False
                    await loop.create_connection(lambda: self, uri.host, uri.port)
                    return
            except OSError as exc:
                self.pool.errors[f"connect:{type(exc).__name__}"] += 1
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert self.proto is not None
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        request = self.proto.connect()
        request.headers["API-Key"] = self.pool.key
        self.proto.send_request(request)
        self.flush()

    def flush(self) -> None:
        assert self.proto is not None
        if self.transport is None:
            return
        for data in self.proto.data_to_send():
            if data:
                self.transport.write(data)
            elif self.transport.can_write_eof() and not self.transport.is_closing():
                self.transport.write_eof()  # the protocol's end-of-stream marker

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        proto = self.proto
        code = "lost"
        if proto is not None and proto.close_rcvd is not None:
            code = str(proto.close_rcvd.code)
        elif proto is not None and proto.handshake_exc is not None:
            code = f"handshake:{proto.handshake_exc}"
        if self.closing:
            code = "gap-resume" if code in ("lost", "1000", "1005") else code
        self.closes[code] += 1
        if proto is not None and proto.close_rcvd is not None and \
                proto.close_rcvd.code in TERMINAL_CLOSE:
            self.fail(f"closed {proto.close_rcvd.code} {proto.close_rcvd.reason}",
                      f"close:{proto.close_rcvd.code}")
            return
        if proto is not None and proto.handshake_exc is not None:
            response = getattr(proto, "response", None)
            status = response.status_code if isinstance(response, Response) else 0
            if status in (401, 403, 404):
                self.fail(f"handshake refused {status}", f"handshake:{status}")
                return
        if not self.closing:
            self.pool.errors[f"reconnect:{code}"] += 1
        asyncio.get_running_loop().create_task(self.connect(0.05))

    def fail(self, why: str, kind: str) -> None:
        """Give up on this dashboard (the hub said: do not reconnect)."""
        self.failed = why
        pool = self.pool
        pool.errors[kind] += 1
        if self.first_seq is None:
            pool.failed += 1
            if pool.ready + pool.failed >= pool.target:
                pool.ready_event.set()
        pool.progress.set()

    def data_received(self, data: bytes) -> None:
        proto = self.proto
        assert proto is not None
        proto.receive_data(data)
        now = time.monotonic()
        if not self.opened and proto.state is State.OPEN:
            self.opened = True
        for frame in proto.events_received():
            if isinstance(frame, Frame) and frame.opcode in (Opcode.TEXT, Opcode.BINARY):
                try:
                    msg = _decoder.decode(frame.data)
                except msgspec.DecodeError:
                    self.pool.errors["bad-frame"] += 1
                    continue
                if isinstance(msg, list):
                    for m in msg:
                        self.apply(m, now)
                else:
                    self.apply(msg, now)
        self.flush()
        if proto.state is State.CLOSED and self.transport is not None:
            self.transport.close()

    # the screen's logic ----------------------------------------------------------------
    def apply(self, m: Msg, now: float) -> None:
        if m.events is not None:  # a batch frame: its deltas, in seq order
            for e in m.events:
                self.apply(e, now)
            if m.type == "batch":
                return
        t = m.type
        if m.counts is not None and m.seq is not None and m.seq >= self.counts_seq:
            self.counts = m.counts
            self.counts_seq = m.seq
            in_room = m.counts.get("in_room") or 0
            if in_room > self.max_in_room:
                self.max_in_room = in_room
        if t == "snapshot":
            self.on_snapshot(m)
        elif t in EVENT_TYPES and m.seq is not None:
            self.on_event(m.seq, now)
        elif t == "ping":
            # The hub's heartbeat: answer it, or be closed as a dead peer after 40 s.
            if self.proto is not None and self.proto.state is State.OPEN:
                self.proto.send_text(_PONG)
        elif t == "error":
            self.pool.errors[f"error-frame:{m.reason}"] += 1
        self.pool.progress.set()

    def on_snapshot(self, m: Msg) -> None:
        seq = m.seq or 0
        if self.first_seq is None:
            self.first_seq = seq
            self.last = seq
            self.pool.ready += 1
            if self.pool.ready + self.pool.failed >= self.pool.target:
                self.pool.ready_event.set()
        else:
            self.snapshots += 1
            assert self.last is not None
            if seq > self.last:
                self.missed += seq - self.last
                self.last = seq

    def on_event(self, seq: int, now: float) -> None:
        last = self.last
        if last is None:  # an event before any snapshot: the protocol says this never happens
            self.pool.errors["event-before-snapshot"] += 1
            return
        if seq <= last:
            self.duplicates += 1
            return
        if seq > last + 1:
            # A gap: ask for the range, as the screen does (reconnect with ?since=last).
            self.gaps += 1
            if not self.closing and self.transport is not None:
                self.closing = True
                self.transport.close()
            return
        self.last = seq
        self.events += 1
        pool = self.pool
        pool.deliveries += 1
        if not pool.first_delivery:
            pool.first_delivery = now
        pool.last_delivery = now
        slot = int((now - pool.t_base) / TICK)
        timeline = pool.timeline
        if slot >= len(timeline):
            timeline.extend([0] * (slot + 1 - len(timeline)))
        timeline[slot] += 1
        if (seq + self.idx) % pool.stride == 0:
            self.lag_seq.append(seq)
            self.lag_t.append(now)

    def caught_up(self, seq: int) -> bool:
        if self.failed:
            return True
        return (self.last or 0) >= seq and self.counts_seq >= seq

    def summary(self) -> dict[str, Any]:
        return {
            "first_seq": self.first_seq,
            "last_seq": self.last,
            "counts": self.counts,
            "counts_seq": self.counts_seq,
            "events": self.events,
            "missed": self.missed,
            "gaps": self.gaps,
            "duplicates": self.duplicates,
            "snapshots": self.snapshots,
            "max_in_room": self.max_in_room,
            "closes": dict(self.closes),
            "failed": self.failed,
        }


def write_results(out: str, result: dict[str, Any], dashboards: list[Dashboard]) -> None:
    """The summary as JSON, the lag samples as two flat arrays (int64 seqs, float64 times)."""
    with open(out, "w") as f:
        json.dump(result, f)
    seqs = array("q")
    times = array("d")
    for d in dashboards:
        seqs.extend(d.lag_seq)
        times.extend(d.lag_t)
    with open(out + ".seq", "wb") as f:
        seqs.tofile(f)
    with open(out + ".t", "wb") as f:
        times.tofile(f)


async def read_commands() -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def main_async(args: argparse.Namespace) -> None:
    parts = urlsplit(args.url)
    base = f"{'wss' if parts.scheme in ('https', 'wss') else 'ws'}://{parts.netloc}"
    pool = Pool(base, args.session, args.key, args.stride, args.connect_limit)
    pool.target = args.count
    pool.dashboards = [Dashboard(pool, args.index_base + i) for i in range(args.count)]
    commands = await read_commands()
    t0 = time.monotonic()
    tasks = [asyncio.create_task(d.connect()) for d in pool.dashboards]
    try:
        await asyncio.wait_for(pool.ready_event.wait(), timeout=args.connect_deadline)
    except TimeoutError:
        pass
    connect_s = time.monotonic() - t0
    print(f"ready {pool.ready} {connect_s:.3f} {pool.failed}", flush=True)
    final: int | None = None
    while True:
        line = (await commands.readline()).decode().strip()
        if not line or line == "quit":
            break
        if line.startswith("final"):
            final = int(line.split()[1])
            deadline = time.monotonic() + args.final_deadline
            while time.monotonic() < deadline:
                if all(d.caught_up(final) for d in pool.dashboards):
                    break
                pool.progress.clear()
                try:
                    await asyncio.wait_for(pool.progress.wait(), timeout=0.2)
                except TimeoutError:
                    pass
            break
    result = {
        "count": args.count,
        "ready": pool.ready,
        "connect_s": connect_s,
        "final": final,
        "deliveries": pool.deliveries,
        "first_delivery": pool.first_delivery,
        "last_delivery": pool.last_delivery,
        "timeline_base": pool.t_base,
        "timeline_tick": TICK,
        "timeline": pool.timeline.tolist(),
        "errors": dict(pool.errors),
        "dashboards": [d.summary() for d in pool.dashboards],
    }
    write_results(args.out, result, pool.dashboards)
    for d in pool.dashboards:
        if d.transport is not None:
            d.transport.abort()
    for t in tasks:
        t.cancel()
    print("done", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description="WebSocket dashboards for the door-rush benchmark")
    p.add_argument("url", help="the hub's base URL, http://host:port or ws://host:port")
    p.add_argument("session")
    p.add_argument("key")
    p.add_argument("--count", type=int, default=10)
    p.add_argument("--stride", type=int, default=1, help="record lag for 1 event in STRIDE")
    p.add_argument("--index-base", type=int, default=0)
    p.add_argument("--connect-limit", type=int, default=200)
    p.add_argument("--connect-deadline", type=float, default=120.0)
    p.add_argument("--final-deadline", type=float, default=20.0)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    raise_nofile()
    import uvloop

    uvloop.run(main_async(args))


if __name__ == "__main__":
    main()
