"""GET /metrics: who may read it, and that a check-in on any worker moves the door's
histogram as every worker's scrape reports it."""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from hub.app import create_app
from hub.auth.accounts import create_staff
from hub.auth.cookies import STAFF_COOKIE, Signer
from hub.config import ConfigError, DatabaseURL, Settings, load_settings
from storage.engine import make_engine
from tests.conftest import SECRET
from tests.livehub import LiveHub
from tests.realtime.helpers import make_event
from tests.signins import signed_in

DOOR = "rollcall_door_request_seconds"
DASHBOARD = Path(__file__).resolve().parent.parent / "deploy" / "grafana-dashboard.json"


@pytest.fixture
def db(pg_db: DatabaseURL) -> DatabaseURL:
    """Real hub processes in the last test: PostgreSQL only."""
    return pg_db


def door_count(text: str, action: str = "checkin", outcome: str = "ok") -> float:
    for family in text_string_to_metric_families(text):
        if family.name == DOOR:
            for s in family.samples:
                if (s.name == DOOR + "_count" and s.labels.get("action") == action
                        and s.labels.get("outcome") == outcome):
                    return s.value
    return 0.0


def staff_cookie(settings: Settings, email: str, permissions: list[str]) -> str:
    async def go() -> int:
        engine = make_engine(settings.database)
        try:
            async with engine.begin() as conn:
                return await create_staff(conn, email=email, password="password1",
                                          permissions=permissions)
        finally:
            await engine.dispose()

    payload = signed_in(settings.database, asyncio.run(go()))
    return Signer(SECRET).dumps(payload)


def test_metrics_are_for_admins_and_api_keys(client: TestClient, settings: Settings,
                                             api_key: str) -> None:
    r = client.get("/metrics")
    assert r.status_code == 401 and r.json()["status"] == "error"
    scanner = staff_cookie(settings, "scan@ex.org", ["scan"])
    client.cookies.set(STAFF_COOKIE, scanner)
    r = client.get("/metrics")
    assert r.status_code == 403 and r.json()["status"] == "error"
    admin = staff_cookie(settings, "admin@ex.org", ["admin"])
    client.cookies.set(STAFF_COOKIE, admin)
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert "# TYPE rollcall_door_request_seconds histogram" in r.text
    client.cookies.clear()
    r = client.get("/metrics", headers={"API-Key": api_key})
    assert r.status_code == 200
    assert "rollcall_ws_connections" in r.text and "rollcall_db_pool_in_use" in r.text
    r = client.get("/metrics", headers={"API-Key": "rc_not_a_key"})
    assert r.status_code == 401


def test_the_grafana_dashboard_reads_only_metrics_the_hub_serves(client: TestClient,
                                                                 api_key: str) -> None:
    served = client.get("/metrics", headers={"API-Key": api_key}).text
    families = {f.name for f in text_string_to_metric_families(served)}
    exprs = [t["expr"] for p in json.loads(DASHBOARD.read_text())["panels"]
             for t in p.get("targets", [])]
    wanted = {re.sub(r"_(bucket|count|sum|total)$", "", n)
              for e in exprs for n in re.findall(r"rollcall_[a-z_]+", e)}
    assert len(wanted) >= 15 and wanted <= families, wanted - families


def test_metrics_are_open_to_the_configured_addresses(settings: Settings) -> None:
    allow = dataclasses.replace(
        settings, metrics_allow=(ipaddress.ip_network("10.1.2.0/24"),))
    app = create_app(allow)
    with TestClient(app, client=("10.1.2.3", 40000)) as inside:
        r = inside.get("/metrics")
        assert r.status_code == 200 and DOOR in r.text
    with TestClient(app, client=("10.1.3.3", 40000)) as outside:
        assert outside.get("/metrics").status_code == 401


def test_metrics_allow_is_a_list_of_networks() -> None:
    env = {"ROLLCALL_METRICS_ALLOW": "10.0.0.0/8, ::1"}
    assert len(load_settings(env).metrics_allow) == 2
    with pytest.raises(ConfigError, match="ROLLCALL_METRICS_ALLOW: 'prometheus'"):
        load_settings({"ROLLCALL_METRICS_ALLOW": "10.0.0.5 prometheus"})


@pytest.fixture
def two_workers(db: DatabaseURL, hub_env: dict[str, str], redis_run: tuple[str, str],
                live_hubs: Callable[..., LiveHub]) -> Iterator[LiveHub]:
    url, prefix = redis_run
    # Workers import the hub afresh: on a busy machine that takes a while.
    yield live_hubs({**hub_env, "ROLLCALL_REDIS_URL": url, "ROLLCALL_CHANNEL_PREFIX": prefix},
                    workers=2, deadline_s=90.0)


def per_worker_checkins(hub: LiveHub) -> dict[str, float]:
    """Each worker's own count of accepted check-ins, read from the file it writes."""
    proc = psutil.Process(hub.proc.pid)
    folder = next(Path(d) for c in proc.children()
                  if (d := c.environ().get("PROMETHEUS_MULTIPROC_DIR")))
    out: dict[str, float] = {}
    for path in folder.glob("histogram_*.db"):
        out[path.stem] = sum(
            s.value for family in MultiProcessCollector.merge([str(path)], accumulate=True)
            for s in family.samples
            if s.name == DOOR + "_count" and s.labels.get("action") == "checkin"
            and s.labels.get("outcome") == "ok")
    return out


async def test_a_checkin_on_either_worker_moves_the_door_histogram(
        db: DatabaseURL, two_workers: LiveHub) -> None:
    hub = two_workers
    (event,) = await make_event(db, attendees=2000)
    # A fresh connection per request, so that both workers take some of them (the second
    # may still be starting when the first answers).
    limits = httpx.Limits(max_keepalive_connections=0)
    sent = 0
    async with httpx.AsyncClient(base_url=hub.url, limits=limits, timeout=30,
                                 headers={"API-Key": event.api_key}) as http:
        before = door_count((await http.get("/metrics")).text)
        assert before == 0
        deadline = time.monotonic() + 60
        while True:
            answers = await asyncio.gather(*[
                http.post(f"/api/v2/sessions/{event.session_id}/attendance/checkin",
                          json={"external_id": f"A{sent + i}"}) for i in range(8)])
            assert [a.status_code for a in answers] == [200] * 8
            sent += 8
            per_worker = per_worker_checkins(hub)
            if sum(1 for n in per_worker.values() if n) >= 2:
                break
            assert time.monotonic() < deadline and sent < 2000, per_worker
            await asyncio.sleep(0.1)  # let the other worker finish starting
        # Whichever worker answers the scrape reports every worker's check-ins (each worker
        # adds its own to the shared files at least once a second).
        while door_count((await http.get("/metrics")).text) != sent:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
        assert sum(per_worker_checkins(hub).values()) == sent
        for _ in range(4):
            r = await http.get("/metrics")
            assert r.status_code == 200
            assert door_count(r.text) == sent
        refused = await http.post(f"/api/v2/sessions/{event.session_id}/attendance/checkin",
                                  json={"external_id": "nobody"})
        assert refused.status_code == 404
        assert door_count((await http.get("/metrics")).text, outcome="unknown_attendee") == 1
