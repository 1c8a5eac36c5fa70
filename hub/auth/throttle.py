"""Guessable secrets are limited, so a password cannot be found by trying many.

Staff passwords (staff sign-in, opening and unlocking a kiosk): 10 failures per address and
email in 15 minutes, and 100 per address whatever the email (password spraying). The attendee
sign-in (wrong event password, unknown identifier): 600 failures per address in 15 minutes: a
venue's Wi-Fi puts thousands of attendees behind one address, and their typos must not lock
each other out; 600 still turns guessing emails into a crawl. Moderator passwords (sent as the
first frame of a dashboard's WebSocket): 10 failures per address and session (or the event) in
15 minutes, and 100 per address; past that the socket is closed with 4429. Codes an attendee
types (a session's check-in and check-out codes, and its codewords): 10 wrong ones per attendee,
session and kind of code in 15 minutes, and 600 per address whatever the attendee (a venue's
Wi-Fi again); staff, kiosks and API keys are not limited here, they are trusted callers that
need no code (or may override it).

Guarantees:

- A sign-in is counted before its password is checked (``Throttle.attempt``): a check still
  running counts as a failure, so N parallel tries against a limit of L get at most L
  answers that are not 429, however they interleave, on one worker or many.
- An attempt that succeeds is given back (successes never use up a limit), and a successful
  staff sign-in also forgets the failures counted against that email from that address.
- "Address" is the client's address as ``hub.http.ClientAddress`` settles it: the peer, or,
  behind a proxy listed in ``ROLLCALL_TRUSTED_PROXIES``, the address that proxy saw.
- The counts are a moving window of 15 minutes. They live in Redis when
  ``ROLLCALL_REDIS_URL`` is set (every worker and host shares them), else in the process. If
  Redis cannot be reached the limits do not lapse: each worker counts on its own in memory
  (so an attacker gets at most the limit times the number of workers) and Redis is tried
  again every ``REDIS_RETRY_S`` seconds.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from hub.config import Settings
from hub.errors import HubError, TooManyRequests

log = logging.getLogger("rollcall.throttle")

WINDOW_S = 15 * 60.0
REDIS_RETRY_S = 5.0


@dataclass(frozen=True)
class Limit:
    """At most ``count`` counted attempts in any ``window_s`` seconds."""

    count: int
    window_s: float = WINDOW_S


PER_ACCOUNT = Limit(10)
PER_ADDRESS = Limit(100)
ATTENDEE = Limit(600)
CODE_PER_ATTENDEE = Limit(10)
CODE_PER_ADDRESS = Limit(600)

T = TypeVar("T")


@dataclass(frozen=True)
class Key:
    item: Limit
    parts: tuple[str, ...]

    @property
    def name(self) -> str:
        return "/".join(p.replace("%", "%25").replace("/", "%2F") for p in self.parts)


def staff_keys(address: str, email: str) -> list[Key]:
    return [Key(PER_ACCOUNT, ("staff", address, email.strip().lower())),
            Key(PER_ADDRESS, ("staff", address))]


def attendee_keys(address: str) -> list[Key]:
    return [Key(ATTENDEE, ("attendee", address))]


def moderator_keys(address: str, scope: str) -> list[Key]:
    """``scope``: the session id, or "event" for the event dashboard's password."""
    return [Key(PER_ACCOUNT, ("moderator", address, scope)),
            Key(PER_ADDRESS, ("moderator", address))]


def code_keys(address: str, session_id: str, attendee_id: int, secret: str) -> list[Key]:
    """An attendee guessing one of a session's codes. ``secret``: "checkin" or "checkout"
    (the session's codes) or "codeword"; each is limited on its own per attendee, all of them
    together per address."""
    return [Key(CODE_PER_ATTENDEE, ("code", secret, session_id, str(attendee_id))),
            Key(CODE_PER_ADDRESS, ("codes", address))]


class Windows(Protocol):
    """Moving windows of counted attempts, each attempt named by a token."""

    async def take(self, keys: list[Key], token: str, *, dry: bool = False) -> float:
        """Count ``token`` against every key, all or none: 0.0 when counted, else the seconds
        until the first used-up key has room (nothing counted). ``dry``: only say which."""

    async def add(self, keys: list[Key], token: str) -> None:
        """Count ``token`` against every key, whether or not it has room."""

    async def give_back(self, keys: list[Key], token: str) -> None:
        """Uncount ``token``."""

    async def clear(self, key: Key) -> None:
        """Forget everything counted against ``key``."""

    async def close(self) -> None: ...


_Op = Callable[[Windows], Awaitable[Any]]


class MemoryWindows:
    """The windows of this process."""

    SWEEP_EVERY = 1000

    def __init__(self) -> None:
        self._hits: dict[str, list[tuple[float, str]]] = {}
        self._ops = 0

    def _live(self, key: Key, now: float) -> list[tuple[float, str]]:
        hits = self._hits.get(key.name, [])
        start = now - key.item.window_s
        if hits and hits[0][0] <= start:
            hits = [h for h in hits if h[0] > start]
            self._hits[key.name] = hits
        return hits

    def _sweep(self, now: float) -> None:
        self._ops += 1
        if self._ops % self.SWEEP_EVERY:
            return
        horizon = now - max(WINDOW_S, PER_ACCOUNT.window_s, ATTENDEE.window_s)
        for name in [n for n, hits in self._hits.items() if not hits or hits[-1][0] <= horizon]:
            del self._hits[name]

    async def take(self, keys: list[Key], token: str, *, dry: bool = False) -> float:
        now = time.time()
        self._sweep(now)
        wait = 0.0
        for key in keys:
            hits = self._live(key, now)
            if len(hits) >= key.item.count:
                wait = max(wait, hits[len(hits) - key.item.count][0] + key.item.window_s - now)
        if wait > 0 or dry:
            return wait
        for key in keys:
            self._hits.setdefault(key.name, []).append((now, token))
        return 0.0

    async def add(self, keys: list[Key], token: str) -> None:
        now = time.time()
        for key in keys:
            self._live(key, now)
            self._hits.setdefault(key.name, []).append((now, token))

    async def give_back(self, keys: list[Key], token: str) -> None:
        for key in keys:
            hits = self._hits.get(key.name)
            if hits:
                self._hits[key.name] = [h for h in hits if h[1] != token]

    async def clear(self, key: Key) -> None:
        self._hits.pop(key.name, None)

    async def close(self) -> None:
        self._hits.clear()


# One round trip, atomic: prune each key's window, see whether every key has room, and count
# the token against all of them (or, dry, only answer). Redis's own clock keeps hosts agreed.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local mode, token, wait = ARGV[1], ARGV[2], 0
for i, key in ipairs(KEYS) do
  local limit, window = tonumber(ARGV[1 + 2 * i]), tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if mode ~= 'add' then
    local n = redis.call('ZCARD', key)
    if n >= limit then
      local e = redis.call('ZRANGE', key, n - limit, n - limit, 'WITHSCORES')
      local w = tonumber(e[2]) + window - now
      if w > wait then wait = w end
    end
  end
end
if wait > 0 or mode == 'dry' then return tostring(wait) end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, token)
  redis.call('EXPIRE', key, math.ceil(tonumber(ARGV[2 + 2 * i])) + 1)
end
return '0'
"""


class RedisWindows:
    """The windows every worker shares, as one sorted set per key (score: when)."""

    def __init__(self, url: str, prefix: str) -> None:
        self.client = Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self.prefix = f"{prefix}:limits:"
        self._take = self.client.register_script(_TAKE)

    async def _run(self, mode: str, keys: list[Key], token: str) -> float:
        args: list[str | float | int] = [mode, token]
        for key in keys:
            args += [key.item.count, key.item.window_s]
        raw = await self._take(keys=[self.prefix + k.name for k in keys], args=args)
        return float(raw)

    async def take(self, keys: list[Key], token: str, *, dry: bool = False) -> float:
        return await self._run("dry" if dry else "take", keys, token)

    async def add(self, keys: list[Key], token: str) -> None:
        await self._run("add", keys, token)

    async def give_back(self, keys: list[Key], token: str) -> None:
        async with self.client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.zrem(self.prefix + key.name, token)
            await pipe.execute()

    async def clear(self, key: Key) -> None:
        await self.client.delete(self.prefix + key.name)

    async def close(self) -> None:
        await self.client.aclose()


class Attempt:
    """One counted attempt; ``succeeded`` gives it back."""

    def __init__(self, throttle: Throttle, keys: list[Key], token: str,
                 windows: Windows) -> None:
        self._throttle, self._keys, self._token, self._windows = throttle, keys, token, windows

    async def succeeded(self, *, clear_account: bool = False) -> None:
        """Uncount this attempt; ``clear_account`` also forgets the failures counted against
        the first key (a staff email from this address)."""
        async def give_back(w: Windows) -> None:
            await w.give_back(self._keys, self._token)
            if clear_account:
                await w.clear(self._keys[0])

        await self._throttle.on(self._windows, give_back)


class Throttle:
    """Counts attempts per key; built and closed by the app's lifespan."""

    def __init__(self, settings: Settings) -> None:
        self.memory = MemoryWindows()
        self.redis = (RedisWindows(settings.redis_url, settings.channel_prefix)
                      if settings.redis_url else None)
        self._redis_retry_at = 0.0  # monotonic: Redis is skipped until then
        self._redis_down = False

    async def close(self) -> None:
        """Close the connection to Redis."""
        if self.redis is not None:
            try:
                await self.redis.close()
            except Exception as exc:  # noqa: BLE001 - closing at shutdown
                log.debug("closing the limits store: %s", exc)

    def _windows(self) -> Windows:
        if self.redis is not None and time.monotonic() >= self._redis_retry_at:
            return self.redis
        return self.memory

    async def _shared(self, op: _Op) -> tuple[Any, Windows]:
        """Run ``op`` on Redis when it can be reached, else on this worker's memory."""
        windows = self._windows()
        if windows is self.redis:
            try:
                result = await op(windows)
            except (RedisError, OSError) as exc:
                self._redis_retry_at = time.monotonic() + REDIS_RETRY_S
                if not self._redis_down:
                    self._redis_down = True
                    log.warning("sign-in limits: Redis is unreachable (%s); counting in this "
                                "worker until it is back", exc)
            else:
                if self._redis_down:
                    self._redis_down = False
                    log.warning("sign-in limits: Redis is back; counting there again")
                return result, windows
        return await op(self.memory), self.memory

    async def on(self, windows: Windows, op: _Op) -> None:
        """Run ``op`` on ``windows`` (where an attempt was counted), logging a lost Redis."""
        try:
            await op(windows)
        except (RedisError, OSError) as exc:
            log.warning("sign-in limits: Redis is unreachable, an attempt stays counted: %s",
                        exc)

    async def attempt(self, keys: list[Key], *, what: str = "failed sign-in attempts") -> Attempt:
        """Count an attempt against every key before its secret is checked; 429 (with
        Retry-After; ``what`` names the failures in its message) when any of them is used up,
        and then nothing is counted."""
        token = secrets.token_hex(8)
        wait, windows = await self._shared(lambda w: w.take(keys, token))
        if wait:
            raise _too_many(wait, what)
        return Attempt(self, keys, token, windows)

    async def guess(self, keys: list[Key], check: Callable[[], Awaitable[T]],
                    wrong: Collection[str], *, what: str) -> T:
        """Run ``check`` (which checks a guessable secret) as a counted attempt: counted
        before, so a right secret past the limit is refused with 429 all the same; a refusal
        whose reason is in ``wrong`` stays counted, any other answer (success, another
        refusal) is given back. An attempt that gets no answer at all stays counted."""
        attempt = await self.attempt(keys, what=what)
        try:
            result = await check()
        except HubError as exc:
            if exc.reason not in wrong:
                await attempt.succeeded()
            raise
        await attempt.succeeded()
        return result

    # For secrets checked at once (moderator passwords, compared in constant time):
    # ``check`` before, ``failed`` after a wrong one.

    async def check(self, keys: list[Key]) -> None:
        """Refuse with 429 (and Retry-After) while any of ``keys`` is used up."""
        wait, _ = await self._shared(lambda w: w.take(keys, "", dry=True))
        if wait:
            raise _too_many(wait, "failed sign-in attempts")

    async def failed(self, keys: list[Key]) -> None:
        """Count one failure against every key."""
        token = secrets.token_hex(8)
        await self._shared(lambda w: w.add(keys, token))

    async def succeeded(self, keys: list[Key]) -> None:
        """Forget the failures counted against the first key."""
        await self._shared(lambda w: w.clear(keys[0]))


def _too_many(wait: float, what: str) -> TooManyRequests:
    seconds = max(1, math.ceil(wait))
    minutes = math.ceil(seconds / 60)
    return TooManyRequests(
        f"Too many {what}. Try again in {minutes} minute"
        f"{'s' if minutes > 1 else ''}.", retry_after=seconds)
