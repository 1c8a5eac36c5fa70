"""What offline doors read and write besides the door's batches: the door list, seat leases
and door conflicts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.tables import (
    T_ATTENDEES,
    T_CONFLICTS,
    T_DOOR_LOG,
    T_EVENTS,
    T_LEASES,
    T_RECORDS,
    T_REGISTRATIONS,
    T_SESSIONS,
)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def leased_seats(session_id: Any) -> Any:
    """The seats held by a session's running leases (not returned, not expired), as a scalar
    subquery: an expired lease's seats are free again without anything being written."""
    at = sa.bindparam("lease_now", callable_=_utcnow, type_=sa.DateTime(timezone=True))
    return (sa.select(sa.func.coalesce(sa.func.sum(T_LEASES.c.seats - T_LEASES.c.used), 0))
            .where(T_LEASES.c.session_id == session_id, T_LEASES.c.returned_at.is_(None),
                   T_LEASES.c.expires_at > at)
            .scalar_subquery())


# --- the door list -------------------------------------------------------------------------


async def door_session(conn: AsyncConnection, session_id: str) -> Any:
    """(name, leasing_off) of a session, or None."""
    return (await conn.execute(sa.select(T_SESSIONS.c.name, T_SESSIONS.c.leasing_off)
                               .where(T_SESSIONS.c.id == session_id))).first()


async def set_leasing_off(conn: AsyncConnection, session_id: str, off: bool) -> bool:
    """Set the switch; False when there is no such session."""
    result = await conn.execute(sa.update(T_SESSIONS).where(T_SESSIONS.c.id == session_id)
                                .values(leasing_off=off))
    return bool(result.rowcount)


async def door_people(conn: AsyncConnection, session_id: str,
                      since: int | None = None) -> list[Any]:
    """Every attendee with what a door decides on: id, external_id, badge_id, names,
    registration level, registered for the session, in the room (and their record's last
    change, ``updated_seq``). With ``since``: only those whose record changed after it."""
    reg = T_REGISTRATIONS.alias("g")
    rec = T_RECORDS.alias("r")
    stmt = (sa.select(T_ATTENDEES.c.id, T_ATTENDEES.c.external_id, T_ATTENDEES.c.badge_id,
                      T_ATTENDEES.c.first_name, T_ATTENDEES.c.last_name,
                      T_ATTENDEES.c.registration_level,
                      (reg.c.attendee_id.is_not(None)).label("registered"),
                      (rec.c.in_since.is_not(None)).label("in_room"),
                      sa.func.coalesce(rec.c.updated_seq, 0).label("updated_seq"))
            .select_from(T_ATTENDEES
                         .outerjoin(reg, sa.and_(reg.c.attendee_id == T_ATTENDEES.c.id,
                                                 reg.c.session_id == session_id))
                         .outerjoin(rec, sa.and_(rec.c.attendee_id == T_ATTENDEES.c.id,
                                                 rec.c.session_id == session_id)))
            .order_by(T_ATTENDEES.c.id))
    if since is not None:
        stmt = stmt.where(rec.c.updated_seq > since)
    return list(await conn.execute(stmt))


async def wiped_after(conn: AsyncConnection, session_id: str, since: int) -> bool:
    """Whether a removal or clear happened after ``since`` (records went: a door list must
    then be read whole)."""
    row = (await conn.execute(
        sa.select(T_EVENTS.c.seq).where(T_EVENTS.c.session_id == session_id,
                                        T_EVENTS.c.seq > since,
                                        T_EVENTS.c.kind.in_(("removed", "cleared")))
        .limit(1))).first()
    return row is not None


# --- seat leases ---------------------------------------------------------------------------


async def running_leases(conn: AsyncConnection, session_id: str, at: dt.datetime) -> list[Any]:
    """The session's leases still running at ``at``, oldest first."""
    return list(await conn.execute(
        sa.select(T_LEASES).where(T_LEASES.c.session_id == session_id,
                                  T_LEASES.c.returned_at.is_(None), T_LEASES.c.expires_at > at)
        .order_by(T_LEASES.c.created_at, T_LEASES.c.id)))


async def door_leases(conn: AsyncConnection, session_id: str, ids: list[str],
                      at: dt.datetime) -> list[Any]:
    """The running leases of a session and the ones named (running or not): id, seats, used,
    running."""
    running = sa.and_(T_LEASES.c.returned_at.is_(None), T_LEASES.c.expires_at > at)
    return list(await conn.execute(
        sa.select(T_LEASES.c.id, T_LEASES.c.seats, T_LEASES.c.used, running.label("running"))
        .where(T_LEASES.c.session_id == session_id,
               sa.or_(running, T_LEASES.c.id.in_(ids)) if ids else running)))


async def insert_lease(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(sa.insert(T_LEASES).values(**values))


async def lease_row(conn: AsyncConnection, session_id: str, lease_id: str) -> Any:
    return (await conn.execute(sa.select(T_LEASES).where(
        T_LEASES.c.session_id == session_id, T_LEASES.c.id == lease_id))).first()


async def return_lease(conn: AsyncConnection, lease_id: str, at: dt.datetime) -> None:
    await conn.execute(sa.update(T_LEASES).where(T_LEASES.c.id == lease_id,
                                                 T_LEASES.c.returned_at.is_(None))
                       .values(returned_at=at))


async def set_lease_used(conn: AsyncConnection, used: dict[str, int]) -> None:
    """Seats used of the given leases (the door's batch, any dialect)."""
    if used:
        await conn.execute(
            sa.update(T_LEASES).where(T_LEASES.c.id == sa.bindparam("lid"))
            .values(used=sa.bindparam("v_used")),
            [{"lid": k, "v_used": v} for k, v in used.items()])


# --- conflicts -----------------------------------------------------------------------------


async def attendee_id_by(conn: AsyncConnection, column: str, value: str) -> int | None:
    col = T_ATTENDEES.c.email_lower if column == "email" else T_ATTENDEES.c[column]
    row = (await conn.execute(sa.select(T_ATTENDEES.c.id).where(
        col == (value.lower() if column == "email" else value)).limit(2))).all()
    return row[0].id if len(row) == 1 else None


async def insert_conflicts(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Conflicts of an upload; one already listed for the same idempotency key is kept as
    it is (a retried upload lists nothing twice)."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    await conn.execute(dialect.insert(T_CONFLICTS).on_conflict_do_nothing(), rows)


async def conflict_rows(conn: AsyncConnection, session_id: str | None,
                        limit: int = 1000) -> list[Any]:
    """Conflicts, newest first, with the attendee and the session's name."""
    stmt = (sa.select(T_CONFLICTS, T_ATTENDEES.c.external_id, T_ATTENDEES.c.badge_id,
                      T_ATTENDEES.c.first_name, T_ATTENDEES.c.last_name,
                      T_SESSIONS.c.name.label("session_name"))
            .select_from(T_CONFLICTS
                         .join(T_SESSIONS, T_SESSIONS.c.id == T_CONFLICTS.c.session_id)
                         .outerjoin(T_ATTENDEES, T_ATTENDEES.c.id == T_CONFLICTS.c.attendee_id))
            .order_by(T_CONFLICTS.c.id.desc()).limit(limit))
    if session_id is not None:
        stmt = stmt.where(T_CONFLICTS.c.session_id == session_id)
    return list(await conn.execute(stmt))


async def accepted_actions(conn: AsyncConnection, attendee_ids: list[int]) -> list[Any]:
    """The door log's accepted actions of these attendees, in order: session_id,
    attendee_id, action, at, source, actor."""
    if not attendee_ids:
        return []
    return list(await conn.execute(
        sa.select(T_DOOR_LOG.c.session_id, T_DOOR_LOG.c.attendee_id, T_DOOR_LOG.c.action,
                  T_DOOR_LOG.c.at, T_DOOR_LOG.c.source, T_DOOR_LOG.c.actor)
        .where(T_DOOR_LOG.c.attendee_id.in_(sorted(set(attendee_ids))),
               T_DOOR_LOG.c.result == "ok")
        .order_by(T_DOOR_LOG.c.id)))
