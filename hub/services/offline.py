"""Doors that keep working offline: the door list they decide from, the seat leases that keep
capacity while they are offline, and the conflicts their uploads raise.

Guarantees:

- A lease's seats are reserved against capacity in the database, under the session's counter
  row lock (as every door batch is), so the people in the room plus the seats held by running
  leases never pass capacity. An admission uploaded with its lease takes one of the lease's
  seats; an expired or returned lease holds nothing (no sweeper is needed: every count reads
  only the leases still running).
- Every uploaded action that the hub judges differently from the door that took it offline is
  listed as a conflict, in the upload's own request, before it is answered; a retried upload
  lists nothing twice (conflicts are keyed by the action's idempotency key).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence
from typing import Annotated, Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.auth.principal import Principal
from hub.domain.dates import as_utc, iso, now
from hub.domain.events import Counts
from hub.door.batch import BatchAction
from hub.door.decide import door_for, parse_timestamp
from hub.door.loading import counts, identifier_of, load_session
from hub.door.publish import session_changed_after_commit
from hub.errors import CheckinRefused, Conflict, Forbidden, HubError, Invalid, NotFound
from hub.state import Hub
from storage import offline as rows
from storage import records

# --- who may keep a door list or hold a lease -----------------------------------------------


def require_door(principal: Principal, session_id: str) -> None:
    """Staff with scan, the session's kiosk, or an API key. Raises Forbidden."""
    if principal.kind == "attendee":
        raise Forbidden("Door lists and seat leases are for the session's doors.")
    door_for(principal, None, session_id)


# --- the door list -------------------------------------------------------------------------


class DoorSettings(msgspec.Struct):
    """What a door decides on besides the attendees (codes are never asked at a staff
    scanner or a kiosk, so they are not sent)."""

    id: str
    name: str
    capacity: int | None
    registrants_only: bool
    registration_levels: list[str]
    delivery_format: str | None
    leasing: bool  # leases may be taken (an admin may set them off)


class DoorPerson(msgspec.Struct):
    id: int
    external_id: str | None
    badge_id: str | None
    first_name: str | None
    last_name: str | None
    registration_level: str | None
    registered: bool  # the session is on their schedule
    in_room: bool


class DoorList(msgspec.Struct):
    """A session's door list. ``full``: ``attendees`` is every attendee of the event; else
    only those whose state changed after ``since`` (apply them over the list kept)."""

    session: DoorSettings
    seq: int
    epoch: str
    counts: Counts
    full: bool
    since: int | None
    attendees: list[DoorPerson]


_encoder = msgspec.json.Encoder()


async def door_list(hub: Hub, principal: Principal, session_id: str,
                    since: int | None) -> tuple[bytes, str]:
    """The door list's ``data`` encoded, and its ETag (a hash of exactly those bytes). A
    ``since`` past a removal or clear (records went) gives the full list."""
    require_door(principal, session_id)
    async with hub.read() as conn:
        s = await load_session(conn, session_id, with_fields=False)
        brief = await rows.door_session(conn, session_id)
        c = await _counts(conn, session_id)
        full = since is None or since > s.seq or await rows.wiped_after(conn, session_id,
                                                                         since)
        people = await rows.door_people(conn, session_id, None if full else since)
    assert brief is not None
    data = DoorList(
        session=DoorSettings(
            id=session_id, name=brief.name, capacity=s.view.capacity,
            registrants_only=s.view.registrants_only,
            registration_levels=list(s.view.registration_levels),
            delivery_format=s.view.delivery_format, leasing=not brief.leasing_off),
        seq=s.seq, epoch=s.epoch, counts=c, full=full, since=None if full else since,
        attendees=[DoorPerson(id=r.id, external_id=r.external_id, badge_id=r.badge_id,
                              first_name=r.first_name, last_name=r.last_name,
                              registration_level=r.registration_level,
                              registered=bool(r.registered), in_room=bool(r.in_room))
                   for r in people])
    body = _encoder.encode(data)
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


async def _counts(conn: AsyncConnection, session_id: str) -> Counts:
    row = await records.counts_row(conn, session_id)
    if row is None:
        raise NotFound(f"No session with id {session_id!r}.")
    return Counts.of(registered=row.registered, checked_in=row.checked_in, in_room=row.in_room,
                     capacity=row.capacity, leased=row.leased)


# --- seat leases ---------------------------------------------------------------------------

MAX_TTL_S = 24 * 3600


class LeaseIn(msgspec.Struct, forbid_unknown_fields=True):
    seats: Annotated[int, msgspec.Meta(ge=1, le=500)]
    ttl_s: Annotated[int, msgspec.Meta(ge=30, le=MAX_TTL_S)] = 900


class LeaseOut(msgspec.Struct):
    """A seat lease. ``seats`` granted (at most those asked: the seats free when it was
    taken), ``used`` by admissions uploaded with it, ``held`` still reserved (0 once returned
    or expired)."""

    id: str
    session_id: str
    seats: int
    used: int
    held: int
    running: bool
    expires_at: str
    returned_at: str | None
    counts: Counts | None = None


class LeasingIn(msgspec.Struct, forbid_unknown_fields=True):
    enabled: bool


def _lease_out(row: Any, at: dt.datetime, c: Counts | None = None) -> LeaseOut:
    expires = as_utc(row.expires_at)
    assert expires is not None
    running = row.returned_at is None and expires > at
    return LeaseOut(id=row.id, session_id=row.session_id, seats=row.seats, used=row.used,
                    held=max(row.seats - row.used, 0) if running else 0, running=running,
                    expires_at=iso(expires) or "", returned_at=iso(row.returned_at),
                    counts=c)


async def take_lease(hub: Hub, principal: Principal, session_id: str,
                     body: LeaseIn) -> LeaseOut:
    """Reserve up to ``body.seats`` of the session's free seats for ``ttl_s`` seconds.
    Refused 409 ``leasing_off`` when an admin set leases off, ``capacity_full`` when no seat
    is free."""
    require_door(principal, session_id)

    async def work(conn: AsyncConnection) -> Any:
        s = await load_session(conn, session_id, with_fields=False, lock=True)
        brief = await rows.door_session(conn, session_id)
        if brief is not None and brief.leasing_off:
            raise Conflict("Seat leases are off for this session.", reason="leasing_off")
        at = now()
        seats = body.seats
        if s.view.capacity is not None:
            held = sum(max(r.seats - r.used, 0)
                       for r in await rows.running_leases(conn, session_id, at))
            seats = min(seats, s.view.capacity - s.in_room - held)
            if seats <= 0:
                raise CheckinRefused("capacity_full")
        lease_id = secrets.token_urlsafe(12)
        await rows.insert_lease(conn, id=lease_id, session_id=session_id, seats=seats, used=0,
                                created_at=at, expires_at=at + dt.timedelta(seconds=body.ttl_s),
                                actor=principal.actor)
        return await rows.lease_row(conn, session_id, lease_id)

    row = await hub.db.run(work)
    await session_changed_after_commit(hub.sink, session_id)
    return _lease_out(row, now(), await counts(hub.db, session_id))


async def return_lease(hub: Hub, principal: Principal, session_id: str,
                       lease_id: str) -> LeaseOut:
    """Give back what the lease still holds (its used seats stay used). Returning it again
    changes nothing."""
    require_door(principal, session_id)

    async def work(conn: AsyncConnection) -> Any:
        await load_session(conn, session_id, with_fields=False, lock=True)
        row = await rows.lease_row(conn, session_id, lease_id)
        if row is None:
            raise NotFound(f"No seat lease {lease_id!r} in this session.")
        await rows.return_lease(conn, lease_id, now())
        return await rows.lease_row(conn, session_id, lease_id)

    row = await hub.db.run(work)
    await session_changed_after_commit(hub.sink, session_id)
    return _lease_out(row, now(), await counts(hub.db, session_id))


async def list_leases(hub: Hub, principal: Principal, session_id: str) -> list[LeaseOut]:
    """The session's running leases."""
    require_door(principal, session_id)
    at = now()
    async with hub.read() as conn:
        if await rows.door_session(conn, session_id) is None:
            raise NotFound(f"No session with id {session_id!r}.")
        return [_lease_out(r, at) for r in await rows.running_leases(conn, session_id, at)]


async def set_leasing(hub: Hub, session_id: str, enabled: bool) -> None:
    """An admin sets a session's leases on or off. Off: no new lease; the running ones keep
    their seats until they are returned or expire (doors already offline rely on them)."""
    async with hub.tx() as conn:
        if not await rows.set_leasing_off(conn, session_id, not enabled):
            raise NotFound(f"No session with id {session_id!r}.")
    await session_changed_after_commit(hub.sink, session_id)


# --- conflicts -----------------------------------------------------------------------------


def conflict_kind(action: str, reason: str | None, lease_id: str | None) -> str:
    """What an offline door could not know, named from the hub's answer."""
    if reason == "already_checked_in":
        return "double_admission"  # admitted at another door meanwhile
    if reason in ("unknown_attendee", "not_registered", "registration_level"):
        return "removed"  # the attendee or their registration went meanwhile
    if reason == "capacity_full":
        return "lease_expired" if lease_id is not None else "capacity"
    if reason == "not_checked_in":
        return "not_in_room"
    return "refused"


async def record_conflicts(hub: Hub, principal: Principal, session_id: str,
                           actions: Sequence[BatchAction | HubError],
                           outcomes: Sequence[Any]) -> int:
    """List every action whose ``decided`` differs from the hub's answer; how many."""
    at = now()
    found: list[tuple[BatchAction, str]] = []
    for a, outcome in zip(actions, outcomes, strict=True):
        if isinstance(a, HubError) or a.decided is None:
            continue
        hub_ok = isinstance(outcome, bytes)
        if (a.decided == "ok") == hub_ok:
            continue
        if hub_ok:
            result = "ok"
        elif isinstance(outcome, HubError) and outcome.reason is not None:
            result = outcome.reason
        else:
            continue  # a failure, not a judgement: the door retries it
        found.append((a, result))
    if not found:
        return 0
    async with hub.tx() as conn:
        tz = (await load_session(conn, session_id, with_fields=False)).ctx.tz
        out = []
        for a, result in found:
            try:
                column, value = identifier_of(a)
            except HubError:
                column, value = "", ""
            attendee = await rows.attendee_id_by(conn, column, value) if column else None
            try:
                scanned = parse_timestamp(a.timestamp, tz)
            except Invalid:
                scanned = None
            out.append(dict(
                session_id=session_id, attendee_id=attendee, action=a.action,
                kind=(conflict_kind(a.action, result, a.lease_id) if result != "ok"
                      else "door_refused"),
                door_decided=a.decided, hub_result=result,
                presented=f"{column}: {value}" if column else None, lease_id=a.lease_id,
                scanned_at=scanned, uploaded_at=at, actor=principal.actor,
                idempotency_key=(f"{session_id}/{a.action}/{a.idempotency_key}"
                                 if a.idempotency_key else None)))
        await rows.insert_conflicts(conn, out)
    return len(out)


class OtherDoor(msgspec.Struct):
    """The hub's accepted action of the same attendee before the upload (for a double
    admission: what the other door did)."""

    at: str | None
    source: str | None
    actor: str | None


class ConflictOut(msgspec.Struct):
    id: int
    session_id: str
    session_name: str
    kind: str
    action: str
    attendee: dict[str, Any] | None
    presented: str | None
    door_decided: str
    hub_result: str
    lease_id: str | None
    scanned_at: str | None
    uploaded_at: str | None
    door: str | None  # who uploaded it: the door's staff member, kiosk or key
    other: OtherDoor | None


async def list_conflicts(hub: Hub, session_id: str | None) -> list[ConflictOut]:
    """Conflicts for staff to review, newest first (one session, or the whole event)."""
    async with hub.read() as conn:
        if session_id is not None and await rows.door_session(conn, session_id) is None:
            raise NotFound(f"No session with id {session_id!r}.")
        found = await rows.conflict_rows(conn, session_id)
        accepted = await rows.accepted_actions(
            conn, [r.attendee_id for r in found if r.attendee_id is not None])
    out = []
    for r in found:
        other = None
        uploaded = as_utc(r.uploaded_at)
        for e in accepted:  # the latest accepted action of theirs before the upload
            done = as_utc(e.at)
            if (e.session_id == r.session_id and e.attendee_id == r.attendee_id
                    and e.action == r.action and done is not None and uploaded is not None
                    and done <= uploaded):
                other = OtherDoor(at=iso(e.at), source=e.source, actor=e.actor)
        attendee = None
        if r.attendee_id is not None:
            attendee = {"id": r.attendee_id, "external_id": r.external_id,
                        "badge_id": r.badge_id, "first_name": r.first_name,
                        "last_name": r.last_name}
        out.append(ConflictOut(
            id=r.id, session_id=r.session_id, session_name=r.session_name, kind=r.kind,
            action=r.action, attendee=attendee, presented=r.presented,
            door_decided=r.door_decided, hub_result=r.hub_result, lease_id=r.lease_id,
            scanned_at=iso(r.scanned_at), uploaded_at=iso(r.uploaded_at), door=r.actor,
            other=other if r.kind == "double_admission" else None))
    return out
