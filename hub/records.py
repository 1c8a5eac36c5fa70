"""Check-in records in the reference's shape: loading them and writing them out.

One serializer for every place a record appears: ``GET /sessions/{id}/attendance``, the answer
to a check-in or check-out, the ``record`` of a session event, and the removal preview. Times
are written in the event's time zone (``storage.timeutil.iso``).

Beyond the reference's fields each record carries ``in_room``, ``percent_attended`` and
``overrides``; the user carries ``badge_id``; each field of study carries ``credits_earned``
(what the credit rule gives) and ``adjustment`` (an admin's change, if any): ``credits`` is the
adjusted value when there is one, as the reference says, and the original stays visible.

Preloaded attendees have a record with null check-in times (the reference's preload); an
attendee who is only registered (``POST /attendees`` with ``sessions``) has no record until
they first check in. ``GET /attendance`` lists records, so it shows preloaded attendees and not
merely registered ones; ``GET /counts`` counts both as registered.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub import credit, rules
from storage.models import (
    T_ATTENDEES,
    T_CODEWORD_SUBMISSIONS,
    T_CODEWORDS,
    T_CREDIT_ADJUSTMENTS,
    T_FIELDS,
    T_HISTORY,
    T_OVERRIDES,
    T_RECORDS,
)
from storage.timeutil import as_utc, iso

# --- wire shapes ---------------------------------------------------------------------------


class AttendeeUser(msgspec.Struct):
    first_name: str | None
    last_name: str | None
    email: str | None
    external_id: str | None
    field_1: str | None
    field_2: str | None
    field_3: str | None
    field_4: str | None
    field_5: str | None
    badge_id: str | None = None


class Codewords(msgspec.Struct):
    possible: int
    valid: int
    missed: int
    valid_list: list[str]
    missed_list: list[str]


class CreditAdjustmentOut(msgspec.Struct):
    credits: float | int
    note: str | None
    by: str | None
    at: str | None


class FieldOfStudyCheckin(msgspec.Struct):
    name: str
    credits: float | int  # awarded: the adjusted value when an admin adjusted it
    codewords: Codewords
    credits_earned: float | int  # what the credit rule gives (the original)
    adjustment: CreditAdjustmentOut | None = None


class HistoryEntry(msgspec.Struct):
    action: str  # "checkin" | "checkout"
    timestamp: str | None
    source: str | None = None


class OverrideOut(msgspec.Struct):
    rule: str
    by: str
    reason: str | None
    at: str | None


class CheckinRecordOut(msgspec.Struct):
    user: AttendeeUser
    checkin_time: str | None
    checkout_time: str | None
    checkin_time_actual: str | None
    checkout_time_actual: str | None
    delivery_format: str | None
    admin_note: str | None
    attendee_note: str | None
    checkin_source: str | None
    checkout_source: str | None
    evaluation_complete: str  # "1" or "0", as the reference shows it
    total_time_attended: str | None  # HH:MM:SS; null before the first check-in
    fields_of_study: list[FieldOfStudyCheckin]
    history: list[HistoryEntry]
    in_room: bool = False
    percent_attended: float | None = None
    overrides: list[OverrideOut] = msgspec.field(default_factory=list)


# --- what the serializer reads -----------------------------------------------------------

RECORD_COLUMNS = (
    T_RECORDS.c.id,
    T_RECORDS.c.attendee_id,
    T_RECORDS.c.checkin_time,
    T_RECORDS.c.checkout_time,
    T_RECORDS.c.checkin_time_actual,
    T_RECORDS.c.checkout_time_actual,
    T_RECORDS.c.in_since,
    T_RECORDS.c.seconds_attended,
    T_RECORDS.c.delivery_format,
    T_RECORDS.c.admin_note,
    T_RECORDS.c.attendee_note,
    T_RECORDS.c.checkin_source,
    T_RECORDS.c.checkout_source,
    T_RECORDS.c.evaluation_complete,
)

USER_COLUMNS = (
    T_ATTENDEES.c.first_name,
    T_ATTENDEES.c.last_name,
    T_ATTENDEES.c.email,
    T_ATTENDEES.c.external_id,
    T_ATTENDEES.c.field_1,
    T_ATTENDEES.c.field_2,
    T_ATTENDEES.c.field_3,
    T_ATTENDEES.c.field_4,
    T_ATTENDEES.c.field_5,
    T_ATTENDEES.c.badge_id,
)


@dataclass
class RecordState:
    """A record's columns, as loaded or as a door action leaves them."""

    id: int
    attendee_id: int
    checkin_time: dt.datetime | None = None
    checkout_time: dt.datetime | None = None
    checkin_time_actual: dt.datetime | None = None
    checkout_time_actual: dt.datetime | None = None
    in_since: dt.datetime | None = None
    seconds_attended: int = 0
    delivery_format: str | None = None
    admin_note: str | None = None
    attendee_note: str | None = None
    checkin_source: str | None = None
    checkout_source: str | None = None
    evaluation_complete: bool = False

    @classmethod
    def of(cls, row: Any) -> RecordState:
        return cls(
            id=row.id,
            attendee_id=row.attendee_id,
            checkin_time=as_utc(row.checkin_time),
            checkout_time=as_utc(row.checkout_time),
            checkin_time_actual=as_utc(row.checkin_time_actual),
            checkout_time_actual=as_utc(row.checkout_time_actual),
            in_since=as_utc(row.in_since),
            seconds_attended=int(row.seconds_attended or 0),
            delivery_format=row.delivery_format,
            admin_note=row.admin_note,
            attendee_note=row.attendee_note,
            checkin_source=row.checkin_source,
            checkout_source=row.checkout_source,
            evaluation_complete=bool(row.evaluation_complete),
        )

    def view(self) -> rules.RecordView:
        return rules.RecordView(
            exists=True,
            ever_checked_in=self.checkin_time_actual is not None,
            in_since=self.in_since,
            last_checkout=self.checkout_time,
        )

    def columns(self) -> dict[str, Any]:
        """The values a door action writes back."""
        return {
            "checkin_time": self.checkin_time,
            "checkout_time": self.checkout_time,
            "checkin_time_actual": self.checkin_time_actual,
            "checkout_time_actual": self.checkout_time_actual,
            "in_since": self.in_since,
            "seconds_attended": self.seconds_attended,
            "delivery_format": self.delivery_format,
            "admin_note": self.admin_note,
            "attendee_note": self.attendee_note,
            "checkin_source": self.checkin_source,
            "checkout_source": self.checkout_source,
        }


@dataclass(frozen=True)
class FieldView:
    id: int
    name: str
    credits: str | None
    codewords: tuple[tuple[int, str], ...]


@dataclass
class SessionContext:
    """What every record of one session needs to be written out."""

    session_id: str
    date: dt.date | None
    start_time: dt.time | None
    end_time: dt.time | None
    tz: ZoneInfo | None
    rule: credit.CreditRule
    fields: list[FieldView]


@dataclass
class Extras:
    """The rows hanging off one record."""

    history: list[tuple[str, dt.datetime, str | None]] = field(default_factory=list)
    submitted: set[int] = field(default_factory=set)  # codeword ids
    adjustments: dict[int, Any] = field(default_factory=dict)  # field id -> row
    overrides: list[tuple[str, str, str | None, dt.datetime]] = field(default_factory=list)


def user_of(row: Any) -> AttendeeUser:
    return AttendeeUser(
        first_name=row.first_name,
        last_name=row.last_name,
        email=row.email,
        external_id=row.external_id,
        field_1=row.field_1,
        field_2=row.field_2,
        field_3=row.field_3,
        field_4=row.field_4,
        field_5=row.field_5,
        badge_id=row.badge_id,
    )


# --- loading -------------------------------------------------------------------------------


async def load_fields(conn: AsyncConnection, session_id: str) -> list[FieldView]:
    """The session's fields of study with their codewords, in order (one query)."""
    rows = await conn.execute(
        sa.select(T_FIELDS.c.id, T_FIELDS.c.name, T_FIELDS.c.credits,
                  T_CODEWORDS.c.id.label("cw_id"), T_CODEWORDS.c.word)
        .select_from(T_FIELDS.outerjoin(T_CODEWORDS, T_CODEWORDS.c.field_id == T_FIELDS.c.id))
        .where(T_FIELDS.c.session_id == session_id)
        .order_by(T_FIELDS.c.position, T_FIELDS.c.id, T_CODEWORDS.c.position, T_CODEWORDS.c.id)
    )
    return fields_of(rows)


def fields_of(rows: Iterable[Any]) -> list[FieldView]:
    """FieldViews from rows of (id, name, credits, cw_id, word) in order."""
    order: list[int] = []
    meta: dict[int, tuple[str, str | None]] = {}
    words: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for r in rows:
        if r.id not in meta:
            order.append(r.id)
            meta[r.id] = (r.name, r.credits)
        if r.cw_id is not None:
            words[r.id].append((r.cw_id, r.word))
    return [FieldView(id=i, name=meta[i][0], credits=meta[i][1], codewords=tuple(words[i]))
            for i in order]


async def load_extras(conn: AsyncConnection, record_ids: Sequence[int], *,
                      with_credit: bool = True, selected: Any = None) -> dict[int, Extras]:
    """History, overrides, and (``with_credit``) codeword submissions and credit adjustments
    for the given records: one query each, whatever the number of records. ``selected`` (a
    SELECT of those record ids) replaces a long IN list with a subquery."""
    out: dict[int, Extras] = {rid: Extras() for rid in record_ids}
    if not record_ids:
        return out
    ids: Any = list(record_ids) if selected is None else selected
    for h in await conn.execute(
        sa.select(T_HISTORY.c.record_id, T_HISTORY.c.action, T_HISTORY.c.timestamp,
                  T_HISTORY.c.source)
        .where(T_HISTORY.c.record_id.in_(ids))
        .order_by(T_HISTORY.c.record_id, T_HISTORY.c.timestamp, T_HISTORY.c.id)
    ):
        ts = as_utc(h.timestamp)
        if ts is not None and h.record_id in out:  # (a subquery may see newer records)
            out[h.record_id].history.append((h.action, ts, h.source))
    for o in await conn.execute(
        sa.select(T_OVERRIDES.c.record_id, T_OVERRIDES.c.rule, T_OVERRIDES.c.actor,
                  T_OVERRIDES.c.reason, T_OVERRIDES.c.at)
        .where(T_OVERRIDES.c.record_id.in_(ids))
        .order_by(T_OVERRIDES.c.id)
    ):
        at = as_utc(o.at)
        if at is not None and o.record_id in out:
            out[o.record_id].overrides.append((o.rule, o.actor, o.reason, at))
    if with_credit:
        for s in await conn.execute(
            sa.select(T_CODEWORD_SUBMISSIONS.c.record_id, T_CODEWORD_SUBMISSIONS.c.codeword_id)
            .where(T_CODEWORD_SUBMISSIONS.c.record_id.in_(ids))
        ):
            if s.record_id in out:
                out[s.record_id].submitted.add(s.codeword_id)
        for a in await conn.execute(
            sa.select(T_CREDIT_ADJUSTMENTS).where(T_CREDIT_ADJUSTMENTS.c.record_id.in_(ids))
        ):
            if a.record_id in out:
                out[a.record_id].adjustments[a.field_id] = a
    return out


async def load_records(
    conn: AsyncConnection,
    ctx: SessionContext,
    now: dt.datetime,
    *,
    where: Iterable[Any] = (),
    for_update: bool = False,
) -> list[tuple[RecordState, CheckinRecordOut]]:
    """The session's records (optionally filtered), written out, in record order."""
    where = list(where)
    stmt = (
        sa.select(*RECORD_COLUMNS, *USER_COLUMNS)
        .select_from(T_RECORDS.join(T_ATTENDEES, T_ATTENDEES.c.id == T_RECORDS.c.attendee_id))
        .where(T_RECORDS.c.session_id == ctx.session_id, *where)
        .order_by(T_RECORDS.c.id)
    )
    if for_update:
        stmt = stmt.with_for_update(of=T_RECORDS)
    rows = list(await conn.execute(stmt))
    selected = (
        sa.select(T_RECORDS.c.id)
        .select_from(T_RECORDS.join(T_ATTENDEES, T_ATTENDEES.c.id == T_RECORDS.c.attendee_id))
        .where(T_RECORDS.c.session_id == ctx.session_id, *where)
    )
    extras = await load_extras(conn, [r.id for r in rows], with_credit=bool(ctx.fields),
                               selected=selected if len(rows) > 500 else None)
    out = []
    for r in rows:
        state = RecordState.of(r)
        out.append((state, serialize(state, user_of(r), extras[r.id], ctx, now)))
    return out


# --- writing out -----------------------------------------------------------------------------


def serialize(state: RecordState, user: AttendeeUser, extras: Extras, ctx: SessionContext,
              now: dt.datetime) -> CheckinRecordOut:
    tz = ctx.tz
    checked_in = state.checkin_time_actual is not None
    seconds = rules.total_seconds(state.seconds_attended, state.in_since, now)
    schedule = credit.schedule_of(ctx.date, ctx.start_time, ctx.end_time, tz,
                                  fallback_day=state.checkin_time)
    attendance = credit.Attendance(
        first_checkin=state.checkin_time if checked_in else None,
        last_checkout=state.checkout_time,
        in_room=state.in_since is not None,
        seconds=seconds,
        now=now,
    )
    fields = [_field_out(f, extras, ctx.rule, attendance, schedule, tz) for f in ctx.fields]
    return CheckinRecordOut(
        user=user,
        checkin_time=iso(state.checkin_time, tz),
        checkout_time=iso(state.checkout_time, tz),
        checkin_time_actual=iso(state.checkin_time_actual, tz),
        checkout_time_actual=iso(state.checkout_time_actual, tz),
        delivery_format=state.delivery_format,
        admin_note=state.admin_note,
        attendee_note=state.attendee_note,
        checkin_source=state.checkin_source,
        checkout_source=state.checkout_source,
        evaluation_complete="1" if state.evaluation_complete else "0",
        total_time_attended=rules.format_duration(seconds) if checked_in else None,
        fields_of_study=fields,
        history=[HistoryEntry(action=a, timestamp=iso(ts, tz), source=src)
                 for a, ts, src in extras.history],
        in_room=state.in_since is not None,
        percent_attended=(rules.percent_attended(seconds, schedule.length_seconds)
                          if checked_in else None),
        overrides=[OverrideOut(rule=rule, by=by, reason=reason, at=iso(at, tz))
                   for rule, by, reason, at in extras.overrides],
    )


def _field_out(f: FieldView, extras: Extras, rule: credit.CreditRule,
               attendance: credit.Attendance, schedule: credit.Schedule,
               tz: ZoneInfo | None) -> FieldOfStudyCheckin:
    valid = [w for cid, w in f.codewords if cid in extras.submitted]
    missed = [w for cid, w in f.codewords if cid not in extras.submitted]
    earned = credit.credits_earned(
        rule, credit.parse_credits(f.credits), attendance, schedule,
        valid_codewords=len(valid), possible_codewords=len(f.codewords),
    )
    adj = extras.adjustments.get(f.id)
    adjustment = None
    awarded = earned
    if adj is not None:
        awarded = float(adj.credits)
        adjustment = CreditAdjustmentOut(credits=credit.number(awarded), note=adj.note,
                                         by=adj.actor, at=iso(adj.at, tz))
    return FieldOfStudyCheckin(
        name=f.name,
        credits=credit.number(awarded),
        codewords=Codewords(possible=len(f.codewords), valid=len(valid), missed=len(missed),
                            valid_list=valid, missed_list=missed),
        credits_earned=credit.number(earned),
        adjustment=adjustment,
    )


def to_builtins(record: CheckinRecordOut) -> dict[str, Any]:
    """The record as the plain dict a SessionEvent carries."""
    out = msgspec.to_builtins(record)
    assert isinstance(out, dict)
    return out
