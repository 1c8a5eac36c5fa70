"""Attendees as a spreadsheet: the export, and the import that creates and updates attendees
and sets their registrations (the rules shared by imports are in ``hub.services.spreadsheets``).

A row matches as ``POST /attendees`` matches: by ``external_id``; else, when the row has an
email, the oldest attendee with that email (any case) who has no external id yet; a row
without an external id matches the oldest attendee with its email. Otherwise it creates an
attendee. Each row needs an external id or an email.

``sessions`` lists the sessions (by id, else by external id, ``;``-separated) the attendee is
registered for: the registrations become exactly those (an empty cell removes them all; an
absent column leaves them). Every session whose registered count moves gets one ``preload``
event with its new counts, published after the commit, so its dashboards update at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.domain.dates import iso, now, zone
from hub.domain.events import Counts, Encoded, SessionEvent, encode_event
from hub.door.publish import publish_after_commit
from hub.services.attendees import in_write_tx
from hub.services.spreadsheets import (
    Action,
    FileRefused,
    ImportResult,
    Problems,
    RowResult,
    Seen,
    changes_of,
    check_columns,
    result_of,
)
from hub.sheets import Cell, CellError, OutCell, Sheet, cell_list, cell_text
from hub.state import Hub
from storage import attendees as people
from storage import sheets as store
from storage.attendees import COLUMNS as OWN

COLUMNS = (*OWN, "sessions")
MAX_TEXT = 500  # as POST /attendees
_PAGE = 1000
_NONE: frozenset[str] = frozenset()


# --- export ----------------------------------------------------------------------------------


async def export_rows(hub: Hub) -> AsyncIterator[list[OutCell]]:
    """Every attendee (in the order they were added) with their registrations, read a page
    at a time."""
    after = 0
    while True:
        async with hub.read() as conn:
            rows = await store.attendees_page(conn, after=after, limit=_PAGE)
            if not rows:
                return
            sessions = await store.registrations_of(conn, [r.id for r in rows])
        for r in rows:
            cells: list[OutCell] = [getattr(r, c) for c in OWN]
            cells.append("; ".join(sessions.get(r.id, ())) or None)
            yield cells
        after = rows[-1].id


# --- planning ----------------------------------------------------------------------------------


@dataclass
class Target:
    """One row's effect on its attendee."""

    row: int
    aid: int | None  # None: a new attendee (until it is written)
    new: bool
    values: dict[str, Any]  # every own column, as it will be
    sessions: set[str] | None  # the registrations as they will be (None: left alone)
    registered: frozenset[str]  # the registrations now
    changes: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def action(self) -> Action:
        return "create" if self.new else ("update" if self.changes else "unchanged")

    @property
    def writes_attendee(self) -> bool:
        return self.new or any(k != "sessions" for k in self.changes)


@dataclass
class Current:
    """The attendees and sessions the file names, as stored."""

    rows: dict[int, dict[str, Any]]
    by_external: dict[str, int]
    by_email: dict[str, int]  # lower-cased email -> the oldest attendee with it
    registered: dict[int, list[str]]
    session_ids: set[str]
    sessions_by_external: dict[str, list[str]]
    badge_owner: dict[str, int]


def _texts(cells: dict[str, Cell], names: Sequence[str], row: int,
           problems: Problems) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for c in names:
        try:
            out[c] = cell_text(c, cells[c], max_length=MAX_TEXT)
        except CellError as exc:
            problems.cell(row, exc)
    return out


async def load_current(conn: AsyncConnection, sheet: Sheet, present: set[str]) -> Current:
    """What the file's rows can match: attendees by their external ids and emails, their
    registrations, the sessions, the holders of the file's badges."""
    exts: set[str] = set()
    emails: set[str] = set()
    badges: set[str] = set()
    for _, cells in sheet.rows:
        for column, into in (("external_id", exts), ("email", emails), ("badge_id", badges)):
            if column in present:
                try:
                    value = cell_text(column, cells[column])
                except CellError:
                    continue
                if value:
                    into.add(value.lower() if column == "email" else value)
    rows: dict[int, dict[str, Any]] = {}
    by_external: dict[str, int] = {}
    by_email: dict[str, int] = {}
    for r in await store.attendees_named(conn, sorted(exts), sorted(emails)):  # oldest first
        rows[r.id] = dict(r._mapping)
        if r.external_id in exts:
            by_external[r.external_id] = r.id
        if r.email_lower in emails:
            by_email.setdefault(r.email_lower, r.id)
    current = Current(rows=rows, by_external=by_external, by_email=by_email, registered={},
                      session_ids=set(), sessions_by_external={}, badge_owner={})
    if "sessions" in present:
        current.registered = await store.registrations_of(conn, sorted(rows))
        for s in await store.session_keys(conn):
            current.session_ids.add(s.id)
            if s.external_id:
                current.sessions_by_external.setdefault(s.external_id.strip(), []).append(s.id)
    current.badge_owner = await store.badge_holders(conn, sorted(badges))
    return current


def _match(ext: str | None, email: str | None, current: Current,
           claimed: set[int]) -> int | None:
    """The attendee a row names (the rule of ``POST /attendees``), or None for a new one."""
    if ext is not None:
        aid = current.by_external.get(ext)
        if aid is not None:
            return aid
        if email is not None:
            candidate = current.by_email.get(email.lower())
            if (candidate is not None and candidate not in claimed
                    and not (current.rows[candidate].get("external_id") or "").strip()):
                return candidate
        return None
    return current.by_email.get(email.lower()) if email is not None else None


def _sessions(value: Cell, current: Current, row: int, problems: Problems) -> set[str] | None:
    try:
        items = cell_list("sessions", value) or []
    except CellError as exc:
        problems.cell(row, exc)
        return None
    out: set[str] = set()
    for item in items:
        if item in current.session_ids:
            out.add(item)
            continue
        found = current.sessions_by_external.get(item, [])
        if len(found) == 1:
            out.add(found[0])
        elif found:
            problems.add(row, "sessions", f"{len(found)} sessions have the external_id "
                         f"{item!r}; name it by its id")
            return None
        else:
            problems.add(row, "sessions", f"no session has the id or external_id {item!r}")
            return None
    return out


def plan_rows(sheet: Sheet, current: Current) -> tuple[list[Target], Problems]:
    """What each row of the file would do, and every problem in it (nothing is written)."""
    problems = Problems()
    present = check_columns(sheet, COLUMNS, problems)
    if not present & {"external_id", "email"}:
        problems.add(1, None, "The file needs an external_id or an email column to match "
                     "attendees by.")
        return [], problems
    own = [c for c in OWN if c in present]
    seen = Seen()
    claimed: set[int] = set()
    targets: list[Target] = []
    badges: dict[str, tuple[int, Any]] = {}  # badge -> (first row, its target)
    for row, cells in sheet.rows:
        before = len(problems.items)
        wanted = _texts(cells, own, row, problems)
        ext, email = wanted.get("external_id"), wanted.get("email")
        if ext is None and email is None and not problems.rows & {row}:
            problems.add(row, "external_id" if "external_id" in present else "email",
                         "needs an external_id or an email to match the attendee by")
        sessions = (_sessions(cells["sessions"], current, row, problems)
                    if "sessions" in present else None)
        if len(problems.items) > before:
            continue
        aid = _match(ext, email, current, claimed)
        key = ("id", str(aid)) if aid is not None else (
            ("external_id", ext) if ext is not None else ("email", (email or "").lower()))
        if (earlier := seen.twice(*key, row)) is not None:
            what = (f"external_id {ext!r}" if ext is not None else f"email {email!r}")
            problems.add(row, "external_id" if ext is not None else "email",
                         f"the attendee with {what} is also on row {earlier}; each attendee "
                         "can be in the file once")
            continue
        if aid is not None:
            claimed.add(aid)
        t = _target(row, aid, wanted, sessions, current)
        badge = t.values.get("badge_id")
        if badge is not None:
            first = badges.setdefault(badge, (row, t))
            if first[1] is not t:
                problems.add(row, "badge_id", f"{badge!r} is also the badge_id on row "
                             f"{first[0]}; a badge belongs to one attendee")
                continue
        targets.append(t)
    _check_badges_held(targets, current, problems)
    bad = problems.rows
    return [t for t in targets if t.row not in bad], problems


def _target(row: int, aid: int | None, wanted: dict[str, Any], sessions: set[str] | None,
            current: Current) -> Target:
    if aid is None:
        t = Target(row=row, aid=None, new=True,  # (a column not given is null)
                   values={c: v for c, v in wanted.items() if v is not None},
                   sessions=sessions, registered=_NONE)
        t.changes = {k: [None, v] for k, v in wanted.items() if v is not None}
        if sessions:
            t.changes["sessions"] = [None, sorted(sessions)]
        return t
    stored = current.rows[aid]
    old = {c: (stored[c].strip() or None) if isinstance(stored[c], str) else stored[c]
           for c in OWN}
    registered = frozenset(current.registered.get(aid, ()))
    t = Target(row=row, aid=aid, new=False, values={**old, **wanted}, sessions=sessions,
               registered=registered)
    t.changes = changes_of(old, wanted)
    if sessions is not None and sessions != registered:
        t.changes["sessions"] = [current.registered.get(aid) or None,
                                 sorted(sessions) or None]
    return t


def _check_badges_held(targets: list[Target], current: Current, problems: Problems) -> None:
    """A badge the file gives must be free, or held by an attendee the file moves off it."""
    final = {t.aid: t.values.get("badge_id") for t in targets if t.aid is not None}
    for t in targets:
        badge = t.values.get("badge_id")
        owner = current.badge_owner.get(badge) if badge is not None else None
        if owner is None or owner == t.aid:
            continue
        if owner in final and final[owner] != badge:
            continue  # moves to this row's attendee
        problems.add(t.row, "badge_id", f"{badge!r} already belongs to another attendee "
                     "(put that attendee in the file with another badge_id to move it)")


# --- the import --------------------------------------------------------------------------------


async def import_attendees(hub: Hub, sheet: Sheet, *, dry_run: bool) -> ImportResult:
    """Preview (``dry_run``) or apply the file: all of it in one transaction, or nothing
    (``FileRefused``); the sessions whose registrations moved get their event after the
    commit."""
    present = set(sheet.columns)
    if dry_run:
        async with hub.read() as conn:
            current = await load_current(conn, sheet, present)
        targets, problems = await asyncio.to_thread(plan_rows, sheet, current)
        return result_of(_results(targets), problems)
    events: list[Encoded] = []

    async def work(conn: AsyncConnection) -> list[Target]:
        events.clear()
        # planned off the event loop: the door's requests on this worker go on meanwhile
        current = await load_current(conn, sheet, present)
        targets, problems = await asyncio.to_thread(plan_rows, sheet, current)
        if problems.items:
            raise FileRefused(problems.sorted())
        await _write(conn, targets, events)
        return targets

    targets = await in_write_tx(hub, work)
    await publish_after_commit(hub.sink, events)
    return result_of(_results(targets), Problems())


def _results(targets: Sequence[Target]) -> list[RowResult]:
    return [RowResult(row=t.row, action=t.action, id=t.values.get("external_id"),
                      changes=t.changes) for t in targets]


async def _write(conn: AsyncConnection, targets: list[Target], events: list[Encoded]) -> None:
    changed = [t for t in targets if not t.new and t.writes_attendee]
    moving = [t.aid for t in changed if t.aid is not None and "badge_id" in t.changes]
    if moving:  # badges may pass between attendees of the file: free them first
        await store.clear_badges(conn, moving)
    await people.update_many(conn, {t.aid: t.values for t in changed if t.aid is not None})
    new = [t for t in targets if t.new]
    for t, aid in zip(new, await store.insert_attendees(conn, [t.values for t in new], now()),
                      strict=True):
        t.aid = aid
    add: list[tuple[str, int]] = []
    drop: list[tuple[str, int]] = []
    for t in targets:
        if t.sessions is None or t.aid is None:
            continue
        add += [(sid, t.aid) for sid in t.sessions - t.registered]
        drop += [(sid, t.aid) for sid in t.registered - t.sessions]
    if not add and not drop:
        return
    at = now()
    moved = await store.register_pairs(conn, add, at)
    moved.subtract(await store.unregister_pairs(conn, drop))
    deltas = {sid: n for sid, n in moved.items() if n}
    if not deltas:
        return
    # Each session whose registered count moved: the next seq and one event, as preloading
    # gives (the counter rows are locked in one order, as every such writer does).
    counters = await store.move_registered(conn, deltas)
    capacity = await people.session_capacities(conn, sorted(deltas))
    tz = zone(await people.app_timezone(conn))
    log = []
    for g in sorted(counters, key=lambda r: r.session_id):
        counts = Counts.of(registered=g.registered, checked_in=g.checked_in, in_room=g.in_room,
                           capacity=capacity.get(g.session_id))
        event = SessionEvent(session_id=g.session_id, seq=g.seq, epoch=g.epoch, kind="preload",
                             at=iso(at, tz) or "", counts=counts, count=deltas[g.session_id])
        payload = encode_event(event)
        events.append(Encoded(event, payload))
        log.append((g.session_id, g.seq, "preload", payload, at))
    await store.insert_events(conn, log)
