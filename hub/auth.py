"""Who is asking: API keys, staff logins, kiosks and attendees, resolved to a Principal.

API keys are stored as SHA-256 digests (they are long random tokens, so a fast hash is the
right tool) and compared in constant time; every request reads the key row (the door caches
the principal for 30 s but re-reads the key's enabled flag inside every batch), so disabling
a key takes effect at once on every worker. Staff passwords are hashed with Argon2id.
Browser logins are signed, HttpOnly cookies (itsdangerous).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import HTTPConnection

from hub.errors import CsrfRejected, Forbidden, Unauthorized
from storage.models import T_API_KEYS, T_STAFF

PERMISSIONS = ("scan", "override", "moderate", "admin")

STAFF_COOKIE = "rollcall_staff"
ATTENDEE_COOKIE = "rollcall_attendee"
KIOSK_COOKIE = "rollcall_kiosk"
# Double-submit CSRF token: a random, JS-readable cookie the pages echo in X-CSRF-Token.
CSRF_COOKIE = "rollcall_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
COOKIE_MAX_AGE = 14 * 24 * 3600

_hasher = PasswordHasher()


@dataclass(frozen=True)
class Principal:
    """The caller. ``actor`` is what records keep as "who did it"."""

    kind: str  # "api_key" | "staff" | "kiosk" | "attendee" | "moderator"
    actor: str
    permissions: frozenset[str] = field(default_factory=frozenset)
    staff_id: int | None = None
    attendee_id: int | None = None
    session_id: str | None = None  # a kiosk's or a moderator's session

    def can(self, permission: str) -> bool:
        if self.kind == "api_key":
            return True
        if "admin" in self.permissions:
            return True
        return permission in self.permissions

    def require(self, permission: str) -> None:
        if not self.can(permission):
            raise Forbidden(f"This needs the {permission} permission.")


# --- API keys ---------------------------------------------------------------------------


def new_api_key() -> str:
    return "rc_" + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_api_key(conn: AsyncConnection, *, description: str) -> tuple[int, str]:
    key = new_api_key()
    result = await conn.execute(
        sa.insert(T_API_KEYS)
        .values(
            description=description,
            key_hash=hash_api_key(key),
            prefix=key[:8],
            created_at=datetime.now(UTC),
        )
        .returning(T_API_KEYS.c.id)
    )
    return int(result.scalar_one()), key


async def principal_for_api_key(conn: AsyncConnection, key: str) -> Principal:
    digest = hash_api_key(key)
    row = (
        await conn.execute(
            sa.select(T_API_KEYS.c.id, T_API_KEYS.c.key_hash, T_API_KEYS.c.disabled_at).where(
                T_API_KEYS.c.key_hash == digest
            )
        )
    ).first()
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        raise Unauthorized("Unknown API key.")
    if row.disabled_at is not None:
        raise Unauthorized("This API key has been disabled.")
    return Principal(kind="api_key", actor=f"api_key:{row.id}")


# --- staff ------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def parse_permissions(raw: str | list[str] | None) -> list[str]:
    """Normalise ``"scan,override"`` or a list; raise ValueError on an unknown permission."""
    if raw is None:
        return []
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    perms = []
    for item in items:
        p = item.strip().lower()
        if not p:
            continue
        if p not in PERMISSIONS:
            raise ValueError(f"unknown permission {p!r}; choose from {', '.join(PERMISSIONS)}")
        if p not in perms:
            perms.append(p)
    return perms


async def create_staff(
    conn: AsyncConnection,
    *,
    email: str,
    password: str,
    permissions: list[str],
    name: str | None = None,
) -> int:
    result = await conn.execute(
        sa.insert(T_STAFF)
        .values(
            email=email.strip().lower(),
            name=name,
            password_hash=hash_password(password),
            permissions=",".join(permissions),
            disabled=False,
            created_at=datetime.now(UTC),
        )
        .returning(T_STAFF.c.id)
    )
    return int(result.scalar_one())


async def staff_principal(conn: AsyncConnection, staff_id: int) -> Principal | None:
    row = (
        await conn.execute(
            sa.select(T_STAFF.c.id, T_STAFF.c.email, T_STAFF.c.permissions, T_STAFF.c.disabled)
            .where(T_STAFF.c.id == staff_id)
        )
    ).first()
    if row is None or row.disabled:
        return None
    perms = frozenset(p for p in row.permissions.split(",") if p)
    return Principal(
        kind="staff", actor=f"staff:{row.email}", permissions=perms, staff_id=row.id
    )


async def login_staff(conn: AsyncConnection, email: str, password: str) -> Principal | None:
    row = (
        await conn.execute(
            sa.select(T_STAFF.c.id, T_STAFF.c.password_hash, T_STAFF.c.disabled).where(
                T_STAFF.c.email == email.strip().lower()
            )
        )
    ).first()
    if row is None or row.disabled or not verify_password(row.password_hash, password):
        return None
    return await staff_principal(conn, row.id)


# --- signed cookies ---------------------------------------------------------------------


class Signer:
    """Signs and reads the browser cookies. One per app, built from the secret key."""

    def __init__(self, secret: str) -> None:
        self._s = URLSafeTimedSerializer(secret, salt="rollcall-cookie")

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
    staff = signer.loads(request.cookies.get(STAFF_COOKIE))
    if staff and isinstance(staff.get("sid"), int):
        p = await staff_principal(conn, staff["sid"])
        if p is not None:
            return p
    kiosk = signer.loads(request.cookies.get(KIOSK_COOKIE))
    if kiosk and isinstance(kiosk.get("session"), str) and isinstance(kiosk.get("sid"), int):
        p = await staff_principal(conn, kiosk["sid"])
        if p is not None:
            return Principal(
                kind="kiosk",
                actor=p.actor,
                staff_id=p.staff_id,
                session_id=kiosk["session"],
            )
    attendee = signer.loads(request.cookies.get(ATTENDEE_COOKIE))
    if attendee and isinstance(attendee.get("aid"), int):
        return Principal(
            kind="attendee", actor=f"attendee:{attendee['aid']}", attendee_id=attendee["aid"]
        )
    return None
