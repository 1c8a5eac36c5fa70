"""Channels: one worker's view of a session (or of the whole event) and its local listeners.

A ``SessionChannel`` keeps the session's state as of ``seq`` (counts, the latest records, a
ring of recent delta frames) and is the only writer of it: one task applies events strictly in
``seq`` order. An event that arrives early waits a moment for the missing ones, then the holes
are read from the database log (more than ``history_limit`` events waiting on a hole the log
does not fill: every listener is closed with 1011 to reconnect, nothing piles up); after a
broker reconnect (or while the broker is away) the channel catches up from the log the same
way. More than ``history_limit`` behind: it reloads a snapshot and sends it to every listener
instead.

Deltas are batched on the wire: a delta arriving when the channel has sent nothing for
``flush_s`` goes out at once, alone; the deltas that follow within ``flush_s`` of that send go
out together as one ``batch`` frame (``{"type": "batch", "session_id", "events": [...]}``, in
``seq`` order) when the window closes. Each frame is encoded once, as WebSocket bytes, and the
same bytes are written to every live listener, so a rush costs a write per socket per window,
not per check-in. ``counts`` (and the attendees' ``seats``) are coalesced to ``counts_hz`` per
channel, the last value always sent, and never before the deltas they summarise. Fan-out
yields to the event loop every ``fanout_batch`` listeners.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

from hub.domain.dates import now
from hub.domain.engagement import for_attendees, visible_questions
from hub.domain.events import Counts, SessionEvent
from hub.door.status import load_status, register_url
from hub.realtime import protocol as p
from hub.realtime import store
from hub.realtime.connection import Connection
from hub.realtime.inbox import Coalescer, Host, Inbox

log = logging.getLogger("rollcall.realtime")

ENGAGEMENT = ("polls", "questions", "evaluation")
DASHBOARD_FRAMES = ("polls", "questions")
ATTENDEE_FRAMES = ("polls:attendee", "questions:attendee", "evaluation:attendee")
RING = 256  # recent delta frames kept for quick resumes
BATCH_MAX = 200  # deltas in one batch frame at most (a long catch-up sends several)


def record_key(record: dict[str, Any] | None) -> tuple[Any, ...]:
    user = (record or {}).get("user") or {}
    return (user.get("external_id"), user.get("badge_id"), user.get("email"),
            user.get("first_name"), user.get("last_name"))


class SessionChannel(Inbox[SessionEvent | p.BusPrompt | p.BusRefresh | p.BusStatus]):
    def __init__(self, host: Host, session_id: str) -> None:
        super().__init__(host)
        self.session_id = session_id
        self.dashboards: dict[Connection, None] = {}
        self.attendees: dict[Connection, None] = {}
        self.state: store.SessionState | None = None
        self.ring: deque[tuple[int, str]] = deque(maxlen=RING)
        self.pending: dict[int, SessionEvent] = {}
        self.gap_due = False
        self._gap_timer: asyncio.TimerHandle | None = None
        # Deltas applied but not yet sent, and when the last delta frame went out.
        self.outgoing: list[tuple[int, str]] = []
        self._flushed_at = 0.0
        self._flush_timer: asyncio.TimerHandle | None = None
        self._snapshot: str | None = None
        # Live engagement: what changed since the last flush (coalesced like counts), and
        # the encoded frames new listeners get (dropped when their content changes).
        self._engage = Coalescer(self.cfg.counts_interval, self._wake)
        self._engage_what: set[str] = set()
        self._engage_frames: dict[str, str] = {}
        self._engage_empty: dict[str, bool] = {}  # nothing to show: not sent on connect

    # --- life -------------------------------------------------------------------------------

    @property
    def empty(self) -> bool:
        return not self.dashboards and not self.attendees

    async def load(self) -> bool:
        """Read the state (after the broker subscription is active); False: no such session."""
        async with self.host.db.read() as conn:
            state = await store.session_state(conn, self.session_id,
                                              records=self.cfg.snapshot_records)
        if state is None:
            return False
        self.state = state
        # Read with the state, before anyone joins: joining never waits on the database.
        self._engage_frames = await self._load_engagement(ENGAGEMENT)
        self._task = asyncio.create_task(self._run(), name=f"rollcall-channel-{self.session_id}")
        self._wake.set()
        return True

    async def stop(self, grace_s: float = 0.0) -> None:
        self._engage.cancel()
        if self._gap_timer is not None:
            self._gap_timer.cancel()
        if self._flush_timer is not None:
            self._flush_timer.cancel()
        await super().stop(grace_s)

    # --- the channel task -------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self.stopping:
                return
            try:
                if self.behind:
                    self.behind = False
                    await self._catch_up()
                    # The log has the events, not the settings: a refresh lost with an
                    # overflowing inbox or a broker outage is made good here.
                    await self._refresh()
                    self.engage(*ENGAGEMENT)
                while self.inbox:
                    item = self.inbox.popleft()
                    if isinstance(item, p.BusPrompt):
                        await self._prompt(item)
                    elif isinstance(item, p.BusRefresh):
                        await self._refresh()
                    elif isinstance(item, p.BusStatus):
                        await self._push_status(item.attendee_id)
                    else:
                        await self._offer(item)
                if self.gap_due:
                    self.gap_due = False
                    if self.pending:
                        self.host.stats.holes += 1
                        await self._catch_up()
                await self._maybe_flush()
                # Counts summarise deltas: never ahead of the deltas sent.
                if not self.outgoing and self._counts.due():
                    await self._flush_counts()
                if self._engage.due():
                    await self._flush_engagement()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the log is the truth: catch up and go on
                log.exception("session channel %s failed; catching up from the log",
                              self.session_id)
                await asyncio.sleep(0.5)
                self.behind = True
                self._wake.set()

    async def _offer(self, event: SessionEvent) -> None:
        state = self.state
        assert state is not None
        if event.epoch != state.epoch:
            await self._catch_up()  # the log knows whether the epoch really changed
            return
        if event.seq <= state.seq:
            return  # a duplicate (our own echo, or already read from the log)
        if event.seq == state.seq + 1:
            await self._apply(event)
            await self._drain_pending()
            return
        self.pending[event.seq] = event
        if len(self.pending) > self.cfg.history_limit:
            self._give_up()
            return
        if self._gap_timer is None:
            self._gap_timer = asyncio.get_running_loop().call_later(
                self.cfg.gap_grace_s, self._gap_fire)

    def _give_up(self) -> None:
        """More than ``history_limit`` events wait on a hole that catching up from the log
        did not fill: rather than hold ever more of them, close every listener with 1011
        (they reconnect with ``?since=`` and start again from the database)."""
        n = len(self.dashboards) + len(self.attendees)
        log.warning("session %s: %d events wait on a hole after seq %d that the log did not "
                    "fill; closing %d listener(s) to reconnect", self.session_id,
                    len(self.pending), self.state.seq if self.state else -1, n)
        self.pending.clear()
        self.outgoing = []
        if self._gap_timer is not None:
            self._gap_timer.cancel()
            self._gap_timer = None
        self.host.stats.catch_up_closed += n
        for c in (*self.dashboards, *self.attendees):
            c.kill(p.Close.INTERNAL_ERROR, "The hub could not catch up; reconnect.")

    def _gap_fire(self) -> None:
        self._gap_timer = None
        self.gap_due = True
        self._wake.set()

    async def _drain_pending(self) -> None:
        state = self.state
        assert state is not None
        while self.pending:
            for seq in [s for s in self.pending if s <= state.seq]:
                del self.pending[seq]
            nxt = self.pending.pop(state.seq + 1, None)
            if nxt is None:
                break
            await self._apply(nxt)
        if not self.pending and self._gap_timer is not None:
            self._gap_timer.cancel()
            self._gap_timer = None

    async def _catch_up(self) -> None:
        """Bring the state up to the log's latest seq, delivering every missed delta."""
        state = self.state
        assert state is not None
        async with self.host.db.read() as conn:
            current = await store.current_seq(conn, self.session_id)
        if current is None:  # the session was deleted
            for c in (*self.dashboards, *self.attendees):
                c.kill(p.Close.UNKNOWN_SESSION, "This session was deleted.")
            return
        seq, epoch = current
        if epoch != state.epoch or seq - state.seq > self.cfg.history_limit or seq < state.seq:
            await self._reset()
            return
        while state.seq < seq:
            async with self.host.db.read() as conn:
                events = await store.events_after(conn, self.session_id, state.seq, upto=seq,
                                                  limit=200)
            if not events or events[0].seq != state.seq + 1:
                log.warning("session %s: the log has a hole after seq %d; sending snapshots",
                            self.session_id, state.seq)
                await self._reset()
                return
            for e in events:
                await self._apply(e)
                # What arrived meanwhile is applied in order too.
            await self._drain_pending()
        await self._drain_pending()
        if self.pending and self._gap_timer is None:
            self._gap_timer = asyncio.get_running_loop().call_later(
                self.cfg.gap_grace_s, self._gap_fire)

    async def _refresh(self) -> None:
        """The session's settings changed: a new capacity reaches every listener as counts
        (seats for attendees); a deleted session closes them with 4404."""
        state = self.state
        assert state is not None
        async with self.host.db.read() as conn:
            exists, capacity = await store.session_capacity(conn, self.session_id)
        if not exists:
            for c in (*self.dashboards, *self.attendees):
                c.kill(p.Close.UNKNOWN_SESSION, "This session was deleted.")
            return
        old = state.counts
        if capacity != old.capacity:
            state.counts = Counts.of(registered=old.registered, checked_in=old.checked_in,
                                     in_room=old.in_room, capacity=capacity)
            self._snapshot = None
            self._counts.dirty = True

    async def _reset(self) -> None:
        """Too far behind (or a new epoch): reload and send every listener a snapshot."""
        async with self.host.db.read() as conn:
            state = await store.session_state(conn, self.session_id,
                                              records=self.cfg.snapshot_records)
        if state is None:
            return
        self.state = state
        self.ring.clear()
        self.outgoing = []
        self.pending = {s: e for s, e in self.pending.items()
                        if s > state.seq and e.epoch == state.epoch}
        self._snapshot = None
        frame = self.snapshot_frame()
        for i, c in enumerate(list(self.dashboards)):
            c.generation += 1
            if c.catching_up is not None and c.catching_up is not asyncio.current_task():
                c.catching_up.cancel()
                c.catching_up = None
            c.last_seq = state.seq
            c.live = True
            c.send(frame)
            if i % self.cfg.fanout_batch == self.cfg.fanout_batch - 1:
                await asyncio.sleep(0)
        await self._refresh_attendees()
        self._counts.dirty = True

    async def _apply(self, event: SessionEvent) -> None:
        state = self.state
        assert state is not None
        state.seq = event.seq
        state.counts = event.counts
        if event.kind in ("checkin", "checkout", "updated") and event.record is not None:
            key = record_key(event.record)
            state.records = [event.record] + [
                r for r in state.records if record_key(r) != key
            ][: self.cfg.snapshot_records - 1]
        elif event.kind == "cleared":
            state.records = []
        elif event.kind == "removed":
            async with self.host.db.read() as conn:
                state.records = await store.recent_records(
                    conn, self.session_id, upto=event.seq, limit=self.cfg.snapshot_records)
        self._snapshot = None
        frame = p.encode(p.delta_of(event))
        self.ring.append((event.seq, frame))
        self._counts.dirty = True
        if self.dashboards:
            self.outgoing.append((event.seq, frame))
            if len(self.outgoing) >= BATCH_MAX:
                await self.flush_deltas()
        if self.attendees:
            await self._attendees_after(event)

    # --- batched delta fan-out --------------------------------------------------------------

    async def _maybe_flush(self) -> None:
        """Send the pending deltas now if nothing went out for ``flush_s`` (a lone event on
        an idle channel is not delayed), else when that window closes."""
        if not self.outgoing:
            return
        wait = self._flushed_at + self.cfg.flush_s - time.monotonic()
        if wait <= 0:
            await self.flush_deltas()
        elif self._flush_timer is None:
            self._flush_timer = asyncio.get_running_loop().call_later(wait, self._flush_fire)

    def _flush_fire(self) -> None:
        self._flush_timer = None
        self._wake.set()

    async def flush_deltas(self) -> None:
        """Write the pending deltas to every live dashboard: one frame (a lone delta, or a
        ``batch`` of them) encoded once; a dashboard that already holds some of them (it just
        caught up) gets only the rest; one that is behind is caught up from the ring or log."""
        out, self.outgoing = self.outgoing, []
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        self._flushed_at = time.monotonic()
        if not out:
            return
        first, last = out[0][0], out[-1][0]
        text = out[0][1] if len(out) == 1 else p.batch(self.session_id, [f for _, f in out])
        frames: tuple[str, ...] = (text,)
        data = p.wire(text)
        # Counts due now ride in the same write as the deltas they follow (one syscall per
        # socket, not two); a dashboard with nothing new gets them alone.
        counts: tuple[str, bytes] | None = None
        state = self.state
        if state is not None and state.seq == last and self._counts.ready():
            self._counts.flushed()
            ctext = p.encode(p.CountsFrame(session_id=self.session_id, seq=state.seq,
                                           epoch=state.epoch, counts=state.counts))
            counts = (ctext, p.wire(ctext))
            frames = (text, ctext)
            data += counts[1]
        rest: dict[int, tuple[tuple[str, ...], bytes]] = {}
        batch = self.cfg.fanout_batch
        sent = 0
        partial = partial_events = 0  # dashboards that got only the tail of ``out``
        for i, c in enumerate(list(self.dashboards)):
            if c.live:
                held = c.last_seq
                if held == first - 1:
                    c.last_seq = last
                    c.send_all(frames, data)
                    sent += 1
                elif held < first - 1:
                    if c.closing is None:
                        self.host.start_catch_up(self, c, held)
                elif held < last:
                    part = rest.get(held)
                    if part is None:
                        tail = [f for s, f in out if s > held]
                        one = tail[0] if len(tail) == 1 else p.batch(self.session_id, tail)
                        part = rest[held] = ((one, counts[0]), p.wire(one) + counts[1]) \
                            if counts else ((one,), p.wire(one))
                    c.last_seq = last
                    c.send_all(*part)
                    sent += 1
                    partial += 1
                    partial_events += last - held
                elif counts is not None:
                    c.send(*counts)
            if i % batch == batch - 1:
                await asyncio.sleep(0)
        self.host.stats.frames_sent += sent * (2 if counts else 1)
        self.host.stats.deliveries += (sent - partial) * len(out) + partial_events
        if len(out) > 1:
            self.host.stats.batches += 1
        if counts is not None and self.attendees:
            await self._fanout(self.attendees, self.seats_frame())

    async def _flush_counts(self) -> None:
        state = self.state
        assert state is not None
        self._counts.flushed()
        sid, seq, epoch, counts = self.session_id, state.seq, state.epoch, state.counts
        if self.dashboards:
            frame = p.encode(p.CountsFrame(session_id=sid, seq=seq, epoch=epoch, counts=counts))
            await self._fanout(self.dashboards, frame, live_only=True)
            self.host.stats.frames_sent += len(self.dashboards)
        if self.attendees:
            seats = p.encode(p.SeatsFrame(session_id=sid, seq=seq, epoch=epoch,
                                          capacity=counts.capacity, remaining=counts.remaining))
            await self._fanout(self.attendees, seats)

    async def _fanout(self, conns: Iterable[Connection], frame: str, *,
                      live_only: bool = False) -> None:
        batch = self.cfg.fanout_batch
        data = p.wire(frame)
        for i, c in enumerate(list(conns)):
            if c.live or not live_only:
                c.send(frame, data)
            if i % batch == batch - 1:
                await asyncio.sleep(0)

    async def _prompt(self, prompt: p.BusPrompt) -> None:
        state = self.state
        assert state is not None
        frame = p.encode(p.PromptFrame(session_id=self.session_id, seq=state.seq,
                                       epoch=state.epoch, message=prompt.message,
                                       field=prompt.field))
        await self._fanout(self.attendees, frame)

    # --- live engagement -------------------------------------------------------------------

    def engage(self, *what: str) -> None:
        """Polls, questions or the evaluation changed: re-read and send them at the next
        flush (at most ``counts_hz`` a second; the last state always sent)."""
        self._engage_what.update(w for w in what if w in ENGAGEMENT)
        self._engage.dirty = True
        self._wake.set()

    async def _load_engagement(self, what: Iterable[str]) -> dict[str, str]:
        sid = self.session_id
        frames: dict[str, str] = {}
        async with self.host.db.read() as conn:
            if "polls" in what:
                polls = await store.polls_live(conn, sid)
                shown = for_attendees(polls)
                frames["polls"] = p.encode(p.PollsFrame(session_id=sid, polls=polls))
                frames["polls:attendee"] = p.encode(p.PollsFrame(session_id=sid, polls=shown))
                self._engage_empty["polls"] = not polls
                self._engage_empty["polls:attendee"] = not shown
            if "questions" in what:
                questions = await store.questions_live(conn, sid)
                frames["questions"] = p.encode(p.QuestionsFrame(session_id=sid,
                                                                questions=questions))
                visible = visible_questions(questions)
                frames["questions:attendee"] = p.encode(p.QuestionsFrame(
                    session_id=sid, questions=visible))
                self._engage_empty["questions"] = not questions
                self._engage_empty["questions:attendee"] = not visible
            if "evaluation" in what:
                is_open, opens_at = await store.evaluation_live(conn, sid)
                frames["evaluation:attendee"] = p.encode(p.EvaluationFrame(
                    session_id=sid, open=is_open, opens_at=opens_at))
                self._engage_empty["evaluation:attendee"] = not is_open and opens_at is None
        return frames

    async def _flush_engagement(self) -> None:
        what, self._engage_what = self._engage_what, set()
        self._engage.flushed()
        if not what:
            return
        frames = await self._load_engagement(what)
        for key, frame in frames.items():
            if self._engage_frames.get(key) == frame:
                continue  # e.g. attendees' polls while results are hidden: nothing new
            self._engage_frames[key] = frame
            await self._fanout(self.attendees if key.endswith(":attendee") else self.dashboards,
                               frame)

    def engagement_frames(self, attendee: bool) -> list[str]:
        """The engagement frames a new listener gets (read when the channel was loaded, then
        kept current by every flush)."""
        keys = ATTENDEE_FRAMES if attendee else DASHBOARD_FRAMES
        return [self._engage_frames[k] for k in keys
                if k in self._engage_frames and not self._engage_empty.get(k, True)]

    # --- attendees --------------------------------------------------------------------------

    async def _attendees_after(self, event: SessionEvent) -> None:
        if event.kind in ("checkin", "checkout", "updated"):
            owners = set()
            for c in self.attendees:
                if c.identity is not None and c.identity.owns(event.record):
                    st = store.status_of_record(event.record)
                    self.send_me(c, st)
                    owners.add(c.identity.id)
            for attendee_id in owners:
                await self._push_status(attendee_id)
        elif event.kind in ("removed", "cleared"):
            await self._refresh_attendees()
            for attendee_id in {c.identity.id for c in self.attendees if c.identity}:
                await self._push_status(attendee_id)

    async def _push_status(self, attendee_id: int) -> None:
        """Send the attendee's listeners their status in the session (``session_status``),
        read now: a change that came without a record (a claim, a registration) or with one."""
        mine = [c for c in self.attendees
                if c.identity is not None and c.identity.id == attendee_id]
        if not mine:
            return
        async with self.host.db.read() as conn:
            st = await load_status(conn, self.session_id, attendee_id,
                                   register_url=register_url(self.host.public_url,
                                                             self.session_id),
                                   now=now())
        frame = p.encode(p.SessionStatusFrame(session_id=self.session_id, state=st.state,
                                              message=st.message, action=st.action,
                                              action_url=st.action_url))
        for c in mine:
            c.send(frame)

    async def _refresh_attendees(self) -> None:
        """Every attendee's status again (after a removal or a clear): one read for all of
        them, then the fan-out, so the session's deltas are not held up per socket."""
        conns = [c for c in self.attendees if c.identity is not None]
        if not conns:
            return
        ids = sorted({c.identity.id for c in conns if c.identity is not None})
        async with self.host.db.read() as conn:
            statuses = await store.attendee_statuses(conn, self.session_id, ids)
        self.host.stats.attendee_reads += 1
        batch = self.cfg.fanout_batch
        for i, c in enumerate(conns):
            if c.identity is not None:
                self.send_me(c, statuses[c.identity.id])
            if i % batch == batch - 1:
                await asyncio.sleep(0)

    def send_me(self, c: Connection, st: store.AttendeeStatus) -> None:
        state = self.state
        assert state is not None
        c.me_version += 1
        c.send(p.encode(p.MeFrame(session_id=self.session_id, seq=state.seq, epoch=state.epoch,
                                  status=st.status,  # type: ignore[arg-type]
                                  checkin_time=st.checkin_time,
                                  checkout_time=st.checkout_time)))

    # --- frames for joiners -----------------------------------------------------------------

    def snapshot_frame(self) -> str:
        state = self.state
        assert state is not None
        if self._snapshot is None:
            self._snapshot = p.encode(p.RecordsSnapshot(
                session_id=self.session_id, seq=state.seq, epoch=state.epoch,
                counts=state.counts, records=state.records))
        return self._snapshot

    def counts_frame(self) -> str:
        state = self.state
        assert state is not None
        return p.encode(p.CountsFrame(session_id=self.session_id, seq=state.seq,
                                      epoch=state.epoch, counts=state.counts))

    def seats_frame(self) -> str:
        state = self.state
        assert state is not None
        return p.encode(p.SeatsFrame(session_id=self.session_id, seq=state.seq,
                                     epoch=state.epoch, capacity=state.counts.capacity,
                                     remaining=state.counts.remaining))

    def ring_after(self, seq: int) -> list[tuple[int, str]] | None:
        """Delta frames after ``seq`` from memory, or None when the ring does not reach back."""
        if not self.ring or self.ring[0][0] > seq + 1:
            return None
        return [(s, f) for s, f in self.ring if s > seq]

    def send_snapshot(self, c: Connection) -> None:
        state = self.state
        assert state is not None
        c.last_seq = state.seq
        c.live = True
        c.send(self.snapshot_frame())

    async def catch_up_connection(self, c: Connection, since: int, epoch: str | None) -> None:
        """Queue every delta after ``since`` (memory, else the log), then go live; a snapshot
        instead when the epoch differs or more than ``history_limit`` are missing."""
        state = self.state
        assert state is not None
        generation = c.generation
        c.live = False
        c.last_seq = since
        if (epoch is not None and epoch != state.epoch) or since > state.seq:
            self.send_snapshot(c)
            return
        while c.closing is None and c.generation == generation:
            state = self.state
            assert state is not None
            if c.last_seq >= state.seq:
                c.live = True
                c.send(self.counts_frame())
                return
            if state.seq - c.last_seq > self.cfg.history_limit:
                self.send_snapshot(c)
                return
            frames = self.ring_after(c.last_seq)
            if frames is None:
                async with self.host.db.read() as conn:
                    events = await store.events_after(conn, self.session_id, c.last_seq,
                                                      upto=state.seq, limit=200)
                if c.generation != generation:
                    return
                frames = [(e.seq, p.encode(p.delta_of(e))) for e in events
                          if e.epoch == state.epoch]
                if not frames or frames[0][0] != c.last_seq + 1:
                    self.send_snapshot(c)
                    return
            for seq, frame in frames:
                if c.generation != generation or seq <= c.last_seq:
                    continue
                if seq != c.last_seq + 1 or not await c.send_paced(frame):
                    break
                c.last_seq = seq
