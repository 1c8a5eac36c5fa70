"""What the real-time hub reads: counters, the event log, recent records, who may listen.

The log is ``session_events`` (written in the same transaction as the change). Because each
session's ``seq`` comes from an update of its counter row, an event with ``seq`` N is visible
only after every event before it committed: whoever has seen N can read 1..N from the log
without holes.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.offline import leased_seats
from storage.tables import T_APP, T_ATTENDEES, T_COUNTERS, T_EVENTS, T_RECORDS, T_SESSIONS

_COUNTS = (T_COUNTERS.c.seq, T_COUNTERS.c.epoch, T_COUNTERS.c.registered,
           T_COUNTERS.c.checked_in, T_COUNTERS.c.in_room, T_SESSIONS.c.capacity,
           leased_seats(T_SESSIONS.c.id).label("leased"))


async def counter(conn: AsyncConnection, session_id: str) -> Any:
    """(seq, epoch, registered, checked_in, in_room, capacity) of a session, or None."""
    return (await conn.execute(
        sa.select(*_COUNTS)
        .select_from(T_SESSIONS.join(T_COUNTERS, T_COUNTERS.c.session_id == T_SESSIONS.c.id))
        .where(T_SESSIONS.c.id == session_id)
    )).first()


async def recent_payloads(conn: AsyncConnection, session_id: str, *, upto: int,
                          limit: int) -> list[bytes]:
    """The last event of the ``limit`` records most recently touched by a door action
    (``seq`` at most ``upto``), newest first. A removed or cleared record is gone from
    ``checkin_records`` and so from here."""
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
    return [bytes(r.payload) for r in rows]


async def payloads_after(conn: AsyncConnection, session_id: str, after: int, *,
                         upto: int | None = None, limit: int = 500) -> list[bytes]:
    """Events with ``after < seq <= upto``, in order, at most ``limit``."""
    cond = [T_EVENTS.c.session_id == session_id, T_EVENTS.c.seq > after]
    if upto is not None:
        cond.append(T_EVENTS.c.seq <= upto)
    rows = (await conn.execute(
        sa.select(T_EVENTS.c.payload).where(*cond).order_by(T_EVENTS.c.seq).limit(limit)
    )).all()
    return [bytes(r.payload) for r in rows]


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


async def all_counters(conn: AsyncConnection) -> list[Any]:
    """Every session's (id, name, counts...), in the sessions' display order."""
    return list((await conn.execute(
        sa.select(T_SESSIONS.c.id, T_SESSIONS.c.name, *_COUNTS)
        .select_from(T_SESSIONS.join(T_COUNTERS, T_COUNTERS.c.session_id == T_SESSIONS.c.id))
        .order_by(T_SESSIONS.c.rank.is_(None), T_SESSIONS.c.rank, T_SESSIONS.c.date,
                  T_SESSIONS.c.start_time, T_SESSIONS.c.name, T_SESSIONS.c.id)
    )).all())


async def moderator_passwords(conn: AsyncConnection,
                              session_id: str | None) -> tuple[bool, str | None, str | None]:
    """(the session exists, its moderator password, the event's moderator password)."""
    app = (await conn.execute(
        sa.select(T_APP.c.moderator_password).where(T_APP.c.id == 1)
    )).first()
    app_pw = app.moderator_password if app is not None else None
    if session_id is None:
        return False, None, app_pw
    row = (await conn.execute(
        sa.select(T_SESSIONS.c.moderator_password).where(T_SESSIONS.c.id == session_id)
    )).first()
    return row is not None, (row.moderator_password if row else None), app_pw


async def attendee_ids(conn: AsyncConnection, attendee_id: int) -> Any:
    """(id, external_id, email, badge_id) of an attendee, or None."""
    return (await conn.execute(
        sa.select(T_ATTENDEES.c.id, T_ATTENDEES.c.external_id, T_ATTENDEES.c.email,
                  T_ATTENDEES.c.badge_id).where(T_ATTENDEES.c.id == attendee_id)
    )).first()


async def attendee_record(conn: AsyncConnection, session_id: str,
                          attendee_id: int) -> tuple[Any, str | None]:
    """The attendee's (checkin_time, checkout_time, in_since) in the session, or None, and
    the event's time zone."""
    row = (await conn.execute(
        sa.select(T_RECORDS.c.checkin_time, T_RECORDS.c.checkout_time, T_RECORDS.c.in_since)
        .where(T_RECORDS.c.session_id == session_id, T_RECORDS.c.attendee_id == attendee_id)
    )).first()
    app = (await conn.execute(sa.select(T_APP.c.timezone).where(T_APP.c.id == 1))).first()
    return row, (app.timezone if app else None)
