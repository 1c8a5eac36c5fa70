"""/api/v2/staff: event users (staff) through the API, for admins only.

The same accounts as ``rollcall staff create``; passwords are hashed with Argon2id on the
hub's password pool (``hub.auth.passwords``). A password left out of a create is generated and
shown once in the answer. A new password or ``disabled: true`` ends every sign-in of that staff
member (browsers and the kiosks they opened) at once, on every worker.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

import msgspec
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import Response

from hub.api.spec import operation
from hub.auth.accounts import add_staff, parse_permissions
from hub.domain.dates import iso
from hub.envelope import ok
from hub.errors import Conflict, Invalid, NotFound
from hub.http import read_json
from hub.state import caller
from storage import accounts

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=200)]
Permissions = Annotated[list[str], msgspec.Meta(max_length=8)] | str


class StaffIn(msgspec.Struct):
    email: Email
    permissions: Permissions = msgspec.field(default_factory=lambda: ["scan"])
    name: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    password: Password | None = None


class StaffChange(msgspec.Struct):
    permissions: Permissions | None = None
    name: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    password: Password | None = None
    disabled: bool | None = None


class StaffOut(msgspec.Struct):
    id: int
    email: str
    name: str | None
    permissions: list[str]
    disabled: bool
    created_at: str | None


class StaffCreated(StaffOut):
    password: str | None = None  # only when generated: shown this once


def _perms(raw: list[str] | str) -> list[str]:
    try:
        return parse_permissions(raw)
    except ValueError as exc:
        raise Invalid("permissions", str(exc)) from None


def _out(row: Any) -> dict[str, Any]:
    return dict(id=row.id, email=row.email, name=row.name,
                permissions=[p for p in row.permissions.split(",") if p],
                disabled=bool(row.disabled), created_at=iso(row.created_at))


@operation("POST", "/staff", summary="Create a staff user", tag="Staff", request=StaffIn,
           response=StaffCreated, errors=(400, 401, 403, 409, 422),
           links=(("put_staff_staff_id", {"staff_id": "$response.body#/data/id"}),))
async def create(request: Request) -> Response:
    hub, _ = await caller(request, "admin")
    body = await read_json(request, StaffIn)
    perms = _perms(body.permissions)
    password, generated = body.password, None
    if password is None:
        password = generated = secrets.token_urlsafe(12)
    password_hash = await hub.passwords.hash(password)
    try:
        async with hub.tx() as conn:
            if await accounts.staff_by_email(conn, body.email) is not None:
                raise Conflict(f"A staff user {body.email} already exists.")
            sid = await add_staff(conn, email=body.email, password_hash=password_hash,
                                  permissions=perms, name=body.name)
            row = await accounts.staff_by_id(conn, sid)
    except IntegrityError:
        raise Conflict(f"A staff user {body.email} already exists.") from None
    return ok(StaffCreated(**_out(row), password=generated))


@operation("GET", "/staff", summary="List staff users", tag="Staff", response=list[StaffOut],
           errors=(401, 403))
async def list_staff(request: Request) -> Response:
    hub, _ = await caller(request, "admin")
    async with hub.read() as conn:
        rows = await accounts.staff_list(conn)
    return ok([StaffOut(**_out(r)) for r in rows])


@operation("PUT", "/staff/{staff_id}", summary="Change a staff user", tag="Staff",
           request=StaffChange, response=StaffOut, errors=(400, 401, 403, 404, 422),
           description="Null or omitted fields are left as they are. A new password or "
           "disabled: true signs the user out everywhere at once (every browser and every "
           "kiosk they opened); re-enabling does not bring those sign-ins back.")
async def change(request: Request) -> Response:
    hub, _ = await caller(request, "admin")
    raw = request.path_params["staff_id"]
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) <= accounts.MAX_ID:
        raise NotFound("No such staff user.")
    staff_id = int(raw)
    body = await read_json(request, StaffChange)
    values: dict[str, Any] = {}
    if body.permissions is not None:
        values["permissions"] = ",".join(_perms(body.permissions))
    if body.name is not None:
        values["name"] = body.name.strip() or None
    if body.password is not None:
        values["password_hash"] = await hub.passwords.hash(body.password)
    if body.disabled is not None:
        values["disabled"] = body.disabled
    async with hub.tx() as conn:
        if values:
            await accounts.update_staff(conn, staff_id, values)
        if body.password is not None or body.disabled:
            await accounts.revoke_logins(conn, staff_id)
        row = await accounts.staff_by_id(conn, staff_id)
        if row is None:
            raise NotFound("No such staff user.")
    return ok(StaffOut(**_out(row)))
