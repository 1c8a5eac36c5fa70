"""One client connection: a send queue bounded in bytes, drained by one writer task.

Fan-out only ever appends already-encoded text to the queue (never awaits a socket), so a
stalled phone cannot slow the door or the other dashboards. When a frame would push the queue
past its bound, the queue is dropped at once (its memory freed) and the connection is closed
with 4008; the client resumes with ``?since=`` on reconnect. Catch-up from the log uses
``send_paced``, which waits for room instead, so a long resume never trips the bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from hub.realtime.protocol import Close

if TYPE_CHECKING:
    from hub.realtime.store import AttendeeIdentity

log = logging.getLogger("rollcall.realtime")


class Connection:
    def __init__(self, ws: WebSocket, *, kind: str, max_bytes: int,
                 session_id: str | None = None,
                 on_kill: Callable[[Close], None] | None = None) -> None:
        self.ws = ws
        self._on_kill = on_kill
        self.kind = kind  # "dashboard" | "attendee" | "event"
        self.session_id = session_id
        self.max_bytes = max_bytes
        self.queue: deque[str] = deque()
        self.queued = 0
        # Session channels: the last delta seq queued, and whether live deltas may be queued
        # (False while the connection is catching up from the log).
        self.last_seq = -1
        self.live = False
        self.generation = 0  # bumped when the channel resets everyone with a snapshot
        self.catching_up: asyncio.Task[None] | None = None
        self.identity: AttendeeIdentity | None = None
        self.may_prompt = False
        self.closing: Close | None = None
        self.close_reason = ""
        now = time.monotonic()
        self.last_seen = now
        self.last_ping = now
        self.me_version = 0  # attendee: bumped whenever a ``me`` frame is queued
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self.killed = asyncio.Event()  # set when closing was decided
        self.closed = asyncio.Event()  # set when the writer has finished

    # --- queueing ---------------------------------------------------------------------------

    def send(self, frame: str) -> bool:
        """Queue ``frame``; False when the connection is closing (or now closes: too slow)."""
        if self.closing is not None:
            return False
        size = len(frame)
        if self.queue and self.queued + size > self.max_bytes:
            self.kill(Close.TOO_SLOW, "too slow: send queue full")
            return False
        self.queue.append(frame)
        self.queued += size
        if self.queued > self.max_bytes // 2:
            self._room.clear()
        self._wake.set()
        return True

    async def send_paced(self, frame: str) -> bool:
        """Queue ``frame`` once the queue is at most half full (for catch-up)."""
        while self.closing is None and self.queued > self.max_bytes // 2:
            self._room.clear()
            await self._room.wait()
        return self.send(frame)

    def kill(self, code: Close, reason: str = "") -> None:
        """Close with ``code``: drop what is queued now, then send the close frame."""
        if self.closing is not None:
            return
        self.closing = code
        self.close_reason = reason
        self.queue.clear()
        self.queued = 0
        self._wake.set()
        self._room.set()
        self.killed.set()
        if self._on_kill is not None:
            self._on_kill(code)
        if self.catching_up is not None:
            self.catching_up.cancel()

    # --- the writer -------------------------------------------------------------------------

    async def write_forever(self) -> None:
        """Drain the queue into the socket until the connection closes."""
        try:
            while True:
                while self.queue:
                    frame = self.queue.popleft()
                    self.queued -= len(frame)
                    if self.queued <= self.max_bytes // 2:
                        self._room.set()
                    await self.ws.send_text(frame)
                if self.closing is not None:
                    break
                self._wake.clear()
                if not self.queue and self.closing is None:
                    await self._wake.wait()
            await self._send_close()
        except (WebSocketDisconnect, RuntimeError, OSError):
            self.kill(Close.GOING_AWAY, "disconnected")
        finally:
            self.queue.clear()
            self.queued = 0
            self._room.set()
            self.closed.set()

    async def _send_close(self) -> None:
        assert self.closing is not None
        if self.ws.application_state != WebSocketState.CONNECTED:
            return
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await self.ws.close(code=int(self.closing), reason=self.close_reason[:120])

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "session_id": self.session_id, "queued": self.queued}
