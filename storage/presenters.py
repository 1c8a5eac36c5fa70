"""Presenters: a directory shared by sessions, and the session-presenter links."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.app import random_id
from storage.tables import T_PRESENTERS, T_SESSION_PRESENTERS

PRESENTER_ID_LENGTH = 24
_LOCK_KEY = 74212  # pg_advisory_xact_lock key for presenter writes


async def lock_presenters(conn: AsyncConnection) -> None:
    """Serialise presenter find-or-create across transactions until this one ends.

    SQLite already has a single writer (BEGIN IMMEDIATE); on PostgreSQL an advisory lock makes
    two requests naming the same new presenter create it once.
    """
    if conn.dialect.name == "postgresql":
        await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})


async def presenter_by_id(conn: AsyncConnection, pid: str) -> Any:
    if len(pid) > 32:
        return None
    return (
        await conn.execute(sa.select(T_PRESENTERS).where(T_PRESENTERS.c.id == pid))
    ).first()


async def presenter_by_external_id(conn: AsyncConnection, external_id: str) -> Any:
    p = T_PRESENTERS.c
    return (
        await conn.execute(
            sa.select(T_PRESENTERS).where(p.external_id == external_id).order_by(p.id).limit(1)
        )
    ).first()


async def presenter_by_name(conn: AsyncConnection, name: str) -> Any:
    p = T_PRESENTERS.c
    return (
        await conn.execute(sa.select(T_PRESENTERS).where(p.name == name).order_by(p.id).limit(1))
    ).first()


async def external_id_taken(conn: AsyncConnection, external_id: str, *, except_id: str) -> bool:
    p = T_PRESENTERS.c
    row = (
        await conn.execute(
            sa.select(p.id).where(p.external_id == external_id, p.id != except_id).limit(1)
        )
    ).first()
    return row is not None


async def insert_presenter(conn: AsyncConnection, *, name: str, external_id: str | None) -> str:
    pid = random_id(PRESENTER_ID_LENGTH)
    await conn.execute(sa.insert(T_PRESENTERS).values(id=pid, name=name, external_id=external_id))
    return pid


async def update_presenter(conn: AsyncConnection, pid: str, *, values: dict[str, Any]) -> None:
    await conn.execute(sa.update(T_PRESENTERS).where(T_PRESENTERS.c.id == pid).values(**values))


async def set_session_presenters(conn: AsyncConnection, sid: str, ids: Sequence[str]) -> None:
    """The session's presenters become exactly ``ids``, in that order."""
    sp = T_SESSION_PRESENTERS.c
    await conn.execute(sa.delete(T_SESSION_PRESENTERS).where(sp.session_id == sid))
    if ids:
        await conn.execute(
            sa.insert(T_SESSION_PRESENTERS),
            [{"session_id": sid, "presenter_id": pid, "position": i} for i, pid in enumerate(ids)],
        )


async def presenters_of(
    conn: AsyncConnection, sids: Sequence[str] | None = None
) -> dict[str, list[Any]]:
    """Presenter rows by session id, in order (all sessions when ``sids`` is None)."""
    sp, p = T_SESSION_PRESENTERS.c, T_PRESENTERS.c
    query = (
        sa.select(sp.session_id, p.id, p.external_id, p.name)
        .join(T_PRESENTERS, p.id == sp.presenter_id)
        .order_by(sp.session_id, sp.position)
    )
    if sids is not None:
        query = query.where(sp.session_id.in_(list(sids)))
    out: dict[str, list[Any]] = {}
    for row in await conn.execute(query):
        out.setdefault(row.session_id, []).append(row)
    return out
