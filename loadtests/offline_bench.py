"""An offline door's upload: N scans sent as one ``POST .../attendance/batch`` (or batches of
500) against the same scans sent one by one, in order, as a door reconnecting without the batch
endpoint would; and the door list read whole, read again (ETag, 304) and read since a seq.

In process (the app behind httpx's ASGI transport, lifespan run), on a fresh SQLite file or a
fresh PostgreSQL database (created and dropped), so the figures are the door's and the
database's, not the network's:

    python -m loadtests.offline_bench --db sqlite --scans 2000
    python -m loadtests.offline_bench --db postgresql --scans 2000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from hub.app import create_app
from hub.auth.accounts import create_api_key
from hub.config import DatabaseURL, Settings, parse_database_url
from storage.engine import migrate
from tests.door.kit import make_attendees, make_session, run
from tests.servers import Started, create_database, drop_database, find_postgres


async def measure(settings: Settings, key: str, sids: tuple[str, str], people: list[str],
                  ) -> dict[str, Any]:
    app = create_app(settings)
    out: dict[str, Any] = {"scans": len(people)}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                     headers={"API-Key": key}, timeout=300) as client:
            one, bulk = sids
            t = time.perf_counter()
            for n, p in enumerate(people):
                r = await client.post(f"/api/v2/sessions/{one}/attendance/checkin", json={
                    "badge_id": "B" + p, "source": "scan", "idempotency_key": f"s-{n}"})
                assert r.status_code == 200, r.text
            out["one_by_one_s"] = round(time.perf_counter() - t, 3)
            t = time.perf_counter()
            for i in range(0, len(people), 500):
                r = await client.post(f"/api/v2/sessions/{bulk}/attendance/batch", json={
                    "actions": [{"action": "checkin", "badge_id": "B" + p, "source": "scan",
                                 "idempotency_key": f"b-{i + n}", "decided": "ok"}
                                for n, p in enumerate(people[i:i + 500])]})
                assert r.status_code == 200, r.text
                assert all(e["code"] == "200" for e in r.json()["data"]["results"])
            out["batch_s"] = round(time.perf_counter() - t, 3)
            out["speedup"] = round(out["one_by_one_s"] / out["batch_s"], 1)
            t = time.perf_counter()
            r = await client.get(f"/api/v2/sessions/{bulk}/doorlist")
            out["doorlist_full_ms"] = round((time.perf_counter() - t) * 1000, 1)
            out["doorlist_bytes"] = len(r.content)
            etag = r.headers["etag"]
            seq = r.json()["data"]["seq"]
            t = time.perf_counter()
            r = await client.get(f"/api/v2/sessions/{bulk}/doorlist",
                                 headers={"If-None-Match": etag})
            assert r.status_code == 304
            out["doorlist_304_ms"] = round((time.perf_counter() - t) * 1000, 1)
            t = time.perf_counter()
            r = await client.get(f"/api/v2/sessions/{bulk}/doorlist", params={"since": seq})
            out["doorlist_since_ms"] = round((time.perf_counter() - t) * 1000, 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--scans", type=int, default=2000)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    started = Started()
    server = None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            if args.db == "sqlite":
                db: DatabaseURL = parse_database_url(f"sqlite:///{tmp}/bench.db")
            else:
                server = find_postgres(started)
                if server is None:
                    raise SystemExit("no PostgreSQL server found")
                url = create_database(server)
                db = parse_database_url(url)
            migrate(db)
            sids = (make_session(db, name="One by one"), make_session(db, name="Batched"))
            people = make_attendees(db, args.scans, prefix="P")
            _, key = run(db, lambda c: create_api_key(c, description="bench"))
            settings = Settings(database=db, public_url="http://bench",
                                secret_key="bench-secret-key-0123456789")
            out = {"db": args.db, **asyncio.run(measure(settings, key, sids, people))}
        finally:
            if server is not None and args.db == "postgresql":
                drop_database(server, url)
            started.stop()
    print(json.dumps(out, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
