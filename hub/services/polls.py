"""Polls: moderators create, edit, order, open, close, reveal and delete them; attendees
answer while a poll is open, one answer each (a second answer replaces the first). Every
change is one transaction, announced to the session's live views after the commit."""

from __future__ import annotations

from typing import Annotated

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.auth.principal import Principal, may_moderate, may_submit_codeword, may_watch
from hub.domain import engagement as rules
from hub.domain.dates import now
from hub.domain.engagement import PollLive
from hub.door.loading import identifier_of, load_attendee
from hub.door.publish import engagement_changed_after_commit, engagement_work
from hub.errors import Conflict, Forbidden, NotFound
from hub.realtime import store as live
from hub.state import Hub
from storage import engagement as rows
from storage.sessions import get_session

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Text = Annotated[str, msgspec.Meta(max_length=500)]
Rank = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]


class PollIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    type: str = "multiple_choice"
    choices: list[str] | None = None
    rank: Rank | None = None
    revealed: bool = False


class PollUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields sent change. ``type`` and ``choices`` only while nobody answered."""

    name: Name | None = None
    type: str | None = None
    choices: list[str] | None = None
    rank: Rank | None = None
    revealed: bool | None = None


class AnswerIn(msgspec.Struct, forbid_unknown_fields=True):
    """``response``: a choice (multiple_choice), a list of choices (multiple_select), 1-5
    (rating) or text (open_text). An attendee signed in answers for themself; an API key or
    staff names the attendee by external_id, email or badge_id."""

    response: str | list[str] | int
    external_id: Text | None = None
    email: Text | None = None
    badge_id: Text | None = None


class AnswerOut(msgspec.Struct):
    poll_id: str
    response: str


class PollList(msgspec.Struct):
    count: int
    polls: list[PollLive]


def _moderator(principal: Principal, session_id: str) -> None:
    if not may_moderate(principal, session_id):
        raise Forbidden("Polls are run by the session's moderators (the moderate permission).")


def _not_found(poll_id: str) -> NotFound:
    return NotFound(f"No poll with the id {poll_id!r} in this session.")


async def _session(conn: AsyncConnection, session_id: str) -> None:
    if await get_session(conn, session_id) is None:
        raise NotFound(f"No session with the id {session_id!r}.")


async def _one(conn: AsyncConnection, session_id: str, poll_id: str) -> PollLive:
    for poll in await live.polls_live(conn, session_id):
        if poll.id == poll_id:
            return poll
    raise _not_found(poll_id)


async def list_polls(hub: Hub, principal: Principal, session_id: str) -> PollList:
    """Moderators and watchers: every poll with results. Attendees: the open ones and those
    whose results were revealed (results only then)."""
    async with hub.read() as conn:
        await _session(conn, session_id)
        polls = await live.polls_live(conn, session_id)
    if principal.kind == "attendee":
        polls = rules.for_attendees(polls)
    elif not may_watch(principal, session_id):
        raise Forbidden("You may not read this session's polls.")
    return PollList(count=len(polls), polls=polls)


async def create_poll(hub: Hub, principal: Principal, session_id: str, body: PollIn) -> PollLive:
    _moderator(principal, session_id)
    choices = rules.poll_choices(body.type, body.choices)

    async def work(conn: AsyncConnection) -> PollLive:
        await _session(conn, session_id)
        pid = await rows.insert_poll(conn, session_id=session_id, values={
            "name": body.name.strip() or body.name, "type": body.type, "choices": choices,
            "rank": body.rank, "created": now(), "state": "draft",
            "revealed": body.revealed})
        return await _one(conn, session_id, pid)

    return await engagement_work(hub.db, hub.sink, session_id, "polls", work)


async def update_poll(hub: Hub, principal: Principal, session_id: str, poll_id: str,
                      body: PollUpdate) -> PollLive:
    _moderator(principal, session_id)

    async def work(conn: AsyncConnection) -> PollLive:
        poll = await rows.get_poll(conn, session_id, poll_id, lock=True)
        if poll is None:
            raise _not_found(poll_id)
        values: dict[str, object] = {}
        if body.name is not None:
            values["name"] = body.name
        if body.rank is not None:
            values["rank"] = body.rank
        if body.revealed is not None:
            values["revealed"] = body.revealed
        if body.type is not None or body.choices is not None:
            kind = body.type if body.type is not None else poll.type
            choices = rules.poll_choices(kind, body.choices if body.choices is not None
                                         else list(poll.choices or ()))
            if (kind != poll.type or choices != list(poll.choices or ())) and \
                    await rows.answer_count(conn, poll_id):
                raise Conflict("This poll has answers: its type and choices stay as they are.")
            values.update(type=kind, choices=choices)
        if values:
            await rows.update_poll(conn, poll_id, values=values)
        return await _one(conn, session_id, poll_id)

    return await engagement_work(hub.db, hub.sink, session_id, "polls", work)


async def set_state(hub: Hub, principal: Principal, session_id: str, poll_id: str,
                    state: str) -> PollLive:
    """Open (answers taken from now on) or close (answers refused; results kept) a poll."""
    _moderator(principal, session_id)
    if state not in rules.POLL_STATES:
        raise RuntimeError(f"unknown poll state {state!r}")

    async def work(conn: AsyncConnection) -> PollLive:
        poll = await rows.get_poll(conn, session_id, poll_id, lock=True)
        if poll is None:
            raise _not_found(poll_id)
        if poll.state != state:
            await rows.update_poll(conn, poll_id, values={"state": state})
        return await _one(conn, session_id, poll_id)

    return await engagement_work(hub.db, hub.sink, session_id, "polls", work)


async def delete_poll(hub: Hub, principal: Principal, session_id: str, poll_id: str) -> None:
    _moderator(principal, session_id)
    async with hub.tx() as conn:
        if not await rows.delete_poll(conn, session_id, poll_id):
            raise _not_found(poll_id)
    await engagement_changed_after_commit(hub.sink, session_id, "polls")


async def answer(hub: Hub, principal: Principal, session_id: str, poll_id: str,
                 body: AnswerIn) -> AnswerOut:
    """Store the attendee's answer (replacing their earlier one) while the poll is open;
    409 ``poll_closed`` otherwise. Acknowledged only once committed."""
    if not may_submit_codeword(principal):
        raise Forbidden("Polls are answered by the attendee, staff or an API key.")
    attendee_id = principal.attendee_id if principal.kind == "attendee" else None
    ident = None if attendee_id is not None else identifier_of(body)

    async def work(conn: AsyncConnection) -> AnswerOut:
        poll = await rows.get_poll(conn, session_id, poll_id)
        if poll is None:
            raise _not_found(poll_id)
        if poll.state != "open":
            raise Conflict("This poll is not open for answers.", reason="poll_closed")
        value = rules.poll_answer(poll.type, [str(c) for c in poll.choices or ()],
                                  body.response)
        _, user = await load_attendee(conn, session_id, attendee_id=attendee_id, ident=ident)
        if not await rows.answer(conn, poll_id=poll_id, attendee_id=user.id, choice=value,
                                 at=now()):
            raise Conflict("This poll is not open for answers.", reason="poll_closed")
        return AnswerOut(poll_id=poll_id, response=value)

    return await engagement_work(hub.db, hub.sink, session_id, "polls", work)

