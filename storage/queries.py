"""Small storage helpers shared across use cases. Keyword-only, connection first."""

from __future__ import annotations

import secrets
import string
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.models import T_APP

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
