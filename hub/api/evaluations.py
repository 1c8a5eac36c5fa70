"""GET /api/v2/evaluations/responses: every session evaluation answer in the app."""

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
