"""The queries behind spreadsheet imports and exports of sessions and attendees: exports read
in pages (ids first, then the rows of one page), imports read what they match against in bulk
and write in bulk.

On PostgreSQL the bulk writes of attendees and registrations send arrays (``unnest``): one
short statement for thousands of rows, where a multi-row VALUES list would cost more to build
and to parse than to run."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from psycopg.types.json import Json
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.app import random_id
from storage.attendees import CHUNK, chunks, insert_many
from storage.attendees import COLUMNS as ATTENDEE_COLUMNS
from storage.presenters import PRESENTER_ID_LENGTH
from storage.records import dialect_insert
from storage.sessions import SESSION_ID_LENGTH
from storage.tables import (
    T_ATTENDEES,
    T_CODEWORDS,
    T_COUNTERS,
    T_EVENTS,
    T_FIELDS,
    T_PRESENTERS,
    T_REGISTRATIONS,
    T_SESSION_PRESENTERS,
    T_SESSIONS,
)


def among(conn: AsyncConnection, column: Any, values: Sequence[Any]) -> Any:
    """``column IN values``; on PostgreSQL one array parameter (``= ANY``), not one
    parameter a value: a page's statements stay short to build and to parse."""
    if conn.dialect.name == "postgresql":
        return column == sa.any_(sa.literal(list(values), postgresql.ARRAY(column.type)))
    return column.in_(list(values))


# --- sessions ------------------------------------------------------------------------------


def _schedule_order() -> tuple[Any, ...]:
    s = T_SESSIONS.c
    return (s.date.is_(None), s.date, s.start_time.is_(None), s.start_time,
            sa.func.coalesce(s.rank, 0).desc(), s.name, s.id)


async def session_ids(conn: AsyncConnection, session_id: str | None = None) -> list[str]:
    """Every session's id in schedule order (date, start time, higher rank first), or just
    ``session_id`` when it exists."""
    query = sa.select(T_SESSIONS.c.id).order_by(*_schedule_order())
    if session_id is not None:
        query = query.where(T_SESSIONS.c.id == session_id)
    return [r.id for r in await conn.execute(query)]


async def sessions_by_ids(conn: AsyncConnection, ids: Sequence[str]) -> list[Any]:
    """The session rows of ``ids``, in that order."""
    rows = {r.id: r for r in await conn.execute(
        sa.select(T_SESSIONS).where(T_SESSIONS.c.id.in_(list(ids))))}
    return [rows[i] for i in ids if i in rows]


async def session_keys(conn: AsyncConnection) -> list[Any]:
    """(id, external_id, name, capacity) of every session."""
    s = T_SESSIONS.c
    return list(await conn.execute(sa.select(s.id, s.external_id, s.name, s.capacity)))


def _pg_type(column: sa.Column[Any]) -> str:
    t = column.type
    if isinstance(t, sa.types.TypeDecorator):  # sqlmodel's AutoString: a VARCHAR
        t = t.impl_instance
    if isinstance(t, sa.DateTime):
        return "timestamptz"
    if isinstance(t, sa.Date):
        return "date"
    if isinstance(t, sa.Time):
        return "time"
    if isinstance(t, sa.BigInteger):
        return "bigint"
    if isinstance(t, sa.Integer):
        return "int"
    if isinstance(t, sa.Boolean):
        return "bool"
    if isinstance(t, sa.Float):
        return "float8"
    if isinstance(t, sa.JSON):
        return "json"
    if isinstance(t, sa.LargeBinary):
        return "bytea"
    if isinstance(t, (sa.String, sa.Text)):
        return "text"
    raise RuntimeError(f"no array type for {column.name} ({t!r})")


async def _insert(conn: AsyncConnection, table: sa.Table, columns: Sequence[str],
                  rows: Sequence[Sequence[Any]]) -> None:
    """Insert ``rows`` (values in ``columns``' order), in bulk: on PostgreSQL each column as
    one array (``unnest``), elsewhere as an executemany."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        for part in chunks(rows):
            await conn.execute(sa.insert(table), [dict(zip(columns, r, strict=True))
                                                  for r in part])
        return
    names = ", ".join(f'"{c}"' for c in columns)
    arrays = ", ".join(f"CAST(:c{i} AS {_pg_type(table.c[c])}[])" for i, c in enumerate(columns))
    stmt = sa.text(f'INSERT INTO "{table.name}" ({names}) SELECT * FROM unnest({arrays})')
    json = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, sa.JSON)]
    for part in _array_parts(rows):
        params: dict[str, Any] = {f"c{i}": [r[i] for r in part] for i in range(len(columns))}
        for i in json:
            params[f"c{i}"] = [None if v is None else Json(v) for v in params[f"c{i}"]]
        await conn.execute(stmt, params)


async def _new_ids(conn: AsyncConnection, table: sa.Table, n: int) -> list[int]:
    """``n`` ids from the table's sequence (PostgreSQL)."""
    return [r.id for r in await conn.execute(sa.text(
        f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) AS id "
        "FROM generate_series(1, :n)"), {"n": n})]


async def insert_sessions(conn: AsyncConnection, rows: Sequence[dict[str, Any]],
                          at: dt.datetime) -> list[str]:
    """New sessions with their counter rows, in bulk; their new ids in order. A random id
    that is taken fails the statement (an IntegrityError: run the transaction again)."""
    ids = [random_id(SESSION_ID_LENGTH) for _ in rows]
    if len(set(ids)) < len(ids):
        raise RuntimeError("two new sessions drew the same id; run again")
    columns = sorted({c for r in rows for c in r})
    await _insert(conn, T_SESSIONS, ["id", "created_at", *columns],
                  [(sid, at, *(r.get(c) for c in columns)) for sid, r in zip(ids, rows,
                                                                              strict=True)])
    await _insert(conn, T_COUNTERS,
                  ["session_id", "seq", "registered", "checked_in", "in_room", "epoch"],
                  [(sid, 0, 0, 0, 0, random_id(8)) for sid in ids])
    return ids


async def insert_fields(conn: AsyncConnection,
                        fields: Sequence[tuple[str, int, str, str, Sequence[str]]]) -> None:
    """New fields of study with their codewords, in bulk: (session id, position, name,
    credits, codewords)."""
    if conn.dialect.name == "postgresql":
        ids = await _new_ids(conn, T_FIELDS, len(fields)) if fields else []
        await _insert(conn, T_FIELDS, ["id", "session_id", "position", "name", "credits"],
                      [(fid, sid, pos, name, credits)
                       for fid, (sid, pos, name, credits, _) in zip(ids, fields, strict=True)])
    else:
        ids = []
        for part in chunks(fields):
            ids += [r.id for r in await conn.execute(
                sa.insert(T_FIELDS).returning(T_FIELDS.c.id, sort_by_parameter_order=True),
                [dict(session_id=sid, position=pos, name=name, credits=credits)
                 for sid, pos, name, credits, _ in part])]
    await _insert(conn, T_CODEWORDS, ["field_id", "position", "word"],
                  [(fid, k, w) for fid, (_, _, _, _, words) in zip(ids, fields, strict=True)
                   for k, w in enumerate(words)])


async def presenters_named(conn: AsyncConnection, names: Sequence[str]) -> dict[str, str]:
    """Presenter id by name (the first by id of each name, as ``presenter_by_name`` finds
    it), creating those missing (call ``storage.presenters.lock_presenters`` first)."""
    p = T_PRESENTERS.c
    found: dict[str, str] = {}
    wanted = sorted(set(names))
    for part in chunks(wanted):
        for r in await conn.execute(sa.select(p.id, p.name).where(p.name.in_(list(part)))
                                    .order_by(p.id)):
            found.setdefault(r.name, r.id)
    made = {n: random_id(PRESENTER_ID_LENGTH) for n in wanted if n not in found}
    await _insert(conn, T_PRESENTERS, ["id", "name"], [(pid, n) for n, pid in made.items()])
    found.update(made)
    return found


async def add_session_presenters(conn: AsyncConnection,
                                 links: Sequence[tuple[str, str, int]]) -> None:
    """(session id, presenter id, position) links, in bulk, for sessions that have none."""
    await _insert(conn, T_SESSION_PRESENTERS, ["session_id", "presenter_id", "position"], links)


# --- attendees -----------------------------------------------------------------------------


async def attendees_named(conn: AsyncConnection, external_ids: Sequence[str],
                          emails_lower: Sequence[str]) -> list[Any]:
    """Attendees with one of these external ids or (lower-cased) emails, oldest first."""
    a = T_ATTENDEES.c
    out: list[Any] = []
    for part in _array_parts(sorted(set(external_ids)), conn):
        out += await conn.execute(sa.select(T_ATTENDEES).where(among(conn, a.external_id, part)))
    for part in _array_parts(sorted(set(emails_lower)), conn):
        out += await conn.execute(sa.select(T_ATTENDEES).where(among(conn, a.email_lower, part)))
    return sorted({r.id: r for r in out}.values(), key=lambda r: r.id)


async def badge_holders(conn: AsyncConnection, badges: Sequence[str]) -> dict[str, int]:
    """The attendee id holding each of these badges."""
    a = T_ATTENDEES.c
    out: dict[str, int] = {}
    for part in _array_parts(sorted(set(badges)), conn):
        out.update((r.badge_id, r.id) for r in await conn.execute(
            sa.select(a.id, a.badge_id).where(among(conn, a.badge_id, part))))
    return out


async def attendees_page(conn: AsyncConnection, *, after: int, limit: int) -> list[Any]:
    """Attendees with an id above ``after``, by id, at most ``limit``."""
    return list(await conn.execute(
        sa.select(T_ATTENDEES).where(T_ATTENDEES.c.id > after)
        .order_by(T_ATTENDEES.c.id).limit(limit)))


async def registrations_of(conn: AsyncConnection,
                           attendee_ids: Sequence[int]) -> dict[int, list[str]]:
    """The session ids each attendee is registered for, in schedule order."""
    out: dict[int, list[str]] = {}
    g = T_REGISTRATIONS.c
    for part in chunks(sorted(set(attendee_ids))):
        rows = await conn.execute(
            sa.select(g.attendee_id, g.session_id)
            .select_from(T_REGISTRATIONS.join(T_SESSIONS, T_SESSIONS.c.id == g.session_id))
            .where(g.attendee_id.in_(list(part)))
            .order_by(g.attendee_id, *_schedule_order()))
        for r in rows:
            out.setdefault(r.attendee_id, []).append(r.session_id)
    return out


_ARRAY_CHUNK = 20_000  # rows per statement when they travel as arrays

_PG_REGISTER = sa.text(
    "INSERT INTO registrations (session_id, attendee_id, created_at) "
    "SELECT v.s, v.a, :at FROM unnest(CAST(:s AS text[]), CAST(:a AS int[])) AS v(s, a) "
    "ON CONFLICT (session_id, attendee_id) DO NOTHING RETURNING session_id")
_PG_UNREGISTER = sa.text(
    "DELETE FROM registrations g USING unnest(CAST(:s AS text[]), CAST(:a AS int[])) "
    "AS v(s, a) WHERE g.session_id = v.s AND g.attendee_id = v.a RETURNING g.session_id")
_PG_NEW_IDS = sa.text(
    "SELECT nextval(pg_get_serial_sequence('attendees', 'id')) AS id "
    "FROM generate_series(1, :n)")
_PG_NEW_ATTENDEES = sa.text(
    f"INSERT INTO attendees (id, {', '.join(ATTENDEE_COLUMNS)}, email_lower, created_at) "
    "SELECT v.*, :at FROM unnest(CAST(:id AS int[]), "
    + ", ".join(f"CAST(:{c} AS text[])" for c in ATTENDEE_COLUMNS)
    + ", CAST(:email_lower AS text[])) AS v")


def _array_parts(items: Sequence[Any], conn: AsyncConnection | None = None,
                 ) -> list[Sequence[Any]]:
    """``items`` in parts of ``_ARRAY_CHUNK`` (with a SQLite ``conn``: ``CHUNK``, one
    parameter a value)."""
    size = CHUNK if conn is not None and conn.dialect.name != "postgresql" else _ARRAY_CHUNK
    return [items[i:i + size] for i in range(0, len(items), size)]


async def insert_attendees(conn: AsyncConnection, values: Sequence[dict[str, Any]],
                           at: dt.datetime) -> list[int]:
    """New attendees (``storage.attendees.COLUMNS``), in bulk; their ids in order."""
    if conn.dialect.name != "postgresql":
        return await insert_many(conn, values, at)
    ids: list[int] = []
    for part in _array_parts(values):
        new = [r.id for r in await conn.execute(_PG_NEW_IDS, {"n": len(part)})]
        params: dict[str, Any] = {c: [v.get(c) for v in part] for c in ATTENDEE_COLUMNS}
        params["email_lower"] = [(v.get("email") or "").lower() or None for v in part]
        await conn.execute(_PG_NEW_ATTENDEES, {"id": new, "at": at, **params})
        ids += new
    return ids


async def register_pairs(conn: AsyncConnection, pairs: Sequence[tuple[str, int]],
                         at: dt.datetime) -> Counter[str]:
    """Register (session id, attendee id) pairs, in bulk; how many were new, by session."""
    added: Counter[str] = Counter()
    g = T_REGISTRATIONS.c
    if conn.dialect.name == "postgresql":
        for part in _array_parts(sorted(set(pairs))):
            result = await conn.execute(_PG_REGISTER, {
                "at": at, "s": [p[0] for p in part], "a": [p[1] for p in part]})
            added.update(r.session_id for r in result)
        return added
    for part in chunks(sorted(set(pairs))):
        result = await conn.execute(
            dialect_insert(conn, T_REGISTRATIONS)
            .on_conflict_do_nothing(index_elements=["session_id", "attendee_id"])
            .returning(g.session_id),
            [dict(session_id=sid, attendee_id=aid, created_at=at) for sid, aid in part])
        added.update(r.session_id for r in result)
    return added


async def unregister_pairs(conn: AsyncConnection,
                           pairs: Sequence[tuple[str, int]]) -> Counter[str]:
    """Take (session id, attendee id) registrations away, in bulk; how many went, by
    session."""
    removed: Counter[str] = Counter()
    g = T_REGISTRATIONS.c
    if conn.dialect.name == "postgresql":
        for part in _array_parts(sorted(set(pairs))):
            result = await conn.execute(_PG_UNREGISTER, {
                "s": [p[0] for p in part], "a": [p[1] for p in part]})
            removed.update(r.session_id for r in result)
        return removed
    for part in chunks(sorted(set(pairs))):
        result = await conn.execute(
            sa.delete(T_REGISTRATIONS)
            .where(sa.tuple_(g.session_id, g.attendee_id).in_(list(part)))
            .returning(g.session_id))
        removed.update(r.session_id for r in result)
    return removed


async def move_registered(conn: AsyncConnection, deltas: dict[str, int]) -> list[Any]:
    """Move each session's registered count by its delta and take its next seq, in bulk; the
    counter rows after (session_id, seq, registered, checked_in, in_room, epoch). The rows
    are locked in session id order first (PostgreSQL), as every writer of several counter
    rows does."""
    c = T_COUNTERS.c
    out: list[Any] = []
    for part in chunks(sorted(deltas)):
        ids = list(part)
        if conn.dialect.name == "postgresql":
            await conn.execute(sa.select(c.session_id).where(c.session_id.in_(ids))
                               .order_by(c.session_id).with_for_update())
        delta = sa.case({sid: deltas[sid] for sid in ids}, value=c.session_id, else_=0)
        out += await conn.execute(
            sa.update(T_COUNTERS).where(c.session_id.in_(ids))
            .values(seq=c.seq + 1, registered=c.registered + delta)
            .returning(c.session_id, c.seq, c.registered, c.checked_in, c.in_room, c.epoch))
    return out


async def insert_events(conn: AsyncConnection,
                        events: Sequence[tuple[str, int, str, bytes, dt.datetime]]) -> None:
    """Append events to their sessions' replay logs, in bulk: (session id, seq, kind,
    payload, at)."""
    await _insert(conn, T_EVENTS, ["session_id", "seq", "kind", "payload", "created_at"],
                  events)


async def clear_badges(conn: AsyncConnection, attendee_ids: Sequence[int]) -> None:
    """Unset these attendees' badge ids (before badges move between them in one go)."""
    for part in chunks(sorted(set(attendee_ids))):
        await conn.execute(sa.update(T_ATTENDEES).where(T_ATTENDEES.c.id.in_(list(part)))
                           .values(badge_id=None))
