"""What the spreadsheet imports share: the answer's shape (a preview, or what was written),
the problems of a file, and the rules every import follows.

- A column that is absent leaves that field alone; an empty cell unsets it.
- A column the import does not know is a problem (row 1, named); so is every cell that does
  not fit its column, and a row naming the same record as an earlier row.
- ``dry_run``: the answer says what would happen and nothing is written, problems or not.
- Otherwise the whole file is written in one transaction, or, with any problem, nothing is
  (``FileRefused``: 422 with every problem in ``errors``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import msgspec

from hub.domain.schemas import FileProblem
from hub.sheets import CellError, Problem, Sheet, SheetError, unknown_columns

Action = Literal["create", "update", "unchanged"]


class RowResult(msgspec.Struct):
    """One row of the file: what it does to its record, and each changed field as
    ``[old, new]``."""

    row: int
    action: Action
    id: str | None
    changes: dict[str, list[Any]]


class ImportResult(msgspec.Struct):
    """The answer of an import: counts, one entry per row without a problem, and every
    problem (a dry run answers with them; a real import with any is refused)."""

    created: int
    updated: int
    unchanged: int
    rows: list[RowResult]
    errors: list[FileProblem]


class FileRefused(SheetError):
    """The file has problems and nothing was written (422, ``errors`` lists them all)."""

    def __init__(self, errors: list[Problem]) -> None:
        super().__init__(errors)
        first = errors[0]
        where = f"Row {first['row']}" + (f", column {first['column']}" if first["column"]
                                         else "")
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        self.message = f"{where}: {first['message']}{more}. Nothing was written."


@dataclass
class Problems:
    """The problems found in a file; ``sorted`` gives them by row, then in the file's column
    order."""

    items: list[Problem] = field(default_factory=list)
    rows: set[int] = field(default_factory=set)
    columns: dict[str, int] = field(default_factory=dict)  # column -> its place in the file

    def add(self, row: int, column: str | None, message: str) -> None:
        self.items.append({"row": row, "column": column, "message": message})
        self.rows.add(row)

    def cell(self, row: int, exc: CellError) -> None:
        self.add(row, exc.column, exc.message)

    def sorted(self) -> list[Problem]:
        def place(p: Problem) -> tuple[int, int]:
            return p["row"], -1 if p["column"] is None else self.columns.get(p["column"], -1)

        return sorted(self.items, key=place)


def check_columns(sheet: Sheet, known: Sequence[str], problems: Problems) -> set[str]:
    """The sheet's columns the import reads; an unknown one is a problem named in row 1."""
    problems.columns = {c: i for i, c in enumerate(sheet.columns)}
    for name in unknown_columns(sheet, known):
        problems.add(1, name, f"{name!r} is not a column this import knows; the columns are "
                     f"{', '.join(known)}")
    return set(sheet.columns) & set(known)


class Seen:
    """Which row first named each key (an id, an external id, an email), to refuse a file
    that names one record twice."""

    def __init__(self) -> None:
        self._first: dict[tuple[str, str], int] = {}

    def twice(self, kind: str, key: str, row: int) -> int | None:
        """The earlier row with this key, or None (and remember this row)."""
        earlier = self._first.setdefault((kind, key), row)
        return None if earlier == row else earlier


def shown(value: Any) -> Any:
    """A value as a change shows it (JSON): dates and times ISO, decimals as text."""
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, tuple):
        return list(value)
    return value


def changes_of(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for each field of ``new`` whose value differs from ``old``."""
    return {k: [shown(old.get(k)), shown(v)] for k, v in new.items() if old.get(k) != v}


def result_of(rows: Iterable[RowResult], problems: Problems) -> ImportResult:
    listed = sorted(rows, key=lambda r: r.row)
    count = {a: sum(1 for r in listed if r.action == a) for a in ("create", "update",
                                                                  "unchanged")}
    return ImportResult(created=count["create"], updated=count["update"],
                        unchanged=count["unchanged"], rows=listed,
                        errors=[FileProblem(**p) for p in problems.sorted()])
