"""The rules at the door, as plain functions: no I/O, no clock, easy to test exhaustively.

The service (``hub.door.loading``) loads what these functions need inside one transaction, with
the attendee's record row locked, calls them, and writes what they decide. Capacity is the one
rule not decided here: it is settled by the database, in the conditional update of the
session's counter row (``has_room`` states the same condition for the tests and the docs).

Order of the check-in rules (the first failing one is the answer given):
``unknown_attendee`` (raised by the loader), ``already_checked_in``, ``not_registered``,
``registration_level``, ``delivery_format_required``, ``code_required`` / ``code_invalid``,
and last ``capacity_full``. Only the rules in ``hub.errors.OVERRIDABLE`` may be
lifted by an override; the others are facts about the request, not restrictions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from hub.errors import OVERRIDABLE, CheckinRefused, Invalid

SOURCES = ("web", "kiosk", "scan", "self-report", "api")
DELIVERY_FORMATS = ("in-person", "virtual")
# Sources that stand for the attendee themself: held to codes and asked their format.
ATTENDEE_SOURCES = frozenset({"web", "self-report"})
# Sources that mean the person is at the door.
IN_PERSON_SOURCES = frozenset({"kiosk", "scan"})

# How far in the future a scan's own timestamp may be (clock skew of a phone).
FUTURE_SKEW = dt.timedelta(minutes=5)
# How long before the start of the session's day a scan's own timestamp may be
# (``ROLLCALL_LATE_SCAN_HOURS``).
LATE_SCAN_HOURS = 24


@dataclass(frozen=True)
class SessionView:
    id: str
    checkin_code: str | None = None
    checkout_code: str | None = None
    delivery_format: str | None = None  # "in-person" | "virtual" | "hybrid" | None
    capacity: int | None = None
    registrants_only: bool = False
    registration_levels: tuple[str, ...] = ()


@dataclass(frozen=True)
class AttendeeView:
    id: int
    registration_level: str | None = None
    registered: bool = False


@dataclass(frozen=True)
class RecordView:
    """The attendee's record as it stands (``exists`` False: none yet)."""

    exists: bool = False
    ever_checked_in: bool = False
    in_since: dt.datetime | None = None  # start of the current interval in the room
    last_checkout: dt.datetime | None = None

    @property
    def in_room(self) -> bool:
        return self.in_since is not None


@dataclass(frozen=True)
class Door:
    """Who is at the door and what that means for the rules."""

    source: str
    actor: str
    asks_codes: bool  # the attendee themself: codes are asked
    asks_format: bool  # the attendee themself: a hybrid session asks in-person or virtual
    in_person: bool  # kiosk or scan: standing in the room
    may_override: bool
    may_backdate: bool  # may send the scan's own ``timestamp``
    attendee_id: int | None = None  # an attendee acting for themself


@dataclass(frozen=True)
class Admission:
    """What an accepted check-in writes besides the times."""

    delivery_format: str | None
    overridden: tuple[str, ...] = ()


# --- the rules ---------------------------------------------------------------------------


def codes_match(expected: str, given: str | None) -> bool:
    """Codes compare in any case, ignoring surrounding spaces."""
    if given is None:
        return False
    return expected.strip().casefold() == given.strip().casefold()


def level_allowed(levels: Sequence[str], level: str | None) -> bool:
    if not levels:
        return True
    if level is None:
        return False
    wanted = level.strip().casefold()
    return any(wanted == allowed.strip().casefold() for allowed in levels)


def delivery_format_of(session: SessionView, door: Door, given: str | None) -> str | None:
    """The format the record keeps; None with a hybrid session that must still ask."""
    if given is not None and given not in DELIVERY_FORMATS:
        raise Invalid("delivery_format", f"{given!r} is not one of in-person, virtual")
    fmt = session.delivery_format
    if fmt in DELIVERY_FORMATS:
        return fmt
    if door.in_person:
        return "in-person"
    return given


def checkin_refusals(
    session: SessionView,
    attendee: AttendeeView,
    record: RecordView,
    door: Door,
    *,
    code: str | None,
    delivery_format: str | None,
) -> list[str]:
    """Every check-in rule the request fails, in the order they are reported.

    Capacity is not here: the database decides it last (see ``has_room``).
    """
    failed: list[str] = []
    if record.in_room:
        failed.append("already_checked_in")
    if session.registrants_only and not attendee.registered:
        failed.append("not_registered")
    if not level_allowed(session.registration_levels, attendee.registration_level):
        failed.append("registration_level")
    if (session.delivery_format == "hybrid" and door.asks_format
            and delivery_format_of(session, door, delivery_format) is None):
        failed.append("delivery_format_required")
    if session.checkin_code and door.asks_codes:
        if not (code or "").strip():
            failed.append("code_required")
        elif not codes_match(session.checkin_code, code):
            failed.append("code_invalid")
    return failed


def admit(
    session: SessionView,
    attendee: AttendeeView,
    record: RecordView,
    door: Door,
    *,
    code: str | None = None,
    delivery_format: str | None = None,
    override: bool = False,
) -> Admission:
    """Raise CheckinRefused with the first rule the attendee fails; else what to write.

    An override (honoured only when ``door.may_override``) lifts the rules in OVERRIDABLE and
    lists them in ``Admission.overridden`` so the service records who lifted which rule.
    """
    failed = checkin_refusals(session, attendee, record, door, code=code,
                              delivery_format=delivery_format)
    lifting = override and door.may_override
    overridden: list[str] = []
    for reason in failed:
        if lifting and reason in OVERRIDABLE:
            overridden.append(reason)
            continue
        raise CheckinRefused(reason)
    return Admission(
        delivery_format=delivery_format_of(session, door, delivery_format),
        overridden=tuple(overridden),
    )


def release(session: SessionView, record: RecordView, door: Door, *, code: str | None) -> None:
    """Check-out rules: the attendee must be in the room, and give the check-out code when
    the session has one and the door asks codes. Raises CheckinRefused."""
    if not record.in_room:
        raise CheckinRefused("not_checked_in")
    if session.checkout_code and door.asks_codes:
        if not (code or "").strip():
            raise CheckinRefused("checkout_code_required")
        if not codes_match(session.checkout_code, code):
            raise CheckinRefused("checkout_code_invalid")


def has_room(capacity: int | None, in_room: int) -> bool:
    """The capacity rule the counter update applies: capacity counts people in the room."""
    return capacity is None or in_room < capacity


def seat_free(capacity: int | None, in_room: int, leased: int, holds_lease: bool) -> bool:
    """Capacity with seat leases: the people in the room and the seats that running leases
    still hold count against it. An admission on a lease that still has a seat takes that
    seat (it was counted already), so it needs no other room; that seat is left out."""
    return has_room(capacity, in_room + leased - (1 if holds_lease else 0))


# --- time ----------------------------------------------------------------------------------


def earliest_scan(day: dt.date | None, tz: dt.tzinfo | None, now: dt.datetime,
                  hours: int = LATE_SCAN_HOURS) -> dt.datetime:
    """The earliest time a scan's own timestamp may name: the start of the session's day in
    the event's zone (a session without a date: today there), less ``hours``."""
    zone = tz or dt.UTC
    start = dt.datetime.combine(day or now.astimezone(zone).date(), dt.time(0), tzinfo=zone)
    try:
        return (start - dt.timedelta(hours=hours)).astimezone(dt.UTC)
    except OverflowError:  # a session dated in year 1: as if it had no date
        return now - dt.timedelta(hours=hours)


def action_time(
    door: Door, given: dt.datetime | None, now: dt.datetime, record: RecordView, action: str,
    *, earliest: dt.datetime | None = None,
) -> dt.datetime:
    """When the action happened: the scan's own timestamp (late uploads) if this door may
    send one, else now. Raises Invalid for a time more than ``FUTURE_SKEW`` in the future,
    one before ``earliest`` (``earliest_scan``), or one that would make an interval run
    backwards."""
    if given is None or not door.may_backdate:
        return now
    if given > now + FUTURE_SKEW:
        raise Invalid("timestamp", f"is in the future (more than "
                                   f"{int(FUTURE_SKEW.total_seconds() // 60)} minutes ahead of "
                                   "the hub's clock)")
    if earliest is not None and given < earliest:
        raise Invalid("timestamp", f"is too early: a scan's time may be from "
                                   f"{earliest.isoformat()} (the start of the session's day, "
                                   "less ROLLCALL_LATE_SCAN_HOURS) up to now")
    at = min(given, now)
    if action == "checkout" and record.in_since is not None and at < record.in_since:
        raise Invalid("timestamp", "is before the attendee's check-in")
    if action == "checkin" and record.last_checkout is not None and at < record.last_checkout:
        raise Invalid("timestamp", "is before the attendee's last check-out")
    return at


def interval_seconds(start: dt.datetime, end: dt.datetime) -> int:
    return max(int((end - start).total_seconds()), 0)


def total_seconds(seconds_attended: int, in_since: dt.datetime | None, now: dt.datetime) -> int:
    """Time attended: the closed intervals plus the open one, if the attendee is in the room."""
    if in_since is None:
        return seconds_attended
    return seconds_attended + interval_seconds(in_since, now)


def scheduled_seconds(start: dt.time | None, end: dt.time | None) -> int | None:
    """The session's scheduled length; None without both times (or a non-positive length)."""
    if start is None or end is None:
        return None
    base = dt.date(2000, 1, 1)
    length = int((dt.datetime.combine(base, end) - dt.datetime.combine(base, start))
                 .total_seconds())
    return length if length > 0 else None


def percent_attended(seconds: int, scheduled: int | None) -> float | None:
    """% of the scheduled length, capped at 100, one decimal; None without a schedule."""
    if not scheduled:
        return None
    return round(min(100.0, seconds * 100.0 / scheduled), 1)


def format_duration(seconds: int | None) -> str | None:
    """``HH:MM:SS`` (hours may pass 24)."""
    if seconds is None:
        return None
    h, rest = divmod(max(seconds, 0), 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}:{m:02d}:{s:02d}"
