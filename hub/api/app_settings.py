"""GET/PUT /api/v2/app: the event's settings."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from hub.api.spec import operation
from hub.domain.dates import fmt_date, is_timezone, parse_date
from hub.domain.schemas import AppSettingsIn, AppSettingsOut, put_value
from hub.domain.status import STATES, message_for, parse_messages
from hub.envelope import ok
from hub.errors import Invalid
from hub.http import read_json
from hub.state import caller
from storage.app import app_row, update_app

_TEXT = (
    "name",
    "app_password",
    "moderator_password",
    "custom_attendee_field_1",
    "custom_attendee_field_2",
    "custom_attendee_field_3",
    "custom_attendee_field_4",
    "custom_attendee_field_5",
    "certificate_title",
    "certificate_issuer",
    "certificate_sponsor_id",
    "certificate_signature",
)


def app_out(row: Any, url: str) -> AppSettingsOut:
    return AppSettingsOut(
        app_password=row.app_password,
        custom_attendee_field_1=row.custom_attendee_field_1,
        custom_attendee_field_2=row.custom_attendee_field_2,
        custom_attendee_field_3=row.custom_attendee_field_3,
        custom_attendee_field_4=row.custom_attendee_field_4,
        custom_attendee_field_5=row.custom_attendee_field_5,
        end_date=fmt_date(row.end_date),
        moderator_password=row.moderator_password,
        name=row.name,
        start_date=fmt_date(row.start_date),
        timezone=row.timezone,
        url=url,
        status_messages={s: message_for(s, _messages(row.status_messages)) for s in STATES},
        self_report_credit=row.self_report_credit is not False,
        certificate_title=row.certificate_title,
        certificate_issuer=row.certificate_issuer,
        certificate_sponsor_id=row.certificate_sponsor_id,
        certificate_signature=row.certificate_signature,
        certificate_logo=row.certificate_logo is not None,
    )


def _messages(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str):  # JSON read without a decoder
        value = json.loads(value)
    return value if isinstance(value, dict) else None


@operation("GET", "/app", summary="Retrieve app settings", tag="App",
           response=AppSettingsOut, errors=(401,))
async def get_app(request: Request) -> Response:
    hub, _ = await caller(request)
    async with hub.tx() as conn:
        row = await app_row(conn)
    return ok(app_out(row, hub.url("/")))


def app_changes(body: AppSettingsIn) -> dict[str, Any]:
    """Validate everything before writing anything."""
    changes: dict[str, Any] = {}
    for name in _TEXT:
        present, value = put_value(getattr(body, name))
        if present:
            changes[name] = value
    for name in ("start_date", "end_date"):
        present, value = put_value(getattr(body, name))
        if present:
            changes[name] = None if value is None else parse_date(name, value)
    present, value = put_value(body.status_messages)
    if present:
        changes["status_messages"] = parse_messages(value) or None
    present, value = put_value(body.self_report_credit)
    if present:
        changes["self_report_credit"] = value
    tz = body.timezone
    if tz is not None:
        if tz == -1 or tz == "-1" or tz == "":
            changes["timezone"] = None
        elif isinstance(tz, str) and is_timezone(tz):
            changes["timezone"] = tz
        else:
            raise Invalid("timezone", f"{tz!r} is not a tz database name (or -1 for none)")
    return changes


@operation("PUT", "/app", summary="Update app settings", tag="App",
           request=AppSettingsIn, errors=(400, 401, 413, 422))
async def put_app(request: Request) -> Response:
    hub, _ = await caller(request)
    body = await read_json(request, AppSettingsIn)
    changes = app_changes(body)
    start = changes.get("start_date", ...)
    end = changes.get("end_date", ...)
    async with hub.tx() as conn:
        row = await app_row(conn)
        start_v = row.start_date if start is ... else start
        end_v = row.end_date if end is ... else end
        if start_v and end_v and end_v < start_v:
            raise Invalid("end_date", "is before start_date")
        if changes:
            await update_app(conn, changes)
    return ok(None)
