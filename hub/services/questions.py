"""Q&A: attendees ask (3-500 characters, at most ``ASK_LIMIT`` questions a minute each) and
upvote others' questions once each; moderators approve (when the session asks for approval),
hide, star (one starred question at a time, shown on the presenter screen) and mark answered.
Ordered by votes, then time. Every change is announced to the session's live views after the
commit."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.auth.principal import Principal, may_administer, may_moderate, may_submit_codeword
from hub.domain.dates import now
from hub.domain.engagement import QuestionLive, question_text, visible_questions
from hub.door.loading import identifier_of, load_attendee
from hub.door.publish import engagement_changed_after_commit, engagement_work
from hub.errors import Forbidden, HubError, NotFound
from hub.realtime import store as live
from hub.state import Hub
from storage import engagement as rows
from storage import sessions as session_rows

Text = Annotated[str, msgspec.Meta(max_length=500)]
ASK_LIMIT = 3  # questions per attendee per ASK_WINDOW
ASK_WINDOW = dt.timedelta(minutes=1)


class QuestionLimit(HubError):
    http_status = 429
    reason = "question_limit"


class AskIn(msgspec.Struct, forbid_unknown_fields=True):
    question: Annotated[str, msgspec.Meta(max_length=2000)]
    external_id: Text | None = None
    email: Text | None = None
    badge_id: Text | None = None


class VoteIn(msgspec.Struct, forbid_unknown_fields=True):
    external_id: Text | None = None
    email: Text | None = None
    badge_id: Text | None = None


class Voted(msgspec.Struct):
    question_id: int
    upvotes: int
    counted: bool  # false: this attendee had already upvoted it


class ModerateIn(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields sent change. Starring one question unstars the session's others."""

    approved: bool | None = None
    hidden: bool | None = None
    starred: bool | None = None
    answered: bool | None = None


class QASettings(msgspec.Struct, forbid_unknown_fields=True):
    """``approval``: questions wait for a moderator before attendees see them (a session's
    null follows the event's)."""

    approval: bool | None = None


class QuestionList(msgspec.Struct):
    count: int
    questions: list[QuestionLive]


def _asker(principal: Principal, body: AskIn | VoteIn) -> tuple[int | None,
                                                                  tuple[str, str] | None]:
    if not may_submit_codeword(principal):
        raise Forbidden("Questions are asked by attendees (or for them by staff or an API key).")
    if principal.kind == "attendee":
        return principal.attendee_id, None
    return None, identifier_of(body)


async def _one(conn: AsyncConnection, session_id: str, question_id: int) -> QuestionLive:
    for q in await live.questions_live(conn, session_id):
        if q.id == question_id:
            return q
    raise NotFound(f"No question {question_id} in this session.")


async def list_questions(hub: Hub, principal: Principal, session_id: str) -> QuestionList:
    async with hub.read() as conn:
        if await session_rows.get_session(conn, session_id) is None:
            raise NotFound(f"No session with the id {session_id!r}.")
        questions = await live.questions_live(conn, session_id)
    if not may_moderate(principal, session_id) and principal.kind != "staff":
        questions = visible_questions(questions)
    return QuestionList(count=len(questions), questions=questions)


async def ask(hub: Hub, principal: Principal, session_id: str, body: AskIn) -> QuestionLive:
    text = question_text(body.question)
    attendee_id, ident = _asker(principal, body)

    async def work(conn: AsyncConnection) -> QuestionLive:
        approval = await rows.qa_approval(conn, session_id)
        if approval is None:
            raise NotFound(f"No session with the id {session_id!r}.")
        _, user = await load_attendee(conn, session_id, attendee_id=attendee_id, ident=ident)
        at = now()
        if await rows.questions_since(conn, user.id, at - ASK_WINDOW) >= ASK_LIMIT:
            raise QuestionLimit(f"At most {ASK_LIMIT} questions a minute; wait a moment.")
        qid = await rows.insert_question(conn, session_id=session_id, attendee_id=user.id,
                                         text=text, approved=not approval, at=at)
        return await _one(conn, session_id, qid)

    return await engagement_work(hub.db, hub.sink, session_id, "questions", work)


async def upvote(hub: Hub, principal: Principal, session_id: str, question_id: int,
                 body: VoteIn) -> Voted:
    """One upvote per attendee per question (a second one changes nothing)."""
    attendee_id, ident = _asker(principal, body)

    async def work(conn: AsyncConnection) -> Voted:
        q = await rows.get_question(conn, session_id, question_id)
        if q is None or not q.approved or q.hidden:
            raise NotFound(f"No question {question_id} in this session.")
        _, user = await load_attendee(conn, session_id, attendee_id=attendee_id, ident=ident)
        counted = await rows.vote(conn, question_id=question_id, attendee_id=user.id)
        after = await rows.get_question(conn, session_id, question_id)
        return Voted(question_id=question_id, upvotes=after.upvotes, counted=counted)

    out = await hub.db.run(work)
    if out.counted:
        await engagement_changed_after_commit(hub.sink, session_id, "questions")
    return out


async def moderate(hub: Hub, principal: Principal, session_id: str, question_id: int,
                   body: ModerateIn) -> QuestionLive:
    if not may_moderate(principal, session_id):
        raise Forbidden("Questions are moderated by the session's moderators.")

    async def work(conn: AsyncConnection) -> QuestionLive:
        if await rows.get_question(conn, session_id, question_id) is None:
            raise NotFound(f"No question {question_id} in this session.")
        values = {k: v for k, v in msgspec.structs.asdict(body).items() if v is not None}
        if body.starred:
            await rows.unstar_others(conn, session_id, question_id)
        if values:
            await rows.update_question(conn, question_id, values=values)
        return await _one(conn, session_id, question_id)

    return await engagement_work(hub.db, hub.sink, session_id, "questions", work)


async def put_settings(hub: Hub, principal: Principal, session_id: str | None,
                       body: QASettings) -> QASettings:
    if not may_administer(principal):
        raise Forbidden("Q&A settings are set by admins.")
    async with hub.tx() as conn:
        if not await rows.set_qa_approval(conn, session_id, body.approval):
            raise NotFound(f"No session with the id {session_id!r}.")
    return body
