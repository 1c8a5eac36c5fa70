"""The door's decision step: who stands at the door, and one request decided against the
session's locked counts, as the rules of ``hub.domain.rules`` say. Pure: no I/O; what to write
goes into the batch's ``Plan``."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import msgspec
from dateutil import parser as dateparser

from hub.auth.principal import Principal, may_override, may_scan
from hub.domain import rules
from hub.domain.dates import iso
from hub.domain.events import Counts, SessionEvent, encode_event
from hub.domain.records import (
    CheckinRecordOut,
    Extras,
    RecordState,
    serialize,
    to_builtins,
)
from hub.door.loading import LoadedSession
from hub.door.store import Lease, Person, Plan
from hub.envelope import encode
from hub.errors import CheckinRefused, Forbidden, Invalid

Text = Annotated[str, msgspec.Meta(max_length=500)]


class DoorRequest(msgspec.Struct):
    """The body of ``/attendance/checkin`` and ``/attendance/checkout``.

    Name the attendee by one of ``external_id``, ``badge_id`` or ``email`` (when several are
    sent, that order decides; an attendee signed in to the web client is always themself).
    """

    external_id: Text | None = None
    email: Text | None = None
    badge_id: Text | None = None
    code: Text | None = None
    delivery_format: Literal["in-person", "virtual"] | None = None
    source: Literal["web", "kiosk", "scan", "self-report", "api"] | None = None
    override: bool = False
    override_reason: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    note: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    idempotency_key: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    timestamp: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    # A seat lease of the session (``POST .../leases``) that this admission uses: an offline
    # door's admission takes the seat its lease holds.
    lease_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class DoorAnswer(msgspec.Struct):
    record: CheckinRecordOut
    counts: Counts
    seq: int



def door_for(principal: Principal, requested_source: str | None, session_id: str) -> rules.Door:
    """The door a principal stands at. Raises Forbidden when it may not use this session's door.

    - API key: any source it names (default ``api``); codes asked only for web/self-report.
    - staff: needs the scan permission; always ``scan``; no codes; override with permission.
    - kiosk: locked to one session; always ``kiosk``; no codes; no override.
    - attendee: ``web``; codes asked; no override.

    A self-report is not a door action (it never puts anyone in the room): it is
    ``POST /sessions/{id}/attendance/self-report``, and the door refuses that source.
    """
    if requested_source is not None and requested_source not in rules.SOURCES:
        raise Invalid("source", f"{requested_source!r} is not one of {', '.join(rules.SOURCES)}")
    if requested_source == "self-report":
        raise Invalid("source", "a self-report is POST /api/v2/sessions/{id}/attendance/"
                      "self-report (a completed record, never a presence in the room)")
    kind = principal.kind
    if kind == "api_key":
        source = requested_source or "api"
        return _door(source, principal, may_override=True, may_backdate=True)
    if kind == "staff":
        if not may_scan(principal):
            raise Forbidden("Checking people in and out needs the scan permission.")
        return _door("scan", principal, may_override=may_override(principal),
                     may_backdate=True)
    if kind == "kiosk":
        if principal.session_id != session_id:
            raise Forbidden("This kiosk is set up for another session.")
        return _door("kiosk", principal, may_override=False, may_backdate=False)
    if kind == "attendee":
        return _door("web", principal, may_override=False, may_backdate=False,
                     attendee_id=principal.attendee_id)
    raise Forbidden("Only staff, kiosks, attendees and API keys use the door.")


def _door(source: str, principal: Principal, *, may_override: bool, may_backdate: bool,
          attendee_id: int | None = None) -> rules.Door:
    return rules.Door(
        source=source,
        actor=principal.actor,
        asks_codes=source in rules.ATTENDEE_SOURCES,
        asks_format=source in rules.ATTENDEE_SOURCES,
        in_person=source in rules.IN_PERSON_SOURCES,
        may_override=may_override,
        may_backdate=may_backdate,
        attendee_id=attendee_id,
    )



def parse_timestamp(value: str | None, tz: Any) -> dt.datetime | None:
    """A scan's own ``timestamp`` (ISO-8601; without an offset, in the event's zone)."""
    if value is None:
        return None
    try:
        parsed = dateparser.isoparse(value.strip())
    except (ValueError, OverflowError):
        raise Invalid("timestamp", f"{value!r} is not an ISO-8601 date and time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz or dt.UTC)
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01T00:00:00+05:00, 9999-12-31T23:59:59-05:00
        raise Invalid("timestamp", f"{value!r} is out of range") from None


def stored_key(session_id: str, action: str, principal: Principal,
               body: DoorRequest) -> str | None:
    """The key a door answer is remembered under: the client's ``idempotency_key`` scoped to
    the session, the action and the caller (``Principal.scope``), or None without one."""
    if body.idempotency_key is None:
        return None
    return f"{session_id}/{action}/{principal.scope}/{body.idempotency_key}"


def fingerprint(action: str, door_: rules.Door, ident: tuple[str, str] | None,
                body: DoorRequest) -> str:
    """What a remembered answer was an answer to: the action, who was named (or the attendee
    acting for themself), and every field of the body that changes what happens (code,
    delivery format, source, override and its reason, note, timestamp). A retry sends the
    same; a reused key with another request does not."""
    who: Any = list(ident) if ident is not None else door_.attendee_id
    fields = [action, who, body.code, body.delivery_format, body.source, body.override,
              body.override_reason, body.note, body.timestamp]
    return hashlib.sha256(msgspec.json.encode(fields)).hexdigest()


@dataclass
class Item:
    """One waiting door request."""

    principal: Principal
    door: rules.Door
    action: str
    body: DoorRequest
    ident: tuple[str, str] | None
    key: str | None  # the stored idempotency key (``stored_key``)
    future: asyncio.Future[bytes]
    fingerprint: str = ""  # the request's ``fingerprint`` (with a key)


@dataclass
class Tally:
    """The session's counters as the batch moves them (the row is locked)."""

    seq: int
    registered: int
    checked_in: int
    in_room: int
    earliest: dt.datetime | None = None  # the earliest a scan's timestamp may be
    leased: int = 0  # seats the session's running leases still hold
    leases: dict[str, Lease] = field(default_factory=dict)  # running, and the ones named


def decide(item: Item, s: LoadedSession, person: Person, current: RecordState | None,
           extras_of: dict[int, Extras], tally: Tally, plan: Plan,
           at_now: dt.datetime) -> tuple[bytes, SessionEvent, bytes]:
    """One request, decided against the batch's tally: raise the refusal (nothing changes),
    or record in ``plan`` what to write and return the answer, its event and the event's
    encoding."""
    door_, body, action = item.door, item.body, item.action
    state = (copy.copy(current) if current is not None
             else RecordState(id=0, attendee_id=person.id))
    old = extras_of.get(state.id) if current is not None and state.id else None
    extras = plan.extras.get(person.id) or old or Extras()
    extras = Extras(history=list(extras.history), submitted=extras.submitted,
                            adjustments=extras.adjustments, overrides=list(extras.overrides))
    attendee = rules.AttendeeView(id=person.id, registration_level=person.registration_level,
                                  registered=person.registered)
    view = state.view()
    given = parse_timestamp(body.timestamp, s.ctx.tz)
    at = rules.action_time(door_, given, at_now, view, action, earliest=tally.earliest)
    overridden: list[str] = []
    lease = tally.leases.get(body.lease_id) if body.lease_id is not None else None
    holding = (action == "checkin" and lease is not None and lease.running
               and lease.used < lease.seats)
    if action == "checkin":
        admission = rules.admit(s.view, attendee, view, door_, code=body.code,
                                delivery_format=body.delivery_format, override=body.override)
        overridden += admission.overridden
        if not rules.seat_free(s.view.capacity, tally.in_room, tally.leased, holding):
            if not (body.override and door_.may_override):
                raise CheckinRefused("capacity_full")
            overridden.append("capacity_full")
        first = state.checkin_time_actual is None
        if first:
            state.checkin_time = at
            state.checkin_time_actual = at_now
            state.checkin_source = door_.source
        elif state.checkin_time is None or at < state.checkin_time:
            state.checkin_time = at
        if admission.delivery_format is not None and (first or state.delivery_format is None):
            state.delivery_format = admission.delivery_format
        state.in_since = at
        delta = 1
    else:
        rules.release(s.view, view, door_, code=body.code)
        first = False
        assert state.in_since is not None
        state.seconds_attended += rules.interval_seconds(state.in_since, at)
        state.in_since = None
        state.checkout_time = at
        state.checkout_time_actual = at_now
        state.checkout_source = door_.source
        delta = -1
    if body.note is not None and body.note.strip():
        if door_.attendee_id is not None:
            state.attendee_note = body.note.strip()
        else:
            state.admin_note = body.note.strip()
    extras.history.append((action, at, door_.source))
    reason = None
    if overridden:
        reason = (body.override_reason or "").strip() or None
        extras.overrides += [(rule, door_.actor, reason, at_now) for rule in overridden]

    # Accepted: the answer and its event, then (nothing left to raise) into the plan.
    seq = tally.seq + 1
    in_room = tally.in_room + delta
    checked_in = tally.checked_in + (1 if first else 0)
    leased = tally.leased - (1 if holding else 0)
    out = serialize(state, person.user, extras, s.ctx, at_now)
    counts = Counts.of(registered=tally.registered, checked_in=checked_in, in_room=in_room,
                       capacity=s.view.capacity, leased=leased)
    data = encode(DoorAnswer(record=out, counts=counts, seq=seq))
    event = SessionEvent(session_id=s.ctx.session_id, seq=seq, epoch=s.epoch, kind=action,
                         at=iso(at_now, s.ctx.tz) or "", counts=counts,
                         record=to_builtins(out))
    tally.seq, tally.in_room, tally.checked_in = seq, in_room, checked_in
    if holding:
        assert lease is not None
        lease.used += 1
        tally.leased = leased
        plan.leases_used[lease.id] = lease.used
    plan.touch(person.id, current is not None, state, extras, seq)
    plan.history.append((person.id, action, at, door_.source, door_.actor))
    plan.overrides += [(person.id, rule, door_.actor, reason, at_now) for rule in overridden]
    payload = encode_event(event)
    plan.events.append((seq, action, payload, at_now))
    return data, event, payload

