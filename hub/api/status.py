"""The attendee's session status, claimed credit, self-registration and self-reports. Thin
handlers; the work is in ``hub.services.ce``."""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated
from urllib.parse import quote

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from hub.api.spec import operation
from hub.auth.principal import may_administer
from hub.domain.dates import iso
from hub.domain.status import SessionStatus
from hub.envelope import ok
from hub.errors import Forbidden, Invalid
from hub.http import read_json
from hub.services import ce
from hub.state import caller, hub_of

LINK_MAX_MINUTES = 24 * 60

_STATUS = (
    "The attendee's status in the session: state (not_registered, registered, checked_in, "
    "checked_out, credit_available, credit_claimed), the event's message for it (at most 35 "
    "characters), and an action (register, claim_credit) with its https URL, or nulls."
)


@operation("GET", "/sessions/{session_id}/status", summary="An attendee's status in a session",
           tag="Status", response=SessionStatus, errors=(401, 403, 404, 422),
           query=(("external_id", str, "the attendee (not needed when the attendee asks)"),
                  ("token", str, "a sign-in link's token instead of an API key")),
           description=_STATUS + " An API key or an admin names the attendee by external_id; "
           "a signed-in attendee asks for themself; a host app may send the token of a link "
           "from POST /attendees/{external_id}/link instead of an API key (401 link_invalid "
           "or link_expired).")
async def get_status(request: Request) -> Response:
    hub = hub_of(request)
    sid = request.path_params["session_id"]
    token = request.query_params.get("token")
    if token is not None:  # a host app's sign-in link stands in for an API key
        return ok(await ce.status(hub, sid, hub.signer.read_link(token, time.time())))
    principal = await hub.principal(request)
    if principal.kind == "attendee" and principal.attendee_id is not None:
        return ok(await ce.status(hub, sid, principal.attendee_id))
    if not may_administer(principal):
        raise Forbidden("An attendee's status is read by the attendee, an admin or an API key.")
    external_id = (request.query_params.get("external_id") or "").strip()
    if not external_id:
        raise Invalid("external_id", "name the attendee")
    aid = await ce.attendee_by_external_id(hub, external_id)
    return ok(await ce.status(hub, sid, aid))


class LinkIn(msgspec.Struct):
    minutes: Annotated[int, msgspec.Meta(ge=1, le=LINK_MAX_MINUTES)] = 15
    session_id: Annotated[str, msgspec.Meta(max_length=16)] | None = None


class LinkOut(msgspec.Struct):
    url: str
    token: str
    expires_at: str


@operation("POST", "/attendees/{external_id}/link",
           summary="A signed, expiring link that signs the attendee into the web client",
           tag="Status", request=LinkIn, response=LinkOut, errors=(400, 401, 403, 404, 422),
           description="For a host app that signs its users in itself: open `url` in the "
           "app's browser and the attendee is signed in (to the session's page with "
           "session_id, else the schedule). The link works until expires_at (minutes, default "
           f"15, at most {LINK_MAX_MINUTES}); `token` may also be sent to GET "
           "/sessions/{id}/status?token= instead of an API key. Admins and API keys only.")
async def post_link(request: Request) -> Response:
    hub, _ = await caller(request)
    body = await read_json(request, LinkIn)
    aid = await ce.attendee_by_external_id(hub, request.path_params["external_id"])
    expires = int(time.time()) + body.minutes * 60
    token = hub.signer.link_token(aid, expires)
    url = hub.url(f"/link/{token}")
    if body.session_id:
        url += "?next=" + quote(f"/sessions/{body.session_id}", safe="")
    return ok(LinkOut(url=url, token=token,
                      expires_at=iso(dt.datetime.fromtimestamp(expires, dt.UTC)) or ""))


@operation("POST", "/sessions/{session_id}/attendance/claimed",
           summary="Mark an attendee's CE credit as claimed", tag="Status",
           request=ce.Named, response=SessionStatus, errors=(400, 401, 403, 404, 409, 422),
           description="Called by the external credit site or the integrator once the attendee "
           "claimed the session's credit there; the status becomes credit_claimed for good. "
           "The attendee must have attended (else 409 not_checked_in). Repeating it changes "
           "nothing. Answers with the new status.")
async def post_claimed(request: Request) -> Response:
    hub = hub_of(request)
    principal = await hub.principal(request)
    body = await read_json(request, ce.Named)
    return ok(await ce.claim(hub, principal, request.path_params["session_id"], body))


@operation("POST", "/sessions/{session_id}/register",
           summary="Register for a session (the attendee, where it allows self-registration)",
           tag="Status", response=SessionStatus, errors=(401, 403, 404),
           description="The signed-in attendee adds the session to their schedule: the "
           "status's register action. Refused (403 self_registration_closed) unless the "
           "session's self_registration is on. Answers with the new status.")
async def post_register(request: Request) -> Response:
    hub = hub_of(request)
    principal = await hub.principal(request)
    return ok(await ce.register(hub, principal, request.path_params["session_id"]))


@operation("POST", "/sessions/{session_id}/attendance/self-report",
           summary="Self-report attendance (\"Add a session I attended\")", tag="Attendance",
           request=ce.SelfReportIn, response=ce.SelfReportAnswer,
           errors=(400, 401, 403, 404, 409, 422),
           description="A completed record for the session's scheduled times with source "
           "self-report: never a presence in the room, not held to capacity or to "
           "registration. Any session that has started (else 409 not_started); the "
           "session's check-in code when it has one (code_required, code_invalid); "
           "delivery_format for a hybrid session. An attendee reports for themself; an API "
           "key or an admin names the attendee. 409 already_checked_in when the attendee "
           "already has attendance in the session.")
async def post_self_report(request: Request) -> Response:
    hub = hub_of(request)
    principal = await hub.principal(request)
    body = await read_json(request, ce.SelfReportIn)
    return ok(await ce.self_report(hub, principal, request.path_params["session_id"], body))
