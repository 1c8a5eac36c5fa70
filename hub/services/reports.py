"""The organizer's reports, as spreadsheets streamed a page at a time (a report of any size is
never held in memory; each page is read in its own short transaction, so a slow download
never holds the database).

- Attendance: one row per attendee per session they attended or are registered for, in
  schedule order, then by last and first name: the record exactly as ``GET /attendance``
  computes it (times in the event's zone, time attended, % attended, credits per field of
  study with an admin's adjustment applied, codewords valid of possible, overrides).
- Scans: every door action, accepted or refused, in the order the door decided them, from
  the door log the door writes in each batch (``hub.door.service``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from hub.domain.dates import as_utc, now, zone
from hub.domain.records import (
    CheckinRecordOut,
    Extras,
    RecordState,
    extras_of,
    fields_of,
    serialize,
    user_of,
)
from hub.door.loading import session_of
from hub.errors import NotFound
from hub.sheets import OutCell
from hub.state import Hub
from storage import attendees as people
from storage import reports as store
from storage import sheets as sheet_store

_PAGE = 500
_GROUP = 5000  # rows whose keys are read at once (a larger session alone)
ATTENDANCE_START = (
    "session_id", "session_name", "session_date", "external_id", "badge_id", "last_name",
    "first_name", "email", "registration_level", "registered", "checkin_time",
    "checkout_time", "total_time_attended", "percent_attended", "delivery_format",
)
ATTENDANCE_END = ("checkin_source", "checkout_source", "overrides", "credit_adjustments")
SCANS_COLUMNS = ("time", "session_id", "session_name", "badge_id", "last_name", "first_name",
                 "action", "result", "source", "who", "presented")
_ACTIONS = {"checkin": "check-in", "checkout": "check-out"}


def attendance_columns(fields: int) -> list[str]:
    """The attendance report's columns with ``fields`` fields of study (the most any of its
    sessions has)."""
    per = [c for n in range(1, fields + 1)
           for c in (f"field_of_study_{n}", f"credits_{n}", f"codewords_{n}")]
    return [*ATTENDANCE_START, *per, *ATTENDANCE_END]


class Who:
    """Who acted, as people know them: a staff member's email, an API key's description."""

    def __init__(self, keys: dict[int, str]) -> None:
        self.keys = keys

    def __call__(self, actor: str | None) -> str | None:
        if actor is None:
            return None
        kind, _, rest = actor.partition(":")
        if kind == "staff":
            return rest
        if kind == "api_key" and rest.isascii() and rest.isdigit():
            return f"API key: {self.keys.get(int(rest), 'deleted')}"
        if kind == "attendee":
            return "the attendee"
        return actor


def _local(value: dt.datetime | None, tz: ZoneInfo | None) -> dt.datetime | None:
    v = as_utc(value)
    return None if v is None else v.astimezone(tz or dt.UTC).replace(microsecond=0)


async def _check_session(hub: Hub, session_id: str | None) -> list[str]:
    async with hub.read() as conn:
        ids = await sheet_store.session_ids(conn, session_id)
    if session_id is not None and not ids:
        raise NotFound(f"No session with the id {session_id!r}.")
    return ids


async def attendance_report(hub: Hub, session_id: str | None,
                            ) -> tuple[list[str], AsyncIterator[list[OutCell]]]:
    """The columns and the rows of the attendance report (one session, or all). Raises
    NotFound for an unknown session before anything is sent."""
    ids = await _check_session(hub, session_id)
    async with hub.read() as conn:
        fields = await store.most_fields(conn, None if session_id is None else ids)
        who = Who(await store.api_key_descriptions(conn))
    return attendance_columns(fields), _attendance_rows(hub, ids, fields, who)


def _groups(session_ids: Sequence[str], sizes: dict[str, int]) -> list[list[str]]:
    """Sessions in order, grouped so that a group has at most ``_GROUP`` rows (a larger
    session is a group of its own); sessions without rows are left out."""
    groups: list[list[str]] = []
    rows = _GROUP
    for sid in session_ids:
        n = sizes.get(sid, 0)
        if not n:
            continue
        if rows + n > _GROUP:
            groups.append([])
            rows = 0
        groups[-1].append(sid)
        rows += n
    return groups


async def _attendance_rows(hub: Hub, session_ids: Sequence[str], fields: int,
                           who: Who) -> AsyncIterator[list[OutCell]]:
    """The rows, a group of sessions at a time (their keys in order, then pages of
    ``_PAGE`` rows, each page in a few queries whatever the number of sessions in it)."""
    async with hub.read() as conn:
        sizes = await store.row_counts(conn, session_ids if len(session_ids) == 1 else None)
    for group in _groups(session_ids, sizes):
        async with hub.read() as conn:
            rows = await store.report_sessions(conn, group)
            field_rows = await store.report_fields(conn, group)
            keys = await store.report_keys(conn, group)
        by_session: dict[str, list[Any]] = {}
        for f in field_rows:
            by_session.setdefault(f.session_id, []).append(f._mapping)
        sessions = {r.id: (r, session_of(r._mapping, fields_of(by_session.get(r.id, ()))))
                    for r in rows}
        for start in range(0, len(keys), _PAGE):
            page = [k for k in keys[start:start + _PAGE] if k[0] in sessions]
            async with hub.read() as conn:
                records, registered, people_ = await store.report_page(conn, page)
                got = await store.page_extras(conn, page)
            extras = extras_of([r.id for r in records.values()], (), got.overrides,
                               got.submissions, got.adjustments)
            at = now()
            for key in page:
                person = people_.get(key[1])
                if person is None:  # deleted while the report was being sent
                    continue
                session, loaded = sessions[key[0]]
                rec = records.get(key)
                if rec is None:
                    state, extra = RecordState(id=0, attendee_id=key[1]), Extras()
                else:
                    state, extra = RecordState.of(rec._mapping), extras[rec.id]
                out = serialize(state, user_of(person._mapping), extra, loaded.ctx, at)
                yield _attendance_cells(session, person, key in registered, state, out,
                                        fields, loaded.ctx.tz, who)


def _attendance_cells(session: Any, r: Any, registered: bool, state: RecordState,
                      out: CheckinRecordOut, fields: int, tz: ZoneInfo | None,
                      who: Who) -> list[OutCell]:
    attended = state.checkin_time_actual is not None
    cells: list[OutCell] = [
        session.id, session.name, session.date, r.external_id, r.badge_id, r.last_name,
        r.first_name, r.email, r.registration_level, registered,
        _local(state.checkin_time, tz), _local(state.checkout_time, tz),
        out.total_time_attended, out.percent_attended, out.delivery_format,
    ]
    for n in range(fields):
        f = out.fields_of_study[n] if n < len(out.fields_of_study) else None
        if f is None:
            cells += [None, None, None]
            continue
        words = (f"{f.codewords.valid} of {f.codewords.possible}"
                 if f.codewords.possible else None)
        cells += [f.name, f.credits if attended or f.adjustment else None, words]
    cells += [
        out.checkin_source, out.checkout_source,
        "; ".join(f"{o.rule} by {who(o.by)}" + (f" ({o.reason})" if o.reason else "")
                  for o in out.overrides) or None,
        "; ".join(f"{f.name}: {f.credits_earned} -> {f.adjustment.credits} by "
                  f"{who(f.adjustment.by)}" + (f" ({f.adjustment.note})"
                                               if f.adjustment.note else "")
                  for f in out.fields_of_study if f.adjustment is not None) or None,
    ]
    return cells


async def scans_report(hub: Hub, session_id: str | None,
                       ) -> tuple[list[str], AsyncIterator[list[OutCell]]]:
    """The columns and rows of the scans report (one session, or all). Raises NotFound for
    an unknown session before anything is sent."""
    await _check_session(hub, session_id)
    async with hub.read() as conn:
        who = Who(await store.api_key_descriptions(conn))
        tz = zone(await people.app_timezone(conn))
    return list(SCANS_COLUMNS), _scan_rows(hub, session_id, who, tz)


async def _scan_rows(hub: Hub, session_id: str | None, who: Who,
                     tz: ZoneInfo | None) -> AsyncIterator[list[OutCell]]:
    after = 0
    while True:
        async with hub.read() as conn:
            rows = await store.door_log_page(conn, session_id, after=after, limit=_PAGE * 2)
        if not rows:
            return
        for r in rows:
            badge = r.badge_id
            if badge is None and r.presented_as == "badge_id":
                badge = r.presented
            presented = f"{r.presented_as}: {r.presented}" if r.presented_as else None
            yield [_local(r.at, tz), r.session_id, r.session_name, badge, r.last_name,
                   r.first_name, _ACTIONS.get(r.action, r.action), r.result, r.source,
                   who(r.actor), presented]
        after = rows[-1].id
