"""Sessions and attendees as spreadsheets: ``GET .../export?format=csv|xlsx`` and
``POST .../import[?dry_run=true]`` (the file as the body, or the form field ``file``).

Administrators only (admin API keys and staff with ``admin``). The work is in
``hub.services.session_sheets`` and ``hub.services.attendee_sheets``; files are read and
written by ``hub.sheets``.
"""

from __future__ import annotations

from typing import Literal

from starlette.requests import Request
from starlette.responses import Response

from hub.api.spec import operation
from hub.auth.principal import may_administer
from hub.envelope import ok
from hub.errors import Forbidden, Invalid
from hub.services import attendee_sheets, session_sheets
from hub.services.spreadsheets import ImportResult
from hub.sheets import (
    CSV_TYPE,
    MAX_FILE_BYTES,
    MAX_ROWS,
    XLSX_TYPE,
    export_format,
    export_response,
    read_sheet,
)
from hub.state import Hub, hub_of

FILE_TYPES = (CSV_TYPE, XLSX_TYPE)
FORMAT = (("format", Literal["csv", "xlsx"], "csv (the default) or xlsx"),)
DRY_RUN = (("dry_run", bool, "true: answer what would change, write nothing"),)
IMPORT_ERRORS = (400, 401, 403, 413, 415, 422)
_LIMITS = (f"At most {MAX_FILE_BYTES // 2**20} MiB and {MAX_ROWS:,} rows (413 past either); "
           "CSV (UTF-8 with or without BOM, comma or semicolon) or XLSX, else 415.")
_RULES = (
    "A column that is absent leaves that field alone; an empty cell unsets it. With "
    "`dry_run=true` the answer lists what each row would do and every problem, and nothing "
    "is written; otherwise the whole file is written in one transaction, or nothing is (422 "
    "with every problem in `errors`, each naming its row and column). " + _LIMITS
)


async def administrator(request: Request) -> Hub:
    """The hub, for an admin API key or a staff member with ``admin``; else 401/403."""
    hub = hub_of(request)
    if not may_administer(await hub.principal(request)):
        raise Forbidden("Spreadsheets and reports are for administrators.")
    return hub


def dry_run(request: Request) -> bool:
    raw = request.query_params.get("dry_run", "").strip().lower()
    if raw in ("", "false", "0", "no"):
        return False
    if raw in ("true", "1", "yes"):
        return True
    raise Invalid("dry_run", f"{raw!r} is not true or false")


@operation("GET", "/sessions/export", summary="Download every session as a spreadsheet",
           tag="Spreadsheets", downloads=FILE_TYPES, query=FORMAT, errors=(401, 403, 422),
           description="One row per session; the header names are the API's field names "
           "(`id`, `external_id`, `name`, `date`, ..., `field_of_study_n`, `credits_n`, "
           "`codewords_n` for n = 1..7, `presenters`); lists are `;`-separated.")
async def export_sessions(request: Request) -> Response:
    hub = await administrator(request)
    fmt = export_format(request)
    return export_response(fmt, session_sheets.COLUMNS, session_sheets.export_rows(hub),
                          name="sessions")


@operation("POST", "/sessions/import", summary="Create and update sessions from a spreadsheet",
           tag="Spreadsheets", uploads=FILE_TYPES, response=ImportResult, query=DRY_RUN,
           errors=IMPORT_ERRORS,
           description="Each row updates the session with its `id`, else the one with its "
           "`external_id`, else creates a session (only `name` required). " + _RULES)
async def import_sessions(request: Request) -> Response:
    hub = await administrator(request)
    preview = dry_run(request)
    sheet = await read_sheet(request)
    return ok(await session_sheets.import_sessions(hub, sheet, dry_run=preview))


@operation("GET", "/attendees/export", summary="Download every attendee as a spreadsheet",
           tag="Spreadsheets", downloads=FILE_TYPES, query=FORMAT, errors=(401, 403, 422),
           description="One row per attendee: `external_id`, `first_name`, `last_name`, "
           "`email`, `badge_id`, `registration_level`, `field_1`..`field_5`, and `sessions` "
           "(the `;`-separated ids of the sessions they are registered for).")
async def export_attendees(request: Request) -> Response:
    hub = await administrator(request)
    fmt = export_format(request)
    return export_response(fmt, attendee_sheets.COLUMNS, attendee_sheets.export_rows(hub),
                          name="attendees")


@operation("POST", "/attendees/import",
           summary="Create and update attendees and their registrations from a spreadsheet",
           tag="Spreadsheets", uploads=FILE_TYPES, response=ImportResult, query=DRY_RUN,
           errors=IMPORT_ERRORS,
           description="Each row updates the attendee with its `external_id`, else the one "
           "with its email (any case), else creates one. `sessions` (session ids or external "
           "ids, `;`-separated) becomes the attendee's registrations. " + _RULES)
async def import_attendees(request: Request) -> Response:
    hub = await administrator(request)
    preview = dry_run(request)
    sheet = await read_sheet(request)
    return ok(await attendee_sheets.import_attendees(hub, sheet, dry_run=preview))
