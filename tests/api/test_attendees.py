"""POST/GET /api/v2/attendees: upsert by external_id else email, registration, schedule."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from hub.config import Settings
from tests.door.kit import make_session


def post(api: TestClient, items: list[dict[str, Any]]) -> Any:
    return api.post("/api/v2/attendees", json=items)


def test_upsert_by_external_id_then_email_any_case(api: TestClient) -> None:
    r = post(api, [
        {"external_id": "E1", "first_name": "Alex", "email": "alex@example.com",
         "badge_id": "B1", "registration_level": "Full", "field_1": "North"},
        {"email": "Sam@Example.com", "first_name": "Sam"},
    ])
    assert r.json() == {"status": "ok", "code": "200", "data": {"count": 2}}, r.text
    r = post(api, [
        {"external_id": "E1", "last_name": "Example"},  # by external id: fills a field
        {"email": "SAM@example.COM", "last_name": "Smith"},  # by email, any case
        {"external_id": "E2", "email": "sam@example.com"},  # adopts Sam (no external id yet)
    ])
    assert r.json()["data"] == {"count": 2}
    data = api.get("/api/v2/attendees").json()["data"]
    assert data["count"] == 2
    people = {a["first_name"]: a for a in data["attendees"]}
    assert people["Alex"]["last_name"] == "Example" and people["Alex"]["field_1"] == "North"
    assert people["Sam"]["last_name"] == "Smith" and people["Sam"]["external_id"] == "E2"


def test_sessions_register_and_schedule(api: TestClient, settings: Settings) -> None:
    s1 = make_session(settings.database, name="Keynote")
    s2 = make_session(settings.database, name="Workshop")
    r = post(api, [{"external_id": "E1", "email": "a@example.com", "sessions": [s1, s2]},
                   {"external_id": "E2", "sessions": [s1]}])
    assert r.status_code == 200, r.text
    post(api, [{"external_id": "E2", "sessions": [s1]}])  # again: counted once
    counts = api.get(f"/api/v2/sessions/{s1}/counts").json()["data"]
    assert counts["registered"] == 2
    api.post(f"/api/v2/sessions/{s2}/attendance/checkin", json={"external_id": "E1"})
    one = api.get("/api/v2/attendees/E1").json()["data"]
    assert one["external_id"] == "E1"
    by_name = {s["name"]: s for s in one["schedule"]}
    assert set(by_name) == {"Keynote", "Workshop"}
    assert by_name["Workshop"]["in_room"] is True and by_name["Workshop"]["checkin_time"]
    assert by_name["Keynote"]["registered"] is True and by_name["Keynote"]["checkin_time"] is None
    r = post(api, [{"external_id": "E3", "sessions": ["nosuch"]}])
    assert r.status_code == 422 and "sessions" in r.json()["message"]
    assert api.get("/api/v2/attendees/E3").status_code == 404


def test_list_search_and_paging(api: TestClient) -> None:
    post(api, [{"external_id": f"P{i:02d}", "first_name": "Pat", "last_name": f"L{i:02d}"}
               for i in range(12)] + [{"external_id": "Q1", "first_name": "Quinn"}])
    data = api.get("/api/v2/attendees", params={"q": "pAt", "limit": 5, "offset": 10}).json()
    assert data["data"]["count"] == 12
    assert [a["last_name"] for a in data["data"]["attendees"]] == ["L10", "L11"]
    assert api.get("/api/v2/attendees", params={"q": "q1"}).json()["data"]["count"] == 1
    r = api.get("/api/v2/attendees", params={"limit": "lots"})
    assert r.status_code == 422 and "limit" in r.json()["message"]


def test_refusals_write_nothing(api: TestClient) -> None:
    r = post(api, [{"external_id": "E1", "badge_id": "B1"}, {"first_name": "No keys"}])
    assert r.status_code == 422 and "[1]" in r.json()["message"]
    r = post(api, [{"external_id": "E1", "badge_id": "B1"}, {"external_id": "E2",
                                                              "badge_id": "B1"}])
    assert r.status_code == 422 and "badge_id" in r.json()["message"]
    assert api.get("/api/v2/attendees").json()["data"]["count"] == 0
    post(api, [{"external_id": "E1", "badge_id": "B1"}])
    r = post(api, [{"external_id": "E2", "badge_id": "B1"}])
    assert r.status_code == 409 and r.json()["status"] == "error"
    r = post(api, [{"external_id": 5}])
    assert r.status_code == 422


def test_attendees_need_admin(client: TestClient) -> None:
    assert client.get("/api/v2/attendees").status_code == 401
