from __future__ import annotations

from starlette.testclient import TestClient


def test_get_app_shows_unset_fields_as_null(api: TestClient) -> None:
    r = api.get("/api/v2/app")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["code"] == "200"
    assert body["data"]["name"] is None
    assert body["data"]["timezone"] is None


def test_put_then_get(api: TestClient) -> None:
    r = api.put("/api/v2/app", json={"name": "Example Event", "start_date": "January 24, 2019",
                                     "end_date": "2019-01-29", "timezone": "America/Chicago",
                                     "custom_attendee_field_1": "Registration ID"})
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ok", "code": "200", "data": None}
    data = api.get("/api/v2/app").json()["data"]
    assert data["name"] == "Example Event"
    assert data["start_date"] == "2019-01-24"
    assert data["timezone"] == "America/Chicago"
    assert data["custom_attendee_field_1"] == "Registration ID"


def test_put_null_leaves_and_blank_unsets(api: TestClient) -> None:
    api.put("/api/v2/app", json={"name": "Keep", "app_password": "secret"})
    api.put("/api/v2/app", json={"name": None, "app_password": ""})
    data = api.get("/api/v2/app").json()["data"]
    assert data["name"] == "Keep"
    assert data["app_password"] is None


def test_timezone_minus_one_unsets_and_unknown_is_422(api: TestClient) -> None:
    api.put("/api/v2/app", json={"timezone": "Europe/Paris"})
    assert api.put("/api/v2/app", json={"timezone": -1}).status_code == 200
    assert api.get("/api/v2/app").json()["data"]["timezone"] is None
    r = api.put("/api/v2/app", json={"timezone": "Mars/Olympus"})
    assert r.status_code == 422
    assert r.json()["status"] == "error" and "timezone" in r.json()["message"]


def test_refused_put_writes_nothing(api: TestClient) -> None:
    api.put("/api/v2/app", json={"name": "Before"})
    r = api.put("/api/v2/app", json={"name": "After", "start_date": "not a date"})
    assert r.status_code == 422 and "start_date" in r.json()["message"]
    assert api.get("/api/v2/app").json()["data"]["name"] == "Before"


def test_missing_or_unknown_key_is_401(client: TestClient) -> None:
    r = client.get("/api/v2/app")
    assert r.status_code == 401 and r.json()["code"] == "401"
    r = client.get("/api/v2/app", headers={"API-Key": "rc_nope"})
    assert r.status_code == 401


def test_malformed_json_is_400_and_wrong_type_is_422(api: TestClient) -> None:
    r = api.put("/api/v2/app", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "400"
    r = api.put("/api/v2/app", json={"name": 5})
    assert r.status_code == 422 and "name" in r.json()["message"]


def test_body_over_one_mib_is_413(api: TestClient) -> None:
    r = api.put("/api/v2/app", content=b'{"name": "' + b"x" * (1024 * 1024) + b'"}',
                headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["status"] == "error"


def test_healthz_names_database_and_broker(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["database"]["state"] == "ok"
    assert "broker" in body


def test_nul_in_url_is_a_clear_400(api: TestClient) -> None:
    for url in ("/api/v2/sessions/%00/attendance", "/api/v2/attendees?q=%00",
                "/api/v2/sessions/%00/counts"):
        r = api.get(url)
        assert r.status_code == 400, url
        assert r.json()["status"] == "error" and "NUL" in r.json()["message"]
