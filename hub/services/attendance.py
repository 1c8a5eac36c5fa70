"""Attendance housekeeping: listing records, removal by filter, clearing, preloading,
codewords and credit adjustments. Each change is one transaction that ends, like the door,
with the session's counter row (the next ``seq``) and a stored session event published after
the commit.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Annotated, Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.auth.principal import Principal, may_submit_codeword
from hub.domain import credit
from hub.domain.dates import iso, now
from hub.domain.events import Encoded, SessionEvent
from hub.domain.records import (
    CheckinRecordOut,
    RecordState,
    serialize,
    to_builtins,
    user_of,
)
from hub.door.loading import (
    Gate,
    LoadedSession,
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
                 count: int | None = None, record: CheckinRecordOut | None = None) -> Encoded:
    event = SessionEvent(session_id=session_id, seq=g.seq, epoch=g.epoch, kind=kind,
                         at=iso(at, tz) or "", counts=g.counts(capacity), count=count,
                         record=None if record is None else to_builtins(record))
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
    """Remove every record of the session, its registrations (so that preloading again
    re-synchronises: whoever is not in the new list is gone) and its remembered idempotent
    answers. Returns how many records went."""
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

    events: list[Encoded] = []

    async def work(conn: AsyncConnection) -> RecordAnswer:
        events.clear()
        # The counter row first (as the door takes it), then the record: no deadlock.
        s = await load_session(conn, session_id, lock=True)
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
        return await _updated(conn, s, state, user, at, events)

    answer = await hub.db.run(work)
    await publish_after_commit(hub.sink, events)
    return answer


# --- credit --------------------------------------------------------------------------------


class CreditAdjustIn(msgspec.Struct):
    field: Text  # the field of study's name (any case)
    # A number or a numeric string ("1.5", as credits are written everywhere else), 0-1000.
    credits: Annotated[float, msgspec.Meta(ge=0, le=1000)] | Text | None
    note: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    external_id: Text | None = None
    email: Text | None = None
    badge_id: Text | None = None


async def adjust_credit(hub: Hub, principal: Principal, session_id: str,
                        body: CreditAdjustIn) -> RecordAnswer:
    """Set the credits awarded for one field of study of one attendee, with a note; the rule's
    own value stays visible as ``credits_earned``. ``credits: null`` removes the adjustment."""
    ident = identifier_of(body)
    credits = _credits(body.credits)

    events: list[Encoded] = []

    async def work(conn: AsyncConnection) -> RecordAnswer:
        events.clear()
        s = await load_session(conn, session_id, lock=True)  # the counter row, then the record
        wanted = body.field.strip().casefold()
        field = next((f for f in s.ctx.fields if f.name.strip().casefold() == wanted), None)
        if field is None:
            raise Invalid("field", f"the session has no field of study named {body.field!r}")
        _, user = await load_attendee(conn, session_id, attendee_id=None, ident=ident)
        state = await lock_record(conn, session_id, user.id)
        at = now()
        await rows.set_credit_adjustment(conn, state.id, field.id, credits=credits,
                                         note=(body.note or "").strip() or None,
                                         actor=principal.actor, at=at)
        return await _updated(conn, s, state, user, at, events)

    answer = await hub.db.run(work)
    await publish_after_commit(hub.sink, events)
    return answer


async def _updated(conn: AsyncConnection, s: LoadedSession, state: RecordState, user: Any,
                   at: dt.datetime, events: list[Encoded]) -> RecordAnswer:
    """A record changed outside the door (a codeword, a credit adjustment): its fresh form,
    the session's next seq on it, and an ``updated`` event for the dashboards."""
    extras = (await load_extras(conn, [state.id]))[state.id]
    out = serialize(state, user_of(user._mapping), extras, s.ctx, at)
    g = await bump(conn, s.ctx.session_id)
    await rows.touch_record(conn, state.id, g.seq)
    events.append(await _event(conn, s.ctx.session_id, "updated", g, s.view.capacity,
                               s.ctx.tz, at, record=out))
    return RecordAnswer(record=out)


def _credits(value: float | str | None) -> float | None:
    """``credits`` as a number: a number as sent, or a numeric string. Raises Invalid."""
    if not isinstance(value, str):
        return value
    try:
        number = float(value.strip())
    except ValueError:
        number = math.nan
    if not 0 <= number <= 1000:  # also refuses nan and inf
        raise Invalid("credits", f"{value!r} is not a number of credits from 0 to 1000")
    return number


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

