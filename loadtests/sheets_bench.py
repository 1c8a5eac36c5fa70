"""Spreadsheet export and import figures: time and peak memory.

    python -m loadtests.sheets_bench [--export-rows 100000] [--import-rows 50000] [--json FILE]

Four steps, each in a fresh Python process so its peak resident size (ru_maxrss) is its own:

- ``csv-export`` / ``xlsx-export``: ``hub.sheets.csv_stream`` / ``xlsx_stream`` send an
  attendance-report-shaped export of ``--export-rows`` rows, generated as they are written, and
  the body is read to the end as a client would (bytes counted, nothing kept);
- ``csv-import`` / ``xlsx-import``: ``hub.sheets.parse_sheet`` reads a sessions-shaped file of
  ``--import-rows`` rows (written beforehand with the same writer) into a ``Sheet``.

Each step runs twice: once timed, once under tracemalloc for the peak of Python allocations
(tracemalloc slows the run, so its time is not the one reported). ru_maxrss is the process's
peak resident size during the timed run, interpreter, imports and (for imports) the file's
bytes included; about 40 MB of it is there before the step starts.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from starlette.responses import StreamingResponse

from hub.sheets import XLSX_TYPE, OutCell, csv_stream, parse_sheet, xlsx_stream

REPORT_COLUMNS = [
    "session_id", "session_name", "external_id", "badge_id", "last_name", "first_name",
    "email", "registration_level", "checkin_time", "checkout_time", "total_time_attended",
    "percent_attended", "delivery_format", "credits", "codewords", "checkin_source",
    "overrides",
]
SESSION_COLUMNS = [
    "id", "external_id", "name", "date", "start_time", "end_time", "timezone", "location",
    "description", "delivery_format", "capacity", "rank", "hidden", "registrants_only",
    "registration_levels", "checkin_required", "checkin_code", "ce_minutes", "credit_url",
    "field_of_study_1", "credits_1", "codewords_1", "presenters",
]
STEPS = ("csv-export", "xlsx-export", "csv-import", "xlsx-import")


def report_rows(n: int) -> Iterator[Sequence[OutCell]]:
    start = dt.datetime(2026, 5, 4, 9, 0)
    for i in range(n):
        checkin = start + dt.timedelta(seconds=i % 3600)
        yield (f"s{i % 200:04d}", f"Session {i % 200}: Practical topics", f"EXT-{i:07d}",
               f"B{i:07d}", f"Lastname{i}", f"First{i % 997}", f"person{i}@example.org",
               "Full conference", checkin, checkin + dt.timedelta(minutes=50), 3000,
               83.3, "in_person", "CPE: 1.5", "2 of 3", "kiosk", "")


def session_rows(n: int) -> Iterator[Sequence[OutCell]]:
    day = dt.date(2026, 5, 4)
    for i in range(n):
        yield (f"s{i:06d}", f"SX-{i}", f"Session {i}: on attendance at scale", day,
               dt.time(9 + i % 8, 0), dt.time(10 + i % 8, 0), "America/Chicago",
               f"Room {i % 40}", "A session about counting people who walk through doors.",
               "in_person", 100 + i % 400, i, False, i % 3 == 0, "Full; Day pass", True,
               f"C{i:05d}", 60, "", "CPE", "1.5", "alpha; beta", "Ada Lovelace; Alan Turing")


async def drain(response: StreamingResponse) -> int:
    size = 0
    async for chunk in response.body_iterator:
        size += len(chunk)
    return size


def export(kind: str, rows: int) -> int:
    make = csv_stream if kind == "csv" else xlsx_stream
    response = make(REPORT_COLUMNS, report_rows(rows), filename=f"report.{kind}")
    return asyncio.run(drain(response))


def write_file(kind: str, rows: int, path: Path) -> None:
    make = csv_stream if kind == "csv" else xlsx_stream

    async def save() -> None:
        response = make(SESSION_COLUMNS, session_rows(rows), filename=f"sessions.{kind}")
        with path.open("wb") as out:
            async for chunk in response.body_iterator:
                out.write(chunk.encode() if isinstance(chunk, str) else bytes(chunk))

    asyncio.run(save())


def one_step(step: str, export_rows: int, import_rows: int, workdir: Path) -> dict[str, Any]:
    kind, action = step.split("-")
    if action == "export":
        def run() -> Any:
            return export(kind, export_rows)
        rows = export_rows
    else:
        body = (workdir / f"sessions.{kind}").read_bytes()
        ctype = "text/csv" if kind == "csv" else XLSX_TYPE

        def run() -> Any:
            return parse_sheet(body, ctype, None, max_rows=import_rows)
        rows = import_rows
    t0 = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - t0
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before tracemalloc's own
    if action == "import":
        assert len(result) == import_rows, "rows lost on the way"
        size = len(body)
    else:
        size = result
    del result  # the second run starts from the same memory as the first
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    run()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return {"step": step, "rows": rows, "seconds": round(seconds, 2),
            "rows_per_s": round(rows / seconds), "bytes": size,
            "tracemalloc_peak_mb": round(peak / 2**20, 1),
            "maxrss_mb": round(maxrss, 1)}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--export-rows", type=int, default=100_000)
    p.add_argument("--import-rows", type=int, default=50_000)
    p.add_argument("--steps", default=",".join(STEPS), help="a comma-separated subset of "
                   + ", ".join(STEPS))
    p.add_argument("--json", type=Path, help="also write the figures here")
    p.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)
    p.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.step:  # one step, in this process
        print(json.dumps(one_step(args.step, args.export_rows, args.import_rows, args.workdir)))
        return
    steps = [s for s in args.steps.split(",") if s]
    if unknown := set(steps) - set(STEPS):
        p.error(f"unknown steps: {', '.join(sorted(unknown))}")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for kind in ("csv", "xlsx"):
            if f"{kind}-import" in steps:
                write_file(kind, args.import_rows, workdir / f"sessions.{kind}")
        print(f"{'step':<12} {'rows':>8} {'seconds':>8} {'rows/s':>8} {'MB':>7} "
              f"{'tracemalloc peak MB':>20} {'ru_maxrss MB':>13}")
        for step in steps:
            proc = subprocess.run(
                [sys.executable, "-m", "loadtests.sheets_bench", "--step", step,
                 "--export-rows", str(args.export_rows), "--import-rows", str(args.import_rows),
                 "--workdir", str(workdir)],
                capture_output=True, text=True, check=True)
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            results.append(r)
            print(f"{r['step']:<12} {r['rows']:>8} {r['seconds']:>8.2f} {r['rows_per_s']:>8} "
                  f"{r['bytes'] / 2**20:>7.1f} {r['tracemalloc_peak_mb']:>20.1f} "
                  f"{r['maxrss_mb']:>13.1f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
