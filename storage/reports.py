"""The queries behind the attendance and scans reports, read a page at a time so that a report
of any size is streamed, never held: first the keys in order (small), then the rows of one
page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.records import RECORD_COLUMNS, SESSION_COLUMNS, USER_COLUMNS, ExtrasRows
from storage.sheets import among
from storage.tables import (
    T_API_KEYS,
    T_ATTENDEES,
    T_CODEWORD_SUBMISSIONS,
    T_CODEWORDS,
    T_COUNTERS,
    T_CREDIT_ADJUSTMENTS,
    T_DOOR_LOG,
    T_FIELDS,
    T_OVERRIDES,
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


def _pairs(session_ids: Sequence[str] | None) -> Any:
    """(session_id, attendee_id) of every record and registration (of these sessions)."""
    r, g = T_RECORDS.c, T_REGISTRATIONS.c
    records = sa.select(r.session_id, r.attendee_id)
    registrations = sa.select(g.session_id, g.attendee_id)
    if session_ids is not None:
        records = records.where(r.session_id.in_(list(session_ids)))
        registrations = registrations.where(g.session_id.in_(list(session_ids)))
    return sa.union(records, registrations).subquery()


async def row_counts(conn: AsyncConnection, session_ids: Sequence[str] | None) -> dict[str, int]:
    """How many attendees each session has a record or a registration for."""
    pairs = _pairs(session_ids)
    return {r.session_id: r.n for r in await conn.execute(
        sa.select(pairs.c.session_id, sa.func.count().label("n")).group_by(pairs.c.session_id))}


async def report_sessions(conn: AsyncConnection, session_ids: Sequence[str]) -> list[Any]:
    """The sessions as the records' serializer needs them (``SESSION_COLUMNS``), with their
    name."""
    return list(await conn.execute(
        sa.select(*SESSION_COLUMNS, T_SESSIONS.c.name)
        .select_from(T_SESSIONS.join(T_COUNTERS, T_COUNTERS.c.session_id == T_SESSIONS.c.id))
        .where(T_SESSIONS.c.id.in_(list(session_ids)))))


async def report_fields(conn: AsyncConnection, session_ids: Sequence[str]) -> list[Any]:
    """The sessions' fields of study with their codewords, in order: (session_id, id, name,
    credits, cw_id, word)."""
    f, w = T_FIELDS.c, T_CODEWORDS.c
    return list(await conn.execute(
        sa.select(f.session_id, f.id, f.name, f.credits, w.id.label("cw_id"), w.word)
        .select_from(T_FIELDS.outerjoin(T_CODEWORDS, w.field_id == f.id))
        .where(f.session_id.in_(list(session_ids)))
        .order_by(f.session_id, f.position, f.id, w.position, w.id)))


async def report_keys(conn: AsyncConnection,
                      session_ids: Sequence[str]) -> list[tuple[str, int]]:
    """(session id, attendee id) of the report's rows for these sessions, in the report's
    order: the schedule's (date, start time, higher rank first), then last name, first name
    and attendee id."""
    pairs, s, a = _pairs(session_ids), T_SESSIONS.c, T_ATTENDEES.c
    rows = await conn.execute(
        sa.select(pairs.c.session_id, pairs.c.attendee_id)
        .select_from(pairs.join(T_SESSIONS, s.id == pairs.c.session_id)
                     .join(T_ATTENDEES, a.id == pairs.c.attendee_id))
        .order_by(s.date.is_(None), s.date, s.start_time.is_(None), s.start_time,
                  sa.func.coalesce(s.rank, 0).desc(), s.name, s.id,
                  a.last_name, a.first_name, a.id))
    return [(r.session_id, r.attendee_id) for r in rows]


async def page_extras(conn: AsyncConnection, keys: Sequence[tuple[str, int]]) -> ExtrasRows:
    """The overrides, codeword submissions and credit adjustments of the records of a page's
    sessions and attendees (a report shows no history, so it is not read)."""
    r = T_RECORDS.c
    ids = sa.select(r.id).where(among(conn, r.session_id, sorted({k[0] for k in keys})),
                                among(conn, r.attendee_id, sorted({k[1] for k in keys})))
    o, c, j = T_OVERRIDES.c, T_CODEWORD_SUBMISSIONS.c, T_CREDIT_ADJUSTMENTS.c
    return ExtrasRows(
        overrides=list(await conn.execute(
            sa.select(o.record_id, o.rule, o.actor, o.reason, o.at)
            .where(o.record_id.in_(ids)).order_by(o.id))),
        submissions=list(await conn.execute(
            sa.select(c.record_id, c.codeword_id).where(c.record_id.in_(ids)))),
        adjustments=list(await conn.execute(
            sa.select(T_CREDIT_ADJUSTMENTS).where(j.record_id.in_(ids)))))


async def report_page(conn: AsyncConnection, keys: Sequence[tuple[str, int]],
                      ) -> tuple[dict[tuple[str, int], Any], set[tuple[str, int]], dict[int, Any]]:
    """For (session id, attendee id) keys: their records (``RECORD_COLUMNS``), which are
    registrations, and the attendees (id, registration_level, ``USER_COLUMNS``)."""
    sids = sorted({k[0] for k in keys})
    aids = sorted({k[1] for k in keys})
    wanted = set(keys)
    r, g, a = T_RECORDS.c, T_REGISTRATIONS.c, T_ATTENDEES.c
    records = {}
    for row in await conn.execute(
            sa.select(r.session_id, *RECORD_COLUMNS)
            .where(among(conn, r.session_id, sids), among(conn, r.attendee_id, aids))):
        if (row.session_id, row.attendee_id) in wanted:
            records[row.session_id, row.attendee_id] = row
    registered = {(row.session_id, row.attendee_id) for row in await conn.execute(
        sa.select(g.session_id, g.attendee_id)
        .where(among(conn, g.session_id, sids), among(conn, g.attendee_id, aids)))}
    people = {row.id: row for row in await conn.execute(
        sa.select(a.id, a.registration_level, *USER_COLUMNS).where(among(conn, a.id, aids)))}
    return records, registered & wanted, people


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
