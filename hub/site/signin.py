"""Browser sign-in: staff, kiosk mode and attendee identification, as signed cookies.

All cookies are signed (``hub.signer``), HttpOnly and SameSite=Lax; every POST here must echo
the CSRF cookie (``hub.auth.cookies.check_cross_site``), so another site cannot sign a browser in or
out. A kiosk sign-in drops the staff cookie: the tablet is then locked to one session and can
do nothing else until the same staff member's password unlocks it.
"""

from __future__ import annotations

import hmac
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.auth.accounts import login_staff, staff_principal, verify_password
from hub.auth.cookies import (
    ATTENDEE_COOKIE,
    COOKIE_MAX_AGE,
    KIOSK_COOKIE,
    STAFF_COOKIE,
    check_cross_site,
    ensure_csrf_cookie,
    is_https,
)
from hub.auth.principal import may_scan
from hub.auth.throttle import Key, attendee_keys, staff_keys
from hub.envelope import ok
from hub.errors import CheckinRefused, Conflict, Forbidden, Invalid, NotFound, Unauthorized
from hub.http import read_json
from hub.state import Hub, hub_of
from storage import accounts, attendees
from storage.app import app_row
from storage.sessions import get_session

CUSTOM_FIELDS = tuple(f"field_{n}" for n in range(1, 6))


class StaffLogin(msgspec.Struct):
    email: str
    password: str


class KioskLogin(msgspec.Struct):
    email: str
    password: str
    session_id: str


class KioskExit(msgspec.Struct):
    password: str


class AttendeeLogin(msgspec.Struct):
    identifier: str
    app_password: str | None = None


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _staff_password(request: Request, hub: Hub, email: str, password: str) -> Any:
    """The staff principal for ``email`` and ``password``, counting failures (429 when too
    many); raises Unauthorized when they do not match."""
    throttle, keys = hub.throttle, staff_keys(_address(request), email)
    await throttle.check(keys)
    async with hub.read() as conn:
        p = await login_staff(conn, email, password)
    if p is None:
        await throttle.failed(keys)
        raise Unauthorized("That email and password do not match a staff account.")
    await throttle.succeeded(keys)
    return p


def _set(request: Request, response: Response, name: str, value: dict[str, Any]) -> None:
    response.set_cookie(
        name,
        hub_of(request).signer.dumps(value),
        max_age=COOKIE_MAX_AGE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(request, hub_of(request).settings.public_url),
    )


def _clear(response: Response, *names: str) -> None:
    for name in names:
        response.delete_cookie(name, path="/", httponly=True, samesite="lax")


def _staff_json(p: Any, email: str, name: str | None) -> dict[str, Any]:
    return {"id": p.staff_id, "email": email, "name": name, "permissions": sorted(p.permissions)}


async def me(request: Request) -> Response:
    """Who this browser is signed in as (each cookie on its own), and the event's basics."""
    hub = hub_of(request)
    out: dict[str, Any] = {"staff": None, "kiosk": None, "attendee": None}
    async with hub.read() as conn:
        staff = hub.signer.loads(request.cookies.get(STAFF_COOKIE))
        if staff and isinstance(staff.get("sid"), int):
            p = await staff_principal(conn, staff["sid"])
            if p is not None:
                assert p.staff_id is not None
                row = await accounts.staff_by_id(conn, p.staff_id)
                out["staff"] = _staff_json(p, row.email, row.name)
        kiosk = hub.signer.loads(request.cookies.get(KIOSK_COOKIE))
        if kiosk and isinstance(kiosk.get("sid"), int) and isinstance(kiosk.get("session"), str):
            if await staff_principal(conn, kiosk["sid"]) is not None:
                out["kiosk"] = {"session_id": kiosk["session"]}
        att = hub.signer.loads(request.cookies.get(ATTENDEE_COOKIE))
        if att and isinstance(att.get("aid"), int):
            arow = await attendees.names_of(conn, att["aid"])
            if arow is not None:
                out["attendee"] = {"id": arow.id, "first_name": arow.first_name,
                                   "last_name": arow.last_name}
    response = ok(out)
    response.headers["cache-control"] = "no-store"
    ensure_csrf_cookie(request, response, hub.settings.public_url)
    return response


async def staff_login(request: Request) -> Response:
    check_cross_site(request)
    body = await read_json(request, StaffLogin)
    hub = hub_of(request)
    p = await _staff_password(request, hub, body.email, body.password)
    async with hub.read() as conn:
        row = await accounts.staff_by_id(conn, p.staff_id)
    response = ok({"staff": _staff_json(p, row.email, row.name)})
    _set(request, response, STAFF_COOKIE, {"sid": p.staff_id})
    _clear(response, KIOSK_COOKIE)
    return response


async def logout(request: Request) -> Response:
    """Sign out staff and attendee. A kiosk leaves only through ``kiosk_exit``."""
    check_cross_site(request)
    response = ok(None)
    _clear(response, STAFF_COOKIE, ATTENDEE_COOKIE)
    return response


async def kiosk_login(request: Request) -> Response:
    check_cross_site(request)
    body = await read_json(request, KioskLogin)
    hub = hub_of(request)
    p = await _staff_password(request, hub, body.email, body.password)
    if not may_scan(p):
        raise Forbidden("Opening a kiosk needs the scan permission.")
    async with hub.read() as conn:
        found = await get_session(conn, body.session_id)
        if found is None:
            raise NotFound(f"No session {body.session_id!r}.")
    response = ok({"kiosk": {"session_id": body.session_id}})
    _set(request, response, KIOSK_COOKIE, {"sid": p.staff_id, "session": body.session_id})
    _clear(response, STAFF_COOKIE, ATTENDEE_COOKIE)
    return response


async def kiosk_exit(request: Request) -> Response:
    """Unlock the tablet: the password of the staff member who locked it."""
    check_cross_site(request)
    body = await read_json(request, KioskExit)
    hub = hub_of(request)
    kiosk = hub.signer.loads(request.cookies.get(KIOSK_COOKIE))
    if not kiosk or not isinstance(kiosk.get("sid"), int):
        response = ok(None)
        _clear(response, KIOSK_COOKIE)
        return response
    throttle = hub.throttle
    keys = [Key(k.item, ("kiosk-exit", *k.parts[1:]))
            for k in staff_keys(_address(request), str(kiosk["sid"]))]
    await throttle.check(keys)
    async with hub.read() as conn:
        row = await accounts.staff_by_id(conn, kiosk["sid"])
    if row is not None and not verify_password(row.password_hash, body.password):
        await throttle.failed(keys)
        raise Unauthorized("That password is not the one that opened this kiosk.")
    response = ok(None)
    _clear(response, KIOSK_COOKIE)
    return response


async def attendee_login(request: Request) -> Response:
    """Identify an attendee by email or a labelled custom field (e.g. "Registration ID"),
    plus the app password when the event has one."""
    check_cross_site(request)
    body = await read_json(request, AttendeeLogin)
    ident = body.identifier.strip()
    if not ident:
        raise Invalid("identifier", "must not be empty")
    if len(ident) > 320:
        raise Invalid("identifier", "is too long")
    hub = hub_of(request)
    throttle, keys = hub.throttle, attendee_keys(_address(request))
    await throttle.check(keys)
    async with hub.tx() as conn:
        app = await app_row(conn)
        if app.app_password:
            given = (body.app_password or "").strip()
            if not hmac.compare_digest(given.encode(), app.app_password.strip().encode()):
                await throttle.failed(keys)
                raise Unauthorized("That event password is not right.")
        labelled = [name for name in CUSTOM_FIELDS if getattr(app, f"custom_attendee_{name}")]
        rows = await attendees.identify(conn, ident, labelled)
    by_email = [r for r in rows if r.email_lower == ident.lower()]
    if by_email:
        rows = by_email
    if not rows:
        await throttle.failed(keys)
        raise CheckinRefused("unknown_attendee",
                             "We could not find you. Check the spelling, or ask at the desk.")
    if len({r.id for r in rows}) > 1:
        raise Conflict("More than one attendee matches that. Please use your email address.")
    row = rows[0]
    response = ok({"attendee": {"id": row.id, "first_name": row.first_name,
                                "last_name": row.last_name}})
    _set(request, response, ATTENDEE_COOKIE, {"aid": row.id})
    return response


routes = [
    Route("/auth/me", me, methods=["GET"]),
    Route("/auth/staff", staff_login, methods=["POST"]),
    Route("/auth/logout", logout, methods=["POST"]),
    Route("/auth/kiosk", kiosk_login, methods=["POST"]),
    Route("/auth/kiosk/exit", kiosk_exit, methods=["POST"]),
    Route("/auth/attendee", attendee_login, methods=["POST"]),
]
