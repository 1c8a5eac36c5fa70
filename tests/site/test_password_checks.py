"""Password checks run off the event loop: a burst of wrong sign-ins never stalls /healthz
(and so the door and every WebSocket), and an unknown email costs a real password check."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from hub.auth.accounts import hash_password
from hub.auth.cookies import CSRF_COOKIE
from hub.config import Settings
from hub.domain.dates import now
from storage import accounts
from storage.engine import make_engine
from tests.livehub import LiveHub

PW = "correct-horse-42"
BURST = 20


def seed_staff(settings: Settings, emails: list[str], *, disabled: bool = False) -> None:
    """Staff accounts sharing one password hash (made once: hashing is slow on purpose)."""
    digest = hash_password(PW)

    async def go() -> None:
        engine = make_engine(settings.database)
        try:
            async with engine.begin() as conn:
                for email in emails:
                    sid = await accounts.insert_staff(conn, email=email, name=None,
                                                      password_hash=digest,
                                                      permissions="scan", at=now())
                    if disabled:
                        await accounts.update_staff(conn, sid, {"disabled": True})
        finally:
            await engine.dispose()

    asyncio.run(go())


async def _sign_in_raw(port: int, email: str, sent: asyncio.Queue[None]) -> int:
    """One wrong staff sign-in on its own connection; reports when the request is written."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        body = json.dumps({"email": email, "password": "wrong-password"}).encode()
        writer.write(
            b"POST /auth/staff HTTP/1.1\r\nHost: testserver\r\n"
            b"Content-Type: application/json\r\nCookie: rollcall_csrf=tok\r\n"
            b"X-CSRF-Token: tok\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        await writer.drain()
        sent.put_nowait(None)
        status_line = await reader.readline()
        await reader.read()
        return int(status_line.split()[1])
    finally:
        writer.close()


async def _burst_then_healthz(hub: LiveHub) -> tuple[list[int], list[int], int]:
    """BURST wrong sign-ins written to the hub, then /healthz three times over; returns the
    health statuses, the sign-ins' statuses, and how many sign-ins had answered by then."""
    sent: asyncio.Queue[None] = asyncio.Queue()
    tasks = [asyncio.create_task(_sign_in_raw(hub.port, f"door{i}@example.com", sent))
             for i in range(BURST)]
    for _ in range(BURST):
        await asyncio.wait_for(sent.get(), 30)
    health = []
    async with httpx.AsyncClient(base_url=hub.url, timeout=120) as c:
        for _ in range(3):
            health.append((await c.get("/healthz")).status_code)
    answered = sum(t.done() for t in tasks)
    statuses = list(await asyncio.wait_for(asyncio.gather(*tasks), 300))
    return health, statuses, answered


def test_wrong_sign_ins_in_flight_do_not_stall_healthz(
    settings: Settings, hub_env: dict[str, str], live_hubs: Callable[..., LiveHub]
) -> None:
    """Twenty wrong passwords are being checked (each takes the CPU for a while); /healthz,
    asked after all of them, answers three times before any of them is answered: it does not
    wait behind a single check."""
    seed_staff(settings, [f"door{i}@example.com" for i in range(BURST)])
    hub = live_hubs(hub_env)
    health, statuses, answered = asyncio.run(_burst_then_healthz(hub))
    assert health == [200, 200, 200]
    assert statuses == [401] * BURST
    assert answered == 0, f"healthz waited behind {answered} password checks"


def verifications(client: TestClient) -> int:
    return int(client.app.state.hub.passwords.verifications)  # type: ignore[attr-defined]


def sign_in(client: TestClient, email: str, password: str) -> Any:
    client.get("/")
    return client.post("/auth/staff", json={"email": email, "password": password},
                       headers={"X-CSRF-Token": client.cookies[CSRF_COOKIE]})


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_unknown_and_disabled_emails_cost_a_real_password_check(
    settings: Settings, client: TestClient
) -> None:
    """The answer for an email without a usable account comes after the same Argon2 check as
    for a known one, so timing does not tell which emails are staff."""
    seed_staff(settings, ["known@example.com"])
    seed_staff(settings, ["gone@example.com"], disabled=True)
    for email in ("known@example.com", "nobody@example.com", "gone@example.com"):
        before = verifications(client)
        r = sign_in(client, email, "wrong-password")
        assert r.status_code == 401, r.text
        assert r.json()["message"] == "That email and password do not match a staff account."
        assert verifications(client) == before + 1, email
    # A disabled account's right password opens nothing either, after the same check.
    before = verifications(client)
    assert sign_in(client, "gone@example.com", PW).status_code == 401
    assert verifications(client) == before + 1
    assert sign_in(client, "known@example.com", PW).status_code == 200
