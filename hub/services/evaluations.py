"""Session evaluations: the event's form and a session's own, when a session's evaluation
opens (N minutes before its scheduled end, at the end, or when a moderator unlocks it), and an
attendee's answers, which set their record's ``evaluation_complete`` in the same
transaction."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.auth.principal import Principal, may_administer, may_moderate, may_submit_codeword
from hub.domain.dates import iso, now
from hub.domain.engagement import is_open
from hub.door.loading import identifier_of, load_attendee, lock_record
from hub.door.publish import engagement_changed_after_commit
from hub.errors import CheckinRefused, Conflict, Forbidden, Invalid, NotFound
from hub.realtime import store as live
from hub.state import Hub
from storage import evaluations as rows
from storage import sessions as session_rows

Label = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Text = Annotated[str, msgspec.Meta(max_length=500)]
Minutes = Annotated[int, msgspec.Meta(ge=0, le=1440)]
RATING_LABELS = ["1 - Poor", "2 - Fair", "3 - Good", "4 - Very good", "5 - Great"]
MAX_FREE_TEXT = 2000


class QuestionIn(msgspec.Struct, forbid_unknown_fields=True):
    """``rating``: 1-5, shown with ``choices`` as its five labels (default "1 - Poor" ..
    "5 - Great"); ``multiple_choice``: one of ``choices``; ``text``: free text."""

    text: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    kind: Literal["rating", "multiple_choice", "text"] = "rating"
    choices: list[Label] | None = None
    required: bool = True
    per_presenter: bool = False


class FormIn(msgspec.Struct, forbid_unknown_fields=True):
    """The event's form (``PUT /evaluations/form``) or a session's own (``PUT
    /sessions/{id}/evaluation``: ``questions`` null keeps the event's form; the settings null
    follow the event's)."""

    questions: list[QuestionIn] | None = None
    unlock_minutes: Minutes | None = None
    requires_checkin: bool | None = None


class QuestionOut(msgspec.Struct):
    id: int
    text: str
    kind: str
    choices: list[str] | None
    required: bool
    per_presenter: bool


class FormOut(msgspec.Struct):
    questions: list[QuestionOut]
    unlock_minutes: int | None
    requires_checkin: bool | None


class Item(msgspec.Struct):
    """One thing to answer: a question, once per presenter when it is per presenter."""

    question_id: int
    text: str
    kind: str
    choices: list[str] | None
    required: bool
    presenter_id: str | None = None
    presenter: str | None = None


class EvaluationOut(msgspec.Struct):
    """A session's evaluation as its attendees see it: ``open`` now, ``opens_at`` (null:
    not scheduled and not unlocked), whether it needs a check-in, what to answer, and (for
    the attendee asking) whether they already submitted it."""

    session_id: str
    open: bool
    opens_at: str | None
    requires_checkin: bool
    items: list[Item]
    complete: bool | None = None


class AnswerIn(msgspec.Struct, forbid_unknown_fields=True):
    question_id: int
    response: str | int
    presenter_id: Text | None = None


class SubmitIn(msgspec.Struct, forbid_unknown_fields=True):
    """An attendee's answers; an API key or staff names the attendee by external_id, email
    or badge_id, the signed-in attendee answers for themself."""

    answers: list[AnswerIn]
    external_id: Text | None = None
    email: Text | None = None
    badge_id: Text | None = None


class Submitted(msgspec.Struct):
    session_id: str
    evaluation_complete: bool
    count: int


def _question(q: QuestionIn, i: int) -> dict[str, Any]:
    choices: list[str] | None = None
    if q.kind == "rating":
        choices = [c.strip() for c in q.choices] if q.choices else list(RATING_LABELS)
        if len(choices) != 5:
            raise Invalid(f"questions[{i}].choices", "a rating has five labels, 1 to 5")
    elif q.kind == "multiple_choice":
        choices = [c.strip() for c in q.choices or []]
        if len(choices) < 2 or len(set(choices)) != len(choices) or not all(choices):
            raise Invalid(f"questions[{i}].choices", "at least 2 different choices")
    return {"text": q.text.strip(), "kind": q.kind, "choices": choices,
            "required": q.required, "per_presenter": q.per_presenter}


def _form_out(questions: list[Any], minutes: int | None, checkin: bool | None) -> FormOut:
    return FormOut(questions=[QuestionOut(id=q.id, text=q.text, kind=q.kind,
                                          choices=list(q.choices) if q.choices else None,
                                          required=q.required, per_presenter=q.per_presenter)
                              for q in questions],
                   unlock_minutes=minutes, requires_checkin=checkin)


async def get_form(hub: Hub, session_id: str | None) -> FormOut:
    async with hub.read() as conn:
        if session_id is None:
            w = await rows.app_settings(conn)
            return _form_out(await rows.form(conn, None), w.evaluation_unlock_minutes,
                             w.evaluation_requires_checkin)
        w = await rows.window(conn, session_id)
        if w is None:
            raise NotFound(f"No session with the id {session_id!r}.")
        return _form_out(await rows.form(conn, session_id), w.evaluation_unlock_minutes,
                         w.evaluation_requires_checkin)


async def put_form(hub: Hub, principal: Principal, session_id: str | None,
                   body: FormIn) -> FormOut:
    """Replace the form and its settings (admins). For a session, ``questions`` null or []
    means the event's form."""
    if not may_administer(principal):
        raise Forbidden("Evaluation forms are set up by admins.")
    questions = [_question(q, i) for i, q in enumerate(body.questions or [])]

    async def work(conn: AsyncConnection) -> None:
        if session_id is not None and not await session_rows.lock_session(conn, session_id):
            raise NotFound(f"No session with the id {session_id!r}.")
        await rows.replace_form(conn, session_id, questions)
        await rows.put_settings(conn, session_id, unlock_minutes=body.unlock_minutes,
                                requires_checkin=body.requires_checkin)

    await hub.db.run(work)
    if session_id is not None:
        await engagement_changed_after_commit(hub.sink, session_id, "evaluation")
    return await get_form(hub, session_id)


async def _items(conn: AsyncConnection, session_id: str) -> list[Item]:
    questions = await rows.form(conn, session_id) or await rows.form(conn, None)
    presenters = await rows.presenters_of(conn, session_id)
    out: list[Item] = []
    for q in questions:
        choices = list(q.choices) if q.choices else None
        if q.per_presenter and presenters:
            out.extend(Item(question_id=q.id, text=q.text, kind=q.kind, choices=choices,
                            required=q.required, presenter_id=p.id, presenter=p.name)
                       for p in presenters)
        else:
            out.append(Item(question_id=q.id, text=q.text, kind=q.kind, choices=choices,
                            required=q.required))
    return out


async def _requires_checkin(conn: AsyncConnection, session_id: str) -> bool:
    w = await rows.window(conn, session_id)
    if w is None:
        raise NotFound(f"No session with the id {session_id!r}.")
    value = w.evaluation_requires_checkin
    return bool(value if value is not None else w.app_requires_checkin)


async def evaluation(hub: Hub, principal: Principal, session_id: str) -> EvaluationOut:
    async with hub.read() as conn:
        checkin = await _requires_checkin(conn, session_id)
        opens, tz = await live.evaluation_opens(conn, session_id)
        items = await _items(conn, session_id)
        complete = None
        if principal.kind == "attendee" and principal.attendee_id is not None:
            complete = await rows.is_complete(conn, session_id, principal.attendee_id)
    return EvaluationOut(session_id=session_id, open=is_open(now(), opens),
                         opens_at=iso(opens, tz), requires_checkin=checkin, items=items,
                         complete=complete)


async def unlock(hub: Hub, principal: Principal, session_id: str, *, locked: bool) -> None:
    """A moderator opens the evaluation now (or, ``locked``, returns it to its schedule)."""
    if not may_moderate(principal, session_id):
        raise Forbidden("Evaluations are unlocked by the session's moderators.")
    async with hub.tx() as conn:
        if not await rows.unlock_now(conn, session_id, None if locked else now()):
            raise NotFound(f"No session with the id {session_id!r}.")
    await engagement_changed_after_commit(hub.sink, session_id, "evaluation")


def _answer(item: Item, value: str | int, where: str) -> tuple[str, float | None]:
    """(response as shown, response_value) of one answer; raises Invalid."""
    choices = item.choices or []
    if item.kind == "rating":
        n: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            n = value
        elif isinstance(value, str):
            text = value.strip()
            if text in choices:
                n = choices.index(text) + 1
            elif text.isascii() and text.isdigit() and len(text) <= 3:
                n = int(text)  # ASCII only: "²" is a digit to isdigit() and not to int()
        if n is None or not 1 <= n <= 5:
            raise Invalid(where, "a rating from 1 to 5")
        return choices[n - 1], float(n)
    if not isinstance(value, str) or not value.strip():
        raise Invalid(where, "an answer as text")
    text = value.strip()
    if item.kind == "multiple_choice" and text not in choices:
        raise Invalid(where, "one of the question's choices")
    if len(text) > MAX_FREE_TEXT:
        raise Invalid(where, f"at most {MAX_FREE_TEXT} characters")
    return text, None


async def submit(hub: Hub, principal: Principal, session_id: str, body: SubmitIn) -> Submitted:
    """Store the attendee's answers and set their record's ``evaluation_complete`` in one
    transaction. Refused (nothing written) before it opens (409 ``evaluation_locked``), a
    second time (409 ``evaluation_done``), without the check-in it may require (409
    ``not_checked_in``), or with a required answer missing (422)."""
    if not may_submit_codeword(principal):
        raise Forbidden("Evaluations are submitted by the attendee, staff or an API key.")
    attendee_id = principal.attendee_id if principal.kind == "attendee" else None
    ident = None if attendee_id is not None else identifier_of(body)

    async def work(conn: AsyncConnection) -> Submitted:
        checkin = await _requires_checkin(conn, session_id)
        opens, _ = await live.evaluation_opens(conn, session_id)
        if not is_open(now(), opens):
            raise Conflict("This session's evaluation is not open yet.",
                           reason="evaluation_locked")
        _, user = await load_attendee(conn, session_id, attendee_id=attendee_id, ident=ident)
        state = await lock_record(conn, session_id, user.id)
        if state.evaluation_complete:
            raise Conflict("This evaluation was already submitted.", reason="evaluation_done")
        if checkin and state.checkin_time_actual is None:
            raise CheckinRefused("not_checked_in",
                                 "This session's evaluation is for attendees who checked in.")
        items = {(i.question_id, i.presenter_id): i for i in await _items(conn, session_id)}
        at = now()
        answers: dict[tuple[int, str | None], dict[str, Any]] = {}
        for n, a in enumerate(body.answers):
            key = (a.question_id, a.presenter_id)
            item = items.get(key)
            if item is None:
                raise Invalid(f"answers[{n}].question_id",
                              "not a question of this session's evaluation (for that "
                              "presenter)")
            response, value = _answer(item, a.response, f"answers[{n}].response")
            answers[key] = {"session_id": session_id, "attendee_id": user.id,
                            "presenter_id": a.presenter_id, "question": item.text,
                            "response": response, "response_value": value, "timestamp": at}
        missing = [i for k, i in items.items() if i.required and k not in answers]
        if missing:
            who = f" ({missing[0].presenter})" if missing[0].presenter else ""
            raise Invalid("answers", f"{missing[0].text!r}{who} needs an answer")
        await rows.write_answers(conn, state.id, list(answers.values()))
        return Submitted(session_id=session_id, evaluation_complete=True, count=len(answers))

    return await hub.db.run(work)
