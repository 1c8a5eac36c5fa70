"""The door's reads and writes for one batch, in bulk, behind one typed interface.

``DoorStore`` has two implementations: ``SqlDoorStore`` (SQLAlchemy Core; SQLite, which
serialises writers anyway, and any other dialect) and ``PgDoorStore`` (PostgreSQL through the
psycopg connection underneath the same transaction: the reads in one pipeline, the writes in
another, arrays with ``unnest``), because on the door's hot path the ORM's per-statement cost
was most of the hub's CPU (docs/benchmarks.md, "where the time goes").

Both take and give plain rows: ``lock`` the session's row (``storage.records.SESSION_COLUMNS``),
``read`` a ``BatchRead``, ``write`` a ``BatchWrite``. The record's columns come from the
table's declaration (``storage.records.RECORD_STATE``); the PostgreSQL statements are built
from it once, at import.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import sqlalchemy as sa
from psycopg import AsyncConnection as PgConnection
from psycopg.rows import dict_row
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.offline import door_leases, set_lease_used
from storage.records import (
    RECORD_COLUMNS,
    RECORD_STATE,
    USER_COLUMNS,
    USER_FIELDS,
    field_rows,
    session_row,
)
from storage.tables import (
    T_API_KEYS,
    T_ATTENDEES,
    T_COUNTERS,
    T_DOOR_LOG,
    T_EVENTS,
    T_HISTORY,
    T_IDEMPOTENCY,
    T_OVERRIDES,
    T_RECORDS,
    T_REGISTRATIONS,
)

IDENTIFIERS = ("external_id", "badge_id", "email")

Row = Mapping[Any, Any]  # a row by column name


@dataclass
class Wanted:
    """The attendees a batch names: by id (attendees acting for themselves) and by
    identifier (email lower-cased)."""

    ids: set[int] = field(default_factory=set)
    by: dict[str, set[str]] = field(default_factory=lambda: {k: set() for k in IDENTIFIERS})
    # Seat leases: with ``leases_at`` the session's leases running then and the ones named
    # in ``lease_ids`` (running or not) are read with the rest, in the same round trip.
    leases_at: dt.datetime | None = None
    lease_ids: list[str] = field(default_factory=list)


@dataclass
class BatchRead:
    """What a batch reads, with the session's counter row locked."""

    fields: list[Row]  # the session's fields of study x codewords (``field_rows``)
    enabled_keys: set[int]  # the batch's API keys that are still enabled
    # The attendees named: id, registration_level, email_lower, ``USER_FIELDS``, registered.
    people: list[Row]
    records: dict[int, Row]  # attendee id -> their record (``RECORD_COLUMNS``)
    answers: dict[str, StoredAnswer]  # idempotency key -> the answer given
    leases: list[Row] = field(default_factory=list)  # id, seats, used, running (``Wanted``)


class StoredAnswer(NamedTuple):
    """An answer remembered under an idempotency key, with the fingerprint of the request
    it answered (None: stored before fingerprints were kept)."""

    fingerprint: str | None
    response: bytes


class LogEntry(NamedTuple):
    """One door action, accepted or refused, for the door log (``door_log``)."""

    attendee_id: int | None  # None: what was presented named no attendee
    action: str  # "checkin" | "checkout"
    result: str  # "ok", or the refusal's reason
    at: dt.datetime
    presented_as: str | None  # "external_id" | "badge_id" | "email"; None: themself
    presented: str | None
    source: str | None
    actor: str | None


@dataclass
class BatchWrite:
    """What a batch writes, in one go. A batch that accepted nothing writes only its log."""

    session_id: str
    # New records: attendee_id, every ``RECORD_STATE`` column, updated_seq.
    new_records: list[dict[str, Any]] = field(default_factory=list)
    # Changed records: id, attendee_id, every ``RECORD_STATE`` column, updated_seq.
    old_records: list[dict[str, Any]] = field(default_factory=list)
    # attendee id, action, timestamp, source, actor (in order)
    history: list[tuple[int, str, dt.datetime, str | None, str | None]] = field(
        default_factory=list)
    # attendee id, rule, actor, reason, at
    overrides: list[tuple[int, str, str, str | None, dt.datetime]] = field(default_factory=list)
    # seq, kind, payload, at
    events: list[tuple[int, str, bytes, dt.datetime]] = field(default_factory=list)
    # idempotency key, fingerprint, attendee id, answer, at
    answers: list[tuple[str, str, int, bytes, dt.datetime]] = field(default_factory=list)
    # every action decided, accepted or refused, in order
    log: list[LogEntry] = field(default_factory=list)
    seq: int = 0
    checked_in: int = 0
    in_room: int = 0
    # seat leases whose seats the batch used: lease id -> seats used now
    leases_used: dict[str, int] = field(default_factory=dict)


class DoorStore(Protocol):
    async def lock(self, session_id: str) -> Row | None:
        """Lock the session's counter row; the session's row (``SESSION_COLUMNS``), or None
        when there is no such session."""

    async def read(self, session: Row, key_ids: list[int], wanted: Wanted,
                   keys: list[str]) -> BatchRead:
        """Everything the batch needs, in bulk (``session``: what ``lock`` gave)."""

    async def write(self, w: BatchWrite) -> None:
        """Every row of the batch, its door log, and the counter row (when it accepted
        anything: every accepted action has an event)."""


# --- any dialect --------------------------------------------------------------------------


class SqlDoorStore:
    """SQLAlchemy Core, any dialect."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def lock(self, session_id: str) -> Row | None:
        row = await session_row(self.conn, session_id, lock=True)
        return None if row is None else row._mapping

    async def read(self, session: Row, key_ids: list[int], wanted: Wanted,
                   keys: list[str]) -> BatchRead:
        session_id = session["id"]
        conn = self.conn
        fields = [r._mapping for r in await field_rows(conn, session_id)]
        enabled: set[int] = set()
        if key_ids:
            rows = await conn.execute(
                sa.select(T_API_KEYS.c.id).where(T_API_KEYS.c.id.in_(key_ids),
                                                 T_API_KEYS.c.disabled_at.is_(None)))
            enabled = {r.id for r in rows}
        people = await self._people(session_id, wanted)
        ids = sorted({p["id"] for p in people})
        records: dict[int, Row] = {}
        if ids:
            rows = await conn.execute(
                sa.select(*RECORD_COLUMNS).where(T_RECORDS.c.session_id == session_id,
                                                 T_RECORDS.c.attendee_id.in_(ids)))
            records = {r.attendee_id: r._mapping for r in rows}
        answers: dict[str, StoredAnswer] = {}
        if keys:
            rows = await conn.execute(
                sa.select(T_IDEMPOTENCY.c.key, T_IDEMPOTENCY.c.fingerprint,
                          T_IDEMPOTENCY.c.response)
                .where(T_IDEMPOTENCY.c.key.in_(keys)))
            answers = {r.key: StoredAnswer(r.fingerprint, bytes(r.response)) for r in rows}
        leases = ([r._mapping for r in await door_leases(conn, session_id, wanted.lease_ids,
                                                         wanted.leases_at)]
                  if wanted.leases_at is not None else [])
        return BatchRead(fields=fields, enabled_keys=enabled, people=people, records=records,
                         answers=answers, leases=leases)


    async def _people(self, session_id: str, wanted: Wanted) -> list[Row]:
        conds: list[Any] = []
        if wanted.ids:
            conds.append(T_ATTENDEES.c.id.in_(sorted(wanted.ids)))
        if wanted.by["external_id"]:
            conds.append(T_ATTENDEES.c.external_id.in_(sorted(wanted.by["external_id"])))
        if wanted.by["badge_id"]:
            conds.append(T_ATTENDEES.c.badge_id.in_(sorted(wanted.by["badge_id"])))
        if wanted.by["email"]:
            conds.append(T_ATTENDEES.c.email_lower.in_(sorted(wanted.by["email"])))
        if not conds:
            return []
        registered = (
            sa.exists().where(T_REGISTRATIONS.c.session_id == session_id,
                              T_REGISTRATIONS.c.attendee_id == T_ATTENDEES.c.id)
        ).label("registered")
        rows = await self.conn.execute(
            sa.select(T_ATTENDEES.c.id, T_ATTENDEES.c.registration_level,
                      T_ATTENDEES.c.email_lower, *USER_COLUMNS, registered)
            .where(sa.or_(*conds)))
        return [r._mapping for r in rows]

    async def write(self, w: BatchWrite) -> None:
        conn = self.conn
        record_ids = {r["attendee_id"]: r["id"] for r in w.old_records}
        if w.new_records:
            rows = [dict(session_id=w.session_id, evaluation_complete=False, **r)
                    for r in w.new_records]
            for r in await conn.execute(
                    sa.insert(T_RECORDS).returning(T_RECORDS.c.id, T_RECORDS.c.attendee_id),
                    rows):
                record_ids[r.attendee_id] = r.id
        if w.old_records:
            names = (*RECORD_STATE, "updated_seq")
            stmt = (sa.update(T_RECORDS).where(T_RECORDS.c.id == sa.bindparam("rid"))
                    .values({c: sa.bindparam(f"v_{c}") for c in names}))
            await conn.execute(stmt, [
                dict(rid=r["id"], **{f"v_{c}": r[c] for c in names}) for r in w.old_records])
        if w.history:
            await conn.execute(sa.insert(T_HISTORY), [
                dict(record_id=record_ids[aid], action=action, timestamp=at, source=source,
                     actor=actor) for aid, action, at, source, actor in w.history])
        if w.overrides:
            await conn.execute(sa.insert(T_OVERRIDES), [
                dict(record_id=record_ids[aid], rule=rule, actor=actor, reason=reason, at=at)
                for aid, rule, actor, reason, at in w.overrides])
        if w.events:
            await conn.execute(sa.insert(T_EVENTS), [
                dict(session_id=w.session_id, seq=seq, kind=kind, payload=payload,
                     created_at=at) for seq, kind, payload, at in w.events])
        if w.answers:
            await conn.execute(sa.insert(T_IDEMPOTENCY), [
                dict(key=key, session_id=w.session_id, fingerprint=fp, attendee_id=aid,
                     response=data, created_at=at)
                for key, fp, aid, data, at in w.answers])
        if w.log:
            await conn.execute(sa.insert(T_DOOR_LOG), [
                dict(session_id=w.session_id, **e._asdict()) for e in w.log])
        await set_lease_used(conn, w.leases_used)
        if w.events:
            await conn.execute(
                sa.update(T_COUNTERS).where(T_COUNTERS.c.session_id == w.session_id)
                .values(seq=w.seq, checked_in=w.checked_in, in_room=w.in_room))


# --- PostgreSQL: raw psycopg under the same transaction ------------------------------------


def _pg_type(column: sa.Column[Any]) -> str:
    t = column.type
    if isinstance(t, sa.DateTime):
        return "timestamptz"
    if isinstance(t, sa.BigInteger):
        return "bigint"
    if isinstance(t, sa.Integer):
        return "int"
    if isinstance(t, sa.Boolean):
        return "bool"
    if isinstance(t, (sa.String, sa.Text)) or type(t).__name__ == "AutoString":
        return "text"
    raise RuntimeError(f"no array type for {column.name} ({t!r})")


def _unnest(names: tuple[str, ...]) -> str:
    """``unnest(%(a)s::t[], ...) AS v(a, ...)`` over record columns."""
    arrays = ", ".join(f"%({n})s::{_pg_type(T_RECORDS.c[n])}[]" for n in names)
    return f"unnest({arrays}) AS v({', '.join(names)})"


_NEW = ("attendee_id", *RECORD_STATE, "updated_seq")
_OLD = ("id", *RECORD_STATE, "updated_seq")
_KINDS = {n: _pg_type(T_RECORDS.c[n]) for n in (*_NEW, *_OLD)}

_PG_NEW_RECORDS = (
    f"INSERT INTO checkin_records (session_id, evaluation_complete, {', '.join(_NEW)}) "
    f"SELECT %(sid)s, false, {', '.join('v.' + n for n in _NEW)} FROM {_unnest(_NEW)}")

_PG_OLD_RECORDS = (
    "UPDATE checkin_records r SET "
    + ", ".join(f"{n} = v.{n}" for n in (*RECORD_STATE, "updated_seq"))
    + f" FROM {_unnest(_OLD)} WHERE r.id = v.id")

_PG_LOCK = """
SELECT s.id, s.checkin_code, s.checkout_code, s.delivery_format, s.capacity,
       s.registrants_only, s.registration_levels, s.date, s.start_time, s.end_time,
       s.credit_rule, s.ce_minutes, c.seq, c.registered, c.checked_in, c.in_room, c.epoch,
       (SELECT timezone FROM app_settings WHERE id = 1) AS app_tz,
       (SELECT credit_rule FROM app_settings WHERE id = 1) AS app_rule,
       (SELECT self_report_credit FROM app_settings WHERE id = 1) AS app_self_report_credit
FROM sessions s JOIN session_counters c ON c.session_id = s.id
WHERE s.id = %(sid)s
FOR UPDATE OF c"""

_PG_FIELDS = """
SELECT f.id, f.name, f.credits, w.id AS cw_id, w.word
FROM fields_of_study f LEFT JOIN codewords w ON w.field_id = f.id
WHERE f.session_id = %(sid)s
ORDER BY f.position, f.id, w.position, w.id"""

_PG_KEYS = """
SELECT id FROM api_keys WHERE id = ANY(%(ids)s::int[]) AND disabled_at IS NULL"""

_PG_PEOPLE = (
    "SELECT a.id, a.registration_level, a.email_lower, "
    + ", ".join(f"a.{n}" for n in USER_FIELDS) + ", "
    "EXISTS (SELECT 1 FROM registrations g "
    "WHERE g.session_id = %(sid)s AND g.attendee_id = a.id) AS registered, "
    "r.id AS rid, " + ", ".join(f"r.{n}" for n in RECORD_STATE) + ", r.evaluation_complete "
    "FROM attendees a "
    "LEFT JOIN checkin_records r ON r.session_id = %(sid)s AND r.attendee_id = a.id "
    "WHERE a.id = ANY(%(ids)s::int[]) OR a.external_id = ANY(%(ext)s::text[]) "
    "OR a.badge_id = ANY(%(badge)s::text[]) OR a.email_lower = ANY(%(email)s::text[])")

_PG_ANSWERS = """
SELECT key, fingerprint, response FROM idempotency_keys WHERE key = ANY(%(keys)s::text[])"""

# History and overrides find their record by (session, attendee), so that every write of the
# batch goes in one pipeline with no answer awaited in between; rows keep the batch's order.
_PG_HISTORY = """
INSERT INTO checkin_history (record_id, action, "timestamp", source, actor)
SELECT r.id, v.action, v.ts, v.source, v.actor
FROM unnest(%(aid)s::int[], %(action)s::text[], %(ts)s::timestamptz[], %(source)s::text[],
            %(actor)s::text[]) WITH ORDINALITY AS v(aid, action, ts, source, actor, ord)
JOIN checkin_records r ON r.session_id = %(sid)s AND r.attendee_id = v.aid
ORDER BY v.ord"""

_PG_OVERRIDES = """
INSERT INTO overrides (record_id, rule, actor, reason, at)
SELECT r.id, v.rule, v.actor, v.reason, v.at
FROM unnest(%(aid)s::int[], %(rule)s::text[], %(actor)s::text[], %(reason)s::text[],
            %(at)s::timestamptz[]) WITH ORDINALITY AS v(aid, rule, actor, reason, at, ord)
JOIN checkin_records r ON r.session_id = %(sid)s AND r.attendee_id = v.aid
ORDER BY v.ord"""

_PG_EVENTS = """
INSERT INTO session_events (session_id, seq, kind, payload, created_at)
SELECT %(sid)s, v.seq, v.kind, v.payload, v.at
FROM unnest(%(seq)s::bigint[], %(kind)s::text[], %(payload)s::bytea[],
            %(at)s::timestamptz[]) AS v(seq, kind, payload, at)"""

_PG_ANSWERS_IN = """
INSERT INTO idempotency_keys (key, session_id, fingerprint, attendee_id, response, created_at)
SELECT v.key, %(sid)s, v.fp, v.aid, v.response, v.at
FROM unnest(%(key)s::text[], %(fp)s::text[], %(aid)s::int[], %(response)s::bytea[],
            %(at)s::timestamptz[]) AS v(key, fp, aid, response, at)"""

_PG_LOG = """
INSERT INTO door_log (session_id, attendee_id, action, result, at, presented_as, presented,
                      source, actor)
SELECT %(sid)s, v.attendee_id, v.action, v.result, v.at, v.presented_as, v.presented,
       v.source, v.actor
FROM unnest(%(attendee_id)s::int[], %(action)s::text[], %(result)s::text[],
            %(at)s::timestamptz[], %(presented_as)s::text[], %(presented)s::text[],
            %(source)s::text[], %(actor)s::text[]) WITH ORDINALITY
     AS v(attendee_id, action, result, at, presented_as, presented, source, actor, ord)
ORDER BY v.ord"""

_PG_COUNTERS = """
UPDATE session_counters SET seq = %(seq)s, checked_in = %(checked_in)s, in_room = %(in_room)s
WHERE session_id = %(sid)s"""

_PG_LEASES = """
SELECT id, seats, used, (returned_at IS NULL AND expires_at > %(at)s) AS running
FROM seat_leases
WHERE session_id = %(sid)s
  AND ((returned_at IS NULL AND expires_at > %(at)s) OR id = ANY(%(ids)s::text[]))"""

_PG_LEASES_USED = """
UPDATE seat_leases l SET used = v.used
FROM unnest(%(id)s::text[], %(used)s::int[]) AS v(id, used) WHERE l.id = v.id"""

_LOG_KINDS = {"attendee_id": "int", "at": "timestamptz", **{
    n: "text" for n in ("action", "result", "presented_as", "presented", "source", "actor")}}

_PERSON = ("id", "registration_level", "email_lower", *USER_FIELDS, "registered")


class PgDoorStore:
    """PostgreSQL through psycopg, on the connection of the batch's transaction: the reads
    in one pipeline (one round trip), the writes in another, arrays with ``unnest``."""

    def __init__(self, pg: PgConnection[Any]) -> None:
        self.pg = pg

    async def lock(self, session_id: str) -> Row | None:
        """In a pipeline, so that the transaction's ``BEGIN`` travels with the lock's query
        (one round trip, not two)."""
        cur = self.pg.cursor(row_factory=dict_row)
        async with self.pg.pipeline():
            await cur.execute(_PG_LOCK, {"sid": session_id})
        return await cur.fetchone()

    async def read(self, session: Row, key_ids: list[int], wanted: Wanted,
                   keys: list[str]) -> BatchRead:
        pg = self.pg
        params = {"sid": session["id"], "ids": pg_array(sorted(wanted.ids), "int"),
                  "ext": pg_array(sorted(wanted.by["external_id"]), "text"),
                  "badge": pg_array(sorted(wanted.by["badge_id"]), "text"),
                  "email": pg_array(sorted(wanted.by["email"]), "text")}
        async with pg.pipeline():
            cur_f = pg.cursor(row_factory=dict_row)
            await cur_f.execute(_PG_FIELDS, params)
            cur_k = None
            if key_ids:
                cur_k = pg.cursor()
                await cur_k.execute(_PG_KEYS, {"ids": pg_array(key_ids, "int")})
            cur_p = pg.cursor(row_factory=dict_row)
            await cur_p.execute(_PG_PEOPLE, params)
            cur_a = None
            if keys:
                cur_a = pg.cursor()
                await cur_a.execute(_PG_ANSWERS, {"keys": pg_array(keys, "text")})
            cur_l = None
            if wanted.leases_at is not None:
                cur_l = pg.cursor(row_factory=dict_row)
                await cur_l.execute(_PG_LEASES, {"sid": session["id"], "at": wanted.leases_at,
                                                 "ids": pg_array(wanted.lease_ids, "text")})
        fields: list[Row] = list(await cur_f.fetchall())
        enabled = {r[0] for r in await cur_k.fetchall()} if cur_k is not None else set()
        people: list[Row] = []
        records: dict[int, Row] = {}
        for r in await cur_p.fetchall():
            people.append({k: r[k] for k in _PERSON})
            if r["rid"] is not None:
                records[r["id"]] = {"id": r["rid"], "attendee_id": r["id"],
                                    **{k: r[k] for k in RECORD_STATE},
                                    "evaluation_complete": r["evaluation_complete"]}
        answers = ({k: StoredAnswer(fp, bytes(v)) for k, fp, v in await cur_a.fetchall()}
                   if cur_a is not None else {})
        leases: list[Row] = list(await cur_l.fetchall()) if cur_l is not None else []
        return BatchRead(fields=fields, enabled_keys=enabled, people=people, records=records,
                         answers=answers, leases=leases)


    async def write(self, w: BatchWrite) -> None:
        pg = self.pg
        sid = w.session_id
        async with pg.pipeline():
            if w.new_records:
                await pg.execute(_PG_NEW_RECORDS, {"sid": sid, **_arrays(w.new_records, _NEW)})
            if w.old_records:
                await pg.execute(_PG_OLD_RECORDS, _arrays(w.old_records, _OLD))
            if w.history:
                h = w.history
                await pg.execute(_PG_HISTORY, {
                    "sid": sid, "aid": pg_array([x[0] for x in h], "int"),
                    "action": pg_array([x[1] for x in h], "text"),
                    "ts": pg_array([x[2] for x in h], "timestamptz"),
                    "source": pg_array([x[3] for x in h], "text"),
                    "actor": pg_array([x[4] for x in h], "text")})
            if w.overrides:
                o = w.overrides
                await pg.execute(_PG_OVERRIDES, {
                    "sid": sid, "aid": pg_array([x[0] for x in o], "int"),
                    "rule": pg_array([x[1] for x in o], "text"),
                    "actor": pg_array([x[2] for x in o], "text"),
                    "reason": pg_array([x[3] for x in o], "text"),
                    "at": pg_array([x[4] for x in o], "timestamptz")})
            if w.events:
                e = w.events
                await pg.execute(_PG_EVENTS, {
                    "sid": sid, "seq": pg_array([x[0] for x in e], "bigint"),
                    "kind": pg_array([x[1] for x in e], "text"),
                    "payload": pg_array([x[2] for x in e], "bytea"),
                    "at": pg_array([x[3] for x in e], "timestamptz")})
            if w.answers:
                a = w.answers
                await pg.execute(_PG_ANSWERS_IN, {
                    "sid": sid, "key": pg_array([x[0] for x in a], "text"),
                    "fp": pg_array([x[1] for x in a], "text"),
                    "aid": pg_array([x[2] for x in a], "int"),
                    "response": pg_array([x[3] for x in a], "bytea"),
                    "at": pg_array([x[4] for x in a], "timestamptz")})
            if w.log:
                await pg.execute(_PG_LOG, {"sid": sid, **{
                    name: pg_array([getattr(e, name) for e in w.log], _LOG_KINDS[name])
                    for name in LogEntry._fields}})
            if w.leases_used:
                await pg.execute(_PG_LEASES_USED, {
                    "id": pg_array(list(w.leases_used), "text"),
                    "used": pg_array(list(w.leases_used.values()), "int")})
            if w.events:
                await pg.execute(_PG_COUNTERS, {"sid": sid, "seq": w.seq,
                                                "checked_in": w.checked_in,
                                                "in_room": w.in_room})


def _arrays(rows: list[dict[str, Any]], names: tuple[str, ...]) -> dict[str, str]:
    return {n: pg_array([r[n] for r in rows], _KINDS[n]) for n in names}


def pg_array(values: Iterable[Any], kind: str) -> str:
    """``values`` as a PostgreSQL array literal of ``kind`` (``int``, ``bigint``, ``bool``,
    ``text``, ``timestamptz``, ``bytea``), sent as one text parameter and cast in the
    statement (``%(x)s::int[]``): one string built here instead of psycopg dumping every
    element in Python. Every text element is quoted and escaped; None is NULL."""
    parts: list[str] = []
    add = parts.append
    for v in values:
        if v is None:
            add("NULL")
        elif kind == "int" or kind == "bigint":
            add(str(int(v)))
        elif kind == "text":
            add('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"')
        elif kind == "timestamptz":
            add('"' + v.isoformat() + '"')
        elif kind == "bytea":
            add('"\\\\x' + bytes(v).hex() + '"')
        elif kind == "bool":
            add("t" if v else "f")
        else:
            raise RuntimeError(f"no array literal for {kind}")
    return "{" + ",".join(parts) + "}"


async def door_store(conn: AsyncConnection) -> DoorStore:
    """PgDoorStore on PostgreSQL, else SqlDoorStore."""
    if conn.dialect.name == "postgresql":
        sync = conn.sync_connection
        if sync is not None and not sync.invalidated and not sync.closed:
            # Already checked out: read it directly, without a trip through a greenlet.
            raw = sync.connection
        else:
            raw = await conn.get_raw_connection()
        return PgDoorStore(raw.driver_connection)  # type: ignore[arg-type]
    return SqlDoorStore(conn)
