"""Spreadsheets in and out (hub.sheets): the files an organizer uploads, the cells an importer
checks, and the exports a spreadsheet program opens. Every file here is written by the test."""

from __future__ import annotations

import asyncio
import codecs
import csv
import datetime as dt
import io
import os
import tracemalloc
import zipfile
from collections.abc import AsyncIterator, Iterator, Sequence
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from openpyxl.worksheet import _writer as openpyxl_writer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from hub.envelope import fail, ok
from hub.errors import HubError, Invalid, PayloadTooLarge, UnsupportedMediaType
from hub.sheets import (
    MAX_FILE_BYTES,
    MAX_ROWS,
    XLSX_TYPE,
    Cell,
    CellError,
    OutCell,
    Sheet,
    SheetError,
    cell_bool,
    cell_date,
    cell_decimal_text,
    cell_int,
    cell_list,
    cell_text,
    cell_time,
    csv_stream,
    export_format,
    export_response,
    parse_sheet,
    read_sheet,
    unknown_columns,
    xlsx_stream,
)
from hub.sheets import reading as sheets_reading

# ---------------------------------------------------------------------------------------------
# Files the tests write


def csv_bytes(rows: Sequence[Sequence[Any]], *, sep: str = ",", bom: bool = False) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep).writerows(rows)
    return (codecs.BOM_UTF8 if bom else b"") + buf.getvalue().encode("utf-8")


def xlsx_bytes(rows: Sequence[Sequence[Any]], *, formats: dict[str, str] | None = None,
               second_sheet: bool = False) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    for coordinate, number_format in (formats or {}).items():
        sheet[coordinate].number_format = number_format
    if second_sheet:
        book.create_sheet("Other").append(["not", "read"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_sheet(text: str | bytes) -> Sheet:
    body = text.encode("utf-8") if isinstance(text, str) else text
    return parse_sheet(body, "text/csv", None)


def rows_of(sheet: Sheet) -> list[tuple[int, dict[str, Cell]]]:
    return list(sheet.rows)


def sheet_errors(body: bytes, content_type: str = "text/csv") -> list[dict[str, Any]]:
    with pytest.raises(SheetError) as caught:
        parse_sheet(body, content_type, None)
    assert caught.value.http_status == 422
    return [dict(p) for p in caught.value.errors]


# ---------------------------------------------------------------------------------------------
# A tiny app that reads an upload the way the API will


def _json(value: Cell) -> Any:
    if isinstance(value, dt.date | dt.time):
        return {type(value).__name__: value.isoformat()}
    return value


async def upload(request: Request) -> Response:
    try:
        sheet = await read_sheet(request)
    except HubError as exc:
        errors = exc.errors if isinstance(exc, SheetError) else None
        return fail(exc.http_status, exc.message, reason=exc.reason, details=errors)
    return ok({"columns": sheet.columns,
               "rows": [[n, {k: _json(v) for k, v in cells.items()}] for n, cells in sheet.rows]})


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    app = Starlette(routes=[Route("/upload", upload, methods=["POST"])])
    with TestClient(app) as c:
        yield c


# ---------------------------------------------------------------------------------------------
# Reading CSV


@pytest.mark.parametrize("bom", [False, True])
def test_csv_is_read_with_or_without_a_byte_order_mark(bom: bool) -> None:
    sheet = parse_sheet(csv_bytes([[" name ", "capacity"], ["Keynote", "500"], ["Café", "40"]],
                                  bom=bom), "text/csv", None)
    assert sheet.columns == ["name", "capacity"]
    assert rows_of(sheet) == [(2, {"name": "Keynote", "capacity": "500"}),
                              (3, {"name": "Café", "capacity": "40"})]


def test_semicolon_separated_csv_as_european_excel_writes_it() -> None:
    sheet = parse_sheet(csv_bytes([["name", "credits", "location"],
                                   ["Ethics, law", "1,5", "Hall A; B"]], sep=";", bom=True),
                        "text/csv", None)
    assert sheet.columns == ["name", "credits", "location"]
    assert rows_of(sheet) == [(2, {"name": "Ethics, law", "credits": "1,5",
                                   "location": "Hall A; B"})]


def test_tab_separated_and_excel_sep_hint_line() -> None:
    assert csv_sheet("name\tcapacity\nA\t1\n").columns == ["name", "capacity"]
    sheet = csv_sheet("sep=;\nname;capacity\nA;1\n")
    assert rows_of(sheet) == [(2, {"name": "A", "capacity": "1"})]


def test_quoted_separators_quotes_and_line_breaks_stay_in_their_cell() -> None:
    body = csv_bytes([["name", "description"],
                      ["Opening, day one", 'He said "hello"\nthen left;\r\nthe end'],
                      ["Next", "plain"]])
    assert rows_of(csv_sheet(body)) == [
        (2, {"name": "Opening, day one", "description": 'He said "hello"\nthen left;\r\nthe end'}),
        (3, {"name": "Next", "description": "plain"}),  # one spreadsheet row per record
    ]


def test_line_endings_of_every_kind() -> None:
    for ending in ("\r\n", "\n", "\r"):  # Windows, Unix, old Mac
        body = ending.join(["name,description", 'A,"two' + ending + 'lines"', "B,x", ""])
        assert rows_of(csv_sheet(body)) == [(2, {"name": "A", "description": f"two{ending}lines"}),
                                            (3, {"name": "B", "description": "x"})]


def test_blank_rows_are_skipped_and_row_numbers_stay_the_spreadsheets() -> None:
    sheet = csv_sheet("name,capacity\r\nA,1\r\n,\r\n\r\nB,2\r\n,,\r\n\r\n  , \r\n")
    assert rows_of(sheet) == [(2, {"name": "A", "capacity": "1"}),
                              (5, {"name": "B", "capacity": "2"})]
    assert len(sheet) == 2


def test_short_rows_are_padded_and_trailing_empty_header_cells_dropped() -> None:
    sheet = csv_sheet("name,capacity,,\nA\nB,2,,\n")
    assert sheet.columns == ["name", "capacity"]
    assert rows_of(sheet) == [(2, {"name": "A", "capacity": ""}),
                              (3, {"name": "B", "capacity": "2"})]


def test_a_value_outside_the_named_columns_is_an_error_naming_row_and_column() -> None:
    assert sheet_errors(b"name,capacity\nA,1\nB,2,oops\n") == [
        {"row": 3, "column": None,
         "message": "Column C has a value but no name in the header row."}]


def test_duplicate_and_blank_header_names_are_listed() -> None:
    errors = sheet_errors(b"name,capacity,,name, capacity ,date\nA,1,,A,1,\n")
    assert errors == [
        {"row": 1, "column": None,
         "message": "Column C has no name in the header row; name it or delete the column."},
        {"row": 1, "column": "name",
         "message": "The column 'name' appears 2 times in the header row (columns A, D); "
                    "keep one."},
        {"row": 1, "column": "capacity",
         "message": "The column 'capacity' appears 2 times in the header row (columns B, E); "
                    "keep one."},
    ]


def test_an_empty_file_has_no_header() -> None:
    assert sheet_errors(b"") == [{"row": 1, "column": None, "message":
                                  "The file is empty; its first row must name the columns."}]
    assert sheet_errors(b"\xef\xbb\xbf\r\n,,\r\n")[0]["row"] == 1


def test_the_exports_formula_escape_is_removed_on_reading() -> None:
    sheet = csv_sheet("a,b,c,d,e\n'=1+1,'-5,''quoted,'plain,-7\n")
    assert rows_of(sheet) == [(2, {"a": "=1+1", "b": "-5", "c": "'quoted", "d": "'plain",
                                   "e": "-7"})]


# ---------------------------------------------------------------------------------------------
# Reading XLSX


def test_xlsx_cells_come_back_typed() -> None:
    body = xlsx_bytes(
        [["name", "date", "start_time", "at", "midnight", "capacity", "credits", "hidden",
          "blank", "id"],
         ["Keynote", dt.date(2026, 5, 4), dt.time(9, 30), dt.datetime(2026, 5, 4, 9, 30),
          dt.datetime(2026, 5, 4, 0, 0), 120.0, 1.5, True, None, "007"],
         ["Closing", dt.datetime(2026, 5, 5), dt.time(17, 0, 15), None, None, -3, 0.25, False,
          "", 42]],
        formats={"B3": "d mmm yyyy", "E2": "yyyy-mm-dd hh:mm"})
    sheet = parse_sheet(body, XLSX_TYPE, None)
    assert rows_of(sheet) == [
        (2, {"name": "Keynote", "date": dt.date(2026, 5, 4), "start_time": dt.time(9, 30),
             "at": dt.datetime(2026, 5, 4, 9, 30), "midnight": dt.datetime(2026, 5, 4, 0, 0),
             "capacity": 120, "credits": 1.5, "hidden": True, "blank": "", "id": "007"}),
        (3, {"name": "Closing", "date": dt.date(2026, 5, 5), "start_time": dt.time(17, 0, 15),
             "at": "", "midnight": "", "capacity": -3, "credits": 0.25, "hidden": False,
             "blank": "", "id": 42}),
    ]
    capacity = rows_of(sheet)[0][1]["capacity"]
    assert type(capacity) is int


def test_xlsx_first_worksheet_only_and_header_below_blank_rows() -> None:
    body = xlsx_bytes([[None], [None, None], [" name ", "capacity"], ["A", 1], [None], ["B", 2]],
                      second_sheet=True)
    sheet = parse_sheet(body, XLSX_TYPE, "sessions.xlsx")
    assert sheet.columns == ["name", "capacity"]
    assert rows_of(sheet) == [(4, {"name": "A", "capacity": 1}), (6, {"name": "B", "capacity": 2})]


def test_xlsx_formula_reads_as_its_computed_value_never_its_text() -> None:
    # openpyxl stores no computed value, as a program that never calculated would.
    sheet = parse_sheet(xlsx_bytes([["name", "sum"], ["A", "=1+1"]]), XLSX_TYPE, None)
    assert rows_of(sheet) == [(2, {"name": "A", "sum": ""})]


def test_xlsx_duplicate_headers() -> None:
    errors = sheet_errors(xlsx_bytes([["id", "name", "id"], [1, "A", 1]]), XLSX_TYPE)
    assert errors == [{"row": 1, "column": "id", "message":
                       "The column 'id' appears 2 times in the header row (columns A, C); "
                       "keep one."}]


# ---------------------------------------------------------------------------------------------
# Limits


def big_csv(size: int) -> bytes:
    line = b"Session,Some location," + b"x" * 300 + b"\n"  # 40,000 rows in 10 MiB
    return b"name,location,description\n" + line * (size // len(line) + 1)


def test_a_file_over_10_mib_is_refused_with_the_limit(client: TestClient) -> None:
    body = big_csv(MAX_FILE_BYTES + 1)
    for response in (
        client.post("/upload", content=body, headers={"content-type": "text/csv"}),
        client.post("/upload", files={"file": ("big.csv", body, "text/csv")}),
    ):
        assert response.status_code == 413
        assert response.json()["reason"] == "payload_too_large"
        assert "10 MiB" in response.json()["message"]


def test_the_size_is_counted_as_the_body_streams_whatever_content_length_says(
        client: TestClient) -> None:
    body = big_csv(MAX_FILE_BYTES + 1)
    chunks = [body[i:i + 65536] for i in range(0, len(body), 65536)]
    chunked = client.post("/upload", content=iter(chunks), headers={"content-type": "text/csv"})
    assert chunked.status_code == 413
    lying = client.post("/upload", content=body,
                        headers={"content-type": "text/csv", "content-length": "100"})
    assert lying.status_code == 413
    # A Content-Length that str.isdigit() takes for a number but int() does not.
    odd = client.post("/upload", content=body,
                      headers={"content-type": "text/csv", "content-length": "²".encode("latin-1")})
    assert odd.status_code == 413


def test_a_file_just_under_the_limit_is_read(client: TestClient) -> None:
    body = big_csv(MAX_FILE_BYTES - 200_000)
    assert len(body) <= MAX_FILE_BYTES
    response = client.post("/upload", files={"file": ("big.csv", body, "text/csv")})
    assert response.status_code == 200, response.text


def test_50_000_rows_are_read_and_50_001_refused_with_the_row_limit() -> None:
    rows = [["badge_id"]] + [[str(i)] for i in range(MAX_ROWS)]
    assert len(parse_sheet(csv_bytes(rows) + b",\n\n\n", "text/csv", None)) == MAX_ROWS
    for body, ctype in ((csv_bytes([*rows, ["one more"]]), "text/csv"),
                        (xlsx_one_column(MAX_ROWS + 1), XLSX_TYPE)):
        with pytest.raises(PayloadTooLarge) as caught:
            parse_sheet(body, ctype, None)
        assert "50,000 rows" in caught.value.message


def xlsx_one_column(data_rows: int) -> bytes:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["badge_id"])
    for i in range(data_rows):
        sheet.append([i])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_workbook_that_unpacks_past_the_bound_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sheets_reading, "MAX_XLSX_UNPACKED", 1000)
    with pytest.raises(PayloadTooLarge, match="unpacks to over"):
        parse_sheet(xlsx_bytes([["name"], ["A"]]), XLSX_TYPE, None)


# ---------------------------------------------------------------------------------------------
# Not a spreadsheet


def zip_of(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


NOT_SHEETS: list[tuple[str, bytes, str, str | None, str]] = [
    ("json", b'{"name": "Keynote"}', "application/json", None, "application/json"),
    ("pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "text/csv", "sessions.csv", "PDF"),
    ("zip", zip_of({"notes.txt": b"hello"}), "application/zip", None, "not an Excel workbook"),
    ("damaged zip", b"PK\x03\x04" + os.urandom(200), XLSX_TYPE, None, "damaged"),
    ("ods", zip_of({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet"}), "", None,
     "OpenDocument"),
    ("xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), "application/vnd.ms-excel",
     "old.xls", ".xls"),
    ("garbage", bytes(range(256)) * 8, "text/csv", None, "not UTF-8"),
    ("latin-1", "name\nCafé\n".encode("latin-1"), "text/csv", None, "CSV UTF-8"),
    ("utf-16", "name,capacity\nA,1\n".encode("utf-16-le"), "text/csv", None, "UTF-16"),
    ("csv called xlsx", b"name\nA\n", XLSX_TYPE, None, "not a ZIP"),
    ("no type", b"name\nA\n", "", None, "no content type"),
    ("other extension", b"name\nA\n", "application/octet-stream", "notes.docx", ".docx"),
    ("bad sheet xml", zip_of({"[Content_Types].xml": b"<x/>", "xl/workbook.xml": b"<oops"}),
     XLSX_TYPE, None, "could not be read"),
]


@pytest.mark.parametrize(("body", "ctype", "filename", "says"),
                         [case[1:] for case in NOT_SHEETS], ids=[c[0] for c in NOT_SHEETS])
def test_what_is_not_a_spreadsheet_is_a_415_saying_so(body: bytes, ctype: str,
                                                      filename: str | None, says: str) -> None:
    with pytest.raises(UnsupportedMediaType) as caught:
        parse_sheet(body, ctype, filename)
    assert caught.value.http_status == 415
    assert says in caught.value.message


def test_415_over_http_for_a_body_and_a_form_field(client: TestClient) -> None:
    as_body = client.post("/upload", content=b'{"a": 1}',
                          headers={"content-type": "application/json"})
    assert as_body.status_code == 415
    assert as_body.json()["reason"] == "unsupported_media_type"
    as_part = client.post("/upload", files={"file": ("scan.pdf", b"%PDF-1.4 ...",
                                                     "application/pdf")})
    assert as_part.status_code == 415
    assert "PDF" in as_part.json()["message"]


def with_sheet_xml(body: bytes, edit: Any) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(body)) as source, zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            target.writestr(name, edit(data.decode()) if name.endswith("sheet1.xml") else data)
    return out.getvalue()


ENTITY_BOMB = ('<!DOCTYPE bomb [<!ENTITY e0 "boom boom boom boom">'
               + "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">' for i in range(1, 10)) + "]>")
EXTERNAL = '<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'


@pytest.mark.parametrize(("doctype", "entity"), [(ENTITY_BOMB, "&e9;"), (EXTERNAL, "&secret;")],
                         ids=["entity bomb", "external entity"])
def test_xml_entity_tricks_in_a_workbook_are_refused(doctype: str, entity: str) -> None:
    body = with_sheet_xml(xlsx_bytes([["name"], ["A"]]), lambda xml: xml.replace(
        "<worksheet", doctype + "<worksheet", 1).replace("<t>A</t>", f"<t>{entity}</t>"))
    with pytest.raises(UnsupportedMediaType, match="could not be read"):
        parse_sheet(body, XLSX_TYPE, None)


# ---------------------------------------------------------------------------------------------
# Uploads over HTTP


def test_multipart_csv_upload(client: TestClient) -> None:
    body = csv_bytes([["name", "capacity"], ["Keynote", "500"]], sep=";", bom=True)
    response = client.post("/upload", files={"file": ("sessions.csv", body, "text/csv")},
                           data={"note": "ignored"})
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"columns": ["name", "capacity"],
                                       "rows": [[2, {"name": "Keynote", "capacity": "500"}]]}


def test_multipart_csv_labelled_as_excel_by_a_windows_browser(client: TestClient) -> None:
    response = client.post("/upload", files={"file": ("sessions.csv", b"name\nA\n",
                                                      "application/vnd.ms-excel")})
    assert response.json()["data"]["rows"] == [[2, {"name": "A"}]]


def test_multipart_xlsx_told_by_its_bytes_whatever_its_label(client: TestClient) -> None:
    body = xlsx_bytes([["name", "date"], ["Keynote", dt.date(2026, 5, 4)]])
    response = client.post("/upload", files={"file": ("download", body,
                                                      "application/octet-stream")})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["rows"] == [
        [2, {"name": "Keynote", "date": {"date": "2026-05-04"}}]]


def test_raw_body_csv_and_xlsx(client: TestClient) -> None:
    as_csv = client.post("/upload", content=b"name\nA\n",
                         headers={"content-type": "text/csv; charset=utf-8"})
    as_xlsx = client.post("/upload", content=xlsx_bytes([["name"], ["A"]]),
                          headers={"content-type": XLSX_TYPE})
    for response in (as_csv, as_xlsx):
        assert response.status_code == 200, response.text
        assert response.json()["data"]["rows"] == [[2, {"name": "A"}]]


def test_a_text_field_named_file_is_read_as_csv(client: TestClient) -> None:
    response = client.post("/upload", data={"file": "name\nA\n"},
                           files={"other": ("x.txt", b"", "text/plain")})
    assert response.json()["data"]["rows"] == [[2, {"name": "A"}]]


def test_a_form_without_the_file_field_is_a_400(client: TestClient) -> None:
    response = client.post("/upload", files={"upload": ("s.csv", b"name\nA\n", "text/csv")})
    assert response.status_code == 400
    assert "'file'" in response.json()["message"]


def test_header_problems_come_back_as_an_errors_list(client: TestClient) -> None:
    response = client.post("/upload", content=b"id,id\n1,2\n",
                           headers={"content-type": "text/csv"})
    assert response.status_code == 422
    assert response.json()["details"] == [{"row": 1, "column": "id", "message":
                                           "The column 'id' appears 2 times in the header row "
                                           "(columns A, B); keep one."}]


# ---------------------------------------------------------------------------------------------
# Checking cells


def test_unknown_columns_are_named_in_the_sheets_order() -> None:
    sheet = csv_sheet("name,Capacity,colour,date\n")
    assert unknown_columns(sheet, ["name", "capacity", "date"]) == ["Capacity", "colour"]
    assert unknown_columns(sheet, sheet.columns) == []


def refused(check: Any, value: Any, says: str, **kwargs: Any) -> None:
    with pytest.raises(CellError) as caught:
        check("col", value, **kwargs)
    assert caught.value.column == "col"
    assert says in caught.value.message, caught.value.message
    assert caught.value.problem(7) == {"row": 7, "column": "col",
                                       "message": caught.value.message}


EMPTY = ["", "   ", None]


@pytest.mark.parametrize("check", [cell_text, cell_int, cell_bool, cell_list, cell_date,
                                   cell_time, cell_decimal_text])
@pytest.mark.parametrize("value", EMPTY)
def test_an_empty_cell_is_none_meaning_unset(check: Any, value: Any) -> None:
    assert check("col", value) is None


@pytest.mark.parametrize(("value", "expected"), [
    (" Keynote ", "Keynote"), ("Line 1\nLine 2", "Line 1\nLine 2"), (42, "42"), (1.5, "1.5"),
    (True, "true"), (dt.date(2026, 5, 4), "2026-05-04"), (dt.time(9, 5), "09:05:00"),
])
def test_cell_text(value: Any, expected: str) -> None:
    assert cell_text("col", value) == expected


def test_cell_text_refuses_nul_and_overlong() -> None:
    refused(cell_text, "a\x00b", "NUL")
    refused(cell_text, "abcdef", "at most 5", max_length=5)
    assert cell_text("col", "abcde", max_length=5) == "abcde"


@pytest.mark.parametrize(("value", "expected"), [
    ("120", 120), (" 120 ", 120), ("+7", 7), ("-3", -3), ("120.0", 120), (120, 120),
    (120.0, 120), ("0", 0),
])
def test_cell_int(value: Any, expected: int) -> None:
    assert cell_int("col", value) == expected


@pytest.mark.parametrize(("value", "says"), [
    ("twelve", "'twelve' is not a whole number"), ("1.5", "not a whole number"),
    (1.5, "not a whole number"), (True, "not a whole number"), ("1,200", "not a whole number"),
    ("nan", "not a whole number"), ("inf", "not a whole number"), ("1e3", "not a whole number"),
    ("1_000", "not a whole number"), ("9" * 40, "not a whole number"),
    (dt.date(2026, 1, 1), "not a whole number"),
    ("٣", "not a whole number"), ("１２", "not a whole number"), ("²", "not a whole number"),
])
def test_cell_int_refuses(value: Any, says: str) -> None:
    refused(cell_int, value, says)


def test_cell_int_bounds() -> None:
    assert cell_int("col", "5", min=0, max=5) == 5
    refused(cell_int, "6", "6 is not between 0 and 5", min=0, max=5)
    refused(cell_int, "-1", "-1 is less than 0", min=0)
    refused(cell_int, 11, "11 is more than 10", max=10)


@pytest.mark.parametrize(("value", "expected"), [
    ("true", True), ("TRUE", True), ("Yes", True), ("1", True), ("x", True), ("X", True),
    ("false", False), ("False", False), ("NO", False), ("0", False), (True, True),
    (False, False), (1, True), (0, False),
])
def test_cell_bool(value: Any, expected: bool) -> None:
    assert cell_bool("col", value) is expected


@pytest.mark.parametrize("value", ["maybe", "2", 2, "yes please", "-"])
def test_cell_bool_refuses(value: Any) -> None:
    refused(cell_bool, value, "is not yes or no")


@pytest.mark.parametrize(("value", "expected"), [
    ("Full; Day pass", ["Full", "Day pass"]), (" a ;; b ; ", ["a", "b"]), ("one", ["one"]),
    (42, ["42"]), (";", None),
])
def test_cell_list(value: Any, expected: list[str] | None) -> None:
    assert cell_list("col", value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-05-04", dt.date(2026, 5, 4)), ("May 4, 2026", dt.date(2026, 5, 4)),
    ("4 May 2026", dt.date(2026, 5, 4)), (dt.date(2026, 5, 4), dt.date(2026, 5, 4)),
    (dt.datetime(2026, 5, 4), dt.date(2026, 5, 4)),
])
def test_cell_date(value: Any, expected: dt.date) -> None:
    assert cell_date("col", value) == expected


@pytest.mark.parametrize(("value", "says"), [
    ("next week", "is not a date"), ("2026-13-45", "is not a date"),
    ("May 2026", "not a whole date"), ("2026-05-04 10:00", "is a date and time"),
    (dt.datetime(2026, 5, 4, 10, 0), "is a date and time"), (dt.time(10, 0), "is not a date"),
    (True, "is not a date"),
])
def test_cell_date_refuses(value: Any, says: str) -> None:
    refused(cell_date, value, says)


@pytest.mark.parametrize(("value", "expected"), [
    ("20:00", dt.time(20, 0)), ("8pm", dt.time(20, 0)), ("8:00PM", dt.time(20, 0)),
    ("08:30:15", dt.time(8, 30, 15)), (dt.time(9, 30, 0, 500), dt.time(9, 30)),
])
def test_cell_time(value: Any, expected: dt.time) -> None:
    assert cell_time("col", value) == expected


@pytest.mark.parametrize(("value", "says"), [
    ("soon", "is not a time"), ("25:00", "is not a time"), ("2026-05-04", "is not a time"),
    (dt.datetime(2026, 5, 4, 9, 0), "not a time of day"), (930, "not a time of day"),
])
def test_cell_time_refuses(value: Any, says: str) -> None:
    refused(cell_time, value, says)


@pytest.mark.parametrize(("value", "expected"), [
    ("1.5", "1.5"), ("2", "2"), ("2.50", "2.5"), ("0", "0"), ("0.00", "0"), (1.5, "1.5"),
    (2, "2"), ("100", "100"), (0.1, "0.1"), (".5", "0.5"), ("+3", "3"), ("12.", "12"),
])
def test_cell_decimal_text(value: Any, expected: str) -> None:
    assert cell_decimal_text("col", value) == expected


@pytest.mark.parametrize(("value", "says"), [
    ("one", "is not a number"), ("1,5", "is not a number"), ("nan", "is not a number"),
    ("-1", "is less than 0"), (True, "is not a number"), ("1e1000000", "is not a number"),
    ("1_0", "is not a number"), (1e300, "has too many digits"),
])
def test_cell_decimal_text_refuses(value: Any, says: str) -> None:
    refused(cell_decimal_text, value, says)
    refused(cell_decimal_text, "1001", "is more than 1000", max=1000)


# ---------------------------------------------------------------------------------------------
# Writing


def as_bytes(chunk: str | bytes | memoryview) -> bytes:
    return chunk.encode() if isinstance(chunk, str) else bytes(chunk)


def body_of(response: StreamingResponse) -> bytes:
    async def collect() -> bytes:
        parts = [as_bytes(c) async for c in response.body_iterator]
        return b"".join(parts)
    return asyncio.run(collect())


FORMULAS = ["=1+1", "+41", "-5", "@SUM(A1)", "\tTab", "\rReturn", "=HYPERLINK(\"x\")"]


def test_csv_export_escapes_formulas_but_not_numbers() -> None:
    numbers: list[OutCell] = [-5, -1.5, Decimal("-2.50"), 0, 3, -0.5, 7]
    written: list[list[OutCell]] = [[f, n] for f, n in zip(FORMULAS, numbers, strict=True)]
    response = csv_stream(["text", "number"], written, filename="report.csv")
    body = body_of(response)
    assert body.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["text", "number"]
    assert [r[0] for r in rows[1:]] == ["'" + f for f in FORMULAS]
    assert [r[1] for r in rows[1:]] == ["-5", "-1.5", "-2.50", "0", "3", "-0.5", "7"]


def test_csv_export_cells() -> None:
    row: list[OutCell] = [None, True, False, dt.date(2026, 5, 4), dt.time(9, 5),
                          dt.datetime(2026, 5, 4, 9, 5, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
                          "a, \"b\"\nc", "'apostrophe", Decimal("1.50"), 3]
    body = body_of(csv_stream([str(i) for i in range(len(row))], [row], filename="x.csv"))
    assert list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))[1] == [
        "", "true", "false", "2026-05-04", "09:05:00", "2026-05-04T09:05:00-05:00",
        "a, \"b\"\nc", "''apostrophe", "1.50", "3"]


def test_download_headers() -> None:
    response = csv_stream(["a"], [], filename="attendance-s1.csv")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="attendance-s1.csv"'
    assert response.headers["cache-control"] == "no-store"
    odd = xlsx_stream(["a"], [], filename='Séances "2026"\r\n.xlsx')
    assert odd.headers["content-type"] == XLSX_TYPE
    disposition = odd.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="S_ances _2026___.xlsx"; ')
    assert disposition.endswith("filename*=UTF-8''S%C3%A9ances%20%222026%22%0D%0A.xlsx")


def xlsx_cells(body: bytes) -> list[list[Any]]:
    sheet = openpyxl.load_workbook(io.BytesIO(body)).worksheets[0]
    return [list(row) for row in sheet.iter_rows()]


def test_xlsx_export_keeps_formulas_as_text_and_numbers_as_numbers() -> None:
    written: list[list[OutCell]] = [[f, -5] for f in FORMULAS]
    written.append(["#N/A", -1.5])
    body = body_of(xlsx_stream(["text", "number"], written, filename="r.xlsx"))
    rows = xlsx_cells(body)
    assert [c.value for c in rows[0]] == ["text", "number"]
    assert all(c.font.b for c in rows[0])
    for cell in (r[0] for r in rows[1:]):
        assert cell.data_type == "s"  # text: never computed, and shown as written
    assert [r[0].value for r in rows[1:-1]] == FORMULAS
    assert all(r[0].quotePrefix for r in rows[1:-1])
    assert rows[-1][0].value == "#N/A"
    assert [r[1].value for r in rows[1:]] == [-5] * len(FORMULAS) + [-1.5]
    assert all(r[1].data_type == "n" for r in rows[1:])


def test_xlsx_export_dates_are_date_cells() -> None:
    aware = dt.datetime(2026, 5, 4, 9, 5, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    body = body_of(xlsx_stream(["date", "time", "at", "aware", "flag", "none", "ctrl"],
                               [[dt.date(2026, 5, 4), dt.time(9, 5), dt.datetime(2026, 5, 4, 9, 5),
                                 aware, True, None, "bell\x07"]],
                               filename="r.xlsx"))
    cells = xlsx_cells(body)[1]
    assert all(c.is_date for c in cells[:4])
    assert [c.value for c in cells] == [dt.datetime(2026, 5, 4), dt.time(9, 5),
                                        dt.datetime(2026, 5, 4, 9, 5),
                                        dt.datetime(2026, 5, 4, 9, 5), True, None, "bell"]


async def arows(rows: Sequence[Sequence[OutCell]]) -> AsyncIterator[Sequence[OutCell]]:
    for row in rows:
        await asyncio.sleep(0)
        yield row


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_rows_from_an_async_iterator(fmt: Any) -> None:
    rows: list[Sequence[OutCell]] = [[f"Row {i}", i] for i in range(2500)]

    async def run() -> Sheet:
        response = export_response(fmt, ["name", "n"], arows(rows), name="sessions")
        assert response.headers["content-disposition"] == f'attachment; filename="sessions.{fmt}"'
        body = b"".join([as_bytes(c) async for c in response.body_iterator])
        return parse_sheet(body, "", f"sessions.{fmt}")
    sheet = asyncio.run(run())
    assert len(sheet) == 2500
    assert sheet.rows[2499] == (2501, {"name": "Row 2499", "n": 2499 if fmt == "xlsx" else "2499"})


def test_csv_is_sent_while_rows_are_still_coming() -> None:
    made = 0

    def rows() -> Iterator[Sequence[OutCell]]:
        nonlocal made
        for i in range(100_000):
            made += 1
            yield (i, "attendee name", "someone@example.org")

    async def first_chunk() -> int:
        iterator = csv_stream(["n", "name", "email"], rows(), filename="x.csv").body_iterator
        async for _chunk in iterator:
            break
        return made
    assert asyncio.run(first_chunk()) < 10_000


def test_an_export_that_fails_midway_leaves_no_temporary_file() -> None:
    before = list(openpyxl_writer.ALL_TEMP_FILES)

    async def broken() -> AsyncIterator[Sequence[OutCell]]:
        for i in range(3000):
            yield (i,)
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError, match="went away"):
        body_of(xlsx_stream(["n"], broken(), filename="x.xlsx"))
    assert openpyxl_writer.ALL_TEMP_FILES == before
    assert all(os.path.exists(p) for p in before)


def test_export_format() -> None:
    def fmt(query: str) -> str:
        return export_format(Request({"type": "http", "query_string": query.encode(),
                                      "headers": []}))
    assert fmt("") == "csv"
    assert fmt("format=csv") == "csv"
    assert fmt("format=xlsx") == "xlsx"
    assert fmt("format=XLSX") == "xlsx"
    with pytest.raises(Invalid) as caught:
        fmt("format=pdf")
    assert caught.value.field == "format"
    assert caught.value.http_status == 422


def report_rows(n: int) -> Iterator[Sequence[OutCell]]:
    start = dt.datetime(2026, 5, 4, 9, 0)
    for i in range(n):
        yield (f"s{i % 200}", f"Session {i % 200}", f"B{i:07d}", f"Last{i}", f"First{i}",
               f"person{i}@example.org", start + dt.timedelta(seconds=i), 3000, 83.3, "=cmd")


@pytest.mark.parametrize(("fmt", "columns"), [("csv", 10), ("xlsx", 1)])
def test_100_000_rows_export_without_holding_them(fmt: str, columns: int) -> None:
    # XLSX gets one column: openpyxl under tracemalloc is slow, and the memory property (rows
    # go to a file as they come) is the same.
    names = [f"c{i}" for i in range(columns)]
    rows = (row[:columns] for row in report_rows(100_000))
    response = (csv_stream if fmt == "csv" else xlsx_stream)(names, rows, filename=f"r.{fmt}")

    async def drain() -> int:
        size = 0
        async for chunk in response.body_iterator:
            size += len(chunk)
        return size

    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        size = asyncio.run(drain())
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert size > 500_000
    # Measured: about 1.4 MB (CSV) and 1 MB (XLSX). Holding the rows would take 60 MB (CSV's
    # ten columns) or 10 MB (one column), so the bound tells streaming from holding.
    assert peak < 8 * 2**20, f"peak {peak / 2**20:.1f} MB for a {size / 2**20:.1f} MB export"


# ---------------------------------------------------------------------------------------------
# Round trip


ROUND_TRIP_COLUMNS = ["id", "name", "date", "start_time", "capacity", "hidden", "credits_1",
                      "registration_levels", "description", "formula_like"]
ROUND_TRIP_ROWS: list[list[OutCell]] = [
    ["s1", "Keynote", dt.date(2026, 5, 4), dt.time(9, 30), 500, False, "1.5", "Full; Day",
     "Line 1\nLine 2, with \"quotes\"; and semicolons", "=SUM(A1:A2)"],
    ["s2", "Café ☕ naïve", dt.date(2026, 12, 31), dt.time(23, 59, 59), -5, True, "0",
     "", "", "-5"],
    ["s3", "'quoted", None, None, None, None, None, None, "@handle", "+1"],
]
CHECKS: dict[str, Any] = {
    "id": cell_text, "name": cell_text, "date": cell_date, "start_time": cell_time,
    "capacity": cell_int, "hidden": cell_bool, "credits_1": cell_decimal_text,
    "registration_levels": cell_list, "description": cell_text, "formula_like": cell_text,
}


def expected_value(column: str, value: OutCell) -> Any:
    if column == "registration_levels":
        assert isinstance(value, str | None)
        return cell_list(column, value)
    return None if value in ("", None) else value


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_round_trip_writer_to_reader(fmt: str) -> None:
    make = csv_stream if fmt == "csv" else xlsx_stream
    body = body_of(make(ROUND_TRIP_COLUMNS, iter(ROUND_TRIP_ROWS), filename=f"s.{fmt}"))
    sheet = parse_sheet(body, "application/octet-stream", f"s.{fmt}")
    assert sheet.columns == ROUND_TRIP_COLUMNS
    assert [n for n, _ in sheet.rows] == [2, 3, 4]
    for (_, cells), original in zip(sheet.rows, ROUND_TRIP_ROWS, strict=True):
        for column, value in zip(ROUND_TRIP_COLUMNS, original, strict=True):
            assert CHECKS[column](column, cells[column]) == expected_value(column, value), column
    if fmt == "xlsx":  # typed cells come back as the same values
        _, first = sheet.rows[0]
        assert [first[c] for c in ROUND_TRIP_COLUMNS[:6]] == ROUND_TRIP_ROWS[0][:6]
