"""The one list of errors and their machine codes.

Every refusal and failure the hub can give has a stable ``reason`` here. The REST envelope,
the WebSocket ``error`` frame and the web clients all read these codes; the web clients get
the table from ``GET /api/v2/reasons`` so nothing is copied by hand.
"""

from __future__ import annotations

from typing import ClassVar

# Door refusals: reason -> plain words an attendee or a scanner can read.
REFUSALS: dict[str, str] = {
    "code_required": "This session needs a check-in code.",
    "code_invalid": "That check-in code is not right.",
    "not_registered": "Only registered attendees may enter this session.",
    "registration_level": "This session is not included in the attendee's registration level.",
    "capacity_full": "This session is full.",
    "already_checked_in": "Already checked in to this session.",
    "not_checked_in": "Not checked in to this session.",
    "checkout_code_invalid": "That check-out code is not right.",
    "checkout_code_required": "This session needs a check-out code.",
    "delivery_format_required": "Choose in-person or virtual to check in to this hybrid session.",
    "unknown_attendee": "Attendee not recognised.",
    "codeword_invalid": "That codeword is not one of this session's codewords.",
}

# Rules an override may lift (the others are facts, not restrictions).
OVERRIDABLE: frozenset[str] = frozenset(
    {"code_required", "code_invalid", "not_registered", "registration_level", "capacity_full"}
)


class HubError(Exception):
    """The other side's mistake, answered in the API envelope. Bugs raise RuntimeError."""

    http_status: ClassVar[int] = 400
    reason: str | None = None

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
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
        if reason == "unknown_attendee":
            self.http_status = 404  # type: ignore[misc]


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
