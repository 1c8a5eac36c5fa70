"""Guessing passwords: failed sign-ins are limited per address (and per staff email), with a
429 in the envelope and Retry-After; with Redis, every worker shares the count."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest
from starlette.testclient import TestClient

from hub.app import create_app
from hub.auth.cookies import CSRF_COOKIE
from hub.config import Settings

PW = "correct-horse-42"


def csrf(c: TestClient) -> dict[str, str]:
    c.get("/")
    return {"X-CSRF-Token": c.cookies[CSRF_COOKIE]}


def seed_staff(c: TestClient, api_key: str, email: str) -> None:
    r = c.post("/api/v2/staff", headers={"API-Key": api_key},
               json={"email": email, "password": PW, "permissions": ["scan"]})
    assert r.status_code < 300, r.text


def login(c: TestClient, email: str, password: str) -> Any:
    return c.post("/auth/staff", json={"email": email, "password": password}, headers=csrf(c))


def assert_limited(r: Any) -> None:
    assert r.status_code == 429, r.text
    body = r.json()
    assert body["status"] == "error" and body["code"] == "429"
    assert body["reason"] == "too_many_attempts" and "Try again in" in body["message"]
    assert 0 < int(r.headers["retry-after"]) <= 15 * 60


def test_ten_wrong_staff_passwords_then_even_the_right_one_waits(
    client: TestClient, api_key: str
) -> None:
    seed_staff(client, api_key, "door@example.com")
    seed_staff(client, api_key, "other@example.com")
    for _ in range(10):
        assert login(client, "door@example.com", "guess").status_code == 401
    assert_limited(login(client, "DOOR@example.com", PW))
    assert_limited(client.post("/auth/kiosk", headers=csrf(client), json={
        "email": "door@example.com", "password": PW, "session_id": "x"}))
    # Another account from the same address is not locked out by these failures.
    assert login(client, "other@example.com", PW).status_code == 200


def test_a_successful_sign_in_clears_the_count(client: TestClient, api_key: str) -> None:
    seed_staff(client, api_key, "forgetful@example.com")
    for _ in range(9):
        assert login(client, "forgetful@example.com", "guess").status_code == 401
    assert login(client, "forgetful@example.com", PW).status_code == 200
    for _ in range(9):
        assert login(client, "forgetful@example.com", "guess").status_code == 401
    assert login(client, "forgetful@example.com", PW).status_code == 200


def test_attendee_sign_in_guesses_are_limited(client: TestClient) -> None:
    for i in range(600):  # a venue shares one address: typos must not lock it out early
        r = client.post("/auth/attendee", json={"identifier": f"nobody{i}@example.com"},
                        headers=csrf(client))
        assert r.status_code == 404, r.text
    assert_limited(client.post("/auth/attendee", json={"identifier": "x@example.com"},
                               headers=csrf(client)))


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_workers_share_the_count_through_redis(
    settings: Settings, api_key: str, redis_run: tuple[str, str]
) -> None:
    url, prefix = redis_run
    shared = dataclasses.replace(settings, redis_url=url,
                                 channel_prefix=f"{prefix}-{uuid.uuid4().hex[:6]}")
    with TestClient(create_app(shared), raise_server_exceptions=False) as a, \
            TestClient(create_app(shared), raise_server_exceptions=False) as b:
        seed_staff(a, api_key, "shared@example.com")
        for c in (a, b) * 5:
            assert login(c, "shared@example.com", "guess").status_code == 401
        assert_limited(login(a, "shared@example.com", PW))
        assert_limited(login(b, "shared@example.com", PW))
