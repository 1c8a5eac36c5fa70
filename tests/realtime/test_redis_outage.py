"""Redis goes away and comes back: the door never notices, dashboards converge."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable, Iterator

import pytest

from hub.config import DatabaseURL
from tests.livehub import LiveHub
from tests.realtime.helpers import Dashboard, Door, healthz, make_event, wait_until
from tests.servers import Started, free_port, start_redis

pytestmark = pytest.mark.slow


@pytest.fixture
def db(pg_db: DatabaseURL) -> DatabaseURL:
    return pg_db


class OwnRedis:
    """A redis-server this test starts, stops and starts again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.started = Started()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        if start_redis(self.started, port=self.port) is None:
            pytest.skip("no redis-server binary to start")
        self.proc = self.started.procs[-1]

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.started.procs.remove(self.proc)


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    r = OwnRedis()
    r.start()
    yield r
    r.started.stop()


async def test_redis_stopped_and_restarted_checkins_go_on_and_dashboards_converge(
        db: DatabaseURL, hub_env: dict[str, str], own_redis: OwnRedis,
        live_hubs: Callable[..., LiveHub]) -> None:
    env = {**hub_env, "ROLLCALL_REDIS_URL": own_redis.url,
           "ROLLCALL_CHANNEL_PREFIX": f"outage-{uuid.uuid4().hex[:8]}"}
    a, b = live_hubs(env), live_hubs(env)
    (event,) = await make_event(db, attendees=300)
    door = Door([a.url, b.url], event, concurrency=6)
    boards = [await Dashboard(f"{h.ws_url}/ws/sessions/{event.session_id}",
                              headers={"API-Key": event.api_key}).connect() for h in (a, b)]
    try:
        for d in boards:
            await d.wait_seq(0)
        await door.checkin_many(range(50))
        for d in boards:
            await d.wait_seq(50)

        own_redis.stop()
        # Every worker notices and says so (on /healthz and to its dashboards).
        for h in (a, b):
            await wait_until(lambda h=h: _state(h, "degraded"), 15, f"{h.url} degraded")
        for d in boards:
            await d.wait_for(lambda d: _told(d) is False, 15, "told it is not live")
        # The door does not notice: every check-in succeeds while Redis is away...
        await door.checkin_many(range(50, 150))
        assert door.failures == []
        # A new capacity set through worker A reaches B's dashboard too (no Redis to carry it).
        r = await door.client.put(f"{a.url}/api/v2/sessions/{event.session_id}",
                                  json={"capacity": 400})
        assert r.status_code == 200, r.text
        # ...and the dashboards keep up from the database meanwhile.
        outage_counts = await door.counts()
        assert (outage_counts["capacity"], outage_counts["remaining"]) == (400, 250)
        for d in boards:
            await d.wait_counts(outage_counts)

        own_redis.start()
        for h in (a, b):
            status = await wait_until(lambda h=h: _state(h, "ok"), 20, f"{h.url} back")
            assert status["broker"]["reconnects"] >= 1
            assert status["broker"]["channels"] >= 1  # resubscribed
        for d in boards:
            await d.wait_for(lambda d: _told(d) is True, 15, "told it is live again")
        await door.checkin_many(range(150, 300))
        assert door.failures == []
        final = await door.counts()
        assert final["checked_in"] == 300
        for d in boards:
            await d.wait_seq(300)
            await d.wait_counts(final)
            assert d.problems == []
            assert d.delta_seqs == list(range(1, 301))
    finally:
        for d in boards:
            await d.close()
        await door.close()


def _told(d: Dashboard) -> bool | None:
    """What the last ``status`` frame said (None: there was none)."""
    said = [f["live"] for f in d.frames if f["type"] == "status"]
    return said[-1] if said else None


async def _state(hub: LiveHub, state: str) -> dict[str, object] | None:
    try:
        status = await healthz(hub.url)
    except Exception:  # noqa: BLE001 - not answering yet
        return None
    broker = status["broker"]
    if broker["state"] == state:
        assert status["database"]["state"] == "ok"
        assert status["status"] == ("ok" if state == "ok" else "degraded")
        return status
    return None


