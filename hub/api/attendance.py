"""Attendance: the door (check-in, check-out, codewords), counts, records, removal, preload,
clear, and CE credit adjustments. Thin handlers; the work is in ``hub.door`` and
``hub.services``."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from hub import metrics
from hub.api.spec import operation
from hub.auth.principal import Principal, may_watch
from hub.auth.throttle import code_keys
from hub.domain.credit import CreditRule
from hub.domain.events import Counts
from hub.domain.records import CheckinRecordOut
from hub.domain.schemas import CountData
from hub.door.decide import DoorAnswer, DoorRequest
from hub.door.loading import counts
from hub.envelope import ok, ok_bytes
from hub.errors import Forbidden, HubError
from hub.http import read_any_json, read_json
from hub.services import attendance
from hub.state import Hub, caller, hub_of

DOOR_ERRORS = (400, 401, 403, 404, 409, 413, 422, 429, 503)
# The refusals that mean an attendee typed a wrong code: counted against their limit.
WRONG_CODES = frozenset({"code_invalid", "checkout_code_invalid"})
WRONG_CODEWORDS = frozenset({"codeword_invalid"})


async def watcher(request: Request) -> tuple[Hub, Principal, str]:
    hub = hub_of(request)
    principal = await hub.principal(request)
    session_id = request.path_params["session_id"]
    if not may_watch(principal, session_id):
        raise Forbidden("You may not see this session's attendance.")
    return hub, principal, session_id


_DOOR_DESCRIPTION = (
    "Name the attendee by one of external_id, badge_id or email. A refusal is the error "
    "envelope with HTTP 409 (404 for an unknown attendee or session), a plain-words message "
    "and a machine reason (GET /api/v2/reasons). A retry with the same idempotency_key gets "
    "the first successful answer again and changes nothing. An attendee signed in to the "
    "web client who sends 10 wrong codes for a session in 15 minutes (600 from one address) "
    "is answered 429 too_many_attempts with Retry-After, even with the right code, until "
    "the window passes."
)


@operation("POST", "/sessions/{session_id}/attendance/checkin", summary="Check an attendee in",
           tag="Attendance", request=DoorRequest, response=DoorAnswer,
           errors=DOOR_ERRORS, description=_DOOR_DESCRIPTION)
async def checkin(request: Request) -> Response:
    return await _door(request, "checkin")


@operation("POST", "/sessions/{session_id}/attendance/checkout",
           summary="Check an attendee out", tag="Attendance", request=DoorRequest,
           response=DoorAnswer, errors=DOOR_ERRORS, description=_DOOR_DESCRIPTION)
async def checkout(request: Request) -> Response:
    return await _door(request, "checkout")


async def _door(request: Request, action: str) -> Response:
    started = time.perf_counter()
    hub = hub_of(request)
    door = hub.door
    try:
        principal = await door.principal(request)
        body = await read_json(request, DoorRequest)
        session_id = request.path_params["session_id"]

        async def submit() -> bytes:
            return await door.submit(principal, session_id, action, body)

        attendee_id = _guessing(principal)
        if attendee_id is not None and (body.code or "").strip():
            keys = code_keys(_address(request), session_id, attendee_id, action)
            data = await hub.throttle.guess(keys, submit, WRONG_CODES, what="wrong codes")
        else:
            data = await submit()
    except HubError as exc:
        metrics.door_answered(action, exc.reason or f"http_{exc.http_status}", started)
        raise
    except Exception:
        metrics.door_answered(action, "internal", started)
        raise
    metrics.door_answered(action, "ok", started)
    return ok_bytes(data)


def _guessing(principal: Principal) -> int | None:
    """The attendee whose typed codes are limited: an attendee signed in to the web client.
    Staff, kiosks and API keys are trusted callers (they need no code, or may override)."""
    return principal.attendee_id if principal.kind == "attendee" else None


def _address(request: Request) -> str:
    """The client's address, as ``hub.http.ClientAddress`` settled it."""
    return request.client.host if request.client else "unknown"


@operation("GET", "/sessions/{session_id}/counts", summary="A session's live counts",
           tag="Attendance", response=Counts, errors=(401, 403, 404))
async def get_counts(request: Request) -> Response:
    hub, _, session_id = await watcher(request)
    return ok(await counts(hub.db, session_id))


@operation("GET", "/sessions/{session_id}/attendance",
           summary="Retrieve all attendance tracking data for a session", tag="Attendance",
           response=list[CheckinRecordOut], errors=(401, 403, 404),
           description="One record per attendee with a check-in record: checked in at least "
           "once, or preloaded (then with null check-in times). Times in the event's time zone.")
async def get_attendance(request: Request) -> Response:
    hub, _, session_id = await watcher(request)
    return ok(await attendance.list_records(hub, session_id))


@operation("DELETE", "/sessions/{session_id}/attendance",
           summary="Clear all check-ins for a session", tag="Attendance", response=CountData,
           errors=(401, 403, 404))
async def clear_attendance(request: Request) -> Response:
    hub, _ = await caller(request)
    n = await attendance.clear(hub, request.path_params["session_id"])
    return ok(CountData(count=n))


@operation("POST", "/sessions/{session_id}/attendance/remove",
           summary="Remove check-ins for a session", tag="Attendance",
           request=attendance.RemoveIn, response=attendance.RemoveOut,
           errors=(400, 401, 403, 404, 422),
           description="Exactly one filter: all (true), email or external_id (exact, any "
           "case). More than one is a 400 \"Too many possible filters\"; none is a 400 \"No "
           "valid filters were passed\" (the reference answers these with a 500). With "
           "preview: true nothing is removed.")
async def remove_attendance(request: Request) -> Response:
    hub, _ = await caller(request)
    body = await read_json(request, attendance.RemoveIn)
    return ok(await attendance.remove(hub, request.path_params["session_id"], body))


@operation("POST", "/sessions/{session_id}/attendance/preload",
           summary="Preload attendees to a session", tag="Attendance",
           request=attendance.PreloadBody, response=CountData,
           errors=(400, 401, 403, 404, 409, 413, 422),
           description="Upserts the attendees (by external_id, else email), registers them for "
           "the session and gives each a record with no check-in yet. Never removes anyone.")
async def preload_attendance(request: Request) -> Response:
    hub, _ = await caller(request)
    body = await read_json(request, attendance.PreloadBody)
    n = await attendance.preload(hub, request.path_params["session_id"], body)
    return ok(CountData(count=n))


@operation("POST", "/sessions/{session_id}/attendance/codeword", summary="Submit a codeword",
           tag="Attendance", request=attendance.CodewordIn, response=attendance.RecordAnswer,
           errors=(400, 401, 403, 404, 409, 422, 429),
           description="An attendee signed in to the web client who sends 10 wrong codewords "
           "for a session in 15 minutes (600 from one address) is answered 429 "
           "too_many_attempts with Retry-After until the window passes.")
async def post_codeword(request: Request) -> Response:
    hub = hub_of(request)
    principal = await hub.principal(request)
    body = await read_json(request, attendance.CodewordIn)
    session_id = request.path_params["session_id"]

    async def submit() -> attendance.RecordAnswer:
        return await attendance.submit_codeword(hub, principal, session_id, body)

    attendee_id = _guessing(principal)
    if attendee_id is None:
        return ok(await submit())
    keys = code_keys(_address(request), session_id, attendee_id, "codeword")
    return ok(await hub.throttle.guess(keys, submit, WRONG_CODEWORDS, what="wrong codewords"))


@operation("POST", "/sessions/{session_id}/attendance/credits",
           summary="Adjust an attendee's awarded credits", tag="Attendance",
           request=attendance.CreditAdjustIn, response=attendance.RecordAnswer,
           errors=(400, 401, 403, 404, 422),
           description="Sets the credits awarded for one field of study (by name) with a note; "
           "credits: null removes the adjustment. The record's credits shows the adjusted "
           "value; credits_earned keeps what the rule gives.")
async def adjust_credits(request: Request) -> Response:
    hub, principal = await caller(request)
    body = await read_json(request, attendance.CreditAdjustIn)
    return ok(await attendance.adjust_credit(hub, principal, request.path_params["session_id"],
                                             body))


@operation("GET", "/app/credit-rule", summary="The event's CE credit rule", tag="Attendance",
           response=attendance.CreditRules, errors=(401, 403))
async def get_app_rule(request: Request) -> Response:
    hub, _ = await caller(request)
    return ok(await attendance.get_credit_rules(hub, None))


@operation("PUT", "/app/credit-rule", summary="Set the event's CE credit rule",
           tag="Attendance", request=CreditRule, errors=(400, 401, 403, 422))
async def put_app_rule(request: Request) -> Response:
    hub, _ = await caller(request)
    await attendance.put_credit_rule(hub, None, await _rule_body(request))
    return ok(None)


@operation("GET", "/sessions/{session_id}/credit-rule",
           summary="A session's CE credit rule (its override, the event's, the result)",
           tag="Attendance", response=attendance.CreditRules, errors=(401, 403, 404))
async def get_session_rule(request: Request) -> Response:
    hub, _ = await caller(request)
    return ok(await attendance.get_credit_rules(hub, request.path_params["session_id"]))


@operation("PUT", "/sessions/{session_id}/credit-rule",
           summary="Override the CE credit rule for a session", tag="Attendance",
           request=CreditRule, errors=(400, 401, 403, 404, 422),
           description="The session's keys replace the event's; a key set to null switches "
           "that condition off for the session; a null body removes the override.")
async def put_session_rule(request: Request) -> Response:
    hub, _ = await caller(request)
    await attendance.put_credit_rule(hub, request.path_params["session_id"],
                                     await _rule_body(request))
    return ok(None)


async def _rule_body(request: Request) -> Any:
    return await read_any_json(request)
