"""One real hub process with no Redis (the in-process broker), on SQLite: the default setup."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import pytest

from hub.config import DatabaseURL
from tests.livehub import ROOT, LiveHub
from tests.realtime.helpers import Dashboard, Door, healthz, make_event, wait_until

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
async def test_one_hub_without_redis_serves_live_dashboards(
        db: DatabaseURL, hub_env: dict[str, str], live_hubs: Callable[..., LiveHub]) -> None:
    hub = live_hubs(hub_env)
    (event,) = await make_event(db, attendees=100)
    door = Door([hub.url], event, concurrency=4)
    url = f"{hub.ws_url}/ws/sessions/{event.session_id}"
    early = await Dashboard(url, headers={"API-Key": event.api_key}).connect()
    try:
        await early.wait_seq(0)
        await door.checkin_many(range(60))
        await door.checkin_many(range(20), action="checkout")
        late = await Dashboard(url, headers={"API-Key": event.api_key}).connect()
        final = await door.counts()
        assert final["checked_in"] == 60 and final["in_room"] == 40
        for d in (early, late):
            await d.wait_counts(final)
            assert d.problems == []
        assert early.delta_seqs == list(range(1, 81))
        assert late.snapshots == 1 and late.frames[0]["records"][0]["checkout_time"]
        broker = (await healthz(hub.url))["broker"]
        assert broker["kind"] == "memory" and broker["state"] == "ok"
        assert broker["local"]["connections"] == 2 and broker["channels"] == 1
        await late.close()
    finally:
        await early.close()
        await door.close()
    assert door.failures == []

    async def unsubscribed() -> bool:
        b = (await healthz(hub.url))["broker"]
        return bool(b["channels"] == 0 and b["local"]["connections"] == 0)

    await wait_until(unsubscribed, 10, "unsubscribed once the last dashboard left")


def test_several_workers_without_redis_refuse_to_start(tmp_path: object) -> None:
    env = {**os.environ, "ROLLCALL_REDIS_URL": "",
           "ROLLCALL_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    done = subprocess.run([sys.executable, "-m", "hub.cli", "serve", "--workers", "2"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "ROLLCALL_REDIS_URL" in done.stderr
