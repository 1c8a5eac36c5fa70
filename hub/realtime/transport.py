"""The one module that knows the server's internals: writing frames straight to uvicorn's
WebSocket transport.

Under uvicorn (``rollcall serve``) with its websockets-sansio protocol and no extension
negotiated, ``direct(ws)`` gives a ``Direct`` handle: fan-out writes the same prepared frame
bytes to every socket's transport, closes without waiting for the socket, caps the kernel's
send buffer, and drops what only the handshake needed. Anywhere else (another server,
Starlette's test client) ``direct`` gives None and connections use the plain ASGI path
(``ws.send_text`` / ``ws.close``) instead. An upgrade of uvicorn needs the real-time tests run:
uvicorn is pinned in pyproject.toml.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from starlette.websockets import WebSocket

log = logging.getLogger("rollcall.realtime")

CLOSE_TIMEOUT_S = 10.0  # a peer that never answers our close frame is dropped after this


class Direct:
    """uvicorn's protocol object behind one WebSocket, written to directly."""

    __slots__ = ("proto",)

    def __init__(self, proto: Any) -> None:
        self.proto = proto

    def closed(self) -> bool:
        """The close frame went out, or the socket is going away."""
        return bool(self.proto.close_sent or self.proto.transport.is_closing())

    def writable(self) -> bool:
        """The transport's buffer is under its high-water mark."""
        return bool(self.proto.writable.is_set())

    async def wait_writable(self) -> bool:
        """Wait until the socket takes data again; False if it went away meanwhile."""
        await self.proto.writable.wait()
        return not self.proto.disconnected and not self.proto.transport.is_closing()

    def write(self, data: bytes) -> None:
        self.proto.transport.write(data)

    def close(self, code: int, reason: str) -> None:
        """What uvicorn does for an ASGI ``websocket.close``, without waiting for the socket:
        the endpoint's pending ``receive`` wakes with the disconnect, the close frame is
        written after what the transport holds, and a peer that never answers is dropped
        after CLOSE_TIMEOUT_S."""
        proto = self.proto
        transport = proto.transport
        if proto.close_sent or transport.is_closing():
            if not proto.disconnected:
                proto.queue.put_nowait({"type": "websocket.disconnect", "code": code})
            return
        reason = reason[:120]
        proto.queue.put_nowait({"type": "websocket.disconnect", "code": code,
                                "reason": reason})
        try:
            proto.conn.send_close(code, reason)
            transport.write(b"".join(proto.conn.data_to_send()))
        except Exception:  # noqa: BLE001 - the peer is gone already
            transport.abort()
            return
        proto.close_sent = True
        if proto.read_paused:
            proto.read_paused = False
            transport.resume_reading()
        # A stalled peer would keep a graceful close waiting for its buffer: abort then.
        proto.close_timer = proto.loop.call_later(CLOSE_TIMEOUT_S, transport.abort)

    def cap_send_buffer(self, nbytes: int) -> None:
        """Cap the socket's kernel send buffer (Linux lets it grow to 4 MiB), so a client that
        stops reading pushes back on the send queue within seconds rather than after
        megabytes."""
        if nbytes <= 0:
            return
        sock = self.proto.transport.get_extra_info("socket")
        if sock is None:
            return
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, nbytes)
        except OSError as exc:  # pragma: no cover - an exotic transport
            log.debug("could not cap the send buffer: %s", exc)

    def forget_handshake(self) -> None:
        """Drop the request and response objects uvicorn keeps after the handshake."""
        self.proto.scope["headers"] = []
        self.proto.request = None
        self.proto.response = None


def direct(ws: WebSocket) -> Direct | None:
    """The direct handle behind ``ws`` (Starlette wraps the ASGI ``send`` in closures), or
    None: not uvicorn's websockets-sansio protocol, or an extension (such as
    permessage-deflate) was negotiated."""
    try:
        from uvicorn.protocols.websockets.websockets_sansio_impl import (
            WebSocketsSansIOProtocol,
        )
    except ImportError:  # pragma: no cover - uvicorn is a dependency
        return None
    todo, looked = [getattr(ws, "_send", None)], 0
    while todo and looked < 20:
        fn = todo.pop()
        looked += 1
        owner = getattr(fn, "__self__", None)
        if isinstance(owner, WebSocketsSansIOProtocol):
            conn = getattr(owner, "conn", None)
            if conn is None or getattr(conn, "extensions", None):
                return None
            return Direct(owner)
        for cell in getattr(fn, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if callable(value):
                todo.append(value)
    return None


def forget_handshake(ws: WebSocket, handle: Direct | None) -> None:
    """Drop what only the handshake needed (its headers, parsed cookies, the request and
    response objects uvicorn keeps): some kilobytes a connection, for hours."""
    ws.scope["headers"] = []
    for attr in ("_headers", "_cookies", "_url", "_base_url", "_query_params"):
        ws.__dict__.pop(attr, None)
    if handle is not None:
        handle.forget_handshake()
