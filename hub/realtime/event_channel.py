"""The event-wide channel (``/ws/event``): every session's counts, coalesced.

Counts are absolute and carry their ``seq``, so this channel needs no ordering: a message
older than what it holds is ignored, and after a broker reconnect (or while the broker is away)
it simply reloads every session's counter row.
"""

from __future__ import annotations

import asyncio
import logging

from hub.realtime import protocol as p
from hub.realtime import store
from hub.realtime.connection import Connection
from hub.realtime.inbox import Host, Inbox

log = logging.getLogger("rollcall.realtime")


class EventChannel(Inbox[p.BusCounts | p.BusRefresh]):
    """Every session's counts for the event-wide dashboard (``/ws/event``)."""

    def __init__(self, host: Host) -> None:
        super().__init__(host)
        self.conns: dict[Connection, None] = {}
        self.rows: dict[str, store.EventRow] = {}
        self.dirty: set[str] = set()
        self._snapshot: str | None = None

    @property
    def empty(self) -> bool:
        return not self.conns

    async def load(self) -> bool:
        await self._reload()
        self._task = asyncio.create_task(self._run(), name="rollcall-event-channel")
        return True

    async def _reload(self) -> None:
        async with self.host.db.read() as conn:
            rows = await store.event_counts(conn)
        fresh = {r.session_id: r for r in rows}
        first = self._task is None  # joiners get these in the snapshot
        listed = [(r.session_id, r.name) for r in self.rows.values()]
        for sid, r in fresh.items():
            old = self.rows.get(sid)
            if first:
                continue
            if old is None or old.seq != r.seq or old.epoch != r.epoch or old.counts != r.counts:
                self.dirty.add(sid)
        self.dirty &= set(fresh)
        self.rows = fresh
        self._snapshot = None
        if not first and listed != [(r.session_id, r.name) for r in rows]:
            # A session was created, renamed, moved or deleted: everyone gets the new list.
            self.dirty.clear()
            frame = self.snapshot_frame()
            batch = self.cfg.fanout_batch
            for i, c in enumerate(list(self.conns)):
                c.send(frame)
                if i % batch == batch - 1:
                    await asyncio.sleep(0)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self.stopping:
                return
            try:
                if self.behind:
                    self.behind = False
                    await self._reload()
                unknown = False
                while self.inbox:
                    m = self.inbox.popleft()
                    if isinstance(m, p.BusRefresh):
                        unknown = True  # re-read every session (names, capacities, the list)
                        continue
                    row = self.rows.get(m.session_id)
                    if row is None:
                        unknown = True
                        continue
                    if m.epoch != row.epoch or m.seq > row.seq:
                        row.seq, row.epoch, row.counts = m.seq, m.epoch, m.counts
                        self.dirty.add(m.session_id)
                        self._snapshot = None
                if unknown:
                    await self._reload()  # a new session: learn its name
                if self.dirty:
                    self._counts.dirty = True
                if self._counts.due():
                    await self._flush()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001
                log.exception("event channel failed; reloading from the database")
                await asyncio.sleep(0.5)
                self.behind = True
                self._wake.set()

    async def _flush(self) -> None:
        self._counts.flushed()
        dirty, self.dirty = self.dirty, set()
        batch = self.cfg.fanout_batch
        for sid in dirty:
            row = self.rows.get(sid)
            if row is None:
                continue
            frame = p.encode(p.CountsFrame(session_id=sid, seq=row.seq, epoch=row.epoch,
                                           counts=row.counts))
            data = p.wire(frame)
            for i, c in enumerate(list(self.conns)):
                c.send(frame, data)
                if i % batch == batch - 1:
                    await asyncio.sleep(0)

    def snapshot_frame(self) -> str:
        if self._snapshot is None:
            self._snapshot = p.encode(p.EventSnapshot(sessions=[
                p.SessionCounts(session_id=r.session_id, name=r.name, seq=r.seq, epoch=r.epoch,
                                counts=r.counts)
                for r in self.rows.values()
            ]))
        return self._snapshot
