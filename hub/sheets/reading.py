"""Reading an uploaded spreadsheet (CSV or XLSX) into a ``Sheet``; see the package's notes."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import AsyncGenerator, Sequence
from typing import Any

import openpyxl
from openpyxl.utils import get_column_letter
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from hub.errors import BadRequest, HubError, PayloadTooLarge, UnsupportedMediaType
from hub.http import ascii_whole
from hub.sheets.model import (
    CSV_TYPE,
    FORMULA_START,
    MAX_FILE_BYTES,
    MAX_ROWS,
    XLSX_TYPE,
    Cell,
    Problem,
    Sheet,
    SheetError,
)

# A ZIP of 10 MiB can hold gigabytes; a workbook within the row limit stays far below this.
MAX_XLSX_UNPACKED = 512 * 1024 * 1024
_MULTIPART_SLACK = 64 * 1024  # boundaries and part headers around the file
# Browsers label a .csv file by what the desktop associates with it: Excel on Windows makes
# it application/vnd.ms-excel.
_CSV_TYPES = frozenset({
    "text/csv", "application/csv", "text/x-csv", "application/x-csv", "text/plain",
    "text/comma-separated-values", "text/tab-separated-values", "application/vnd.ms-excel",
})
_CSV_EXTS = (".csv", ".txt", ".tsv")
_XLSX_EXTS = (".xlsx", ".xlsm")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls, or a password-protected .xlsx


async def read_sheet(request: Request, *, max_bytes: int = MAX_FILE_BYTES,
                     max_rows: int = MAX_ROWS) -> Sheet:
    """The spreadsheet sent as the body or as the multipart field ``file``.

    413 past ``max_bytes`` (counted while streaming, whatever Content-Length says) or
    ``max_rows`` data rows; 415 when it is not a CSV or XLSX file; 400 for a form without a
    ``file`` field; ``SheetError`` (422) for a header it cannot use. Parsing runs in a worker
    thread, off the event loop.
    """
    ctype = request.headers.get("content-type", "")
    if _media(ctype) == "multipart/form-data":
        body, part_type, filename = await _read_form(request, max_bytes)
    else:
        body = await _read_limited(request, max_bytes, max_bytes)
        part_type, filename = ctype, None
    return await run_in_threadpool(parse_sheet, body, part_type, filename, max_rows=max_rows)


def parse_sheet(body: bytes, content_type: str, filename: str | None, *,
                max_rows: int = MAX_ROWS) -> Sheet:
    """Read ``body`` as CSV or XLSX (see the module's notes); the errors of ``read_sheet``."""
    media = _media(content_type)
    ext = _extension(filename)
    if body.startswith(_ZIP_MAGIC):
        return _read_xlsx(body, max_rows)
    if body.startswith(_OLE2_MAGIC):
        raise UnsupportedMediaType(
            "This is an old-style Excel file (.xls) or a password-protected workbook; save it "
            "as an Excel workbook (.xlsx) without a password, or as CSV UTF-8.")
    if body.startswith(b"%PDF"):
        raise UnsupportedMediaType("This is a PDF document, not a spreadsheet; send CSV or XLSX.")
    if ext == ".xls":
        raise UnsupportedMediaType(
            "Old-style Excel files (.xls) are not read here; save it as an Excel workbook "
            "(.xlsx) or as CSV UTF-8.")
    if ext in _XLSX_EXTS or (ext not in _CSV_EXTS and media == XLSX_TYPE):
        raise UnsupportedMediaType(
            "The file is named or labelled as an Excel workbook (.xlsx) but is not one (it is "
            "not a ZIP archive); save it again as .xlsx or as CSV UTF-8.")
    if ext in _CSV_EXTS or media in _CSV_TYPES:
        return _read_csv(body, max_rows)
    what = f"a {ext} file" if ext else (f"{media}" if media else "no content type")
    raise UnsupportedMediaType(
        f"Send a spreadsheet, CSV ({CSV_TYPE}) or Excel workbook ({XLSX_TYPE}), as the request "
        f"body or as the form field 'file'; got {what}.")


def _media(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _extension(filename: str | None) -> str:
    name = (filename or "").strip().lower()
    dot = name.rfind(".")
    return name[dot:] if dot > 0 else ""


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The file is over the limit of {limit / 1024 / 1024:g} MiB "
                           f"({limit} bytes); split it into smaller files.")


async def _counted(request: Request, stream_limit: int, limit: int,
                   ) -> AsyncGenerator[bytes, None]:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > stream_limit:
            raise _too_large(limit)
        yield chunk


async def _read_limited(request: Request, stream_limit: int, limit: int) -> bytes:
    declared = ascii_whole(request.headers.get("content-length", ""), max_digits=30)
    if declared is not None and declared > stream_limit:
        raise _too_large(limit)
    return b"".join([chunk async for chunk in _counted(request, stream_limit, limit)])


async def _read_form(request: Request, max_bytes: int) -> tuple[bytes, str, str | None]:
    stream_limit = max_bytes + _MULTIPART_SLACK
    declared = ascii_whole(request.headers.get("content-length", ""), max_digits=30)
    if declared is not None and declared > stream_limit:
        raise _too_large(max_bytes)
    parser = MultiPartParser(request.headers, _counted(request, stream_limit, max_bytes),
                             max_files=1, max_fields=20, max_part_size=max_bytes)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        if "maximum size" in str(exc):  # a text field holding the file
            raise _too_large(max_bytes) from None
        raise BadRequest(f"The form could not be read: {exc}") from None
    try:
        part = form.get("file")
        if isinstance(part, UploadFile):
            if part.size is not None and part.size > max_bytes:
                raise _too_large(max_bytes)
            return await part.read(), part.content_type or "", part.filename
        if isinstance(part, str):  # curl -F 'file=<data.csv' sends the text as a plain field
            return part.encode("utf-8"), CSV_TYPE, None
        raise BadRequest("Send the spreadsheet in the form field named 'file'.")
    finally:
        await form.close()


def _blank(cells: Sequence[Cell | None]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


class _Collector:
    """Turns raw rows into the header and padded records; enforces the row limit."""

    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows
        self.columns: list[str] | None = None
        self.header_row = 1
        self.records: list[tuple[int, tuple[Cell, ...]]] = []
        self.problems: list[Problem] = []
        self._share: dict[str, str] = {}

    def add(self, number: int, cells: Sequence[Cell]) -> None:
        if _blank(cells):
            return
        if self.columns is None:
            self._header(number, cells)
            return
        width = len(self.columns)
        if len(cells) > width:
            for i in range(width, len(cells)):
                if not _blank([cells[i]]):
                    self._problem(number, None, f"Column {get_column_letter(i + 1)} has a value "
                                  "but no name in the header row.")
                    break
            cells = cells[:width]
        if len(self.records) >= self.max_rows:
            raise PayloadTooLarge(
                f"The file has more than {self.max_rows:,} rows of data; at most "
                f"{self.max_rows:,} rows (below the header) can be read at once, so split it.")
        # Columns repeat their values (a level, a room, a time): one string object per value
        # keeps a 50,000-row file at a third of the memory.
        share = self._share
        row = tuple(share.setdefault(c, c) if isinstance(c, str) and len(c) <= 64 else c
                    for c in cells)
        if len(row) < width:
            row += ("",) * (width - len(row))
        self.records.append((number, row))

    def _problem(self, row: int, column: str | None, message: str) -> None:
        if len(self.problems) < 100:
            self.problems.append({"row": row, "column": column, "message": message})

    def _header(self, number: int, cells: Sequence[Cell]) -> None:
        names = [("" if c is None else str(c)).strip() for c in cells]
        while names and not names[-1]:
            names.pop()
        self.header_row = number
        seen: dict[str, list[int]] = {}
        for i, name in enumerate(names):
            if not name:
                self._problem(number, None, f"Column {get_column_letter(i + 1)} has no name in "
                              "the header row; name it or delete the column.")
            else:
                seen.setdefault(name, []).append(i)
        for name, where in seen.items():
            if len(where) > 1:
                letters = ", ".join(get_column_letter(i + 1) for i in where)
                self._problem(number, name, f"The column {name!r} appears {len(where)} times in "
                              f"the header row (columns {letters}); keep one.")
        self.columns = names

    def sheet(self) -> Sheet:
        if self.columns is None:
            self._problem(1, None, "The file is empty; its first row must name the columns.")
        if self.problems:
            raise SheetError(self.problems)
        assert self.columns is not None
        return Sheet(self.columns, self.records)


def _unescape(text: str) -> str:
    """Undo ``csv_stream``'s formula escape: ``'=x`` -> ``=x``, ``''x`` -> ``'x``."""
    if len(text) > 1 and text[0] == "'" and (text[1] == "'" or text[1] in FORMULA_START):
        return text[1:]
    return text


def _delimiter(first_line: str) -> str:
    """The separator giving the header line the most cells (ties: comma)."""
    best, most = ",", 0
    for sep in (",", ";", "\t"):
        try:
            count = len(next(csv.reader([first_line], delimiter=sep), []))
        except csv.Error:
            count = 0
        if count > most:
            best, most = sep, count
    return best


# One line with its own ending (\r\n, \n, or a lone \r as old Mac files have): the csv module
# joins the lines of a quoted cell again. Lines are cut as they are read, not copied at once
# (io.StringIO would hold the whole text at four bytes a character).
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def _read_csv(body: bytes, max_rows: int) -> Sheet:
    try:
        text = codecs.decode(body, "utf-8-sig")
    except UnicodeDecodeError:
        raise UnsupportedMediaType(
            "The file is not UTF-8 text, so not a CSV file this hub can read; in the "
            "spreadsheet program save it as 'CSV UTF-8' (or as .xlsx).") from None
    if "\x00" in text:
        raise UnsupportedMediaType(
            "The file holds binary data (or UTF-16 text), not a CSV file; save it as "
            "'CSV UTF-8' (or as .xlsx).")
    first = _LINE.match(text)
    first_line = first.group().rstrip("\r\n") if first else ""
    start = 0
    if re.fullmatch(r"sep=.", first_line):  # Excel's hint line, not a row
        sep = first_line[4]
        start = first.end() if first else 0
    else:
        sep = _delimiter(first_line)
    collector = _Collector(max_rows)
    lines = (m.group() for m in _LINE.finditer(text, start))
    number = 0
    try:
        for number, cells in enumerate(csv.reader(lines, delimiter=sep), 1):
            collector.add(number, [_unescape(c) for c in cells])
    except csv.Error as exc:
        raise SheetError([{"row": number + 1, "column": None,
                           "message": f"This row is not valid CSV ({exc}); check its quotes."}]
                         ) from None
    return collector.sheet()


_TIME_TOKEN = re.compile(r"[hs]|am/pm|a/p")


def _shows_time(number_format: str) -> bool:
    bare = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.', "", number_format.lower())
    return bool(_TIME_TOKEN.search(bare))


def _xlsx_value(cell: Any, formats: dict[str, bool]) -> Cell:
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, bool | str):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, dt.datetime):
        fmt = cell.number_format or ""
        if fmt not in formats:
            formats[fmt] = _shows_time(fmt)
        if value.time() == dt.time(0) and not formats[fmt]:
            return value.date()
        return value
    if isinstance(value, dt.timedelta):  # a duration format such as [h]:mm
        if dt.timedelta(0) <= value < dt.timedelta(days=1):
            return (dt.datetime.min + value).time()
        return str(value)
    if isinstance(value, int | dt.date | dt.time):
        return value
    return str(value)


def _read_xlsx(body: bytes, max_rows: int) -> Sheet:
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            names = set(archive.namelist())
            unpacked = sum(i.file_size for i in archive.infolist())
            mimetype = archive.read("mimetype")[:100] if "mimetype" in names else b""
    except (zipfile.BadZipFile, OSError, ValueError):
        raise UnsupportedMediaType("The file looks like a ZIP archive but is damaged; save the "
                                   "workbook again as .xlsx.") from None
    if b"opendocument" in mimetype:
        raise UnsupportedMediaType("OpenDocument spreadsheets (.ods) are not read here; save "
                                   "it as an Excel workbook (.xlsx) or as CSV UTF-8.")
    if "xl/workbook.xml" not in names:
        raise UnsupportedMediaType("The file is a ZIP archive but not an Excel workbook "
                                   "(.xlsx); send CSV or XLSX.")
    if unpacked > MAX_XLSX_UNPACKED:
        raise PayloadTooLarge(f"The workbook unpacks to over {MAX_XLSX_UNPACKED // 2**20} MiB; "
                              "split it into smaller files.")
    collector = _Collector(max_rows)
    formats: dict[str, bool] = {}
    try:
        book = openpyxl.load_workbook(io.BytesIO(body), read_only=True, data_only=True)
    except HubError:
        raise
    except Exception:  # openpyxl raises many kinds for a broken workbook
        raise UnsupportedMediaType("The workbook could not be read; open it in a spreadsheet "
                                   "program and save it again as .xlsx.") from None
    try:
        if not book.worksheets:
            raise UnsupportedMediaType("The workbook has no worksheet.")
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # trust the rows, not a dimension another program wrote
        for number, row in enumerate(sheet.iter_rows(), 1):
            collector.add(number, [_xlsx_value(c, formats) for c in row])
    except HubError:
        raise
    except Exception:
        raise UnsupportedMediaType("The workbook's first worksheet could not be read; open it "
                                   "in a spreadsheet program and save it again.") from None
    finally:
        book.close()
    return collector.sheet()
