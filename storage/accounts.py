"""API keys and staff accounts. Keys are stored as digests, passwords as hashes: this module
never sees a secret in the clear."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.tables import T_API_KEYS, T_STAFF, T_STAFF_LOGINS

# Ids are 32-bit integers on PostgreSQL: a larger one names no row.
MAX_ID = 2**31 - 1


# --- API keys ------------------------------------------------------------------------------


async def insert_api_key(conn: AsyncConnection, *, description: str, key_hash: str,
                         prefix: str, at: dt.datetime) -> int:
    result = await conn.execute(
        sa.insert(T_API_KEYS)
        .values(description=description, key_hash=key_hash, prefix=prefix, created_at=at)
        .returning(T_API_KEYS.c.id))
    return int(result.scalar_one())


async def api_key_by_hash(conn: AsyncConnection, key_hash: str) -> Any:
    """(id, key_hash, disabled_at) of the key with that digest, or None."""
    return (await conn.execute(
        sa.select(T_API_KEYS.c.id, T_API_KEYS.c.key_hash, T_API_KEYS.c.disabled_at)
        .where(T_API_KEYS.c.key_hash == key_hash))).first()


async def api_keys(conn: AsyncConnection) -> list[Any]:
    return list(await conn.execute(sa.select(T_API_KEYS).order_by(T_API_KEYS.c.id)))


async def disable_api_key(conn: AsyncConnection, key_id: int, at: dt.datetime) -> bool | None:
    """Disable the key: True if it was enabled, False if already disabled, None if there is
    no such key."""
    if not 0 < key_id <= MAX_ID:
        return None
    result = await conn.execute(
        sa.update(T_API_KEYS)
        .where(T_API_KEYS.c.id == key_id, T_API_KEYS.c.disabled_at.is_(None))
        .values(disabled_at=at))
    if result.rowcount:
        return True
    exists = (await conn.execute(
        sa.select(T_API_KEYS.c.id).where(T_API_KEYS.c.id == key_id))).first()
    return False if exists else None


# --- staff ---------------------------------------------------------------------------------


async def insert_staff(conn: AsyncConnection, *, email: str, name: str | None,
                       password_hash: str, permissions: str, at: dt.datetime) -> int:
    result = await conn.execute(
        sa.insert(T_STAFF)
        .values(email=email, name=name, password_hash=password_hash, permissions=permissions,
                disabled=False, created_at=at)
        .returning(T_STAFF.c.id))
    return int(result.scalar_one())


async def staff_by_id(conn: AsyncConnection, staff_id: int) -> Any:
    """The staff row, or None."""
    if not 0 < staff_id <= MAX_ID:
        return None
    return (await conn.execute(sa.select(T_STAFF).where(T_STAFF.c.id == staff_id))).first()


async def staff_by_email(conn: AsyncConnection, email: str) -> Any:
    """The staff row for an email (stored lower-cased), or None."""
    return (await conn.execute(
        sa.select(T_STAFF).where(T_STAFF.c.email == email.strip().lower()))).first()


async def staff_list(conn: AsyncConnection) -> list[Any]:
    return list(await conn.execute(sa.select(T_STAFF).order_by(T_STAFF.c.id)))


async def update_staff(conn: AsyncConnection, staff_id: int, values: dict[str, Any]) -> None:
    await conn.execute(sa.update(T_STAFF).where(T_STAFF.c.id == staff_id).values(**values))


async def revoke_logins(conn: AsyncConnection, staff_id: int) -> None:
    """Void every sign-in of the staff member (their cookies and the kiosks they opened),
    including one being opened right now: its generation is older from this commit on."""
    await conn.execute(
        sa.update(T_STAFF).where(T_STAFF.c.id == staff_id)
        .values(login_generation=T_STAFF.c.login_generation + 1))
    await conn.execute(sa.delete(T_STAFF_LOGINS).where(T_STAFF_LOGINS.c.staff_id == staff_id))


# --- staff sign-ins ------------------------------------------------------------------------


async def insert_login(conn: AsyncConnection, *, login_id: str, staff_id: int, generation: int,
                       kiosk_session: str | None, at: dt.datetime,
                       expires_at: dt.datetime) -> None:
    await conn.execute(sa.insert(T_STAFF_LOGINS).values(
        id=login_id, staff_id=staff_id, generation=generation, kiosk_session=kiosk_session,
        created_at=at, expires_at=expires_at))


async def staff_by_login(conn: AsyncConnection, *, staff_id: int, login_id: str,
                         kiosk_session: str | None, at: dt.datetime) -> Any:
    """The staff row behind a live sign-in, or None: the sign-in must exist, belong to
    ``staff_id``, be of the same kind (a kiosk's of that session, or a plain staff one), not
    have expired, and be of the staff member's current generation; the staff member must not
    be disabled."""
    if not 0 < staff_id <= MAX_ID:
        return None
    s, lg = T_STAFF, T_STAFF_LOGINS
    kind = (lg.c.kiosk_session.is_(None) if kiosk_session is None
            else lg.c.kiosk_session == kiosk_session)
    return (await conn.execute(
        sa.select(s).select_from(s.join(lg, lg.c.staff_id == s.c.id))
        .where(lg.c.id == login_id, s.c.id == staff_id, kind, lg.c.expires_at > at,
               lg.c.generation == s.c.login_generation, s.c.disabled.is_(False)))).first()


async def delete_login(conn: AsyncConnection, login_id: str) -> None:
    await conn.execute(sa.delete(T_STAFF_LOGINS).where(T_STAFF_LOGINS.c.id == login_id))


async def forget_expired_logins(conn: AsyncConnection, at: dt.datetime) -> int:
    """Delete sign-ins that expired before ``at``; return how many."""
    result = await conn.execute(
        sa.delete(T_STAFF_LOGINS).where(T_STAFF_LOGINS.c.expires_at <= at))
    return int(result.rowcount or 0)
