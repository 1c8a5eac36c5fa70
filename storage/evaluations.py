"""Session evaluations: the form (the event's questions, or a session's own set), when a
session's evaluation opens, and the attendee's answers with their record's
``evaluation_complete``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.app import ensure_app_row
from storage.tables import (
    T_APP,
    T_EVALUATION_QUESTIONS,
    T_EVALUATIONS,
    T_PRESENTERS,
    T_RECORDS,
    T_SESSION_PRESENTERS,
    T_SESSIONS,
)


async def window(conn: AsyncConnection, session_id: str) -> Any:
    """The session's schedule and unlock settings with the event's (None: no session):
    date, end_time, evaluation_unlock_minutes, evaluation_requires_checkin,
    evaluation_unlocked_at, and app_timezone, app_unlock_minutes, app_requires_checkin."""
    s, a = T_SESSIONS.c, T_APP.c
    app = sa.select(a.timezone, a.evaluation_unlock_minutes, a.evaluation_requires_checkin
                    ).where(a.id == 1).subquery()
    query = (
        sa.select(s.date, s.end_time, s.evaluation_unlock_minutes,
                  s.evaluation_requires_checkin, s.evaluation_unlocked_at,
                  app.c.timezone.label("app_timezone"),
                  app.c.evaluation_unlock_minutes.label("app_unlock_minutes"),
                  app.c.evaluation_requires_checkin.label("app_requires_checkin"))
        .select_from(T_SESSIONS).outerjoin(app, sa.true())
        .where(s.id == session_id)
    )
    return (await conn.execute(query)).first()


async def unlock_now(conn: AsyncConnection, session_id: str, at: datetime | None) -> bool:
    """A moderator opens the evaluation (``at`` None: back to the schedule)."""
    result = await conn.execute(sa.update(T_SESSIONS).where(T_SESSIONS.c.id == session_id)
                                .values(evaluation_unlocked_at=at))
    return bool(result.rowcount)


async def form(conn: AsyncConnection, session_id: str | None) -> list[Any]:
    """The session's own questions (``session_id``), or the event's (None), in order."""
    q = T_EVALUATION_QUESTIONS.c
    where = q.session_id.is_(None) if session_id is None else q.session_id == session_id
    return list(await conn.execute(sa.select(T_EVALUATION_QUESTIONS).where(where)
                                   .order_by(q.position, q.id)))


async def replace_form(conn: AsyncConnection, session_id: str | None,
                       questions: Sequence[dict[str, Any]]) -> None:
    q = T_EVALUATION_QUESTIONS.c
    where = q.session_id.is_(None) if session_id is None else q.session_id == session_id
    await conn.execute(sa.delete(T_EVALUATION_QUESTIONS).where(where))
    if questions:
        await conn.execute(sa.insert(T_EVALUATION_QUESTIONS),
                           [{**v, "session_id": session_id, "position": i}
                            for i, v in enumerate(questions)])


async def presenters_of(conn: AsyncConnection, session_id: str) -> list[Any]:
    """(id, name) of the session's presenters, in the session's order."""
    p, sp = T_PRESENTERS.c, T_SESSION_PRESENTERS.c
    query = (sa.select(p.id, p.name).join(T_SESSION_PRESENTERS, sp.presenter_id == p.id)
             .where(sp.session_id == session_id).order_by(sp.position, p.id))
    return list(await conn.execute(query))


async def write_answers(conn: AsyncConnection, record_id: int,
                        answers: Sequence[dict[str, Any]]) -> None:
    """Store the answers and mark the record's evaluation complete."""
    if answers:
        await conn.execute(sa.insert(T_EVALUATIONS), list(answers))
    await conn.execute(sa.update(T_RECORDS).where(T_RECORDS.c.id == record_id)
                       .values(evaluation_complete=True))


async def app_settings(conn: AsyncConnection) -> Any:
    """The event's unlock settings (a row of nulls when the event is not set up yet)."""
    a = T_APP.c
    row = (await conn.execute(sa.select(a.evaluation_unlock_minutes,
                                        a.evaluation_requires_checkin).where(a.id == 1))).first()
    if row is None:
        row = (await conn.execute(sa.select(sa.null().label("evaluation_unlock_minutes"),
                                            sa.null().label("evaluation_requires_checkin"))
                                  )).first()
    return row


async def put_settings(conn: AsyncConnection, session_id: str | None, *,
                       unlock_minutes: int | None, requires_checkin: bool | None) -> None:
    values = {"evaluation_unlock_minutes": unlock_minutes,
              "evaluation_requires_checkin": requires_checkin}
    if session_id is None:
        await ensure_app_row(conn)
        await conn.execute(sa.update(T_APP).where(T_APP.c.id == 1).values(**values))
    else:
        await conn.execute(sa.update(T_SESSIONS).where(T_SESSIONS.c.id == session_id)
                           .values(**values))


async def is_complete(conn: AsyncConnection, session_id: str, attendee_id: int) -> bool:
    r = T_RECORDS.c
    row = (await conn.execute(sa.select(r.evaluation_complete).where(
        r.session_id == session_id, r.attendee_id == attendee_id))).first()
    return bool(row and row.evaluation_complete)
