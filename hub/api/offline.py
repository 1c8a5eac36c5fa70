"""Doors that keep working offline: the batch upload, the door list, seat leases and the
conflicts for staff to review. Thin handlers; the work is in ``hub.door.batch`` and
``hub.services.offline``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from hub.api.attendance import DOOR_ERRORS
from hub.api.spec import operation
from hub.door import batch
from hub.envelope import ok_bytes
from hub.errors import HubError, Invalid
from hub.http import read_json
from hub.state import hub_of


@operation("POST", "/sessions/{session_id}/attendance/batch",
           summary="Check attendees in and out in bulk (an offline door's upload)",
           tag="Attendance", request=batch.BatchDoc, response=batch.BatchOut,
           errors=DOOR_ERRORS,
           description="Up to 500 actions, each {action: checkin|checkout, ...the fields of "
           "/checkin}, decided in order by the same door. Each result is the envelope the "
           "single endpoint would answer with (its HTTP status in code): one refused or "
           "malformed action does not stop the others. Send each action's idempotency_key "
           "and timestamp: a retried upload gets the first answers back.")
async def attendance_batch(request: Request) -> Response:
    hub = hub_of(request)
    principal = await hub.door.principal(request)
    body = await read_json(request, batch.BatchIn)
    actions: list[batch.BatchAction | HubError] = []
    for n, raw in enumerate(body.actions):
        try:
            actions.append(batch.parse(raw, n))
        except Invalid as exc:
            actions.append(exc)
    outcomes = await batch.run(hub.door, principal, request.path_params["session_id"],
                               actions)
    data = b'{"results":[' + b",".join(batch.envelope_of(o) for o in outcomes) + b"]}"
    return ok_bytes(data)
