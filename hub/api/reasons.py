"""GET /api/v2/reasons: every machine reason the hub answers or closes with, from hub.errors."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from hub.api.spec import operation
from hub.envelope import ok
from hub.errors import REASONS


class ReasonOut(msgspec.Struct, omit_defaults=True):
    message: str
    overridable: bool
    kind: str  # "refusal" (a door rule), "error", "live" (real-time only)
    status: int | None = None  # the HTTP status it comes with
    close: int | None = None  # the WebSocket close code it comes with


@operation("GET", "/reasons", summary="Every reason the hub gives", tag="Attendance",
           response=dict[str, ReasonOut], errors=(), public=True,
           description="Every machine ``reason`` of the API envelope, the WebSocket error, "
                       "status and close frames, with its plain-words message, whether an "
                       "override may lift it (door refusals), its kind, and the HTTP status "
                       "or WebSocket close code it comes with. Public: no credentials needed.")
async def get_reasons(request: Request) -> Response:
    return ok({code: ReasonOut(message=r.message, overridable=r.overridable, kind=r.kind,
                               status=r.status, close=r.close)
               for code, r in REASONS.items()})
