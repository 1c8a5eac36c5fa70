"""Browser sign-in: staff, kiosk mode and attendee identification, as signed cookies.

All cookies are signed (``hub.auth.cookies.Signer``), HttpOnly and SameSite=Lax; every POST
here must echo the CSRF cookie (``hub.auth.cookies.check_cross_site``), so another site cannot
sign a browser in or out. A kiosk sign-in drops the staff cookie: the tablet is then locked
to one session and can do nothing else until the same staff member's password unlocks it.
Every staff and kiosk sign-in is recorded (``hub.auth.accounts.open_login``) and its cookie
names it: signing out, unlocking a kiosk, a password change and disabling end it at once on
every worker.
"""

from __future__ import annotations

import hmac
import html
import time
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from hub.auth.accounts import open_login, principal_of
from hub.auth.cookies import (
    ATTENDEE_COOKIE,
    COOKIE_MAX_AGE,
    KIOSK_COOKIE,
    STAFF_COOKIE,
    check_cross_site,
    ensure_csrf_cookie,
    is_https,
    kiosk_cookie,
    login_of,
    staff_cookie,
)
from hub.auth.principal import may_scan
from hub.auth.throttle import Key, attendee_keys, staff_keys
from hub.envelope import ok
from hub.errors import CheckinRefused, Conflict, Forbidden, Invalid, NotFound, Unauthorized
from hub.http import read_json
from hub.site.pages import SECURITY_HEADERS
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
    """The client's address, as ``hub.http.ClientAddress`` settled it."""
    return request.client.host if request.client else "unknown"


async def _staff_password(request: Request, hub: Hub, keys: list[Key], email: str,
                          password: str) -> Any:
    """The staff row for ``email`` and ``password``. The attempt is counted first (429 when
    too many); the password is checked on the pool (an unknown or disabled account against
    the dummy hash, as slowly); Unauthorized when they do not match."""
    attempt = await hub.throttle.attempt(keys)
    async with hub.read() as conn:
        row = await accounts.staff_by_email(conn, email)
    usable = row is not None and not row.disabled
    if not await hub.passwords.verify(row.password_hash if usable else None, password):
        raise Unauthorized("That email and password do not match a staff account.")
    await attempt.succeeded(clear_account=True)
    return row


async def _end(conn: AsyncConnection, request: Request, hub: Hub, cookie: str) -> None:
    """End the sign-in the browser's ``cookie`` names, if any (the browser gives it up)."""
    lid = login_of(request, hub.signer, cookie)
    if lid is not None:
        await accounts.delete_login(conn, lid)


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
        staff = await staff_cookie(conn, request, hub.signer)
        if staff is not None:
            p, row = staff
            out["staff"] = _staff_json(p, row.email, row.name)
        kiosk = await kiosk_cookie(conn, request, hub.signer)
        if kiosk is not None:
            out["kiosk"] = {"session_id": kiosk.session_id}
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
    row = await _staff_password(request, hub, staff_keys(_address(request), body.email),
                                body.email, body.password)
    async with hub.tx() as conn:
        lid = await open_login(conn, row)
        await _end(conn, request, hub, STAFF_COOKIE)
        await _end(conn, request, hub, KIOSK_COOKIE)
    response = ok({"staff": _staff_json(principal_of(row), row.email, row.name)})
    _set(request, response, STAFF_COOKIE, {"sid": row.id, "lid": lid})
    _clear(response, KIOSK_COOKIE)
    return response


async def logout(request: Request) -> Response:
    """Sign out staff (ending that sign-in on every worker) and attendee. A kiosk leaves
    only through ``kiosk_exit``."""
    check_cross_site(request)
    hub = hub_of(request)
    if login_of(request, hub.signer, STAFF_COOKIE) is not None:
        async with hub.tx() as conn:
            await _end(conn, request, hub, STAFF_COOKIE)
    response = ok(None)
    _clear(response, STAFF_COOKIE, ATTENDEE_COOKIE)
    return response


async def kiosk_login(request: Request) -> Response:
    check_cross_site(request)
    body = await read_json(request, KioskLogin)
    hub = hub_of(request)
    row = await _staff_password(request, hub, staff_keys(_address(request), body.email),
                                body.email, body.password)
    if not may_scan(principal_of(row)):
        raise Forbidden("Opening a kiosk needs the scan permission.")
    async with hub.tx() as conn:
        found = await get_session(conn, body.session_id)
        if found is None:
            raise NotFound(f"No session {body.session_id!r}.")
        lid = await open_login(conn, row, kiosk_session=found.id)
        await _end(conn, request, hub, STAFF_COOKIE)
        await _end(conn, request, hub, KIOSK_COOKIE)
    response = ok({"kiosk": {"session_id": found.id}})
    _set(request, response, KIOSK_COOKIE, {"sid": row.id, "lid": lid, "session": found.id})
    _clear(response, STAFF_COOKIE, ATTENDEE_COOKIE)
    return response


async def kiosk_exit(request: Request) -> Response:
    """Unlock the tablet: the password of the staff member who locked it. A kiosk cookie
    that no longer signs anyone in (revoked, expired) is simply dropped."""
    check_cross_site(request)
    body = await read_json(request, KioskExit)
    hub = hub_of(request)
    async with hub.read() as conn:
        kiosk = await kiosk_cookie(conn, request, hub.signer)
    if kiosk is not None:
        assert kiosk.staff_id is not None
        keys = [Key(k.item, ("kiosk-exit", *k.parts[1:]))
                for k in staff_keys(_address(request), str(kiosk.staff_id))]
        attempt = await hub.throttle.attempt(keys)
        async with hub.read() as conn:
            row = await accounts.staff_by_id(conn, kiosk.staff_id)
        if not await hub.passwords.verify(row.password_hash if row else None, body.password):
            raise Unauthorized("That password is not the one that opened this kiosk.")
        await attempt.succeeded(clear_account=True)
        async with hub.tx() as conn:
            await _end(conn, request, hub, KIOSK_COOKIE)
    response = ok(None)
    _clear(response, KIOSK_COOKIE)
    return response


async def attendee_login(request: Request) -> Response:
    """Identify an attendee by email or a labelled custom field (e.g. "Registration ID"),
    plus the app password when the event has one. Every try is counted first; one that
    finds the attendee is given back."""
    check_cross_site(request)
    body = await read_json(request, AttendeeLogin)
    ident = body.identifier.strip()
    if not ident:
        raise Invalid("identifier", "must not be empty")
    if len(ident) > 320:
        raise Invalid("identifier", "is too long")
    hub = hub_of(request)
    attempt = await hub.throttle.attempt(attendee_keys(_address(request)))
    async with hub.tx() as conn:
        app = await app_row(conn)
        if app.app_password:
            given = (body.app_password or "").strip()
            if not hmac.compare_digest(given.encode(), app.app_password.strip().encode()):
                raise Unauthorized("That event password is not right.")
        labelled = [name for name in CUSTOM_FIELDS if getattr(app, f"custom_attendee_{name}")]
        rows = await attendees.identify(conn, ident, labelled)
    by_email = [r for r in rows if r.email_lower == ident.lower()]
    if by_email:
        rows = by_email
    if not rows:
        raise CheckinRefused("unknown_attendee",
                             "We could not find you. Check the spelling, or ask at the desk.")
    await attempt.succeeded()
    if len({r.id for r in rows}) > 1:
        raise Conflict("More than one attendee matches that. Please use your email address.")
    row = rows[0]
    response = ok({"attendee": {"id": row.id, "first_name": row.first_name,
                                "last_name": row.last_name}})
    _set(request, response, ATTENDEE_COOKIE, {"aid": row.id})
    return response


async def link_login(request: Request) -> Response:
    """A host app's sign-in link (``POST /api/v2/attendees/{external_id}/link``): the
    attendee is signed in and sent on to ``next`` (a path on this hub), else the schedule. A
    tampered or expired link signs nobody in and says so (401)."""
    hub = hub_of(request)
    try:
        aid = hub.signer.read_link(request.path_params["token"], time.time())
    except Unauthorized as exc:
        page = HTMLResponse(
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
            'content="width=device-width, initial-scale=1"><title>Sign-in link</title>'
            '<link rel="stylesheet" href="/static/css/app.css"></head><body><main id="app">'
            f'<p class="notice bad" id="link-problem">{html.escape(exc.message)}</p>'
            '</main></body></html>', status_code=401)
        page.headers.update(SECURITY_HEADERS)
        return page
    async with hub.read() as conn:
        found = await attendees.names_of(conn, aid)
    if found is None:
        raise Unauthorized("This sign-in link is not valid.", reason="link_invalid")
    target = request.query_params.get("next", "/")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = "/"
    response = RedirectResponse(target, status_code=303)
    response.headers["cache-control"] = "no-store"
    response.headers["referrer-policy"] = "no-referrer"
    _set(request, response, ATTENDEE_COOKIE, {"aid": aid})
    _clear(response, STAFF_COOKIE, KIOSK_COOKIE)
    return response


routes = [
    Route("/link/{token}", link_login, methods=["GET"]),
    Route("/auth/me", me, methods=["GET"]),
    Route("/auth/staff", staff_login, methods=["POST"]),
    Route("/auth/logout", logout, methods=["POST"]),
    Route("/auth/kiosk", kiosk_login, methods=["POST"]),
    Route("/auth/kiosk/exit", kiosk_exit, methods=["POST"]),
    Route("/auth/attendee", attendee_login, methods=["POST"]),
]
