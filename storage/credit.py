"""CE credit beyond the door: self-reported records, credit claims, the attendee status's
facts and certificates (their codes and who holds them). Keyword-only, connection first."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.records import RECORD_COLUMNS, dialect_insert
from storage.tables import (
    T_APP,
    T_ATTENDEES,
    T_CERTIFICATES,
    T_CREDIT_CLAIMS,
    T_HISTORY,
    T_RECORDS,
    T_REGISTRATIONS,
    T_SESSIONS,
)

# --- self-reports ---------------------------------------------------------------------------


async def complete_record(conn: AsyncConnection, record_id: int, *, values: dict[str, Any],
                          history: Sequence[tuple[str, dt.datetime, str, str]]) -> None:
    """Write a record's columns and its history rows ((action, timestamp, source, actor))."""
    await conn.execute(sa.update(T_RECORDS).where(T_RECORDS.c.id == record_id).values(**values))
    if history:
        await conn.execute(sa.insert(T_HISTORY), [
            dict(record_id=record_id, action=a, timestamp=ts, source=src, actor=actor)
            for a, ts, src, actor in history])


# --- claims and the status's facts ----------------------------------------------------------


async def add_claim(conn: AsyncConnection, *, session_id: str, attendee_id: int,
                    at: dt.datetime, actor: str | None) -> bool:
    """Mark the session's credit as claimed by the attendee; False when it already was."""
    n = (await conn.execute(
        dialect_insert(conn, T_CREDIT_CLAIMS)
        .values(session_id=session_id, attendee_id=attendee_id, claimed_at=at, actor=actor)
        .on_conflict_do_nothing(index_elements=["session_id", "attendee_id"]))).rowcount
    return bool(n)


async def record_of(conn: AsyncConnection, session_id: str, attendee_id: int) -> Any:
    """The attendee's record in the session (``RECORD_COLUMNS``), or None; not locked."""
    return (await conn.execute(
        sa.select(*RECORD_COLUMNS).where(T_RECORDS.c.session_id == session_id,
                                         T_RECORDS.c.attendee_id == attendee_id))).first()


async def status_row(conn: AsyncConnection, session_id: str, attendee_id: int) -> Any:
    """The session's status settings and the attendee's standing in it (one row), or None
    without such a session: credit_url, self_registration, has_fields, registered, claimed,
    and the event's status_messages."""
    registered = sa.exists().where(T_REGISTRATIONS.c.session_id == session_id,
                                   T_REGISTRATIONS.c.attendee_id == attendee_id)
    claimed = sa.exists().where(T_CREDIT_CLAIMS.c.session_id == session_id,
                                T_CREDIT_CLAIMS.c.attendee_id == attendee_id)
    messages = sa.select(T_APP.c.status_messages).where(T_APP.c.id == 1).scalar_subquery()
    return (await conn.execute(
        sa.select(T_SESSIONS.c.id, T_SESSIONS.c.credit_url, T_SESSIONS.c.self_registration,
                  registered.label("registered"), claimed.label("claimed"),
                  messages.label("status_messages"))
        .where(T_SESSIONS.c.id == session_id))).first()


async def self_registration(conn: AsyncConnection, session_id: str) -> Any:
    """(id, self_registration) of the session, or None."""
    return (await conn.execute(
        sa.select(T_SESSIONS.c.id, T_SESSIONS.c.self_registration)
        .where(T_SESSIONS.c.id == session_id))).first()


# --- certificates ---------------------------------------------------------------------------


async def attended_sessions(conn: AsyncConnection, attendee_id: int) -> list[Any]:
    """The sessions the attendee has a checked-in record in: (id, name, date, start_time),
    in schedule order."""
    return list(await conn.execute(
        sa.select(T_SESSIONS.c.id, T_SESSIONS.c.name, T_SESSIONS.c.date,
                  T_SESSIONS.c.start_time)
        .select_from(T_RECORDS.join(T_SESSIONS, T_SESSIONS.c.id == T_RECORDS.c.session_id))
        .where(T_RECORDS.c.attendee_id == attendee_id,
               T_RECORDS.c.checkin_time_actual.is_not(None))
        .order_by(T_SESSIONS.c.date.is_(None), T_SESSIONS.c.date, T_SESSIONS.c.start_time,
                  T_SESSIONS.c.name, T_SESSIONS.c.id)))


async def attendees_with_attendance(conn: AsyncConnection, *, after: int,
                                    limit: int) -> list[int]:
    """Ids of attendees with any checked-in record, above ``after``, in id order."""
    return [r.attendee_id for r in await conn.execute(
        sa.select(T_RECORDS.c.attendee_id)
        .where(T_RECORDS.c.checkin_time_actual.is_not(None), T_RECORDS.c.attendee_id > after)
        .group_by(T_RECORDS.c.attendee_id)
        .order_by(T_RECORDS.c.attendee_id).limit(limit))]


async def certificate_of(conn: AsyncConnection, attendee_id: int) -> Any:
    """The attendee's certificate row (code, issued_at, revoked_at), or None."""
    return (await conn.execute(sa.select(T_CERTIFICATES)
                               .where(T_CERTIFICATES.c.attendee_id == attendee_id))).first()


async def issue_certificate(conn: AsyncConnection, *, attendee_id: int, code: str,
                            at: dt.datetime) -> Any:
    """Give the attendee a certificate with ``code`` unless they have one; the row kept."""
    await conn.execute(
        dialect_insert(conn, T_CERTIFICATES)
        .values(attendee_id=attendee_id, code=code, issued_at=at)
        .on_conflict_do_nothing(index_elements=["attendee_id"]))
    return await certificate_of(conn, attendee_id)


async def certificate_by_code(conn: AsyncConnection, code: str) -> Any:
    """The certificate with ``code`` and its holder's names, or None."""
    return (await conn.execute(
        sa.select(T_CERTIFICATES, T_ATTENDEES.c.first_name, T_ATTENDEES.c.last_name)
        .select_from(T_CERTIFICATES.join(
            T_ATTENDEES, T_ATTENDEES.c.id == T_CERTIFICATES.c.attendee_id))
        .where(T_CERTIFICATES.c.code == code))).first()


async def revoke_certificate(conn: AsyncConnection, *, attendee_id: int,
                             at: dt.datetime | None) -> bool:
    """Revoke (``at``) or reinstate (None) the attendee's certificate; False without one."""
    n = (await conn.execute(sa.update(T_CERTIFICATES)
                            .where(T_CERTIFICATES.c.attendee_id == attendee_id)
                            .values(revoked_at=at))).rowcount
    return bool(n)
