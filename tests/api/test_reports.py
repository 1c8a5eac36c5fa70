"""GET /reports/attendance and /reports/scans: the rows an organizer downloads, as CSV and
XLSX, for one session or the whole event, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import openpyxl
import pytest
from starlette.testclient import TestClient

from hub.config import Settings
from hub.services.reports import ATTENDANCE_END, ATTENDANCE_START, SCANS_COLUMNS
from tests.api.sheetfiles import KINDS, download, read_download
from tests.door.kit import make_staff, sign_in


def session(api: TestClient, name: str, **body: Any) -> str:
    r = api.post("/api/v2/sessions", json={"name": name, **body})
    assert r.status_code == 201, r.text
    return str(r.json()["data"]["id"])


def door(api: TestClient, sid: str, action: str = "checkin", **body: Any) -> int:
    return api.post(f"/api/v2/sessions/{sid}/attendance/{action}", json=body).status_code


@pytest.fixture
def event(api: TestClient, api_key: str, settings: Settings) -> dict[str, str]:
    """A keynote (capacity 1, a field of study with two codewords) and a workshop; four
    attendees; check-ins, a refusal, an override, a check-out, a codeword, a credit
    adjustment, an unknown badge, and a staff member's refused scan."""
    api.put("/api/v2/app", json={"timezone": "America/Chicago"})
    keynote = session(api, "Keynote", capacity=1, date="2026-05-04", start_time="09:00",
                      end_time="10:00", fields_of_study=[
                          {"name": "Ethics", "credits": "1.5", "codewords": ["alpha", "beta"]}])
    workshop = session(api, "Workshop", date="2026-05-04", start_time="11:00")
    api.post("/api/v2/attendees", json=[
        {"external_id": "E1", "first_name": "Ada", "last_name": "Lovelace",
         "email": "ada@example.com", "badge_id": "B-1", "registration_level": "Full",
         "sessions": [keynote]},
        {"external_id": "E2", "first_name": "Bo", "last_name": "Li", "badge_id": "B-2"},
        {"external_id": "E3", "first_name": "=HYPERLINK(\"https://evil.example\")",
         "last_name": "Cmd", "badge_id": "B-3"},
        {"external_id": "E4", "first_name": "Dee", "last_name": "Zed", "sessions": [keynote]},
    ])
    assert door(api, keynote, badge_id="B-1", source="kiosk") == 200
    assert api.post(f"/api/v2/sessions/{keynote}/attendance/codeword",
                    json={"badge_id": "B-1", "codeword": "alpha"}).status_code == 200
    assert door(api, keynote, badge_id="B-2") == 409  # capacity_full
    assert door(api, keynote, badge_id="B-2", override=True, override_reason="speaker") == 200
    assert door(api, keynote, "checkout", badge_id="B-1") == 200
    assert api.post(f"/api/v2/sessions/{keynote}/attendance/credits", json={
        "badge_id": "B-2", "field": "Ethics", "credits": 2, "note": "late start"},
    ).status_code == 200
    assert door(api, workshop, badge_id="B-3") == 200
    assert door(api, workshop, badge_id="NOBODY") == 404
    staff = make_staff(settings.database, "door@example.com", ["scan"])
    sign_in(api, "rollcall_staff", {"sid": staff})
    assert door(api, workshop, badge_id="B-3") == 409  # already_checked_in, by staff
    api.cookies.clear()
    api.headers["API-Key"] = api_key
    return {"keynote": keynote, "workshop": workshop}


@pytest.mark.parametrize("kind", KINDS)
def test_the_attendance_report(api: TestClient, event: dict[str, str], kind: str) -> None:
    keynote, workshop = event["keynote"], event["workshop"]
    r = api.get(f"/api/v2/reports/attendance?format={kind}")
    assert r.status_code == 200
    assert r.headers["content-disposition"] == f'attachment; filename="attendance-event.{kind}"'
    rows = read_download(r.content, kind)
    assert rows[0] == [*ATTENDANCE_START, "field_of_study_1", "credits_1", "codewords_1",
                       *ATTENDANCE_END]
    got = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [(g["session_id"], g["external_id"]) for g in got] == [
        (keynote, "E2"), (keynote, "E1"), (keynote, "E4"), (workshop, "E3")]
    records = {rec["user"]["external_id"]: rec for rec in
               api.get(f"/api/v2/sessions/{keynote}/attendance").json()["data"]}

    def text(value: Any) -> str:
        if isinstance(value, dt.datetime):
            return value.isoformat()
        return "" if value is None else str(value)

    for g in got[:2]:
        rec = records[g["external_id"]]
        local = dt.datetime.fromisoformat(rec["checkin_time"])
        expected_in = local.replace(tzinfo=None) if kind == "xlsx" else local
        if kind == "xlsx":
            assert g["checkin_time"] == expected_in
        else:
            assert g["checkin_time"] == rec["checkin_time"]
        if rec["checkout_time"]:  # (in the room, the time attended still grows)
            assert text(g["total_time_attended"]) == rec["total_time_attended"]
        assert float(g["credits_1"]) == rec["fields_of_study"][0]["credits"]
        assert g["checkin_source"] == rec["checkin_source"]
    bo, ada, dee, cy = got
    assert (ada["badge_id"], ada["last_name"], ada["email"], ada["registration_level"]) == (
        "B-1", "Lovelace", "ada@example.com", "Full")
    assert str(ada["registered"]).lower() == "true" and str(bo["registered"]).lower() == "false"
    assert (ada["codewords_1"], ada["checkin_source"]) == ("1 of 2", "kiosk")
    assert text(ada["checkout_time"]) and not text(bo["checkout_time"])
    assert float(bo["credits_1"]) == 2  # the admin's adjustment
    assert bo["overrides"] == "capacity_full by API key: tests (speaker)"
    assert bo["credit_adjustments"].endswith("-> 2 by API key: tests (late start)")
    assert (dee["registered"] in (True, "true"), text(dee["checkin_time"])) == (True, "")
    assert cy["field_of_study_1"] == "" and cy["session_name"] == "Workshop"

    one = download(api, f"reports/attendance?session_id={workshop}", kind)
    formula = "=HYPERLINK(\"https://evil.example\")"
    # a spreadsheet shows the text and never runs it
    assert [(x["external_id"], x["first_name"]) for x in one] == [
        ("E3", "'" + formula if kind == "csv" else formula)]
    if kind == "xlsx":
        book = openpyxl.load_workbook(io.BytesIO(api.get(
            f"/api/v2/reports/attendance?session_id={workshop}&format=xlsx").content))
        cell = book.worksheets[0]["G2"]
        assert cell.data_type == "s" and cell.quotePrefix


@pytest.mark.parametrize("kind", KINDS)
def test_the_scans_report_has_every_door_action(api: TestClient, event: dict[str, str],
                                                kind: str) -> None:
    keynote, workshop = event["keynote"], event["workshop"]
    r = api.get(f"/api/v2/reports/scans?format={kind}")
    assert r.status_code == 200
    rows = read_download(r.content, kind)
    assert rows[0] == list(SCANS_COLUMNS)
    got = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [(g["session_id"], g["badge_id"], g["last_name"], g["action"], g["result"],
             g["source"], g["who"]) for g in got] == [
        (keynote, "B-1", "Lovelace", "check-in", "ok", "kiosk", "API key: tests"),
        (keynote, "B-2", "Li", "check-in", "capacity_full", "api", "API key: tests"),
        (keynote, "B-2", "Li", "check-in", "ok", "api", "API key: tests"),
        (keynote, "B-1", "Lovelace", "check-out", "ok", "api", "API key: tests"),
        (workshop, "B-3", "Cmd", "check-in", "ok", "api", "API key: tests"),
        (workshop, "NOBODY", "", "check-in", "unknown_attendee", "api", "API key: tests"),
        (workshop, "B-3", "Cmd", "check-in", "already_checked_in", "scan", "door@example.com"),
    ]
    assert got[0]["session_name"] == "Keynote" and got[0]["first_name"] == "Ada"
    assert got[5]["presented"] == "badge_id: NOBODY"
    times = [g["time"] for g in got]
    if kind == "csv":
        assert all(t.endswith(("-05:00", "-06:00")) for t in times)  # the event's zone
        times = [dt.datetime.fromisoformat(t).replace(tzinfo=None) for t in times]
    assert times == sorted(times)
    one = download(api, f"reports/scans?session_id={keynote}", kind)
    assert [x["result"] for x in one] == ["ok", "capacity_full", "ok", "ok"]


def test_reports_of_an_unknown_session_or_format(api: TestClient) -> None:
    for path in ("attendance", "scans"):
        r = api.get(f"/api/v2/reports/{path}?session_id=nosuch")
        assert r.status_code == 404 and r.json()["reason"] == "not_found"
        r = api.get(f"/api/v2/reports/{path}?format=pdf")
        assert r.status_code == 422 and r.json()["field"] == "format"
    r = api.get("/api/v2/reports/attendance")
    assert r.status_code == 200 and len(read_download(r.content, "csv")) == 1  # the header


def test_an_admin_signed_in_downloads_reports(client: TestClient, settings: Settings) -> None:
    boss = make_staff(settings.database, "boss@example.com", ["admin"])
    sign_in(client, "rollcall_staff", {"sid": boss})
    for path in ("attendance", "scans"):
        r = client.get(f"/api/v2/reports/{path}?format=xlsx")
        assert r.status_code == 200 and r.content.startswith(b"PK")
