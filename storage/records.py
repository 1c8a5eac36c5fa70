"""Check-in records and what hangs off them, the counter row, the event log and the
remembered door answers: the queries every attendance use case shares.

The record's columns are declared once, by the table (``storage.tables``). ``RECORD_STATE``
names the columns a door action moves, taken from that declaration; every reader and writer of
records here, and the door's bulk writers (``storage.door``), are built from it. Functions
return rows; the hub turns them into its own types.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.offline import leased_seats
from storage.tables import (
    T_APP,
    T_ATTENDEES,
    T_CODEWORD_SUBMISSIONS,
    T_CODEWORDS,
    T_COUNTERS,
    T_CREDIT_ADJUSTMENTS,
    T_EVENTS,
    T_FIELDS,
    T_HISTORY,
    T_IDEMPOTENCY,
    T_OVERRIDES,
    T_RECORDS,
    T_REGISTRATIONS,
    T_SESSIONS,
)

# The record's keys and the columns no door action writes.
_NOT_STATE = frozenset({"id", "session_id", "attendee_id", "evaluation_complete",
                        "updated_seq"})
# The columns a door action moves, in the table's order.
RECORD_STATE: tuple[str, ...] = tuple(c.name for c in T_RECORDS.c if c.name not in _NOT_STATE)
# What a record is read with: its id, its attendee, its state and its evaluation flag.
RECORD_COLUMNS = (T_RECORDS.c.id, T_RECORDS.c.attendee_id,
                  *(T_RECORDS.c[name] for name in RECORD_STATE),
                  T_RECORDS.c.evaluation_complete)
# How an attendee shows in a record (``user``).
USER_FIELDS = ("first_name", "last_name", "email", "external_id", "field_1", "field_2",
               "field_3", "field_4", "field_5", "badge_id")
USER_COLUMNS = tuple(T_ATTENDEES.c[name] for name in USER_FIELDS)


def dialect_insert(conn: AsyncConnection, table: sa.Table) -> Any:
    """INSERT with ON CONFLICT support for the connection's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


# --- sessions as the door and the record writers see them ------------------------------------

_APP_TZ = sa.select(T_APP.c.timezone).where(T_APP.c.id == 1).scalar_subquery()
_APP_RULE = sa.select(T_APP.c.credit_rule).where(T_APP.c.id == 1).scalar_subquery()
_APP_SELF_REPORT = (sa.select(T_APP.c.self_report_credit).where(T_APP.c.id == 1)
                    .scalar_subquery())

# The columns of ``session_row``: the door's view of a session, its counters, and the event's
# time zone and credit rule.
SESSION_COLUMNS = (
    T_SESSIONS.c.id, T_SESSIONS.c.checkin_code, T_SESSIONS.c.checkout_code,
    T_SESSIONS.c.delivery_format, T_SESSIONS.c.capacity, T_SESSIONS.c.registrants_only,
    T_SESSIONS.c.registration_levels, T_SESSIONS.c.date, T_SESSIONS.c.start_time,
    T_SESSIONS.c.end_time, T_SESSIONS.c.credit_rule, T_SESSIONS.c.ce_minutes,
    T_COUNTERS.c.seq, T_COUNTERS.c.registered, T_COUNTERS.c.checked_in,
    T_COUNTERS.c.in_room, T_COUNTERS.c.epoch,
    _APP_TZ.label("app_tz"), _APP_RULE.label("app_rule"),
    _APP_SELF_REPORT.label("app_self_report_credit"),
)


async def session_row(conn: AsyncConnection, session_id: str, *, lock: bool = False) -> Any:
    """The session with its counters (``SESSION_COLUMNS``), or None. With ``lock`` the
    session's counter row is locked until the transaction ends (PostgreSQL; SQLite's
    ``BEGIN IMMEDIATE`` already serialises writers)."""
    stmt = (sa.select(*SESSION_COLUMNS)
            .select_from(T_SESSIONS.join(T_COUNTERS,
                                         T_COUNTERS.c.session_id == T_SESSIONS.c.id))
            .where(T_SESSIONS.c.id == session_id))
    if lock and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=T_COUNTERS)
    return (await conn.execute(stmt)).first()


async def field_rows(conn: AsyncConnection, session_id: str) -> list[Any]:
    """The session's fields of study joined with their codewords, in order:
    (id, name, credits, cw_id, word)."""
    return list(await conn.execute(
        sa.select(T_FIELDS.c.id, T_FIELDS.c.name, T_FIELDS.c.credits,
                  T_CODEWORDS.c.id.label("cw_id"), T_CODEWORDS.c.word)
        .select_from(T_FIELDS.outerjoin(T_CODEWORDS, T_CODEWORDS.c.field_id == T_FIELDS.c.id))
        .where(T_FIELDS.c.session_id == session_id)
        .order_by(T_FIELDS.c.position, T_FIELDS.c.id, T_CODEWORDS.c.position, T_CODEWORDS.c.id)
    ))


async def counts_row(conn: AsyncConnection, session_id: str) -> Any:
    """(registered, checked_in, in_room, capacity) of a session, or None."""
    return (await conn.execute(
        sa.select(T_COUNTERS.c.registered, T_COUNTERS.c.checked_in, T_COUNTERS.c.in_room,
                  T_SESSIONS.c.capacity, leased_seats(T_SESSIONS.c.id).label("leased"))
        .select_from(T_SESSIONS.join(T_COUNTERS, T_COUNTERS.c.session_id == T_SESSIONS.c.id))
        .where(T_SESSIONS.c.id == session_id)
    )).first()


# --- attendees ----------------------------------------------------------------------------


async def attendee_rows(conn: AsyncConnection, session_id: str, *, attendee_id: int | None,
                        ident: tuple[str, str] | None, limit: int = 2) -> list[Any]:
    """The attendee named by id or by (external_id | badge_id | email, value), with
    ``registration_level``, ``USER_COLUMNS`` and ``registered`` (for the session)."""
    registered = (
        sa.exists().where(T_REGISTRATIONS.c.session_id == session_id,
                          T_REGISTRATIONS.c.attendee_id == T_ATTENDEES.c.id)
    ).label("registered")
    stmt = sa.select(T_ATTENDEES.c.id, T_ATTENDEES.c.registration_level, *USER_COLUMNS,
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
    return list(await conn.execute(stmt.limit(limit)))


# --- records -------------------------------------------------------------------------------


async def lock_record(conn: AsyncConnection, session_id: str, attendee_id: int) -> Any:
    """The attendee's record row (``RECORD_COLUMNS``) for the session, created if missing,
    locked until the transaction ends (one statement: INSERT ... ON CONFLICT DO UPDATE ...
    RETURNING)."""
    ins = dialect_insert(conn, T_RECORDS).values(
        session_id=session_id, attendee_id=attendee_id, seconds_attended=0,
        evaluation_complete=False, updated_seq=0,
    )
    stmt = ins.on_conflict_do_update(
        index_elements=["session_id", "attendee_id"],
        set_={"attendee_id": ins.excluded.attendee_id},
    ).returning(*RECORD_COLUMNS)
    return (await conn.execute(stmt)).one()


async def record_rows(conn: AsyncConnection, session_id: str, *, where: Iterable[Any] = (),
                      for_update: bool = False) -> list[Any]:
    """The session's records (optionally filtered) with their attendee's ``USER_COLUMNS``,
    in record order."""
    stmt = (
        sa.select(*RECORD_COLUMNS, *USER_COLUMNS)
        .select_from(T_RECORDS.join(T_ATTENDEES, T_ATTENDEES.c.id == T_RECORDS.c.attendee_id))
        .where(T_RECORDS.c.session_id == session_id, *where)
        .order_by(T_RECORDS.c.id)
    )
    if for_update:
        stmt = stmt.with_for_update(of=T_RECORDS)
    return list(await conn.execute(stmt))


def records_selected(session_id: str, where: Iterable[Any] = ()) -> Any:
    """A SELECT of the ids ``record_rows`` returns (for a subquery instead of a long list)."""
    return (
        sa.select(T_RECORDS.c.id)
        .select_from(T_RECORDS.join(T_ATTENDEES, T_ATTENDEES.c.id == T_RECORDS.c.attendee_id))
        .where(T_RECORDS.c.session_id == session_id, *where)
    )


def filter_where(*, all: bool = False, email: str | None = None,
                 external_id: str | None = None) -> list[Any]:
    """The WHERE clauses of a removal filter (each given filter, exact, any case)."""
    used: list[Any] = []
    if all:
        used.append(sa.true())
    if email is not None:
        used.append(T_ATTENDEES.c.email_lower == email.lower())
    if external_id is not None:
        used.append(sa.func.lower(T_ATTENDEES.c.external_id) == external_id.lower())
    return used


@dataclass
class ExtrasRows:
    """The rows hanging off some records, in their order."""

    history: list[Any] = field(default_factory=list)  # record_id, action, timestamp, source
    overrides: list[Any] = field(default_factory=list)  # record_id, rule, actor, reason, at
    submissions: list[Any] = field(default_factory=list)  # record_id, codeword_id
    adjustments: list[Any] = field(default_factory=list)  # credit_adjustments rows


async def extras_rows(conn: AsyncConnection, record_ids: Sequence[int] | Any, *,
                      with_credit: bool = True) -> ExtrasRows:
    """History, overrides and (``with_credit``) codeword submissions and credit adjustments
    of the records: one query each. ``record_ids`` is a list, or a SELECT of ids."""
    ids = record_ids
    out = ExtrasRows()
    out.history = list(await conn.execute(
        sa.select(T_HISTORY.c.record_id, T_HISTORY.c.action, T_HISTORY.c.timestamp,
                  T_HISTORY.c.source)
        .where(T_HISTORY.c.record_id.in_(ids))
        .order_by(T_HISTORY.c.record_id, T_HISTORY.c.timestamp, T_HISTORY.c.id)))
    out.overrides = list(await conn.execute(
        sa.select(T_OVERRIDES.c.record_id, T_OVERRIDES.c.rule, T_OVERRIDES.c.actor,
                  T_OVERRIDES.c.reason, T_OVERRIDES.c.at)
        .where(T_OVERRIDES.c.record_id.in_(ids))
        .order_by(T_OVERRIDES.c.id)))
    if with_credit:
        out.submissions = list(await conn.execute(
            sa.select(T_CODEWORD_SUBMISSIONS.c.record_id, T_CODEWORD_SUBMISSIONS.c.codeword_id)
            .where(T_CODEWORD_SUBMISSIONS.c.record_id.in_(ids))))
        out.adjustments = list(await conn.execute(
            sa.select(T_CREDIT_ADJUSTMENTS)
            .where(T_CREDIT_ADJUSTMENTS.c.record_id.in_(ids))))
    return out


async def delete_records(conn: AsyncConnection, session_id: str,
                         records: Sequence[tuple[int, int]]) -> None:
    """Delete the records (record id, attendee id) of the session, and the door answers
    remembered for those attendees there: a retry of a removed check-in is judged afresh."""
    await conn.execute(sa.delete(T_RECORDS).where(T_RECORDS.c.id.in_([r for r, _ in records])))
    await conn.execute(sa.delete(T_IDEMPOTENCY).where(
        T_IDEMPOTENCY.c.session_id == session_id,
        T_IDEMPOTENCY.c.attendee_id.in_(sorted({a for _, a in records}))))


async def clear_records(conn: AsyncConnection, session_id: str) -> int:
    """Delete every record of the session and its remembered door answers; how many
    records went."""
    gone = (await conn.execute(
        sa.delete(T_RECORDS).where(T_RECORDS.c.session_id == session_id)
        .returning(T_RECORDS.c.id)
    )).all()
    await conn.execute(sa.delete(T_IDEMPOTENCY).where(T_IDEMPOTENCY.c.session_id == session_id))
    return len(gone)


async def ensure_records(conn: AsyncConnection, session_id: str,
                         attendee_ids: Sequence[int]) -> None:
    """Give each attendee a record in the session (no check-in yet) unless they have one."""
    await conn.execute(
        dialect_insert(conn, T_RECORDS)
        .values([dict(session_id=session_id, attendee_id=aid, seconds_attended=0,
                      evaluation_complete=False, updated_seq=0) for aid in attendee_ids])
        .on_conflict_do_nothing(index_elements=["session_id", "attendee_id"])
    )


async def add_codeword_submissions(conn: AsyncConnection, record_id: int,
                                   codeword_ids: Sequence[int], at: dt.datetime) -> None:
    await conn.execute(
        dialect_insert(conn, T_CODEWORD_SUBMISSIONS)
        .values([dict(record_id=record_id, codeword_id=cid, submitted_at=at)
                 for cid in codeword_ids])
        .on_conflict_do_nothing(index_elements=["record_id", "codeword_id"])
    )


async def set_credit_adjustment(conn: AsyncConnection, record_id: int, field_id: int, *,
                                credits: float | None, note: str | None, actor: str,
                                at: dt.datetime) -> None:
    """Set (or with ``credits`` None, remove) one field's credit adjustment."""
    if credits is None:
        await conn.execute(sa.delete(T_CREDIT_ADJUSTMENTS).where(
            T_CREDIT_ADJUSTMENTS.c.record_id == record_id,
            T_CREDIT_ADJUSTMENTS.c.field_id == field_id))
        return
    values = dict(credits=credits, note=note, actor=actor, at=at)
    ins = dialect_insert(conn, T_CREDIT_ADJUSTMENTS).values(
        record_id=record_id, field_id=field_id, **values)
    await conn.execute(ins.on_conflict_do_update(
        index_elements=["record_id", "field_id"], set_=values))


# --- the counter row -----------------------------------------------------------------------

_COUNTER_RETURNING = (T_COUNTERS.c.seq, T_COUNTERS.c.registered, T_COUNTERS.c.checked_in,
                      T_COUNTERS.c.in_room, T_COUNTERS.c.epoch)


async def bump_counters(conn: AsyncConnection, session_id: str, *, registered: int = 0,
                        checked_in: int = 0, in_room: int = 0) -> Any:
    """Move the counters by the given amounts and take the next seq; the row after."""
    return (await conn.execute(
        sa.update(T_COUNTERS)
        .where(T_COUNTERS.c.session_id == session_id)
        .values(seq=T_COUNTERS.c.seq + 1,
                registered=T_COUNTERS.c.registered + registered,
                checked_in=T_COUNTERS.c.checked_in + checked_in,
                in_room=T_COUNTERS.c.in_room + in_room)
        .returning(*_COUNTER_RETURNING)
    )).one()


async def reset_counters(conn: AsyncConnection, session_id: str) -> Any:
    """No one checked in or in the room; the next seq. The row after."""
    return (await conn.execute(
        sa.update(T_COUNTERS).where(T_COUNTERS.c.session_id == session_id)
        .values(seq=T_COUNTERS.c.seq + 1, checked_in=0, in_room=0)
        .returning(*_COUNTER_RETURNING)
    )).one()


# --- the event log and remembered answers --------------------------------------------------


async def store_event(conn: AsyncConnection, *, session_id: str, seq: int, kind: str,
                      payload: bytes, at: dt.datetime) -> None:
    """Append one event to the session's replay log."""
    await conn.execute(sa.insert(T_EVENTS).values(
        session_id=session_id, seq=seq, kind=kind, payload=payload, created_at=at))


async def forget_answers(conn: AsyncConnection, *, before: dt.datetime) -> int:
    """Forget remembered door answers older than ``before``; how many went."""
    result = await conn.execute(
        sa.delete(T_IDEMPOTENCY).where(T_IDEMPOTENCY.c.created_at < before))
    return int(result.rowcount or 0)
