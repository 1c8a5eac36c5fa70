"""Spreadsheets in and out: reading an uploaded CSV or XLSX file, checking its cells, and
streaming an export as CSV or XLSX.

Reading (``read_sheet``, ``parse_sheet``):

- the file comes as the request body (``text/csv`` or the XLSX media type) or as the form field
  ``file`` of a ``multipart/form-data`` request; what it is, is told by its bytes first (a ZIP
  is an XLSX workbook), then its file name, then its content type;
- at most ``MAX_FILE_BYTES`` (10 MiB), counted as the body streams in: over it is a 413; at most
  ``MAX_ROWS`` (50,000) rows of data below the header: over it is a 413 too;
- anything that is not a CSV or XLSX spreadsheet is a 415 saying what was sent and what to send;
- CSV: UTF-8 with or without a byte-order mark; comma, semicolon or tab separators, told from the
  header line (and Excel's ``sep=;`` first line); quoted cells may hold separators and line
  breaks; every value is a string; a leading ``'`` that ``csv_stream`` put before a formula
  character is removed again, so an export reads back as it was;
- XLSX: the first worksheet, read with openpyxl in read-only mode, formulas as their last
  computed values; dates, times and date-times as ``datetime.date`` / ``time`` / ``datetime``
  (a date-time cell whose format shows no time is a date); whole numbers as ``int``, others as
  ``float``; booleans as ``bool``; strings unchanged;
- empty cells are ``""`` in both formats; rows whose cells are all empty are skipped wherever
  they are, and row numbers stay those a spreadsheet program shows (the header is row 1);
- the header row (the first row that is not empty) names the columns, stripped of spaces; a
  blank or repeated name, or a value in a column without a name, is a ``SheetError`` (422) whose
  ``errors`` list each problem as ``{"row": ..., "column": ..., "message": ...}``; column names
  are matched exactly (``unknown_columns`` names the others);
- parsing runs in a worker thread; a 50,000-row file takes about a second as CSV and tens of
  seconds as XLSX (openpyxl), and a few tens of MB while it is read (loadtests/sheets_bench.py).

Checking cells (``cell_text``, ``cell_int``, ...): each takes the column name and the cell's
value, returns the typed value, or ``None`` for an empty cell ("unset"; a column that is absent
from the sheet is for the caller to leave alone), and raises ``CellError`` naming the column.

Writing (``csv_stream``, ``xlsx_stream``, ``export_response``): rows come from a plain or an
async iterator and are never all held in memory. CSV is UTF-8 with a byte-order mark (so Excel
reads it as UTF-8), comma-separated, sent in chunks as rows come. XLSX is built with openpyxl's
write-only workbook in a temporary file, then sent in chunks; the file is gone afterwards. Strings
a spreadsheet program would take for a formula (starting with ``= + - @``, tab or carriage
return, per OWASP's CSV injection guidance) are escaped: in CSV with a leading ``'``; in XLSX
they are stored as text cells with Excel's quote-prefix flag (what Excel itself stores when one
types ``'=...``), so the cell shows and reads back the exact value and never runs. Numbers,
negative ones included, stay numbers. Dates and times are ISO 8601 text in CSV (times as
``HH:MM:SS``) and real date/time cells in XLSX; a time-zone-aware date-time is written in XLSX as
its wall-clock time in its own zone (XLSX has no zones), so pass times in the event's zone.
Booleans are ``true``/``false`` in CSV and boolean cells in XLSX. XLSX cannot hold control
characters other than tab and line breaks, nor more than 32,767 characters in a cell: the
former are dropped and the latter cut there (CSV keeps everything).
"""

from __future__ import annotations

from hub.sheets.cells import (
    cell_bool,
    cell_date,
    cell_decimal_text,
    cell_int,
    cell_list,
    cell_text,
    cell_time,
    unknown_columns,
)
from hub.sheets.model import (
    CSV_TYPE,
    MAX_FILE_BYTES,
    MAX_ROWS,
    XLSX_TYPE,
    Cell,
    CellError,
    OutCell,
    Problem,
    Rows,
    RowSource,
    Sheet,
    SheetError,
)
from hub.sheets.reading import parse_sheet, read_sheet
from hub.sheets.writing import csv_stream, export_format, export_response, xlsx_stream

__all__ = [
    "CSV_TYPE", "MAX_FILE_BYTES", "MAX_ROWS", "XLSX_TYPE", "Cell", "CellError", "OutCell",
    "Problem", "RowSource", "Rows", "Sheet", "SheetError", "cell_bool", "cell_date",
    "cell_decimal_text", "cell_int", "cell_list", "cell_text", "cell_time", "csv_stream",
    "export_format", "export_response", "parse_sheet", "read_sheet", "unknown_columns",
    "xlsx_stream",
]
