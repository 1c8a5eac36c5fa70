"""Loading what the attendance use cases share, from ``storage.records`` rows into the
domain's types: a session as the door sees it, an attendee, records and what hangs off them,
the counter row, and the event log's writes.

Every change to a session's attendance (door batches, removal, clear, preload) first locks
the session's counter row (``load_session(..., lock=True)``), so they are settled one after
the other: capacity is decided against the locked counts, and ``seq`` is strictly increasing
per session.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.domain import credit, rules
from hub.domain.dates import zone
from hub.domain.events import Counts, SessionEvent, encode_event
from hub.domain.records import (
    CheckinRecordOut,
    Extras,
    FieldView,
    RecordState,
    SessionContext,
    extras_of,
    fields_of,
    serialize,
    user_of,
)
from hub.errors import CheckinRefused, Conflict, Invalid, NotFound
from storage import records as rows
from storage.engine import Database


@dataclass
class LoadedSession:
    view: rules.SessionView
    ctx: SessionContext
    epoch: str
    registered: int
    checked_in: int
    in_room: int
    seq: int


async def load_session(conn: AsyncConnection, session_id: str, *,
                       with_fields: bool = True, lock: bool = False) -> LoadedSession:
    """The session, its counters and the event's time zone and credit rule (one query), and
    its fields of study (one more). Raises NotFound. With ``lock`` the session's counter row
    is locked until the transaction ends."""
    row = await rows.session_row(conn, session_id, lock=lock)
    if row is None:
        raise NotFound(f"No session with id {session_id!r}.")
    fields = await load_fields(conn, session_id) if with_fields else []
    return session_of(row._mapping, fields)


def session_of(row: Mapping[str, Any], fields: list[FieldView]) -> LoadedSession:
    """A LoadedSession from a row of ``storage.records.SESSION_COLUMNS`` and its fields."""
    levels = row["registration_levels"]
    if isinstance(levels, str):  # JSON read without a decoder
        levels = json.loads(levels)
    rule, app_rule = row["credit_rule"], row["app_rule"]
    rule = json.loads(rule) if isinstance(rule, str) else rule
    app_rule = json.loads(app_rule) if isinstance(app_rule, str) else app_rule
    levels = levels if isinstance(levels, list) else []
    view = rules.SessionView(
        id=row["id"],
        checkin_code=row["checkin_code"] or None,
        checkout_code=row["checkout_code"] or None,
        delivery_format=row["delivery_format"],
        capacity=row["capacity"],
        registrants_only=bool(row["registrants_only"]),
        registration_levels=tuple(str(x) for x in levels),
    )
    ctx = SessionContext(
        session_id=row["id"],
        date=row["date"],
        start_time=row["start_time"],
        end_time=row["end_time"],
        tz=zone(row["app_tz"]),
        rule=credit.effective_rule(app_rule, rule),
        fields=fields,
        ce_minutes=row["ce_minutes"],
        self_report_credit=row["app_self_report_credit"] is not False,
    )
    return LoadedSession(view=view, ctx=ctx, epoch=row["epoch"], registered=row["registered"],
                         checked_in=row["checked_in"], in_room=row["in_room"], seq=row["seq"])


async def load_fields(conn: AsyncConnection, session_id: str) -> list[FieldView]:
    """The session's fields of study with their codewords, in order (one query)."""
    return fields_of(r._mapping for r in await rows.field_rows(conn, session_id))


def identifier_of(body: Any) -> tuple[str, str]:
    """(column, value) naming the attendee: external_id, else badge_id, else email."""
    for name in ("external_id", "badge_id", "email"):
        value = getattr(body, name, None)
        if value is not None and value.strip():
            return name, value.strip()
    raise Invalid("external_id", "name the attendee by one of external_id, email or badge_id")


async def load_attendee(conn: AsyncConnection, session_id: str, *, attendee_id: int | None,
                        ident: tuple[str, str] | None) -> tuple[rules.AttendeeView, Any]:
    """The attendee and whether they are registered for the session, and their row. Raises
    CheckinRefused("unknown_attendee") (404), or Conflict when an email is shared."""
    found = await rows.attendee_rows(conn, session_id, attendee_id=attendee_id, ident=ident)
    if not found:
        raise CheckinRefused("unknown_attendee")
    if len(found) > 1:
        raise Conflict("Several attendees share this email; name them by external_id or "
                       "badge_id.")
    row = found[0]
    return rules.AttendeeView(id=row.id, registration_level=row.registration_level,
                              registered=bool(row.registered)), row


async def lock_record(conn: AsyncConnection, session_id: str, attendee_id: int) -> RecordState:
    """The attendee's record for the session, created if missing, locked until the
    transaction ends."""
    return RecordState.of((await rows.lock_record(conn, session_id, attendee_id))._mapping)


async def load_extras(conn: AsyncConnection, record_ids: Sequence[int], *,
                      with_credit: bool = True, selected: Any = None) -> dict[int, Extras]:
    """History, overrides, and (``with_credit``) codeword submissions and credit adjustments
    for the given records: one query each, whatever the number of records. ``selected`` (a
    SELECT of those record ids) replaces a long IN list with a subquery."""
    if not record_ids:
        return {}
    got = await rows.extras_rows(conn, list(record_ids) if selected is None else selected,
                                 with_credit=with_credit)
    return extras_of(record_ids, got.history, got.overrides, got.submissions,
                     got.adjustments)


async def load_records(
    conn: AsyncConnection,
    ctx: SessionContext,
    now: dt.datetime,
    *,
    where: Iterable[Any] = (),
    for_update: bool = False,
) -> list[tuple[RecordState, CheckinRecordOut]]:
    """The session's records (optionally filtered), written out, in record order."""
    where = list(where)
    found = await rows.record_rows(conn, ctx.session_id, where=where, for_update=for_update)
    selected = rows.records_selected(ctx.session_id, where) if len(found) > 500 else None
    extras = await load_extras(conn, [r.id for r in found], with_credit=bool(ctx.fields),
                               selected=selected)
    out = []
    for r in found:
        m = r._mapping
        state = RecordState.of(m)
        out.append((state, serialize(state, user_of(m), extras[r.id], ctx, now)))
    return out


# --- the counter row and the event log -----------------------------------------------------


@dataclass
class Gate:
    """The counter row after a change: the change's seq and the counts."""

    seq: int
    registered: int
    checked_in: int
    in_room: int
    epoch: str

    @classmethod
    def of(cls, row: Any) -> Gate:
        return cls(seq=row.seq, registered=row.registered, checked_in=row.checked_in,
                   in_room=row.in_room, epoch=row.epoch)

    def counts(self, capacity: int | None) -> Counts:
        return Counts.of(registered=self.registered, checked_in=self.checked_in,
                         in_room=self.in_room, capacity=capacity)


async def bump(conn: AsyncConnection, session_id: str, *, registered: int = 0,
               checked_in: int = 0, in_room: int = 0) -> Gate:
    """Move the counters unconditionally and take the next seq (removal, preload)."""
    return Gate.of(await rows.bump_counters(conn, session_id, registered=registered,
                                            checked_in=checked_in, in_room=in_room))


async def store_event(conn: AsyncConnection, event: SessionEvent, at: dt.datetime) -> bytes:
    """Append the event to the replay log; its encoding (published as it is)."""
    payload = encode_event(event)
    await rows.store_event(conn, session_id=event.session_id, seq=event.seq, kind=event.kind,
                           payload=payload, at=at)
    return payload


async def counts(db: Database, session_id: str) -> Counts:
    """A session's live counts. Raises NotFound."""
    async with db.read() as conn:
        row = await rows.counts_row(conn, session_id)
    if row is None:
        raise NotFound(f"No session with id {session_id!r}.")
    return Counts.of(registered=row.registered, checked_in=row.checked_in, in_room=row.in_room,
                     capacity=row.capacity, leased=row.leased)
