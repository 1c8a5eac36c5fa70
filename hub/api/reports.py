"""/api/v2/reports: the attendance and scans reports as CSV or XLSX, for one session
(``?session_id=``) or the whole event. Administrators only; streamed
(``hub.services.reports``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from hub.api.sheets import FILE_TYPES, FORMAT, administrator
from hub.api.spec import operation
from hub.services import reports
from hub.sheets import export_format, export_response

SESSION = (("session_id", str, "one session's rows (default: the whole event)"),)


def _session(request: Request) -> str | None:
    return request.query_params.get("session_id", "").strip() or None


@operation("GET", "/reports/attendance", summary="Attendance report", tag="Reports",
           downloads=FILE_TYPES, query=(*SESSION, *FORMAT), errors=(401, 403, 404, 422),
           description="One row per attendee per session attended or registered for: the "
           "session, the attendee (external_id, badge_id, names, email, registration level), "
           "check-in and check-out times (event's time zone), total_time_attended, "
           "percent_attended, delivery format, credits and codewords (valid of possible) per "
           "field of study (an admin's adjustment applied), the check-in's source, overrides.")
async def attendance(request: Request) -> Response:
    hub = await administrator(request)
    fmt = export_format(request)
    sid = _session(request)
    columns, rows = await reports.attendance_report(hub, sid)
    return export_response(fmt, columns, rows, name=f"attendance-{sid or 'event'}")


@operation("GET", "/reports/scans", summary="Scans report: every door action", tag="Reports",
           downloads=FILE_TYPES, query=(*SESSION, *FORMAT), errors=(401, 403, 404, 422),
           description="Every check-in and check-out asked at the door, accepted or refused, "
           "in order: time, session id and name, badge ID, last and first name, action, "
           "result (`ok` or the refusal's reason), source, who (staff email or API key).")
async def scans(request: Request) -> Response:
    hub = await administrator(request)
    fmt = export_format(request)
    sid = _session(request)
    columns, rows = await reports.scans_report(hub, sid)
    return export_response(fmt, columns, rows, name=f"scans-{sid or 'event'}")
