"""Sessions through HTTP: create, read, list, update, delete, and the reference's field rules.
Every test runs on SQLite and on PostgreSQL (the ``db`` fixture)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from hub.config import Settings
from storage.tables import T_COUNTERS, T_SESSIONS
from tests.api.rows import count

FULL = {
    "external_id": "EXT-1",
    "name": "Example Session",
    "location": "Ballroom A",
    "description": "All about ledgers",
    "date": "2019-01-24",
    "start_time": "08:30",
    "end_time": "09:15",
    "access_code": "ACCESS",
    "moderator_password": "mod-secret",
    "learning_objectives": ["Read a ledger", "Balance it"],
    "checkin_required": True,
    "checkout_required": False,
    "checkin_code": "IN",
    "checkout_code": "OUT",
    "delivery_format": "hybrid",
    "capacity": 120,
    "registrants_only": True,
    "registration_levels": ["Full", "Speaker"],
    "ce_minutes": 75,
    "rank": 3,
    "hidden": False,
    "credit_url": "https://credits.example.com/claim?s=1",
}
ROLLCALL_FIELDS = ("capacity", "registrants_only", "registration_levels", "ce_minutes", "rank",
                   "hidden", "credit_url")
NULLABLE = ("external_id", "location", "description", "date", "start_time", "end_time",
            "access_code", "moderator_password", "learning_objectives", "checkin_required",
            "checkout_required", "checkin_code", "checkout_code", "delivery_format",
            "presenters", "fields_of_study") + ROLLCALL_FIELDS


def create(api: TestClient, **body: Any) -> str:
    r = api.post("/api/v2/sessions", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["data"]["id"])


def get(api: TestClient, sid: str) -> dict[str, Any]:
    r = api.get(f"/api/v2/sessions/{sid}")
    assert r.status_code == 200, r.text
    return r.json()["data"]  # type: ignore[no-any-return]


def refused(r: Any, field: str, status: int = 422) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["status"] == "error" and body["code"] == str(status)
    assert field in body["message"], body


def test_create_answers_201_with_object_id_and_url(api: TestClient) -> None:
    r = api.post("/api/v2/sessions", json={"name": "Keynote"})
    assert r.status_code == 201
    body = r.json()
    assert body["status"] == "ok" and body["code"] == "201"
    data = body["data"]
    assert data["object"] == "session"
    assert re.fullmatch(r"[a-z0-9]{6}", data["id"])
    assert data["url"] == f"http://testserver/sessions/{data['id']}"


def test_session_ids_are_short_random_and_unique(api: TestClient) -> None:
    ids = [create(api, name=f"S{i}") for i in range(12)]
    assert len(set(ids)) == 12
    assert all(len(i) <= 16 for i in ids)
    steps = {int(b, 36) - int(a, 36) for a, b in zip(ids, ids[1:], strict=False)}
    assert len(steps) > 1  # not a sequence a caller could guess the next one of


def test_every_field_round_trips(api: TestClient) -> None:
    sid = create(api, **FULL)
    data = get(api, sid)
    expected = dict(FULL, start_time="08:30:00", end_time="09:15:00")
    for key, value in expected.items():
        assert data[key] == value, key
    assert data["id"] == sid
    assert data["url"] == f"http://testserver/sessions/{sid}"


def test_only_name_is_required_and_unset_fields_are_null(api: TestClient) -> None:
    data = get(api, create(api, name="Bare"))
    assert data["name"] == "Bare"
    for key in NULLABLE:
        assert data[key] is None, key


@pytest.mark.parametrize("body", [{}, {"name": None}, {"name": ""}, {"name": "   "},
                                  {"location": "Room 1"}])
def test_create_without_a_name_is_422(api: TestClient, settings: Settings,
                                      body: dict[str, Any]) -> None:
    refused(api.post("/api/v2/sessions", json=body), "name")
    assert count(settings, T_SESSIONS) == 0


def test_create_makes_the_counter_row(api: TestClient, settings: Settings) -> None:
    create(api, name="With counter")
    assert count(settings, T_COUNTERS) == 1


@pytest.mark.parametrize(("sent", "stored"), [
    ("2019-01-24", "2019-01-24"),
    ("January 23, 2023", "2023-01-23"),
    ("Jan 5 2024", "2024-01-05"),
])
def test_dates_are_parsed_and_returned_as_iso(api: TestClient, sent: str, stored: str) -> None:
    assert get(api, create(api, name="D", date=sent))["date"] == stored


@pytest.mark.parametrize(("sent", "stored"), [
    ("20:00", "20:00:00"),
    ("8pm", "20:00:00"),
    ("8:00PM", "20:00:00"),
    ("08:30:00", "08:30:00"),
    ("9am", "09:00:00"),
])
def test_times_are_parsed_and_returned_as_hh_mm_ss(api: TestClient, sent: str,
                                                   stored: str) -> None:
    data = get(api, create(api, name="T", start_time=sent, end_time=sent))
    assert data["start_time"] == stored and data["end_time"] == stored


@pytest.mark.parametrize(("field", "value"), [
    ("date", "someday"),
    ("date", "2019-02-30"),
    ("date", "2019-01-24T10:00:00"),
    ("start_time", "lunchtime"),
    ("end_time", "25:00"),
    ("start_time", "2019-01-24 08:00"),
])
def test_unparseable_date_or_time_is_422_naming_the_field(
    api: TestClient, settings: Settings, field: str, value: str
) -> None:
    refused(api.post("/api/v2/sessions", json={"name": "X", field: value}), field)
    assert count(settings, T_SESSIONS) == 0


@pytest.mark.parametrize(("field", "value"), [
    ("name", 5),
    ("location", ["a"]),
    ("checkin_required", "yes"),
    ("checkout_required", 1),
    ("delivery_format", "on-site"),
    ("delivery_format", "VIRTUAL"),
    ("capacity", -1),
    ("capacity", 1.5),
    ("capacity", "ten"),
    ("capacity", True),
    ("capacity", 2**31),
    ("ce_minutes", -5),
    ("ce_minutes", 10**30),
    ("rank", "first"),
    ("rank", 2**40),
    ("hidden", "no"),
    ("registrants_only", 0),
    ("registration_levels", "Full"),
    ("registration_levels", [1, 2]),
    ("learning_objectives", "one"),
    ("learning_objectives", [None]),
    ("presenters", {"name": "Jo"}),
    ("presenters", ["Jo"]),
    ("credit_url", "http://credits.example.com/claim"),
    ("credit_url", "javascript:alert(1)"),
    ("credit_url", "https://"),
    ("credit_url", "not a url"),
    ("credit_url", 7),
    ("external_id", {"a": 1}),
])
def test_wrong_type_or_value_is_422_naming_the_field(
    api: TestClient, settings: Settings, field: str, value: Any
) -> None:
    refused(api.post("/api/v2/sessions", json={"name": "X", field: value}), field)
    sid = create(api, name="Before")
    refused(api.put(f"/api/v2/sessions/{sid}", json={"name": "After", field: value}), field)
    assert get(api, sid)["name"] == "Before"
    assert count(settings, T_SESSIONS) == 1


def test_over_long_strings_are_422(api: TestClient) -> None:
    refused(api.post("/api/v2/sessions", json={"name": "x" * 1001}), "name")
    refused(api.post("/api/v2/sessions", json={"name": "X", "location": "y" * 5000}), "location")


def test_put_null_or_omitted_leaves_and_blank_unsets(api: TestClient) -> None:
    sid = create(api, **FULL)
    nulls = {key: None for key in FULL}
    assert api.put(f"/api/v2/sessions/{sid}", json=nulls).status_code == 200
    assert api.put(f"/api/v2/sessions/{sid}", json={}).status_code == 200
    data = get(api, sid)
    assert data["capacity"] == 120 and data["location"] == "Ballroom A"
    blanks = {key: "" for key in FULL if key != "name"}
    r = api.put(f"/api/v2/sessions/{sid}", json=blanks)
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ok", "code": "200", "data": None}
    data = get(api, sid)
    assert data["name"] == "Example Session"
    for key in blanks:
        assert data[key] is None, key


def test_put_changes_only_what_is_sent(api: TestClient) -> None:
    sid = create(api, **FULL)
    r = api.put(f"/api/v2/sessions/{sid}",
                json={"location": "Terrace", "date": "March 3, 2020", "start_time": "8pm",
                      "capacity": 0, "hidden": True, "rank": -2})
    assert r.status_code == 200, r.text
    data = get(api, sid)
    assert (data["location"], data["date"], data["start_time"]) == ("Terrace", "2020-03-03",
                                                                   "20:00:00")
    assert (data["capacity"], data["hidden"], data["rank"]) == (0, True, -2)
    assert data["end_time"] == "09:15:00" and data["checkin_code"] == "IN"


def test_put_blank_name_is_422(api: TestClient) -> None:
    sid = create(api, name="Keep me")
    refused(api.put(f"/api/v2/sessions/{sid}", json={"name": ""}), "name")
    assert get(api, sid)["name"] == "Keep me"


def test_get_of_a_session_can_be_sent_back_unchanged(api: TestClient) -> None:
    sid = create(api, **FULL, presenters=[{"name": "Casey Example"}],
                 fields_of_study=[{"name": "Accounting", "credits": "2.5",
                                   "codewords": ["ledger"]}])
    before = get(api, sid)
    r = api.put(f"/api/v2/sessions/{sid}", json=before)
    assert r.status_code == 200, r.text
    assert get(api, sid) == before


def test_refused_put_writes_nothing(api: TestClient) -> None:
    sid = create(api, name="Before", location="Room 1", presenters=[{"name": "Ann"}],
                 fields_of_study=[{"name": "Ethics", "credits": "1"}])
    before = get(api, sid)
    r = api.put(f"/api/v2/sessions/{sid}", json={
        "name": "After", "location": "Room 2", "presenters": [{"name": "Bob"}],
        "fields_of_study": [{"name": "Tax", "credits": "2"}], "end_time": "not a time"})
    refused(r, "end_time")
    assert get(api, sid) == before


def test_refused_put_with_unknown_presenter_id_writes_nothing(api: TestClient) -> None:
    sid = create(api, name="Before", presenters=[{"name": "Ann"}])
    before = get(api, sid)
    r = api.put(f"/api/v2/sessions/{sid}", json={
        "name": "After", "presenters": [{"name": "New Person"}, {"id": "nosuchpresenter"}]})
    refused(r, "presenters[1].id")
    assert get(api, sid) == before
    names = [p["name"] for s in api.get("/api/v2/sessions").json()["data"]["data"]
             for p in s["presenters"] or ()]
    assert "New Person" not in names


def test_unknown_session_is_404_for_every_method(api: TestClient) -> None:
    for r in (api.get("/api/v2/sessions/nope42"),
              api.put("/api/v2/sessions/nope42", json={"name": "X"}),
              api.delete("/api/v2/sessions/nope42"),
              api.get("/api/v2/sessions/nope42/data")):
        assert r.status_code == 404, r.text
        assert r.json()["status"] == "error" and r.json()["code"] == "404"


def test_delete_answers_204_with_no_body_and_the_session_is_gone(
    api: TestClient, settings: Settings
) -> None:
    sid = create(api, name="Doomed", presenters=[{"name": "Ann"}],
                 fields_of_study=[{"name": "Ethics", "credits": "1", "codewords": ["w"]}])
    keep = create(api, name="Stays")
    r = api.delete(f"/api/v2/sessions/{sid}")
    assert r.status_code == 204 and r.content == b""
    assert api.get(f"/api/v2/sessions/{sid}").status_code == 404
    assert api.delete(f"/api/v2/sessions/{sid}").status_code == 404
    listed = api.get("/api/v2/sessions").json()["data"]
    assert [s["id"] for s in listed["data"]] == [keep]
    assert count(settings, T_COUNTERS) == 1


def test_list_has_count_and_data_in_date_time_rank_order(api: TestClient) -> None:
    late = create(api, name="Late", date="2026-01-13", start_time="09:00")
    low = create(api, name="Low rank", date="2026-01-12", start_time="10:00", rank=1)
    high = create(api, name="High rank", date="2026-01-12", start_time="10:00", rank=9)
    early = create(api, name="Early", date="2026-01-12", start_time="8am")
    undated = create(api, name="Undated")
    r = api.get("/api/v2/sessions")
    assert r.status_code == 200
    data = r.json()["data"]
    assert data["count"] == 5
    assert [s["id"] for s in data["data"]] == [early, high, low, late, undated]


def test_list_shows_every_field_like_get(api: TestClient) -> None:
    sid = create(api, **FULL, presenters=[{"name": "Casey Example"}])
    listed = api.get("/api/v2/sessions").json()["data"]["data"]
    assert listed == [get(api, sid)]


def test_empty_list(api: TestClient) -> None:
    r = api.get("/api/v2/sessions")
    assert r.json() == {"status": "ok", "code": "200", "data": {"count": 0, "data": []}}


def test_unknown_fields_are_ignored_and_read_only_ones_too(api: TestClient) -> None:
    sid = create(api, name="X", id="chosen", url="https://elsewhere/", colour="blue")
    assert sid != "chosen"
    assert get(api, sid)["url"] == f"http://testserver/sessions/{sid}"


def test_learning_objectives_and_levels_keep_order_without_repeats(api: TestClient) -> None:
    sid = create(api, name="X", learning_objectives=["b", "a", "b"],
                 registration_levels=["Full", "Full", "Student"])
    data = get(api, sid)
    assert data["learning_objectives"] == ["b", "a"]
    assert data["registration_levels"] == ["Full", "Student"]
    api.put(f"/api/v2/sessions/{sid}", json={"registration_levels": []})
    assert get(api, sid)["registration_levels"] is None
