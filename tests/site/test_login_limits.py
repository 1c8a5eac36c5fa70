"""Guessing passwords: failed sign-ins are limited per address (and per staff email), with a
429 in the envelope and Retry-After; with Redis, every worker shares the count, without it
each worker still counts. Attempts are counted before the password is checked, and the
address is the peer's unless the peer is a trusted proxy."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from hub.app import create_app
from hub.auth.cookies import CSRF_COOKIE
from hub.config import Settings
from tests.livehub import LiveHub

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


# --- counted before the check, over real concurrency --------------------------------------


async def _parallel_sign_ins(base: str, email: str, n: int,
                             forwarded_for: list[str] | None = None) -> list[int]:
    """``n`` sign-ins with a wrong password, all sent at once (one connection each)."""
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as c:
        token = (await c.get("/")).cookies[CSRF_COOKIE]
        c.cookies.set(CSRF_COOKIE, token)

        async def one(i: int) -> int:
            headers = {"X-CSRF-Token": token}
            if forwarded_for:
                headers["X-Forwarded-For"] = forwarded_for[i % len(forwarded_for)]
            r = await c.post("/auth/staff", headers=headers,
                             json={"email": email, "password": "wrong-guess"})
            return r.status_code

        return list(await asyncio.gather(*(one(i) for i in range(n))))


def test_parallel_wrong_passwords_get_no_more_than_the_limit(
    settings: Settings, api_key: str, hub_env: dict[str, str],
    live_hubs: Callable[..., LiveHub]
) -> None:
    """Twenty wrong passwords for one account from one address, all at once, against a limit
    of ten: at most ten are checked, the others are refused with 429 before any check."""
    hub = live_hubs(hub_env)
    with httpx.Client(base_url=hub.url) as c:
        r = c.post("/api/v2/staff", headers={"API-Key": api_key},
                   json={"email": "door@example.com", "password": PW, "permissions": ["scan"]})
        assert r.status_code == 200, r.text
    statuses = asyncio.run(_parallel_sign_ins(hub.url, "door@example.com", 20))
    assert sorted(set(statuses)) == [401, 429], statuses
    assert statuses.count(401) <= 10 and statuses.count(429) >= 10


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_parallel_wrong_passwords_across_hubs_sharing_redis(
    api_key: str, hub_env: dict[str, str], live_hubs: Callable[..., LiveHub],
    redis_run: tuple[str, str]
) -> None:
    """The same burst split over two hubs: the count they share lets at most ten through."""
    url, prefix = redis_run
    env = {**hub_env, "ROLLCALL_REDIS_URL": url,
           "ROLLCALL_CHANNEL_PREFIX": f"{prefix}-{uuid.uuid4().hex[:6]}"}
    hubs = [live_hubs(env), live_hubs(env)]
    with httpx.Client(base_url=hubs[0].url) as c:
        r = c.post("/api/v2/staff", headers={"API-Key": api_key},
                   json={"email": "door@example.com", "password": PW, "permissions": ["scan"]})
        assert r.status_code == 200, r.text

    async def both() -> list[int]:
        halves = await asyncio.gather(
            *(_parallel_sign_ins(h.url, "door@example.com", 10) for h in hubs))
        return halves[0] + halves[1]

    statuses = asyncio.run(both())
    assert sorted(set(statuses)) == [401, 429], statuses
    assert statuses.count(401) <= 10 and statuses.count(429) >= 10


# --- who the address is: the peer, unless it is a trusted proxy ---------------------------


def _sign_in_as(base: str, email: str, password: str, forwarded_for: str | None) -> Any:
    with httpx.Client(base_url=base) as c:
        token = c.get("/").cookies[CSRF_COOKIE]
        c.cookies.set(CSRF_COOKIE, token)
        headers = {"X-CSRF-Token": token}
        if forwarded_for is not None:
            headers["X-Forwarded-For"] = forwarded_for
        return c.post("/auth/staff", headers=headers,
                      json={"email": email, "password": password})


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_a_forwarded_for_header_from_an_untrusted_peer_changes_nothing(
    api_key: str, hub_env: dict[str, str], live_hubs: Callable[..., LiveHub]
) -> None:
    """Without trusted proxies, a client that names a new address in X-Forwarded-For for
    every guess is still one address: the eleventh guess is refused."""
    hub = live_hubs(hub_env)
    with httpx.Client(base_url=hub.url) as c:
        r = c.post("/api/v2/staff", headers={"API-Key": api_key},
                   json={"email": "door@example.com", "password": PW, "permissions": ["scan"]})
        assert r.status_code == 200, r.text
    for i in range(10):
        r = _sign_in_as(hub.url, "door@example.com", "guess", f"198.51.100.{i}")
        assert r.status_code == 401, r.text
    assert_limited(_sign_in_as(hub.url, "door@example.com", PW, "198.51.100.77"))
    assert_limited(_sign_in_as(hub.url, "door@example.com", PW, None))


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_a_trusted_proxys_forwarded_for_names_the_client(
    api_key: str, hub_env: dict[str, str], live_hubs: Callable[..., LiveHub]
) -> None:
    """Behind a trusted proxy (here the test itself, 127.0.0.1) each client is counted by the
    address the proxy saw, the right-most hop; hops a client wrote itself are ignored."""
    hub = live_hubs({**hub_env, "ROLLCALL_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"})
    with httpx.Client(base_url=hub.url) as c:
        r = c.post("/api/v2/staff", headers={"API-Key": api_key},
                   json={"email": "door@example.com", "password": PW, "permissions": ["scan"]})
        assert r.status_code == 200, r.text
    for i in range(10):
        # The client wrote a hop of its own; the proxy appended the address it saw.
        r = _sign_in_as(hub.url, "door@example.com", "guess", f"192.0.2.{i}, 203.0.113.7")
        assert r.status_code == 401, r.text
    assert_limited(_sign_in_as(hub.url, "door@example.com", PW, "203.0.113.7"))
    # Another proxy of ours in between (trusted) does not hide the client.
    assert_limited(_sign_in_as(hub.url, "door@example.com", PW, "203.0.113.7, 10.1.2.3"))
    # Another client behind the same proxy is not locked out by these failures.
    assert _sign_in_as(hub.url, "door@example.com", PW, "203.0.113.8").status_code == 200


# --- Redis away: the limits hold in each worker -------------------------------------------


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_without_redis_each_worker_still_limits(settings: Settings, api_key: str) -> None:
    """With Redis unreachable (a closed port), the limits do not lapse: each worker counts
    in its own memory."""
    from tests.servers import free_port

    away = dataclasses.replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    with TestClient(create_app(away), raise_server_exceptions=False) as a, \
            TestClient(create_app(away), raise_server_exceptions=False) as b:
        seed_staff(a, api_key, "door@example.com")
        for _ in range(10):
            assert login(a, "door@example.com", "guess").status_code == 401
        assert_limited(login(a, "door@example.com", PW))
        # The other worker has its own count (at most the limit per worker).
        assert login(b, "door@example.com", PW).status_code == 200
