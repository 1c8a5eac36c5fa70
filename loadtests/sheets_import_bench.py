"""Spreadsheet imports and reports through a real hub on a real database: time and the hub's
peak memory.

    python -m loadtests.sheets_import_bench [--db postgresql] [--sessions 5000]
        [--attendees 50000] [--json FILE]

From nothing: a fresh database (PostgreSQL by default, dropped afterwards), migrated, an API
key, then each step against a hub process of its own (``rollcall serve``, one worker), so that
the hub's peak resident size (VmHWM) is that step's:

1. ``sessions-preview`` / ``sessions-import``: ``POST /api/v2/sessions/import`` of a CSV of
   ``--sessions`` new sessions (dates, times, a location, capacity, two fields of study with
   codewords, two presenters from a pool), with ``?dry_run=true``, then for real;
2. ``attendees-preview`` / ``attendees-import``: ``POST /api/v2/attendees/import`` of a CSV
   of ``--attendees`` new attendees, each registered for two of those sessions (the
   ``sessions`` column, by external id);
3. ``attendance-csv`` / ``attendance-xlsx``: every registration is given a check-in record
   with its history (in SQL, straight into the database), then ``GET
   /api/v2/reports/attendance`` for the whole event is read to the end (one row per
   registration: ``2 x --attendees`` rows).

Each figure: the wall time of the request as the client sees it, the rows, the hub's VmHWM
(peak RSS) and its RSS when idle just before the request, and what the machine did meanwhile
(``loadtests/machine.py``): CPU seconds of the hub and of PostgreSQL (its server processes and
the backends of this database), and the cores every other process used ("others": other
people's work on a shared machine).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg

from loadtests.harness import (
    BenchError,
    Server,
    fresh_database,
    rollcall_cli,
    start_hub,
)
from loadtests.machine import CpuMeter, PostgresRoles

PRESENTERS = [f"Presenter {i:03d}" for i in range(400)]


def sessions_csv(n: int) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["external_id", "name", "date", "start_time", "end_time", "location",
                "capacity", "checkin_code", "field_of_study_1", "credits_1", "codewords_1",
                "field_of_study_2", "credits_2", "codewords_2", "presenters"])
    for i in range(n):
        day = f"2026-05-{4 + i % 3:02d}"
        hour = 8 + (i // 40) % 10
        w.writerow([f"S-{i:05d}", f"Session {i}: practical topics in attendance", day,
                    f"{hour}:00", f"{hour}:50", f"Room {i % 40}", 50 + i % 400, f"code{i}",
                    "Ethics", "1", "alpha; beta", "Tax", "0.5", "gamma",
                    f"{PRESENTERS[i % 400]}; {PRESENTERS[(i * 7 + 1) % 400]}"])
    return buf.getvalue().encode()


def attendees_csv(n: int, sessions: int) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["external_id", "first_name", "last_name", "email", "badge_id",
                "registration_level", "field_1", "sessions"])
    for i in range(n):
        a, b = i % sessions, (i * 31 + 7) % sessions
        if a == b:
            b = (b + 1) % sessions
        w.writerow([f"A-{i:06d}", f"First{i % 997}", f"Last{i}", f"person{i}@example.org",
                    f"B{i:07d}", "Full" if i % 3 else "Day", f"Org {i % 50}",
                    f"S-{a:05d}; S-{b:05d}"])
    return buf.getvalue().encode()


def hwm_bytes(server: Server) -> int:
    """The peak resident size of the hub's processes (VmHWM, summed)."""
    total = 0
    for p in server.tree():
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) * 1024
    return total


@contextlib.contextmanager
def hub(env: dict[str, str], workdir: Path) -> Iterator[Server]:
    server = start_hub(env, 1, workdir)
    try:
        yield server
    finally:
        server.stop()


def step(name: str, env: dict[str, str], workdir: Path, key: str, method: str, path: str,
         body: bytes | None = None) -> dict[str, Any]:
    """One request against a fresh hub: time, rows, idle RSS and peak RSS, CPU."""
    with hub(env, workdir) as server:
        idle = server.rss_bytes()
        headers = {"API-Key": key, "content-type": "text/csv"}
        pg = PostgresRoles(env["ROLLCALL_DATABASE_URL"].rpartition("/")[2])

        def roles() -> dict[str, list[psutil.Process]]:
            ours, others = pg.split()
            return {"hub": server.tree(), "postgres": ours, "postgres_other": others,
                    "benchmark": [psutil.Process()]}

        meter = CpuMeter(roles).start()
        t0 = time.perf_counter()
        size = 0
        lines = 0
        with httpx.Client(base_url=server.url, timeout=1800) as client, \
                client.stream(method, path, content=body, headers=headers) as r:
            for chunk in r.iter_bytes():
                size += len(chunk)
                lines += chunk.count(b"\n")
            status = r.status_code
        seconds = time.perf_counter() - t0
        machine = meter.stop()
        if status != 200:
            raise BenchError(f"{name}: HTTP {status}\n{server.log_tail()}")
        peak = hwm_bytes(server)
    cpu = machine["cpu_s"]
    result = {"step": name, "seconds": round(seconds, 2), "bytes": size,
              "idle_rss_mb": round(idle / 2**20, 1), "peak_rss_mb": round(peak / 2**20, 1),
              "hub_cpu_s": cpu.get("hub", 0.0), "postgres_cpu_s": cpu.get("postgres", 0.0),
              "other_cores": machine["cores"]["other"], "steal_cores": machine["cores"]["steal"],
              "loadavg_start": machine["loadavg_start"][0], "machine": machine}
    if method == "GET" and path.endswith("format=csv"):
        result["rows"] = lines - 1
    return result


SEED_RECORDS = """
INSERT INTO checkin_records (session_id, attendee_id, checkin_time, checkout_time,
    checkin_time_actual, checkout_time_actual, in_since, seconds_attended, delivery_format,
    checkin_source, checkout_source, evaluation_complete, updated_seq)
SELECT g.session_id, g.attendee_id, t, t + interval '45 minutes', t, t + interval '45 minutes',
       NULL, 2700, 'in-person', 'scan', 'scan', false, 0
FROM registrations g JOIN sessions s ON s.id = g.session_id,
     LATERAL (SELECT (s.date + s.start_time) AT TIME ZONE 'UTC' AS t) x
"""
SEED_HISTORY = """
INSERT INTO checkin_history (record_id, action, "timestamp", source, actor)
SELECT id, 'checkin', checkin_time, 'scan', 'staff:door@example.org' FROM checkin_records
UNION ALL
SELECT id, 'checkout', checkout_time, 'scan', 'staff:door@example.org' FROM checkin_records
"""


def seed_records(database_url: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SEED_RECORDS)
        conn.execute(SEED_HISTORY)
        conn.execute("ANALYZE")
        row = conn.execute("SELECT count(*) FROM checkin_records").fetchone()
    return int(row[0]) if row else 0


def run(db: str, sessions: int, attendees: int) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="sheets-bench-") as tmp:
        workdir = Path(tmp)
        with fresh_database(db, workdir) as url:
            env = {"ROLLCALL_DATABASE_URL": url, "ROLLCALL_SECRET_KEY": "sheets-benchmark-key",
                   "ROLLCALL_PUBLIC_URL": "http://127.0.0.1", "ROLLCALL_REDIS_URL": ""}
            rollcall_cli(env, "migrate")
            key = rollcall_cli(env, "apikey", "create", "--description", "sheets bench")
            key = key.strip().splitlines()[-1].strip()
            plan = [
                ("sessions-preview", "POST", "/api/v2/sessions/import?dry_run=true",
                 sessions_csv(sessions)),
                ("sessions-import", "POST", "/api/v2/sessions/import", sessions_csv(sessions)),
                ("attendees-preview", "POST", "/api/v2/attendees/import?dry_run=true",
                 attendees_csv(attendees, sessions)),
                ("attendees-import", "POST", "/api/v2/attendees/import",
                 attendees_csv(attendees, sessions)),
            ]
            print(f"{'step':<18} {'rows':>8} {'seconds':>8} {'MB sent':>8} {'idle RSS MB':>12} "
                  f"{'peak RSS MB':>12} {'hub CPU s':>10} {'PG CPU s':>9} {'others':>7}",
                  flush=True)
            for name, method, path, body in plan:
                r = step(name, env, workdir, key, method, path, body)
                r["rows"] = sessions if name.startswith("sessions") else attendees
                results.append(r)
                show(r)
            seeded = seed_records(url) if db == "postgresql" else 0
            for kind in ("csv", "xlsx"):
                r = step(f"attendance-{kind}", env, workdir, key, "GET",
                         f"/api/v2/reports/attendance?format={kind}")
                r.setdefault("rows", seeded)
                results.append(r)
                show(r)
    return results


def show(r: dict[str, Any]) -> None:
    print(f"{r['step']:<18} {r.get('rows', 0):>8} {r['seconds']:>8.2f} "
          f"{r['bytes'] / 2**20:>8.1f} {r['idle_rss_mb']:>12.1f} {r['peak_rss_mb']:>12.1f} "
          f"{r['hub_cpu_s']:>10.1f} {r['postgres_cpu_s']:>9.1f} {r['other_cores']:>7.2f}",
          flush=True)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", default="postgresql", choices=("postgresql",),
                   help="the records for the report are seeded with PostgreSQL's SQL")
    p.add_argument("--sessions", type=int, default=5000)
    p.add_argument("--attendees", type=int, default=50_000)
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args(argv)
    results = run(args.db, args.sessions, args.attendees)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
