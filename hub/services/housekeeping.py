"""Background upkeep of one hub process: forgetting old idempotency answers and expired
staff sign-ins.

Each door answer is kept under its idempotency key so that a retry gets it back. Retries come
within seconds or minutes (a phone on conference Wi-Fi, a scanner back online), so the answers
are kept ``ROLLCALL_IDEMPOTENCY_DAYS`` days (7 by default) and then deleted, hourly, by every
worker (the deletes are idempotent). A retry older than that is judged afresh: a check-in
retried after the attendee is in the room is refused as already checked in.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from hub.domain.dates import now
from hub.state import Hub
from storage.accounts import forget_expired_logins
from storage.records import forget_answers

log = logging.getLogger("rollcall.housekeeping")

INTERVAL_S = 3600.0


async def forget_old_answers(hub: Hub, *, days: int | None = None) -> int:
    """Delete idempotency answers older than ``days`` (default: the setting); return how many."""
    cutoff = now() - dt.timedelta(days=hub.settings.idempotency_days if days is None else days)
    async with hub.tx() as conn:
        return await forget_answers(conn, before=cutoff)


async def forget_expired_sign_ins(hub: Hub) -> int:
    """Delete staff sign-ins past their expiry (their cookies sign nobody in any more)."""
    async with hub.tx() as conn:
        return await forget_expired_logins(conn, now())


async def run(hub: Hub, interval_s: float = INTERVAL_S) -> None:
    """Upkeep every ``interval_s`` until cancelled; a failure is logged and tried again later."""
    while True:
        try:
            gone = await forget_old_answers(hub)
            if gone:
                log.info("forgot %d idempotency answers older than %d days", gone,
                         hub.settings.idempotency_days)
            await forget_expired_sign_ins(hub)
        except Exception:  # noqa: BLE001 - upkeep must never stop the hub
            log.exception("housekeeping failed; trying again in %.0f s", interval_s)
        await asyncio.sleep(interval_s)
