"""Attendees and their registrations: upsert by external_id (else email, any case), listing,
and one attendee's schedule.

Matching, for each item of an upsert: an item with an ``external_id`` updates the attendee with
that external id, or else adopts an attendee with the same email who has no external id yet,
or else is new; an item without one updates the first attendee with that email (any case), or
else is new. Fields that are null or omitted are left as they are. Items in one request that
name the same person are merged in order. Two requests at once that bring the same new person
(email or external_id) create one attendee: the second waits for the first's lock on that
identity, then finds its row. ``sessions`` adds registrations and never removes any
(as preloading never removes anyone).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, TypeVar

import msgspec
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.domain.dates import fmt_date, fmt_time, iso, now, zone
from hub.domain.events import Encoded, SessionEvent
from hub.door.loading import bump, store_event
from hub.door.publish import publish_after_commit
from hub.errors import Conflict, Invalid, NotFound
from hub.state import Hub
from storage import attendees as people
from storage.attendees import COLUMNS

T = TypeVar("T")
Text = Annotated[str, msgspec.Meta(max_length=500)]


class AttendeeIn(msgspec.Struct):
    external_id: Text | None = None
    first_name: Text | None = None
    last_name: Text | None = None
    email: Text | None = None
    badge_id: Text | None = None
    registration_level: Text | None = None
    field_1: Text | None = None
    field_2: Text | None = None
    field_3: Text | None = None
    field_4: Text | None = None
    field_5: Text | None = None
    sessions: Annotated[list[Annotated[str, msgspec.Meta(max_length=64)]],
                        msgspec.Meta(max_length=1000)] | None = None


AttendeesBody = Annotated[list[AttendeeIn], msgspec.Meta(max_length=10000)]


class AttendeeOut(msgspec.Struct):
    external_id: str | None
    first_name: str | None
    last_name: str | None
    email: str | None
    badge_id: str | None
    registration_level: str | None
    field_1: str | None
    field_2: str | None
    field_3: str | None
    field_4: str | None
    field_5: str | None


class AttendeeList(msgspec.Struct):
    count: int  # all matching, before limit/offset
    attendees: list[AttendeeOut]


class ScheduleEntry(msgspec.Struct):
    session_id: str
    external_id: str | None
    name: str
    date: str | None
    start_time: str | None
    end_time: str | None
    location: str | None
    registered: bool
    checkin_time: str | None
    checkout_time: str | None
    in_room: bool


class AttendeeDetail(AttendeeOut):
    schedule: list[ScheduleEntry] = msgspec.field(default_factory=list)


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def validate(items: Sequence[AttendeeIn]) -> None:
    """Refuse (422, naming the item) what cannot be matched or stored; writes nothing."""
    for i, item in enumerate(items):
        if _clean(item.external_id) is None and _clean(item.email) is None:
            raise Invalid(f"[{i}]", "needs an external_id or an email")


async def in_write_tx(hub: Hub, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """A transaction for imports: a unique id that is still taken after the retries is a 409."""
    try:
        return await hub.db.run(work)
    except IntegrityError:
        raise Conflict("An external_id or badge_id in this request belongs to another "
                       "attendee.") from None


async def upsert(conn: AsyncConnection, items: Sequence[AttendeeIn]) -> list[int]:
    """Create or update the attendees; return their ids in item order."""
    exts = sorted({e for it in items if (e := _clean(it.external_id))})
    emails = sorted({e.lower() for it in items if (e := _clean(it.email))})
    await people.lock_identities(conn, exts, emails)  # concurrent upserts: one at a time
    existing: dict[int, dict[str, Any]] = {}
    by_ext: dict[str, tuple[str, int]] = {}
    by_email: dict[str, tuple[str, int]] = {}
    for r in await people.by_external_ids(conn, exts):
        existing[r.id] = dict(r._mapping)
        by_ext[r.external_id] = ("id", r.id)
    for r in await people.by_emails(conn, emails):
        existing.setdefault(r.id, dict(r._mapping))
        by_email.setdefault(r.email_lower, ("id", r.id))

    merged: dict[tuple[str, int], dict[str, Any]] = {}
    targets: list[tuple[str, int]] = []
    new_n = 0
    for item in items:
        ext = _clean(item.external_id)
        email = _clean(item.email)
        key: tuple[str, int] | None = None
        if ext is not None:
            key = by_ext.get(ext)
            if key is None and email is not None:
                candidate = by_email.get(email.lower())
                if candidate is not None and _ext_of(candidate, existing, merged) is None:
                    key = candidate
        elif email is not None:
            key = by_email.get(email.lower())
        if key is None:
            key = ("new", new_n)
            new_n += 1
            merged[key] = {}
        elif key not in merged:
            merged[key] = {c: existing[key[1]][c] for c in COLUMNS} if key[0] == "id" else {}
        values = merged[key]
        for column in COLUMNS:
            v = _clean(getattr(item, column))
            if v is not None:
                values[column] = v
        if values.get("external_id"):
            by_ext[values["external_id"]] = key
        if values.get("email"):
            by_email.setdefault(values["email"].lower(), key)
        targets.append(key)

    _check_badges(merged)
    await _check_badges_stored(conn, merged)

    ids: dict[tuple[str, int], int] = {k: k[1] for k in merged if k[0] == "id"}
    await people.update_many(conn, {k[1]: v for k, v in merged.items() if k[0] == "id"})
    new_keys = [k for k in merged if k[0] == "new"]
    new_ids = await people.insert_many(conn, [merged[k] for k in new_keys], now())
    ids.update(zip(new_keys, new_ids, strict=True))
    return [ids[k] for k in targets]


def _ext_of(key: tuple[str, int], existing: dict[int, dict[str, Any]],
            merged: dict[tuple[str, int], dict[str, Any]]) -> str | None:
    if key in merged:
        return merged[key].get("external_id")  # type: ignore[no-any-return]
    if key[0] == "id":
        return existing[key[1]].get("external_id")  # type: ignore[no-any-return]
    return None


def _check_badges(merged: dict[tuple[str, int], dict[str, Any]]) -> None:
    seen: dict[str, tuple[str, int]] = {}
    for key, values in merged.items():
        badge = values.get("badge_id")
        if badge is None:
            continue
        if badge in seen and seen[badge] != key:
            raise Invalid("badge_id", f"{badge!r} is given to two different attendees")
        seen[badge] = key


async def _check_badges_stored(conn: AsyncConnection,
                               merged: dict[tuple[str, int], dict[str, Any]]) -> None:
    wanted = {v["badge_id"]: k for k, v in merged.items() if v.get("badge_id")}
    for r in await people.badge_owners(conn, sorted(wanted)):
        key = wanted[r.badge_id]
        if key != ("id", r.id):
            raise Conflict(f"badge_id {r.badge_id!r} already belongs to another attendee.")


async def register(conn: AsyncConnection, session_id: str, attendee_ids: Sequence[int]) -> int:
    """Register the attendees for the session; return how many were not registered before."""
    return await people.register(conn, session_id, attendee_ids, now())


async def import_attendees(hub: Hub, items: Sequence[AttendeeIn]) -> int:
    """POST /attendees: upsert, then register each for its ``sessions`` (one transaction; a
    session whose registered count moved gets a "preload" event with the new count)."""
    validate(items)
    wanted = sorted({sid for it in items for sid in (it.sessions or [])})
    events: list[Encoded] = []

    async def work(conn: AsyncConnection) -> int:
        events.clear()
        known = await people.session_capacities(conn, wanted)
        for i, it in enumerate(items):
            for sid in it.sessions or []:
                if sid not in known:
                    raise Invalid(f"[{i}].sessions", f"no session with id {sid!r}")
        ids = await upsert(conn, items)
        per_session: dict[str, list[int]] = {}
        for aid, it in zip(ids, items, strict=True):
            for sid in it.sessions or []:
                per_session.setdefault(sid, []).append(aid)
        if per_session:
            tz = zone(await people.app_timezone(conn))
            at = now()
            for sid in sorted(per_session):  # one order for every writer: no deadlocks
                added = await register(conn, sid, per_session[sid])
                if not added:
                    continue
                g = await bump(conn, sid, registered=added)
                event = SessionEvent(session_id=sid, seq=g.seq, epoch=g.epoch, kind="preload",
                                     at=iso(at, tz) or "", counts=g.counts(known[sid]),
                                     count=added)
                events.append(Encoded(event, await store_event(conn, event, at)))
        return len(set(ids))

    n = await in_write_tx(hub, work)
    await publish_after_commit(hub.sink, events)
    return n


def _out(row: Any) -> AttendeeOut:
    return AttendeeOut(**{c: getattr(row, c) for c in COLUMNS})


async def list_attendees(hub: Hub, *, q: str | None, limit: int, offset: int) -> AttendeeList:
    async with hub.read() as conn:
        total, rows = await people.search(conn, q=q, limit=limit, offset=offset)
    return AttendeeList(count=total, attendees=[_out(r) for r in rows])


async def get_attendee(hub: Hub, external_id: str) -> AttendeeDetail:
    async with hub.read() as conn:
        row = await people.by_external_id(conn, external_id)
        if row is None:
            raise NotFound(f"No attendee with external_id {external_id!r}.")
        tz = zone(await people.app_timezone(conn))
        registered, recs, sessions = await people.schedule_of(conn, row.id)
    sessions.sort(key=lambda s: (s.date or dt.date.max, s.start_time or dt.time.max, s.name))
    schedule = []
    for s in sessions:
        rec = recs.get(s.id)
        schedule.append(ScheduleEntry(
            session_id=s.id, external_id=s.external_id, name=s.name, date=fmt_date(s.date),
            start_time=fmt_time(s.start_time), end_time=fmt_time(s.end_time),
            location=s.location, registered=s.id in registered,
            checkin_time=iso(rec.checkin_time, tz) if rec else None,
            checkout_time=iso(rec.checkout_time, tz) if rec else None,
            in_room=bool(rec is not None and rec.in_since is not None),
        ))
    return AttendeeDetail(**{c: getattr(row, c) for c in COLUMNS}, schedule=schedule)
