"""What a read spreadsheet is, its errors, and the limits and media types shared by reading
and writing."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any, TypedDict, overload

from hub.errors import HubError

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
CSV_TYPE = "text/csv"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What a spreadsheet program takes for the start of a formula (OWASP's CSV injection list).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | bool | dt.date | dt.time | dt.datetime
"""A cell as read: ``""`` when empty; only ``str`` from CSV (``datetime`` is a ``date``)."""
OutCell = Cell | Decimal | None
"""A cell to write; ``None`` is an empty cell."""
RowSource = Iterable[Sequence[OutCell]] | AsyncIterable[Sequence[OutCell]]
"""Rows to write: a plain iterator (read in a worker thread) or an async one."""


class Problem(TypedDict):
    """One error in a file, in the shape import answers list them."""

    row: int
    column: str | None
    message: str


class SheetError(HubError):
    """The file is a spreadsheet but cannot be read as rows under named columns (422).

    ``errors`` holds the problems found (blank or repeated column names, values outside the
    named columns, a CSV cell too long to be one: a quote that never closes), each with its
    row and column (``None`` where the column has no name); at most 100 are listed.
    """

    http_status = 422
    reason = "invalid"

    def __init__(self, errors: list[Problem]) -> None:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"Row {errors[0]['row']}: {errors[0]['message']}{more}")
        self.errors = errors


class CellError(ValueError):
    """A cell's value does not fit its column; ``problem(row)`` gives the error for a list."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(f"{column}: {message}")
        self.column = column
        self.message = message

    def problem(self, row: int) -> Problem:
        return {"row": row, "column": self.column, "message": self.message}


class Rows(Sequence[tuple[int, dict[str, Cell]]]):
    """The data rows as ``(row_number, {column: value})``, each dict made when it is read (the
    values are kept as tuples: a dict per row would cost several times the memory)."""

    def __init__(self, columns: list[str], records: list[tuple[int, tuple[Cell, ...]]]) -> None:
        self._columns = columns
        self._records = records

    def __len__(self) -> int:
        return len(self._records)

    @overload
    def __getitem__(self, index: int) -> tuple[int, dict[str, Cell]]: ...
    @overload
    def __getitem__(self, index: slice) -> list[tuple[int, dict[str, Cell]]]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self._row(r) for r in self._records[index]]
        return self._row(self._records[index])

    def __iter__(self) -> Iterator[tuple[int, dict[str, Cell]]]:
        for record in self._records:
            yield self._row(record)

    def _row(self, record: tuple[int, tuple[Cell, ...]]) -> tuple[int, dict[str, Cell]]:
        return record[0], dict(zip(self._columns, record[1], strict=True))


class Sheet:
    """A read spreadsheet: ``columns`` (header names, in order) and ``rows``."""

    def __init__(self, columns: list[str], records: list[tuple[int, tuple[Cell, ...]]]) -> None:
        self.columns = columns
        self.rows = Rows(columns, records)

    def __len__(self) -> int:
        return len(self.rows)
