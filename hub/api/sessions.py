"""/api/v2/sessions: list, create, read, update and delete sessions; their poll and Q&A data.

Thin handlers: ``hub.services.sessions`` validates a whole body before anything is written, and each
write is one transaction, so a refused request leaves no trace. Attendance endpoints under
/sessions/{id}/attendance live in ``hub.api.attendance``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from hub.api.spec import operation
from hub.domain.dates import fmt_date, fmt_time, iso, zone
from hub.domain.schemas import (
    FieldOfStudyOut,
    PollData,
    PollResponseOut,
    PresenterOut,
    QuestionOut,
    SessionCreated,
    SessionCreateIn,
    SessionIn,
    SessionListData,
    SessionOut,
    SessionQAData,
)
from hub.door.publish import session_changed_after_commit
from hub.envelope import ok
from hub.errors import NotFound
from hub.http import read_json
from hub.services.sessions import create_session, session_changes, update_session
from hub.state import caller
from storage import feedback
from storage.presenters import presenters_of
from storage.sessions import FieldView, delete_session, fields_of_study, get_session, list_sessions

_SESSION_DOC = (
    "Only `name` is required. Dates as \"2019-01-24\" or \"January 23, 2023\"; times as "
    "\"20:00\", \"8pm\" or \"8:00PM\" (local event time); returned as YYYY-MM-DD and HH:MM:SS. "
    "null or omitted leaves a field as it is; \"\" unsets it. Rollcall's own fields: capacity, "
    "registrants_only, registration_levels, ce_minutes, rank, hidden, credit_url (https)."
)


def not_found(sid: str) -> NotFound:
    return NotFound(f"No session with the id {sid!r}.")


def session_out(
    row: Any, url: str, presenters: Sequence[Any], fields: Sequence[FieldView]
) -> SessionOut:
    return SessionOut(
        id=row.id,
        external_id=row.external_id,
        name=row.name,
        location=row.location,
        description=row.description,
        date=fmt_date(row.date),
        start_time=fmt_time(row.start_time),
        end_time=fmt_time(row.end_time),
        access_code=row.access_code,
        moderator_password=row.moderator_password,
        checkin_code=row.checkin_code,
        checkin_required=row.checkin_required,
        checkout_code=row.checkout_code,
        checkout_required=row.checkout_required,
        delivery_format=row.delivery_format,
        url=url,
        presenters=[PresenterOut(id=p.id, external_id=p.external_id, name=p.name)
                    for p in presenters] or None,
        fields_of_study=[FieldOfStudyOut(name=f.name, credits=f.credits, codewords=f.codewords)
                         for f in fields] or None,
        learning_objectives=row.learning_objectives or None,
        capacity=row.capacity,
        registrants_only=row.registrants_only,
        registration_levels=row.registration_levels or None,
        ce_minutes=row.ce_minutes,
        rank=row.rank,
        hidden=row.hidden,
        credit_url=row.credit_url,
        self_registration=row.self_registration,
    )


@operation("GET", "/sessions", summary="Retrieve a list of sessions", tag="Sessions",
           response=SessionListData, errors=(401,),
           description="Every session, by date, then start time, then higher rank first.")
async def list_all(request: Request) -> Response:
    hub, _ = await caller(request)
    async with hub.read() as conn:
        rows = await list_sessions(conn)
        presenters = await presenters_of(conn)
        fields = await fields_of_study(conn)
    data = [
        session_out(r, hub.url(f"/sessions/{r.id}"), presenters.get(r.id, ()),
                    fields.get(r.id, ()))
        for r in rows
    ]
    return ok(SessionListData(count=len(data), data=data))


# What a client may do next with a new session's id (the OpenAPI document's links).
_NEW_SESSION = {"session_id": "$response.body#/data/id"}
_SESSION_LINKS = tuple((f"{verb}_sessions_session_id{rest}", _NEW_SESSION) for verb, rest in (
    ("get", ""), ("put", ""), ("delete", ""), ("get", "_data"), ("get", "_counts"),
    ("get", "_attendance"), ("delete", "_attendance"), ("post", "_attendance_checkin"),
    ("post", "_attendance_checkout"), ("post", "_attendance_remove"),
    ("post", "_attendance_preload"), ("post", "_attendance_codeword"),
    ("post", "_attendance_credits"), ("get", "_credit-rule"), ("put", "_credit-rule")))


@operation("POST", "/sessions", summary="Create a session", tag="Sessions",
           request=SessionCreateIn, response=SessionCreated, status=201,
           errors=(400, 401, 413, 415, 422), description=_SESSION_DOC, links=_SESSION_LINKS)
async def create(request: Request) -> Response:
    hub, _ = await caller(request)
    changes = session_changes(await read_json(request, SessionCreateIn), creating=True)
    async with hub.tx() as conn:
        sid = await create_session(conn, changes)
    await session_changed_after_commit(hub.sink, sid)
    return ok(SessionCreated(object="session", id=sid, url=hub.url(f"/sessions/{sid}")),
              status=201)


@operation("GET", "/sessions/{session_id}", summary="Retrieve a session", tag="Sessions",
           response=SessionOut, errors=(401, 404))
async def read(request: Request) -> Response:
    hub, _ = await caller(request)
    sid = request.path_params["session_id"]
    async with hub.read() as conn:
        row = await get_session(conn, sid)
        if row is None:
            raise not_found(sid)
        presenters = await presenters_of(conn, [sid])
        fields = await fields_of_study(conn, [sid])
    return ok(session_out(row, hub.url(f"/sessions/{sid}"), presenters.get(sid, ()),
                          fields.get(sid, ())))


@operation("PUT", "/sessions/{session_id}", summary="Update a session", tag="Sessions",
           request=SessionIn, errors=(400, 401, 404, 413, 415, 422), description=_SESSION_DOC)
async def update(request: Request) -> Response:
    hub, _ = await caller(request)
    sid = request.path_params["session_id"]
    changes = session_changes(await read_json(request, SessionIn), creating=False)
    async with hub.tx() as conn:
        if not await update_session(conn, sid, changes):
            raise not_found(sid)
    await session_changed_after_commit(hub.sink, sid)
    return ok(None)


@operation("DELETE", "/sessions/{session_id}", summary="Delete a session", tag="Sessions",
           status=204, no_body=True, errors=(401, 404),
           description="Deletes the session with its attendance, polls, questions and "
                       "evaluations. Answers 204 with no body.")
async def delete(request: Request) -> Response:
    hub, _ = await caller(request)
    sid = request.path_params["session_id"]
    async with hub.tx() as conn:
        if not await delete_session(conn, sid):
            raise not_found(sid)
    await session_changed_after_commit(hub.sink, sid)
    return Response(status_code=204)


@operation("GET", "/sessions/{session_id}/data",
           summary="Retrieve session polling and Q&A data", tag="Sessions",
           response=SessionQAData, errors=(401, 404),
           description="Polls keyed by poll id (responses null until someone answers) and "
                       "submitted questions. Read-only; not a real-time feed.")
async def qa_data(request: Request) -> Response:
    hub, _ = await caller(request)
    sid = request.path_params["session_id"]
    async with hub.read() as conn:
        if await get_session(conn, sid) is None:
            raise not_found(sid)
        tz = zone(await feedback.app_timezone(conn))
        polls = await feedback.polls_of(conn, sid)
        answers = await feedback.poll_responses_of(conn, sid)
        questions = await feedback.questions_of(conn, sid)
    by_poll: dict[str, list[PollResponseOut]] = {}
    for a in answers:
        by_poll.setdefault(a.poll_id, []).append(PollResponseOut(
            id=str(a.id), response=a.choice, user_id=_str_or_none(a.attendee_id),
            external_id=a.external_id, created=iso(a.created, tz) or "",
        ))
    data = SessionQAData(
        polls={
            p.id: PollData(created=iso(p.created, tz), name=p.name, rank=p.rank, type=p.type,
                           choices=[str(c) for c in p.choices or ()],
                           responses=by_poll.get(p.id))
            for p in polls
        },
        questions=[
            QuestionOut(id=str(q.id), question=q.text, upvotes=q.upvotes,
                        answered=bool(q.answered), user_id=_str_or_none(q.attendee_id),
                        external_id=q.external_id, created=iso(q.created, tz) or "")
            for q in questions
        ],
    )
    return ok(data)


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
