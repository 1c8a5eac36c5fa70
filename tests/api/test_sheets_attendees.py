"""Attendees as spreadsheets: GET /attendees/export and POST /attendees/import (matching by
external_id, else email; registrations from the ``sessions`` column; preview; all or
nothing), with CSV and XLSX files the tests write, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from hub.config import Settings
from hub.domain.events import decode_event
from storage.tables import T_EVENTS
from tests.api.sheetfiles import KINDS, XLSX, read_download, send, upload
from tests.door.kit import run

HEADER = ["external_id", "first_name", "last_name", "email", "badge_id", "registration_level",
          "field_1", "field_2", "field_3", "field_4", "field_5", "sessions"]


def session(api: TestClient, name: str, **body: Any) -> str:
    r = api.post("/api/v2/sessions", json={"name": name, **body})
    assert r.status_code == 201, r.text
    return str(r.json()["data"]["id"])


def people(api: TestClient) -> dict[str, dict[str, Any]]:
    """Every attendee by external_id (else email)."""
    data = api.get("/api/v2/attendees", params={"limit": 1000}).json()["data"]["attendees"]
    return {a["external_id"] or a["email"]: a for a in data}


def registered(api: TestClient, sid: str) -> int:
    return int(api.get(f"/api/v2/sessions/{sid}/counts").json()["data"]["registered"])


def schedule(api: TestClient, external_id: str) -> set[str]:
    data = api.get(f"/api/v2/attendees/{external_id}").json()["data"]
    return {s["session_id"] for s in data["schedule"] if s["registered"]}


@pytest.mark.parametrize("kind", KINDS)
def test_export_then_import_changes_nothing(api: TestClient, kind: str) -> None:
    s1, s2 = session(api, "Keynote"), session(api, "Workshop", external_id="W-1")
    api.post("/api/v2/attendees", json=[
        {"external_id": "E1", "first_name": "Ada", "last_name": "Lovelace",
         "email": "ada@example.com", "badge_id": "B-1", "registration_level": "Full",
         "field_1": "North", "field_5": "+44 20 7946 0000", "sessions": [s1, s2]},
        {"email": "sam@example.com", "first_name": "=Sam", "sessions": [s2]},
        {"external_id": "E3", "last_name": "Nobody"},
    ])
    r = api.get(f"/api/v2/attendees/export?format={kind}")
    assert r.status_code == 200
    assert r.headers["content-disposition"] == f'attachment; filename="attendees.{kind}"'
    rows = read_download(r.content, kind)
    assert rows[0] == HEADER
    ada = dict(zip(HEADER, rows[1], strict=True))
    assert (ada["badge_id"], ada["sessions"]) == ("B-1", f"{s1}; {s2}")
    if kind == "csv":  # escaped: a spreadsheet would run them (read back as they were)
        assert (ada["field_5"], rows[2][1]) == ("'+44 20 7946 0000", "'=Sam")
    else:
        assert (ada["field_5"], rows[2][1]) == ("+44 20 7946 0000", "=Sam")

    media = XLSX if kind == "xlsx" else "text/csv"
    preview = upload(api, "attendees", r.content, media, dry_run=True).json()["data"]
    assert (preview["unchanged"], preview["created"], preview["updated"]) == (3, 0, 0)
    assert [x["action"] for x in preview["rows"]] == ["unchanged"] * 3
    assert preview["rows"][0] == {"row": 2, "action": "unchanged", "id": "E1", "changes": {}}
    before = people(api)
    applied = upload(api, "attendees", r.content, media)
    assert applied.status_code == 200 and applied.json()["data"] == preview
    assert people(api) == before and (registered(api, s1), registered(api, s2)) == (1, 2)


@pytest.mark.parametrize("kind", KINDS)
def test_rows_match_by_external_id_else_email(api: TestClient, kind: str) -> None:
    keynote = session(api, "Keynote")
    workshop = session(api, "Workshop", external_id="W-1")
    api.post("/api/v2/attendees", json=[
        {"external_id": "E1", "email": "ada@example.com", "first_name": "Ada"},
        {"email": "bea@example.com", "first_name": "B"},
        {"external_id": "E3", "email": "cy@example.com"},
        {"email": "dee@example.com"},
    ])
    rows = [["external_id", "email", "first_name", "sessions"],
            ["E1", "ada@example.com", "Ada", f"{keynote}; W-1"],
            ["", "BEA@example.com", "Bea", ""],
            ["E4", "new@example.com", "Newt", workshop],
            ["E5", "cy@example.com", "Cyd", ""],  # cy@ has another external id: a new one
            ["E6", "dee@example.com", "Dee", ""]]  # dee@ has none yet: adopted
    preview = send(api, "attendees", kind, rows, dry_run=True)
    assert preview.status_code == 200, preview.text
    assert preview.json()["data"] == {
        "created": 2, "updated": 3, "unchanged": 0, "errors": [], "rows": [
            {"row": 2, "action": "update", "id": "E1",
             "changes": {"sessions": [None, sorted([keynote, workshop])]}},
            {"row": 3, "action": "update", "id": None,
             "changes": {"email": ["bea@example.com", "BEA@example.com"],
                         "first_name": ["B", "Bea"]}},
            {"row": 4, "action": "create", "id": "E4",
             "changes": {"external_id": [None, "E4"], "email": [None, "new@example.com"],
                         "first_name": [None, "Newt"], "sessions": [None, [workshop]]}},
            {"row": 5, "action": "create", "id": "E5",
             "changes": {"external_id": [None, "E5"], "email": [None, "cy@example.com"],
                         "first_name": [None, "Cyd"]}},
            {"row": 6, "action": "update", "id": "E6",
             "changes": {"external_id": [None, "E6"], "first_name": [None, "Dee"]}}]}
    assert len(people(api)) == 4 and registered(api, keynote) == 0  # a dry run

    r = send(api, "attendees", kind, rows)
    assert r.status_code == 200, r.text
    now = people(api)
    assert set(now) == {"E1", "BEA@example.com", "E3", "E4", "E5", "E6"}
    assert now["BEA@example.com"]["first_name"] == "Bea"
    assert (now["E5"]["email"], now["E3"]["email"]) == ("cy@example.com", "cy@example.com")
    assert schedule(api, "E1") == {keynote, workshop} and schedule(api, "E4") == {workshop}
    assert (registered(api, keynote), registered(api, workshop)) == (1, 2)


def test_the_sessions_column_sets_the_registrations(api: TestClient, api_key: str,
                                                   settings: Settings) -> None:
    s1, s2, s3 = (session(api, n) for n in ("One", "Two", "Three"))
    api.post("/api/v2/attendees", json=[{"external_id": "E1", "sessions": [s1, s2]},
                                        {"external_id": "E2", "sessions": [s1]}])
    with api.websocket_connect(f"/ws/sessions/{s3}", headers={"API-Key": api_key}) as board:
        assert board.receive_json()["counts"]["registered"] == 0
        r = send(api, "attendees", "csv", [["external_id", "sessions"],
                                           ["E1", f"{s2};{s3}"], ["E2", ""]])
        assert r.status_code == 200, r.text
        kinds = []
        for _ in range(20):  # the registration reaches the dashboard at once
            frame = board.receive_json()
            kinds += [e["type"] for e in frame.get("events", [frame])]
            if frame["type"] == "counts":
                break
        assert "preload" in kinds and frame["counts"]["registered"] == 1
    assert r.json()["data"]["rows"][1]["changes"] == {"sessions": [[s1], None]}
    # the events are in the sessions' replay logs too (a dashboard reconnecting gets them)
    logged = run(settings.database, lambda conn: conn.execute(
        sa.select(T_EVENTS.c.session_id, T_EVENTS.c.payload).where(T_EVENTS.c.kind == "preload")
        .order_by(T_EVENTS.c.session_id, T_EVENTS.c.seq)))
    replayed = {row.session_id: decode_event(row.payload) for row in logged.all()}
    assert replayed[s3].counts.registered == 1 and replayed[s1].counts.registered == 0
    assert schedule(api, "E1") == {s2, s3} and schedule(api, "E2") == set()
    assert [registered(api, s) for s in (s1, s2, s3)] == [0, 1, 1]
    # no sessions column: registrations are left alone
    send(api, "attendees", "csv", [["external_id", "first_name"], ["E1", "Ada"]])
    assert schedule(api, "E1") == {s2, s3}


def test_an_absent_column_leaves_and_an_empty_cell_unsets(api: TestClient) -> None:
    api.post("/api/v2/attendees", json=[{"external_id": "E1", "first_name": "Ada",
                                         "last_name": "Lovelace", "field_2": "x"}])
    r = send(api, "attendees", "xlsx", [["external_id", "last_name"], ["E1", None]])
    assert r.json()["data"]["rows"][0]["changes"] == {"last_name": ["Lovelace", None]}
    ada = people(api)["E1"]
    assert (ada["first_name"], ada["last_name"], ada["field_2"]) == ("Ada", None, "x")


def test_badges_can_move_between_attendees_of_one_file(api: TestClient) -> None:
    api.post("/api/v2/attendees", json=[{"external_id": "E1", "badge_id": "B-1"},
                                        {"external_id": "E2", "badge_id": "B-2"},
                                        {"external_id": "E3", "badge_id": "B-3"}])
    r = send(api, "attendees", "csv", [["external_id", "badge_id"], ["E1", "B-2"],
                                       ["E2", "B-1"]])
    assert r.status_code == 200, r.text
    assert {k: v["badge_id"] for k, v in people(api).items()} == {
        "E1": "B-2", "E2": "B-1", "E3": "B-3"}
    r = send(api, "attendees", "csv", [["external_id", "badge_id"], ["E1", "B-3"]])
    assert r.status_code == 422
    assert r.json()["errors"][0]["column"] == "badge_id"
    assert "already belongs to another attendee" in r.json()["errors"][0]["message"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_file_with_a_problem_writes_nothing(api: TestClient, kind: str) -> None:
    keynote = session(api, "Keynote", external_id="K-1")
    api.post("/api/v2/attendees", json=[{"external_id": "E1", "first_name": "Ada"}])
    rows = [["external_id", "email", "first_name", "badge_id", "sessions"],
            ["E1", "", "Adaline", "", "K-1"],
            ["E2", "", "Bo", "B-9", "K-1; nosuch"],
            ["", "", "Nameless", "", ""],
            ["E1", "", "Again", "", ""],
            ["E4", "", "Dup badge", "B-9", ""],
            ["E5", "", "Fine", "", keynote]]
    r = send(api, "attendees", kind, rows)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"row": 3, "column": "sessions",
         "message": "no session has the id or external_id 'nosuch'"},
        {"row": 4, "column": "external_id",
         "message": "needs an external_id or an email to match the attendee by"},
        {"row": 5, "column": "external_id", "message": "the attendee with external_id 'E1' "
         "is also on row 2; each attendee can be in the file once"},
    ]
    assert set(people(api)) == {"E1"} and people(api)["E1"]["first_name"] == "Ada"
    assert registered(api, keynote) == 0
    r = send(api, "attendees", kind, [rows[0], ["E2", "", "Bo", "B-9", "K-1"], rows[5]])
    assert r.status_code == 422
    assert r.json()["errors"][-1] == {
        "row": 3, "column": "badge_id",
        "message": "'B-9' is also the badge_id on row 2; a badge belongs to one attendee"}


def test_a_file_needs_something_to_match_by(api: TestClient) -> None:
    r = send(api, "attendees", "csv", [["first_name", "colour"], ["Ada", "red"]])
    assert r.status_code == 422
    assert [(e["row"], e["column"]) for e in r.json()["errors"]] == [(1, None), (1, "colour")]
