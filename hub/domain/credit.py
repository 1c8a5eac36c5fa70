"""Continuing-education credit: the attendance rule, and what a record earns under it.

The rule is set for the whole event (``app_settings.credit_rule``) and may be overridden per
session (``sessions.credit_rule``): the session's keys replace the event's, and a key the
session sets to null switches that condition off for the session. With no rule at all, an
attendee who checked in earns each field of study's credits (the reference's behaviour).

Conditions (each optional; all set ones must hold, else the field earns 0):

- ``min_percent``: time attended is at least this % of the scheduled length;
- ``checkin_within_minutes``: first check-in no later than N minutes after the start;
- ``checkout_within_minutes``: last check-out no earlier than M minutes before the end (an
  attendee still in the room counts once the end is that close);
- ``min_codewords``: at least this many valid codewords for the field (capped at the number the
  field has, so a field without codewords never blocks credit);
- ``evaluation_required``: the attendee submitted the session's evaluation (credit is
  withheld until then, and given as soon as it is done).

``unit_minutes`` turns credit into minute units: every full unit attended earns 1 credit, and
``half_after_minutes`` more minutes earn a half credit (50 and 25: 75 minutes = 1.5), capped at
the field's credits when the field names a positive number. Where the session has CE minutes
(``sessions.ce_minutes``), only that many minutes count: time attended beyond them earns
nothing more.

``prorate`` earns credit in proportion to time attended: a field's credits times the minutes
attended over the session's CE minutes (its scheduled length when it has none), the minutes
capped at the CE minutes, rounded down to a hundredth. A 60-minute session worth 1.5 credits
attended for 40 minutes earns 1.0; attended for 90 minutes, 1.5. With no CE minutes and no
scheduled length there is nothing to measure against and the field earns 0. ``unit_minutes``
wins when both are set.

Pure functions: no I/O, no clock (the caller passes ``now``).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from hub.errors import Invalid


class CreditRule(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    min_percent: float | None = None
    unit_minutes: int | None = None
    half_after_minutes: int | None = None
    checkin_within_minutes: int | None = None
    checkout_within_minutes: int | None = None
    min_codewords: int | None = None
    prorate: bool | None = None
    evaluation_required: bool | None = None


RULE_KEYS = tuple(CreditRule.__struct_fields__)


def parse_rule(value: Any, field: str = "credit_rule") -> CreditRule | None:
    """Validate a rule sent by a client; None (or {}) means no rule. Raises Invalid."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Invalid(field, "must be an object or null")
    try:
        rule = msgspec.convert(value, CreditRule)
    except msgspec.ValidationError as exc:
        raise Invalid(field, str(exc)) from None
    for key in RULE_KEYS:
        v = getattr(rule, key)
        if v is not None and not isinstance(v, bool) and v < 0:
            raise Invalid(f"{field}.{key}", "must not be negative")
    if rule.min_percent is not None and rule.min_percent > 100:
        raise Invalid(f"{field}.min_percent", "must be at most 100")
    if rule.unit_minutes == 0:
        raise Invalid(f"{field}.unit_minutes", "must be at least 1")
    return rule


def effective_rule(app_rule: dict[str, Any] | None,
                   session_rule: dict[str, Any] | None) -> CreditRule:
    """The event's rule with the session's keys laid over it (stored values; lenient)."""
    merged: dict[str, Any] = {}
    for source in (app_rule, session_rule):
        if isinstance(source, dict):
            merged.update({k: v for k, v in source.items() if k in RULE_KEYS})
    try:
        return msgspec.convert(merged, CreditRule)
    except msgspec.ValidationError:
        # A stored rule is validated on the way in; an unreadable one must not break the door.
        return CreditRule()


@dataclass(frozen=True)
class Schedule:
    start: dt.datetime | None  # aware
    end: dt.datetime | None
    length_seconds: int | None


def schedule_of(date: dt.date | None, start: dt.time | None, end: dt.time | None,
                tz: ZoneInfo | None, fallback_day: dt.datetime | None = None) -> Schedule:
    """The session's start and end as instants in the event's zone (UTC without one). Without
    a date, the day of ``fallback_day`` (the first check-in) stands in."""
    zone = tz or dt.UTC
    day = date
    if day is None and fallback_day is not None:
        day = fallback_day.astimezone(zone).date()
    start_at = dt.datetime.combine(day, start, tzinfo=zone) if day and start else None
    end_at = dt.datetime.combine(day, end, tzinfo=zone) if day and end else None
    length = None
    if start is not None and end is not None:
        base = dt.date(2000, 1, 1)
        secs = int((dt.datetime.combine(base, end) - dt.datetime.combine(base, start))
                   .total_seconds())
        length = secs if secs > 0 else None
    return Schedule(start=start_at, end=end_at, length_seconds=length)


@dataclass(frozen=True)
class Attendance:
    first_checkin: dt.datetime | None
    last_checkout: dt.datetime | None
    in_room: bool
    seconds: int  # total time attended, the open interval included
    now: dt.datetime
    evaluation_complete: bool = False


def parse_credits(raw: str | float | int | None) -> float | None:
    """A field's credits as a number ("1.5" -> 1.5); None when it is not a number."""
    if raw is None or isinstance(raw, bool):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def number(value: float) -> float | int:
    """2.0 -> 2, 1.5 -> 1.5: how credits read on the wire."""
    return int(value) if float(value).is_integer() else value


def rule_met(rule: CreditRule, attendance: Attendance, schedule: Schedule, *,
             valid_codewords: int, possible_codewords: int) -> bool:
    if attendance.first_checkin is None:
        return False
    if rule.evaluation_required and not attendance.evaluation_complete:
        return False
    if rule.min_percent is not None:
        if not schedule.length_seconds:
            return False
        if attendance.seconds * 100.0 < rule.min_percent * schedule.length_seconds:
            return False
    if rule.checkin_within_minutes is not None and schedule.start is not None:
        latest = schedule.start + dt.timedelta(minutes=rule.checkin_within_minutes)
        if attendance.first_checkin > latest:
            return False
    if rule.checkout_within_minutes is not None and schedule.end is not None:
        earliest = schedule.end - dt.timedelta(minutes=rule.checkout_within_minutes)
        left = attendance.now if attendance.in_room else attendance.last_checkout
        if left is None or left < earliest:
            return False
    if rule.min_codewords is not None:
        if valid_codewords < min(rule.min_codewords, possible_codewords):
            return False
    return True


def credits_earned(rule: CreditRule, field_credits: float | None, attendance: Attendance,
                   schedule: Schedule, *, valid_codewords: int = 0,
                   possible_codewords: int = 0, ce_minutes: int | None = None) -> float:
    """What one field of study earns for this attendance under ``rule``; ``ce_minutes`` are
    the session's CE minutes, if it has them."""
    if not rule_met(rule, attendance, schedule, valid_codewords=valid_codewords,
                    possible_codewords=possible_codewords):
        return 0.0
    minutes = attendance.seconds // 60
    if ce_minutes:
        minutes = min(minutes, ce_minutes)
    if rule.unit_minutes:
        units, rest = divmod(minutes, rule.unit_minutes)
        earned = float(units)
        if rule.half_after_minutes is not None and rest >= rule.half_after_minutes:
            earned += 0.5
        if field_credits is not None and field_credits > 0:
            earned = min(earned, field_credits)
        return earned
    if rule.prorate:
        basis = ce_minutes or (schedule.length_seconds or 0) // 60
        if not basis or not field_credits or field_credits <= 0:
            return 0.0
        share = min(minutes, basis) / basis
        # Rounded down to a hundredth, so a partial attendance never reads as the full award;
        # the small epsilon keeps 1.5 * 40/60 (0.9999...) from becoming 0.99.
        return math.floor(field_credits * share * 100 + 1e-9) / 100
    return field_credits or 0.0
