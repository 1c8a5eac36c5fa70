"""Attendance housekeeping: listing records, removal by filter, clearing, preloading,
codewords and credit adjustments. Each change is one transaction that ends, like the door,
with the session's counter row (the next ``seq``) and a stored session event published after
the commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.auth.principal import Principal, may_submit_codeword
from hub.domain import credit
from hub.domain.dates import iso, now
from hub.domain.events import Encoded, SessionEvent
from hub.domain.records import CheckinRecordOut, serialize, user_of
from hub.door.loading import (
    Gate,
    bump,
    identifier_of,
    load_attendee,
    load_extras,
    load_records,
    load_session,
    lock_record,
    store_event,
)
from hub.door.publish import publish_after_commit
from hub.errors import CheckinRefused, FilterError, Forbidden, Invalid, NotFound
from hub.services import attendees as roster
from hub.state import Hub
from storage import app as app_store
from storage import records as rows

Text = Annotated[str, msgspec.Meta(max_length=500)]


async def _event(conn: AsyncConnection, session_id: str, kind: str, g: Gate,
                 capacity: int | None, tz: Any, at: dt.datetime, *,
                 count: int | None = None) -> Encoded:
    event = SessionEvent(session_id=session_id, seq=g.seq, epoch=g.epoch, kind=kind,
                         at=iso(at, tz) or "", counts=g.counts(capacity), count=count)
    return Encoded(event, await store_event(conn, event, at))


# --- listing -------------------------------------------------------------------------------


async def list_records(hub: Hub, session_id: str) -> list[CheckinRecordOut]:
    async with hub.read() as conn:
        s = await load_session(conn, session_id)
        return [out for _, out in await load_records(conn, s.ctx, now())]


# --- removal and clearing ------------------------------------------------------------------


class RemoveIn(msgspec.Struct):
    preview: bool = False
    all: bool | None = None
    email: Text | None = None
    external_id: Text | None = None


class RemoveFilters(msgspec.Struct):
    all: bool
    email: str | None
    external_id: str | None


class RemoveOut(msgspec.Struct):
    preview: bool
    found: int
    checkins: list[CheckinRecordOut]
    filters: RemoveFilters


def remove_filter(body: RemoveIn) -> list[Any]:
    """The WHERE clauses for a removal. Raises FilterError with the reference's messages:
    more than one filter (``all`` with an email, or email with external_id) is "Too many
    possible filters"; none usable is "No valid filters were passed"."""
    email = body.email.strip() if body.email is not None and body.email.strip() else None
    external_id = (body.external_id.strip()
                   if body.external_id is not None and body.external_id.strip() else None)
    used = rows.filter_where(all=bool(body.all), email=email, external_id=external_id)
    if len(used) > 1:
        raise FilterError("Too many possible filters")
    if not used:
        raise FilterError("No valid filters were passed")
    return used


async def remove(hub: Hub, session_id: str, body: RemoveIn) -> RemoveOut:
    where = remove_filter(body)
    events: list[Encoded] = []

    async def work(conn: AsyncConnection) -> RemoveOut:
        events.clear()
        s = await load_session(conn, session_id, lock=not body.preview)
        at = now()
        found = await load_records(conn, s.ctx, at, where=where,
                                   for_update=not body.preview)
        if found and not body.preview:
            await rows.delete_records(conn, session_id,
                                      [(state.id, state.attendee_id) for state, _ in found])
            g = await bump(
                conn, session_id,
                checked_in=-sum(1 for st, _ in found if st.checkin_time_actual is not None),
                in_room=-sum(1 for st, _ in found if st.in_since is not None),
            )
            events.append(await _event(conn, session_id, "removed", g, s.view.capacity,
                                       s.ctx.tz, at, count=len(found)))
        return RemoveOut(
            preview=body.preview,
            found=len(found),
            checkins=[out for _, out in found],
            filters=RemoveFilters(all=bool(body.all), email=body.email,
                                  external_id=body.external_id),
        )

    result = await hub.db.run(work)
    await publish_after_commit(hub.sink, events)
    return result


async def clear(hub: Hub, session_id: str) -> int:
    """Remove every record of the session (and its remembered idempotent answers); the
    registrations stay. Returns how many records went."""
    events: list[Encoded] = []

    async def work(conn: AsyncConnection) -> int:
        events.clear()
        s = await load_session(conn, session_id, with_fields=False, lock=True)
        at = now()
        gone = await rows.clear_records(conn, session_id)
        g = Gate.of(await rows.reset_counters(conn, session_id))
        events.append(await _event(conn, session_id, "cleared", g, s.view.capacity, s.ctx.tz,
                                   at, count=gone))
        return gone

    n = await hub.db.run(work)
    await publish_after_commit(hub.sink, events)
    return n


# --- preload -------------------------------------------------------------------------------


class PreloadAttendee(msgspec.Struct):
    external_id: Text | None = None
    first_name: Text | None = None
    last_name: Text | None = None
    email: Text | None = None
    field_1: Text | None = None
    field_2: Text | None = None
    field_3: Text | None = None
    field_4: Text | None = None
    field_5: Text | None = None
    badge_id: Text | None = None
    registration_level: Text | None = None


PreloadBody = Annotated[list[PreloadAttendee], msgspec.Meta(max_length=10000)]


async def preload(hub: Hub, session_id: str, items: Sequence[PreloadAttendee]) -> int:
    """Upsert the attendees, register them for the session and give each a record with no
    check-in yet. Never removes anyone. Returns how many attendees were preloaded."""
    people = [roster.AttendeeIn(**msgspec.structs.asdict(item)) for item in items]
    roster.validate(people)
    events: list[Encoded] = []

    async def work(conn: AsyncConnection) -> int:
        events.clear()
        s = await load_session(conn, session_id, with_fields=False, lock=True)
        ids = sorted(set(await roster.upsert(conn, people)))
        if not ids:
            return 0
        at = now()
        new_regs = await roster.register(conn, session_id, ids)
        await rows.ensure_records(conn, session_id, ids)
        g = await bump(conn, session_id, registered=new_regs)
        events.append(await _event(conn, session_id, "preload", g, s.view.capacity, s.ctx.tz,
                                   at, count=len(ids)))
        return len(ids)

    n = await roster.in_write_tx(hub, work)
    await publish_after_commit(hub.sink, events)
    return n


# --- codewords -----------------------------------------------------------------------------


class CodewordIn(msgspec.Struct):
    codeword: Text
    external_id: Text | None = None
    email: Text | None = None
    badge_id: Text | None = None


class RecordAnswer(msgspec.Struct):
    record: CheckinRecordOut


def _codeword_actor(principal: Principal) -> int | None:
    """The attendee id an attendee principal stands for (None for staff and API keys).
    Raises Forbidden for anyone else."""
    if not may_submit_codeword(principal):
        raise Forbidden("Codewords are submitted by the attendee, staff or an API key.")
    return principal.attendee_id if principal.kind == "attendee" else None


async def submit_codeword(hub: Hub, principal: Principal, session_id: str,
                          body: CodewordIn) -> RecordAnswer:
    """Record a codeword (any case) for every field of study of the session that lists it.
    The attendee must have checked in. Repeating a codeword changes nothing."""
    attendee_id = _codeword_actor(principal)
    ident = None if attendee_id is not None else identifier_of(body)
    word = body.codeword.strip().casefold()
    if not word:
        raise Invalid("codeword", "must not be blank")

    async def work(conn: AsyncConnection) -> RecordAnswer:
        s = await load_session(conn, session_id)
        matches = [cid for f in s.ctx.fields for cid, w in f.codewords
                   if w.strip().casefold() == word]
        _, user = await load_attendee(conn, session_id, attendee_id=attendee_id, ident=ident)
        state = await lock_record(conn, session_id, user.id)
        if state.checkin_time_actual is None:
            raise CheckinRefused("not_checked_in")
        if not matches:
            raise CheckinRefused("codeword_invalid")
        at = now()
        await rows.add_codeword_submissions(conn, state.id, matches, at)
        extras = (await load_extras(conn, [state.id]))[state.id]
        return RecordAnswer(record=serialize(state, user_of(user._mapping), extras, s.ctx, at))

    return await hub.db.run(work)


# --- credit --------------------------------------------------------------------------------


class CreditAdjustIn(msgspec.Struct):
    field: Text  # the field of study's name (any case)
    credits: Annotated[float, msgspec.Meta(ge=0, le=1000)] | None
    note: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    external_id: Text | None = None
    email: Text | None = None
    badge_id: Text | None = None


async def adjust_credit(hub: Hub, principal: Principal, session_id: str,
                        body: CreditAdjustIn) -> RecordAnswer:
    """Set the credits awarded for one field of study of one attendee, with a note; the rule's
    own value stays visible as ``credits_earned``. ``credits: null`` removes the adjustment."""
    ident = identifier_of(body)

    async def work(conn: AsyncConnection) -> RecordAnswer:
        s = await load_session(conn, session_id)
        wanted = body.field.strip().casefold()
        field = next((f for f in s.ctx.fields if f.name.strip().casefold() == wanted), None)
        if field is None:
            raise Invalid("field", f"the session has no field of study named {body.field!r}")
        _, user = await load_attendee(conn, session_id, attendee_id=None, ident=ident)
        state = await lock_record(conn, session_id, user.id)
        at = now()
        await rows.set_credit_adjustment(conn, state.id, field.id, credits=body.credits,
                                         note=(body.note or "").strip() or None,
                                         actor=principal.actor, at=at)
        extras = (await load_extras(conn, [state.id]))[state.id]
        return RecordAnswer(record=serialize(state, user_of(user._mapping), extras, s.ctx, at))

    return await hub.db.run(work)


class CreditRules(msgspec.Struct):
    app: credit.CreditRule | None
    session: credit.CreditRule | None = None
    effective: credit.CreditRule | None = None


async def get_credit_rules(hub: Hub, session_id: str | None) -> CreditRules:
    async with hub.tx() as conn:
        app_rule = await app_store.app_credit_rule(conn)
        if session_id is None:
            return CreditRules(app=_rule_or_none(app_rule))
        found, rule = await app_store.session_credit_rule(conn, session_id)
        if not found:
            raise NotFound(f"No session with id {session_id!r}.")
        return CreditRules(app=_rule_or_none(app_rule), session=_rule_or_none(rule),
                           effective=credit.effective_rule(app_rule, rule))


def _rule_or_none(value: Any) -> credit.CreditRule | None:
    return credit.effective_rule(value, None) if isinstance(value, dict) else None


async def put_credit_rule(hub: Hub, session_id: str | None, value: Any) -> None:
    """Set (or with null, remove) the event's rule or a session's override. Session rules may
    hold nulls: a null key switches the event's condition off for that session."""
    if value is not None and not isinstance(value, dict):
        raise Invalid("body", "send a credit rule object, or null to remove it")
    rule = credit.parse_rule(value, "body")
    stored: dict[str, Any] | None = None
    if rule is not None and isinstance(value, dict):
        stored = {k: value[k] for k in credit.RULE_KEYS if k in value}
    async with hub.tx() as conn:
        if session_id is None:
            await app_store.set_app_credit_rule(conn, stored)
            return
        if not await app_store.set_session_credit_rule(conn, session_id, stored):
            raise NotFound(f"No session with id {session_id!r}.")

