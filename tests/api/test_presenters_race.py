"""Two hub workers, many requests naming the same new presenter at once: the database decides,
and the presenter is created exactly once (by name, and by external_id)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from hub.auth.accounts import create_api_key
from hub.config import Settings
from storage.tables import T_PRESENTERS
from tests.api.rows import count, in_db
from tests.livehub import LiveHub

REQUESTS = 16


@pytest.mark.slow
def test_concurrent_requests_create_one_presenter(
    settings: Settings, hub_env: dict[str, str], live_hubs: Callable[..., LiveHub],
    redis_run: tuple[str, str],
) -> None:
    _, key = in_db(settings, lambda conn: create_api_key(conn, description="race"))
    redis_url, prefix = redis_run
    env = dict(hub_env, ROLLCALL_REDIS_URL=redis_url, ROLLCALL_CHANNEL_PREFIX=f"{prefix}-race")
    hub = live_hubs(env, workers=2)

    def post(i: int) -> int:
        r = httpx.post(f"{hub.url}/api/v2/sessions", headers={"API-Key": key}, timeout=30,
                       json={"name": f"Session {i}",
                             "presenters": [{"name": "Race Person"},
                                            {"name": "Ext Person", "external_id": "RACE-1"}]})
        return r.status_code

    with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
        statuses = list(pool.map(post, range(REQUESTS)))
    assert statuses == [201] * REQUESTS
    assert count(settings, T_PRESENTERS) == 2
    listed = httpx.get(f"{hub.url}/api/v2/sessions", headers={"API-Key": key}, timeout=30)
    ids = {tuple(p["id"] for p in s["presenters"]) for s in listed.json()["data"]["data"]}
    assert len(ids) == 1  # every session names the same two presenters
