"""An attendee's status in a session, loaded: the facts ``hub.domain.status`` decides on, read
in one short read. Shared by the status API, the attendee's page and the attendee's live
channel (``/ws/attendee/{id}`` pushes it when it changes).

Credit is ready (``credit_available``) when the session offers CE credit (it has fields of
study or a credit URL) and the attendee's record earns it: a field of study awards more than
0 (adjusted values count), or, for a session with a credit URL and no fields, the credit rule
is met.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.domain import credit, rules
from hub.domain.records import SELF_REPORT, RecordState, SessionContext, serialize, user_of
from hub.domain.status import SessionStatus, StatusFacts, session_status
from hub.door.loading import load_extras, load_session
from hub.errors import NotFound
from storage import credit as credit_rows


def register_url(public_url: str, session_id: str) -> str:
    """Where the ``register`` action leads: the session's page on the hub."""
    return f"{public_url}/sessions/{quote(session_id, safe='')}"


async def load_status(conn: AsyncConnection, session_id: str, attendee_id: int, *,
                      register_url: str | None, now: dt.datetime) -> SessionStatus:
    """The attendee's status in the session. Raises NotFound for an unknown session."""
    row = await credit_rows.status_row(conn, session_id, attendee_id)
    if row is None:
        raise NotFound(f"No session with id {session_id!r}.")
    facts = StatusFacts(registered=bool(row.registered),
                        self_registration=bool(row.self_registration),
                        credit_claimed=bool(row.claimed), credit_url=row.credit_url,
                        register_url=register_url)
    rec = await credit_rows.record_of(conn, session_id, attendee_id)
    if rec is not None and rec.checkin_time_actual is not None:
        s = await load_session(conn, session_id)
        state = RecordState.of(rec._mapping)
        extras = (await load_extras(conn, [state.id]))[state.id]
        facts = StatusFacts(
            registered=facts.registered, self_registration=facts.self_registration,
            checked_in=True, in_room=state.in_since is not None,
            checked_out=state.checkout_time is not None,
            credit_available=_earns(state, extras, s.ctx, row.credit_url, now),
            credit_claimed=facts.credit_claimed, credit_url=facts.credit_url,
            register_url=register_url)
    messages = row.status_messages
    if isinstance(messages, str):  # JSON read without a decoder
        messages = json.loads(messages)
    return session_status(facts, messages if isinstance(messages, dict) else None)


_NOBODY: dict[str, Any] = {name: None for name in (
    "first_name", "last_name", "email", "external_id", "field_1", "field_2", "field_3",
    "field_4", "field_5", "badge_id")}


def _earns(state: RecordState, extras: Any, ctx: SessionContext, credit_url: str | None,
           now: dt.datetime) -> bool:
    if ctx.fields:
        out = serialize(state, user_of(_NOBODY), extras, ctx, now)
        return any(f.credits > 0 for f in out.fields_of_study)
    if not credit_url:
        return False
    if not ctx.self_report_credit and state.checkin_source == SELF_REPORT:
        return False
    seconds = rules.total_seconds(state.seconds_attended, state.in_since, now)
    schedule = credit.schedule_of(ctx.date, ctx.start_time, ctx.end_time, ctx.tz,
                                  fallback_day=state.checkin_time)
    attendance = credit.Attendance(first_checkin=state.checkin_time,
                                   last_checkout=state.checkout_time,
                                   in_room=state.in_since is not None, seconds=seconds, now=now)
    return credit.rule_met(ctx.rule, attendance, schedule, valid_codewords=0,
                           possible_codewords=0)
