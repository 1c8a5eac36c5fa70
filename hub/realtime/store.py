"""What the real-time hub reads from the database (``storage.live``), in its own types:
snapshots, the event log, who may listen."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.domain.credit import schedule_of
from hub.domain.dates import as_utc, iso, now, zone
from hub.domain.engagement import (
    TEXTS_SHOWN,
    PollLive,
    QuestionLive,
    is_open,
    opens_at,
    tally,
    unlock_minutes,
)
from hub.domain.events import Counts, SessionEvent, decode_event
from storage import engagement, evaluations, feedback, live


@dataclass
class SessionState:
    session_id: str
    seq: int
    epoch: str
    counts: Counts
    records: list[dict[str, Any]]  # newest first


def _counts(row: Any) -> Counts:
    return Counts.of(registered=row.registered, checked_in=row.checked_in,
                     in_room=row.in_room, capacity=row.capacity, leased=row.leased)


async def session_state(conn: AsyncConnection, session_id: str, *,
                        records: int) -> SessionState | None:
    """Counts, seq and epoch from the counter row, and the ``records`` most recently touched
    check-in records (as their last event carried them). None for an unknown session."""
    row = await live.counter(conn, session_id)
    if row is None:
        return None
    recent = await recent_records(conn, session_id, upto=row.seq, limit=records)
    return SessionState(session_id=session_id, seq=row.seq, epoch=row.epoch,
                        counts=_counts(row), records=recent)


async def recent_records(conn: AsyncConnection, session_id: str, *, upto: int,
                         limit: int) -> list[dict[str, Any]]:
    """The latest ``limit`` records by last door action, newest first."""
    out = []
    for payload in await live.recent_payloads(conn, session_id, upto=upto, limit=limit):
        record = decode_event(payload).record
        if record is not None:
            out.append(record)
    return out


async def events_after(conn: AsyncConnection, session_id: str, after: int, *,
                       upto: int | None = None, limit: int = 500) -> list[SessionEvent]:
    """Events with ``after < seq <= upto``, in order, at most ``limit``."""
    return [decode_event(payload) for payload in
            await live.payloads_after(conn, session_id, after, upto=upto, limit=limit)]


async def current_seq(conn: AsyncConnection, session_id: str) -> tuple[int, str] | None:
    return await live.current_seq(conn, session_id)


async def session_capacity(conn: AsyncConnection, session_id: str) -> tuple[bool, int | None]:
    """Whether the session still exists, and its capacity (None: no limit)."""
    return await live.session_capacity(conn, session_id)


@dataclass
class EventRow:
    session_id: str
    name: str
    seq: int
    epoch: str
    counts: Counts


async def event_counts(conn: AsyncConnection) -> list[EventRow]:
    """Every session's counts, in the sessions' display order."""
    return [EventRow(session_id=r.id, name=r.name, seq=r.seq, epoch=r.epoch, counts=_counts(r))
            for r in await live.all_counters(conn)]


# --- who may listen -------------------------------------------------------------------------


@dataclass
class SessionAccess:
    exists: bool
    moderator_password: str | None  # the session's
    app_moderator_password: str | None


async def session_access(conn: AsyncConnection, session_id: str | None) -> SessionAccess:
    exists, session_pw, app_pw = await live.moderator_passwords(conn, session_id)
    return SessionAccess(exists=exists, moderator_password=session_pw,
                         app_moderator_password=app_pw)


@dataclass(frozen=True)
class AttendeeIdentity:
    """How an attendee shows up in a record's ``user`` (to pick their own events)."""

    id: int
    external_id: str | None
    email: str | None
    badge_id: str | None

    def owns(self, record: dict[str, Any] | None) -> bool:
        if not record:
            return False
        user = record.get("user") or {}
        for key in ("external_id", "badge_id"):
            mine = getattr(self, key)
            if mine is not None and user.get(key) == mine:
                return True
        email = user.get("email")
        return (self.external_id is None and self.badge_id is None and self.email is not None
                and isinstance(email, str) and email.lower() == self.email.lower())


async def attendee_identity(conn: AsyncConnection, attendee_id: int) -> AttendeeIdentity | None:
    row = await live.attendee_ids(conn, attendee_id)
    if row is None:
        return None
    return AttendeeIdentity(id=row.id, external_id=row.external_id, email=row.email,
                            badge_id=row.badge_id)


@dataclass
class AttendeeStatus:
    status: str  # "not_checked_in" | "in_room" | "checked_out"
    checkin_time: str | None
    checkout_time: str | None


def status_of_record(record: dict[str, Any] | None) -> AttendeeStatus:
    if not record or record.get("checkin_time") is None:
        return AttendeeStatus("not_checked_in", None, None)
    return AttendeeStatus("in_room" if record.get("in_room") else "checked_out",
                          record.get("checkin_time"), record.get("checkout_time"))


async def attendee_status(conn: AsyncConnection, session_id: str,
                          attendee_id: int) -> AttendeeStatus:
    row, tz_name = await live.attendee_record(conn, session_id, attendee_id)
    if row is None or row.checkin_time is None:
        return AttendeeStatus("not_checked_in", None, None)
    tz = zone(tz_name)
    return AttendeeStatus("in_room" if row.in_since is not None else "checked_out",
                          iso(as_utc(row.checkin_time), tz), iso(as_utc(row.checkout_time), tz))


# --- live engagement -----------------------------------------------------------------------


async def polls_live(conn: AsyncConnection, session_id: str) -> list[PollLive]:
    """Every poll of the session with its results as of now, in rank order."""
    tz = zone(await feedback.app_timezone(conn))
    grouped: dict[str, list[tuple[str, int]]] = {}
    for row in await engagement.grouped_answers(conn, session_id):
        grouped.setdefault(row.poll_id, []).append((row.choice, int(row.n)))
    texts = {pid: (n, newest) for pid, n, newest in
             await engagement.text_answers(conn, session_id, limit=TEXTS_SHOWN)}
    out = []
    for p in await feedback.polls_of(conn, session_id):
        choices = [str(c) for c in p.choices or ()]
        if p.type == "open_text":
            n, newest = texts.get(p.id, (0, []))
            results = tally(p.type, choices, [("", n)] if n else [], newest)
        else:
            results = tally(p.type, choices, grouped.get(p.id, ()))
        out.append(PollLive(id=p.id, name=p.name, rank=p.rank, type=p.type, choices=choices,
                            state=p.state, revealed=bool(p.revealed),
                            created=iso(p.created, tz), results=results))
    return out


async def questions_live(conn: AsyncConnection, session_id: str) -> list[QuestionLive]:
    """Every question of the session, most votes first, then oldest first."""
    tz = zone(await feedback.app_timezone(conn))
    return [QuestionLive(id=q.id, question=q.text, upvotes=q.upvotes, answered=bool(q.answered),
                         approved=bool(q.approved), hidden=bool(q.hidden),
                         starred=bool(q.starred), created=iso(q.created, tz))
            for q in await engagement.live_questions(conn, session_id)]


async def evaluation_live(conn: AsyncConnection, session_id: str) -> tuple[bool, str | None]:
    """Whether the session's evaluation is open now, and when it opens (ISO; None: not
    scheduled and not unlocked)."""
    opens, tz = await evaluation_opens(conn, session_id)
    return is_open(now(), opens), iso(opens, tz)


async def evaluation_opens(conn: AsyncConnection,
                           session_id: str) -> tuple[dt.datetime | None, ZoneInfo | None]:
    """When the evaluation opens (the schedule, or a moderator's unlock), in the event's zone."""
    row = await evaluations.window(conn, session_id)
    if row is None:
        return None, None
    tz = zone(row.app_timezone)
    end = schedule_of(row.date, None, row.end_time, tz).end
    minutes = unlock_minutes(row.app_unlock_minutes, row.evaluation_unlock_minutes)
    return opens_at(end, minutes, as_utc(row.evaluation_unlocked_at)), tz
