"""How long a check-in takes to reach dashboards on another worker (not a test: a figure).

    python -m tests.realtime.measure_latency [--dashboards 200] [--checkins 300]

Starts two hub processes on a fresh PostgreSQL database and the local Redis, connects the
dashboards (half on each hub), checks attendees in through hub A one at a time, and reports
the time from sending the check-in to its delta arriving: on the first and on the last
dashboard. Needs PostgreSQL at 127.0.0.1:5432 and Redis at 127.0.0.1:6379.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import websockets

from hub.config import parse_database_url
from storage.engine import migrate
from tests.conftest import SECRET
from tests.livehub import start_hub
from tests.realtime.helpers import make_event
from tests.servers import create_database, drop_database

SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


async def main(dashboards: int, checkins: int) -> None:
    url = create_database(SERVER)
    db = parse_database_url(url)
    migrate(db)
    env = {"ROLLCALL_DATABASE_URL": url, "ROLLCALL_SECRET_KEY": SECRET,
           "ROLLCALL_REDIS_URL": "redis://127.0.0.1:6379/0",
           "ROLLCALL_CHANNEL_PREFIX": f"measure-{uuid.uuid4().hex[:8]}"}
    logs = Path(tempfile.mkdtemp())
    hubs = [start_hub(env, logs), start_hub(env, logs)]
    try:
        (event,) = await make_event(db, attendees=checkins)
        arrived: dict[int, list[float]] = {}

        async def watch(hub_url: str, ready: asyncio.Event) -> None:
            async with websockets.connect(f"{hub_url}/ws/sessions/{event.session_id}",
                                          additional_headers={"API-Key": event.api_key},
                                          max_size=None) as ws:
                await ws.recv()  # snapshot
                ready.set()
                async for raw in ws:
                    m = json.loads(raw)
                    if m["type"] == "checkin":
                        arrived.setdefault(m["seq"], []).append(time.perf_counter())
                        if m["seq"] == checkins:
                            return

        readies = [asyncio.Event() for _ in range(dashboards)]
        tasks = [asyncio.create_task(watch(hubs[i % 2].ws_url, r))
                 for i, r in enumerate(readies)]
        for r in readies:
            await r.wait()
        sent: dict[int, float] = {}
        async with httpx.AsyncClient(headers={"API-Key": event.api_key}) as client:
            for i in range(checkins):
                t0 = time.perf_counter()
                r = await client.post(f"{hubs[0].url}/api/v2/sessions/{event.session_id}"
                                      "/attendance/checkin", json={"external_id": f"A{i}"})
                sent[r.json()["data"]["seq"]] = t0
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
        first = sorted((min(arrived[s]) - t) * 1000 for s, t in sent.items())
        last = sorted((max(arrived[s]) - t) * 1000 for s, t in sent.items())

        def q(xs: list[float], p: float) -> float:
            return xs[min(len(xs) - 1, int(p * len(xs)))]

        print(f"{checkins} check-ins via hub A, {dashboards} dashboards on hubs A and B")
        for name, xs in (("first dashboard", first), ("last dashboard", last)):
            print(f"  {name:16} p50 {statistics.median(xs):6.1f} ms   p95 {q(xs, .95):6.1f} ms"
                  f"   p99 {q(xs, .99):6.1f} ms   max {xs[-1]:6.1f} ms")
    finally:
        for h in hubs:
            h.stop()
        drop_database(SERVER, url)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--dashboards", type=int, default=200)
    ap.add_argument("--checkins", type=int, default=300)
    args = ap.parse_args()
    asyncio.run(main(args.dashboards, args.checkins))
