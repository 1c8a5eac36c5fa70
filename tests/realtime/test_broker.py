"""The broker contract, run on both brokers; then what only Redis has to survive."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from hub.realtime.broker import Broker, MemoryBroker
from hub.realtime.redis_broker import RedisBroker, display_url
from tests.servers import Started, free_port, start_redis


@dataclass
class Ear:
    """What one worker heard."""

    heard: list[tuple[str, bytes]] = field(default_factory=list)
    resyncs: int = 0
    states: list[bool] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def message(self, channel: str, data: bytes) -> None:
        self.heard.append((channel, data))
        self.changed.set()

    def resync(self) -> None:
        self.resyncs += 1
        self.changed.set()

    def state(self, live: bool) -> None:
        self.states.append(live)
        self.changed.set()

    async def until(self, pred: Callable[[], bool], within: float = 10.0) -> None:
        deadline = time.monotonic() + within
        while not pred():
            left = deadline - time.monotonic()
            assert left > 0, f"not within {within}s: heard={self.heard[-5:]} states={self.states}"
            self.changed.clear()
            if pred():
                return
            try:
                await asyncio.wait_for(self.changed.wait(), timeout=min(left, 0.2))
            except TimeoutError:
                pass


Pair = tuple[Broker, Ear, Broker, Ear]


def redis_broker(url: str, prefix: str, ear: Ear) -> RedisBroker:
    return RedisBroker(url, prefix, on_message=ear.message, on_resync=ear.resync,
                       on_state=ear.state, health_s=0.5, backoff_max_s=0.5)


@pytest.fixture(params=["memory", "redis"])
async def pair(request: pytest.FixtureRequest) -> AsyncIterator[Pair]:
    """Two workers' brokers (with memory, both are the same process's one broker)."""
    e1, e2 = Ear(), Ear()
    if request.param == "memory":
        shared = Ear()
        broker = MemoryBroker(shared.message)
        await broker.start()
        yield broker, shared, broker, shared
        await broker.close()
        return
    url, prefix = request.getfixturevalue("redis_run")
    prefix = f"{prefix}-{uuid.uuid4().hex[:6]}"
    b1, b2 = redis_broker(url, prefix, e1), redis_broker(url, prefix, e2)
    await b1.start()
    await b2.start()
    await e1.until(lambda: b1.live)
    await e2.until(lambda: b2.live)
    yield b1, e1, b2, e2
    await b1.close()
    await b2.close()


async def test_a_subscriber_hears_what_is_published_in_order(pair: Pair) -> None:
    b1, e1, b2, e2 = pair
    await b2.subscribe("session:s1")
    for i in range(20):
        await b1.publish("session:s1", f"m{i}".encode())
    await e2.until(lambda: len(e2.heard) >= 20)
    assert e2.heard == [("session:s1", f"m{i}".encode()) for i in range(20)]


async def test_the_publishers_own_subscribers_hear_it_at_once_and_once(pair: Pair) -> None:
    b1, e1, b2, e2 = pair
    await b1.subscribe("event")
    await b2.subscribe("event")
    await b1.publish("event", b"hello")
    assert e1.heard == [("event", b"hello")]  # before publish returned
    # Once the other worker has heard it, the echo reached us too; a marker published after
    # that comes behind the echo on our connection: the echo must not make a second copy.
    await e2.until(lambda: ("event", b"hello") in e2.heard)
    await b2.publish("event", b"marker")
    await e1.until(lambda: ("event", b"marker") in e1.heard)
    assert [d for c, d in e1.heard if c == "event"].count(b"hello") == 1


async def test_nothing_is_heard_without_or_after_a_subscription(pair: Pair) -> None:
    b1, e1, b2, e2 = pair
    await b1.publish("session:nobody", b"lost")
    await b2.subscribe("session:s2")
    await b2.unsubscribe("session:s2")
    await b1.publish("session:s2", b"late")
    await b2.subscribe("session:s3")
    await b1.publish("session:s3", b"marker")
    await e2.until(lambda: ("session:s3", b"marker") in e2.heard)
    assert [c for c, _ in e2.heard] == ["session:s3"]


async def test_status_names_the_broker(pair: Pair) -> None:
    b1, _, _, _ = pair
    status = b1.status()
    assert status["kind"] == b1.kind and status["state"] == "ok"


def test_the_redis_url_is_shown_without_its_password() -> None:
    assert display_url("redis://:s3cret@cache:6379/0") == "redis://***@cache:6379/0"
    assert display_url("redis://app:s3cret@cache/1") == "redis://app:***@cache/1"
    assert display_url("redis://cache:6379/0") == "redis://cache:6379/0"


async def test_redis_restart_resubscribes_and_asks_for_a_catch_up() -> None:
    started = Started()
    port = free_port()
    try:
        url = start_redis(started, port=port)
        if url is None:
            pytest.skip("no redis-server binary to start")
        e1, e2 = Ear(), Ear()
        b1, b2 = redis_broker(url, "restart", e1), redis_broker(url, "restart", e2)
        await b1.start()
        await b2.start()
        await e2.until(lambda: b1.live and b2.live)
        await b2.subscribe("session:x")
        resyncs = e2.resyncs

        proc = started.procs.pop()
        proc.terminate()
        proc.wait(timeout=10)
        await e2.until(lambda: not b2.live)
        assert b2.status()["state"] == "degraded"
        assert b2.status()["reason"] == "redis_unreachable"
        # Publishing while Redis is away neither raises nor waits.
        t0 = time.monotonic()
        await b1.publish("session:x", b"during")
        assert time.monotonic() - t0 < 0.1

        assert start_redis(started, port=port) is not None
        await e2.until(lambda: b2.live and b1.live, within=15)
        assert e2.resyncs > resyncs  # every channel possibly behind: catch up
        assert b2.status()["reconnects"] >= 1
        # Subscribed again: new messages flow (and the one kept in the outbox arrives late).
        await b1.publish("session:x", b"after")
        await e2.until(lambda: ("session:x", b"after") in e2.heard)
        await b1.close()
        await b2.close()
    finally:
        started.stop()
