"""Dates and times in one place: UTC in the database, the event's zone on the wire, and
parsing what integrators send (dates on python-dateutil; times of day by their two grammars,
24-hour and am/pm; time zones from the tz database)."""

from __future__ import annotations

import datetime as dt
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from dateutil import parser as dateparser

from hub.errors import Invalid

_DEFAULT = dt.datetime(2000, 1, 1, 0, 0, 0)
_OTHER = dt.datetime(2001, 2, 2, 0, 0, 0)
_HAS_DIGIT = re.compile(r"\d")
_TIMEZONES: frozenset[str] | None = None


def now() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; they were stored as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def iso(value: datetime | None, tz: ZoneInfo | None = None) -> str | None:
    """ISO-8601 with offset, in the event's zone when it has one, else UTC."""
    v = as_utc(value)
    if v is None:
        return None
    v = v.astimezone(tz) if tz is not None else v
    return v.isoformat(timespec="seconds")


def parse_date(field: str, value: str) -> dt.date:
    """'2019-01-24' or 'January 23, 2023' -> date; anything else is a 422 naming ``field``."""
    text = value.strip()
    if not _HAS_DIGIT.search(text):
        raise Invalid(field, f"{value!r} is not a date (use YYYY-MM-DD)")
    try:
        parsed = dateparser.parse(text, default=_DEFAULT)
        other = dateparser.parse(text, default=_OTHER)
    except (ValueError, OverflowError):
        raise Invalid(field, f"{value!r} is not a date (use YYYY-MM-DD)") from None
    if parsed.date() != other.date():
        raise Invalid(field, f"{value!r} is not a whole date with year, month and day")
    if parsed.time() != dt.time(0) or parsed.tzinfo is not None:
        raise Invalid(field, f"{value!r} is a date and time; send only a date (YYYY-MM-DD)")
    return parsed.date()


_TIME_24 = re.compile(r"([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?")
_TIME_12 = re.compile(r"([0-9]{1,2})(?::([0-9]{2}))?(?::([0-9]{2}))?\s*([ap])\.?\s*m\.?",
                      re.IGNORECASE)


def parse_time(field: str, value: str) -> dt.time:
    """A time of day -> time; anything else is a 422 naming ``field``.

    24-hour ``'20:00'``, ``'08:30:00'`` (hours 0-23); 12-hour ``'8pm'``, ``'8:00PM'``,
    ``'8:30 p.m.'`` (hours 1-12, so ``'13pm'`` and ``'0am'`` are refused, not guessed).
    """
    text = value.strip()
    m24 = _TIME_24.fullmatch(text)
    m12 = None if m24 else _TIME_12.fullmatch(text)
    m = m24 or m12
    if m is None:
        raise Invalid(field, f"{value!r} is not a time (use HH:MM)")
    hour, minute, second = int(m.group(1)), int(m.group(2) or 0), int(m.group(3) or 0)
    if m12 is not None:
        if not 1 <= hour <= 12:
            raise Invalid(field, f"{value!r} is not a time: with am or pm the hour is 1 to 12")
        hour = hour % 12 + (12 if m12.group(4).lower() == "p" else 0)
    if hour > 23 or minute > 59 or second > 59:
        raise Invalid(field, f"{value!r} is not a time of day (use HH:MM)")
    return dt.time(hour, minute, second)


def is_timezone(name: str) -> bool:
    global _TIMEZONES
    if _TIMEZONES is None:
        _TIMEZONES = frozenset(available_timezones())
    return name in _TIMEZONES


def fmt_date(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def fmt_time(value: dt.time | None) -> str | None:
    return value.strftime("%H:%M:%S") if value else None
