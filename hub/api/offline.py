"""Doors that keep working offline: the batch upload, the door list, seat leases and the
conflicts for staff to review. Thin handlers; the work is in ``hub.door.batch`` and
``hub.services.offline``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from hub.api.attendance import DOOR_ERRORS
from hub.api.spec import operation
from hub.door import batch
from hub.envelope import ok, ok_bytes
from hub.errors import HubError, Invalid
from hub.http import read_json
from hub.services import offline
from hub.state import caller, hub_of


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
    session_id = request.path_params["session_id"]
    outcomes = await batch.run(hub.door, principal, session_id, actions)
    if any(isinstance(a, batch.BatchAction) and a.decided is not None for a in actions):
        await offline.record_conflicts(hub, principal, session_id, actions, outcomes)
    data = b'{"results":[' + b",".join(batch.envelope_of(o) for o in outcomes) + b"]}"
    return ok_bytes(data)


@operation("GET", "/sessions/{session_id}/doorlist",
           summary="What a door needs to decide offline", tag="Offline doors",
           response=offline.DoorList, errors=(304, 401, 403, 404, 422),
           description="The session's settings, every attendee with badge id, names, "
           "registration level, whether registered and whether in the room, with the session's "
           "seq. Answers carry an ETag; If-None-Match with it answers 304. ?since=SEQ gives "
           "only the attendees whose state changed after SEQ (full: false); after a removal "
           "or clear the whole list comes back (full: true). For staff with scan, the "
           "session's kiosk and API keys.")
async def get_doorlist(request: Request) -> Response:
    hub = hub_of(request)
    principal = await hub.door.principal(request)
    since_raw = request.query_params.get("since")
    since = None
    if since_raw is not None:
        if not since_raw.isdigit() or len(since_raw) > 18:
            raise Invalid("since", "must be a sequence number (an integer >= 0)")
        since = int(since_raw)
    data, etag = await offline.door_list(hub, principal, request.path_params["session_id"],
                                         since)
    wanted = [t.strip() for t in request.headers.get("if-none-match", "").split(",")]
    if etag in wanted or f"W/{etag}" in wanted:
        return Response(status_code=304, headers={"ETag": etag})
    response = ok_bytes(data)
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = "no-cache"
    return response


@operation("POST", "/sessions/{session_id}/leases", summary="Take a seat lease",
           tag="Offline doors", request=offline.LeaseIn, response=offline.LeaseOut,
           status=201, errors=(400, 401, 403, 404, 409, 422),
           description="Reserves up to seats of the session's free seats against capacity "
           "for ttl_s seconds (30 to 86400, default 900), for a door that may go offline. "
           "Admissions sent with lease_id take the lease's seats. Fewer seats than asked "
           "when fewer are free; 409 capacity_full when none is, leasing_off when an admin "
           "set leases off. An expired lease's seats are free again by themselves.")
async def post_lease(request: Request) -> Response:
    hub = hub_of(request)
    principal = await hub.door.principal(request)
    body = await read_json(request, offline.LeaseIn)
    return ok(await offline.take_lease(hub, principal, request.path_params["session_id"],
                                       body), status=201)


@operation("GET", "/sessions/{session_id}/leases", summary="A session's running seat leases",
           tag="Offline doors", response=list[offline.LeaseOut], errors=(401, 403, 404))
async def get_leases(request: Request) -> Response:
    hub = hub_of(request)
    principal = await hub.door.principal(request)
    return ok(await offline.list_leases(hub, principal, request.path_params["session_id"]))


@operation("DELETE", "/sessions/{session_id}/leases/{lease_id}",
           summary="Return a seat lease's unused seats", tag="Offline doors",
           response=offline.LeaseOut, errors=(401, 403, 404),
           description="The seats the lease still holds are free again; the ones used stay "
           "used. Returning it again changes nothing.")
async def delete_lease(request: Request) -> Response:
    hub = hub_of(request)
    principal = await hub.door.principal(request)
    return ok(await offline.return_lease(hub, principal, request.path_params["session_id"],
                                         request.path_params["lease_id"]))


@operation("PUT", "/sessions/{session_id}/leasing", summary="Set a session's seat leases on "
           "or off (admin)", tag="Offline doors", request=offline.LeasingIn,
           errors=(400, 401, 403, 404, 422),
           description="Off: no new lease is granted (409 leasing_off); running leases keep "
           "their seats until returned or expired.")
async def put_leasing(request: Request) -> Response:
    hub, _ = await caller(request)
    body = await read_json(request, offline.LeasingIn)
    await offline.set_leasing(hub, request.path_params["session_id"], body.enabled)
    return ok(None)


@operation("GET", "/sessions/{session_id}/conflicts",
           summary="Uploaded door actions the hub judged differently", tag="Offline doors",
           response=list[offline.ConflictOut], errors=(401, 403, 404),
           description="Newest first: kind (double_admission, removed, lease_expired, "
           "capacity, not_in_room, door_refused, refused), what the offline door decided, "
           "what the hub answered, when it was scanned and uploaded and by whom, and for a "
           "double admission the other door's accepted check-in.")
async def get_session_conflicts(request: Request) -> Response:
    hub, _ = await caller(request, "scan")
    return ok(await offline.list_conflicts(hub, request.path_params["session_id"]))


@operation("GET", "/conflicts", summary="Every session's door conflicts", tag="Offline doors",
           response=list[offline.ConflictOut], errors=(401, 403))
async def get_conflicts(request: Request) -> Response:
    hub, _ = await caller(request, "scan")
    return ok(await offline.list_conflicts(hub, None))
