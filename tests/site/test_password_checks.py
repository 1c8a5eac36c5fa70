"""Password checks run off the event loop: a burst of wrong sign-ins never stalls /healthz
(and so the door and every WebSocket), and an unknown email costs a real password check."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from hub.auth.accounts import hash_password
from hub.config import Settings
from hub.domain.dates import now
from storage import accounts
from storage.engine import make_engine
from tests.livehub import LiveHub

PW = "correct-horse-42"
BURST = 20


def seed_staff(settings: Settings, emails: list[str]) -> None:
    """Staff accounts sharing one password hash (hashing is what this module is about)."""
    digest = hash_password(PW)

    async def go() -> None:
        engine = make_engine(settings.database)
        try:
            async with engine.begin() as conn:
                for email in emails:
                    await accounts.insert_staff(conn, email=email, name=None,
                                                password_hash=digest, permissions="scan",
                                                at=now())
        finally:
            await engine.dispose()

    asyncio.run(go())


async def _burst_then_healthz(base: str) -> tuple[int, list[int], int]:
    """Sends BURST wrong sign-ins, then /healthz once they are all sent; returns the health
    status, the sign-ins' statuses and how many of them had answered when /healthz did."""
    limits = httpx.Limits(max_connections=BURST + 5, max_keepalive_connections=BURST + 5)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as c:
        r = await c.get("/")
        token = r.cookies["rollcall_csrf"]
        headers = {"X-CSRF-Token": token}
        c.cookies.set("rollcall_csrf", token)
        sent = 0
        all_sent = asyncio.Event()

        async def sign_in(i: int) -> int:
            nonlocal sent
            req = c.build_request("POST", "/auth/staff", headers=headers,
                                  json={"email": f"door{i}@example.com", "password": "wrong"})
            task = asyncio.ensure_future(c.send(req))
            sent += 1
            if sent == BURST:
                all_sent.set()
            return (await task).status_code

        tasks = [asyncio.create_task(sign_in(i)) for i in range(BURST)]
        await asyncio.wait_for(all_sent.wait(), 30)
        health = await c.get("/healthz")
        answered = sum(t.done() for t in tasks)
        statuses = list(await asyncio.gather(*tasks))
        return health.status_code, statuses, answered


def test_wrong_sign_ins_in_flight_do_not_stall_healthz(
    settings: Settings, hub_env: dict[str, str], live_hubs: Callable[..., LiveHub]
) -> None:
    seed_staff(settings, [f"door{i}@example.com" for i in range(BURST)])
    hub = live_hubs(hub_env)
    health, statuses, answered = asyncio.run(_burst_then_healthz(hub.url))
    assert health == 200
    assert statuses == [401] * BURST
    print("answered before healthz:", answered)
    assert answered < BURST
