"""Streaming an export as CSV or XLSX without holding its rows; see the package's notes."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import tempfile
import urllib.parse
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Sequence
from contextlib import suppress
from decimal import Decimal
from typing import IO, Any, Literal

import openpyxl
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.cell.cell import Cell as XlsxCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import StreamingResponse

from hub.errors import Invalid
from hub.sheets.model import FORMULA_START, XLSX_TYPE, OutCell, RowSource

_CHUNK = 64 * 1024


def export_format(request: Request) -> Literal["csv", "xlsx"]:
    """The ``format`` query parameter: ``csv`` (the default) or ``xlsx``; else a 422."""
    value = request.query_params.get("format", "csv").strip().lower() or "csv"
    if value == "csv":
        return "csv"
    if value == "xlsx":
        return "xlsx"
    raise Invalid("format", "must be csv or xlsx")


def export_response(fmt: Literal["csv", "xlsx"], columns: Sequence[str], rows: RowSource, *,
                    name: str) -> StreamingResponse:
    """``csv_stream`` or ``xlsx_stream`` by ``fmt``, downloaded as ``name`` + ``.csv/.xlsx``."""
    if fmt == "xlsx":
        return xlsx_stream(columns, rows, filename=f"{name}.xlsx")
    return csv_stream(columns, rows, filename=f"{name}.csv")


def _disposition(filename: str) -> str:
    safe = re.sub(r'[^A-Za-z0-9._ -]', "_", filename).strip() or "export"
    quoted = urllib.parse.quote(filename, safe="")
    if safe == filename:
        return f'attachment; filename="{safe}"'
    return f"attachment; filename=\"{safe}\"; filename*=UTF-8''{quoted}"


def _headers(filename: str) -> dict[str, str]:
    return {"content-disposition": _disposition(filename), "cache-control": "no-store"}


def _csv_cell(value: OutCell) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, str):
        if value[:1] in FORMULA_START or value[:1] == "'":
            return "'" + value
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    return value.isoformat()


class _CsvEncoder:
    def __init__(self) -> None:
        self._buf = io.StringIO()
        self._writer = csv.writer(self._buf)
        self._buf.write("\ufeff")

    def add(self, row: Sequence[OutCell]) -> bytes | None:
        self._writer.writerow([_csv_cell(v) for v in row])
        return self.take() if self._buf.tell() >= _CHUNK else None

    def take(self) -> bytes:
        data = self._buf.getvalue().encode("utf-8")
        self._buf.seek(0)
        self._buf.truncate()
        return data


def _csv_sync(columns: Sequence[str], rows: Iterable[Sequence[OutCell]]) -> Iterator[bytes]:
    encoder = _CsvEncoder()
    encoder.add(columns)
    for row in rows:
        chunk = encoder.add(row)
        if chunk is not None:
            yield chunk
    yield encoder.take()


async def _csv_async(columns: Sequence[str],
                     rows: AsyncIterable[Sequence[OutCell]]) -> AsyncIterator[bytes]:
    encoder = _CsvEncoder()
    encoder.add(columns)
    async for row in rows:
        chunk = encoder.add(row)
        if chunk is not None:
            yield chunk
    yield encoder.take()


def csv_stream(columns: Sequence[str], rows: RowSource, *, filename: str) -> StreamingResponse:
    """A CSV download sent as rows come (a plain iterator is read in a worker thread)."""
    body: Iterator[bytes] | AsyncIterator[bytes]
    if isinstance(rows, AsyncIterable):
        body = _csv_async(columns, rows)
    else:
        body = _csv_sync(columns, rows)
    return StreamingResponse(body, media_type="text/csv; charset=utf-8",
                             headers=_headers(filename))


class _XlsxBuilder:
    """A write-only workbook of one sheet; openpyxl keeps its rows in a file, not in memory."""

    def __init__(self, columns: Sequence[str], title: str) -> None:
        self.book = openpyxl.Workbook(write_only=True)
        self.saved = False
        self.sheet: WriteOnlyWorksheet = self.book.create_sheet(title[:31] or "Sheet1")
        self.sheet.freeze_panes = "A2"
        bold = Font(bold=True)
        header = []
        for name in columns:
            cell = self._cell(name)
            if not isinstance(cell, XlsxCell):
                cell = WriteOnlyCell(self.sheet, cell)
            cell.font = bold
            header.append(cell)
        self.sheet.append(header)

    def _cell(self, value: OutCell) -> Any:
        if isinstance(value, str):
            text = ILLEGAL_CHARACTERS_RE.sub("", value)  # control characters XLSX cannot hold
            if text[:1] in FORMULA_START or text[:1] == "#":
                cell = WriteOnlyCell(self.sheet, text)
                cell.data_type = "s"  # text, never a formula or an error code like #N/A
                cell.quotePrefix = text[:1] in FORMULA_START
                return cell
            return text
        if isinstance(value, dt.datetime | dt.time) and value.tzinfo is not None:
            return value.replace(tzinfo=None)
        return value

    def add(self, rows: Iterable[Sequence[OutCell]]) -> None:
        for row in rows:
            self.sheet.append([self._cell(v) for v in row])

    def save(self, out: IO[bytes]) -> None:
        self.book.save(out)
        self.saved = True

    def discard(self) -> None:
        """Remove openpyxl's file of rows when the export stops before ``save``."""
        if self.saved:  # saving removed it
            return
        with suppress(Exception):
            self.sheet.close()
        writer = getattr(self.sheet, "_writer", None)
        if writer is not None:
            with suppress(OSError, ValueError):
                writer.cleanup()


async def _xlsx_body(columns: Sequence[str], rows: RowSource, title: str,
                     ) -> AsyncIterator[bytes]:
    builder = await run_in_threadpool(_XlsxBuilder, columns, title)
    out = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # closed below
    try:
        if isinstance(rows, AsyncIterable):
            batch: list[Sequence[OutCell]] = []
            async for row in rows:
                batch.append(row)
                if len(batch) >= 1000:
                    await run_in_threadpool(builder.add, batch)
                    batch = []
            await run_in_threadpool(builder.add, batch)
        else:
            await run_in_threadpool(builder.add, rows)
        await run_in_threadpool(builder.save, out)  # type: ignore[arg-type]
        out.seek(0)
        while chunk := await run_in_threadpool(out.read, _CHUNK):
            yield chunk
    finally:
        builder.discard()
        out.close()


def xlsx_stream(columns: Sequence[str], rows: RowSource, *, filename: str,
                title: str = "Sheet1") -> StreamingResponse:
    """An XLSX download: the workbook is built in a temporary file (rows from a plain
    iterator are read in a worker thread), then sent in chunks, and the file removed."""
    return StreamingResponse(_xlsx_body(columns, rows, title), media_type=XLSX_TYPE,
                             headers=_headers(filename))
