"""The REST API v2's routes, from the operations its handlers register (``hub.api.spec``)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route

from hub.api import (
    app_settings,
    attendance,
    attendees,
    certificates,
    evaluations,
    offline,
    polls,
    questions,
    reasons,
    reports,
    sessions,
    sheets,
    staff,
    status,
)
from hub.api.spec import OPERATIONS, openapi_json

# Importing a module registers its handlers; these are the API's modules.
MODULES = (app_settings, attendance, attendees, certificates, evaluations, offline, polls,
           questions, reasons, sessions, staff, reports, sheets, status)


def api_routes() -> list[BaseRoute]:
    """Every registered operation under /api/v2. A path without parameters comes before one
    with them, so ``/sessions/export`` is never read as a session id."""
    ops = sorted(OPERATIONS, key=lambda op: op.path.count("{"))
    routes: list[BaseRoute] = [Route("/openapi.json", openapi_json, methods=["GET"])]
    for op in ops:
        assert op.endpoint is not None
        routes.append(Route(op.path, op.endpoint, methods=[op.method]))
    return [Mount("/api/v2", routes=routes)]
