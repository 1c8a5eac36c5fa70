"""The one list of errors and their machine codes.

Every refusal and failure the hub can give has a stable ``reason`` here. The REST envelope,
the WebSocket ``error`` frame and the web clients all read these codes; the web clients get
the table from ``GET /api/v2/reasons`` so nothing is copied by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class Reason:
    """One machine code: its plain words, and where it is used."""

    message: str
    status: int | None = None  # the HTTP status it answers with
    close: int | None = None  # the WebSocket close code it closes with
    kind: str = "error"  # "refusal" (a door rule), "error", or "live" (real-time only)
    overridable: bool = False  # a door refusal that an override may lift


def _refusal(message: str, *, status: int = 409, overridable: bool = False) -> Reason:
    return Reason(message, status=status, kind="refusal", overridable=overridable)


# Every reason the hub answers or closes with. ``GET /api/v2/reasons`` lists them all; the
# REST envelope, the WebSocket ``error``/``status`` frames, the close reasons and the web
# clients read these codes.
REASONS: dict[str, Reason] = {
    # Door refusals (409; an unknown attendee is a 404).
    "code_required": _refusal("This session needs a check-in code.", overridable=True),
    "code_invalid": _refusal("That check-in code is not right.", overridable=True),
    "not_registered": _refusal("Only registered attendees may enter this session.",
                               overridable=True),
    "registration_level": _refusal(
        "This session is not included in the attendee's registration level.", overridable=True),
    "capacity_full": _refusal("This session is full.", overridable=True),
    "already_checked_in": _refusal("Already checked in to this session."),
    "not_checked_in": _refusal("Not checked in to this session."),
    "checkout_code_invalid": _refusal("That check-out code is not right."),
    "checkout_code_required": _refusal("This session needs a check-out code."),
    "delivery_format_required": _refusal(
        "Choose in-person or virtual to check in to this hybrid session."),
    "unknown_attendee": _refusal("Attendee not recognised.", status=404),
    "codeword_invalid": _refusal("That codeword is not one of this session's codewords."),
    "not_started": _refusal("This session has not started yet."),
    "self_registration_closed": _refusal("Attendees may not register themselves for this "
                                         "session.", status=403),
    "no_credit": _refusal("No CE credit has been earned yet.", status=404),
    # Live engagement.
    "poll_closed": Reason("This poll is not open for answers.", 409),
    "evaluation_locked": Reason("This session's evaluation is not open yet.", 409),
    "evaluation_done": Reason("This evaluation was already submitted.", 409),
    "question_limit": Reason("Too many questions in a short time; wait a moment.", 429),
    # Seat leases for offline doors.
    "leasing_off": Reason("Seat leases are off for this session.", 409),
    # Requests the hub cannot take.
    "bad_request": Reason("The request is not one the hub understands.", 400, close=4400),
    "malformed_json": Reason("The body is not valid JSON.", 400),
    "invalid_filters": Reason("Name exactly one filter: all, email or external_id.", 400),
    "unauthorized": Reason("Send an API-Key header, or sign in.", 401, close=4401),
    "forbidden": Reason("You may not do this.", 403, close=4403),
    "csrf": Reason("This form was not sent by a Rollcall page; reload the page and try "
                   "again.", 403),
    "not_found": Reason("Not found.", 404, close=4404),
    "method_not_allowed": Reason("Method not allowed.", 405),
    "conflict": Reason("This conflicts with what is stored.", 409),
    "payload_too_large": Reason("The request body is too large.", 413),
    "unsupported_media_type": Reason("Send the body as application/json.", 415),
    "invalid": Reason("A field has the wrong type or value; the message names it.", 422),
    "idempotency_key_reused": Reason(
        "This idempotency_key was already used for a different request; send a new key.",
        422),
    "link_invalid": Reason("This sign-in link is not valid.", 401),
    "link_expired": Reason("This sign-in link has expired; ask for a new one.", 401),
    "too_many_attempts": Reason("Too many failed attempts; try again later.", 429, close=4429),
    "internal": Reason("Internal server error.", 500, close=1011),
    "unavailable": Reason("The hub cannot serve this now; try again in a moment.", 503,
                          close=1012),
    "overloaded": Reason("The door is busy; try again in a moment.", 503),
    # The real-time hub only.
    "broker_unavailable": Reason("Live updates from other workers are paused; the view is "
                                 "kept current from the database.", kind="live"),
    "heartbeat_timeout": Reason("No answer to ping; reconnect.", close=4000, kind="live"),
    "too_slow": Reason("The connection did not keep up; reconnect.", close=4008, kind="live"),
    "going_away": Reason("The connection was closed.", close=1001, kind="live"),
}

# Door refusals: reason -> plain words an attendee or a scanner can read.
REFUSALS: dict[str, str] = {k: r.message for k, r in REASONS.items() if r.kind == "refusal"}

# Rules an override may lift (the others are facts, not restrictions).
OVERRIDABLE: frozenset[str] = frozenset(k for k, r in REASONS.items() if r.overridable)


class HubError(Exception):
    """The other side's mistake, answered in the API envelope. Bugs raise RuntimeError."""

    http_status: ClassVar[int] = 400
    reason: str | None = None

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            if reason not in REASONS:
                raise RuntimeError(f"unknown reason {reason!r}: add it to hub.errors.REASONS")
            self.reason = reason


class BadRequest(HubError):
    http_status = 400
    reason = "bad_request"


class MalformedJSON(HubError):
    http_status = 400
    reason = "malformed_json"


class Unauthorized(HubError):
    http_status = 401
    reason = "unauthorized"


class Forbidden(HubError):
    http_status = 403
    reason = "forbidden"


class CsrfRejected(Forbidden):
    """A cookie-authenticated request without the page's CSRF token (or from another site)."""

    reason = "csrf"


class NotFound(HubError):
    http_status = 404
    reason = "not_found"


class MethodNotAllowed(HubError):
    http_status = 405
    reason = "method_not_allowed"


class Conflict(HubError):
    http_status = 409
    reason = "conflict"


class PayloadTooLarge(HubError):
    http_status = 413
    reason = "payload_too_large"


class UnsupportedMediaType(HubError):
    http_status = 415
    reason = "unsupported_media_type"


class Invalid(HubError):
    """A field of the wrong type or value; the message names the field."""

    http_status = 422
    reason = "invalid"

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}", reason="invalid")
        self.field = field


class IdempotencyKeyReused(HubError):
    """The caller sent an idempotency key it already used, with a different request."""

    http_status = 422
    reason = "idempotency_key_reused"


class FilterError(HubError):
    """The /attendance/remove filter errors, answered as the reference documents them."""

    http_status = 400
    reason = "invalid_filters"


class CheckinRefused(HubError):
    """A door refusal with a machine reason from REFUSALS."""

    http_status = 409

    def __init__(self, reason: str, message: str | None = None) -> None:
        if reason not in REFUSALS:
            raise RuntimeError(f"unknown refusal reason {reason!r}")
        super().__init__(message or REFUSALS[reason], reason=reason)
        status = REASONS[reason].status
        if status is not None and status != 409:
            self.http_status = status  # type: ignore[misc]


class TooManyRequests(HubError):
    """Too many failed sign-ins from one place; ``retry_after`` seconds until the next try."""

    http_status = 429
    reason = "too_many_attempts"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after)}


class ServiceUnavailable(HubError):
    http_status = 503
    reason = "unavailable"
