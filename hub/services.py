"""Door use cases: transaction -> load -> rules -> write -> commit -> publish.

Guarantees of ``door`` (check-in and check-out):

- An answer is given only after its transaction committed; a refusal writes nothing.
- The attendee's record row is locked before the rules run (an upsert that takes the row lock
  whether or not the row existed), so two doors scanning the same badge are served one after
  the other and the second sees the first's result.
- The session's counter row is updated last, by one conditional statement that is both the
  capacity gate (``in_room < capacity``) and the source of the event's ``seq``; it is held only
  for that statement, the event and idempotency inserts, and the commit. On PostgreSQL the gate
  and the record's update are one statement (a data-modifying CTE).
- A request that repeats an idempotency key (same session and action) gets the first
  successful answer back byte for byte, and writes nothing.
- The session event is stored in ``session_events`` in the same transaction and handed to the
  event sink after the commit; a sink failure is logged, never raised.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

import msgspec
import sqlalchemy as sa
from dateutil import parser as dateparser
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hub import credit, records, rules
from hub.auth import Principal
from hub.envelope import encode
from hub.errors import CheckinRefused, Conflict, HubError, Invalid, NotFound
from hub.events import Counts, SessionEvent, encode_event, publish_after_commit
from hub.records import RecordState, SessionContext
from hub.state import Hub
from storage.models import (
    T_APP,
    T_ATTENDEES,
    T_COUNTERS,
    T_EVENTS,
    T_HISTORY,
    T_IDEMPOTENCY,
    T_OVERRIDES,
    T_RECORDS,
    T_REGISTRATIONS,
    T_SESSIONS,
)
from storage.timeutil import iso, now, zone

log = logging.getLogger("rollcall.services")

T = TypeVar("T")

Text = Annotated[str, msgspec.Meta(max_length=500)]


class DoorRequest(msgspec.Struct):
    """The body of ``/attendance/checkin`` and ``/attendance/checkout``.

    Name the attendee by one of ``external_id``, ``badge_id`` or ``email`` (when several are
    sent, that order decides; an attendee signed in to the web client is always themself).
    """

    external_id: Text | None = None
    email: Text | None = None
    badge_id: Text | None = None
    code: Text | None = None
    delivery_format: Literal["in-person", "virtual"] | None = None
    source: Literal["web", "kiosk", "scan", "self-report", "api"] | None = None
    override: bool = False
    override_reason: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    note: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    idempotency_key: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    timestamp: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class DoorAnswer(msgspec.Struct):
    record: records.CheckinRecordOut
    counts: Counts
    seq: int


# --- retries -------------------------------------------------------------------------------

# Deadlock and serialization failures (PostgreSQL) are safe to retry: nothing was committed.
_RETRY_SQLSTATES = frozenset({"40P01", "40001"})


def _retryable(exc: DBAPIError) -> bool:
    if isinstance(exc, IntegrityError):
        return True
    return getattr(exc.orig, "sqlstate", None) in _RETRY_SQLSTATES


async def in_tx(hub: Hub, work: Callable[[AsyncConnection], Awaitable[T]],
                attempts: int = 3) -> T:
    """Run ``work`` in a transaction, again (from the start) after a lost race."""
    for attempt in range(attempts):
        try:
            async with hub.tx() as conn:
                return await work(conn)
        except DBAPIError as exc:
            if attempt + 1 >= attempts or not _retryable(exc):
                raise
            log.info("retrying after %s", type(exc.orig).__name__)
    raise RuntimeError("unreachable")


class _Replay(Exception):
    """A repeated idempotency key: roll back and answer the stored bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data


# --- loading -------------------------------------------------------------------------------

_APP_TZ = sa.select(T_APP.c.timezone).where(T_APP.c.id == 1).scalar_subquery()
_APP_RULE = sa.select(T_APP.c.credit_rule).where(T_APP.c.id == 1).scalar_subquery()


@dataclass
class LoadedSession:
    view: rules.SessionView
    ctx: SessionContext
    epoch: str
    registered: int
    checked_in: int
    in_room: int
    seq: int


async def load_session(conn: AsyncConnection, session_id: str, *,
                       with_fields: bool = True) -> LoadedSession:
    """The session, its counters and the event's time zone and credit rule (one query), and
    its fields of study (one more). Raises NotFound."""
    row = (await conn.execute(
        sa.select(
            T_SESSIONS.c.id, T_SESSIONS.c.checkin_code, T_SESSIONS.c.checkout_code,
            T_SESSIONS.c.delivery_format, T_SESSIONS.c.capacity, T_SESSIONS.c.registrants_only,
            T_SESSIONS.c.registration_levels, T_SESSIONS.c.date, T_SESSIONS.c.start_time,
            T_SESSIONS.c.end_time, T_SESSIONS.c.credit_rule,
            T_COUNTERS.c.seq, T_COUNTERS.c.registered, T_COUNTERS.c.checked_in,
            T_COUNTERS.c.in_room, T_COUNTERS.c.epoch,
            _APP_TZ.label("app_tz"), _APP_RULE.label("app_rule"),
        )
        .select_from(T_SESSIONS.join(T_COUNTERS, T_COUNTERS.c.session_id == T_SESSIONS.c.id))
        .where(T_SESSIONS.c.id == session_id)
    )).first()
    if row is None:
        raise NotFound(f"No session with id {session_id!r}.")
    levels = row.registration_levels if isinstance(row.registration_levels, list) else []
    view = rules.SessionView(
        id=row.id,
        checkin_code=row.checkin_code or None,
        checkout_code=row.checkout_code or None,
        delivery_format=row.delivery_format,
        capacity=row.capacity,
        registrants_only=bool(row.registrants_only),
        registration_levels=tuple(str(x) for x in levels),
    )
    fields = await records.load_fields(conn, session_id) if with_fields else []
    ctx = SessionContext(
        session_id=row.id,
        date=row.date,
        start_time=row.start_time,
        end_time=row.end_time,
        tz=zone(row.app_tz),
        rule=credit.effective_rule(row.app_rule, row.credit_rule),
        fields=fields,
    )
    return LoadedSession(view=view, ctx=ctx, epoch=row.epoch, registered=row.registered,
                         checked_in=row.checked_in, in_room=row.in_room, seq=row.seq)


def identifier_of(body: Any) -> tuple[str, str]:
    """(column, value) naming the attendee: external_id, else badge_id, else email."""
    for name in ("external_id", "badge_id", "email"):
        value = getattr(body, name, None)
        if value is not None and value.strip():
            return name, value.strip()
    raise Invalid("external_id", "name the attendee by one of external_id, email or badge_id")


async def load_attendee(conn: AsyncConnection, session_id: str, *, attendee_id: int | None,
                        ident: tuple[str, str] | None) -> tuple[rules.AttendeeView, Any]:
    """The attendee and whether they are registered for the session. Raises
    CheckinRefused("unknown_attendee") (404), or Conflict when an email is shared."""
    registered = (
        sa.exists().where(T_REGISTRATIONS.c.session_id == session_id,
                          T_REGISTRATIONS.c.attendee_id == T_ATTENDEES.c.id)
    ).label("registered")
    stmt = sa.select(T_ATTENDEES.c.id, T_ATTENDEES.c.registration_level, *records.USER_COLUMNS,
                     registered)
    if attendee_id is not None:
        stmt = stmt.where(T_ATTENDEES.c.id == attendee_id)
    else:
        assert ident is not None
        column, value = ident
        if column == "email":
            stmt = stmt.where(T_ATTENDEES.c.email_lower == value.lower())
        else:
            stmt = stmt.where(T_ATTENDEES.c[column] == value)
    rows = list(await conn.execute(stmt.limit(2)))
    if not rows:
        raise CheckinRefused("unknown_attendee")
    if len(rows) > 1:
        raise Conflict("Several attendees share this email; name them by external_id or "
                       "badge_id.")
    row = rows[0]
    return rules.AttendeeView(id=row.id, registration_level=row.registration_level,
                              registered=bool(row.registered)), row


def _dialect_insert(conn: AsyncConnection, table: sa.Table) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)


async def lock_record(conn: AsyncConnection, session_id: str, attendee_id: int) -> RecordState:
    """The attendee's record for the session, created if missing, with its row locked until
    the transaction ends (one statement: INSERT ... ON CONFLICT DO UPDATE ... RETURNING)."""
    ins = _dialect_insert(conn, T_RECORDS).values(
        session_id=session_id, attendee_id=attendee_id, seconds_attended=0,
        evaluation_complete=False, updated_seq=0,
    )
    stmt = ins.on_conflict_do_update(
        index_elements=["session_id", "attendee_id"],
        set_={"attendee_id": ins.excluded.attendee_id},
    ).returning(*records.RECORD_COLUMNS)
    return RecordState.of((await conn.execute(stmt)).one())


def parse_timestamp(value: str | None, tz: Any) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dateparser.isoparse(value.strip())
    except (ValueError, OverflowError):
        raise Invalid("timestamp", f"{value!r} is not an ISO-8601 date and time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz or dt.UTC)
    return parsed.astimezone(dt.UTC)


# --- the gate: the counter row, last ----------------------------------------------------------


@dataclass
class Gate:
    seq: int
    registered: int
    checked_in: int
    in_room: int
    epoch: str


async def gate(conn: AsyncConnection, *, session_id: str, record_id: int,
               in_room_delta: int, first_checkin: bool, capacity: int | None,
               values: dict[str, Any]) -> Gate | None:
    """Move the session's counters, take the next seq, and write the record's new values.

    With ``capacity`` set, the counters move only while ``in_room < capacity`` (the database
    re-checks that against the latest committed row when doors race); None is returned when
    the session is full and nothing was written.
    """
    cond = [T_COUNTERS.c.session_id == session_id]
    if capacity is not None:
        cond.append(T_COUNTERS.c.in_room < capacity)
    counters = (
        sa.update(T_COUNTERS)
        .where(*cond)
        .values(seq=T_COUNTERS.c.seq + 1,
                in_room=T_COUNTERS.c.in_room + in_room_delta,
                checked_in=T_COUNTERS.c.checked_in + (1 if first_checkin else 0))
        .returning(T_COUNTERS.c.session_id, T_COUNTERS.c.seq, T_COUNTERS.c.registered,
                   T_COUNTERS.c.checked_in, T_COUNTERS.c.in_room, T_COUNTERS.c.epoch)
    )
    if conn.dialect.name == "postgresql":
        c = counters.cte("c")
        stmt = (
            sa.update(T_RECORDS)
            .where(T_RECORDS.c.id == record_id, T_RECORDS.c.session_id == c.c.session_id)
            .values(**values, updated_seq=c.c.seq)
            .returning(c.c.seq, c.c.registered, c.c.checked_in, c.c.in_room, c.c.epoch)
        )
        row = (await conn.execute(stmt)).first()
    else:
        row = (await conn.execute(counters)).first()
        if row is not None:
            await conn.execute(sa.update(T_RECORDS).where(T_RECORDS.c.id == record_id)
                               .values(**values, updated_seq=row.seq))
    if row is None:
        return None
    return Gate(seq=row.seq, registered=row.registered, checked_in=row.checked_in,
                in_room=row.in_room, epoch=row.epoch)


async def bump(conn: AsyncConnection, session_id: str, *, registered: int = 0,
               checked_in: int = 0, in_room: int = 0) -> Gate:
    """Move the counters unconditionally and take the next seq (removal, clear, preload)."""
    row = (await conn.execute(
        sa.update(T_COUNTERS)
        .where(T_COUNTERS.c.session_id == session_id)
        .values(seq=T_COUNTERS.c.seq + 1,
                registered=T_COUNTERS.c.registered + registered,
                checked_in=T_COUNTERS.c.checked_in + checked_in,
                in_room=T_COUNTERS.c.in_room + in_room)
        .returning(T_COUNTERS.c.seq, T_COUNTERS.c.registered, T_COUNTERS.c.checked_in,
                   T_COUNTERS.c.in_room, T_COUNTERS.c.epoch)
    )).one()
    return Gate(seq=row.seq, registered=row.registered, checked_in=row.checked_in,
                in_room=row.in_room, epoch=row.epoch)


def counts_of(g: Gate, capacity: int | None) -> Counts:
    return Counts.of(registered=g.registered, checked_in=g.checked_in, in_room=g.in_room,
                     capacity=capacity)


async def store_event(conn: AsyncConnection, event: SessionEvent, at: dt.datetime, *,
                      answer: tuple[str, bytes] | None = None) -> None:
    """Store the event in the replay log and, with ``answer`` (idempotency key, encoded data),
    remember the answer; on PostgreSQL both go in one statement (one round trip while the
    counter row is held)."""
    insert_event = sa.insert(T_EVENTS).values(
        session_id=event.session_id, seq=event.seq, kind=event.kind,
        payload=encode_event(event), created_at=at,
    )
    if answer is None:
        await conn.execute(insert_event)
        return
    insert_answer = sa.insert(T_IDEMPOTENCY).values(
        key=answer[0], session_id=event.session_id, response=answer[1], created_at=at,
    )
    if conn.dialect.name == "postgresql":
        await conn.execute(insert_answer.add_cte(insert_event.cte("ev")))
    else:
        await conn.execute(insert_event)
        await conn.execute(insert_answer)


# --- check-in and check-out -----------------------------------------------------------------


async def door(hub: Hub, principal: Principal, session_id: str, action: str,
               body: DoorRequest) -> bytes:
    """Check an attendee in (``action="checkin"``) or out; return the encoded answer
    (``DoorAnswer``). Raises CheckinRefused (409/404) or another HubError."""
    if action not in ("checkin", "checkout"):
        raise RuntimeError(f"unknown door action {action!r}")
    door_ = rules.door_for(principal, body.source, session_id)
    ident = None if door_.attendee_id is not None else identifier_of(body)
    key = f"{session_id}/{action}/{body.idempotency_key}" if body.idempotency_key else None
    events: list[SessionEvent] = []

    async def work(conn: AsyncConnection) -> bytes:
        events.clear()
        return await _door_tx(conn, door_, session_id, action, body, ident, key, events)

    try:
        data = await in_tx(hub, work)
    except _Replay as replay:
        return replay.data
    await publish_after_commit(hub.sink, events)
    return data


async def _door_tx(conn: AsyncConnection, door_: rules.Door, session_id: str, action: str,
                   body: DoorRequest, ident: tuple[str, str] | None, key: str | None,
                   events: list[SessionEvent]) -> bytes:
    s = await load_session(conn, session_id)
    attendee, user_row = await load_attendee(conn, session_id, attendee_id=door_.attendee_id,
                                             ident=ident)
    state = await lock_record(conn, session_id, attendee.id)
    if key is not None:
        stored = (await conn.execute(
            sa.select(T_IDEMPOTENCY.c.response).where(T_IDEMPOTENCY.c.key == key)
        )).first()
        if stored is not None:
            raise _Replay(bytes(stored.response))
    extras = records.Extras()
    if state.checkin_time_actual is not None:
        extras = (await records.load_extras(conn, [state.id],
                                            with_credit=bool(s.ctx.fields)))[state.id]
    at_now = now()
    view = state.view()
    given = parse_timestamp(body.timestamp, s.ctx.tz)
    at = rules.action_time(door_, given, at_now, view, action)
    overridden: list[str] = []
    if action == "checkin":
        admission = rules.admit(s.view, attendee, view, door_, code=body.code,
                                delivery_format=body.delivery_format, override=body.override)
        overridden += admission.overridden
        first = state.checkin_time_actual is None
        if first:
            state.checkin_time = at
            state.checkin_time_actual = at_now
            state.checkin_source = door_.source
        elif state.checkin_time is None or at < state.checkin_time:
            state.checkin_time = at
        if admission.delivery_format is not None and (first or state.delivery_format is None):
            state.delivery_format = admission.delivery_format
        state.in_since = at
        delta = 1
    else:
        rules.release(s.view, view, door_, code=body.code)
        first = False
        assert state.in_since is not None
        state.seconds_attended += rules.interval_seconds(state.in_since, at)
        state.in_since = None
        state.checkout_time = at
        state.checkout_time_actual = at_now
        state.checkout_source = door_.source
        delta = -1
    if body.note is not None and body.note.strip():
        if door_.attendee_id is not None:
            state.attendee_note = body.note.strip()
        else:
            state.admin_note = body.note.strip()

    await conn.execute(sa.insert(T_HISTORY).values(
        record_id=state.id, action=action, timestamp=at, source=door_.source,
        actor=door_.actor,
    ))
    extras.history.append((action, at, door_.source))

    capacity = s.view.capacity if action == "checkin" else None
    g = await gate(conn, session_id=session_id, record_id=state.id, in_room_delta=delta,
                   first_checkin=first, capacity=capacity, values=state.columns())
    if g is None:
        if not (body.override and door_.may_override):
            raise CheckinRefused("capacity_full")
        overridden.append("capacity_full")
        g = await gate(conn, session_id=session_id, record_id=state.id, in_room_delta=delta,
                       first_checkin=first, capacity=None, values=state.columns())
        assert g is not None
    if overridden:
        reason = (body.override_reason or "").strip() or None
        await conn.execute(sa.insert(T_OVERRIDES), [
            dict(record_id=state.id, rule=rule, actor=door_.actor, reason=reason, at=at_now)
            for rule in overridden
        ])
        extras.overrides += [(rule, door_.actor, reason, at_now) for rule in overridden]

    out = records.serialize(state, records.user_of(user_row), extras, s.ctx, at_now)
    counts = counts_of(g, s.view.capacity)
    data = encode(DoorAnswer(record=out, counts=counts, seq=g.seq))
    event = SessionEvent(session_id=session_id, seq=g.seq, epoch=g.epoch, kind=action,
                         at=iso(at_now, s.ctx.tz) or "", counts=counts,
                         record=records.to_builtins(out))
    await store_event(conn, event, at_now, answer=None if key is None else (key, data))
    events.append(event)
    return data


# --- counts ----------------------------------------------------------------------------------


async def counts(hub: Hub, session_id: str) -> Counts:
    async with hub.read() as conn:
        row = (await conn.execute(
            sa.select(T_COUNTERS.c.registered, T_COUNTERS.c.checked_in, T_COUNTERS.c.in_room,
                      T_SESSIONS.c.capacity)
            .select_from(T_SESSIONS.join(T_COUNTERS,
                                         T_COUNTERS.c.session_id == T_SESSIONS.c.id))
            .where(T_SESSIONS.c.id == session_id)
        )).first()
    if row is None:
        raise NotFound(f"No session with id {session_id!r}.")
    return Counts.of(registered=row.registered, checked_in=row.checked_in, in_room=row.in_room,
                     capacity=row.capacity)


__all__ = ["DoorAnswer", "DoorRequest", "HubError", "counts", "door", "in_tx"]
