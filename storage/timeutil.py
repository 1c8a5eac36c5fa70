"""Time in one place: UTC in the database, the event's zone on the wire."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


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
