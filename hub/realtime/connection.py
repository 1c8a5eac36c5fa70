"""One client connection: frames written straight to the socket, a bounded overflow queue.

Under uvicorn (``rollcall serve``) a connection writes each frame directly to the server's
transport (``hub.realtime.transport``): fan-out builds the WebSocket frame once
(``protocol.wire``) and the same bytes go to
every socket, with no per-connection task or queue. Only when a socket pushes back (its
transport's buffer is over the high-water mark) are frames queued here, and one short-lived
task drains that queue once the socket is writable again. The queue is bounded in bytes: when
a frame would push it past ``max_bytes``, it is dropped at once (its memory freed) and the
connection is closed with 4008; the client resumes with ``?since=`` on reconnect. Catch-up from
the log uses ``send_paced``, which waits for room instead, so a long resume never trips the
bound. Fan-out never waits on a socket.

Without uvicorn's protocol (Starlette's test client) every frame goes through the queue and the
drain task sends it with ``ws.send_text``; a connection with no socket at all (unit tests)
only queues.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from hub.realtime.protocol import Close, wire
from hub.realtime.store import AttendeeIdentity
from hub.realtime.transport import Direct

log = logging.getLogger("rollcall.realtime")


class Connection:
    __slots__ = (
        "ws", "direct_", "kind", "session_id", "max_bytes", "queue", "queued", "last_seq", "live",
        "generation", "catching_up", "identity", "may_prompt", "closing", "close_reason",
        "last_seen", "last_ping", "me_version", "_on_kill", "_drainer", "_room", "done",
        "__weakref__",
    )

    def __init__(self, ws: WebSocket | None, *, kind: str, max_bytes: int,
                 session_id: str | None = None,
                 on_kill: Callable[[Close], None] | None = None,
                 direct: Direct | None = None) -> None:
        self.ws = ws
        # Under uvicorn: frames are written to its transport directly.
        self.direct_ = direct
        self._on_kill = on_kill
        self.kind = kind  # "dashboard" | "attendee" | "event"
        self.session_id = session_id
        self.max_bytes = max_bytes
        # Frames waiting for the socket: wire bytes (direct) or text (through ``ws``).
        self.queue: deque[str | bytes] = deque()
        self.queued = 0
        # Session channels: the last delta seq sent, and whether live deltas may be sent
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
        self._drainer: asyncio.Task[None] | None = None
        self._room: asyncio.Future[None] | None = None  # send_paced waits for room
        # Resolved when closing was decided (made on first use: most connections never
        # need it under uvicorn).
        self.done: asyncio.Future[None] | None = None

    @property
    def direct(self) -> bool:
        return self.direct_ is not None

    # --- sending ----------------------------------------------------------------------------

    def send(self, frame: str, data: bytes | None = None) -> bool:
        """Send ``frame`` (``data``: the same frame as wire bytes, when the caller has built
        them once for many sockets); False when the connection is closing (or now closes:
        too slow). Never waits."""
        if self.closing is not None:
            return False
        d = self.direct_
        if d is not None:
            if data is None:
                data = wire(frame)
            if not self.queue:
                if d.closed():
                    return False
                if d.writable():
                    d.write(data)
                    return True
            return self._enqueue(data)
        return self._enqueue(frame)

    def send_all(self, frames: tuple[str, ...], data: bytes) -> bool:
        """Send several frames at once; ``data``: all of them as wire bytes, in order (one
        write to the socket)."""
        if self.direct_ is not None:
            return self.send(frames[0], data)
        return all([self.send(f) for f in frames])

    def _enqueue(self, item: str | bytes) -> bool:
        size = len(item)
        if self.queue and self.queued + size > self.max_bytes:
            self.kill(Close.TOO_SLOW, "too slow: send queue full")
            return False
        self.queue.append(item)
        self.queued += size
        if self._drainer is None and self.ws is not None:
            self._drainer = asyncio.get_running_loop().create_task(
                self._drain(), name="rollcall-ws-drain")
        return True

    async def send_paced(self, frame: str) -> bool:
        """Send ``frame`` once the queue is at most half full (for catch-up)."""
        while self.closing is None and self.queued > self.max_bytes // 2:
            if self._room is None:
                self._room = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._room)
        return self.send(frame)

    def _room_made(self) -> None:
        room = self._room
        if room is not None and (self.queued <= self.max_bytes // 2 or self.closing is not None):
            self._room = None
            if not room.done():
                room.set_result(None)

    async def _drain(self) -> None:
        """Empty the queue into the socket as it accepts data; ends when the queue is empty."""
        d, ws, q = self.direct_, self.ws, self.queue
        try:
            while q and self.closing is None:
                if d is not None:
                    if not d.writable():
                        if not await d.wait_writable():
                            self.kill(Close.GOING_AWAY, "disconnected")
                            break
                        continue
                    if d.closed():
                        self.kill(Close.GOING_AWAY, "disconnected")
                        break
                    item = q.popleft()
                    self.queued -= len(item)
                    d.write(item)  # type: ignore[arg-type]
                else:
                    assert ws is not None
                    item = q.popleft()
                    self.queued -= len(item)
                    await ws.send_text(item)  # type: ignore[arg-type]
                self._room_made()
            if self.closing is not None and d is None:
                await self._send_close()
        except (WebSocketDisconnect, RuntimeError, OSError):
            self.kill(Close.GOING_AWAY, "disconnected")
        except Exception:  # noqa: BLE001 - e.g. uvicorn's ClientDisconnected
            self.kill(Close.GOING_AWAY, "disconnected")
        finally:
            self._drainer = None
            if self.closing is not None:
                q.clear()
                self.queued = 0
            self._room_made()

    # --- closing ----------------------------------------------------------------------------

    def kill(self, code: Close, reason: str = "") -> None:
        """Close with ``code``: drop what is queued now, then send the close frame."""
        if self.closing is not None:
            return
        self.closing = code
        self.close_reason = reason
        self.queue.clear()
        self.queued = 0
        if self.done is not None and not self.done.done():
            self.done.set_result(None)
        self._room_made()
        if self._on_kill is not None:
            self._on_kill(code)
        if self.catching_up is not None:
            self.catching_up.cancel()
        if self.direct_ is not None:
            if self._drainer is not None and self._drainer is not asyncio.current_task():
                self._drainer.cancel()
            self.direct_.close(int(code), reason)
        elif self.ws is not None and self._drainer is None:
            self._drainer = asyncio.get_running_loop().create_task(
                self._drain(), name="rollcall-ws-close")

    def closed_future(self) -> asyncio.Future[None]:
        """Resolved once closing is decided."""
        if self.done is None:
            self.done = asyncio.get_running_loop().create_future()
            if self.closing is not None:
                self.done.set_result(None)
        return self.done

    async def finish(self, within: float) -> None:
        """Give the close frame ``within`` s to leave (through the queue, without uvicorn)."""
        drainer = self._drainer
        if drainer is None or self.direct_ is not None:  # direct: the close frame is written
            return
        with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
            await asyncio.wait_for(asyncio.shield(drainer), timeout=within)
        if not drainer.done():
            drainer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await drainer

    async def _send_close(self) -> None:
        assert self.closing is not None and self.ws is not None
        if self.ws.application_state != WebSocketState.CONNECTED:
            return
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await self.ws.close(code=int(self.closing), reason=self.close_reason[:120])
