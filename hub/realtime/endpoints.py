"""The WebSocket endpoints and who may open them.

- ``/ws/sessions/{id}``: one session's dashboard. API key; staff (cookie) with the scan,
  moderate or admin permission; the session's kiosk; a moderator by the session's or the app's
  moderator password, sent as the first frame ``{"type": "auth", "password": "..."}``.
- ``/ws/event``: every session's counts. API key; staff with scan, moderate or admin; the app's
  moderator password (first frame, as above).
- ``/ws/attendee/{id}``: the signed-in attendee's own view (their attendee cookie).

The handshake is accepted, then refused with a close code before any data when the caller may
not listen (4401 no or wrong credentials, 4403 not allowed, 4404 no such session, 4400 a bad
query parameter).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from dataclasses import dataclass

from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from hub.auth.cookies import ATTENDEE_COOKIE, KIOSK_COOKIE, STAFF_COOKIE
from hub.auth.principal import Principal, may_moderate, may_watch
from hub.auth.throttle import moderator_keys
from hub.errors import Forbidden, TooManyRequests, Unauthorized
from hub.http import ascii_whole
from hub.realtime import protocol as p
from hub.realtime import store, transport
from hub.realtime.connection import Connection
from hub.realtime.node import Node, UnknownSession
from hub.state import Hub, hub_of

log = logging.getLogger("rollcall.realtime")

class Refused(Exception):
    def __init__(self, code: p.Close, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Grant:
    may_prompt: bool = False
    attendee: store.AttendeeIdentity | None = None


def _query(ws: WebSocket) -> tuple[int | None, str | None]:
    raw_since = ws.query_params.get("since")
    since: int | None = None
    if raw_since is not None:
        since = ascii_whole(raw_since)
        if since is None:
            raise Refused(p.Close.BAD_REQUEST, "since: must be a whole number of 0 or more "
                          "(ASCII digits)")
    epoch = ws.query_params.get("epoch") or None
    if epoch is not None and len(epoch) > 32:
        raise Refused(p.Close.BAD_REQUEST, "epoch: too long")
    return since, epoch


def _has_credentials(ws: WebSocket) -> bool:
    return "api-key" in ws.headers or any(
        ws.cookies.get(n) for n in (STAFF_COOKIE, KIOSK_COOKIE, ATTENDEE_COOKIE))


async def _principal(hub: Hub, ws: WebSocket) -> Principal | None:
    """The caller from the header or a cookie; None when there is nothing usable."""
    try:
        return await hub.principal(ws)
    except Unauthorized as exc:
        if "api-key" in ws.headers:
            raise Refused(p.Close.UNAUTHENTICATED, exc.message) from exc
        return None
    except Forbidden as exc:  # e.g. a cookie sent from another site
        raise Refused(p.Close.FORBIDDEN, exc.message) from exc


async def _password(hub: Hub, ws: WebSocket) -> str:
    """Wait for the first frame: ``{"type": "auth", "password": ...}``."""
    cfg = hub.node.cfg
    try:
        msg = await asyncio.wait_for(ws.receive(), timeout=cfg.auth_timeout_s)
    except TimeoutError as exc:
        raise Refused(p.Close.UNAUTHENTICATED,
                      "Send an API-Key header, sign in, or send "
                      '{"type": "auth", "password": ...} first.') from exc
    if msg["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(msg.get("code", 1000))
    text = msg.get("text")
    frame: p.ClientFrame | None = None
    if text is not None:
        with contextlib.suppress(p.BadFrame):
            frame = p.decode_client(text)
    if not isinstance(frame, p.Auth):
        raise Refused(p.Close.UNAUTHENTICATED,
                      'The first frame must be {"type": "auth", "password": ...}.')
    return frame.password


def _matches(given: str, *secrets: str | None) -> bool:
    ok = False
    for secret in secrets:
        if secret:
            ok |= hmac.compare_digest(given.encode(), secret.encode())
    return ok


async def _authorise(hub: Hub, ws: WebSocket, kind: str, session_id: str | None) -> Grant:
    principal = await _principal(hub, ws)
    async with hub.read() as conn:
        access = await store.session_access(conn, session_id)
    if session_id is not None and not access.exists:
        if principal is None and not _has_credentials(ws):
            # Moderator pages authenticate after the handshake; do not say more before.
            await _password(hub, ws)
        raise Refused(p.Close.UNKNOWN_SESSION, f"No session with id {session_id!r}.")

    if kind == "attendee":
        if principal is None or principal.kind != "attendee" or principal.attendee_id is None:
            if principal is None:
                raise Refused(p.Close.UNAUTHENTICATED, "Sign in as an attendee first.")
            raise Refused(p.Close.FORBIDDEN, "This view is an attendee's own.")
        async with hub.read() as conn:
            identity = await store.attendee_identity(conn, principal.attendee_id)
        if identity is None:
            raise Refused(p.Close.UNAUTHENTICATED, "Unknown attendee: sign in again.")
        return Grant(attendee=identity)

    if (principal is not None and principal.kind != "attendee"
            and may_watch(principal, session_id)):
        return Grant(may_prompt=may_moderate(principal, session_id))
    # Anyone else opens a dashboard with a moderator password, whatever cookie the browser
    # also holds (an attendee who moderates, a kiosk's browser): the password decides.
    try:
        password = await _password(hub, ws)
    except Refused:
        if principal is None:
            raise
        raise Refused(p.Close.FORBIDDEN, "You may not watch this.") from None
    allowed = (access.moderator_password, access.app_moderator_password)
    if kind == "event":
        allowed = (access.app_moderator_password, None)
    throttle = hub.throttle
    keys = moderator_keys(ws.client.host if ws.client else "unknown", session_id or "event")
    try:
        await throttle.check(keys)
    except TooManyRequests as exc:
        raise Refused(p.Close.TOO_MANY_ATTEMPTS, exc.message) from exc
    if not _matches(password, *allowed):
        await throttle.failed(keys)
        raise Refused(p.Close.UNAUTHENTICATED, "Wrong moderator password.")
    return Grant(may_prompt=True)


async def _serve(ws: WebSocket, kind: str) -> None:
    hub = hub_of(ws)
    node = hub.node
    session_id = ws.path_params.get("session_id")
    await ws.accept()
    direct = transport.direct(ws)
    if direct is not None:
        direct.cap_send_buffer(node.cfg.socket_sndbuf)
    try:
        since, epoch = _query(ws)
        grant = await _authorise(hub, ws, kind, session_id)
    except Refused as r:
        await _refuse(ws, r.code, r.message)
        return
    except WebSocketDisconnect:
        return
    except Exception:  # noqa: BLE001 - e.g. the database is away
        log.exception("authorising a %s connection failed", kind)
        await _refuse(ws, p.Close.INTERNAL_ERROR, "The hub cannot check credentials now.")
        return
    transport.forget_handshake(ws, direct)

    c = Connection(ws, kind=kind, max_bytes=node.cfg.queue_bytes, session_id=session_id,
                   on_kill=node.counted, direct=direct)
    c.identity = grant.attendee
    c.may_prompt = grant.may_prompt
    del grant
    reader: asyncio.Task[None] | None = None
    try:
        try:
            if kind == "dashboard":
                assert session_id is not None
                await node.join_dashboard(c, session_id, since, epoch)
            elif kind == "attendee":
                assert session_id is not None
                await node.join_attendee(c, session_id)
            else:
                await node.join_event(c)
        except UnknownSession:
            c.kill(p.Close.UNKNOWN_SESSION, f"No session with id {session_id!r}.")
        except Exception:  # noqa: BLE001 - e.g. the database is away: the client retries
            log.exception("joining %s %s failed", kind, session_id or "")
            c.kill(p.Close.INTERNAL_ERROR, "The hub could not load this view; retrying helps.")
        if c.direct:
            # Closing writes the close frame and wakes this read with the disconnect, so
            # the endpoint itself reads: no extra task per connection.
            await _read_forever(node, c)
        else:
            reader = asyncio.create_task(_read_forever(node, c), name="rollcall-ws-reader")
            await asyncio.wait({reader, c.closed_future()},
                               return_when=asyncio.FIRST_COMPLETED)
        c.kill(p.Close.NORMAL)  # no-op when already closing
        # Let the close frame leave; a peer that never reads again is dropped.
        await c.finish(within=node.cfg.dead_s)
    finally:
        if reader is not None and not reader.done():
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
        await node.leave(c)


async def _refuse(ws: WebSocket, code: p.Close, message: str) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        await ws.close(code=int(code), reason=message[:120])


async def _read_forever(node: Node, c: Connection) -> None:
    ws = c.ws
    assert ws is not None
    while c.closing is None:
        msg = await ws.receive()
        if msg["type"] == "websocket.disconnect":
            c.kill(p.Close.GOING_AWAY, "client left")
            return
        c.last_seen = time.monotonic()
        text = msg.get("text")
        if text is None:
            _error(node, c, "bad_request", "Send JSON text frames, not binary ones.")
            continue
        try:
            frame = p.decode_client(text)
        except p.BadFrame as bad:
            _error(node, c, bad.reason, bad.message)
            continue
        if isinstance(frame, p.ClientPing):
            c.send(node.pong_frame(c))
        elif isinstance(frame, p.ClientPong):
            pass
        elif isinstance(frame, p.Resume):
            ch = node.sessions.get(c.session_id or "")
            if c.kind != "dashboard" or ch is None:
                _error(node, c, "invalid", "resume: only on a session dashboard")
            else:
                node.start_catch_up(ch, c, frame.since)
        elif isinstance(frame, p.Prompt):
            if c.kind != "dashboard" or not c.may_prompt or c.session_id is None:
                _error(node, c, "forbidden", "prompt: only a session's moderators may prompt")
            else:
                await node.prompt(c.session_id, frame.message, frame.field)
        elif isinstance(frame, p.Auth):
            _error(node, c, "invalid", "auth: already authenticated")


def _error(node: Node, c: Connection, reason: str, message: str) -> None:
    ch = node.sessions.get(c.session_id or "")
    if ch is not None and ch.state is not None:
        frame = p.ErrorFrame(reason=reason, message=message, session_id=ch.session_id,
                             seq=ch.state.seq, epoch=ch.state.epoch)
    else:
        frame = p.ErrorFrame(reason=reason, message=message)
    c.send(p.encode(frame))


async def session_ws(ws: WebSocket) -> None:
    await _serve(ws, "dashboard")


async def attendee_ws(ws: WebSocket) -> None:
    await _serve(ws, "attendee")


async def event_ws(ws: WebSocket) -> None:
    await _serve(ws, "event")


def ws_routes() -> list[BaseRoute]:
    return [
        WebSocketRoute("/ws/sessions/{session_id}", session_ws),
        WebSocketRoute("/ws/event", event_ws),
        WebSocketRoute("/ws/attendee/{session_id}", attendee_ws),
    ]
