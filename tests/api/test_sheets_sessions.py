"""Sessions as spreadsheets: GET /sessions/export and POST /sessions/import (preview, all or
nothing, matching by id then external_id, absent columns and empty cells), with CSV and XLSX
files the tests write, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from starlette.testclient import TestClient

from hub.api.routes import api_routes
from hub.config import Settings
from tests.api.sheetfiles import (
    KINDS,
    XLSX,
    csv_file,
    download,
    read_download,
    send,
    upload,
    xlsx_file,
)
from tests.door.kit import make_staff, sign_in

HEADER = [
    "id", "external_id", "name", "date", "start_time", "end_time", "timezone", "location",
    "description", "delivery_format", "capacity", "rank", "hidden", "registrants_only",
    "registration_levels", "moderator_password", "checkin_required", "checkin_code",
    "checkout_required", "checkout_code", "ce_minutes", "credit_url",
    "field_of_study_1", "credits_1", "codewords_1", "field_of_study_2", "credits_2",
    "codewords_2", "field_of_study_3", "credits_3", "codewords_3", "field_of_study_4",
    "credits_4", "codewords_4", "field_of_study_5", "credits_5", "codewords_5",
    "field_of_study_6", "credits_6", "codewords_6", "field_of_study_7", "credits_7",
    "codewords_7", "presenters",
]
FULL = {
    "name": "Keynote: Ledgers", "external_id": "S-1", "date": "2026-05-04",
    "start_time": "09:00", "end_time": "10:15", "location": "Hall A",
    "description": "Opening words.\nA second line, with a comma; and a semicolon.",
    "delivery_format": "hybrid", "capacity": 100, "rank": -3, "hidden": False,
    "registrants_only": True, "registration_levels": ["Full", "Day pass"],
    "moderator_password": "mod-pass", "checkin_required": True, "checkin_code": "-ledger",
    "checkout_required": False, "checkout_code": "=bye", "ce_minutes": 75,
    "credit_url": "https://cpe.example.com/claim",
    "fields_of_study": [{"name": "Ethics", "credits": "1.5", "codewords": ["alpha", "beta"]},
                        {"name": "Tax", "credits": "0.25"}],
    "presenters": [{"name": "Ada Lovelace"}, {"name": "Alan Turing"}],
}


def create(api: TestClient, **body: Any) -> str:
    r = api.post("/api/v2/sessions", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["data"]["id"])


def sessions(api: TestClient) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in api.get("/api/v2/sessions").json()["data"]["data"]}


def export(api: TestClient, kind: str) -> tuple[bytes, str]:
    r = api.get(f"/api/v2/sessions/export?format={kind}")
    assert r.status_code == 200, r.text
    return r.content, (XLSX if kind == "xlsx" else "text/csv")


@pytest.mark.parametrize("kind", KINDS)
def test_export_then_import_changes_nothing(api: TestClient, kind: str) -> None:
    full = create(api, **FULL)
    bare = create(api, name="@Bare session")
    api.put("/api/v2/app", json={"timezone": "America/Chicago"})
    before = sessions(api)

    body, media = export(api, kind)
    rows = read_download(body, kind)
    assert rows[0] == HEADER
    by_id = {r[0]: dict(zip(HEADER, r, strict=True)) for r in rows[1:]}
    assert set(by_id) == {full, bare}
    row = by_id[full]
    assert (row["name"], row["timezone"], row["registration_levels"], row["presenters"]) == (
        "Keynote: Ledgers", "America/Chicago", "Full; Day pass", "Ada Lovelace; Alan Turing")
    assert (row["field_of_study_1"], row["codewords_1"], row["field_of_study_2"]) == (
        "Ethics", "alpha; beta", "Tax")
    if kind == "xlsx":  # typed cells: a spreadsheet can sort and sum them
        assert row["date"] == dt.datetime(2026, 5, 4) and row["capacity"] == 100
        assert row["start_time"] == dt.time(9, 0) and row["credits_1"] == 1.5
        assert row["hidden"] is False and row["checkin_required"] is True
    else:
        assert (row["date"], row["start_time"], row["capacity"], row["rank"]) == (
            "2026-05-04", "09:00:00", "100", "-3")
        assert row["checkin_code"] == "'-ledger"  # a formula character, escaped

    preview = upload(api, "sessions", body, media, dry_run=True).json()["data"]
    assert preview == {"created": 0, "updated": 0, "unchanged": 2, "errors": [], "rows": [
        {"row": 2, "action": "unchanged", "id": rows[1][0], "changes": {}},
        {"row": 3, "action": "unchanged", "id": rows[2][0], "changes": {}}]}
    applied = upload(api, "sessions", body, media)
    assert applied.status_code == 200 and applied.json()["data"] == preview
    assert sessions(api) == before


@pytest.mark.parametrize("kind", KINDS)
def test_rows_update_by_id_then_external_id_else_create(api: TestClient, kind: str) -> None:
    keynote = create(api, name="Keynote", external_id="S-1", capacity=100, date="2026-05-04")
    workshop = create(api, name="Workshop", external_id="S-2", capacity=40)
    rows = [["id", "external_id", "name", "capacity", "date"],
            [keynote, "S-1", "Keynote", 120, "2026-05-04"],
            ["", "S-2", "Workshop", "", "May 5, 2026"],
            ["", "", "Brand new", 30, ""],
            ["", "S-9", "Also new", "", ""]]
    preview = send(api, "sessions", kind, rows, dry_run=True)
    assert preview.status_code == 200, preview.text
    expected_rows = [
        {"row": 2, "action": "update", "id": keynote, "changes": {"capacity": [100, 120]}},
        {"row": 3, "action": "update", "id": workshop,
         "changes": {"capacity": [40, None], "date": [None, "2026-05-05"]}},
        {"row": 4, "action": "create", "id": None,
         "changes": {"name": [None, "Brand new"], "capacity": [None, 30]}},
        {"row": 5, "action": "create", "id": None,
         "changes": {"external_id": [None, "S-9"], "name": [None, "Also new"]}},
    ]
    assert preview.json()["data"] == {"created": 2, "updated": 2, "unchanged": 0,
                                      "rows": expected_rows, "errors": []}
    assert len(sessions(api)) == 2 and sessions(api)[keynote]["capacity"] == 100  # dry run

    applied = send(api, "sessions", kind, rows)
    assert applied.status_code == 200, applied.text
    data = applied.json()["data"]
    made = [r["id"] for r in data["rows"][2:]]
    assert all(made) and data["rows"][:2] == expected_rows[:2]
    after = sessions(api)
    assert after[keynote]["capacity"] == 120
    assert (after[workshop]["capacity"], after[workshop]["date"]) == (None, "2026-05-05")
    assert (after[made[0]]["name"], after[made[0]]["capacity"]) == ("Brand new", 30)
    assert (after[made[1]]["name"], after[made[1]]["external_id"]) == ("Also new", "S-9")
    # the same file again: the first two rows are now as stored
    again = send(api, "sessions", kind, rows[:3], dry_run=True).json()["data"]
    assert [r["action"] for r in again["rows"]] == ["unchanged", "unchanged"]


def test_an_absent_column_leaves_a_field_and_an_empty_cell_unsets_it(api: TestClient) -> None:
    sid = create(api, name="Keynote", capacity=100, checkin_code="ledger", location="Hall A",
                 registration_levels=["Full"])
    r = send(api, "sessions", "csv", [["id", "checkin_code", "registration_levels"],
                                      [sid, "", ""]])
    assert r.json()["data"]["rows"][0]["changes"] == {
        "checkin_code": ["ledger", None], "registration_levels": [["Full"], None]}
    s = sessions(api)[sid]
    assert (s["checkin_code"], s["registration_levels"]) == (None, None)
    assert (s["name"], s["capacity"], s["location"]) == ("Keynote", 100, "Hall A")


def test_fields_of_study_codewords_and_presenters(api: TestClient) -> None:
    sid = create(api, **FULL)
    rows = [["id", "credits_1", "field_of_study_2", "credits_2", "codewords_2", "presenters"],
            [sid, "2", "Tax law", "0.5", "gamma;delta", "Grace Hopper; Ada Lovelace"]]
    r = send(api, "sessions", "xlsx", rows)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["rows"][0]["changes"] == {
        "credits_1": ["1.5", "2"], "field_of_study_2": ["Tax", "Tax law"],
        "credits_2": ["0.25", "0.5"], "codewords_2": [None, ["gamma", "delta"]],
        "presenters": [["Ada Lovelace", "Alan Turing"], ["Grace Hopper", "Ada Lovelace"]]}
    s = sessions(api)[sid]
    assert s["fields_of_study"] == [
        {"name": "Ethics", "credits": "2", "codewords": ["alpha", "beta"]},  # words kept
        {"name": "Tax law", "credits": "0.5", "codewords": ["gamma", "delta"]}]
    assert [p["name"] for p in s["presenters"]] == ["Grace Hopper", "Ada Lovelace"]
    r = send(api, "sessions", "csv", [["id", "field_of_study_2", "credits_3"], [sid, "", "1"]])
    assert r.status_code == 422
    assert r.json()["errors"] == [{"row": 2, "column": "credits_3", "message":
                                   "has a value but field_of_study_3 is empty; name the field "
                                   "of study"}]
    r = send(api, "sessions", "csv", [["id", "field_of_study_2"], [sid, ""]])
    assert r.status_code == 200
    assert [f["name"] for f in sessions(api)[sid]["fields_of_study"]] == ["Ethics"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_file_with_a_problem_writes_nothing(api: TestClient, kind: str) -> None:
    keynote = create(api, name="Keynote", capacity=100)
    rows = [["id", "name", "capacity", "date"],
            [keynote, "Keynote", 150, ""],
            ["", "New A", "lots", ""],
            ["", "New B", 10, "31/31/2026"],
            ["", "New C", 5, ""]]
    r = send(api, "sessions", kind, rows)
    assert r.status_code == 422
    body = r.json()
    assert body["errors"] == [
        {"row": 3, "column": "capacity", "message": "'lots' is not a whole number"},
        {"row": 4, "column": "date", "message": "'31/31/2026' is not a date (use YYYY-MM-DD)"}]
    assert body["message"] == ("Row 3, column capacity: 'lots' is not a whole number (and 1 "
                               "more). Nothing was written.")
    after = sessions(api)
    assert list(after) == [keynote] and after[keynote]["capacity"] == 100
    preview = send(api, "sessions", kind, rows, dry_run=True).json()["data"]
    assert preview["errors"] == body["errors"]
    assert [(x["row"], x["action"]) for x in preview["rows"]] == [
        (2, "update"), (5, "create")]


def test_bad_rows_are_named_by_row_and_column(api: TestClient) -> None:
    keynote = create(api, name="Keynote", external_id="K")
    create(api, name="Twin one", external_id="T")
    create(api, name="Twin two", external_id="T")
    rows = [["id", "external_id", "name", "capcity", "start_time", "credit_url", "hidden",
             "delivery_format"],
            [keynote, "", "Keynote", "", "25:00", "http://no.example", "maybe", "onsite"],
            [keynote, "", "Again", "", "", "", "", ""],
            ["nosuch", "", "X", "", "", "", "", ""],
            ["", "T", "X", "", "", "", "", ""],
            ["", "", "", "", "", "", "", ""],  # blank: skipped, not a new session
            ["", "N", "", "", "", "", "", ""],
            ["", "N2", "New", "", "", "", "", ""],
            ["", "N2", "New twice", "", "", "", "", ""]]
    r = send(api, "sessions", "csv", rows)
    assert r.status_code == 422
    errors = [(e["row"], e["column"]) for e in r.json()["errors"]]
    assert errors == [(1, "capcity"), (2, "start_time"), (2, "credit_url"), (2, "hidden"),
                      (2, "delivery_format"), (3, "id"), (4, "id"), (5, "external_id"),
                      (7, "name"), (9, "external_id")]
    messages = {(e["row"], e["column"]): e["message"] for e in r.json()["errors"]}
    assert "'capcity' is not a column" in messages[1, "capcity"]
    assert messages[3, "id"] == (f"the session {keynote!r} is also on row 2; each session can "
                                 "be in the file once")
    assert messages[4, "id"].startswith("no session has the id 'nosuch'")
    assert messages[5, "external_id"].startswith("2 sessions have the external_id 'T'")
    assert messages[9, "external_id"].startswith("'N2' is also the external_id on row 8")
    assert len(sessions(api)) == 3


def test_spreadsheet_programs_files_are_read(api: TestClient) -> None:
    """Excel's CSV (BOM, semicolons), XLSX date and time cells, and a form upload."""
    sid = create(api, name="Keynote")
    semi = csv_file([["id", "date", "start_time", "end_time"],
                     [sid, "January 23, 2026", "8:30am", "9:45 PM"]], sep=";", bom=True)
    assert upload(api, "sessions", semi).status_code == 200
    s = sessions(api)[sid]
    assert (s["date"], s["start_time"], s["end_time"]) == ("2026-01-23", "08:30:00", "21:45:00")
    cells = xlsx_file([["id", "date", "start_time", "end_time"],
                       [sid, dt.date(2026, 2, 3), dt.time(14, 5), dt.datetime(1899, 12, 30,
                                                                              15, 30)]],
                      formats={"D2": "h:mm"})
    assert upload(api, "sessions", cells, XLSX).status_code == 200
    s = sessions(api)[sid]
    assert (s["date"], s["start_time"], s["end_time"]) == ("2026-02-03", "14:05:00", "15:30:00")
    form = api.post("/api/v2/sessions/import", files={"file": ("sessions.csv", csv_file(
        [["id", "location"], [sid, "Room 7"]]), "text/csv")})
    assert form.status_code == 200, form.text
    assert sessions(api)[sid]["location"] == "Room 7"


def test_files_that_are_too_big_or_not_spreadsheets(api: TestClient) -> None:
    r = upload(api, "sessions", b"%PDF-1.7 not a sheet", "application/pdf")
    assert r.status_code == 415 and r.json()["reason"] == "unsupported_media_type"
    r = upload(api, "sessions", b"\x89PNG\r\n\x1a\n" + bytes(200), "image/png")
    assert r.status_code == 415
    big = b"name\n" + b"x" * (10 * 1024 * 1024)
    r = upload(api, "sessions", big)
    assert r.status_code == 413 and "10 MiB" in r.json()["message"]
    many = b"name\n" + b"A\n" * 50_001
    r = upload(api, "sessions", many)
    assert r.status_code == 413 and "50,000 rows" in r.json()["message"]
    r = upload(api, "sessions", b"name,name\nA,B\n")
    assert r.status_code == 422 and r.json()["errors"][0]["column"] == "name"
    assert sessions(api) == {}


def test_the_event_time_zone_column(api: TestClient) -> None:
    sid = create(api, name="Keynote")
    api.put("/api/v2/app", json={"timezone": "America/Chicago"})
    r = send(api, "sessions", "csv", [["id", "timezone"], [sid, "America/Chicago"]])
    assert r.status_code == 200
    r = send(api, "sessions", "csv", [["id", "timezone"], [sid, "Europe/Paris"]])
    assert r.status_code == 422
    assert r.json()["errors"] == [{"row": 2, "column": "timezone", "message":
                                   "sessions use the event's time zone (America/Chicago); "
                                   "change it under Event settings, not per session"}]


def test_an_imported_change_reaches_the_dashboard_at_once(api: TestClient,
                                                          api_key: str) -> None:
    sid = create(api, name="Keynote", capacity=100)
    with api.websocket_connect(f"/ws/sessions/{sid}", headers={"API-Key": api_key}) as board:
        assert board.receive_json()["counts"]["capacity"] == 100
        r = send(api, "sessions", "csv", [["id", "capacity"], [sid, "12"]])
        assert r.status_code == 200
        for _ in range(20):
            frame = board.receive_json()
            if frame["type"] == "counts":
                break
        assert frame["counts"]["capacity"] == 12 and frame["counts"]["remaining"] == 12


def test_export_paths_are_not_read_as_ids(api: TestClient) -> None:
    paths = [r.path for r in api_routes()[0].routes]  # type: ignore[attr-defined]
    assert paths.index("/sessions/export") < paths.index("/sessions/{session_id}")
    assert paths.index("/attendees/export") < paths.index("/attendees/{external_id}")
    assert api.get("/api/v2/sessions/export").status_code == 200
    assert api.get("/api/v2/attendees/export").status_code == 200
    r = api.get("/api/v2/sessions/export?format=ods")
    assert r.status_code == 422 and r.json()["field"] == "format"


def test_only_administrators(client: TestClient, settings: Settings) -> None:
    assert client.get("/api/v2/sessions/export").status_code == 401
    assert client.post("/api/v2/sessions/import", content=b"name\nA\n",
                       headers={"content-type": "text/csv"}).status_code == 401
    scanner = make_staff(settings.database, "door@example.com", ["scan", "moderate"])
    sign_in(client, "rollcall_staff", {"sid": scanner})
    for path in ("sessions/export", "attendees/export", "reports/attendance",
                 "reports/scans"):
        assert client.get(f"/api/v2/{path}").status_code == 403, path
    r = client.post("/api/v2/sessions/import", content=b"name\nA\n",
                    headers={"content-type": "text/csv"})
    assert r.status_code == 403
    boss = make_staff(settings.database, "boss@example.com", ["admin"])
    sign_in(client, "rollcall_staff", {"sid": boss})
    assert client.get("/api/v2/sessions/export").status_code == 200
    r = client.post("/api/v2/sessions/import", content=b"name\nA\n",
                    headers={"content-type": "text/csv"})
    assert r.status_code == 200 and r.json()["data"]["created"] == 1
    assert download(client, "sessions/export")[0]["name"] == "A"


@pytest.mark.parametrize("kind", KINDS)
def test_a_row_copied_without_its_id_creates_the_same_session(api: TestClient,
                                                              kind: str) -> None:
    original = create(api, **FULL)
    body, _ = export(api, kind)
    header, row = read_download(body, kind)[:2]
    copy = dict(zip(header, row, strict=True)) | {"id": "", "external_id": "S-2",
                                                  "name": "Keynote, again"}
    r = send(api, "sessions", kind, [header, [copy[h] for h in header]])
    assert r.status_code == 200, r.text
    made = r.json()["data"]["rows"][0]
    assert made["action"] == "create" and made["changes"]["registration_levels"] == [
        None, ["Full", "Day pass"]]
    now = sessions(api)
    fields = ("id", "url", "external_id", "name")
    assert {k: v for k, v in now[made["id"]].items() if k not in fields} == {
        k: v for k, v in now[original].items() if k not in fields}
