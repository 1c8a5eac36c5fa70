"""Browser sign-ins: signed, HttpOnly cookies (itsdangerous), the CSRF double-submit token,
and resolving any caller (API key header or cookie) to a Principal.

A staff or kiosk cookie names its sign-in (``{"sid": staff id, "lid": sign-in id}``, plus
``"session"`` for a kiosk); it signs someone in only while that sign-in is live in the
database (``hub.auth.accounts.login_principal``), so revoking it takes effect at the next
request on every worker. A cookie from before sign-ins were recorded (no ``lid``) signs nobody
in. Attendee cookies name the attendee only: they grant no more than the attendee's own page.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from hub.auth.accounts import SIGN_IN_MAX_AGE_S, login_principal, principal_for_api_key
from hub.auth.principal import Principal
from hub.errors import CsrfRejected, Unauthorized

STAFF_COOKIE = "rollcall_staff"
ATTENDEE_COOKIE = "rollcall_attendee"
KIOSK_COOKIE = "rollcall_kiosk"
# Double-submit CSRF token: a random, JS-readable cookie the pages echo in X-CSRF-Token.
CSRF_COOKIE = "rollcall_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
COOKIE_MAX_AGE = SIGN_IN_MAX_AGE_S


class Signer:
    """Signs and reads the browser cookies, and the attendee sign-in links a host app hands
    out (a different salt: a cookie is never a link, nor a link a cookie). One per app, built
    from the secret key."""

    def __init__(self, secret: str) -> None:
        self._s = URLSafeTimedSerializer(secret, salt="rollcall-cookie")
        self._links = URLSafeTimedSerializer(secret, salt="rollcall-attendee-link")

    def link_token(self, attendee_id: int, expires_at: int) -> str:
        """A token that signs the attendee in until ``expires_at`` (Unix seconds)."""
        return str(self._links.dumps({"aid": attendee_id, "exp": expires_at}))

    def read_link(self, token: str, now: float) -> int:
        """The attendee a link token names. Raises Unauthorized ``link_invalid`` (tampered,
        malformed, or signed with another key) or ``link_expired``."""
        try:
            value = self._links.loads(token)
        except BadSignature:
            raise Unauthorized("This sign-in link is not valid.", reason="link_invalid") from None
        if (not isinstance(value, dict) or not isinstance(value.get("aid"), int)
                or not isinstance(value.get("exp"), int)):
            raise Unauthorized("This sign-in link is not valid.", reason="link_invalid")
        if value["exp"] <= now:
            raise Unauthorized("This sign-in link has expired; ask for a new one.",
                               reason="link_expired")
        return int(value["aid"])

    def dumps(self, payload: dict[str, Any]) -> str:
        return str(self._s.dumps(payload))

    def loads(self, token: str | None, max_age: int = COOKIE_MAX_AGE) -> dict[str, Any] | None:
        if not token:
            return None
        try:
            value = self._s.loads(token, max_age=max_age)
        except BadSignature:
            return None
        return value if isinstance(value, dict) else None


def check_cross_site(request: HTTPConnection) -> None:
    """Refuse a cookie-authenticated request another site could have forged.

    HTTP: an unsafe method must echo the CSRF cookie in the ``X-CSRF-Token`` header (a page
    of another origin can neither read our cookie nor set that header on a form post).
    WebSocket: the handshake's ``Origin``, when the browser sends one, must be this host.
    API-Key callers never reach this (they send no ambient credentials).
    """
    if request.scope.get("type") == "websocket":
        origin = request.headers.get("origin")
        if origin and urlsplit(origin).netloc.lower() != request.headers.get("host", "").lower():
            raise CsrfRejected("This page may not open a connection from another site.")
        return
    if request.scope.get("method", "GET") in SAFE_METHODS:
        return
    cookie = request.cookies.get(CSRF_COOKIE, "")
    header = request.headers.get(CSRF_HEADER, "")
    if not cookie or not header or not hmac.compare_digest(cookie, header):
        raise CsrfRejected(
            "This form was not sent by a Rollcall page (missing or wrong X-CSRF-Token); "
            "reload the page and try again."
        )


async def authenticate(
    conn: AsyncConnection, request: HTTPConnection, signer: Signer
) -> Principal:
    """Resolve the caller, or raise Unauthorized.

    Order: the ``API-Key`` header; the staff cookie; the kiosk cookie; the attendee cookie.
    A cookie-authenticated unsafe request must pass ``check_cross_site`` (403 ``csrf``).
    """
    key = request.headers.get("api-key")
    if key:
        return await principal_for_api_key(conn, key)
    principal = await _cookie_principal(conn, request, signer)
    if principal is None:
        raise Unauthorized("Send an API-Key header, or sign in.")
    check_cross_site(request)
    return principal


async def _cookie_principal(
    conn: AsyncConnection, request: HTTPConnection, signer: Signer
) -> Principal | None:
    staff = await staff_cookie(conn, request, signer)
    if staff is not None:
        return staff[0]
    kiosk = await kiosk_cookie(conn, request, signer)
    if kiosk is not None:
        return kiosk
    attendee = signer.loads(request.cookies.get(ATTENDEE_COOKIE))
    if attendee and isinstance(attendee.get("aid"), int):
        return Principal(
            kind="attendee", actor=f"attendee:{attendee['aid']}", attendee_id=attendee["aid"]
        )
    return None


def login_of(request: HTTPConnection, signer: Signer, cookie: str) -> str | None:
    """The sign-in id a signed staff or kiosk cookie names (live or not), or None."""
    value = signer.loads(request.cookies.get(cookie))
    lid = value.get("lid") if value else None
    return lid if isinstance(lid, str) else None


async def staff_cookie(
    conn: AsyncConnection, request: HTTPConnection, signer: Signer
) -> tuple[Principal, Any] | None:
    """The staff principal and row of a live staff cookie, or None."""
    value = signer.loads(request.cookies.get(STAFF_COOKIE))
    if value and isinstance(value.get("sid"), int) and isinstance(value.get("lid"), str):
        return await login_principal(conn, value["sid"], value["lid"])
    return None


async def kiosk_cookie(
    conn: AsyncConnection, request: HTTPConnection, signer: Signer
) -> Principal | None:
    """The kiosk principal (locked to its session) of a live kiosk cookie, or None."""
    value = signer.loads(request.cookies.get(KIOSK_COOKIE))
    if not value:
        return None
    sid, lid, session = value.get("sid"), value.get("lid"), value.get("session")
    if not (isinstance(sid, int) and isinstance(lid, str) and isinstance(session, str)):
        return None
    found = await login_principal(conn, sid, lid, kiosk_session=session)
    if found is None:
        return None
    return Principal(kind="kiosk", actor=found[0].actor, staff_id=sid, session_id=session)


def is_https(request: Request, public_url: str) -> bool:
    """Mark cookies Secure when the browser reached us over https (directly, through a proxy
    uvicorn trusts, or as the configured public URL says)."""
    return request.url.scheme == "https" or public_url.startswith("https://")


def ensure_csrf_cookie(request: Request, response: Response, public_url: str) -> None:
    """Give the browser its double-submit token if it has none (readable by our scripts)."""
    if request.cookies.get(CSRF_COOKIE):
        return
    response.set_cookie(
        CSRF_COOKIE,
        secrets.token_urlsafe(24),
        max_age=30 * 24 * 3600,
        path="/",
        httponly=False,
        samesite="strict",
        secure=is_https(request, public_url),
    )
