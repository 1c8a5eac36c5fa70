"""What every channel shares: its inbox (messages from the broker's listener, a "behind"
flag, the wake-up), a coalescer for ``counts`` frames, and the ``Host`` a channel lives in (the
node: settings, database, statistics and catch-up of one connection), so that channels never
import the node.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from hub.config import RealtimeConfig
from hub.realtime.connection import Connection
from storage.engine import Database

INBOX_MAX = 20_000
M = TypeVar("M")


@dataclass
class Stats:
    """What /healthz reports of one worker's real-time hub."""

    slow_closed: int = 0  # closed 4008: too slow to read
    dead_closed: int = 0  # closed 4000: no answer to ping
    holes: int = 0  # gaps filled from the log after the gap grace
    frames_sent: int = 0  # frames written to dashboards (deltas, batches and counts)
    batches: int = 0  # how many of them were batches
    deliveries: int = 0  # events delivered to dashboards (one event to one dashboard: one)
    attendee_reads: int = 0  # reads of every attendee's status (after a removal or clear)
    catch_up_closed: int = 0  # listeners closed 1011: their channel could not catch up


class Host(Protocol):
    """The node, as its channels see it."""

    cfg: RealtimeConfig
    db: Database
    stats: Stats
    public_url: str

    def start_catch_up(self, ch: Any, c: Connection, since: int,
                       epoch: str | None = None) -> None: ...


class Coalescer:
    """At most one flush per ``interval``; the last value always flushed (trailing edge)."""

    def __init__(self, interval: float, wake: asyncio.Event) -> None:
        self.interval = interval
        self.dirty = False
        self.last = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._wake = wake

    def ready(self) -> bool:
        """Due now (no timer armed either way)."""
        return self.dirty and time.monotonic() - self.last >= self.interval

    def due(self) -> bool:
        if not self.dirty:
            return False
        now = time.monotonic()
        if now - self.last >= self.interval:
            return True
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(
                self.interval - (now - self.last), self._fire)
        return False

    def flushed(self) -> None:
        self.dirty = False
        self.last = time.monotonic()

    def _fire(self) -> None:
        self._timer = None
        self._wake.set()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


STOP_GRACE_S = 2.0  # how long a stopping channel may finish its current step


class Inbox(Generic[M]):
    """What a channel task shares with the broker's listener: the messages waiting for it, a
    "behind" flag (catch up from the database instead), the wake-up, and the task itself."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.cfg = host.cfg
        self.inbox: deque[M] = deque()
        self.behind = False
        self._wake = asyncio.Event()
        self._counts = Coalescer(self.cfg.counts_interval, self._wake)
        self._task: asyncio.Task[None] | None = None
        self.stopping = False

    def offer(self, item: M) -> None:
        if len(self.inbox) >= INBOX_MAX:
            self.inbox.clear()  # the log has them all: catch up from there instead
            self.behind = True
        else:
            self.inbox.append(item)
        self._wake.set()

    def mark_behind(self) -> None:
        self.behind = True
        self._wake.set()

    async def stop(self, grace_s: float = 0.0) -> None:
        """End the channel task. With ``grace_s`` it first may finish what it is doing for that
        long, so that a read in flight returns its connection to the pool instead of being cut
        off inside the driver (on SQLite such a connection could not be closed later)."""
        self._counts.cancel()
        if self._task is not None:
            if grace_s > 0:
                self.stopping = True
                self._wake.set()
                await asyncio.wait({self._task}, timeout=grace_s)
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
