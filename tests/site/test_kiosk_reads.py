"""A kiosk reads only what its page needs: its session's registered attendees by search
(names, masked emails) and the answer to its own check-ins. It is refused the session's
records (emails, badges, notes), counts and live dashboard, which staff who scan still read."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from hub.auth.cookies import CSRF_COOKIE, KIOSK_COOKIE, STAFF_COOKIE

PW = "correct-horse-42"


def seed(c: TestClient, key: str, method: str, path: str, json: Any = None) -> Any:
    r = c.request(method, "/api/v2" + path, json=json, headers={"API-Key": key})
    assert r.status_code < 300, r.text
    return r.json()["data"]


def csrf(c: TestClient) -> dict[str, str]:
    c.get("/")
    return {"X-CSRF-Token": c.cookies[CSRF_COOKIE]}


def test_a_kiosk_cannot_read_records_counts_or_the_dashboard(
    client: TestClient, api_key: str
) -> None:
    sid = seed(client, api_key, "POST", "/sessions", {"name": "Room A"})["id"]
    seed(client, api_key, "POST", "/attendees", [
        {"external_id": "K1", "first_name": "Kim", "last_name": "Lee", "badge_id": "B-1",
         "email": "kim.lee@example.com", "sessions": [sid]}])
    seed(client, api_key, "POST", "/staff",
         {"email": "door@example.com", "password": PW, "permissions": ["scan"]})
    r = client.post("/auth/kiosk", headers=csrf(client),
                    json={"email": "door@example.com", "password": PW, "session_id": sid})
    assert r.status_code == 200, r.text
    assert KIOSK_COOKIE in client.cookies
    # What the kiosk page uses still works.
    found = client.get("/ui/kiosk/search", params={"q": "kim"}).json()["data"]
    assert [(p["last_name"], p["email_hint"]) for p in found] == [("Lee", "k…@example.com")]
    r = client.post(f"/api/v2/sessions/{sid}/attendance/checkin", headers=csrf(client),
                    json={"external_id": "K1", "source": "kiosk"})
    assert r.status_code == 200, r.text
    # What it does not use is refused.
    for path in (f"/api/v2/sessions/{sid}/attendance", f"/api/v2/sessions/{sid}/counts"):
        r = client.get(path)
        assert r.status_code == 403, (path, r.text)
        assert r.json()["reason"] == "forbidden"
        assert "kim.lee@example.com" not in r.text
    with client.websocket_connect(f"/ws/sessions/{sid}") as ws:
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4403

    # Staff who scan read them, as before.
    client.cookies.delete(KIOSK_COOKIE)
    r = client.post("/auth/staff", headers=csrf(client),
                    json={"email": "door@example.com", "password": PW})
    assert r.status_code == 200 and STAFF_COOKIE in client.cookies
    records = client.get(f"/api/v2/sessions/{sid}/attendance").json()["data"]
    assert records[0]["user"]["email"] == "kim.lee@example.com"
