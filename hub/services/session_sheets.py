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

import datetime as dt
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.domain.dates import is_timezone, now
from hub.domain.schemas import INT32_MAX, MAX_CODEWORDS, MAX_FIELDS_OF_STUDY
from hub.door.publish import session_changed_after_commit
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
from hub.sheets import (
    Cell,
    CellError,
    OutCell,
    Sheet,
    cell_bool,
    cell_date,
    cell_decimal_text,
    cell_int,
    cell_list,
    cell_text,
    cell_time,
)
from hub.state import Hub
from storage import attendees as people
from storage import presenters as presenter_store
from storage import sheets as store
from storage.presenters import presenters_of
from storage.sessions import FieldOfStudy, FieldView, fields_of_study, list_sessions

FOS = tuple(range(1, MAX_FIELDS_OF_STUDY + 1))
FOS_COLUMNS = tuple(c for n in FOS
                    for c in (f"field_of_study_{n}", f"credits_{n}", f"codewords_{n}"))
COLUMNS = (
    "id", "external_id", "name", "date", "start_time", "end_time", "timezone", "location",
    "description", "delivery_format", "capacity", "rank", "hidden", "registrants_only",
    "registration_levels", "moderator_password", "checkin_required", "checkin_code",
    "checkout_required", "checkout_code", "ce_minutes", "credit_url", *FOS_COLUMNS,
    "presenters",
)
# The session's own columns, as stored.
_TEXT = {"external_id": 1000, "name": 1000, "location": 1000, "description": 100_000,
         "moderator_password": 1000, "checkin_code": 1000, "checkout_code": 1000}
_BOOL = ("hidden", "registrants_only", "checkin_required", "checkout_required")
_INT = {"capacity": (0, INT32_MAX), "ce_minutes": (0, INT32_MAX),
        "rank": (-INT32_MAX, INT32_MAX)}
PLAIN = (*_TEXT, "date", "start_time", "end_time", "delivery_format", *_INT, *_BOOL,
         "registration_levels", "credit_url")
_FORMATS = ("in-person", "virtual", "hybrid")
_MAX_CREDITS = 1000
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


# --- reading a row -----------------------------------------------------------------------------


def _unique(items: Sequence[str] | None, *, fold: bool = False) -> list[str] | None:
    out: list[str] = []
    seen: set[str] = set()
    for item in items or ():
        key = item.lower() if fold else item
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out or None


def _items(column: str, value: Cell, *, max_items: int, fold: bool = False) -> list[str] | None:
    items = _unique(cell_list(column, value), fold=fold)
    if items is not None:
        if len(items) > max_items:
            raise CellError(column, f"has {len(items)} items; at most {max_items} are allowed")
        for item in items:
            if len(item) > 1000:
                raise CellError(column, "has an item longer than 1000 characters")
    return items


def _https(column: str, value: Cell) -> str | None:
    text = cell_text(column, value, max_length=2000)
    if text is None:
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        raise CellError(column, f"{text!r} is not a link") from None
    if parts.scheme.lower() != "https" or not parts.hostname or any(c.isspace() for c in text):
        raise CellError(column, "must be an https:// link")
    return text


def _format(column: str, value: Cell) -> str | None:
    text = cell_text(column, value)
    if text is None:
        return None
    normal = text.lower().replace("_", "-").replace(" ", "-")
    if normal not in _FORMATS:
        raise CellError(column, f"{text!r} is not one of {', '.join(_FORMATS)}")
    return normal


_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


def _date(column: str, value: Cell) -> dt.date | None:
    """``cell_date``, with the ISO form (what exports write) read without the general
    parser."""
    if isinstance(value, str) and (m := _ISO_DATE.fullmatch(value.strip())):
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            pass  # cell_date words the problem
    return cell_date(column, value)


def _time(column: str, value: Cell) -> dt.time | None:
    """``cell_time``, with ``H:MM[:SS]`` read without the general parser."""
    if isinstance(value, str) and (m := _CLOCK.fullmatch(value.strip())):
        try:
            return dt.time(int(m[1]), int(m[2]), int(m[3] or 0))
        except ValueError:
            pass  # cell_time words the problem
    return cell_time(column, value)


def read_value(column: str, value: Cell) -> Any:
    """A cell of one of the session's own columns (``PLAIN``), as it is stored."""
    if column in _TEXT:
        return cell_text(column, value, max_length=_TEXT[column])
    if column in _BOOL:
        return cell_bool(column, value)
    if column in _INT:
        lo, hi = _INT[column]
        return cell_int(column, value, min=lo, max=hi)
    if column == "date":
        return _date(column, value)
    if column in ("start_time", "end_time"):
        return _time(column, value)
    if column == "delivery_format":
        return _format(column, value)
    if column == "registration_levels":
        return _items(column, value, max_items=100)
    if column == "credit_url":
        return _https(column, value)
    raise RuntimeError(f"not a session column: {column}")


@dataclass(frozen=True)
class Slot:
    """Field of study n: its name, credits and codewords (None: keep the field's words)."""

    name: str | None
    credits: str | None
    codewords: tuple[str, ...] | None


def _slots_now(fields: Sequence[FieldView]) -> list[Slot]:
    out = [Slot(f.name, f.credits, tuple(f.codewords)) for f in fields]
    return out + [Slot(None, None, None)] * (len(FOS) - len(out))


def _fos_cells(fields: Sequence[Slot]) -> dict[str, Any]:
    """Fields of study as the export's columns, for comparing and showing changes."""
    out: dict[str, Any] = {}
    listed = [f for f in fields if f.name]
    for n in FOS:
        f = listed[n - 1] if n <= len(listed) else None
        out[f"field_of_study_{n}"] = f.name if f else None
        out[f"credits_{n}"] = f.credits if f else None
        out[f"codewords_{n}"] = list(f.codewords) if f and f.codewords else None
    return out


def _read_fos(cells: dict[str, Cell], present: set[str], now_: list[Slot], row: int,
              problems: Problems) -> list[Slot] | None:
    """The fields of study the row asks for (None when it has none of their columns)."""
    if not present & set(FOS_COLUMNS):
        return None
    by_name = {s.name.lower(): s for s in now_ if s.name}
    out: list[Slot] = []
    names: set[str] = set()
    for n, current in zip(FOS, now_, strict=True):
        name_col, credits_col, words_col = (f"field_of_study_{n}", f"credits_{n}",
                                            f"codewords_{n}")
        try:
            name = (cell_text(name_col, cells[name_col], max_length=1000)
                    if name_col in present else current.name)
            credits = (cell_decimal_text(credits_col, cells[credits_col], max=_MAX_CREDITS)
                       if credits_col in present else current.credits)
            words = (_items(words_col, cells[words_col], max_items=MAX_CODEWORDS, fold=True)
                     if words_col in present else None)
        except CellError as exc:
            problems.cell(row, exc)
            continue
        if name is None:
            given = [c for c in (credits_col, words_col)
                     if c in present and str(cells[c]).strip()]
            if given:
                problems.add(row, given[0], f"has a value but {name_col} is empty; name the "
                             "field of study")
            continue
        if name.lower() in names:
            problems.add(row, name_col, f"{name!r} is named twice in this row")
            continue
        names.add(name.lower())
        if words_col in present:
            codewords: tuple[str, ...] | None = tuple(words or ())
        else:  # kept: the words of the field of that name, if it has them
            kept = by_name.get(name.lower())
            codewords = kept.codewords if kept is not None else ()
        out.append(Slot(name, credits or "0", codewords))
    return out


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
            _check_timezone(cells["timezone"], current.timezone, row, problems)
        if "name" in wanted and wanted["name"] is None:
            problems.add(row, "name", "is empty; every session needs a name")
        elif sid is None and "name" not in wanted and usable:
            problems.add(row, "name", "is required to create a session (add a name column)")
        fos_now = _slots_now(current.fields.get(sid, ()) if sid else ())
        fos = _read_fos(cells, present, fos_now, row, problems)
        presenters: list[str] | None = None
        if "presenters" in present:
            try:
                presenters = _items("presenters", cells["presenters"], max_items=100) or []
            except CellError as exc:
                problems.cell(row, exc)
        if not usable or len(problems.items) > before:
            continue
        targets.append(_target(row, sid, wanted, fos, presenters, current))
    return targets, problems


def _check_timezone(value: Cell, event_tz: str | None, row: int, problems: Problems) -> None:
    try:
        tz = cell_text("timezone", value, max_length=100)
    except CellError as exc:
        problems.cell(row, exc)
        return
    if tz is None or tz == event_tz:
        return
    if not is_timezone(tz):
        problems.add(row, "timezone", f"{tz!r} is not a time zone of the tz database")
    elif event_tz is None:
        problems.add(row, "timezone", f"sessions use the event's time zone, and the event "
                     f"has none; set it to {tz} under Event settings, or empty this cell")
    else:
        problems.add(row, "timezone", f"sessions use the event's time zone ({event_tz}); "
                     "change it under Event settings, not per session")


def _target(row: int, sid: str | None, wanted: dict[str, Any], fos: list[Slot] | None,
            presenters: list[str] | None, current: Current) -> Target:
    if sid is None:
        t = Target(row=row, sid=None, new=True,
                   columns={k: v for k, v in wanted.items() if v is not None})
        t.changes = {k: [None, shown(v)] for k, v in t.columns.items()}
        if fos:
            t.fields = fos
            t.changes.update({k: [None, v] for k, v in _fos_cells(fos).items()
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
        fos_old = _fos_cells(_slots_now(current.fields.get(sid, ())))
        fos_changes = changes_of(fos_old, _fos_cells(fos))
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
            targets, problems = plan_rows(sheet, await load_current(conn))
        return result_of(_results(targets), problems)

    async def work(conn: AsyncConnection) -> list[Target]:
        targets, problems = plan_rows(sheet, await load_current(conn))
        if problems.items:
            raise FileRefused(problems.sorted())
        await _write(conn, targets)
        return targets

    targets = await hub.db.run(work)
    for t in targets:
        if t.sid is not None and (t.new or t.changes):
            await session_changed_after_commit(hub.sink, t.sid)
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

