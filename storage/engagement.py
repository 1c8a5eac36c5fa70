"""Polls, poll answers, questions and question votes: the writes of live engagement and the
reads the live frames are built from. Races are settled by the database: one answer per
attendee per poll (``uq_poll_answer_once``, answered by an upsert), one vote per attendee per
question (the votes' primary key)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.app import ensure_app_row, random_id
from storage.records import dialect_insert
from storage.tables import (
    T_APP,
    T_POLL_RESPONSES,
    T_POLLS,
    T_QUESTION_VOTES,
    T_QUESTIONS,
    T_SESSIONS,
)

POLL_ID_LENGTH = 10

# --- polls ---------------------------------------------------------------------------------


async def insert_poll(conn: AsyncConnection, *, session_id: str, values: dict[str, Any]) -> str:
    pid = random_id(POLL_ID_LENGTH)
    await conn.execute(sa.insert(T_POLLS).values(id=pid, session_id=session_id, **values))
    return pid


async def get_poll(conn: AsyncConnection, session_id: str, poll_id: str, *,
                   lock: bool = False) -> Any:
    p = T_POLLS.c
    query = sa.select(T_POLLS).where(p.id == poll_id, p.session_id == session_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return (await conn.execute(query)).first()


async def update_poll(conn: AsyncConnection, poll_id: str, *, values: dict[str, Any]) -> None:
    await conn.execute(sa.update(T_POLLS).where(T_POLLS.c.id == poll_id).values(**values))


async def delete_poll(conn: AsyncConnection, session_id: str, poll_id: str) -> bool:
    p = T_POLLS.c
    result = await conn.execute(
        sa.delete(T_POLLS).where(p.id == poll_id, p.session_id == session_id))
    return bool(result.rowcount)


async def answer_count(conn: AsyncConnection, poll_id: str) -> int:
    r = T_POLL_RESPONSES.c
    query = sa.select(sa.func.count()).select_from(T_POLL_RESPONSES).where(r.poll_id == poll_id)
    return int((await conn.execute(query)).scalar_one())


async def answer(conn: AsyncConnection, *, poll_id: str, attendee_id: int, choice: str,
                 at: datetime) -> bool:
    """Store the attendee's answer, replacing their earlier one, in one statement, only
    while the poll is open. False: the poll is not open (nothing written)."""
    r, p = T_POLL_RESPONSES.c, T_POLLS.c
    open_poll = sa.select(sa.literal(poll_id), sa.literal(attendee_id), sa.literal(choice),
                          sa.literal(at, sa.DateTime(timezone=True))).where(
        sa.exists().where(p.id == poll_id, p.state == "open"))
    ins = dialect_insert(conn, T_POLL_RESPONSES).from_select(
        [r.poll_id, r.attendee_id, r.choice, r.created], open_poll)
    stmt = ins.on_conflict_do_update(index_elements=["poll_id", "attendee_id"],
                                     set_={"choice": ins.excluded.choice}).returning(r.id)
    # RETURNING, not rowcount: psycopg reports -1 for an upsert that wrote nothing.
    return (await conn.execute(stmt)).first() is not None


async def my_answers(conn: AsyncConnection, session_id: str, attendee_id: int) -> list[Any]:
    """(poll_id, choice) of every answer the attendee gave in the session."""
    r, p = T_POLL_RESPONSES.c, T_POLLS.c
    query = (sa.select(r.poll_id, r.choice).join(T_POLLS, p.id == r.poll_id)
             .where(p.session_id == session_id, r.attendee_id == attendee_id))
    return list(await conn.execute(query))


async def grouped_answers(conn: AsyncConnection, session_id: str) -> list[Any]:
    """(poll_id, choice, n) for every poll of the session that is not open_text."""
    r, p = T_POLL_RESPONSES.c, T_POLLS.c
    query = (sa.select(r.poll_id, r.choice, sa.func.count().label("n"))
             .join(T_POLLS, p.id == r.poll_id)
             .where(p.session_id == session_id, p.type != "open_text")
             .group_by(r.poll_id, r.choice))
    return list(await conn.execute(query))


async def text_answers(conn: AsyncConnection, session_id: str, *, limit: int) -> list[Any]:
    """(poll_id, choice, n) for the open_text polls: the count of each poll (choice null),
    and the newest ``limit`` texts of each, newest first (n null)."""
    r, p = T_POLL_RESPONSES.c, T_POLLS.c
    polls = (await conn.execute(sa.select(p.id).where(
        p.session_id == session_id, p.type == "open_text"))).scalars().all()
    out: list[Any] = []
    for pid in polls:
        n = (await conn.execute(sa.select(sa.func.count()).select_from(T_POLL_RESPONSES)
                                .where(r.poll_id == pid))).scalar_one()
        texts = (await conn.execute(sa.select(r.choice).where(r.poll_id == pid)
                                    .order_by(r.created.desc(), r.id.desc())
                                    .limit(limit))).scalars().all()
        out.append((pid, int(n), list(texts)))
    return out


# --- questions -----------------------------------------------------------------------------


async def qa_approval(conn: AsyncConnection, session_id: str) -> bool | None:
    """The session's own approval setting, else the event's (None: no such session)."""
    s, a = T_SESSIONS.c, T_APP.c
    row = (await conn.execute(
        sa.select(s.qa_approval, sa.select(a.qa_approval).where(a.id == 1)
                  .scalar_subquery().label("app")).where(s.id == session_id))).first()
    if row is None:
        return None
    value = row.qa_approval if row.qa_approval is not None else row.app
    return bool(value)


async def insert_question(conn: AsyncConnection, *, session_id: str, attendee_id: int | None,
                          text: str, approved: bool, at: datetime) -> int:
    result = await conn.execute(sa.insert(T_QUESTIONS).values(
        session_id=session_id, attendee_id=attendee_id, text=text, approved=approved,
        created=at, upvotes=0, answered=False, hidden=False, starred=False))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


async def questions_since(conn: AsyncConnection, attendee_id: int, since: datetime) -> int:
    q = T_QUESTIONS.c
    query = sa.select(sa.func.count()).select_from(T_QUESTIONS).where(
        q.attendee_id == attendee_id, q.created >= since)
    return int((await conn.execute(query)).scalar_one())


async def get_question(conn: AsyncConnection, session_id: str, question_id: int) -> Any:
    q = T_QUESTIONS.c
    return (await conn.execute(sa.select(T_QUESTIONS).where(
        q.id == question_id, q.session_id == session_id))).first()


async def update_question(conn: AsyncConnection, question_id: int, *,
                          values: dict[str, Any]) -> None:
    await conn.execute(sa.update(T_QUESTIONS).where(T_QUESTIONS.c.id == question_id)
                       .values(**values))


async def unstar_others(conn: AsyncConnection, session_id: str, question_id: int) -> None:
    q = T_QUESTIONS.c
    await conn.execute(sa.update(T_QUESTIONS).where(
        q.session_id == session_id, q.id != question_id, q.starred.is_(True)).values(
        starred=False))


async def vote(conn: AsyncConnection, *, question_id: int, attendee_id: int) -> bool:
    """Count the attendee's upvote once: False when they had already voted."""
    ins = dialect_insert(conn, T_QUESTION_VOTES).values(
        question_id=question_id, attendee_id=attendee_id).on_conflict_do_nothing(
        index_elements=["question_id", "attendee_id"]).returning(T_QUESTION_VOTES.c.question_id)
    if (await conn.execute(ins)).first() is None:
        return False
    q = T_QUESTIONS.c
    await conn.execute(sa.update(T_QUESTIONS).where(q.id == question_id)
                       .values(upvotes=q.upvotes + 1))
    return True


async def live_questions(conn: AsyncConnection, session_id: str) -> list[Any]:
    """Every question of the session, most votes first, then oldest first."""
    q = T_QUESTIONS.c
    query = (sa.select(q.id, q.text, q.upvotes, q.answered, q.approved, q.hidden, q.starred,
                       q.created)
             .where(q.session_id == session_id)
             .order_by(q.upvotes.desc(), q.created, q.id))
    return list(await conn.execute(query))


async def set_qa_approval(conn: AsyncConnection, session_id: str | None,
                          approval: bool | None) -> bool:
    """The session's (or, ``session_id`` None, the event's) approval setting."""
    if session_id is None:
        await ensure_app_row(conn)
        await conn.execute(sa.update(T_APP).where(T_APP.c.id == 1).values(qa_approval=approval))
        return True
    result = await conn.execute(sa.update(T_SESSIONS).where(T_SESSIONS.c.id == session_id)
                                .values(qa_approval=approval))
    return bool(result.rowcount)
