"""Turning cells into field values for importers: each helper takes the column name and the
cell, returns the value or ``None`` for an empty cell (unset), and raises ``CellError``."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from decimal import Decimal

from hub.domain.dates import parse_date, parse_time
from hub.errors import Invalid
from hub.sheets.model import Cell, CellError, Sheet

# Plain digits only (as spreadsheets write numbers): no exponents, separators or NaN, and
# short enough that no cell can make a huge number.
_WHOLE = re.compile(r"([+-]?[0-9]{1,18})(?:\.0*)?")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]{1,30}(?:\.[0-9]{0,30})?|\.[0-9]{1,30})")


def unknown_columns(sheet: Sheet, known: Iterable[str]) -> list[str]:
    """The sheet's columns not in ``known`` (exact names), in the sheet's order."""
    names = set(known)
    return [c for c in sheet.columns if c not in names]


def _empty(value: Cell | None) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _shown(value: Cell) -> str:
    text = value.isoformat() if isinstance(value, dt.date | dt.time) else str(value)
    return repr(text if len(text) <= 40 else text[:40] + "...")


def cell_text(column: str, value: Cell | None, *, max_length: int | None = None) -> str | None:
    """The cell as stripped text (numbers as written, dates ISO); None when empty."""
    if _empty(value):
        return None
    assert value is not None
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dt.time):
        text = value.strftime("%H:%M:%S")
    elif isinstance(value, dt.date):
        text = value.isoformat()
    else:
        text = str(value).strip()
    if "\x00" in text:
        raise CellError(column, "contains a NUL character, which is not allowed")
    if max_length is not None and len(text) > max_length:
        raise CellError(column, f"is {len(text)} characters long; at most {max_length} are "
                        "allowed")
    return text


def cell_int(column: str, value: Cell | None, *, min: int | None = None,
             max: int | None = None) -> int | None:
    """A whole number, within ``min``..``max`` when given; None when empty."""
    if _empty(value):
        return None
    assert value is not None
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        match = _WHOLE.fullmatch(value.strip())
        if match:
            number = int(match.group(1))
    if number is None:
        raise CellError(column, f"{_shown(value)} is not a whole number")
    if min is not None and number < min or max is not None and number > max:
        if min is not None and max is not None:
            raise CellError(column, f"{number} is not between {min} and {max}")
        if min is not None:
            raise CellError(column, f"{number} is less than {min}")
        raise CellError(column, f"{number} is more than {max}")
    return number


_TRUE = frozenset({"true", "yes", "1", "x", "y"})
_FALSE = frozenset({"false", "no", "0", "n"})


def cell_bool(column: str, value: Cell | None) -> bool | None:
    """true/false, yes/no, y/n, 1/0, x for yes (any case) and XLSX booleans; None when
    empty."""
    if _empty(value):
        return None
    assert value is not None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CellError(column, f"{_shown(value)} is not yes or no (write true/false, yes/no, "
                    "1/0, or x for yes)")


def cell_list(column: str, value: Cell | None) -> list[str] | None:
    """``a; b;; c`` -> ``["a", "b", "c"]``; None when the cell holds no item."""
    text = cell_text(column, value)
    if text is None:
        return None
    items = [item.strip() for item in text.split(";")]
    return [item for item in items if item] or None


def _problem_of(column: str, exc: Invalid) -> str:
    prefix = f"{column}: "
    return exc.message[len(prefix):] if exc.message.startswith(prefix) else exc.message


def cell_date(column: str, value: Cell | None) -> dt.date | None:
    """A date as the API takes it (``2024-05-01``, ``May 1, 2024``, ...) or a date cell."""
    if _empty(value):
        return None
    assert value is not None
    if isinstance(value, dt.datetime):
        if value.time() != dt.time(0):
            raise CellError(column, f"{_shown(value)} is a date and time; give only a date")
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, dt.time | bool | float):
        raise CellError(column, f"{_shown(value)} is not a date (use YYYY-MM-DD)")
    try:
        return parse_date(column, str(value))
    except Invalid as exc:
        raise CellError(column, _problem_of(column, exc)) from None


def cell_time(column: str, value: Cell | None) -> dt.time | None:
    """A time of day as the API takes it (``20:00``, ``8pm``, ...) or a time cell; seconds
    are kept, fractions of a second dropped."""
    if _empty(value):
        return None
    assert value is not None
    if isinstance(value, dt.time):
        return value.replace(microsecond=0, tzinfo=None)
    if isinstance(value, dt.date | bool | int | float):
        raise CellError(column, f"{_shown(value)} is not a time of day (use HH:MM)")
    try:
        return parse_time(column, value)
    except Invalid as exc:
        raise CellError(column, _problem_of(column, exc)) from None


def cell_decimal_text(column: str, value: Cell | None, *, min: Decimal | int = 0,
                      max: Decimal | int | None = None) -> str | None:
    """A non-negative decimal number as text (``1.5``, ``2``), as credits are kept."""
    if _empty(value):
        return None
    assert value is not None
    number: Decimal | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = Decimal(repr(value))
    elif isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        number = Decimal(value.strip())
    if number is None or not number.is_finite():
        raise CellError(column, f"{_shown(value)} is not a number")
    if number < min:
        raise CellError(column, f"{_shown(value)} is less than {min}")
    if max is not None and number > max:
        raise CellError(column, f"{_shown(value)} is more than {max}")
    text = "0" if number == 0 else format(number.normalize(), "f")
    if len(text) > 32:
        raise CellError(column, f"{_shown(value)} has too many digits")
    return text
