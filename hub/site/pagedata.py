"""Page data: what the web pages need that the REST API does not say to browsers.

The REST API speaks to integrators and admins and shows every field (codes and moderator
passwords included). Attendee pages must not see those, so the schedule and session views
here carry only public fields (``has_checkin_code``, never the code). Staff views add the live
counts from the counter row. Read-only: every change goes through the API.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.auth.principal import Principal, may_watch
from hub.domain import credit
from hub.domain.dates import fmt_date, fmt_time, iso, now, zone
from hub.domain.events import Counts
from hub.domain.records import SELF_REPORT
from hub.envelope import ok
from hub.errors import REFUSALS, Forbidden, HubError, NotFound
from hub.state import hub_of
from storage import pages
from storage.app import app_row
from storage.attendees import app_timezone


def _https(url: str | None) -> str | None:
    return url if url and url.lower().startswith("https://") else None


def public_session(row: Any, presenters: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    fos = fields.get(row.id, [])
    return {
        "id": row.id,
        "name": row.name,
        "location": row.location,
        "description": row.description,
        "date": fmt_date(row.date),
        "start_time": fmt_time(row.start_time),
        "end_time": fmt_time(row.end_time),
        "presenters": presenters.get(row.id, []),
        "delivery_format": row.delivery_format,
        "checkin_required": bool(row.checkin_required),
        "checkout_required": bool(row.checkout_required),
        "has_checkin_code": bool(row.checkin_code),
        "has_checkout_code": bool(row.checkout_code),
        "ce_minutes": row.ce_minutes,
        "fields_of_study": [{"name": f["name"], "credits": f["credits"]} for f in fos],
        "has_codewords": any(f["codewords"] for f in fos),
        "credit_url": _https(row.credit_url),
        "self_registration": bool(row.self_registration),
        "capacity": row.capacity,
        "registrants_only": bool(row.registrants_only),
        "hidden": bool(row.hidden),
        "rank": row.rank,
    }


def counts_of(row: Any) -> dict[str, Any]:
    c = Counts.of(registered=row.registered, checked_in=row.checked_in, in_room=row.in_room,
                  capacity=row.capacity)
    return {"registered": c.registered, "checked_in": c.checked_in, "in_room": c.in_room,
            "checked_out": c.checked_out, "capacity": c.capacity, "remaining": c.remaining}


async def event(request: Request) -> Response:
    """The event's name, how attendees identify themselves, and the refusal words."""
    hub = hub_of(request)
    async with hub.tx() as conn:
        app = await app_row(conn)
        only = await pages.only_visible_session(conn)
    labels = [{"key": "email", "label": "Email"}]
    for i in range(1, 6):
        label = getattr(app, f"custom_attendee_field_{i}")
        if label:
            labels.append({"key": f"field_{i}", "label": label})
    return ok({
        "name": app.name or "Rollcall",
        "timezone": app.timezone,
        "start_date": fmt_date(app.start_date),
        "end_date": fmt_date(app.end_date),
        "identify_with": labels,
        "app_password_required": bool(app.app_password),
        "single_session_id": only,
        "reasons": REFUSALS,
    })


async def schedule(request: Request) -> Response:
    """Every visible session in schedule order (hidden ones are reachable by URL only); for a
    signed-in attendee, ``attended`` on each (null, "attended" or "self-reported")."""
    hub = hub_of(request)
    try:
        principal: Principal | None = await hub.principal(request)
    except HubError:  # anonymous is fine here
        principal = None
    mine: dict[str, str | None] = {}
    async with hub.read() as conn:
        rows = await pages.visible_sessions(conn)
        presenters, fields = await pages.presenters_and_fields(conn, [r.id for r in rows])
        tz = zone(await app_timezone(conn))
        if principal is not None and principal.kind == "attendee" and principal.attendee_id:
            mine = await pages.my_attendance(conn, principal.attendee_id)
    at = now()
    out = []
    for r in rows:
        item = public_session(r, presenters, fields)
        # "Add a session I attended" lists the sessions that have started (a session without
        # a date is taken to be today's; one without a start time, started).
        start = credit.schedule_of(r.date, r.start_time, r.end_time, tz, fallback_day=at).start
        item["started"] = start is None or start <= at
        item["attended"] = (None if r.id not in mine else
                            "self-reported" if mine[r.id] == SELF_REPORT else "attended")
        out.append(item)
    return ok(out)


async def _my_status(conn: AsyncConnection, sid: str, aid: int, tz: Any) -> dict[str, Any]:
    registered, rec, words = await pages.my_status(conn, sid, aid)
    out: dict[str, Any] = {"registered": registered, "checked_in": False,
                           "in_room": False, "checkin_time": None, "checkout_time": None,
                           "delivery_format": None, "codewords_valid": 0, "self_reported": False}
    if rec is not None:
        out.update(
            checked_in=rec.checkin_time is not None,
            in_room=rec.in_since is not None,
            checkin_time=iso(rec.checkin_time, tz),
            checkout_time=iso(rec.checkout_time, tz),
            delivery_format=rec.delivery_format,
            codewords_valid=words,
            self_reported=rec.checkin_source == SELF_REPORT,
        )
    return out


async def session_view(request: Request) -> Response:
    """One session's public fields (hidden ones too), its seats, and the caller's own status
    when an attendee is signed in."""
    hub = hub_of(request)
    sid = request.path_params["sid"]
    principal: Principal | None
    try:
        principal = await hub.principal(request)
    except HubError:  # anonymous is fine here
        principal = None
    async with hub.tx() as conn:
        app = await app_row(conn)
        row = await pages.session_by_id(conn, sid)
        if row is None:
            raise NotFound("There is no such session.")
        presenters, fields = await pages.presenters_and_fields(conn, [sid])
        counter = await pages.counter_of(conn, sid)
        me = None
        if principal is not None and principal.kind == "attendee" and principal.attendee_id:
            me = await _my_status(conn, sid, principal.attendee_id, zone(app.timezone))
    data = public_session(row, presenters, fields)
    if counter is not None and row.capacity is not None:
        data["remaining"] = max(row.capacity - counter.in_room, 0)
    data["me"] = me
    staff = (principal is not None and principal.kind in ("staff", "api_key")
             and may_watch(principal, sid))
    if staff and counter is not None:
        data["counts"] = counts_of(_Zero(counter, row.capacity))
    return ok(data)


async def _staff(request: Request) -> Principal:
    principal = await hub_of(request).principal(request)
    if principal.kind not in ("staff", "api_key"):
        raise Forbidden("Staff only.")
    if not may_watch(principal, None):
        raise Forbidden("This needs the scan or moderate permission.")
    return principal


async def staff_sessions(request: Request) -> Response:
    """Every session, hidden included, with its live counts: the scanner's picker and the
    event dashboard's first paint (the WebSocket keeps them current)."""
    await _staff(request)
    hub = hub_of(request)
    async with hub.read() as conn:
        rows = await pages.staff_sessions(conn)
    out = []
    for r in rows:
        item = {"id": r.id, "name": r.name, "location": r.location, "date": fmt_date(r.date),
                "start_time": fmt_time(r.start_time), "end_time": fmt_time(r.end_time),
                "hidden": bool(r.hidden), "seq": r.seq or 0}
        item["counts"] = counts_of(_Zero(r, r.capacity))
        out.append(item)
    return ok(out)


class _Zero:
    """A counter row, with zeros for a session that has none yet."""

    def __init__(self, r: Any, capacity: int | None) -> None:
        self.registered = r.registered or 0
        self.checked_in = r.checked_in or 0
        self.in_room = r.in_room or 0
        self.capacity = capacity


async def kiosk_search(request: Request) -> Response:
    """Registered attendees of the kiosk's own session matching ``q`` (name, email, IDs)."""
    principal = await hub_of(request).principal(request)
    if principal.kind != "kiosk" or not principal.session_id:
        raise Forbidden("Only a kiosk can search its session's attendees.")
    q = request.query_params.get("q", "").strip().lower()
    if len(q) < 2:
        return ok([])
    hub = hub_of(request)
    async with hub.read() as conn:
        rows = await pages.kiosk_search(conn, principal.session_id, q)
    out = []
    for r in rows:
        if r.external_id:
            ref = {"external_id": r.external_id}
        elif r.badge_id:
            ref = {"badge_id": r.badge_id}
        else:
            ref = {"email": r.email}
        out.append({"first_name": r.first_name, "last_name": r.last_name,
                    "email_hint": _mask(r.email), "in_room": r.in_since is not None,
                    "ref": ref})
    return ok(out)


def _mask(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    user, _, domain = email.partition("@")
    return f"{user[:1]}…@{domain}"


routes = [
    Route("/ui/event", event, methods=["GET"]),
    Route("/ui/schedule", schedule, methods=["GET"]),
    Route("/ui/sessions/{sid}", session_view, methods=["GET"]),
    Route("/ui/staff/sessions", staff_sessions, methods=["GET"]),
    Route("/ui/kiosk/search", kiosk_search, methods=["GET"]),
]
