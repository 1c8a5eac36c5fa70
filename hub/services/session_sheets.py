"""Sessions as a spreadsheet: the export, and the import that creates and updates sessions in
bulk (the rules shared by imports are in ``hub.services.spreadsheets``).

Columns are the API's field names (``COLUMNS``); lists (registration levels, codewords,
presenters) are ``;``-separated; fields of study are ``field_of_study_n``, ``credits_n`` and
``codewords_n`` for n = 1..7; ``timezone`` is the event's (every session keeps the event's
time zone: the import accepts it, or an empty cell, and refuses another).

A row updates the session with its ``id``; without one, the session with its
``external_id``; else it creates a session (``name`` required). Values are checked as the API
checks them (dates, times, https links, numbers in range). An update writes only the fields
that change; the answer lists them as ``[old, new]``. An exported file imported again changes
nothing: every row is ``unchanged``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.domain.dates import now
from hub.door.publish import session_changed_after_commit
from hub.services.session_cells import (
    FOS,
    FOS_COLUMNS,
    PLAIN,
    Slot,
    check_timezone,
    fos_cells,
    items_of,
    read_fos,
    read_value,
    slots_now,
)
from hub.services.sessions import SessionChanges, update_session
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
    shown,
)
from hub.sheets import Cell, CellError, OutCell, Sheet, cell_text
from hub.state import Hub
from storage import attendees as people
from storage import presenters as presenter_store
from storage import sheets as store
from storage.presenters import presenters_of
from storage.sessions import FieldOfStudy, FieldView, fields_of_study, list_sessions

COLUMNS = (
    "id", "external_id", "name", "date", "start_time", "end_time", "timezone", "location",
    "description", "delivery_format", "capacity", "rank", "hidden", "registrants_only",
    "registration_levels", "moderator_password", "checkin_required", "checkin_code",
    "checkout_required", "checkout_code", "ce_minutes", "credit_url", *FOS_COLUMNS,
    "presenters",
)
_PAGE = 500


# --- export ----------------------------------------------------------------------------------


def _joined(items: Sequence[str] | None) -> str | None:
    return "; ".join(items) if items else None


def export_cells(row: Any, fields: Sequence[FieldView], presenters: Sequence[Any],
                 tz: str | None) -> list[OutCell]:
    """One session as a row of ``COLUMNS``."""
    cells: list[OutCell] = [
        row.id, row.external_id, row.name, row.date, row.start_time, row.end_time, tz,
        row.location, row.description, row.delivery_format, row.capacity, row.rank,
        row.hidden, row.registrants_only, _joined(row.registration_levels),
        row.moderator_password, row.checkin_required, row.checkin_code, row.checkout_required,
        row.checkout_code, row.ce_minutes, row.credit_url,
    ]
    for n in FOS:
        f = fields[n - 1] if n <= len(fields) else None
        cells += [f.name, _number(f.credits), _joined(f.codewords)] if f else [None] * 3
    cells.append(_joined([p.name for p in presenters]))
    return cells


def _number(text: str) -> OutCell:
    """Credits as a number cell (they are stored as text)."""
    try:
        return Decimal(text)
    except InvalidOperation:
        return text


async def export_rows(hub: Hub) -> AsyncIterator[list[OutCell]]:
    """Every session in schedule order, read a page at a time (never all held at once)."""
    async with hub.read() as conn:
        ids = await store.session_ids(conn)
        tz = await people.app_timezone(conn)
    for start in range(0, len(ids), _PAGE):
        page = ids[start:start + _PAGE]
        async with hub.read() as conn:
            rows = await store.sessions_by_ids(conn, page)
            fields = await fields_of_study(conn, page)
            presenters = await presenters_of(conn, page)
        for r in rows:
            yield export_cells(r, fields.get(r.id, ()), presenters.get(r.id, ()), tz)


# --- planning ----------------------------------------------------------------------------------


@dataclass
class Target:
    """One row's effect on its session."""

    row: int
    sid: str | None  # None: a new session (until it is written)
    new: bool
    columns: dict[str, Any] = field(default_factory=dict)  # changed (or set) columns
    fields: list[Slot] | None = None  # the new fields of study, when they change
    presenters: list[str] | None = None  # the new presenter names, when they change
    changes: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def action(self) -> Action:
        return "create" if self.new else ("update" if self.changes else "unchanged")


@dataclass
class Current:
    """The sessions as stored, as the import compares them."""

    rows: dict[str, Any]
    by_external: dict[str, list[str]]
    fields: dict[str, list[FieldView]]
    presenters: dict[str, list[str]]
    timezone: str | None

    def values(self, sid: str) -> dict[str, Any]:
        r = self.rows[sid]
        out: dict[str, Any] = {}
        for c in PLAIN:
            v = getattr(r, c)
            if isinstance(v, str):
                v = v.strip() or None
            if c == "registration_levels":
                v = list(v) if v else None
            out[c] = v
        return out


async def load_current(conn: AsyncConnection) -> Current:
    rows = {r.id: r for r in await list_sessions(conn)}
    by_external: dict[str, list[str]] = {}
    for r in rows.values():
        if r.external_id:
            by_external.setdefault(r.external_id.strip(), []).append(r.id)
    presenters = {sid: [p.name for p in ps] for sid, ps in (await presenters_of(conn)).items()}
    return Current(rows=rows, by_external=by_external, fields=await fields_of_study(conn),
                   presenters=presenters, timezone=await people.app_timezone(conn))


def _match(cells: dict[str, Cell], present: set[str], current: Current, row: int,
           problems: Problems, seen: Seen) -> tuple[bool, str | None]:
    """(usable, the session's id or None for a new one)."""
    sid = ext = None
    try:
        if "id" in present:
            sid = cell_text("id", cells["id"], max_length=100)
        if "external_id" in present:
            ext = cell_text("external_id", cells["external_id"], max_length=1000)
    except CellError as exc:
        problems.cell(row, exc)
        return False, None
    ok = True
    if ext is not None and (earlier := seen.twice("external_id", ext, row)) is not None:
        problems.add(row, "external_id", f"{ext!r} is also the external_id on row {earlier}; "
                     "each session can be in the file once")
        ok = False
    if sid is not None:
        if sid not in current.rows:
            problems.add(row, "id", f"no session has the id {sid!r} (leave id empty to create "
                         "a session)")
            return False, None
        if (earlier := seen.twice("id", sid, row)) is not None:
            problems.add(row, "id", f"the session {sid!r} is also on row {earlier}; each "
                         "session can be in the file once")
            return False, None
        return ok, sid
    if ext is not None:
        found = current.by_external.get(ext, [])
        if len(found) > 1:
            problems.add(row, "external_id", f"{len(found)} sessions have the external_id "
                         f"{ext!r}; add the id column to say which one")
            return False, None
        if found:
            if (earlier := seen.twice("id", found[0], row)) is not None:
                problems.add(row, "external_id", f"the session with external_id {ext!r} is "
                             f"also on row {earlier}; each session can be in the file once")
                return False, None
            return ok, found[0]
    return ok, None


def plan_rows(sheet: Sheet, current: Current) -> tuple[list[Target], Problems]:
    """What each row of the file would do, and every problem in it (nothing is written)."""
    problems = Problems()
    present = check_columns(sheet, COLUMNS, problems)
    plain = [c for c in PLAIN if c in present]
    seen = Seen()
    targets: list[Target] = []
    for row, cells in sheet.rows:
        before = len(problems.items)
        usable, sid = _match(cells, present, current, row, problems, seen)
        wanted: dict[str, Any] = {}
        for c in plain:
            try:
                wanted[c] = read_value(c, cells[c])
            except CellError as exc:
                problems.cell(row, exc)
        if "timezone" in present:
            check_timezone(cells["timezone"], current.timezone, row, problems)
        if "name" in wanted and wanted["name"] is None:
            problems.add(row, "name", "is empty; every session needs a name")
        elif sid is None and "name" not in wanted and usable:
            problems.add(row, "name", "is required to create a session (add a name column)")
        fos_now = slots_now(current.fields.get(sid, ()) if sid else ())
        fos = read_fos(cells, present, fos_now, row, problems)
        presenters: list[str] | None = None
        if "presenters" in present:
            try:
                presenters = items_of("presenters", cells["presenters"], max_items=100) or []
            except CellError as exc:
                problems.cell(row, exc)
        if not usable or len(problems.items) > before:
            continue
        targets.append(_target(row, sid, wanted, fos, presenters, current))
    return targets, problems


def _target(row: int, sid: str | None, wanted: dict[str, Any], fos: list[Slot] | None,
            presenters: list[str] | None, current: Current) -> Target:
    if sid is None:
        t = Target(row=row, sid=None, new=True,
                   columns={k: v for k, v in wanted.items() if v is not None})
        t.changes = {k: [None, shown(v)] for k, v in t.columns.items()}
        if fos:
            t.fields = fos
            t.changes.update({k: [None, v] for k, v in fos_cells(fos).items()
                              if v is not None})
        if presenters:
            t.presenters = presenters
            t.changes["presenters"] = [None, presenters]
        return t
    t = Target(row=row, sid=sid, new=False)
    old = current.values(sid)
    t.changes = changes_of(old, wanted)
    t.columns = {k: wanted[k] for k in t.changes}
    if fos is not None:
        fos_old = fos_cells(slots_now(current.fields.get(sid, ())))
        fos_changes = changes_of(fos_old, fos_cells(fos))
        if fos_changes:
            t.fields = fos
            t.changes.update(fos_changes)
    if presenters is not None:
        names = current.presenters.get(sid, [])
        if presenters != names:
            t.presenters = presenters
            t.changes["presenters"] = [names or None, presenters or None]
    return t


# --- the import --------------------------------------------------------------------------------


async def import_sessions(hub: Hub, sheet: Sheet, *, dry_run: bool) -> ImportResult:
    """Preview (``dry_run``) or apply the file: all of it in one transaction, or nothing
    (``FileRefused``). Dashboards of every created or changed session hear of it at once,
    after the commit."""
    if dry_run:
        async with hub.read() as conn:
            current = await load_current(conn)
        targets, problems = await asyncio.to_thread(plan_rows, sheet, current)
        return result_of(_results(targets), problems)

    async def work(conn: AsyncConnection) -> list[Target]:
        # planned off the event loop: the door's requests on this worker go on meanwhile
        targets, problems = await asyncio.to_thread(plan_rows, sheet, await load_current(conn))
        if problems.items:
            raise FileRefused(problems.sorted())
        await _write(conn, targets)
        return targets

    targets = await hub.db.run(work)
    changed = [t.sid for t in targets if t.sid is not None and (t.new or t.changes)]
    for start in range(0, len(changed), _PAGE):  # told together, a page at a time
        await asyncio.gather(*(session_changed_after_commit(hub.sink, sid)
                               for sid in changed[start:start + _PAGE]))
    return result_of(_results(targets), Problems())


def _results(targets: Sequence[Target]) -> list[RowResult]:
    return [RowResult(row=t.row, action=t.action, id=t.sid, changes=t.changes)
            for t in targets]


async def _write(conn: AsyncConnection, targets: list[Target]) -> None:
    """Create the new sessions in bulk, then update the changed ones (sets ``sid`` of the
    new ones)."""
    new = [t for t in targets if t.new]
    changed = [t for t in targets if not t.new and t.changes]
    if any(t.presenters is not None for t in new + changed):
        await presenter_store.lock_presenters(conn)
    names = sorted({n for t in new + changed for n in t.presenters or ()})
    presenter_ids = await store.presenters_named(conn, names) if names else {}
    if new:
        ids = await store.insert_sessions(conn, [t.columns for t in new], now())
        for t, sid in zip(new, ids, strict=True):
            t.sid = sid
        await store.insert_fields(conn, [
            (t.sid, pos, f.name, f.credits or "0", f.codewords or ())
            for t in new if t.sid is not None for pos, f in enumerate(t.fields or ())
            if f.name is not None])
        await store.add_session_presenters(conn, [
            (t.sid, presenter_ids[name], pos)
            for t in new if t.sid is not None for pos, name in enumerate(t.presenters or ())])
    for t in changed:
        assert t.sid is not None
        fields = None if t.fields is None else [
            FieldOfStudy(name=f.name, credits=f.credits or "0",
                         codewords=None if f.codewords is None else list(f.codewords))
            for f in t.fields if f.name is not None]
        if not await update_session(conn, t.sid, SessionChanges(columns=t.columns,
                                                                 presenters=None,
                                                                 fields=fields)):
            raise FileRefused([{"row": t.row, "column": "id", "message":
                                f"the session {t.sid!r} was deleted while the file was read"}])
        if t.presenters is not None:
            await presenter_store.set_session_presenters(
                conn, t.sid, [presenter_ids[n] for n in t.presenters])

