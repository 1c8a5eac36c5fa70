"""Failed sign-ins are limited, so a password cannot be guessed by trying many.

Only failures count. Staff passwords (staff sign-in, opening and unlocking a kiosk): 10 failures
per address and email in 15 minutes, and 100 per address whatever the email (password
spraying). The attendee sign-in (wrong event password, unknown identifier): 600 failures per
address in 15 minutes: a venue's Wi-Fi puts thousands of attendees behind one address, and
their typos must not lock each other out; 600 still turns guessing emails into a crawl. A
successful staff sign-in clears that email's count for the address. Moderator passwords (sent
as the first frame of a dashboard's WebSocket): 10 failures per address and session (or the
event) in 15 minutes, and 100 per address; past that the socket is closed with 4429.

The counts live in Redis when ``ROLLCALL_REDIS_URL`` is set (every worker and host shares
them), else in the process. If Redis cannot be reached, sign-in is not blocked: the limit is
skipped and the failure logged (the passwords are still checked, argon2 keeps each try slow).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from hub.config import Settings
from hub.errors import TooManyRequests

log = logging.getLogger("rollcall.throttle")

PER_ACCOUNT = RateLimitItemPerMinute(10, 15)
PER_ADDRESS = RateLimitItemPerMinute(100, 15)
ATTENDEE = RateLimitItemPerMinute(600, 15)


@dataclass(frozen=True)
class Key:
    item: RateLimitItem
    parts: tuple[str, ...]


def staff_keys(address: str, email: str) -> list[Key]:
    return [Key(PER_ACCOUNT, ("staff", address, email.strip().lower())),
            Key(PER_ADDRESS, ("staff", address))]


def attendee_keys(address: str) -> list[Key]:
    return [Key(ATTENDEE, ("attendee", address))]


def moderator_keys(address: str, scope: str) -> list[Key]:
    """``scope``: the session id, or "event" for the event dashboard's password."""
    return [Key(PER_ACCOUNT, ("moderator", address, scope)),
            Key(PER_ADDRESS, ("moderator", address))]


class Throttle:
    """Counts failures per key; built and closed by the app's lifespan."""

    def __init__(self, settings: Settings) -> None:
        storage: Storage
        if settings.redis_url:
            storage = RedisStorage(f"async+{settings.redis_url}", implementation="redispy",
                                   key_prefix=f"{settings.channel_prefix}:limits",
                                   wrap_exceptions=True, socket_timeout=1,
                                   socket_connect_timeout=1)
        else:
            storage = MemoryStorage()
        self.storage = storage
        self.limiter = MovingWindowRateLimiter(storage)

    async def close(self) -> None:
        """Close the connection to Redis (a no-op in memory)."""
        client = getattr(getattr(self.storage, "bridge", None), "storage", None)
        if client is not None:
            try:
                await client.aclose()
            except Exception as exc:  # noqa: BLE001 - closing at shutdown
                log.debug("closing the limits store: %s", exc)

    async def check(self, keys: list[Key]) -> None:
        """Refuse with 429 (and Retry-After) while any of ``keys`` is used up."""
        try:
            for key in keys:
                if not await self.limiter.test(key.item, *key.parts):
                    stats = await self.limiter.get_window_stats(key.item, *key.parts)
                    wait = max(1, math.ceil(stats.reset_time - time.time()))
                    raise TooManyRequests(
                        "Too many failed sign-in attempts. Try again in "
                        f"{math.ceil(wait / 60)} minute{'s' if wait > 60 else ''}.",
                        retry_after=wait)
        except StorageError as exc:
            log.warning("sign-in limit skipped, its store is unreachable: %s", exc)

    async def failed(self, keys: list[Key]) -> None:
        try:
            for key in keys:
                await self.limiter.hit(key.item, *key.parts)
        except StorageError as exc:
            log.warning("sign-in failure not counted, the store is unreachable: %s", exc)

    async def succeeded(self, keys: list[Key]) -> None:
        try:
            await self.limiter.clear(keys[0].item, *keys[0].parts)
        except StorageError as exc:
            log.warning("sign-in limit not cleared, the store is unreachable: %s", exc)
