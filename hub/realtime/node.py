"""The node: one worker's real-time hub. Owns the broker, the channels with local listeners,
the heartbeat, and the sink the attendance engine publishes committed events to.

Subscriptions follow listeners: the first listener of a channel subscribes the worker to it
(and the channel's state is read only once the subscription is active, so nothing published
after that read is missed); the last one leaving unsubscribes. Joins and leaves of one channel
are serialised by a per-channel lock, dropped when nobody holds or awaits it.

Never deaf without saying so: while the broker cannot hear other workers, /healthz reports the
broker ``degraded``, every listener gets ``{"type": "status", "live": false}``, and every
channel catches up from the database log each ``degraded_poll_s`` instead. On reconnect every
channel catches up once more and listeners get ``live: true``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from hub.config import Settings, realtime_config
from hub.domain.events import Encoded, SessionEvent, decode_event
from hub.realtime import protocol as p
from hub.realtime import store
from hub.realtime.broker import EVENT_CHANNEL, Broker, open_broker, session_channel
from hub.realtime.connection import Connection
from hub.realtime.event_channel import EventChannel
from hub.realtime.inbox import STOP_GRACE_S, Stats
from hub.realtime.session_channel import SessionChannel
from storage.engine import Database

log = logging.getLogger("rollcall.realtime")


class UnknownSession(Exception):
    pass


class _Lock:
    """A channel's join/leave lock and how many hold or await it."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class Node:
    """One worker's real-time hub; built, started and stopped by the app's lifespan. It is
    the door's event sink (``hub.domain.events.EventSink``)."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.public_url = settings.public_url
        self.cfg = realtime_config(settings)
        self.sessions: dict[str, SessionChannel] = {}
        self.event: EventChannel | None = None
        self.conns: set[Connection] = set()
        self._locks: dict[str, _Lock] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.stats = Stats()
        self.broker: Broker = open_broker(
            settings.redis_url, settings.channel_prefix, on_message=self.on_message,
            on_resync=self.on_resync, on_state=self.on_state)

    # --- life -------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.broker.start()
        self._tasks = [
            asyncio.create_task(self._heartbeat(), name="rollcall-heartbeat"),
            asyncio.create_task(self._poll_while_degraded(), name="rollcall-degraded-poll"),
        ]

    async def stop(self) -> None:
        for c in list(self.conns):
            c.kill(p.Close.SERVICE_RESTART, "the hub is restarting")
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        for ch in list(self.sessions.values()):
            await ch.stop(STOP_GRACE_S)
        if self.event is not None:
            await self.event.stop(STOP_GRACE_S)
        await self.broker.close()

    def status(self) -> dict[str, Any]:
        out = self.broker.status()
        st = self.stats
        out["local"] = {
            "connections": len(self.conns),
            "channels": len(self.sessions) + (1 if self.event else 0),
            "queued_bytes": sum(c.queued for c in self.conns),
            "closed_too_slow": st.slow_closed,
            "closed_no_heartbeat": st.dead_closed,
            "closed_catch_up": st.catch_up_closed,
            "holes": st.holes,
            "frames_sent": st.frames_sent,
            "batches": st.batches,
        }
        return out

    def counted(self, code: p.Close) -> None:
        """Connection.kill's hook: count the closes /healthz reports."""
        if code == p.Close.TOO_SLOW:
            self.stats.slow_closed += 1
        elif code == p.Close.HEARTBEAT_TIMEOUT:
            self.stats.dead_closed += 1

    # --- the sink (called by the attendance engine after commit) ----------------------------

    async def publish_events(self, events: Sequence[Encoded]) -> None:
        """Hand committed events to every worker's listeners (as the log holds them: each
        event is encoded once). Never raises for an outage."""
        latest: dict[str, SessionEvent] = {}
        for e, payload in events:
            await self.broker.publish(session_channel(e.session_id), p.bus_event(payload))
            latest[e.session_id] = e
        for e in latest.values():
            await self.broker.publish(EVENT_CHANNEL, p.bus_counts(p.BusCounts(
                session_id=e.session_id, seq=e.seq, epoch=e.epoch, counts=e.counts)))

    async def session_changed(self, session_id: str) -> None:
        """After a session's create, update or delete commits: every worker re-reads it."""
        await self.broker.publish(session_channel(session_id), p.bus_refresh(session_id))
        await self.broker.publish(EVENT_CHANNEL, p.bus_counts(p.BusRefresh(session_id=session_id)))

    async def engagement_changed(self, session_id: str, what: str) -> None:
        """After a poll, question or evaluation change commits: every worker re-reads it."""
        await self.broker.publish(session_channel(session_id),
                                  p.bus_engage(p.BusEngage(session_id=session_id, what=what)))

    async def prompt(self, session_id: str, message: str, field: str | None) -> None:
        await self.broker.publish(session_channel(session_id), p.bus_prompt(
            p.BusPrompt(session_id=session_id, message=message, field=field)))

    async def status_changed(self, session_id: str, attendee_id: int) -> None:
        """After a commit that may change an attendee's status in a session (not a door
        action: those carry their record): their listeners on every worker re-read it."""
        await self.broker.publish(session_channel(session_id), p.bus_status(
            p.BusStatus(session_id=session_id, attendee_id=attendee_id)))

    # --- broker callbacks -------------------------------------------------------------------

    def on_message(self, channel: str, data: bytes) -> None:
        try:
            if channel == EVENT_CHANNEL:
                if self.event is not None:
                    self.event.offer(p.read_bus_counts(data))
                return
            sid = channel.partition(":")[2]
            ch = self.sessions.get(sid)
            if ch is None:
                return
            if data[:1] == p.EVENT_MARK:
                ch.offer(decode_event(data[1:]))
            elif data[:1] == p.PROMPT_MARK:
                ch.offer(p.read_bus_prompt(data))
            elif data[:1] == p.REFRESH_MARK:
                ch.offer(p.BusRefresh(session_id=sid))
            elif data[:1] == p.STATUS_MARK:
                ch.offer(p.read_bus_status(data))
            elif data[:1] == p.ENGAGE_MARK:
                ch.engage(p.read_bus_engage(data).what)
        except Exception:  # noqa: BLE001 - a bad message must not stop the listener
            log.exception("unreadable message on %s; catching up from the log", channel)
            self.on_resync()

    def on_resync(self) -> None:
        for ch in self.sessions.values():
            ch.mark_behind()
        if self.event is not None:
            self.event.mark_behind()

    def on_state(self, live: bool) -> None:
        if live:
            log.info("broker live again: %d channel(s) resubscribed", len(self.sessions))
        else:
            log.warning("broker not live: %d local connection(s) kept current from the "
                        "database until it is back", len(self.conns))
        reason = None if live else "broker_unavailable"
        for ch in self.sessions.values():
            if ch.state is None:
                continue
            frame = p.encode(p.StatusFrame(live=live, reason=reason, session_id=ch.session_id,
                                           seq=ch.state.seq, epoch=ch.state.epoch))
            for c in (*ch.dashboards, *ch.attendees):
                c.send(frame)
        if self.event is not None:
            frame = p.encode(p.StatusFrame(live=live, reason=reason))
            for c in self.event.conns:
                c.send(frame)

    # --- joining and leaving ----------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _lock(self, name: str) -> AsyncIterator[None]:
        """Hold the channel's lock; it is forgotten once nobody holds or awaits it."""
        entry = self._locks.get(name)
        if entry is None:
            entry = self._locks[name] = _Lock()
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0 and self._locks.get(name) is entry:
                del self._locks[name]

    async def _session_channel(self, session_id: str, c: Connection,
                               attendee: bool) -> SessionChannel:
        name = session_channel(session_id)
        async with self._lock(name):
            ch = self.sessions.get(session_id)
            if ch is None:
                ch = SessionChannel(self, session_id)
                self.sessions[session_id] = ch  # before subscribing: buffers what arrives
                try:
                    await self.broker.subscribe(name)
                    ok = await ch.load()
                except BaseException:
                    del self.sessions[session_id]
                    await self.broker.unsubscribe(name)
                    raise
                if not ok:
                    del self.sessions[session_id]
                    await self.broker.unsubscribe(name)
                    raise UnknownSession(session_id)
            (ch.attendees if attendee else ch.dashboards)[c] = None
            self.conns.add(c)
            return ch

    async def join_dashboard(self, c: Connection, session_id: str, since: int | None,
                             epoch: str | None) -> None:
        ch = await self._session_channel(session_id, c, attendee=False)
        if since is None:
            ch.send_snapshot(c)
        else:
            self.start_catch_up(ch, c, since, epoch)
        for frame in ch.engagement_frames(attendee=False):
            c.send(frame)
        self._tell_if_degraded(c, ch)

    async def join_attendee(self, c: Connection, session_id: str) -> None:
        ch = await self._session_channel(session_id, c, attendee=True)
        assert c.identity is not None
        version = c.me_version
        async with self.db.read() as conn:
            st = await store.attendee_status(conn, session_id, c.identity.id)
        if c.me_version == version:  # no fresher ``me`` was sent meanwhile
            ch.send_me(c, st)
        c.send(ch.seats_frame())
        for frame in ch.engagement_frames(attendee=True):
            c.send(frame)
        self._tell_if_degraded(c, ch)

    async def join_event(self, c: Connection) -> None:
        async with self._lock(EVENT_CHANNEL):
            if self.event is None:
                ev = EventChannel(self)
                self.event = ev
                try:
                    await self.broker.subscribe(EVENT_CHANNEL)
                    await ev.load()
                except BaseException:
                    self.event = None
                    await self.broker.unsubscribe(EVENT_CHANNEL)
                    raise
            self.event.conns[c] = None
            self.conns.add(c)
            c.live = True
            c.send(self.event.snapshot_frame())
            if not self.broker.live:
                c.send(p.encode(p.StatusFrame(live=False, reason="broker_unavailable")))

    def _tell_if_degraded(self, c: Connection, ch: SessionChannel) -> None:
        if not self.broker.live and ch.state is not None:
            c.send(p.encode(p.StatusFrame(live=False, reason="broker_unavailable",
                                          session_id=ch.session_id, seq=ch.state.seq,
                                          epoch=ch.state.epoch)))

    def start_catch_up(self, ch: SessionChannel, c: Connection, since: int,
                       epoch: str | None = None) -> None:
        """(Re)send ``c`` every delta after ``since``; one catch-up per connection at a time."""
        if c.catching_up is not None and not c.catching_up.done():
            c.catching_up.cancel()
        c.live = False
        c.last_seq = since

        async def run() -> None:
            try:
                await ch.catch_up_connection(c, since, epoch)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001
                log.exception("catching up a connection failed; closing it to reconnect")
                c.kill(p.Close.INTERNAL_ERROR, "catch-up failed")

        c.catching_up = asyncio.create_task(run(), name="rollcall-catch-up")

    async def leave(self, c: Connection) -> None:
        self.conns.discard(c)
        if c.catching_up is not None and not c.catching_up.done():
            c.catching_up.cancel()
        if c.kind == "event":
            async with self._lock(EVENT_CHANNEL):
                ev = self.event
                if ev is None:
                    return
                ev.conns.pop(c, None)
                if ev.empty:
                    self.event = None
                    await ev.stop(STOP_GRACE_S)
                    await self.broker.unsubscribe(EVENT_CHANNEL)
            return
        sid = c.session_id
        assert sid is not None
        name = session_channel(sid)
        async with self._lock(name):
            ch = self.sessions.get(sid)
            if ch is None:
                return
            ch.dashboards.pop(c, None)
            ch.attendees.pop(c, None)
            if ch.empty:
                del self.sessions[sid]
                await ch.stop(STOP_GRACE_S)
                await self.broker.unsubscribe(name)

    # --- background -------------------------------------------------------------------------

    async def _heartbeat(self) -> None:
        tick = min(self.cfg.ping_s, self.cfg.dead_s - self.cfg.ping_s) / 4
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            frames: dict[str | None, tuple[str, bytes]] = {}
            for c in list(self.conns):
                if c.closing is not None:
                    continue
                if now - c.last_seen > self.cfg.dead_s:
                    c.kill(p.Close.HEARTBEAT_TIMEOUT, "no answer to ping")
                    continue
                if now - c.last_ping < self.cfg.ping_s:
                    continue
                c.last_ping = now
                frame = frames.get(c.session_id)
                if frame is None:
                    text = self._ping_frame(c.session_id)
                    frame = frames[c.session_id] = (text, p.wire(text))
                c.send(*frame)

    def _ping_frame(self, session_id: str | None) -> str:
        ch = self.sessions.get(session_id) if session_id else None
        if ch is not None and ch.state is not None:
            return p.encode(p.PingFrame(t=round(time.time(), 3), session_id=session_id,
                                        seq=ch.state.seq, epoch=ch.state.epoch))
        return p.encode(p.PingFrame(t=round(time.time(), 3)))

    def pong_frame(self, c: Connection) -> str:
        ch = self.sessions.get(c.session_id) if c.session_id else None
        if ch is not None and ch.state is not None:
            return p.encode(p.PongFrame(t=round(time.time(), 3), session_id=ch.session_id,
                                        seq=ch.state.seq, epoch=ch.state.epoch))
        return p.encode(p.PongFrame(t=round(time.time(), 3)))

    async def _poll_while_degraded(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.degraded_poll_s)
            if not self.broker.live:
                self.on_resync()
