"""The door's reads and writes for one batch (``hub.batching``), in bulk.

Two stores with one interface: ``SqlStore`` (SQLAlchemy Core; SQLite, which serialises
writers anyway, and any other dialect) and ``PgStore`` (PostgreSQL through the psycopg
connection underneath the same transaction: a few statements per batch, array parameters
with ``unnest``, sent in one pipeline), because on the door's hot path the ORM's per-statement
cost was most of the hub's CPU (docs/benchmarks.md, "where the time goes").
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub import records
from hub.errors import NotFound
from hub.events import SessionEvent, encode_event
from hub.services import LoadedSession, load_session, session_of
from storage.models import (
    T_API_KEYS,
    T_ATTENDEES,
    T_COUNTERS,
    T_EVENTS,
    T_HISTORY,
    T_IDEMPOTENCY,
    T_OVERRIDES,
    T_RECORDS,
    T_REGISTRATIONS,
)

IDENTIFIERS = ("external_id", "badge_id", "email")


@dataclass
class Wanted:
    """The attendees a batch names: by id (attendees acting for themselves) and by
    identifier (email lower-cased)."""

    ids: set[int] = field(default_factory=set)
    by: dict[str, set[str]] = field(default_factory=lambda: {k: set() for k in IDENTIFIERS})


@dataclass
class Person:
    id: int
    registration_level: str | None
    registered: bool
    user: records.AttendeeUser
    email_lower: str | None


class People:
    def __init__(self, people: list[Person]) -> None:
        self._by: dict[tuple[str, Any], list[Person]] = defaultdict(list)
        for p in people:
            self._by["id", p.id].append(p)
            if p.user.external_id is not None:
                self._by["external_id", p.user.external_id].append(p)
            if p.user.badge_id is not None:
                self._by["badge_id", p.user.badge_id].append(p)
            if p.email_lower is not None:
                self._by["email", p.email_lower].append(p)

    def ids(self) -> list[int]:
        return sorted({p.id for k, v in self._by.items() if k[0] == "id" for p in v})

    def by_id(self, attendee_id: int) -> list[Person]:
        return self._by.get(("id", attendee_id), [])

    def lookup(self, column: str, value: str) -> list[Person]:
        return self._by.get((column, value.lower() if column == "email" else value), [])


@dataclass
class Plan:
    """What a batch writes: the records' final columns and every row hanging off them."""

    session_id: str
    states: dict[int, records.RecordState] = field(default_factory=dict)  # attendee id ->
    existed: dict[int, bool] = field(default_factory=dict)
    extras: dict[int, records.Extras] = field(default_factory=dict)
    last_seq: dict[int, int] = field(default_factory=dict)
    history: list[tuple[int, str, dt.datetime, str | None, str | None]] = field(
        default_factory=list)  # attendee id, action, timestamp, source, actor
    overrides: list[tuple[int, str, str, str | None, dt.datetime]] = field(
        default_factory=list)  # attendee id, rule, actor, reason, at
    events: list[tuple[SessionEvent, dt.datetime]] = field(default_factory=list)
    answers: list[tuple[str, bytes, dt.datetime]] = field(default_factory=list)
    at_of: dict[int, dt.datetime] = field(default_factory=dict)  # seq -> when
    seq: int = 0
    checked_in: int = 0
    in_room: int = 0

    def touch(self, attendee_id: int, existed: bool, state: records.RecordState,
              extras: records.Extras, seq: int) -> None:
        self.existed.setdefault(attendee_id, existed)
        self.states[attendee_id] = state
        self.extras[attendee_id] = extras
        self.last_seq[attendee_id] = seq


_STATE_COLUMNS = ("checkin_time", "checkout_time", "checkin_time_actual",
                  "checkout_time_actual", "in_since", "seconds_attended", "delivery_format",
                  "admin_note", "attendee_note", "checkin_source", "checkout_source")


def _person(row: Any) -> Person:
    return Person(id=row.id, registration_level=row.registration_level,
                  registered=bool(row.registered), user=records.user_of(row),
                  email_lower=row.email_lower)


@dataclass
class Loaded:
    """What a batch reads, with the session's counter row locked."""

    session: LoadedSession
    enabled_keys: set[int]
    people: People
    states: dict[int, records.RecordState]  # attendee id -> their record in the session
    answers: dict[str, bytes]  # idempotency key -> the answer given


class SqlStore:
    """SQLAlchemy Core, any dialect."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def lock(self, session_id: str) -> LoadedSession:
        """Lock the session's counter row; the session as it stands. Raises NotFound."""
        return await load_session(self.conn, session_id, lock=True)

    async def load(self, session: Any, key_ids: list[int], wanted: Wanted,
                   keys: list[str]) -> Loaded:
        """The batch's needs, the counter row locked (``session``: what ``lock`` gave)."""
        assert isinstance(session, LoadedSession)
        session_id = session.ctx.session_id
        enabled = await self.enabled_api_keys(key_ids) if key_ids else set()
        people = await self.load_attendees(session_id, wanted)
        states = await self.load_records(session_id, people.ids())
        answers = await self.load_answers(keys) if keys else {}
        return Loaded(session=session, enabled_keys=enabled, people=people, states=states,
                      answers=answers)

    async def enabled_api_keys(self, ids: list[int]) -> set[int]:
        rows = await self.conn.execute(
            sa.select(T_API_KEYS.c.id).where(T_API_KEYS.c.id.in_(ids),
                                             T_API_KEYS.c.disabled_at.is_(None)))
        return {r.id for r in rows}

    async def load_attendees(self, session_id: str, wanted: Wanted) -> People:
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
            return People([])
        registered = (
            sa.exists().where(T_REGISTRATIONS.c.session_id == session_id,
                              T_REGISTRATIONS.c.attendee_id == T_ATTENDEES.c.id)
        ).label("registered")
        rows = await self.conn.execute(
            sa.select(T_ATTENDEES.c.id, T_ATTENDEES.c.registration_level,
                      T_ATTENDEES.c.email_lower, *records.USER_COLUMNS, registered)
            .where(sa.or_(*conds)))
        return People([_person(r) for r in rows])

    async def load_records(self, session_id: str,
                           attendee_ids: list[int]) -> dict[int, records.RecordState]:
        if not attendee_ids:
            return {}
        rows = await self.conn.execute(
            sa.select(*records.RECORD_COLUMNS).where(T_RECORDS.c.session_id == session_id,
                                                     T_RECORDS.c.attendee_id.in_(attendee_ids)))
        return {r.attendee_id: records.RecordState.of(r) for r in rows}

    async def load_answers(self, keys: list[str]) -> dict[str, bytes]:
        rows = await self.conn.execute(
            sa.select(T_IDEMPOTENCY.c.key, T_IDEMPOTENCY.c.response)
            .where(T_IDEMPOTENCY.c.key.in_(keys)))
        return {r.key: bytes(r.response) for r in rows}

    async def write(self, plan: Plan) -> None:
        conn = self.conn
        record_ids = {aid: st.id for aid, st in plan.states.items() if plan.existed[aid]}
        new = [aid for aid in plan.states if not plan.existed[aid]]
        if new:
            rows = [dict(session_id=plan.session_id, attendee_id=aid, evaluation_complete=False,
                         updated_seq=plan.last_seq[aid], **plan.states[aid].columns())
                    for aid in new]
            for r in await conn.execute(
                    sa.insert(T_RECORDS).returning(T_RECORDS.c.id, T_RECORDS.c.attendee_id),
                    rows):
                record_ids[r.attendee_id] = r.id
        old = [aid for aid in plan.states if plan.existed[aid]]
        if old:
            stmt = (sa.update(T_RECORDS).where(T_RECORDS.c.id == sa.bindparam("rid"))
                    .values({c: sa.bindparam(f"v_{c}") for c in (*_STATE_COLUMNS,
                                                                  "updated_seq")}))
            await conn.execute(stmt, [
                dict(rid=record_ids[aid], v_updated_seq=plan.last_seq[aid],
                     **{f"v_{k}": v for k, v in plan.states[aid].columns().items()})
                for aid in old])
        await conn.execute(sa.insert(T_HISTORY), [
            dict(record_id=record_ids[aid], action=action, timestamp=at, source=source,
                 actor=actor) for aid, action, at, source, actor in plan.history])
        if plan.overrides:
            await conn.execute(sa.insert(T_OVERRIDES), [
                dict(record_id=record_ids[aid], rule=rule, actor=actor, reason=reason, at=at)
                for aid, rule, actor, reason, at in plan.overrides])
        await conn.execute(sa.insert(T_EVENTS), [
            dict(session_id=ev.session_id, seq=ev.seq, kind=ev.kind, payload=encode_event(ev),
                 created_at=at) for ev, at in plan.events])
        if plan.answers:
            await conn.execute(sa.insert(T_IDEMPOTENCY), [
                dict(key=key, session_id=plan.session_id, response=data, created_at=at)
                for key, data, at in plan.answers])
        await conn.execute(
            sa.update(T_COUNTERS).where(T_COUNTERS.c.session_id == plan.session_id)
            .values(seq=plan.seq, checked_in=plan.checked_in, in_room=plan.in_room))


# --- PostgreSQL: raw psycopg under the same transaction ------------------------------------

_PG_SESSION = """
SELECT s.id, s.checkin_code, s.checkout_code, s.delivery_format, s.capacity,
       s.registrants_only, s.registration_levels, s.date, s.start_time, s.end_time,
       s.credit_rule, c.seq, c.registered, c.checked_in, c.in_room, c.epoch,
       (SELECT timezone FROM app_settings WHERE id = 1) AS app_tz,
       (SELECT credit_rule FROM app_settings WHERE id = 1) AS app_rule
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

_PG_PEOPLE = """
SELECT a.id, a.registration_level, a.email_lower, a.first_name, a.last_name, a.email,
       a.external_id, a.field_1, a.field_2, a.field_3, a.field_4, a.field_5, a.badge_id,
       EXISTS (SELECT 1 FROM registrations g
               WHERE g.session_id = %(sid)s AND g.attendee_id = a.id) AS registered,
       r.id AS rid, r.checkin_time, r.checkout_time, r.checkin_time_actual,
       r.checkout_time_actual, r.in_since, r.seconds_attended, r.delivery_format,
       r.admin_note, r.attendee_note, r.checkin_source, r.checkout_source,
       r.evaluation_complete
FROM attendees a
LEFT JOIN checkin_records r ON r.session_id = %(sid)s AND r.attendee_id = a.id
WHERE a.id = ANY(%(ids)s::int[]) OR a.external_id = ANY(%(ext)s::text[])
   OR a.badge_id = ANY(%(badge)s::text[]) OR a.email_lower = ANY(%(email)s::text[])"""

_PG_ANSWERS = """
SELECT key, response FROM idempotency_keys WHERE key = ANY(%(keys)s::text[])"""

_PG_NEW_RECORDS = """
INSERT INTO checkin_records (session_id, attendee_id, checkin_time, checkout_time,
    checkin_time_actual, checkout_time_actual, in_since, seconds_attended, delivery_format,
    admin_note, attendee_note, checkin_source, checkout_source, evaluation_complete,
    updated_seq)
SELECT %(sid)s, v.aid, v.ci, v.co, v.cia, v.coa, v.ins, v.secs, v.fmt, v.an, v.atn, v.cis,
       v.cos, false, v.useq
FROM unnest(%(aid)s::int[], %(ci)s::timestamptz[], %(co)s::timestamptz[],
            %(cia)s::timestamptz[], %(coa)s::timestamptz[], %(ins)s::timestamptz[],
            %(secs)s::int[], %(fmt)s::text[], %(an)s::text[], %(atn)s::text[],
            %(cis)s::text[], %(cos)s::text[], %(useq)s::bigint[])
     AS v(aid, ci, co, cia, coa, ins, secs, fmt, an, atn, cis, cos, useq)"""

_PG_OLD_RECORDS = """
UPDATE checkin_records r SET checkin_time = v.ci, checkout_time = v.co,
    checkin_time_actual = v.cia, checkout_time_actual = v.coa, in_since = v.ins,
    seconds_attended = v.secs, delivery_format = v.fmt, admin_note = v.an,
    attendee_note = v.atn, checkin_source = v.cis, checkout_source = v.cos,
    updated_seq = v.useq
FROM unnest(%(rid)s::int[], %(ci)s::timestamptz[], %(co)s::timestamptz[],
            %(cia)s::timestamptz[], %(coa)s::timestamptz[], %(ins)s::timestamptz[],
            %(secs)s::int[], %(fmt)s::text[], %(an)s::text[], %(atn)s::text[],
            %(cis)s::text[], %(cos)s::text[], %(useq)s::bigint[])
     AS v(rid, ci, co, cia, coa, ins, secs, fmt, an, atn, cis, cos, useq)
WHERE r.id = v.rid"""

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
INSERT INTO idempotency_keys (key, session_id, response, created_at)
SELECT v.key, %(sid)s, v.response, v.at
FROM unnest(%(key)s::text[], %(response)s::bytea[], %(at)s::timestamptz[])
     AS v(key, response, at)"""

_PG_COUNTERS = """
UPDATE session_counters SET seq = %(seq)s, checked_in = %(checked_in)s, in_room = %(in_room)s
WHERE session_id = %(sid)s"""


class _Row:
    """Attribute access over a dict row (what RecordState.of and user_of read)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


class PgStore:
    """PostgreSQL through psycopg, on the connection of the batch's transaction: the reads
    in one pipeline (one round trip), the writes in another, arrays with ``unnest``."""

    def __init__(self, pg: Any) -> None:
        self.pg = pg

    async def lock(self, session_id: str) -> dict[str, Any]:
        """Lock the session's counter row; the session's row. Raises NotFound.

        In a pipeline, so that the transaction's ``BEGIN`` travels with the lock's query
        (one round trip, not two)."""
        from psycopg.rows import dict_row

        cur = self.pg.cursor(row_factory=dict_row)
        async with self.pg.pipeline():
            await cur.execute(_PG_SESSION, {"sid": session_id})
        row = await cur.fetchone()
        if row is None:
            raise NotFound(f"No session with id {session_id!r}.")
        return dict(row)

    async def load(self, row: Any, key_ids: list[int], wanted: Wanted,
                   keys: list[str]) -> Loaded:
        from psycopg.rows import dict_row

        pg = self.pg
        params = {"sid": row["id"], "ids": sorted(wanted.ids),
                  "ext": sorted(wanted.by["external_id"]),
                  "badge": sorted(wanted.by["badge_id"]), "email": sorted(wanted.by["email"])}
        async with pg.pipeline():
            cur_f = pg.cursor(row_factory=dict_row)
            await cur_f.execute(_PG_FIELDS, params)
            cur_k = None
            if key_ids:
                cur_k = pg.cursor()
                await cur_k.execute(_PG_KEYS, {"ids": key_ids})
            cur_p = pg.cursor(row_factory=dict_row)
            await cur_p.execute(_PG_PEOPLE, params)
            cur_a = None
            if keys:
                cur_a = pg.cursor()
                await cur_a.execute(_PG_ANSWERS, {"keys": keys})
        fields = records.fields_of(_Row(r) for r in await cur_f.fetchall())
        session = session_of(_Row(row), fields)
        enabled = {r[0] for r in await cur_k.fetchall()} if cur_k is not None else set()
        people: list[Person] = []
        states: dict[int, records.RecordState] = {}
        for r in await cur_p.fetchall():
            people.append(_person(_Row(r)))
            if r["rid"] is not None:
                states[r["id"]] = records.RecordState.of(
                    _Row({**r, "id": r["rid"], "attendee_id": r["id"]}))
        answers = ({k: bytes(v) for k, v in await cur_a.fetchall()}
                   if cur_a is not None else {})
        return Loaded(session=session, enabled_keys=enabled, people=People(people),
                      states=states, answers=answers)

    async def write(self, plan: Plan) -> None:
        pg = self.pg
        sid = plan.session_id
        new = [aid for aid in plan.states if not plan.existed[aid]]
        old = [aid for aid in plan.states if plan.existed[aid]]
        async with pg.pipeline():
            if new:
                await pg.execute(_PG_NEW_RECORDS, {"sid": sid, "aid": new,
                                                   **_columns(plan, new)})
            if old:
                await pg.execute(_PG_OLD_RECORDS, {"rid": [plan.states[a].id for a in old],
                                                   **_columns(plan, old)})
            h = plan.history
            await pg.execute(_PG_HISTORY, {
                "sid": sid, "aid": [x[0] for x in h], "action": [x[1] for x in h],
                "ts": [x[2] for x in h], "source": [x[3] for x in h],
                "actor": [x[4] for x in h]})
            if plan.overrides:
                o = plan.overrides
                await pg.execute(_PG_OVERRIDES, {
                    "sid": sid, "aid": [x[0] for x in o], "rule": [x[1] for x in o],
                    "actor": [x[2] for x in o], "reason": [x[3] for x in o],
                    "at": [x[4] for x in o]})
            e = plan.events
            await pg.execute(_PG_EVENTS, {
                "sid": sid, "seq": [ev.seq for ev, _ in e], "kind": [ev.kind for ev, _ in e],
                "payload": [encode_event(ev) for ev, _ in e], "at": [at for _, at in e]})
            if plan.answers:
                a = plan.answers
                await pg.execute(_PG_ANSWERS_IN, {
                    "sid": sid, "key": [x[0] for x in a], "response": [x[1] for x in a],
                    "at": [x[2] for x in a]})
            await pg.execute(_PG_COUNTERS, {"sid": sid, "seq": plan.seq,
                                            "checked_in": plan.checked_in,
                                            "in_room": plan.in_room})


def _columns(plan: Plan, aids: list[int]) -> dict[str, list[Any]]:
    sts = [plan.states[a] for a in aids]
    return {
        "ci": [st.checkin_time for st in sts], "co": [st.checkout_time for st in sts],
        "cia": [st.checkin_time_actual for st in sts],
        "coa": [st.checkout_time_actual for st in sts], "ins": [st.in_since for st in sts],
        "secs": [st.seconds_attended for st in sts],
        "fmt": [st.delivery_format for st in sts], "an": [st.admin_note for st in sts],
        "atn": [st.attendee_note for st in sts], "cis": [st.checkin_source for st in sts],
        "cos": [st.checkout_source for st in sts], "useq": [plan.last_seq[a] for a in aids],
    }


async def store_for(conn: AsyncConnection) -> SqlStore | PgStore:
    """PgStore on PostgreSQL, else SqlStore."""
    if conn.dialect.name == "postgresql":
        raw = await conn.get_raw_connection()
        return PgStore(raw.driver_connection)
    return SqlStore(conn)


__all__ = ["Loaded", "People", "Person", "PgStore", "Plan", "SqlStore", "Wanted", "store_for"]
