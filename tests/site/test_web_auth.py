"""Browser sign-in, CSRF protection and the page-data routes, through HTTP (both databases).

The browser tests drive the same routes from Chromium; these check the rules one by one.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from hub.auth.cookies import CSRF_COOKIE, KIOSK_COOKIE, STAFF_COOKIE

PW = "correct-horse-42"


@pytest.fixture
def web(client: TestClient, api_key: str) -> Any:
    """The client as a browser (cookies, CSRF token), plus an API-key helper for seeding."""

    class Web:
        c = client

        def seed(self, method: str, path: str, json: Any = None) -> Any:
            r = client.request(method, "/api/v2" + path, json=json, headers={"API-Key": api_key})
            assert r.status_code < 300, r.text
            return r.json()["data"]

        def csrf(self) -> dict[str, str]:
            client.get("/")  # the page sets the double-submit cookie
            return {"X-CSRF-Token": client.cookies[CSRF_COOKIE]}

        def post(self, path: str, json: Any = None) -> Any:
            return client.post(path, json=json, headers=self.csrf())

    return Web()


def staff(web: Any, email: str, *perms: str) -> None:
    web.seed("POST", "/staff", {"email": email, "password": PW, "permissions": list(perms)})


def test_pages_carry_csp_and_a_csrf_cookie(web: Any) -> None:
    r = web.c.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    assert CSRF_COOKIE in r.cookies
    assert web.c.get("/static/js/common.js").headers["content-type"].startswith(
        ("text/javascript", "application/javascript"))
    assert web.c.get("/static/vendor/jsqr/LICENSE").status_code == 200


def test_staff_login_sets_an_httponly_signed_cookie(web: Any) -> None:
    staff(web, "s@example.com", "scan")
    r = web.post("/auth/staff", {"email": "S@example.com", "password": PW})
    assert r.status_code == 200, r.text
    cookie = r.headers["set-cookie"]
    assert STAFF_COOKIE in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    me = web.c.get("/auth/me").json()["data"]
    assert me["staff"]["email"] == "s@example.com" and me["staff"]["permissions"] == ["scan"]
    web.post("/auth/logout")
    assert web.c.get("/auth/me").json()["data"]["staff"] is None


def test_wrong_password_is_401_and_a_forged_cookie_is_ignored(web: Any) -> None:
    staff(web, "s@example.com", "admin")
    r = web.post("/auth/staff", {"email": "s@example.com", "password": "nope-nope"})
    assert r.status_code == 401 and r.json()["status"] == "error"
    web.c.cookies.set(STAFF_COOKIE, "not-signed")
    assert web.c.get("/api/v2/app").status_code == 401


def test_cookie_requests_that_change_state_need_the_csrf_token(web: Any) -> None:
    staff(web, "boss@example.com", "admin")
    assert web.post("/auth/staff", {"email": "boss@example.com", "password": PW}).status_code == 200
    # A cross-site form post carries the cookie but cannot set the header.
    r = web.c.put("/api/v2/app", json={"name": "Hijacked"})
    assert r.status_code == 403 and r.json()["reason"] == "csrf"
    r = web.c.put("/api/v2/app", json={"name": "Hijacked"}, headers={"X-CSRF-Token": "guess"})
    assert r.status_code == 403
    assert web.c.get("/api/v2/app").json()["data"]["name"] is None
    r = web.c.put("/api/v2/app", json={"name": "Mine"}, headers=web.csrf())
    assert r.status_code == 200
    # Login itself is protected too (no login CSRF).
    web.c.cookies.clear()
    r = web.c.post("/auth/staff", json={"email": "boss@example.com", "password": PW})
    assert r.status_code == 403 and r.json()["reason"] == "csrf"


def test_api_key_callers_need_no_csrf_token(web: Any) -> None:
    web.seed("PUT", "/app", {"name": "By key"})
    assert web.seed("GET", "/app")["name"] == "By key"


def test_attendee_identifies_by_email_or_labelled_field_and_app_password(web: Any) -> None:
    web.seed("PUT", "/app", {"custom_attendee_field_1": "Registration ID",
                             "app_password": "conf2026"})
    web.seed("POST", "/attendees", [
        {"external_id": "X1", "email": "Ada@Example.com", "first_name": "Ada",
         "field_1": "REG-77", "field_2": "North"},
        {"external_id": "X2", "email": "bob@example.com", "field_2": "North"},
    ])
    assert web.c.get("/ui/event").json()["data"]["identify_with"] == [
        {"key": "email", "label": "Email"}, {"key": "field_1", "label": "Registration ID"}]
    r = web.post("/auth/attendee", {"identifier": "ada@example.com"})
    assert r.status_code == 401  # the event password is missing
    r = web.post("/auth/attendee", {"identifier": "ada@example.com", "app_password": "nope"})
    assert r.status_code == 401
    r = web.post("/auth/attendee", {"identifier": "reg-77", "app_password": "conf2026"})
    assert r.status_code == 200 and r.json()["data"]["attendee"]["first_name"] == "Ada"
    assert web.c.get("/auth/me").json()["data"]["attendee"]["first_name"] == "Ada"
    # field_2 has no label: it identifies nobody.
    r = web.post("/auth/attendee", {"identifier": "North", "app_password": "conf2026"})
    assert r.status_code == 404 and r.json()["reason"] == "unknown_attendee"


def test_kiosk_locks_the_browser_to_its_session(web: Any) -> None:
    sid = web.seed("POST", "/sessions", {"name": "Room A", "checkin_code": "SECRET"})["id"]
    other = web.seed("POST", "/sessions", {"name": "Room B"})["id"]
    web.seed("POST", "/attendees", [
        {"external_id": "K1", "first_name": "Kim", "last_name": "Lee",
         "email": "kim@example.com", "sessions": [sid]},
        {"external_id": "K2", "first_name": "Kim", "last_name": "Elsewhere", "sessions": [other]},
    ])
    staff(web, "scanner@example.com", "scan")
    staff(web, "mod@example.com", "moderate")
    r = web.post("/auth/kiosk", {"email": "mod@example.com", "password": PW, "session_id": sid})
    assert r.status_code == 403  # opening a kiosk needs scan
    r = web.post("/auth/kiosk", {"email": "scanner@example.com", "password": PW,
                                 "session_id": sid})
    assert r.status_code == 200
    assert KIOSK_COOKIE in web.c.cookies and STAFF_COOKIE not in web.c.cookies
    found = web.c.get("/ui/kiosk/search", params={"q": "kim"}).json()["data"]
    assert [(p["last_name"], p["ref"]) for p in found] == [("Lee", {"external_id": "K1"})]
    assert found[0]["email_hint"] == "k…@example.com"
    # No code at the kiosk, even though the session has one.
    r = web.c.post(f"/api/v2/sessions/{sid}/attendance/checkin",
                   json={"external_id": "K1", "source": "kiosk"}, headers=web.csrf())
    assert r.status_code == 200, r.text
    assert r.json()["data"]["record"]["checkin_source"] == "kiosk"
    # Locked: not another session's door, not the staff pages' data, not logout.
    r = web.c.post(f"/api/v2/sessions/{other}/attendance/checkin",
                   json={"external_id": "K2"}, headers=web.csrf())
    assert r.status_code == 403
    assert web.c.get("/ui/staff/sessions").status_code == 403
    web.post("/auth/logout")
    assert web.c.get("/auth/me").json()["data"]["kiosk"] == {"session_id": sid}
    assert web.post("/auth/kiosk/exit", {"password": "wrong-one"}).status_code == 401
    assert web.post("/auth/kiosk/exit", {"password": PW}).status_code == 200
    assert web.c.get("/auth/me").json()["data"]["kiosk"] is None


def test_schedule_is_public_ordered_and_hides_codes_and_hidden_sessions(web: Any) -> None:
    web.seed("POST", "/sessions", {"name": "Late", "date": "2026-05-02", "start_time": "09:00"})
    web.seed("POST", "/sessions", {"name": "Low rank", "date": "2026-05-01",
                                   "start_time": "10:00", "rank": 1})
    web.seed("POST", "/sessions", {"name": "High rank", "date": "2026-05-01",
                                   "start_time": "10:00", "rank": 9, "checkin_code": "TOPSECRET",
                                   "moderator_password": "modpw",
                                   "credit_url": "https://ce.example.com/claim"})
    hidden = web.seed("POST", "/sessions", {"name": "Green room", "date": "2026-05-01",
                                            "start_time": "08:00", "hidden": True})["id"]
    r = web.c.get("/ui/schedule")
    assert r.status_code == 200
    data = r.json()["data"]
    assert [s["name"] for s in data] == ["High rank", "Low rank", "Late"]
    assert "TOPSECRET" not in r.text and "modpw" not in r.text
    assert data[0]["has_checkin_code"] is True
    assert data[0]["credit_url"] == "https://ce.example.com/claim"
    one = web.c.get(f"/ui/sessions/{hidden}").json()["data"]  # reachable by its URL
    assert one["name"] == "Green room" and one["me"] is None and "counts" not in one
    assert web.c.get("/ui/sessions/nope").status_code == 404


def test_single_session_event_names_it(web: Any) -> None:
    sid = web.seed("POST", "/sessions", {"name": "The only one"})["id"]
    web.seed("POST", "/sessions", {"name": "Backstage", "hidden": True})
    assert web.c.get("/ui/event").json()["data"]["single_session_id"] == sid


def test_admin_routes_need_admin_and_keys_show_once(web: Any) -> None:
    staff(web, "scan@example.com", "scan")
    assert web.post("/auth/staff", {"email": "scan@example.com", "password": PW}).status_code == 200
    assert web.c.get("/admin/api/keys").status_code == 403
    staff(web, "boss@example.com", "admin")
    web.post("/auth/staff", {"email": "boss@example.com", "password": PW})
    r = web.c.post("/admin/api/keys", json={"description": "sync"})
    assert r.status_code == 403  # no CSRF token
    r = web.post("/admin/api/keys", {"description": "sync"})
    assert r.status_code == 201
    key, kid = r.json()["data"]["key"], r.json()["data"]["id"]
    listed = web.c.get("/admin/api/keys").json()["data"]
    assert key not in str(listed) and any(k["id"] == kid for k in listed)
    assert web.c.get("/api/v2/app", headers={"API-Key": key}).status_code == 200
    assert web.post(f"/admin/api/keys/{kid}/disable").status_code == 200
    assert web.c.get("/api/v2/app", headers={"API-Key": key}).status_code == 401
    assert web.post("/admin/api/keys", {"description": "  "}).status_code == 422


def test_attendance_csv_defuses_formulas(web: Any) -> None:
    sid = web.seed("POST", "/sessions", {"name": "CSV", "start_time": "09:00",
                                         "end_time": "10:00"})["id"]
    web.seed("POST", "/attendees", [{"external_id": "C1", "first_name": "=HYPERLINK(1)",
                                     "last_name": "Doe", "badge_id": "B1", "sessions": [sid]}])
    web.seed("POST", f"/sessions/{sid}/attendance/checkin", {"badge_id": "B1"})
    staff(web, "boss@example.com", "admin")
    web.post("/auth/staff", {"email": "boss@example.com", "password": PW})
    r = web.c.get(f"/admin/api/sessions/{sid}/attendance.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("badge_id,external_id,last_name,first_name")
    assert lines[1].startswith("B1,C1,Doe,'=HYPERLINK(1)")
    assert web.c.get("/admin/api/sessions/nope/attendance.csv").status_code == 404
