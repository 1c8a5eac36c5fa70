"""/api/v2/attendees: upsert a list, list with search, read one with their schedule."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from hub.api.spec import operation
from hub.domain.schemas import CountData
from hub.envelope import ok
from hub.errors import Invalid
from hub.http import ascii_whole, read_json
from hub.services import attendees
from hub.state import caller

MAX_LIMIT = 1000


def _int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    value = ascii_whole(raw.strip())
    if value is None:
        raise Invalid(name, f"{raw!r} is not a whole number (ASCII digits 0-9)")
    if not lo <= value <= hi:
        raise Invalid(name, f"must be between {lo} and {hi}")
    return value


@operation("POST", "/attendees", summary="Create or update attendees", tag="Attendees",
           request=attendees.AttendeesBody, response=CountData,
           errors=(400, 401, 403, 409, 413, 422),
           links=(("get_attendees_external_id",
                   {"external_id": "$request.body#/0/external_id"}),),
           description="Matches by external_id, else by email (any case); null or omitted "
           "fields are left as they are. `sessions` registers the attendee for those session "
           "ids (adds, never removes). Answers with how many distinct attendees were written. "
           "Requests sent at once that bring the same new person (email or external_id) "
           "create one attendee.")
async def post_attendees(request: Request) -> Response:
    hub, _ = await caller(request)
    body = await read_json(request, attendees.AttendeesBody)
    return ok(CountData(count=await attendees.import_attendees(hub, body)))


@operation("GET", "/attendees", summary="List attendees", tag="Attendees",
           response=attendees.AttendeeList, errors=(401, 403, 422),
           query=(("limit", int, f"at most this many (default 100, max {MAX_LIMIT})"),
                  ("offset", int, "skip this many"),
                  ("q", str, "search names, email, external_id and badge_id (any case)")))
async def list_attendees(request: Request) -> Response:
    hub, _ = await caller(request)
    limit = _int_param(request, "limit", 100, 1, MAX_LIMIT)
    offset = _int_param(request, "offset", 0, 0, 10**9)
    q = request.query_params.get("q")
    return ok(await attendees.list_attendees(hub, q=q, limit=limit, offset=offset))


@operation("GET", "/attendees/{external_id}", summary="One attendee with their schedule",
           tag="Attendees", response=attendees.AttendeeDetail, errors=(401, 403, 404))
async def get_attendee(request: Request) -> Response:
    hub, _ = await caller(request)
    return ok(await attendees.get_attendee(hub, request.path_params["external_id"]))
