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
from hub.events import SessionEvent, encode_event
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


class SqlStore:
    """SQLAlchemy Core, any dialect."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

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


def store_for(conn: AsyncConnection) -> SqlStore:
    return SqlStore(conn)


__all__ = ["People", "Person", "Plan", "SqlStore", "Wanted", "store_for"]
