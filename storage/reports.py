"""The queries behind the attendance and scans reports, read a page at a time so that a report
of any size is streamed, never held: first the keys in order (small), then the rows of one
page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.records import RECORD_STATE, USER_COLUMNS
from storage.tables import (
    T_API_KEYS,
    T_ATTENDEES,
    T_DOOR_LOG,
    T_FIELDS,
    T_RECORDS,
    T_REGISTRATIONS,
    T_SESSIONS,
)


async def most_fields(conn: AsyncConnection, session_ids: Sequence[str] | None) -> int:
    """The most fields of study any of these sessions (all when None) has."""
    f = T_FIELDS.c
    per = sa.select(sa.func.count().label("n")).select_from(T_FIELDS).group_by(f.session_id)
    if session_ids is not None:
        per = per.where(f.session_id.in_(list(session_ids)))
    sub = per.subquery()
    return int((await conn.execute(sa.select(sa.func.max(sub.c.n)))).scalar() or 0)


async def attendee_ids(conn: AsyncConnection, session_id: str) -> list[int]:
    """The attendees with a record in the session or registered for it, by last name, first
    name and id."""
    r, g, a = T_RECORDS.c, T_REGISTRATIONS.c, T_ATTENDEES.c
    either = sa.union(
        sa.select(r.attendee_id.label("aid")).where(r.session_id == session_id),
        sa.select(g.attendee_id.label("aid")).where(g.session_id == session_id),
    ).subquery()
    rows = await conn.execute(
        sa.select(a.id).select_from(T_ATTENDEES.join(either, either.c.aid == a.id))
        .order_by(a.last_name, a.first_name, a.id))
    return [row.id for row in rows]


# What an attendance row is read with: the attendee, whether registered, and the record
# (its columns null when there is none) under the names ``RecordState.of`` reads.
_ATTENDANCE = (
    T_ATTENDEES.c.id.label("attendee_id"), T_ATTENDEES.c.registration_level, *USER_COLUMNS,
    T_RECORDS.c.id.label("record_id"), *(T_RECORDS.c[n] for n in RECORD_STATE),
    T_RECORDS.c.evaluation_complete,
)


async def attendance_page(conn: AsyncConnection, session_id: str,
                          ids: Sequence[int]) -> list[Any]:
    """The attendees ``ids`` with their record in the session (if any) and ``registered``,
    in the order of ``ids``."""
    registered = (
        sa.exists().where(T_REGISTRATIONS.c.session_id == session_id,
                          T_REGISTRATIONS.c.attendee_id == T_ATTENDEES.c.id)
    ).label("registered")
    rows = await conn.execute(
        sa.select(*_ATTENDANCE, registered)
        .select_from(T_ATTENDEES.outerjoin(
            T_RECORDS, sa.and_(T_RECORDS.c.attendee_id == T_ATTENDEES.c.id,
                               T_RECORDS.c.session_id == session_id)))
        .where(T_ATTENDEES.c.id.in_(list(ids))))
    by_id = {row.attendee_id: row for row in rows}
    return [by_id[i] for i in ids if i in by_id]


async def door_log_page(conn: AsyncConnection, session_id: str | None, *, after: int,
                        limit: int) -> list[Any]:
    """Door log rows with an id above ``after`` (of one session, or all), in order, with the
    session's name and the attendee's badge and names (null for no attendee)."""
    d, s, a = T_DOOR_LOG.c, T_SESSIONS.c, T_ATTENDEES.c
    query = (
        sa.select(d.id, d.at, d.session_id, s.name.label("session_name"), a.badge_id,
                  a.last_name, a.first_name, d.action, d.result, d.source, d.actor,
                  d.presented_as, d.presented)
        .select_from(T_DOOR_LOG.join(T_SESSIONS, s.id == d.session_id)
                     .outerjoin(T_ATTENDEES, a.id == d.attendee_id))
        .where(d.id > after)
        .order_by(d.id).limit(limit))
    if session_id is not None:
        query = query.where(d.session_id == session_id)
    return list(await conn.execute(query))


async def api_key_descriptions(conn: AsyncConnection) -> dict[int, str]:
    return {r.id: r.description for r in await conn.execute(
        sa.select(T_API_KEYS.c.id, T_API_KEYS.c.description))}
