"""CE credit around the door, over HTTP and the attendee's WebSocket, on SQLite and
PostgreSQL: CE minutes in the credit rule, self-reports (a completed record, never a presence),
every session status with its transitions and pushes, claimed credit and self-registration."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from hub.app import create_app
from hub.auth.cookies import ATTENDEE_COOKIE, Signer
from hub.config import Settings
from tests.door.kit import attendee_id, make_attendees, make_session, sign_in

PUBLIC = "https://rollcall.example.org"
CLAIM = "https://ce.example.com/claim?s=ethics"
YESTERDAY = dt.date.today() - dt.timedelta(days=1)


@pytest.fixture
def app_client(settings: Settings, api_key: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """A browser-like client (signed in as an attendee later) and the API key's headers; the
    hub's public URL is https, so the register action is offered."""
    https = dataclasses.replace(settings, public_url=PUBLIC)
    with TestClient(create_app(https), base_url=PUBLIC, raise_server_exceptions=False) as c:
        yield c, {"API-Key": api_key}


def ok(r: Any) -> Any:
    assert r.status_code == 200, r.text
    return r.json()["data"]


def refused(r: Any, reason: str, status: int = 409) -> None:
    assert r.status_code == status, r.text
    assert r.json()["reason"] == reason


def status(c: TestClient, key: dict[str, str], sid: str, ext: str = "A0001") -> Any:
    return ok(c.get(f"/api/v2/sessions/{sid}/status", params={"external_id": ext}, headers=key))


def test_every_state_and_its_pushes(app_client: tuple[TestClient, dict[str, str]],
                                    settings: Settings) -> None:
    c, key = app_client
    db = settings.database
    sid = make_session(db, date=YESTERDAY, start_time=dt.time(9), end_time=dt.time(9, 40),
                       ce_minutes=60, credit_url=CLAIM, checkin_code="ETH1", capacity=0,
                       fields=[("Ethics", "1.5", [])])
    make_attendees(db, 2)
    ok(c.put("/api/v2/app/credit-rule", json={"prorate": True}, headers=key))

    assert status(c, key, sid) == {"state": "not_registered",
                                   "message": "Not registered for this session",
                                   "action": None, "action_url": None}
    ok(c.put(f"/api/v2/sessions/{sid}", json={"self_registration": True}, headers=key))
    assert status(c, key, sid)["action"] == "register"
    assert status(c, key, sid)["action_url"] == f"{PUBLIC}/sessions/{sid}"

    sign_in(c, ATTENDEE_COOKIE, {"aid": attendee_id(db, "A0001")})
    with c.websocket_connect(f"/ws/attendee/{sid}") as ws:
        assert ws.receive_json()["type"] == "me"

        def pushed() -> dict[str, Any]:
            for _ in range(20):
                frame = ws.receive_json()
                if frame["type"] == "session_status":
                    return {k: frame.get(k) for k in ("state", "message", "action", "action_url")}
            raise AssertionError("no session_status frame")

        mine = ok(c.post(f"/api/v2/sessions/{sid}/register"))
        assert mine["state"] == "registered" and mine["action"] is None
        assert pushed() == mine
        assert ok(c.get(f"/api/v2/sessions/{sid}/status")) == mine  # the attendee asks

        report = f"/api/v2/sessions/{sid}/attendance/self-report"
        refused(c.post(report, json={}), "code_required")
        refused(c.post(report, json={"code": "nope"}), "code_invalid")
        rec = ok(c.post(report, json={"code": "eth1"}))["record"]
        # The scheduled times, completed, never in the room (capacity 0 does not matter).
        assert (rec["checkin_source"], rec["checkout_source"]) == ("self-report", "self-report")
        assert rec["in_room"] is False and rec["total_time_attended"] == "00:40:00"
        assert rec["checkin_time"].startswith(f"{YESTERDAY}T09:00")
        assert rec["checkout_time"].startswith(f"{YESTERDAY}T09:40")
        # Prorated over the 60 CE minutes: 40/60 of 1.5.
        assert rec["fields_of_study"][0]["credits"] == 1
        available = pushed()
        assert available == {"state": "credit_available",
                             "message": "Your CE credit is ready to claim",
                             "action": "claim_credit", "action_url": CLAIM}
        refused(c.post(report, json={"code": "ETH1"}), "already_checked_in")

        claimed = ok(c.post(f"/api/v2/sessions/{sid}/attendance/claimed",
                            json={"external_id": "A0001"}, headers=key))
        assert claimed["state"] == "credit_claimed" and claimed["action"] is None
        assert pushed() == claimed
    counts = ok(c.get(f"/api/v2/sessions/{sid}/counts", headers=key))
    assert (counts["registered"], counts["checked_in"], counts["in_room"]) == (1, 1, 0)
    refused(c.post(f"/api/v2/sessions/{sid}/attendance/claimed", json={"external_id": "A0002"},
                   headers=key), "not_checked_in")

    # A door check-in and check-out where there is no credit to claim.
    plain = make_session(db, capacity=5)
    door = f"/api/v2/sessions/{plain}/attendance"
    ok(c.post(f"{door}/checkin", json={"external_id": "A0002"}, headers=key))
    assert status(c, key, plain, "A0002")["state"] == "checked_in"
    ok(c.post(f"{door}/checkout", json={"external_id": "A0002"}, headers=key))
    assert status(c, key, plain, "A0002")["state"] == "checked_out"

    refused(c.get(f"/api/v2/sessions/{sid}/status", params={"external_id": "nobody"},
                  headers=key), "unknown_attendee", 404)
    refused(c.get(f"/api/v2/sessions/{sid}/status", headers=key), "invalid", 422)
    refused(c.get("/api/v2/sessions/nosuch/status", params={"external_id": "A0001"},
                  headers=key), "not_found", 404)


def test_messages_self_registration_and_self_report_rules(
        app_client: tuple[TestClient, dict[str, str]], settings: Settings) -> None:
    c, key = app_client
    db = settings.database
    refused(c.put("/api/v2/app", json={"status_messages": {"registered": "x" * 36}},
                  headers=key), "invalid", 422)
    refused(c.put("/api/v2/app", json={"status_messages": {"lost": "Hi"}}, headers=key),
            "invalid", 422)
    ok(c.put("/api/v2/app", json={"status_messages": {"registered": " See you there "},
                                  "self_report_credit": False}, headers=key))
    got = ok(c.get("/api/v2/app", headers=key))
    assert got["status_messages"]["registered"] == "See you there"
    assert got["status_messages"]["checked_in"] == "You are checked in"
    assert got["self_report_credit"] is False

    closed = make_session(db, date=YESTERDAY, start_time=dt.time(9), end_time=dt.time(10),
                          credit_url=CLAIM, delivery_format="hybrid",
                          fields=[("Tax", "2", [])])
    later = make_session(db, date=dt.date.today() + dt.timedelta(days=2),
                         start_time=dt.time(9))
    make_attendees(db, 1, register=[closed])
    assert status(c, key, closed)["message"] == "See you there"
    sign_in(c, ATTENDEE_COOKIE, {"aid": attendee_id(db, "A0001")})
    refused(c.post(f"/api/v2/sessions/{closed}/register"), "self_registration_closed", 403)
    refused(c.post(f"/api/v2/sessions/{later}/attendance/self-report", json={}), "not_started")
    report = f"/api/v2/sessions/{closed}/attendance/self-report"
    refused(c.post(report, json={}), "delivery_format_required")
    rec = ok(c.post(report, json={"delivery_format": "virtual"}))["record"]
    # Self-reports earn nothing while the event says so: attended, no credit to claim.
    assert rec["delivery_format"] == "virtual"
    assert rec["fields_of_study"][0]["credits"] == 0
    assert ok(c.get(f"/api/v2/sessions/{closed}/status"))["state"] == "checked_out"
    # The door no longer takes self-reports as live check-ins.
    refused(c.post(f"/api/v2/sessions/{closed}/attendance/checkin",
                   json={"source": "self-report"}), "invalid", 422)
    # Only the attendee themself, an admin or an API key.
    c.cookies.clear()
    refused(c.post(report, json={}), "unauthorized", 401)


def test_link_hand_off_signs_the_attendee_in_and_stands_in_for_a_key(
        app_client: tuple[TestClient, dict[str, str]], settings: Settings) -> None:
    c, key = app_client
    db = settings.database
    sid = make_session(db)
    make_attendees(db, 1, register=[sid])
    link = ok(c.post("/api/v2/attendees/A0001/link", json={"minutes": 5, "session_id": sid},
                     headers=key))
    assert link["url"] == f"{PUBLIC}/link/{link['token']}?next=%2Fsessions%2F{sid}"
    refused(c.post("/api/v2/attendees/A0001/link", json={"minutes": 0}, headers=key),
            "invalid", 422)
    refused(c.post("/api/v2/attendees/nobody/link", json={}, headers=key),
            "unknown_attendee", 404)
    refused(c.post("/api/v2/attendees/A0001/link", json={}), "unauthorized", 401)

    # The widget's status request carries the token instead of an API key.
    mine = ok(c.get(f"/api/v2/sessions/{sid}/status", params={"token": link["token"]}))
    assert mine["state"] == "registered"
    # Opening the link signs the browser in and lands on the session's page.
    opened = c.get(link["url"], follow_redirects=False)
    assert (opened.status_code, opened.headers["location"]) == (303, f"/sessions/{sid}")
    assert ok(c.get(f"/api/v2/sessions/{sid}/status")) == mine
    assert ok(c.get("/auth/me"))["attendee"]["first_name"] == "First1"

    token = link["token"]
    tampered = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
    expired = c.app.state.hub.signer.link_token(attendee_id(db, "A0001"),  # type: ignore[attr-defined]
                                                int(dt.datetime.now().timestamp()) - 1)
    foreign = Signer("another-secret-key-42").link_token(attendee_id(db, "A0001"),
                                                         int(dt.datetime.now().timestamp()) + 60)
    for bad, reason in ((tampered, "link_invalid"), (expired, "link_expired"),
                        (foreign, "link_invalid"), ("not-a-token", "link_invalid")):
        refused(c.get(f"/api/v2/sessions/{sid}/status", params={"token": bad}), reason, 401)
        c.cookies.clear()
        page = c.get(f"/link/{bad}", follow_redirects=False)
        assert page.status_code == 401 and "rollcall_attendee" not in page.headers.get(
            "set-cookie", "")
    assert "expired" in c.get(f"/link/{expired}").text
