"""GET /api/v2/reasons: the door refusal codes and their plain words, from hub.errors."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from hub.api.spec import operation
from hub.envelope import ok
from hub.errors import OVERRIDABLE, REFUSALS


@operation("GET", "/reasons", summary="Door refusal reasons", tag="Attendance",
           response=dict[str, dict[str, str | bool]], errors=(), public=True,
           description="Every refusal ``reason`` with its plain-words message and whether an "
                       "override may lift it. Public: no credentials needed.")
async def get_reasons(request: Request) -> Response:
    return ok({code: {"message": msg, "overridable": code in OVERRIDABLE}
               for code, msg in REFUSALS.items()})
