"""CI smoke of the door-rush benchmark: a 5-second run from nothing, verification included.

No timing is asserted: the figures on a CI machine mean nothing. What is asserted is what the
benchmark promises: it starts its own hub, the doors' answers agree with the database, the
capacity gate held while doors raced into a room too small for everyone, the dashboards ended
on the database's counts, and the verification reports a lost, doubled or overfilled check-in.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from loadtests import report
from loadtests.verify import DbState, verify

ROOT = Path(__file__).resolve().parents[2]
ATTENDEES = 300
CAPACITY = 200


def run_bench(tmp_path: Path, *extra: str, backend: tuple[str, ...] = (
        "--db", "sqlite", "--broker", "memory", "--workers", "1"),
        env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], dict]:
    out = tmp_path / "doorrush.json"
    cmd = [sys.executable, "-m", "loadtests.doorrush", *backend, "--doors", "4",
           "--dashboards", "3", "--duration", "5", "--ceiling-seconds", "2",
           "--attendees", str(ATTENDEES), "--capacity", str(CAPACITY),
           "--workdir", str(tmp_path / "work"), "--json", str(out), *extra]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=240,
                          env={**os.environ, **(env or {})})
    assert out.exists(), f"no results written:\n{proc.stdout}\n{proc.stderr}"
    return proc, json.loads(out.read_text())


@pytest.mark.slow
def test_door_rush_from_nothing_verifies(tmp_path: Path, artifacts: Path) -> None:
    # One wrk thread a door: each answer is checked against the very badge it answers.
    proc, doc = run_bench(tmp_path, "--door-threads", "door")
    shutil.copy(tmp_path / "doorrush.json", artifacts / "doorrush-smoke.json")
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    (run,) = doc["runs"]
    assert run["verification"]["ok"], run["verification"]["failures"]
    checks = run["verification"]["checks"]
    for name in ("nothing_lost", "nothing_unacknowledged", "nothing_doubled", "capacity_held",
                 "api_counts_match_db", "dashboards_converged"):
        assert checks[name]["ok"], name

    c = run["checkins"]
    accepted = c["acknowledged"] + c["acknowledged_on_retry_after_stop"]
    final = run["final_counts"]
    assert final["checked_in"] == final["in_room"] == accepted <= CAPACITY
    refused = {k: v for k, v in run["errors"].items() if k.startswith("409")}
    assert set(refused) <= {"409 capacity_full"}
    if c["all_badges_scanned"]:  # every badge was scanned: the room is exactly full
        assert accepted == CAPACITY
        assert refused.get("409 capacity_full", 0) + accepted + c["cut_off_in_flight"] >= \
            ATTENDEES - 4
    # The figures the docs table reads are all there.
    assert run["ceiling"]["per_s"] and run["checkins"]["per_s"] and run["ratio"]
    assert run["latency_ms"]["p99"] is not None
    assert run["push"]["missed_per_dashboard"]["max"] == 0
    assert "checkins/s" in proc.stdout and "verified" in proc.stdout
    assert report.one_line(run)
    assert_steady_figures(run, proc.stdout, dashboards=True)
    # The dashboards ran off the hub's CPU (the default for runs with dashboards).
    if (os.cpu_count() or 1) >= 2:
        assert run["config"]["pin"] == "split"
        assert "CPU 0" in run["config"]["pin_detail"]


def assert_steady_figures(run: dict[str, Any], stdout: str, dashboards: bool) -> None:
    """CPU per check-in, the fair ceiling and the machine's state are reported with each run."""
    ceiling = run["ceiling"]
    tried = ceiling["tried"]
    if run["config"]["generator"] == "wrk":
        # one wrk thread a door (4), and fewer threads over the same 4 connections
        assert {t["threads"] for t in tried} >= {4, 2, 1}
        assert all(t["connections"] == 4 for t in tried)
    assert ceiling["per_s"] == max(t["per_s"] for t in tried)
    assert ceiling["threads"] in {t["threads"] for t in tried}
    cpu = run["cpu"]
    assert cpu["hub_ms_per_checkin"] > 0
    assert cpu["hub_cores"] > 0
    if dashboards:
        assert cpu["hub_us_per_event"] > 0
        assert run["push"]["deliveries_in_window"] > 0
    m = run["machine"]
    assert len(m["loadavg_start"]) == 3 and len(m["loadavg_end"]) == 3
    for key in ("steal_cores", "other_cores", "kernel_cores", "idle_cores"):
        assert m[key] is not None and m[key] >= 0, key
    assert isinstance(m["other_top"], list)
    for title in ("hub ms/ci", "pg ms/ci", "other", "steal"):
        assert title in stdout


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk absent: the run above used Python")
def test_python_fallback_generator_verifies(tmp_path: Path) -> None:
    proc, doc = run_bench(tmp_path, "--generator", "python", "--no-ceiling")
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    (run,) = doc["runs"]
    assert run["config"]["generator"] == "python"
    assert run["verification"]["ok"], run["verification"]["failures"]
    assert run["checkins"]["acknowledged"] > 0


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("wrk") is None, reason="needs wrk")
def test_shared_wrk_threads_on_postgresql_verify(tmp_path: Path, pg_server: str,
                                                  redis_url: str) -> None:
    """Four doors on two wrk threads (two connections each), PostgreSQL, Redis, two workers:
    accepted answers are matched by the attendee they name, refusals (the room fills) by
    resending every badge still in flight, and the verification still holds; PostgreSQL's and
    Redis' CPU are measured."""
    proc, doc = run_bench(
        tmp_path, "--door-threads", "2",
        backend=("--db", "postgresql", "--broker", "redis", "--workers", "2"),
        env={"ROLLCALL_BENCH_PG_URL": pg_server, "ROLLCALL_BENCH_REDIS_URL": redis_url})
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    (run,) = doc["runs"]
    assert run["config"]["door_threads"] == 2
    assert run["verification"]["ok"], run["verification"]["failures"]
    c = run["checkins"]
    accepted = c["acknowledged"] + c["acknowledged_on_retry_after_stop"]
    assert run["final_counts"]["checked_in"] == accepted <= CAPACITY
    assert_steady_figures(run, proc.stdout, dashboards=True)
    assert run["cpu"]["postgres_ms_per_checkin"] > 0
    assert run["cpu"]["redis_cores"] is not None


def test_verification_fails_loudly_on_a_lost_or_doubled_checkin() -> None:
    """The checks themselves: a database that lost an acknowledged check-in, doubled one, or
    overfilled the room is reported, never passed."""
    from collections import Counter

    db = DbState(checked_in={"a", "b", "x"}, in_room=3,
                 history_checkins=Counter({"a": 1, "b": 2, "x": 1}),
                 counter={"in_room": 3, "seq": 4})
    v = verify(db=db, acked={"a": {1}, "b": {2}, "c": {3}}, mismatched=0, capacity=2,
               max_in_room_answered=2,
               api_counts={"registered": 3, "checked_in": 3, "in_room": 3, "checked_out": 0,
                           "capacity": 2, "remaining": 0},
               dashboards=[{"counts": {"in_room": 2}, "max_in_room": 2}], expect_dashboards=1)
    assert not v.ok
    failed = {f.split(":")[0] for f in v.failures}
    assert failed == {"nothing_lost", "nothing_unacknowledged", "nothing_doubled",
                      "capacity_held", "dashboards_converged"}
