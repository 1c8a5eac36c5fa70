"""The API envelope: ``{"status": "ok", "code": "200", "data": ...}`` and its error twin.

One msgspec encoder, built once and reused for every response.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.responses import Response

from hub import metrics
from hub.errors import HubError

_encoder = msgspec.json.Encoder()

# Every JSON answer says it is JSON and nothing else: a browser never sniffs it into a page
# or a script.
NOSNIFF = {"x-content-type-options": "nosniff"}


def encode(obj: Any) -> bytes:
    return _encoder.encode(obj)


class Ok(msgspec.Struct):
    status: str
    code: str
    data: Any = None


class Fail(msgspec.Struct, omit_defaults=True):
    status: str
    code: str
    message: str
    reason: str | None = None
    field: str | None = None
    details: Any = None
    errors: Any = None  # a file's problems, each {"row", "column", "message"} (imports)


def ok(data: Any = None, status: int = 200) -> Response:
    return Response(
        _encoder.encode(Ok(status="ok", code=str(status), data=data)),
        status_code=status,
        media_type="application/json",
        headers=NOSNIFF,
    )


def ok_envelope(data_json: bytes, status: int = 200) -> bytes:
    """The success envelope around an already-encoded ``data``, as bytes."""
    return b'{"status":"ok","code":"' + str(status).encode() + b'","data":' + data_json + b"}"


def ok_bytes(data_json: bytes, status: int = 200) -> Response:
    """The envelope around an already-encoded ``data`` (a stored idempotent answer)."""
    return Response(ok_envelope(data_json, status), status_code=status,
                    media_type="application/json", headers=NOSNIFF)


def fail(
    status: int,
    message: str,
    *,
    reason: str | None = None,
    field: str | None = None,
    details: Any = None,
    headers: dict[str, str] | None = None,
    errors: Any = None,
) -> Response:
    if status == 503:
        metrics.UNAVAILABLE.labels(reason or "unavailable").inc()
    return Response(
        _encoder.encode(
            Fail(
                status="error",
                code=str(status),
                message=message,
                reason=reason,
                field=field,
                details=details,
                errors=errors,
            )
        ),
        status_code=status,
        media_type="application/json",
        headers={**NOSNIFF, **headers} if headers else NOSNIFF,
    )


def fail_bytes(exc: HubError) -> bytes:
    """The error envelope of ``exc``, as bytes (an answer inside a batch's answer)."""
    return _encoder.encode(Fail(status="error", code=str(exc.http_status), message=exc.message,
                                reason=exc.reason, field=getattr(exc, "field", None),
                                errors=getattr(exc, "errors", None)))


def from_error(exc: HubError) -> Response:
    return fail(
        exc.http_status,
        exc.message,
        reason=exc.reason,
        field=getattr(exc, "field", None),
        headers=getattr(exc, "headers", None),
        errors=getattr(exc, "errors", None),
    )
