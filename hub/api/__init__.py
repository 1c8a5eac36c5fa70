"""REST API v2 (Conferences i/o-compatible) at /api/v2."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route


def api_routes() -> list[BaseRoute]:
    from hub.api import (
        app_settings,
        attendance,
        attendees,
        evaluations,
        reasons,
        sessions,
        staff,
    )
    from hub.api.spec import openapi_json

    routes: list[BaseRoute] = [Route("/openapi.json", openapi_json, methods=["GET"])]
    for module in (app_settings, sessions, evaluations, attendance, reasons, attendees, staff):
        routes += module.routes
    return [Mount("/api/v2", routes=routes)]
