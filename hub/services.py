"""Door use cases and the loaders and writers the attendance engine shares.

Guarantees of ``door`` (check-in and check-out; the work is in ``hub.batching``):

- An answer is given only after its transaction committed; a refusal writes nothing.
- Every change to a session's attendance (door batches, removal, clear, preload) first locks
  the session's counter row, so they are settled one after the other: capacity is decided
  against the locked counts, and ``seq`` is strictly increasing per session.
- A request that repeats an idempotency key (same session and action) gets the first
  successful answer back byte for byte, and writes nothing.
- The session event is stored in ``session_events`` in the same transaction and handed to the
  event sink after the commit; a sink failure is logged, never raised.
"""

from __future__ import annotations

import datetime as dt
import json
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
from hub.errors import CheckinRefused, Conflict, HubError, Invalid, NotFound
from hub.events import Counts, SessionEvent, encode_event
from hub.records import RecordState, SessionContext
from hub.state import Hub
from storage.models import (
    T_APP,
    T_ATTENDEES,
    T_COUNTERS,
    T_EVENTS,
    T_IDEMPOTENCY,
    T_RECORDS,
    T_REGISTRATIONS,
    T_SESSIONS,
)
from storage.timeutil import zone

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
                       with_fields: bool = True, lock: bool = False) -> LoadedSession:
    """The session, its counters and the event's time zone and credit rule (one query), and
    its fields of study (one more). Raises NotFound.

    With ``lock`` the session's counter row is locked until the transaction ends (PostgreSQL;
    SQLite's ``BEGIN IMMEDIATE`` already serialises writers): every change to a session's
    attendance takes that lock first, so the door's batches, removals, clears and preloads
    of one session run one after the other and never deadlock."""
    stmt = (
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
    )
    if lock and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=T_COUNTERS)
    row = (await conn.execute(stmt)).first()
    if row is None:
        raise NotFound(f"No session with id {session_id!r}.")
    fields = await records.load_fields(conn, session_id) if with_fields else []
    return session_of(row, fields)


def session_of(row: Any, fields: list[records.FieldView]) -> LoadedSession:
    """A LoadedSession from a row of ``load_session``'s columns and the session's fields."""
    levels = row.registration_levels
    if isinstance(levels, str):  # JSON read without a decoder
        levels = json.loads(levels)
    rule = json.loads(row.credit_rule) if isinstance(row.credit_rule, str) else row.credit_rule
    app_rule = json.loads(row.app_rule) if isinstance(row.app_rule, str) else row.app_rule
    levels = levels if isinstance(levels, list) else []
    view = rules.SessionView(
        id=row.id,
        checkin_code=row.checkin_code or None,
        checkout_code=row.checkout_code or None,
        delivery_format=row.delivery_format,
        capacity=row.capacity,
        registrants_only=bool(row.registrants_only),
        registration_levels=tuple(str(x) for x in levels),
    )
    ctx = SessionContext(
        session_id=row.id,
        date=row.date,
        start_time=row.start_time,
        end_time=row.end_time,
        tz=zone(row.app_tz),
        rule=credit.effective_rule(app_rule, rule),
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


# --- the counter row ----------------------------------------------------------------------


@dataclass
class Gate:
    seq: int
    registered: int
    checked_in: int
    in_room: int
    epoch: str


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
    (``DoorAnswer``) once committed. Raises CheckinRefused (409/404) or another HubError.

    Requests for the same session are settled together, in group-committed batches
    (``hub.batching``), with the rules of ``hub.rules`` applied in arrival order."""
    from hub import batching

    return await batching.door(hub, principal, session_id, action, body)


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
