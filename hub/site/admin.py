"""Admin-page routes the REST API does not have: API keys and the attendance CSV.

Cookie-authenticated (a staff member holding ``admin``) and CSRF-protected through
``hub.auth.cookies.authenticate``; an API key may call them too.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.auth.accounts import create_api_key
from hub.domain.dates import iso, now
from hub.envelope import ok
from hub.errors import Invalid, NotFound
from hub.http import read_json
from hub.services.attendance import list_records
from hub.state import caller
from storage import accounts


class KeyIn(msgspec.Struct):
    description: str


def _key_json(r: Any) -> dict[str, Any]:
    return {"id": r.id, "description": r.description, "prefix": r.prefix,
            "created_at": iso(r.created_at), "disabled_at": iso(r.disabled_at)}


async def list_keys(request: Request) -> Response:
    hub, _ = await caller(request, "admin")
    async with hub.read() as conn:
        rows = await accounts.api_keys(conn)
    return ok([_key_json(r) for r in rows])


async def create_key(request: Request) -> Response:
    hub, _ = await caller(request, "admin")
    body = await read_json(request, KeyIn)
    desc = body.description.strip()
    if not desc:
        raise Invalid("description", "must not be empty")
    if len(desc) > 200:
        raise Invalid("description", "is longer than 200 characters")
    async with hub.tx() as conn:
        key_id, key = await create_api_key(conn, description=desc)
    # The key itself is shown once, here; only its digest is kept.
    return ok({"id": key_id, "key": key, "description": desc}, status=201)


async def disable_key(request: Request) -> Response:
    hub, _ = await caller(request, "admin")
    raw = request.path_params["key_id"]
    if not (raw.isascii() and raw.isdigit()):
        raise NotFound("No such API key.")
    async with hub.tx() as conn:
        if await accounts.disable_api_key(conn, int(raw), now()) is None:
            raise NotFound("No such API key.")
    return ok(None)


CSV_COLUMNS = [
    "badge_id", "external_id", "last_name", "first_name", "email", "checkin_time",
    "checkout_time", "in_room", "total_time_attended", "percent_attended", "delivery_format",
    "checkin_source", "checkout_source", "credits", "codewords_valid", "overrides",
]


def _cell(value: Any) -> str:
    """Text for a spreadsheet cell, defused against formula injection."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


async def attendance_csv(request: Request) -> Response:
    """One row per check-in record of the session, from the same records GET /attendance
    shows (times in the event's zone, total time and % as the engine computes them)."""
    hub, _ = await caller(request, "admin")
    sid = request.path_params["sid"]
    rows = await list_records(hub, sid)  # 404 for an unknown session
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    for r in rows:
        u = r.user
        credits = "; ".join(f"{f.name}: {f.credits}" for f in r.fields_of_study)
        words = sum(f.codewords.valid for f in r.fields_of_study)
        overrides = "; ".join(f"{o.rule} by {o.by}" + (f" ({o.reason})" if o.reason else "")
                              for o in r.overrides)
        w.writerow([_cell(v) for v in (
            u.badge_id, u.external_id, u.last_name, u.first_name, u.email, r.checkin_time,
            r.checkout_time, "yes" if r.in_room else "no", r.total_time_attended,
            r.percent_attended, r.delivery_format, r.checkin_source, r.checkout_source,
            credits, words, overrides)])
    filename = f"attendance-{sid}.csv"
    return Response(buf.getvalue().encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{filename}"',
                             "cache-control": "no-store"})


routes = [
    Route("/admin/api/keys", list_keys, methods=["GET"]),
    Route("/admin/api/keys", create_key, methods=["POST"]),
    Route("/admin/api/keys/{key_id}/disable", disable_key, methods=["POST"]),
    Route("/admin/api/sessions/{sid}/attendance.csv", attendance_csv, methods=["GET"]),
]
