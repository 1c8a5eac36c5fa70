"""The event's settings row, its secret key and credit rule, and small helpers shared by the
other storage modules. Keyword-only, connection first."""

from __future__ import annotations

import secrets
import string
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.tables import T_APP, T_SESSIONS

_ALPHABET = string.ascii_lowercase + string.digits


def random_id(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def insert_ignore(
    conn: AsyncConnection, table: sa.Table, index_elements: Sequence[str]
) -> Any:
    """An INSERT that skips rows colliding on ``index_elements`` (both dialects)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=list(index_elements))
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=list(index_elements))


async def ensure_app_row(conn: AsyncConnection) -> None:
    await conn.execute(insert_ignore(conn, T_APP, ["id"]), [{"id": 1}])


async def app_row(conn: AsyncConnection) -> Any:
    await ensure_app_row(conn)
    return (await conn.execute(sa.select(T_APP).where(T_APP.c.id == 1))).one()


async def resolve_secret_key(conn: AsyncConnection, configured: str | None) -> str:
    """The configured secret, else one generated once and kept in the database, so that
    every worker on every host signs cookies alike."""
    if configured:
        return configured
    row = await app_row(conn)
    if row.secret_key:
        return str(row.secret_key)
    candidate = secrets.token_urlsafe(32)
    await conn.execute(
        sa.update(T_APP)
        .where(T_APP.c.id == 1, T_APP.c.secret_key.is_(None))
        .values(secret_key=candidate)
    )
    row = (await conn.execute(sa.select(T_APP.c.secret_key).where(T_APP.c.id == 1))).one()
    return str(row.secret_key)


async def update_app(conn: AsyncConnection, values: dict[str, Any]) -> None:
    """Change the event's settings."""
    await ensure_app_row(conn)
    await conn.execute(sa.update(T_APP).where(T_APP.c.id == 1).values(**values))


# --- CE credit rules (the event's, and a session's override) --------------------------------


async def app_credit_rule(conn: AsyncConnection) -> Any:
    await ensure_app_row(conn)
    return (await conn.execute(sa.select(T_APP.c.credit_rule).where(T_APP.c.id == 1))).scalar()


async def set_app_credit_rule(conn: AsyncConnection, rule: dict[str, Any] | None) -> None:
    await update_app(conn, {"credit_rule": rule})


async def session_credit_rule(conn: AsyncConnection, session_id: str) -> tuple[bool, Any]:
    """(the session exists, its credit rule override)."""
    row = (await conn.execute(sa.select(T_SESSIONS.c.credit_rule)
                              .where(T_SESSIONS.c.id == session_id))).first()
    return (False, None) if row is None else (True, row.credit_rule)


async def set_session_credit_rule(conn: AsyncConnection, session_id: str,
                                  rule: dict[str, Any] | None) -> bool:
    """False when there is no such session."""
    n = (await conn.execute(sa.update(T_SESSIONS).where(T_SESSIONS.c.id == session_id)
                            .values(credit_rule=rule))).rowcount
    return bool(n)
