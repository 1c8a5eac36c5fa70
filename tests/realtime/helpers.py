"""What the real-time tests share: a dashboard client that checks what it receives the way a
browser dashboard does, data set-up straight in the database, and a door to check people in."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import sqlalchemy as sa
import websockets
from websockets.asyncio.client import ClientConnection

from hub.auth.accounts import create_api_key
from hub.config import DatabaseURL
from hub.domain.dates import now
from storage.engine import make_engine
from storage.sessions import insert_session
from storage.tables import T_ATTENDEES, T_REGISTRATIONS


@dataclass
class Event:
    """A session with ``attendees`` attendees (external ids ``A0``, ``A1``, ...)."""

    session_id: str
    api_key: str
    attendees: int


async def make_event(db: DatabaseURL, *, attendees: int, capacity: int | None = None,
                     moderator_password: str | None = None, register: bool = False,
                     sessions: int = 1) -> list[Event]:
    engine = make_engine(db)
    try:
        async with engine.begin() as conn:
            _, key = await create_api_key(conn, description="realtime tests")
            ids = [await insert_session(conn, values={
                "name": f"Session {i}", "capacity": capacity,
                "moderator_password": moderator_password,
            }) for i in range(sessions)]
            existing = (await conn.execute(sa.select(sa.func.count()).select_from(T_ATTENDEES)))
            if existing.scalar_one() == 0:
                await conn.execute(sa.insert(T_ATTENDEES), [
                    {"external_id": f"A{i}", "email": f"a{i}@example.com", "first_name": "Att",
                     "last_name": f"Endee {i}", "badge_id": f"B{i}", "created_at": now()}
                    for i in range(attendees)
                ])
            if register:
                rows = (await conn.execute(sa.select(T_ATTENDEES.c.id))).scalars().all()
                await conn.execute(sa.insert(T_REGISTRATIONS), [
                    {"session_id": sid, "attendee_id": aid, "created_at": now()}
                    for sid in ids for aid in rows
                ])
    finally:
        await engine.dispose()
    return [Event(session_id=sid, api_key=key, attendees=attendees) for sid in ids]


async def attendee_id(db: DatabaseURL, external_id: str) -> int:
    engine = make_engine(db)
    try:
        async with engine.begin() as conn:
            return int((await conn.execute(
                sa.select(T_ATTENDEES.c.id).where(T_ATTENDEES.c.external_id == external_id)
            )).scalar_one())
    finally:
        await engine.dispose()


class Door:
    """Checks attendees in through the REST API, spread over several hubs."""

    def __init__(self, base_urls: list[str], event: Event, concurrency: int = 8) -> None:
        self.urls = base_urls
        self.event = event
        self.concurrency = concurrency
        self.client = httpx.AsyncClient(timeout=30, headers={"API-Key": event.api_key})
        self.failures: list[str] = []

    async def close(self) -> None:
        await self.client.aclose()

    async def act(self, action: str, i: int, hub: int | None = None) -> int:
        url = self.urls[(i if hub is None else hub) % len(self.urls)]
        r = await self.client.post(
            f"{url}/api/v2/sessions/{self.event.session_id}/attendance/{action}",
            json={"external_id": f"A{i}"})
        if r.status_code != 200:
            self.failures.append(f"{action} A{i}: {r.status_code} {r.text[:200]}")
        return r.status_code

    async def checkin_many(self, numbers: Iterable[int], action: str = "checkin",
                           stop: asyncio.Event | None = None) -> int:
        """Check ``numbers`` in, ``concurrency`` at a time; with ``stop``, start no more once
        it is set. Returns how many requests were sent (all answered when this returns)."""
        todo = iter(list(numbers))
        sent = 0

        async def worker() -> None:
            nonlocal sent
            for i in todo:
                if stop is not None and stop.is_set():
                    return
                sent += 1
                await self.act(action, i)

        await asyncio.gather(*(worker() for _ in range(self.concurrency)))
        return sent

    async def counts(self) -> dict[str, Any]:
        r = await self.client.get(
            f"{self.urls[0]}/api/v2/sessions/{self.event.session_id}/counts")
        r.raise_for_status()
        return dict(r.json()["data"])


@dataclass
class Dashboard:
    """A session dashboard as a browser runs it: applies the snapshot, then deltas that must
    come in ``seq`` order; remembers every gap and duplicate it saw; answers pings."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    sock: socket.socket | None = None
    read: bool = True
    ws: ClientConnection | None = None
    frames: list[dict[str, Any]] = field(default_factory=list)
    seq: int | None = None
    epoch: str | None = None
    counts: dict[str, Any] | None = None
    delta_seqs: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    snapshots: int = 0
    close_code: int | None = None
    batches: list[list[int]] = field(default_factory=list)  # the seqs of each batch frame
    _task: asyncio.Task[None] | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def connect(self, *, since: int | None = None, **kw: Any) -> Dashboard:
        url = self.url if since is None else f"{self.url}?since={since}"
        self.ws = await websockets.connect(url, additional_headers=self.headers,
                                           sock=self.sock, max_size=None, **kw)
        if self.read:
            self._task = asyncio.create_task(self._reader())
        return self

    async def _reader(self) -> None:
        assert self.ws is not None
        try:
            async for raw in self.ws:
                self.take(json.loads(raw))
        except websockets.ConnectionClosed:
            pass
        finally:
            self.close_code = self.ws.close_code
            self._changed.set()

    def take(self, m: dict[str, Any]) -> None:
        if m["type"] == "batch":  # several deltas in one frame: apply them in order
            self.batches.append([e["seq"] for e in m["events"]])
            for e in m["events"]:
                self.take(e)
            return
        self.frames.append(m)
        kind = m["type"]
        if kind == "ping" and self.ws is not None:
            asyncio.ensure_future(self.ws.send('{"type": "pong"}'))
        elif kind == "snapshot":
            self.snapshots += 1
            self.seq, self.epoch, self.counts = m["seq"], m["epoch"], m["counts"]
        elif kind in ("checkin", "checkout", "updated", "removed", "cleared", "preload"):
            if self.seq is None:
                self.problems.append(f"delta {m['seq']} before any snapshot")
            elif m["seq"] <= self.seq:
                self.problems.append(f"duplicate seq {m['seq']} (have {self.seq})")
            elif m["seq"] != self.seq + 1:
                self.problems.append(f"gap: {self.seq} -> {m['seq']}")
            self.delta_seqs.append(m["seq"])
            self.seq = max(self.seq or 0, m["seq"])
        elif kind == "counts" and (self.seq is None or m["seq"] <= self.seq):
            self.counts = m["counts"]
        self._changed.set()

    async def wait_for(self, pred: Callable[[Dashboard], bool], within: float,
                       what: str = "") -> None:
        deadline = time.monotonic() + within
        while not pred(self):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"dashboard: not {what or 'there'} within {within}s; seq={self.seq} "
                    f"counts={self.counts} problems={self.problems[:5]} "
                    f"last={self.frames[-3:] if self.frames else None}"
                    f" close={self.close_code}")
            self._changed.clear()
            if pred(self):
                break
            try:
                await asyncio.wait_for(self._changed.wait(), timeout=left)
            except TimeoutError:
                pass

    async def wait_seq(self, seq: int, within: float = 15.0) -> None:
        await self.wait_for(lambda d: d.seq is not None and d.seq >= seq, within, f"at seq {seq}")

    async def wait_counts(self, counts: dict[str, Any], within: float = 15.0) -> None:
        await self.wait_for(lambda d: d.counts == counts, within, f"showing {counts}")

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._task is not None:
            await self._task


async def wait_until(pred: Callable[[], Any], within: float, what: str,
                     interval: float = 0.05) -> Any:
    """Poll ``pred`` (sync or async) until truthy; fail naming ``what`` after ``within`` s."""
    deadline = time.monotonic() + within
    last: Any = None
    while time.monotonic() < deadline:
        last = pred()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"not {what} within {within}s (last: {last!r})")


async def healthz(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=5) as c:
        r = await c.get(f"{url}/healthz")
        return dict(r.json())
