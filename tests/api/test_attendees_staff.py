"""/api/v2/staff: admins create, list and change staff users."""

from __future__ import annotations

from starlette.testclient import TestClient

from hub.auth.cookies import STAFF_COOKIE
from hub.config import Settings
from tests.door.kit import make_staff, sign_in


def test_create_list_change(api: TestClient) -> None:
    r = api.post("/api/v2/staff", json={"email": "Door@Example.com",
                                        "permissions": "scan,override"})
    assert r.status_code == 200, r.text
    created = r.json()["data"]
    assert created["email"] == "door@example.com"
    assert created["permissions"] == ["scan", "override"]
    assert len(created["password"]) >= 12  # generated, shown once
    r = api.post("/api/v2/staff", json={"email": "door@example.com", "password": "x" * 8})
    assert r.status_code == 409
    listed = api.get("/api/v2/staff").json()["data"]
    assert [s["email"] for s in listed] == ["door@example.com"]
    assert "password" not in listed[0]
    r = api.put(f"/api/v2/staff/{created['id']}", json={"permissions": ["scan"],
                                                         "disabled": True})
    assert r.json()["data"]["permissions"] == ["scan"] and r.json()["data"]["disabled"] is True
    assert api.put("/api/v2/staff/999", json={}).status_code == 404


def test_bad_input(api: TestClient) -> None:
    r = api.post("/api/v2/staff", json={"email": "a@b.c", "permissions": ["fly"]})
    assert r.status_code == 422 and "permissions" in r.json()["message"]
    r = api.post("/api/v2/staff", json={"email": "a@b.c", "password": "short"})
    assert r.status_code == 422 and "password" in r.json()["message"]
    r = api.post("/api/v2/staff", json={"email": "not-an-email"})
    assert r.status_code == 422


def test_only_admins(api: TestClient, settings: Settings) -> None:
    scanner = make_staff(settings.database, "s@example.com", ["scan"])
    sign_in(api, STAFF_COOKIE, {"sid": scanner})
    assert api.get("/api/v2/staff").status_code == 403
    admin = make_staff(settings.database, "admin@example.com", ["admin"])
    sign_in(api, STAFF_COOKIE, {"sid": admin})
    assert api.get("/api/v2/staff").status_code == 200
    r = api.post("/api/v2/staff", json={"email": "new@example.com", "password": "long-enough"})
    assert r.status_code == 200 and r.json()["data"]["password"] is None
