"""Spreadsheet files the tests write (CSV and XLSX), uploads, and reading downloads back."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Sequence
from typing import Any

import openpyxl
from starlette.testclient import TestClient

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KINDS = ("csv", "xlsx")


def csv_file(rows: Sequence[Sequence[Any]], *, sep: str = ",", bom: bool = False) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep).writerows(rows)
    return (codecs.BOM_UTF8 if bom else b"") + buf.getvalue().encode("utf-8")


def xlsx_file(rows: Sequence[Sequence[Any]], *, formats: dict[str, str] | None = None) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    for cells in sheet.iter_rows():
        for cell in cells:
            if cell.data_type == "f":  # text starting with "=", as Excel keeps it: text
                cell.data_type = "s"
    for coordinate, number_format in (formats or {}).items():
        sheet[coordinate].number_format = number_format
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def sheet_file(kind: str, rows: Sequence[Sequence[Any]]) -> tuple[bytes, str]:
    """(the file's bytes, its media type)."""
    if kind == "xlsx":
        return xlsx_file(rows), XLSX
    return csv_file(rows), "text/csv"


def upload(api: TestClient, path: str, body: bytes, media: str = "text/csv", *,
           dry_run: bool = False) -> Any:
    url = f"/api/v2/{path}/import" + ("?dry_run=true" if dry_run else "")
    return api.post(url, content=body, headers={"content-type": media})


def send(api: TestClient, path: str, kind: str, rows: Sequence[Sequence[Any]], *,
         dry_run: bool = False) -> Any:
    """Upload ``rows`` (header first) as a ``kind`` file; the response."""
    body, media = sheet_file(kind, rows)
    return upload(api, path, body, media, dry_run=dry_run)


def read_download(content: bytes, kind: str) -> list[list[Any]]:
    """A downloaded file's rows (header first): CSV as text, XLSX with its typed cells."""
    if kind == "xlsx":
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
        try:
            rows = [["" if c is None else c for c in row]
                    for row in book.worksheets[0].iter_rows(values_only=True)]
            width = len(rows[0]) if rows else 0
            return [row + [""] * (width - len(row)) for row in rows]
        finally:
            book.close()
    assert content.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def download(api: TestClient, path: str, kind: str = "csv") -> list[dict[str, Any]]:
    """GET ``path`` as ``kind``; its rows as dicts by header."""
    sep = "&" if "?" in path else "?"
    r = api.get(f"/api/v2/{path}{sep}format={kind}")
    assert r.status_code == 200, r.text
    rows = read_download(r.content, kind)
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
