"""What the real-time hub reads from the database: snapshots, the event log, who may listen.

The log is ``session_events`` (written by the attendance engine in the same transaction as the
change). Because each session's ``seq`` comes from an update of its counter row, an event with
``seq`` N is visible only after every event before it committed: whoever has seen N can read
1..N from the log without holes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.events import Counts, SessionEvent, decode_event
from storage.models import (
    T_APP,
    T_ATTENDEES,
    T_COUNTERS,
    T_EVENTS,
    T_RECORDS,
    T_SESSIONS,
)
from storage.timeutil import as_utc, iso, zone


@dataclass
class SessionState:
    session_id: str
    seq: int
    epoch: str
    counts: Counts
    records: list[dict[str, Any]]  # newest first


def _counts(row: Any) -> Counts:
    return Counts.of(registered=row.registered, checked_in=row.checked_in,
                     in_room=row.in_room, capacity=row.capacity)


async def session_state(conn: AsyncConnection, session_id: str, *,
                        records: int) -> SessionState | None:
    """Counts, seq and epoch from the counter row, and the ``records`` most recently touched
    check-in records (as their last event carried them). None for an unknown session."""
    row = (await conn.execute(
        sa.select(T_COUNTERS.c.seq, T_COUNTERS.c.epoch, T_COUNTERS.c.registered,
                  T_COUNTERS.c.checked_in, T_COUNTERS.c.in_room, T_SESSIONS.c.capacity)
        .select_from(T_SESSIONS.join(T_COUNTERS, T_COUNTERS.c.session_id == T_SESSIONS.c.id))
        .where(T_SESSIONS.c.id == session_id)
    )).first()
    if row is None:
        return None
    recent = await recent_records(conn, session_id, upto=row.seq, limit=records)
    return SessionState(session_id=session_id, seq=row.seq, epoch=row.epoch,
                        counts=_counts(row), records=recent)


async def recent_records(conn: AsyncConnection, session_id: str, *, upto: int,
                         limit: int) -> list[dict[str, Any]]:
    """The latest ``limit`` records by last door action, newest first. A removed or cleared
    record is gone from ``checkin_records`` and so from here."""
    rows = (await conn.execute(
        sa.select(T_EVENTS.c.payload)
        .select_from(T_RECORDS.join(
            T_EVENTS,
            sa.and_(T_EVENTS.c.session_id == T_RECORDS.c.session_id,
                    T_EVENTS.c.seq == T_RECORDS.c.updated_seq)))
        .where(T_RECORDS.c.session_id == session_id, T_RECORDS.c.updated_seq > 0,
               T_RECORDS.c.updated_seq <= upto,
               T_EVENTS.c.kind.in_(("checkin", "checkout")))
        .order_by(T_RECORDS.c.updated_seq.desc())
        .limit(limit)
    )).all()
    out = []
    for r in rows:
        record = decode_event(bytes(r.payload)).record
        if record is not None:
            out.append(record)
    return out


async def events_after(conn: AsyncConnection, session_id: str, after: int, *,
                       upto: int | None = None, limit: int = 500) -> list[SessionEvent]:
    """Events with ``after < seq <= upto``, in order, at most ``limit``."""
    cond = [T_EVENTS.c.session_id == session_id, T_EVENTS.c.seq > after]
    if upto is not None:
        cond.append(T_EVENTS.c.seq <= upto)
    rows = (await conn.execute(
        sa.select(T_EVENTS.c.payload).where(*cond).order_by(T_EVENTS.c.seq).limit(limit)
    )).all()
    return [decode_event(bytes(r.payload)) for r in rows]


async def current_seq(conn: AsyncConnection, session_id: str) -> tuple[int, str] | None:
    row = (await conn.execute(
        sa.select(T_COUNTERS.c.seq, T_COUNTERS.c.epoch)
        .where(T_COUNTERS.c.session_id == session_id)
    )).first()
    return None if row is None else (int(row.seq), str(row.epoch))


async def session_capacity(conn: AsyncConnection, session_id: str) -> tuple[bool, int | None]:
    """Whether the session still exists, and its capacity (None: no limit)."""
    row = (await conn.execute(
        sa.select(T_SESSIONS.c.capacity).where(T_SESSIONS.c.id == session_id)
    )).first()
    return (False, None) if row is None else (True, row.capacity)


@dataclass
class EventRow:
    session_id: str
    name: str
    seq: int
    epoch: str
    counts: Counts


async def event_counts(conn: AsyncConnection) -> list[EventRow]:
    """Every session's counts, in the sessions' display order."""
    rows = (await conn.execute(
        sa.select(T_SESSIONS.c.id, T_SESSIONS.c.name, T_SESSIONS.c.capacity,
                  T_COUNTERS.c.seq, T_COUNTERS.c.epoch, T_COUNTERS.c.registered,
                  T_COUNTERS.c.checked_in, T_COUNTERS.c.in_room)
        .select_from(T_SESSIONS.join(T_COUNTERS, T_COUNTERS.c.session_id == T_SESSIONS.c.id))
        .order_by(T_SESSIONS.c.rank.is_(None), T_SESSIONS.c.rank, T_SESSIONS.c.date,
                  T_SESSIONS.c.start_time, T_SESSIONS.c.name, T_SESSIONS.c.id)
    )).all()
    return [EventRow(session_id=r.id, name=r.name, seq=r.seq, epoch=r.epoch, counts=_counts(r))
            for r in rows]


# --- who may listen -------------------------------------------------------------------------


@dataclass
class SessionAccess:
    exists: bool
    moderator_password: str | None  # the session's
    app_moderator_password: str | None


async def session_access(conn: AsyncConnection, session_id: str | None) -> SessionAccess:
    app = (await conn.execute(
        sa.select(T_APP.c.moderator_password).where(T_APP.c.id == 1)
    )).first()
    app_pw = app.moderator_password if app is not None else None
    if session_id is None:
        return SessionAccess(exists=False, moderator_password=None, app_moderator_password=app_pw)
    row = (await conn.execute(
        sa.select(T_SESSIONS.c.moderator_password).where(T_SESSIONS.c.id == session_id)
    )).first()
    return SessionAccess(exists=row is not None,
                         moderator_password=row.moderator_password if row else None,
                         app_moderator_password=app_pw)


@dataclass(frozen=True)
class AttendeeIdentity:
    """How an attendee shows up in a record's ``user`` (to pick their own events)."""

    id: int
    external_id: str | None
    email: str | None
    badge_id: str | None

    def owns(self, record: dict[str, Any] | None) -> bool:
        if not record:
            return False
        user = record.get("user") or {}
        for key in ("external_id", "badge_id"):
            mine = getattr(self, key)
            if mine is not None and user.get(key) == mine:
                return True
        email = user.get("email")
        return (self.external_id is None and self.badge_id is None and self.email is not None
                and isinstance(email, str) and email.lower() == self.email.lower())


async def attendee_identity(conn: AsyncConnection, attendee_id: int) -> AttendeeIdentity | None:
    row = (await conn.execute(
        sa.select(T_ATTENDEES.c.id, T_ATTENDEES.c.external_id, T_ATTENDEES.c.email,
                  T_ATTENDEES.c.badge_id).where(T_ATTENDEES.c.id == attendee_id)
    )).first()
    if row is None:
        return None
    return AttendeeIdentity(id=row.id, external_id=row.external_id, email=row.email,
                            badge_id=row.badge_id)


@dataclass
class AttendeeStatus:
    status: str  # "not_checked_in" | "in_room" | "checked_out"
    checkin_time: str | None
    checkout_time: str | None


def status_of_record(record: dict[str, Any] | None) -> AttendeeStatus:
    if not record or record.get("checkin_time") is None:
        return AttendeeStatus("not_checked_in", None, None)
    return AttendeeStatus("in_room" if record.get("in_room") else "checked_out",
                          record.get("checkin_time"), record.get("checkout_time"))


async def attendee_status(conn: AsyncConnection, session_id: str,
                          attendee_id: int) -> AttendeeStatus:
    row = (await conn.execute(
        sa.select(T_RECORDS.c.checkin_time, T_RECORDS.c.checkout_time, T_RECORDS.c.in_since)
        .where(T_RECORDS.c.session_id == session_id, T_RECORDS.c.attendee_id == attendee_id)
    )).first()
    if row is None or row.checkin_time is None:
        return AttendeeStatus("not_checked_in", None, None)
    app = (await conn.execute(sa.select(T_APP.c.timezone).where(T_APP.c.id == 1))).first()
    tz = zone(app.timezone if app else None)
    return AttendeeStatus("in_room" if row.in_since is not None else "checked_out",
                          iso(as_utc(row.checkin_time), tz), iso(as_utc(row.checkout_time), tz))
