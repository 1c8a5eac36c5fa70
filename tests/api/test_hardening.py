"""Hostile or broken input: every JSON answer says nosniff, ids out of range are 404, a
session's time zone and times are checked, and /healthz keeps failures' details for the log."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from hub.app import create_app
from hub.config import Settings, parse_database_url
from storage.engine import migrate
from storage.tables import T_SESSIONS
from tests.api.rows import count
from tests.conftest import SECRET
from tests.servers import create_database, drop_database


def test_every_json_answer_says_nosniff(api: TestClient, client: TestClient) -> None:
    sid = api.post("/api/v2/sessions", json={"name": "Room"}).json()["data"]["id"]
    api.post("/api/v2/attendees", json=[{"external_id": "A1", "first_name": "Ada"}])
    answers: dict[str, Any] = {
        "ok": api.get("/api/v2/app"),
        "created": api.post("/api/v2/sessions", json={"name": "Other"}),
        "door (a stored answer's bytes)": api.post(
            f"/api/v2/sessions/{sid}/attendance/checkin", json={"external_id": "A1"}),
        "door refusal": api.post(f"/api/v2/sessions/{sid}/attendance/checkin",
                                 json={"external_id": "A1"}),
        "unknown session": api.get("/api/v2/sessions/nosuch"),
        "unknown route": api.get("/api/v2/nothing-here"),
        "wrong method": api.patch("/api/v2/app", json={}),
        "malformed JSON": api.post("/api/v2/sessions", content=b"{",
                                   headers={"Content-Type": "application/json"}),
        "wrong type": api.post("/api/v2/sessions", json={"name": 5}),
        "not JSON": api.post("/api/v2/sessions", content=b"name=x",
                             headers={"Content-Type": "text/plain"}),
        "NUL in the URL": api.get("/api/v2/sessions/a%00b"),
        "openapi": api.get("/api/v2/openapi.json"),
        "reasons": api.get("/api/v2/reasons"),
        "healthz": api.get("/healthz"),
    }
    del client.headers["API-Key"]
    answers["no key"] = client.get("/api/v2/app")
    for what, r in answers.items():
        assert r.headers["content-type"].startswith("application/json"), what
        assert r.headers.get("x-content-type-options") == "nosniff", (what, r.status_code)
    assert {r.status_code for r in answers.values()} >= {200, 201, 400, 401, 404, 405, 409,
                                                          415, 422}


@pytest.mark.parametrize("path", [
    "/api/v2/staff/1180591620717411303424",
    "/api/v2/staff/2147483648",
    "/api/v2/staff/0",
    "/api/v2/staff/-1",
    "/api/v2/staff/%C2%B2",
])
def test_a_staff_id_out_of_range_is_404(api: TestClient, path: str) -> None:
    r = api.put(path, json={"name": "Nobody"})
    assert r.status_code == 404, r.text
    assert r.json()["reason"] == "not_found"


@pytest.mark.parametrize("key_id", [str(2**70), str(2**31), "0", "-1", "%C2%B2"])
def test_an_api_key_id_out_of_range_is_404(api: TestClient, key_id: str) -> None:
    r = api.post(f"/admin/api/keys/{key_id}/disable")
    assert r.status_code == 404, r.text
    assert r.json()["reason"] == "not_found"
    assert api.get("/api/v2/app").status_code == 200  # no key was disabled


def _session(api: TestClient) -> str:
    r = api.post("/api/v2/sessions", json={"name": "Room", "start_time": "09:00"})
    assert r.status_code == 201, r.text
    return str(r.json()["data"]["id"])


@pytest.mark.parametrize("tz", ["Mars/Olympus", "UTC+25", "", 5, "America/Chicago/x"])
def test_a_session_time_zone_that_is_no_zone_is_422(api: TestClient, tz: Any) -> None:
    sid = _session(api)
    if tz == "":
        # "" unsets, as everywhere: a session has no zone to unset, so it changes nothing.
        assert api.put(f"/api/v2/sessions/{sid}", json={"timezone": tz}).status_code == 200
        return
    r = api.put(f"/api/v2/sessions/{sid}", json={"name": "Renamed", "timezone": tz})
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "timezone"
    assert api.get(f"/api/v2/sessions/{sid}").json()["data"]["name"] == "Room"


@pytest.mark.parametrize("tz", ["America/Chicago", "UTC", -1, "-1"])
def test_a_session_accepts_a_real_time_zone(api: TestClient, tz: Any) -> None:
    sid = _session(api)
    r = api.put(f"/api/v2/sessions/{sid}", json={"name": "Renamed", "timezone": tz})
    assert r.status_code == 200, r.text
    assert api.get(f"/api/v2/sessions/{sid}").json()["data"]["name"] == "Renamed"


@pytest.mark.parametrize("value", ["13pm", "0am", "13:30 PM", "8.30pm", "8h", "２０:００",
                                   "12:60pm", "24:00"])
def test_a_time_that_is_no_time_of_day_is_422(api: TestClient, settings: Settings,
                                              value: str) -> None:
    sid = _session(api)
    r = api.put(f"/api/v2/sessions/{sid}", json={"start_time": value})
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "start_time"
    assert api.get(f"/api/v2/sessions/{sid}").json()["data"]["start_time"] == "09:00:00"
    r = api.post("/api/v2/sessions", json={"name": "New", "end_time": value})
    assert r.status_code == 422 and r.json()["field"] == "end_time"
    assert count(settings, T_SESSIONS) == 1


@pytest.mark.parametrize(("sent", "stored"), [
    ("12am", "00:00:00"), ("12pm", "12:00:00"), ("12:30 AM", "00:30:00"),
    ("8:30 p.m.", "20:30:00"), ("8 pm", "20:00:00"), ("23:59", "23:59:00"),
    ("0:05", "00:05:00"),
])
def test_am_pm_and_24_hour_times(api: TestClient, sent: str, stored: str) -> None:
    sid = _session(api)
    assert api.put(f"/api/v2/sessions/{sid}", json={"start_time": sent}).status_code == 200
    assert api.get(f"/api/v2/sessions/{sid}").json()["data"]["start_time"] == stored


@pytest.fixture
def doomed_database(pg_server: str) -> Iterator[tuple[str, Settings]]:
    """A PostgreSQL database of its own, for the test to drop under a running hub."""
    url = create_database(pg_server)
    db = parse_database_url(url)
    migrate(db)
    yield url, Settings(database=db, public_url="http://testserver", secret_key=SECRET)
    drop_database(pg_server, url)


def test_healthz_keeps_the_databases_error_for_the_log(
    pg_server: str, doomed_database: tuple[str, Settings], caplog: pytest.LogCaptureFixture
) -> None:
    url, settings = doomed_database
    name = url.rpartition("/")[2]
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        assert c.get("/healthz").status_code == 200
        drop_database(pg_server, url)
        with caplog.at_level(logging.WARNING, logger="rollcall"):
            r = c.get("/healthz")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "unavailable"
    assert body["database"] == {"state": "unreachable", "dialect": "postgresql"}
    assert name not in r.text and "error" not in r.text.lower()
    assert any(name in rec.getMessage() for rec in caplog.records), caplog.text


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
@pytest.mark.parametrize("value", ["٣", "²", "１０", "1_0", "+3", "-1", "9" * 19])
def test_a_query_number_is_ascii_digits_only(api: TestClient, value: str) -> None:
    r = api.get("/api/v2/attendees", params={"limit": "5", "offset": value})
    assert r.status_code == 422, r.text
    assert r.json()["reason"] == "invalid" and r.json()["message"].startswith("offset:")
