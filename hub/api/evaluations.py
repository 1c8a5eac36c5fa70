"""Session evaluations: the event's form and a session's own, a session's evaluation as its
attendees see it, unlocking it, submitting answers, and GET /evaluations/responses (every
answer in the app, in the reference's shape)."""

from __future__ import annotations

from email.utils import format_datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response

from hub.api.spec import operation
from hub.domain.dates import as_utc, zone
from hub.domain.schemas import (
    EvaluationResponse,
    EvaluationResponseListData,
    EvaluationSession,
    EvaluationUser,
    PresenterOut,
)
from hub.envelope import ok
from hub.http import read_json
from hub.services import evaluations
from hub.state import caller
from storage import feedback


def rfc2822(value: Any, tz: ZoneInfo | None) -> str:
    """'Tue, 21 Jan 2018 11:47:08 -0500', in the event's zone (UTC when it has none)."""
    utc = as_utc(value)
    assert utc is not None
    return format_datetime(utc.astimezone(tz) if tz is not None else utc)


def number(value: float | None) -> int | float | None:
    """5.0 is shown as 5, as the reference does; 4.5 stays 4.5."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else float(value)


def evaluation_out(row: Any, tz: ZoneInfo | None) -> EvaluationResponse:
    presenter = None
    if row.presenter_id is not None:
        presenter = PresenterOut(id=row.presenter_id, external_id=row.presenter_external_id,
                                 name=row.presenter_name)
    return EvaluationResponse(
        session=EvaluationSession(name=row.session_name, external_id=row.session_external_id),
        user=EvaluationUser(
            id=str(row.user_id), external_id=row.user_external_id,
            first_name=row.first_name, last_name=row.last_name,
            field_1=row.field_1, field_2=row.field_2, field_3=row.field_3,
            field_4=row.field_4, field_5=row.field_5,
        ),
        presenter=presenter,
        question=row.question,
        response=row.response,
        response_value=number(row.response_value),
        timestamp=rfc2822(row.timestamp, tz),
    )


@operation("GET", "/evaluations/responses", summary="Retrieve all evaluation response data",
           tag="Session Evaluations", response=EvaluationResponseListData, errors=(401,),
           description="One record per question/response pair, oldest first, with its session, "
                       "attendee and (optionally) presenter. Timestamps as RFC 2822 in the "
                       "event's time zone.")
async def list_responses(request: Request) -> Response:
    hub, _ = await caller(request)
    async with hub.read() as conn:
        tz = zone(await feedback.app_timezone(conn))
        rows = await feedback.evaluation_responses(conn)
    out = [evaluation_out(r, tz) for r in rows]
    return ok(EvaluationResponseListData(count=len(out), responses=out))


_FORM_DOC = ("Questions: rating (1-5, with five labels, by default \"1 - Poor\" .. \"5 - "
             "Great\"), multiple_choice (choices) or text; required or optional; per_presenter "
             "asks once for each of the session's presenters. unlock_minutes: the evaluation "
             "opens this many minutes before the session's scheduled end (0: at the end; null: "
             "10); requires_checkin: only attendees who checked in may submit.")


@operation("GET", "/evaluations/form", summary="The event's evaluation form",
           tag="Session Evaluations", response=evaluations.FormOut, errors=(401, 403))
async def get_form(request: Request) -> Response:
    hub, _ = await caller(request)
    return ok(await evaluations.get_form(hub, None))


@operation("PUT", "/evaluations/form", summary="Set the event's evaluation form",
           tag="Session Evaluations", request=evaluations.FormIn, response=evaluations.FormOut,
           errors=(400, 401, 403, 422), description=_FORM_DOC)
async def put_form(request: Request) -> Response:
    hub, principal = await caller(request)
    body = await read_json(request, evaluations.FormIn)
    return ok(await evaluations.put_form(hub, principal, None, body))


@operation("GET", "/sessions/{session_id}/evaluation/form",
           summary="A session's own evaluation form and settings", tag="Session Evaluations",
           response=evaluations.FormOut, errors=(401, 403, 404),
           description="Empty questions: the session uses the event's form; null settings: "
                       "the event's.")
async def get_session_form(request: Request) -> Response:
    hub, _ = await caller(request)
    return ok(await evaluations.get_form(hub, request.path_params["session_id"]))


@operation("PUT", "/sessions/{session_id}/evaluation/form",
           summary="Override the evaluation form and settings for one session",
           tag="Session Evaluations", request=evaluations.FormIn,
           response=evaluations.FormOut, errors=(400, 401, 403, 404, 422),
           description=_FORM_DOC + " questions null or []: the event's form.")
async def put_session_form(request: Request) -> Response:
    hub, principal = await caller(request)
    body = await read_json(request, evaluations.FormIn)
    return ok(await evaluations.put_form(hub, principal, request.path_params["session_id"],
                                         body))


@operation("GET", "/sessions/{session_id}/evaluation", summary="A session's evaluation",
           tag="Session Evaluations", response=evaluations.EvaluationOut,
           errors=(401, 404),
           description="Whether it is open, when it opens, what to answer (per-presenter "
                       "questions once per presenter) and, for the signed-in attendee, "
                       "whether they already submitted it.")
async def get_evaluation(request: Request) -> Response:
    hub, principal = await caller(request, None)
    return ok(await evaluations.evaluation(hub, principal, request.path_params["session_id"]))


@operation("POST", "/sessions/{session_id}/evaluation/unlock",
           summary="Open a session's evaluation now", tag="Session Evaluations",
           errors=(401, 403, 404),
           description="Moderators (API keys, staff with moderate). Attendees' pages open it "
                       "at once (an `evaluation` frame, docs/realtime.md).")
async def unlock(request: Request) -> Response:
    hub, principal = await caller(request, None)
    await evaluations.unlock(hub, principal, request.path_params["session_id"], locked=False)
    return ok(None)


@operation("POST", "/sessions/{session_id}/evaluation/responses",
           summary="Submit an attendee's evaluation", tag="Session Evaluations",
           request=evaluations.SubmitIn, response=evaluations.Submitted,
           errors=(400, 401, 403, 404, 409, 422),
           description="All answers at once; sets the record's evaluation_complete. Refused "
                       "before it opens (409 evaluation_locked), a second time (409 "
                       "evaluation_done), without a required check-in (409 not_checked_in) or "
                       "with a required answer missing (422). A rating answer is 1-5 or its "
                       "label; it is stored as response \"5 - Great\", response_value 5.")
async def submit(request: Request) -> Response:
    hub, principal = await caller(request, None)
    body = await read_json(request, evaluations.SubmitIn)
    return ok(await evaluations.submit(hub, principal, request.path_params["session_id"], body))
