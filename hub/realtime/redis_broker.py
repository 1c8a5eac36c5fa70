"""Redis pub/sub broker: every hub worker on every host hears every other.

One listener connection per worker holds the worker's subscriptions (the channels it has local
subscribers for, prefixed ``{channel_prefix}:``). It survives Redis restarts and failovers: on
any error it drops the connection, waits with capped exponential backoff and jitter, connects
again, subscribes to every wanted channel, and calls ``on_resync`` (every channel may have
missed messages). It also pings Redis while idle, so a half-open connection is noticed within
a few seconds instead of leaving the worker deaf. While disconnected the broker is not
``live``; the node reports that on /healthz and to clients, and polls the database instead.

Publishing never waits for Redis: messages go to a bounded outbox that one task flushes in
pipelines. While Redis is away the outbox keeps the newest messages (the oldest are dropped and
counted; subscribers fill such holes from the database by ``seq``). Messages carry the origin
worker's id, so a worker ignores its own echo: its local subscribers were served at publish.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import time
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from hub import metrics

# (The callbacks' types, as ``hub.realtime.broker`` names them.)
MessageHandler = Callable[[str, bytes], None]
ResyncHandler = Callable[[], None]
StateHandler = Callable[[bool], None]

log = logging.getLogger("rollcall.realtime.redis")

ORIGIN_LEN = 12
OUTBOX_MAX = 10_000
PIPELINE_MAX = 500


def display_url(url: str) -> str:
    """The URL without its password, safe for /healthz and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    user = f"{parts.username}:***@" if parts.username else "***@"
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, ""))


class RedisBroker:
    kind = "redis"

    def __init__(
        self,
        url: str,
        prefix: str,
        *,
        on_message: MessageHandler,
        on_resync: ResyncHandler,
        on_state: StateHandler,
        health_s: float = 2.0,
        backoff_max_s: float = 5.0,
    ) -> None:
        self._url = url
        self._prefix = prefix + ":"
        self._on_message = on_message
        self._on_resync = on_resync
        self._on_state = on_state
        self._health_s = health_s
        self._backoff_max_s = backoff_max_s
        self.origin = secrets.token_hex(ORIGIN_LEN // 2).encode()
        self._wanted: set[str] = set()
        self._control = f"{self._prefix}_worker:{self.origin.decode()}"
        self._pubsub: Any = None
        self._listen_client: aioredis.Redis | None = None
        self._confirm: dict[str, list[asyncio.Future[None]]] = {}
        self._live = False
        self._ever_live = False
        self._closing = False
        self._outbox: deque[tuple[str, bytes, float]] = deque(maxlen=OUTBOX_MAX)
        self._outbox_ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._pub_client = self._client(socket_timeout=3.0)
        # What /healthz shows.
        self.reconnects = 0
        self.dropped = 0
        self.last_error: str | None = None
        self.down_since: float | None = time.time()

    def _client(self, *, socket_timeout: float | None) -> aioredis.Redis:
        return aioredis.Redis.from_url(
            self._url,
            socket_connect_timeout=2.0,
            socket_timeout=socket_timeout,
            socket_keepalive=True,
            retry=Retry(NoBackoff(), 0),
        )

    # --- the interface ----------------------------------------------------------------------

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen_forever(), name="rollcall-redis-listener"),
            asyncio.create_task(self._publish_forever(), name="rollcall-redis-publisher"),
        ]

    async def close(self) -> None:
        self._closing = True
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            try:
                await t
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
        await self._drop_listener()
        await self._pub_client.aclose()

    @property
    def live(self) -> bool:
        return self._live

    async def publish(self, channel: str, data: bytes) -> None:
        # Redis first: the publisher task is woken before our own channel task, so the other
        # workers (whose dashboards may wait on this seq) hear it as early as possible.
        if len(self._outbox) == self._outbox.maxlen:
            self.dropped += 1  # the deque drops the oldest to make room
        self._outbox.append((self._prefix + channel, self.origin + data, time.monotonic()))
        self._outbox_ready.set()
        if channel in self._wanted:
            self._on_message(channel, data)  # our own subscribers, at once

    async def subscribe(self, channel: str) -> None:
        self._wanted.add(channel)
        pubsub = self._pubsub
        if not self._live or pubsub is None:
            return  # subscribed on reconnect, then caught up through on_resync
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._confirm.setdefault(channel, []).append(fut)
        try:
            await pubsub.subscribe(self._prefix + channel)
            await asyncio.wait_for(asyncio.shield(fut), timeout=5.0)
        except (RedisError, OSError, TimeoutError) as exc:
            # The listener notices the broken connection, reconnects and resubscribes.
            log.warning("subscribing to %s failed (%s); will resubscribe on reconnect",
                        channel, exc)
        finally:
            waiters = self._confirm.get(channel)
            if waiters and fut in waiters:
                waiters.remove(fut)
                if not waiters:
                    del self._confirm[channel]

    async def unsubscribe(self, channel: str) -> None:
        self._wanted.discard(channel)
        pubsub = self._pubsub
        if not self._live or pubsub is None:
            return
        try:
            await pubsub.unsubscribe(self._prefix + channel)
        except (RedisError, OSError) as exc:
            log.warning("unsubscribing from %s failed: %s", channel, exc)

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": "redis",
            "state": "ok" if self._live else "degraded",
            "url": display_url(self._url),
            "channels": len(self._wanted),
            "reconnects": self.reconnects,
            "outbox": len(self._outbox),
            "dropped": self.dropped,
        }
        if not self._live:
            out["reason"] = "redis_unreachable"
            out["error"] = self.last_error
            if self.down_since is not None:
                out["down_for_s"] = round(time.time() - self.down_since, 1)
        return out

    # --- the listener -----------------------------------------------------------------------

    def _set_live(self, live: bool) -> None:
        if live == self._live:
            return
        self._live = live
        if live:
            self.down_since = None
        else:
            self.down_since = time.time()
        self._on_state(live)

    async def _drop_listener(self) -> None:
        pubsub, client = self._pubsub, self._listen_client
        self._pubsub = self._listen_client = None
        for waiters in self._confirm.values():
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)
        self._confirm.clear()
        try:
            if pubsub is not None:
                await pubsub.aclose()
            if client is not None:
                await client.aclose()
        except (RedisError, OSError):
            pass

    async def _listen_forever(self) -> None:
        attempt = 0
        while not self._closing:
            try:
                await self._listen_once()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, TimeoutError) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
            except Exception as exc:  # noqa: BLE001 - never let the listener die
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("Redis listener failed; reconnecting")
            if self._closing:
                return
            if self._live or attempt == 0:
                log.warning("Redis pub/sub lost (%s): live updates from other workers paused; "
                            "reconnecting", self.last_error)
            self._set_live(False)
            await self._drop_listener()
            attempt += 1
            delay = min(self._backoff_max_s, 0.1 * 2 ** min(attempt, 8))
            await asyncio.sleep(delay * (0.5 + random.random() / 2))
            if self._live:
                attempt = 0

    async def _listen_once(self) -> None:
        client = self._client(socket_timeout=None)
        self._listen_client = client
        pubsub = client.pubsub()
        self._pubsub = pubsub
        # Subscribe to every wanted channel and wait for every confirmation, so nothing
        # published from now on is missed; channels wanted meanwhile are added in a next round.
        confirmed: set[str] = set()
        deadline = time.monotonic() + 5.0
        while True:
            wanted = {self._control, *(self._prefix + c for c in self._wanted)}
            missing = wanted - confirmed
            if not missing:
                break
            await pubsub.subscribe(*missing)
            while missing:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("Redis did not confirm the subscriptions")
                msg = await pubsub.get_message(timeout=left)
                if msg is None:
                    continue
                if msg["type"] == "subscribe":
                    name = msg["channel"].decode()
                    confirmed.add(name)
                    missing.discard(name)
                elif msg["type"] == "message":
                    self._dispatch(msg)
        if self._ever_live:
            self.reconnects += 1
            log.warning("Redis pub/sub is back: resubscribed to %d channel(s); catching up",
                        len(confirmed) - 1)
        self._ever_live = True
        self._set_live(True)
        self._on_resync()  # anything may have been published while we were away
        last_heard = time.monotonic()
        last_ping = 0.0
        while not self._closing:
            msg = await pubsub.get_message(timeout=self._health_s / 2)
            now = time.monotonic()
            if msg is not None:
                last_heard = now
                kind = msg["type"]
                if kind == "message":
                    self._dispatch(msg)
                elif kind == "subscribe":
                    self._confirmed(msg["channel"].decode())
                continue
            if now - last_heard > 3 * self._health_s:
                raise TimeoutError(f"no answer from Redis for {now - last_heard:.1f}s")
            if now - last_ping >= self._health_s:
                last_ping = now
                await pubsub.ping()

    def _confirmed(self, prefixed: str) -> None:
        channel = prefixed[len(self._prefix):]
        for fut in self._confirm.pop(channel, []):
            if not fut.done():
                fut.set_result(None)

    def _dispatch(self, msg: dict[str, Any]) -> None:
        data: bytes = msg["data"]
        if data[:ORIGIN_LEN] == self.origin:
            return  # our own message: served locally at publish
        channel = msg["channel"].decode()[len(self._prefix):]
        if channel in self._wanted:
            self._on_message(channel, data[ORIGIN_LEN:])

    # --- the publisher ----------------------------------------------------------------------

    async def _publish_forever(self) -> None:
        attempt = 0
        while not self._closing:
            if not self._outbox:
                self._outbox_ready.clear()
                await self._outbox_ready.wait()
                continue
            batch = [self._outbox[i] for i in range(min(PIPELINE_MAX, len(self._outbox)))]
            try:
                async with self._pub_client.pipeline(transaction=False) as pipe:
                    for channel, data, _ in batch:
                        pipe.publish(channel, data)
                    await pipe.execute()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, TimeoutError) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                attempt += 1
                if attempt == 1:
                    log.warning("publishing to Redis failed (%s); keeping the newest %d "
                                "message(s) and retrying", exc, OUTBOX_MAX)
                await asyncio.sleep(min(self._backoff_max_s, 0.1 * 2 ** min(attempt, 8)))
                continue
            attempt = 0
            metrics.PUBLISH_LAG.observe(time.monotonic() - batch[0][2])
            # Pop what was sent; the deque may have dropped some of them meanwhile.
            for item in batch:
                if self._outbox and self._outbox[0] is item:
                    self._outbox.popleft()
