"""What the web pages read that the REST API does not show to browsers: the visible schedule,
one session's public fields, an attendee's own status, the staff session list, and a kiosk's
attendee search. Read-only."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.tables import (
    T_ATTENDEES,
    T_CODEWORD_SUBMISSIONS,
    T_CODEWORDS,
    T_COUNTERS,
    T_FIELDS,
    T_PRESENTERS,
    T_RECORDS,
    T_REGISTRATIONS,
    T_SESSION_PRESENTERS,
    T_SESSIONS,
)

S = T_SESSIONS.c
_VISIBLE = sa.or_(S.hidden.is_(None), S.hidden.is_(False))


def schedule_order() -> list[Any]:
    """Date, then start time, then higher rank first; undated and unranked last."""
    return [
        S.date.is_(None), S.date,
        S.start_time.is_(None), S.start_time,
        S.rank.is_(None), S.rank.desc(),
        S.name, S.id,
    ]


async def only_visible_session(conn: AsyncConnection) -> str | None:
    """The id of the one visible session, when there is exactly one."""
    n = (await conn.execute(sa.select(sa.func.count()).select_from(T_SESSIONS)
                            .where(_VISIBLE))).scalar_one()
    if n != 1:
        return None
    return str((await conn.execute(sa.select(S.id).where(_VISIBLE))).scalar_one())


async def visible_sessions(conn: AsyncConnection) -> list[Any]:
    """Every session not hidden, in schedule order."""
    return list((await conn.execute(
        sa.select(T_SESSIONS).where(_VISIBLE).order_by(*schedule_order()))).all())


async def session_by_id(conn: AsyncConnection, session_id: str) -> Any:
    return (await conn.execute(sa.select(T_SESSIONS).where(S.id == session_id))).first()


async def counter_of(conn: AsyncConnection, session_id: str) -> Any:
    return (await conn.execute(sa.select(T_COUNTERS).where(
        T_COUNTERS.c.session_id == session_id))).first()


async def presenters_and_fields(
        conn: AsyncConnection, ids: list[str]
) -> tuple[dict[str, list[str]], dict[str, list[dict[str, Any]]]]:
    """Presenter names and fields of study (name, credits, how many codewords) by session."""
    presenters: dict[str, list[str]] = defaultdict(list)
    fields: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if not ids:
        return presenters, fields
    rows = await conn.execute(
        sa.select(T_SESSION_PRESENTERS.c.session_id, T_PRESENTERS.c.name)
        .join(T_PRESENTERS, T_PRESENTERS.c.id == T_SESSION_PRESENTERS.c.presenter_id)
        .where(T_SESSION_PRESENTERS.c.session_id.in_(ids))
        .order_by(T_SESSION_PRESENTERS.c.position)
    )
    for r in rows:
        presenters[r.session_id].append(r.name)
    n_words = (
        sa.select(sa.func.count()).select_from(T_CODEWORDS)
        .where(T_CODEWORDS.c.field_id == T_FIELDS.c.id).scalar_subquery()
    )
    rows = await conn.execute(
        sa.select(T_FIELDS.c.session_id, T_FIELDS.c.name, T_FIELDS.c.credits, n_words.label("n"))
        .where(T_FIELDS.c.session_id.in_(ids))
        .order_by(T_FIELDS.c.position, T_FIELDS.c.id)
    )
    for r in rows:
        fields[r.session_id].append({"name": r.name, "credits": r.credits, "codewords": r.n})
    return presenters, fields


async def my_status(conn: AsyncConnection, session_id: str,
                    attendee_id: int) -> tuple[bool, Any, int]:
    """(registered, the record or None, how many codewords the attendee submitted)."""
    registered = (await conn.execute(
        sa.select(T_REGISTRATIONS.c.attendee_id).where(
            T_REGISTRATIONS.c.session_id == session_id,
            T_REGISTRATIONS.c.attendee_id == attendee_id))).first()
    rec = (await conn.execute(sa.select(T_RECORDS).where(
        T_RECORDS.c.session_id == session_id, T_RECORDS.c.attendee_id == attendee_id))).first()
    words = 0
    if rec is not None:
        words = int((await conn.execute(
            sa.select(sa.func.count()).select_from(T_CODEWORD_SUBMISSIONS)
            .where(T_CODEWORD_SUBMISSIONS.c.record_id == rec.id))).scalar_one())
    return registered is not None, rec, words


async def my_attendance(conn: AsyncConnection, attendee_id: int) -> dict[str, str | None]:
    """session id -> the check-in's source, for every session the attendee attended."""
    rows = await conn.execute(
        sa.select(T_RECORDS.c.session_id, T_RECORDS.c.checkin_source)
        .where(T_RECORDS.c.attendee_id == attendee_id,
               T_RECORDS.c.checkin_time_actual.is_not(None)))
    return {r.session_id: r.checkin_source for r in rows}


async def staff_sessions(conn: AsyncConnection) -> list[Any]:
    """Every session, hidden included, with its counters, in schedule order."""
    return list((await conn.execute(
        sa.select(S.id, S.name, S.location, S.date, S.start_time, S.end_time, S.hidden,
                  S.capacity, T_COUNTERS.c.registered, T_COUNTERS.c.checked_in,
                  T_COUNTERS.c.in_room, T_COUNTERS.c.seq)
        .join(T_COUNTERS, T_COUNTERS.c.session_id == S.id, isouter=True)
        .order_by(*schedule_order()))).all())


async def kiosk_search(conn: AsyncConnection, session_id: str, q: str,
                       limit: int = 12) -> list[Any]:
    """Registered attendees of the session whose name, email, external id or badge id
    contains ``q`` (lower-cased): (id, names, email, external_id, badge_id, in_since)."""
    like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")[:80] + "%"
    A = T_ATTENDEES.c
    full = sa.func.lower(
        sa.func.coalesce(A.first_name, "") + " " + sa.func.coalesce(A.last_name, ""))
    return list((await conn.execute(
        sa.select(A.id, A.first_name, A.last_name, A.email, A.external_id, A.badge_id,
                  T_RECORDS.c.in_since)
        .join(T_REGISTRATIONS, T_REGISTRATIONS.c.attendee_id == A.id)
        .join(T_RECORDS, sa.and_(T_RECORDS.c.attendee_id == A.id,
                                 T_RECORDS.c.session_id == session_id),
              isouter=True)
        .where(T_REGISTRATIONS.c.session_id == session_id)
        .where(sa.or_(full.like(like, escape="\\"), A.email_lower.like(like, escape="\\"),
                      sa.func.lower(A.external_id).like(like, escape="\\"),
                      sa.func.lower(A.badge_id).like(like, escape="\\")))
        .order_by(A.last_name, A.first_name, A.id).limit(limit))).all())
