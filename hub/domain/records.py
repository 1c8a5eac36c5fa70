"""Check-in records in the reference's shape: their state, and writing them out (pure).

One serializer for every place a record appears: ``GET /sessions/{id}/attendance``, the answer
to a check-in or check-out, the ``record`` of a session event, and the removal preview. Times
are written in the event's time zone (``hub.domain.dates.iso``).

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

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from hub.domain import credit, rules
from hub.domain.dates import as_utc, iso

SELF_REPORT = "self-report"  # the source of a self-reported record

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
    def of(cls, row: Mapping[str, Any]) -> RecordState:
        """From a record row (``storage.records.RECORD_COLUMNS``)."""
        values = {name: row[name] for name in _NAMES}
        for name in _TIMES:
            values[name] = as_utc(values[name])
        values["seconds_attended"] = int(values["seconds_attended"] or 0)
        values["evaluation_complete"] = bool(values["evaluation_complete"])
        return cls(**values)

    def view(self) -> rules.RecordView:
        return rules.RecordView(
            exists=True,
            ever_checked_in=self.checkin_time_actual is not None,
            in_since=self.in_since,
            last_checkout=self.checkout_time,
        )

    def columns(self) -> dict[str, Any]:
        """The values a door action writes back: every field but the keys and the
        evaluation flag (``storage.records.RECORD_STATE``, which a test keeps equal)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name not in _NOT_STATE}


_NAMES = tuple(f.name for f in dataclasses.fields(RecordState))
_TIMES = tuple(f.name for f in dataclasses.fields(RecordState)
               if str(f.type).startswith("dt.datetime"))
_NOT_STATE = frozenset({"id", "attendee_id", "evaluation_complete"})


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
    ce_minutes: int | None = None
    self_report_credit: bool = True  # the event's setting: self-reported sessions earn credit


@dataclass
class Extras:
    """The rows hanging off one record."""

    history: list[tuple[str, dt.datetime, str | None]] = field(default_factory=list)
    submitted: set[int] = field(default_factory=set)  # codeword ids
    adjustments: dict[int, Any] = field(default_factory=dict)  # field id -> row
    overrides: list[tuple[str, str, str | None, dt.datetime]] = field(default_factory=list)


def user_of(row: Mapping[str, Any]) -> AttendeeUser:
    """The ``user`` of a record from an attendee row (``storage.records.USER_FIELDS``)."""
    return AttendeeUser(**{name: row[name] for name in _USER_FIELDS})


_USER_FIELDS = tuple(AttendeeUser.__struct_fields__)


# --- building from rows ------------------------------------------------------------------


def fields_of(rows: Iterable[Mapping[str, Any]]) -> list[FieldView]:
    """FieldViews from rows of (id, name, credits, cw_id, word) in order."""
    order: list[int] = []
    meta: dict[int, tuple[str, str | None]] = {}
    words: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for r in rows:
        fid = r["id"]
        if fid not in meta:
            order.append(fid)
            meta[fid] = (r["name"], r["credits"])
        if r["cw_id"] is not None:
            words[fid].append((r["cw_id"], r["word"]))
    return [FieldView(id=i, name=meta[i][0], credits=meta[i][1], codewords=tuple(words[i]))
            for i in order]


def extras_of(record_ids: Iterable[int], history: Iterable[Any], overrides: Iterable[Any],
              submissions: Iterable[Any] = (), adjustments: Iterable[Any] = ()
              ) -> dict[int, Extras]:
    """The rows hanging off records, grouped by record (rows of ``storage.records``)."""
    out: dict[int, Extras] = {rid: Extras() for rid in record_ids}
    for h in history:
        ts = as_utc(h.timestamp)
        if ts is not None and h.record_id in out:  # (a subquery may see newer records)
            out[h.record_id].history.append((h.action, ts, h.source))
    for o in overrides:
        at = as_utc(o.at)
        if at is not None and o.record_id in out:
            out[o.record_id].overrides.append((o.rule, o.actor, o.reason, at))
    for sub in submissions:
        if sub.record_id in out:
            out[sub.record_id].submitted.add(sub.codeword_id)
    for adj in adjustments:
        if adj.record_id in out:
            out[adj.record_id].adjustments[adj.field_id] = adj
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
        evaluation_complete=state.evaluation_complete,
    )
    earns = ctx.self_report_credit or state.checkin_source != SELF_REPORT
    fields = [_field_out(f, extras, ctx, attendance, schedule, earns) for f in ctx.fields]
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


def _field_out(f: FieldView, extras: Extras, ctx: SessionContext,
               attendance: credit.Attendance, schedule: credit.Schedule,
               earns: bool) -> FieldOfStudyCheckin:
    tz = ctx.tz
    valid = [w for cid, w in f.codewords if cid in extras.submitted]
    missed = [w for cid, w in f.codewords if cid not in extras.submitted]
    earned = credit.credits_earned(
        ctx.rule, credit.parse_credits(f.credits), attendance, schedule,
        valid_codewords=len(valid), possible_codewords=len(f.codewords),
        ce_minutes=ctx.ce_minutes,
    ) if earns else 0.0
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
