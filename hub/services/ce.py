"""Continuing-education use cases around the door: self-reports, the attendee's session status,
claimed credit and self-registration.

A self-report ("Add a session I attended") is never a presence in the room: it writes a
completed record for the session's scheduled times with source ``self-report``, in one
transaction that ends like any attendance change (the counter row's next ``seq``, a stored
``checkin`` event carrying the record, published after the commit). It does not enter the
room, is not held to capacity or to the registration rules, and is refused for a session that
has not started yet; the session's check-in code is asked when it has one.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.auth.principal import Principal, may_administer
from hub.domain import credit, rules
from hub.domain.dates import iso, now
from hub.domain.events import Encoded, SessionEvent
from hub.domain.records import SELF_REPORT, CheckinRecordOut, RecordState, serialize, user_of
from hub.domain.status import SessionStatus
from hub.door.loading import (
    bump,
    identifier_of,
    load_attendee,
    load_extras,
    load_session,
    lock_record,
    store_event,
)
from hub.door.publish import publish_after_commit
from hub.door.status import load_status, register_url
from hub.errors import CheckinRefused, Forbidden, NotFound
from hub.services import attendees as roster
from hub.state import Hub
from storage import attendees as people
from storage import credit as credit_rows

Text = Annotated[str, msgspec.Meta(max_length=500)]


class SelfReportIn(msgspec.Struct):
    """An attendee names no one (they report for themselves); an API key or an admin names
    the attendee by external_id, badge_id or email."""

    code: Text | None = None
    delivery_format: Literal["in-person", "virtual"] | None = None
    external_id: Text | None = None
    email: Text | None = None
    badge_id: Text | None = None


class Named(msgspec.Struct):
    external_id: Text | None = None
    email: Text | None = None
    badge_id: Text | None = None


class SelfReportAnswer(msgspec.Struct):
    record: CheckinRecordOut


def _who(principal: Principal, body: SelfReportIn | Named) -> tuple[int | None,
                                                                   tuple[str, str] | None]:
    """(the attendee's id, or how the body names them). Raises Forbidden."""
    if principal.kind == "attendee" and principal.attendee_id is not None:
        return principal.attendee_id, None
    if may_administer(principal):
        return None, identifier_of(body)
    raise Forbidden("Only the attendee, an admin or an API key may do this.")


def reported_times(schedule: credit.Schedule, ce_minutes: int | None,
                   at: dt.datetime) -> tuple[dt.datetime, dt.datetime, int]:
    """(check-in, check-out, seconds attended) of a self-report: the scheduled start and end;
    a session without a scheduled end lasts its CE minutes (else nothing) from its start; one
    without a start, from the time of the report."""
    start = schedule.start or at
    seconds = schedule.length_seconds or (ce_minutes or 0) * 60
    return start, start + dt.timedelta(seconds=seconds), seconds


async def self_report(hub: Hub, principal: Principal, session_id: str,
                      body: SelfReportIn) -> SelfReportAnswer:
    """Add a completed, self-reported record (see the module's docstring). Refusals:
    ``not_started``, ``code_required``, ``code_invalid``, ``delivery_format_required``,
    ``already_checked_in`` (the attendee already has attendance here), ``unknown_attendee``."""
    attendee_id, ident = _who(principal, body)
    events: list[Encoded] = []

    async def work(conn: AsyncConnection) -> SelfReportAnswer:
        events.clear()
        s = await load_session(conn, session_id, lock=True)
        at = now()
        schedule = credit.schedule_of(s.ctx.date, s.ctx.start_time, s.ctx.end_time, s.ctx.tz,
                                      fallback_day=at)
        if schedule.start is not None and schedule.start > at:
            raise CheckinRefused("not_started")
        if s.view.checkin_code:
            if not (body.code or "").strip():
                raise CheckinRefused("code_required")
            if not rules.codes_match(s.view.checkin_code, body.code):
                raise CheckinRefused("code_invalid")
        fmt = s.view.delivery_format
        if fmt == "hybrid":
            if body.delivery_format is None:
                raise CheckinRefused("delivery_format_required")
            fmt = body.delivery_format
        _, user = await load_attendee(conn, session_id, attendee_id=attendee_id, ident=ident)
        state = await lock_record(conn, session_id, user.id)
        if state.checkin_time_actual is not None:
            raise CheckinRefused("already_checked_in")
        start, end, seconds = reported_times(schedule, s.ctx.ce_minutes, at)
        g = await bump(conn, session_id, checked_in=1)
        done = RecordState(
            id=state.id, attendee_id=state.attendee_id, checkin_time=start, checkout_time=end,
            checkin_time_actual=at, checkout_time_actual=at, in_since=None,
            seconds_attended=seconds, delivery_format=fmt, admin_note=state.admin_note,
            attendee_note=state.attendee_note, checkin_source=SELF_REPORT,
            checkout_source=SELF_REPORT, evaluation_complete=state.evaluation_complete)
        await credit_rows.complete_record(
            conn, state.id, values={**done.columns(), "updated_seq": g.seq},
            history=[("checkin", start, SELF_REPORT, principal.actor),
                     ("checkout", end, SELF_REPORT, principal.actor)])
        extras = (await load_extras(conn, [state.id]))[state.id]
        out = serialize(done, user_of(user._mapping), extras, s.ctx, at)
        event = SessionEvent(session_id=session_id, seq=g.seq, epoch=g.epoch, kind="checkin",
                             at=iso(at, s.ctx.tz) or "", counts=g.counts(s.view.capacity),
                             record=msgspec.to_builtins(out))
        events.append(Encoded(event, await store_event(conn, event, at)))
        return SelfReportAnswer(record=out)

    result = await hub.db.run(work)
    await publish_after_commit(hub.sink, events)
    return result


# --- the session status -----------------------------------------------------------------


async def status(hub: Hub, session_id: str, attendee_id: int) -> SessionStatus:
    async with hub.read() as conn:
        return await load_status(conn, session_id, attendee_id,
                                 register_url=register_url(hub.settings.public_url, session_id),
                                 now=now())


async def attendee_by_external_id(hub: Hub, external_id: str) -> int:
    """The attendee's id. Raises CheckinRefused("unknown_attendee") (404)."""
    async with hub.read() as conn:
        row = await people.by_external_id(conn, external_id.strip())
    if row is None:
        raise CheckinRefused("unknown_attendee")
    return int(row.id)


async def claim(hub: Hub, principal: Principal, session_id: str, body: Named) -> SessionStatus:
    """Mark the attendee's credit in the session as claimed (the state becomes
    ``credit_claimed`` for good). The attendee must have attended (``not_checked_in``).
    Repeating it changes nothing."""
    if not may_administer(principal):
        raise Forbidden("Claimed credit is reported by an API key or an admin.")
    ident = identifier_of(body)
    found: list[int] = []

    async def work(conn: AsyncConnection) -> None:
        found.clear()
        s = await load_session(conn, session_id, with_fields=False)
        _, user = await load_attendee(conn, s.ctx.session_id, attendee_id=None, ident=ident)
        rec = await credit_rows.record_of(conn, session_id, user.id)
        if rec is None or rec.checkin_time_actual is None:
            raise CheckinRefused("not_checked_in")
        await credit_rows.add_claim(conn, session_id=session_id, attendee_id=user.id, at=now(),
                                    actor=principal.actor)
        found.append(user.id)

    await hub.db.run(work)
    await hub.node.status_changed(session_id, found[0])
    return await status(hub, session_id, found[0])


async def register(hub: Hub, principal: Principal, session_id: str) -> SessionStatus:
    """The signed-in attendee puts the session on their schedule, where the session allows
    it (``self_registration``; else ``self_registration_closed``). Counted as registered (a
    ``preload`` event with count 1 tells dashboards). Repeating it changes nothing."""
    if principal.kind != "attendee" or principal.attendee_id is None:
        raise Forbidden("Attendees register themselves; admins use POST /attendees.")
    aid = principal.attendee_id
    events: list[Encoded] = []

    async def work(conn: AsyncConnection) -> None:
        events.clear()
        row = await credit_rows.self_registration(conn, session_id)
        if row is None:
            raise NotFound(f"No session with id {session_id!r}.")
        if not row.self_registration:
            raise CheckinRefused("self_registration_closed")
        s = await load_session(conn, session_id, with_fields=False, lock=True)
        new = await roster.register(conn, session_id, [aid])
        if not new:
            return
        g = await bump(conn, session_id, registered=new)
        at = now()
        event = SessionEvent(session_id=session_id, seq=g.seq, epoch=g.epoch, kind="preload",
                             at=iso(at, s.ctx.tz) or "", counts=g.counts(s.view.capacity),
                             count=new)
        events.append(Encoded(event, await store_event(conn, event, at)))

    await roster.in_write_tx(hub, work)
    await publish_after_commit(hub.sink, events)
    await hub.node.status_changed(session_id, aid)
    return await status(hub, session_id, aid)
