"""Read-only queries for what attendees said: evaluation responses, poll answers, questions."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.tables import (
    T_APP,
    T_ATTENDEES,
    T_EVALUATIONS,
    T_POLL_RESPONSES,
    T_POLLS,
    T_PRESENTERS,
    T_QUESTIONS,
    T_SESSIONS,
)


async def evaluation_responses(conn: AsyncConnection) -> list[Any]:
    """Every evaluation response with its session, attendee and presenter, oldest first."""
    e, s, a, p = T_EVALUATIONS.c, T_SESSIONS.c, T_ATTENDEES.c, T_PRESENTERS.c
    query = (
        sa.select(
            e.id, e.question, e.response, e.response_value, e.timestamp,
            s.name.label("session_name"), s.external_id.label("session_external_id"),
            a.id.label("user_id"), a.external_id.label("user_external_id"),
            a.first_name, a.last_name, a.field_1, a.field_2, a.field_3, a.field_4, a.field_5,
            p.id.label("presenter_id"), p.external_id.label("presenter_external_id"),
            p.name.label("presenter_name"),
        )
        .select_from(T_EVALUATIONS)
        .join(T_SESSIONS, s.id == e.session_id)
        .join(T_ATTENDEES, a.id == e.attendee_id)
        .outerjoin(T_PRESENTERS, p.id == e.presenter_id)
        .order_by(e.timestamp, e.id)
    )
    return list(await conn.execute(query))


async def polls_of(conn: AsyncConnection, sid: str) -> list[Any]:
    """The session's polls in rank order (unranked last), then by creation."""
    p = T_POLLS.c
    query = sa.select(T_POLLS).where(p.session_id == sid).order_by(
        p.rank.is_(None), p.rank, p.created, p.id
    )
    return list(await conn.execute(query))


async def poll_responses_of(conn: AsyncConnection, sid: str) -> list[Any]:
    """Every answer to the session's polls, with who answered (when known), oldest first."""
    r, p, a = T_POLL_RESPONSES.c, T_POLLS.c, T_ATTENDEES.c
    query = (
        sa.select(r.id, r.poll_id, r.choice, r.created, r.attendee_id, a.external_id)
        .select_from(T_POLL_RESPONSES)
        .join(T_POLLS, p.id == r.poll_id)
        .outerjoin(T_ATTENDEES, a.id == r.attendee_id)
        .where(p.session_id == sid)
        .order_by(r.created, r.id)
    )
    return list(await conn.execute(query))


async def questions_of(conn: AsyncConnection, sid: str) -> list[Any]:
    """The session's submitted questions with who asked (when known), oldest first."""
    q, a = T_QUESTIONS.c, T_ATTENDEES.c
    query = (
        sa.select(q.id, q.text, q.upvotes, q.answered, q.created, q.attendee_id, a.external_id)
        .select_from(T_QUESTIONS)
        .outerjoin(T_ATTENDEES, a.id == q.attendee_id)
        .where(q.session_id == sid)
        .order_by(q.created, q.id)
    )
    return list(await conn.execute(query))


async def app_timezone(conn: AsyncConnection) -> str | None:
    """The event's tz database name, if one is set."""
    row = (await conn.execute(sa.select(T_APP.c.timezone).where(T_APP.c.id == 1))).first()
    return None if row is None else row.timezone
