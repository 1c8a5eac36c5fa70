"""Attendees and their registrations (the sessions on their schedule)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.records import dialect_insert
from storage.tables import T_APP, T_ATTENDEES, T_RECORDS, T_REGISTRATIONS, T_SESSIONS

T = TypeVar("T")

# The attendee's own columns, as the API writes and shows them.
COLUMNS = ("external_id", "first_name", "last_name", "email", "badge_id", "registration_level",
           "field_1", "field_2", "field_3", "field_4", "field_5")
CHUNK = 1000  # values per IN list
SEARCHED = ("first_name", "last_name", "email", "external_id", "badge_id")
# pg_advisory_xact_lock(namespace, key): the two-key space, apart from the one-key locks of
# storage.engine (74211) and storage.presenters (74212).
_IDENTITY_LOCKS = 74213


def chunks(seq: Sequence[T]) -> Iterator[Sequence[T]]:
    for i in range(0, len(seq), CHUNK):
        yield seq[i:i + CHUNK]


def _lock_key(identity: str) -> int:
    return int.from_bytes(hashlib.blake2b(identity.encode(), digest_size=4).digest(), "big",
                          signed=True)


async def lock_identities(conn: AsyncConnection, external_ids: Sequence[str],
                          emails_lower: Sequence[str]) -> None:
    """Hold, until the transaction ends, a lock on every external id and email an upsert is
    about to look up, so that two upserts bringing the same new person run one after the
    other and the second finds the first's row instead of inserting another (there is no
    unique index on emails: two attendees may share one). PostgreSQL: advisory locks, taken
    in one order (no deadlock between two upserts). SQLite: nothing to do, its writers are
    serialised by ``BEGIN IMMEDIATE``."""
    if conn.dialect.name != "postgresql":
        return
    keys = sorted({_lock_key("x:" + e) for e in external_ids}
                  | {_lock_key("e:" + e) for e in emails_lower})
    for chunk in chunks(keys):
        await conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(:ns, t.k) FROM unnest(CAST(:keys AS integer[]))"
                    " WITH ORDINALITY AS t(k, n) ORDER BY t.n"),
            {"ns": _IDENTITY_LOCKS, "keys": list(chunk)})


async def by_external_ids(conn: AsyncConnection, external_ids: Sequence[str]) -> list[Any]:
    out: list[Any] = []
    for chunk in chunks(external_ids):
        out += await conn.execute(sa.select(T_ATTENDEES)
                                  .where(T_ATTENDEES.c.external_id.in_(chunk)))
    return out


async def by_emails(conn: AsyncConnection, emails_lower: Sequence[str]) -> list[Any]:
    """Attendees by lower-cased email, oldest first."""
    out: list[Any] = []
    for chunk in chunks(emails_lower):
        out += await conn.execute(sa.select(T_ATTENDEES)
                                  .where(T_ATTENDEES.c.email_lower.in_(chunk))
                                  .order_by(T_ATTENDEES.c.id))
    return out


async def badge_owners(conn: AsyncConnection, badges: Sequence[str]) -> list[Any]:
    """(id, badge_id) of the attendees holding these badges."""
    out: list[Any] = []
    for chunk in chunks(badges):
        out += await conn.execute(sa.select(T_ATTENDEES.c.id, T_ATTENDEES.c.badge_id)
                                  .where(T_ATTENDEES.c.badge_id.in_(chunk)))
    return out


async def update_many(conn: AsyncConnection, values: dict[int, dict[str, Any]]) -> None:
    """Set every ``COLUMNS`` value of the given attendees (id -> values)."""
    if not values:
        return
    await conn.execute(
        sa.update(T_ATTENDEES).where(T_ATTENDEES.c.id == sa.bindparam("b_id")).values(
            email_lower=sa.bindparam("b_email_lower"),
            **{c: sa.bindparam(f"b_{c}") for c in COLUMNS},
        ),
        [{"b_id": aid, "b_email_lower": (v.get("email") or "").lower() or None,
          **{f"b_{c}": v.get(c) for c in COLUMNS}} for aid, v in values.items()],
    )


async def insert_many(conn: AsyncConnection, values: Sequence[dict[str, Any]],
                      at: dt.datetime) -> list[int]:
    """New attendees; their ids in the given order."""
    ids: list[int] = []
    for chunk in chunks(values):
        rows = [{**{c: v.get(c) for c in COLUMNS},
                 "email_lower": (v.get("email") or "").lower() or None,
                 "created_at": at} for v in chunk]
        result = await conn.execute(
            sa.insert(T_ATTENDEES).returning(T_ATTENDEES.c.id, sort_by_parameter_order=True),
            rows)
        ids += [r.id for r in result]
    return ids


async def register(conn: AsyncConnection, session_id: str, attendee_ids: Sequence[int],
                   at: dt.datetime) -> int:
    """Register the attendees for the session; how many were not registered before."""
    added = 0
    for chunk in chunks(sorted(set(attendee_ids))):
        result = await conn.execute(
            dialect_insert(conn, T_REGISTRATIONS)
            .values([dict(session_id=session_id, attendee_id=aid, created_at=at)
                     for aid in chunk])
            .on_conflict_do_nothing(index_elements=["session_id", "attendee_id"])
            .returning(T_REGISTRATIONS.c.attendee_id)
        )
        added += len(result.all())
    return added


async def session_capacities(conn: AsyncConnection,
                             session_ids: Sequence[str]) -> dict[str, int | None]:
    """Capacity by session id, for the sessions that exist."""
    out: dict[str, int | None] = {}
    for chunk in chunks(session_ids):
        for r in await conn.execute(sa.select(T_SESSIONS.c.id, T_SESSIONS.c.capacity)
                                    .where(T_SESSIONS.c.id.in_(chunk))):
            out[r.id] = r.capacity
    return out


async def app_timezone(conn: AsyncConnection) -> str | None:
    return (await conn.execute(sa.select(T_APP.c.timezone).where(T_APP.c.id == 1))).scalar()


async def search(conn: AsyncConnection, *, q: str | None, limit: int,
                 offset: int) -> tuple[int, list[Any]]:
    """(how many match, the page): by last name, first name, id; ``q`` matches names, email,
    external id and badge id (any case, anywhere)."""
    cond: list[Any] = []
    if q and q.strip():
        pattern = f"%{q.strip().lower()}%"
        cond.append(sa.or_(*(sa.func.lower(T_ATTENDEES.c[c]).like(pattern) for c in SEARCHED)))
    total = (await conn.execute(sa.select(sa.func.count()).select_from(T_ATTENDEES)
                                .where(*cond))).scalar_one()
    rows = await conn.execute(
        sa.select(T_ATTENDEES).where(*cond)
        .order_by(T_ATTENDEES.c.last_name, T_ATTENDEES.c.first_name, T_ATTENDEES.c.id)
        .limit(limit).offset(offset))
    return int(total), list(rows)


async def by_external_id(conn: AsyncConnection, external_id: str) -> Any:
    return (await conn.execute(sa.select(T_ATTENDEES)
                               .where(T_ATTENDEES.c.external_id == external_id))).first()


async def schedule_of(conn: AsyncConnection,
                      attendee_id: int) -> tuple[set[str], dict[str, Any], list[Any]]:
    """(registered session ids, records by session id, the sessions of either)."""
    registered = {r.session_id for r in await conn.execute(
        sa.select(T_REGISTRATIONS.c.session_id)
        .where(T_REGISTRATIONS.c.attendee_id == attendee_id))}
    recs = {r.session_id: r for r in await conn.execute(
        sa.select(T_RECORDS.c.session_id, T_RECORDS.c.checkin_time,
                  T_RECORDS.c.checkout_time, T_RECORDS.c.in_since)
        .where(T_RECORDS.c.attendee_id == attendee_id))}
    ids = sorted(registered | set(recs))
    sessions = list(await conn.execute(
        sa.select(T_SESSIONS.c.id, T_SESSIONS.c.external_id, T_SESSIONS.c.name,
                  T_SESSIONS.c.date, T_SESSIONS.c.start_time, T_SESSIONS.c.end_time,
                  T_SESSIONS.c.location)
        .where(T_SESSIONS.c.id.in_(ids)))) if ids else []
    return registered, recs, sessions


async def names_of(conn: AsyncConnection, attendee_id: int) -> Any:
    """(id, first_name, last_name) of an attendee, or None."""
    return (await conn.execute(
        sa.select(T_ATTENDEES.c.id, T_ATTENDEES.c.first_name, T_ATTENDEES.c.last_name)
        .where(T_ATTENDEES.c.id == attendee_id))).first()


async def identify(conn: AsyncConnection, identifier: str, fields: Sequence[str],
                   limit: int = 5) -> list[Any]:
    """Attendees whose email, or one of the custom ``fields``, equals ``identifier`` (any
    case): (id, first_name, last_name, email_lower)."""
    wanted = identifier.lower()
    conds = [T_ATTENDEES.c.email_lower == wanted]
    conds += [sa.func.lower(T_ATTENDEES.c[name]) == wanted for name in fields]
    return list((await conn.execute(
        sa.select(T_ATTENDEES.c.id, T_ATTENDEES.c.first_name, T_ATTENDEES.c.last_name,
                  T_ATTENDEES.c.email_lower)
        .where(sa.or_(*conds)).limit(limit))).all())
