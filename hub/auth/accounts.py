"""API keys and staff accounts: creating them, checking their secrets, resolving them to a
Principal.

API keys are stored as SHA-256 digests (they are long random tokens, so a fast hash is the
right tool) and compared in constant time; every request reads the key row (the door caches
the principal for 30 s but re-reads the key's enabled flag inside every batch), so disabling
a key takes effect at once on every worker. Staff passwords are hashed with Argon2id (the
hub runs hashes and checks on ``hub.auth.passwords``' pool); every staff sign-in is a row that
its cookie names, so signing out, a password change and disabling end it at once on every
worker.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.auth.principal import PERMISSIONS, Principal
from hub.domain.dates import now
from hub.errors import Unauthorized
from storage import accounts

_hasher = PasswordHasher()

# A staff sign-in (and its cookie) lasts at most this long.
SIGN_IN_MAX_AGE_S = 14 * 24 * 3600


# --- API keys ---------------------------------------------------------------------------


def new_api_key() -> str:
    return "rc_" + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_api_key(conn: AsyncConnection, *, description: str) -> tuple[int, str]:
    """A new key: (its id, the key itself, shown once)."""
    key = new_api_key()
    key_id = await accounts.insert_api_key(conn, description=description,
                                           key_hash=hash_api_key(key), prefix=key[:8],
                                           at=now())
    return key_id, key


async def principal_for_api_key(conn: AsyncConnection, key: str) -> Principal:
    digest = hash_api_key(key)
    row = await accounts.api_key_by_hash(conn, digest)
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
    """A new staff member, hashing ``password`` here (command line, demo: off the hub's
    loop; the hub itself hashes on its pool and calls ``add_staff``)."""
    return await add_staff(conn, email=email, password_hash=hash_password(password),
                           permissions=permissions, name=name)


async def add_staff(
    conn: AsyncConnection,
    *,
    email: str,
    password_hash: str,
    permissions: list[str],
    name: str | None = None,
) -> int:
    return await accounts.insert_staff(
        conn, email=email.strip().lower(), name=name, password_hash=password_hash,
        permissions=",".join(permissions), at=now())


def principal_of(row: Any) -> Principal:
    """The staff principal of a staff row."""
    perms = frozenset(p for p in row.permissions.split(",") if p)
    return Principal(kind="staff", actor=f"staff:{row.email}", permissions=perms,
                     staff_id=row.id)


async def open_login(conn: AsyncConnection, row: Any, *, kiosk_session: str | None = None) -> str:
    """Record a sign-in of the staff member of ``row`` (as read when the password was
    checked) and return its id, which the cookie carries. It lives ``SIGN_IN_MAX_AGE_S``,
    until signed out, or until the staff member's password changes or they are disabled,
    whichever comes first (a change after ``row`` was read voids it too)."""
    login_id = secrets.token_urlsafe(16)
    at = now()
    await accounts.insert_login(
        conn, login_id=login_id, staff_id=row.id, generation=row.login_generation,
        kiosk_session=kiosk_session, at=at,
        expires_at=at + dt.timedelta(seconds=SIGN_IN_MAX_AGE_S))
    return login_id


async def login_principal(conn: AsyncConnection, staff_id: int, login_id: str, *,
                          kiosk_session: str | None = None) -> tuple[Principal, Any] | None:
    """The principal and staff row behind a live sign-in, or None (signed out, revoked,
    expired, disabled)."""
    row = await accounts.staff_by_login(conn, staff_id=staff_id, login_id=login_id,
                                        kiosk_session=kiosk_session, at=now())
    return None if row is None else (principal_of(row), row)
