"""Sessions and their fields of study (with codewords), keyword-only helpers on Core tables.

A session is created with its counter row (the door's hot row). Fields of study are replaced
by name, in place: a field kept under the same name keeps its id, so the codeword submissions
and credit adjustments that point at it survive an update.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.app import random_id
from storage.tables import T_CODEWORDS, T_COUNTERS, T_FIELDS, T_SESSIONS

SESSION_ID_LENGTH = 6  # 36^6 ~ 2.2e9: short, random, not a guessable sequence
SESSION_ID_MAX = 16  # the column's width; a longer id names no session


@dataclass
class FieldOfStudy:
    """A field of study as written: ``codewords`` None means "keep the existing ones"."""

    name: str
    credits: str
    codewords: list[str] | None = None


@dataclass
class FieldView:
    """A stored field of study with its codewords in order."""

    id: int
    name: str
    credits: str
    codewords: list[str] = field(default_factory=list)


async def insert_session(conn: AsyncConnection, *, values: dict[str, Any]) -> str:
    """Insert a session and its counter row; return the new short random id."""
    for _ in range(10):
        sid = random_id(SESSION_ID_LENGTH)
        try:
            async with conn.begin_nested():
                await conn.execute(
                    sa.insert(T_SESSIONS).values(id=sid, created_at=datetime.now(UTC), **values)
                )
        except IntegrityError:
            continue
        await conn.execute(
            sa.insert(T_COUNTERS).values(
                session_id=sid, seq=0, registered=0, checked_in=0, in_room=0,
                epoch=random_id(8),
            )
        )
        return sid
    raise RuntimeError("could not find a free session id in 10 tries")


def valid_session_id(sid: str) -> bool:
    """Whether ``sid`` could name a session at all (PostgreSQL refuses NUL in a parameter)."""
    return 0 < len(sid) <= SESSION_ID_MAX and "\x00" not in sid


async def get_session(conn: AsyncConnection, sid: str) -> Any:
    """The session row, or None."""
    if not valid_session_id(sid):
        return None
    return (await conn.execute(sa.select(T_SESSIONS).where(T_SESSIONS.c.id == sid))).first()


async def lock_session(conn: AsyncConnection, sid: str) -> bool:
    """Lock the session row for this transaction (PostgreSQL); False if there is none."""
    if not valid_session_id(sid):
        return False
    query = sa.select(T_SESSIONS.c.id).where(T_SESSIONS.c.id == sid)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return (await conn.execute(query)).first() is not None


async def list_sessions(conn: AsyncConnection) -> list[Any]:
    """Every session: by date, then start time, then higher rank first (unset last)."""
    s = T_SESSIONS.c
    query = sa.select(T_SESSIONS).order_by(
        s.date.is_(None), s.date, s.start_time.is_(None), s.start_time,
        sa.func.coalesce(s.rank, 0).desc(), s.name, s.id,
    )
    return list(await conn.execute(query))


async def update_session(conn: AsyncConnection, sid: str, *, values: dict[str, Any]) -> None:
    await conn.execute(sa.update(T_SESSIONS).where(T_SESSIONS.c.id == sid).values(**values))


async def delete_session(conn: AsyncConnection, sid: str) -> bool:
    """Delete a session and everything hanging off it; False if there was none."""
    if not valid_session_id(sid):
        return False
    result = await conn.execute(sa.delete(T_SESSIONS).where(T_SESSIONS.c.id == sid))
    return bool(result.rowcount)


async def fields_of_study(
    conn: AsyncConnection, sids: Sequence[str] | None = None
) -> dict[str, list[FieldView]]:
    """Fields of study by session id (all sessions when ``sids`` is None), in order."""
    f, c = T_FIELDS.c, T_CODEWORDS.c
    query = sa.select(f.id, f.session_id, f.name, f.credits).order_by(
        f.session_id, f.position, f.id
    )
    if sids is not None:
        query = query.where(f.session_id.in_(list(sids)))
    out: dict[str, list[FieldView]] = {}
    by_id: dict[int, FieldView] = {}
    for row in await conn.execute(query):
        view = FieldView(id=row.id, name=row.name, credits=row.credits)
        out.setdefault(row.session_id, []).append(view)
        by_id[row.id] = view
    if by_id:
        words = sa.select(c.field_id, c.word).order_by(c.field_id, c.position, c.id)
        if sids is not None:
            words = words.where(c.field_id.in_(list(by_id)))
        for row in await conn.execute(words):
            if row.field_id in by_id:
                by_id[row.field_id].codewords.append(row.word)
    return out


async def replace_fields_of_study(
    conn: AsyncConnection, sid: str, fields: Sequence[FieldOfStudy]
) -> None:
    """Make the session's fields of study exactly ``fields``, matching existing ones by name."""
    f = T_FIELDS.c
    existing = {
        row.name: row.id
        for row in await conn.execute(sa.select(f.id, f.name).where(f.session_id == sid))
    }
    keep: list[int] = []
    for position, item in enumerate(fields):
        fid = existing.get(item.name)
        if fid is None:
            result = await conn.execute(
                sa.insert(T_FIELDS)
                .values(session_id=sid, position=position, name=item.name, credits=item.credits)
                .returning(f.id)
            )
            fid = int(result.scalar_one())
        else:
            await conn.execute(
                sa.update(T_FIELDS).where(f.id == fid)
                .values(position=position, credits=item.credits)
            )
        keep.append(fid)
        if item.codewords is not None:
            await _replace_codewords(conn, fid, item.codewords)
    stale = [fid for fid in existing.values() if fid not in keep]
    if stale:
        await conn.execute(sa.delete(T_FIELDS).where(f.id.in_(stale)))


async def _replace_codewords(conn: AsyncConnection, field_id: int, words: Sequence[str]) -> None:
    """Same words (case-insensitively) keep their rows, and with them any submissions."""
    c = T_CODEWORDS.c
    existing = {
        row.word.lower(): row.id
        for row in await conn.execute(sa.select(c.id, c.word).where(c.field_id == field_id))
    }
    keep: list[int] = []
    for position, word in enumerate(words):
        wid = existing.get(word.lower())
        if wid is None:
            await conn.execute(
                sa.insert(T_CODEWORDS).values(field_id=field_id, position=position, word=word)
            )
        else:
            await conn.execute(
                sa.update(T_CODEWORDS).where(c.id == wid).values(position=position, word=word)
            )
            keep.append(wid)
    stale = [wid for wid in existing.values() if wid not in keep]
    if stale:
        await conn.execute(sa.delete(T_CODEWORDS).where(c.id.in_(stale)))
