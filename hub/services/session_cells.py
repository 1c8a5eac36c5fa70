"""Reading the cells of a sessions spreadsheet into a session's values, as the API checks
them: text of bounded length, whole numbers in range, yes/no, dates and times (the ISO forms an
export writes, read at once; anything else as the API reads it, and XLSX date and time cells),
https links, ``;``-separated lists, and the seven fields of study (``field_of_study_n``,
``credits_n``, ``codewords_n``)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from hub.domain.dates import is_timezone
from hub.domain.schemas import INT32_MAX, MAX_CODEWORDS, MAX_FIELDS_OF_STUDY
from hub.services.spreadsheets import Problems
from hub.sheets import (
    Cell,
    CellError,
    cell_bool,
    cell_date,
    cell_decimal_text,
    cell_int,
    cell_list,
    cell_text,
    cell_time,
)
from storage.sessions import FieldView

FOS = tuple(range(1, MAX_FIELDS_OF_STUDY + 1))
FOS_COLUMNS = tuple(c for n in FOS
                    for c in (f"field_of_study_{n}", f"credits_{n}", f"codewords_{n}"))
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


def _unique(items: Sequence[str] | None, *, fold: bool = False) -> list[str] | None:
    out: list[str] = []
    seen: set[str] = set()
    for item in items or ():
        key = item.lower() if fold else item
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out or None


def items_of(column: str, value: Cell, *, max_items: int, fold: bool = False) -> list[str] | None:
    """A ``;``-separated list without repeats (``fold``: in any case), None when empty."""
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


_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?")


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
        return items_of(column, value, max_items=100)
    if column == "credit_url":
        return _https(column, value)
    raise RuntimeError(f"not a session column: {column}")


@dataclass(frozen=True)
class Slot:
    """Field of study n: its name, credits and codewords (None: keep the field's words)."""

    name: str | None
    credits: str | None
    codewords: tuple[str, ...] | None


def slots_now(fields: Sequence[FieldView]) -> list[Slot]:
    """A session's stored fields of study as the seven slots."""
    out = [Slot(f.name, f.credits, tuple(f.codewords)) for f in fields]
    return out + [Slot(None, None, None)] * (len(FOS) - len(out))


def fos_cells(fields: Sequence[Slot]) -> dict[str, Any]:
    """Fields of study as the export's columns, for comparing and showing changes."""
    out: dict[str, Any] = {}
    listed = [f for f in fields if f.name]
    for n in FOS:
        f = listed[n - 1] if n <= len(listed) else None
        out[f"field_of_study_{n}"] = f.name if f else None
        out[f"credits_{n}"] = f.credits if f else None
        out[f"codewords_{n}"] = list(f.codewords) if f and f.codewords else None
    return out


def read_fos(cells: dict[str, Cell], present: set[str], now_: list[Slot], row: int,
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
            words = (items_of(words_col, cells[words_col], max_items=MAX_CODEWORDS, fold=True)
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


def check_timezone(value: Cell, event_tz: str | None, row: int, problems: Problems) -> None:
    """The ``timezone`` cell may be empty or the event's zone; sessions have no zone of their
    own."""
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
