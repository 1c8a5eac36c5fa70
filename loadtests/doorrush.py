"""The door-rush benchmark, from nothing: ``python -m loadtests.doorrush``.

It creates a fresh database (SQLite file or a new PostgreSQL database, dropped afterwards), a
unique Redis channel prefix, an API key, starts ``rollcall serve`` with the workers asked for,
creates a session and N registered attendees, then for each measurement:

1. drives the empty-endpoint ceiling app (``loadtests/ceiling.py``, same uvicorn settings)
   over the same number of connections with each wrk thread count worth trying (one a door,
   one a core, 2, 1) and keeps the fastest: the fair ceiling;
2. connects M dashboards (WebSocket) to a fresh session and waits for their snapshots (with
   dashboards, the hub is pinned to CPU 0 and the clients to the others, ``--pin``);
3. runs D doors (wrk + ``doors.lua`` on the ceiling's thread count; the lean Python generator
   when wrk is absent) for T seconds, each door one connection scanning distinct badges, one
   request at a time, while ``loadtests/machine.py`` reads the CPU of the hub, PostgreSQL,
   Redis, the clients and everything else on the machine;
4. retries, with the same idempotency key, the scans the stop cut off mid-flight;
5. verifies against the database (``loadtests/verify.py``) and collects the dashboards.

It prints a table (with CPU per durable check-in and the machine's load, steal and other
processes' CPU), writes JSON, and exits non-zero when any verification fails.

    python -m loadtests.doorrush --db postgresql --broker redis --workers 2 \\
        --doors 32 --dashboards 100 --duration 10 --json doorrush.json
    python -m loadtests.doorrush idle --connections 10000
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from loadtests import profiling, report
from loadtests.fleet import Fleet
from loadtests.generators import Answer, DoorRun, pick_generator, run_doors, thread_choices
from loadtests.harness import (
    BenchError,
    Deployment,
    Server,
    counts,
    create_session,
    deployment,
    external_id,
    register_attendees,
    start_ceiling,
)
from loadtests.machine import CpuMeter, PostgresRoles, redis_servers, set_affinity
from loadtests.stats import summary_ms
from loadtests.verify import read_db, verify


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    wrk = shutil.which("wrk")
    wrk_version = ""
    if wrk:
        out = subprocess.run([wrk, "--version"], capture_output=True, text=True)
        text = (out.stdout or out.stderr).strip()
        wrk_version = " ".join(text.splitlines()[0].split()[:2]) if text else ""
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "wrk": wrk_version,
    }


@dataclass
class Pinning:
    """Where the processes run. ``split`` puts the server under test (the hub or the ceiling
    app: uvicorn and its workers) on CPU 0 and the clients (the doors' generator and the
    dashboards) on the other CPUs; ``clients`` confines the clients to the last CPU and lets
    the server use every CPU; ``none`` lets the kernel place everything. PostgreSQL and Redis
    are shared services and are never pinned."""

    mode: str  # "split", "clients" or "none"
    server: set[int] | None = None
    clients: set[int] | None = None

    @staticmethod
    def choose(requested: str, dashboards: int) -> Pinning:
        cores = os.cpu_count() or 1
        if requested not in ("auto", *PIN_MODES):
            raise BenchError(f"--pin takes auto, {', '.join(PIN_MODES)}, not {requested!r}")
        mode = requested
        if requested == "auto":
            mode = PIN_AUTO if dashboards > 0 and cores >= 2 else "none"
        if mode != "none" and cores < 2:
            raise BenchError(f"--pin {mode} needs at least 2 CPUs")
        if mode == "split":
            return Pinning("split", {0}, set(range(1, cores)))
        if mode == "clients":
            return Pinning("clients", None, {cores - 1})
        return Pinning("none")

    def describe(self) -> str:
        def cpus(c: set[int]) -> str:
            return ",".join(map(str, sorted(c)))

        if self.mode == "split" and self.server and self.clients:
            return (f"server on CPU {cpus(self.server)}, generator and dashboards on CPU "
                    f"{cpus(self.clients)}")
        if self.mode == "clients" and self.clients:
            return f"generator and dashboards on CPU {cpus(self.clients)}, server on any"
        return "none"


PIN_MODES = ("split", "clients", "none")
PIN_AUTO = "split"  # what --pin auto uses for runs with dashboards


def measure_ceiling(ceiling: Server, generator: str, doors: int, seconds: float,
                    workdir: Path, choices: list[int] | None,
                    pin: Pinning) -> dict[str, Any]:
    """The empty endpoint's best rate over the generator configurations worth trying: for wrk,
    D connections on one thread a door, on as many threads as cores, on 2 and on 1."""
    set_affinity(ceiling.tree(), pin.server)
    tried: list[dict[str, Any]] = []
    threads_list: list[int | None] = list(choices or thread_choices(doors)) \
        if generator == "wrk" else [None]
    for threads in threads_list:
        run = run_doors(generator, url=ceiling.url,
                        path="/api/v2/sessions/ceiling/attendance/checkin", api_key="-",
                        run="CEIL", keys="CEIL", n=10**9, doors=doors, duration=seconds,
                        out=workdir / f"ceiling-{doors}-{threads}.out", threads=threads,
                        ceiling=True, cpus=pin.clients)
        ok = [a for a in run.answers if a.status == 200]
        t0, t1 = run.window
        tried.append({
            "threads": run.threads,
            "connections": doors,
            "per_s": round(len(ok) / (t1 - t0), 1) if t1 > t0 else None,
            "answers": len(run.answers),
            "latency_ms": summary_ms(a.latency for a in run.answers),
            "generator_cores": round(run.cpu_s / run.wall_s, 2) if run.wall_s else None,
        })
    best = max(tried, key=lambda t: t["per_s"] or 0.0)
    return {**best, "seconds_each": seconds, "tried": tried}


def reconcile(client: httpx.Client, path: str, run: str, keys: str,
              inflight: list[int]) -> list[Answer]:
    """Resend the scans cut off by the stop, with their idempotency keys, as a phone would."""
    out: list[Answer] = []
    for idx in inflight:
        body = {"badge_id": f"{run}-B{idx:07d}", "idempotency_key": f"{keys}-K{idx:07d}",
                "source": "scan"}
        t0 = time.monotonic()
        r = client.post(path, json=body)
        t1 = time.monotonic()
        data = r.json()
        seq = (data.get("data") or {}).get("seq") if r.status_code == 200 else None
        in_room = ((data.get("data") or {}).get("counts") or {}).get("in_room") \
            if r.status_code == 200 else None
        out.append(Answer(idx=idx, status=r.status_code, seq=seq, in_room=in_room, t_sent=t0,
                          t_answer=t1, reason=data.get("reason"),
                          match=external_id(run, idx) in r.text, attempts=1))
    return out


@dataclass
class Setup:
    """How a run is driven (the same for every run of one command)."""

    generator: str
    duration: float
    # wrk threads for the doors, each measured in turn: "door" (one a door), "same" (the
    # ceiling's fastest configuration) or a number dividing the doors
    door_threads: list[str] = field(default_factory=lambda: ["same"])
    ceiling_threads: list[int] | None = None  # wrk thread counts to try (None: the defaults)
    ceiling_s: float = 0.0  # seconds of each ceiling configuration (0: min(duration, 5))
    pins: list[str] = field(default_factory=lambda: ["auto"])  # each in turn (see Pinning)


def _door_threads(setup: Setup, wanted: str, doors: int,
                  ceiling: dict[str, Any] | None) -> int | None:
    """wrk threads for the doors: one a door, the ceiling's best, or a number."""
    if setup.generator != "wrk" or wanted == "door":
        return None
    if wanted == "same":
        return int(ceiling["threads"]) if ceiling and ceiling.get("threads") else None
    threads = int(wanted)
    if threads < 1 or doors % threads:
        raise BenchError(f"--door-threads {threads} does not divide {doors} doors")
    return threads


def meter_roles(dep: Deployment, fleet: Fleet, ceiling: Server | None,
                pg: PostgresRoles, spies: list[subprocess.Popen[bytes]]) -> Any:
    """The processes of each role, listed again at every sample (see loadtests/machine.py)."""
    me = psutil.Process()
    redis = redis_servers() if dep.broker == "redis" else []

    def roles() -> dict[str, list[psutil.Process]]:
        ours, others = pg.split()
        out = {"hub": dep.hub.tree(), "postgres": ours, "postgres_other": others,
               "redis": redis, "benchmark": [me],
               "dashboards": [psutil.Process(pid) for pid in fleet.pids()
                              if psutil.pid_exists(pid)],
               "profiler": [psutil.Process(p.pid) for p in spies if p.poll() is None]}
        if ceiling is not None:
            out["ceiling"] = ceiling.tree()
        return out

    return roles


def measure_rush(dep: Deployment, *, run: str, attendees: int, capacity: int | None,
                 doors: int, dashboards: int, dashboard_procs: int, setup: Setup,
                 ceiling: Server | None, label: str, door_threads: str = "door",
                 pin_mode: str = "auto", profile: Path | None = None) -> dict[str, Any]:
    workdir = dep.workdir
    client = dep.client()
    generator, duration = setup.generator, setup.duration
    pin = Pinning.choose(pin_mode, dashboards)
    result: dict[str, Any] = {
        "label": label,
        "config": {"db": dep.db_kind, "broker": dep.broker, "workers": dep.workers,
                   "doors": doors, "dashboards": dashboards, "duration_s": duration,
                   "attendees": attendees, "capacity": capacity, "generator": generator,
                   "pin": pin.mode, "pin_detail": pin.describe()},
        "loadavg_before": [round(x, 2) for x in os.getloadavg()],
    }
    if ceiling is not None:
        result["ceiling"] = measure_ceiling(
            ceiling, generator, doors, setup.ceiling_s or min(duration, 5.0), workdir,
            setup.ceiling_threads, pin)
    threads = _door_threads(setup, door_threads, doors, result.get("ceiling"))
    result["config"]["door_threads"] = (threads or doors) if generator == "wrk" else None
    result["config"]["door_threads_asked"] = door_threads

    session = create_session(client, f"Keynote {label}", capacity)
    result["session"] = session
    result["setup_s"] = {"register": round(register_attendees(client, run, attendees, session), 2)}
    set_affinity(dep.hub.tree(), pin.server)
    fleet = Fleet(url=dep.hub.url, session=session, api_key=dep.api_key, count=dashboards,
                  workdir=workdir, procs=dashboard_procs, cpus=pin.clients)
    fleet.start()
    pg = PostgresRoles(dep.database_url.rpartition("/")[2] if dep.db_kind == "postgresql"
                       else None)
    try:
        result["setup_s"]["dashboards_connect"] = round(fleet.connect_s, 2)
        keys = f"{run}-{session}"
        path = f"/api/v2/sessions/{session}/attendance/checkin"
        spies = profiling.start(dep.hub, profile / label, duration) if profile else []
        meter = CpuMeter(meter_roles(dep, fleet, ceiling, pg, spies)).start()
        doors_run = run_doors(generator, url=dep.hub.url, path=path, api_key=dep.api_key,
                              run=run, keys=keys, n=attendees, doors=doors, duration=duration,
                              out=workdir / f"rush-{label}.out", threads=threads,
                              cpus=pin.clients)
        window = meter.stop({"generator": doors_run.cpu_s})
        t_end = time.monotonic()
        t_start = t_end - window["wall_s"]
        result["hub_rss_mb"] = round(dep.hub.rss_bytes() / 2**20, 1)
        if profile:
            acked_n = sum(1 for a in doors_run.answers if a.status == 200)
            result["profile"] = str(profile / label)
            print(profiling.finish(spies, profile / label, acked_n), file=sys.stderr)

        late = reconcile(client, path, run, keys, doors_run.inflight)
        final = counts(client, session)
        db = read_db(dep.database_url, session)
        final_seq = int(db.counter.get("seq", 0))
        fleet_result = fleet.finish(final_seq) if dashboards else None
    finally:
        fleet.abort()  # nothing left to stop after finish(); on an error, the dashboards
        set_affinity(dep.hub.tree(), None)

    result.update(summarise(doors_run, late, window, fleet_result, attendees,
                            (t_start, t_end)))
    if ceiling is not None and result["checkins"]["per_s"] and result["ceiling"]["per_s"]:
        result["ratio"] = round(result["checkins"]["per_s"] / result["ceiling"]["per_s"], 3)

    acked: dict[str, set[int]] = {}
    mismatched = 0
    max_in_room = 0
    for a in [*doors_run.answers, *late]:
        if a.status != 200:
            continue
        if a.idx < 0:  # an accepted answer that named no attendee of this run
            mismatched += 1
            continue
        acked.setdefault(external_id(run, a.idx), set()).add(a.seq if a.seq is not None else -1)
        mismatched += 0 if a.match else 1
        max_in_room = max(max_in_room, a.in_room or 0)
    verdict = verify(
        db=db, acked=acked, mismatched=mismatched, capacity=capacity,
        max_in_room_answered=max_in_room, api_counts=final,
        dashboards=fleet_result.dashboards if fleet_result else [],
        expect_dashboards=dashboards,
    )
    result["final_counts"] = final
    result["verification"] = {"ok": verdict.ok, "failures": verdict.failures,
                              "checks": verdict.checks}
    client.close()
    return result


def _per(value_s: float | None, count: int, scale: float) -> float | None:
    if value_s is None or count <= 0:
        return None
    return round(value_s * scale / count, 4)


def summarise(doors_run: DoorRun, late: list[Answer], window: dict[str, Any], fleet: Any,
              attendees: int, span: tuple[float, float]) -> dict[str, Any]:
    answers = doors_run.answers
    ok = [a for a in answers if a.status == 200]
    t0, t1 = doors_run.window
    rush = t1 - t0
    errors: dict[str, int] = {}
    for a in answers:
        if a.status != 200:
            key = f"{a.status} {a.reason or ''}".strip()
            errors[key] = errors.get(key, 0) + 1
    for k, v in doors_run.socket_errors.items():
        errors[f"socket {k}"] = v
    retried = sum(1 for a in answers if a.attempts > 1 and not (a.idx == 0))
    if retried:
        errors["retried after a broken connection"] = retried
    cores, cpu_s = window["cores"], window["cpu_s"]
    durable = len(ok)
    out: dict[str, Any] = {
        "checkins": {
            "acknowledged": durable,
            "answered": len(answers),
            "per_s": round(durable / rush, 1) if rush > 0 else None,
            "answers_per_s": round(len(answers) / rush, 1) if rush > 0 else None,
            "window_s": round(rush, 3),
            "cut_off_in_flight": len(doors_run.inflight),
            "answers_naming_no_badge": sum(1 for a in answers if a.idx < 0),
            "acknowledged_on_retry_after_stop": sum(1 for a in late if a.status == 200),
            "doors_out_of_badges": sum(1 for i in doors_run.next_idx if i >= attendees),
            "all_badges_scanned": bool(doors_run.next_idx)
            and all(i >= attendees for i in doors_run.next_idx),
        },
        "latency_ms": summary_ms(a.latency for a in answers),
        "latency_ok_ms": summary_ms(a.latency for a in ok),
        "errors": errors,
        "cpu": {
            # The figures that steer the door's efficiency: CPU per durable check-in.
            "hub_ms_per_checkin": _per(cpu_s.get("hub"), durable, 1e3),
            "postgres_ms_per_checkin": _per(cpu_s.get("postgres"), durable, 1e3),
            "redis_ms_per_checkin": _per(cpu_s.get("redis"), durable, 1e3),
            "generator_s": round(doors_run.cpu_s, 2),
            "generator_cores": cores.get("generator"),
            "hub_cores": cores.get("hub"),
            "postgres_cores": cores.get("postgres"),
            "redis_cores": cores.get("redis"),
            "dashboards_cores": cores.get("dashboards"),
            "benchmark_cores": cores.get("benchmark"),
            "system_busy_cores": cores.get("busy"),
        },
        "machine": {
            "window_s": window["wall_s"],
            "loadavg_start": window["loadavg_start"],
            "loadavg_end": window["loadavg_end"],
            "steal_cores": cores.get("steal"),
            "kernel_cores": cores.get("kernel"),
            "other_cores": cores.get("other"),
            "idle_cores": cores.get("idle"),
            "other_top": window["other_top"],
        },
        "cpu_window": window,
    }
    if fleet is not None:
        ack = {a.seq: a.t_answer for a in ok if a.seq is not None}
        lags: list[float] = []
        early = 0
        for seq, t in zip(fleet.lag_seq, fleet.lag_t, strict=True):
            t_ack = ack.get(seq)
            if t_ack is None:
                continue
            lag = t - t_ack
            if lag < 0:
                early += 1
                lag = 0.0
            lags.append(lag)
        missed = [int(d.get("missed") or 0) for d in fleet.dashboards]
        reconnects: dict[str, int] = {}
        for d in fleet.dashboards:
            for k, v in (d.get("closes") or {}).items():
                reconnects[k] = reconnects.get(k, 0) + v
        in_window = fleet.deliveries_between(*span)
        out["push"] = {
            "lag_ms": summary_ms(lags),
            "arrived_before_door_answer": early,
            "deliveries": fleet.deliveries,
            "deliveries_in_window": in_window,
            "deliveries_per_s": round(fleet.deliveries_per_s, 1)
            if fleet.deliveries_per_s else None,
            "missed_per_dashboard": {
                "max": max(missed, default=0),
                "mean": round(sum(missed) / len(missed), 2) if missed else 0,
                "dashboards_missing_any": sum(1 for m in missed if m),
            },
            "gaps": sum(int(d.get("gaps") or 0) for d in fleet.dashboards),
            "duplicates": sum(int(d.get("duplicates") or 0) for d in fleet.dashboards),
            "reconnects": reconnects,
            "errors": fleet.errors,
        }
        # All of the hub's CPU in the window (door included) over the events delivered in it.
        out["cpu"]["hub_us_per_event"] = _per(cpu_s.get("hub"), in_window, 1e6)
        if fleet.errors:
            for k, v in fleet.errors.items():
                out["errors"][f"dashboard {k}"] = v
    return out


def _attendees_for(requested: str, duration: float, best_rate: float) -> int:
    """``auto``: 1.5 x the time x the best rate seen so far (4,000/s until one is seen)."""
    if requested != "auto":
        return int(requested)
    return max(2000, int(1.5 * duration * (best_rate or 4000)))


def rush_grid(*, db: str, broker: str, workers: int, doors_list: list[int],
              dash_list: list[int], repeat: int, setup: Setup, attendees: str,
              capacity: int | None, ceiling: bool, dashboard_procs: int,
              workdir: Path | None, profile: Path | None = None) -> list[dict[str, Any]]:
    """One hub; every (repeat, dashboards, doors) point measured on a fresh session."""
    runs: list[dict[str, Any]] = []
    best = 0.0
    duration, generator = setup.duration, setup.generator
    with deployment(db, broker, workers, workdir) as dep:
        ceil = start_ceiling(workers, dep.workdir) if ceiling else None
        try:
            for rep in range(repeat):
                for dashboards in dash_list:
                    for doors, dt, pin in itertools.product(doors_list, setup.door_threads,
                                                            setup.pins):
                        n = _attendees_for(attendees, duration, best)
                        label = f"d{doors}-m{dashboards}-r{rep + 1}"
                        if len(setup.door_threads) > 1:
                            label += f"-t{dt}"
                        if len(setup.pins) > 1:
                            label += f"-p{pin}"
                        print(f"-- {label}: {doors} doors ({dt} wrk threads), {dashboards} "
                              f"dashboards, {duration:g}s, {n} attendees ({generator}, {db}, "
                              f"{broker}, {workers} workers)", file=sys.stderr, flush=True)
                        res = measure_rush(
                            dep, run=f"R{uuid.uuid4().hex[:6]}", attendees=n,
                            capacity=capacity if capacity is not None else n,
                            doors=doors, dashboards=dashboards,
                            dashboard_procs=dashboard_procs or (1 if dashboards <= 500 else 2),
                            setup=setup, ceiling=ceil, label=label, door_threads=dt,
                            pin_mode=pin, profile=profile)
                        res["repeat"] = rep + 1
                        runs.append(res)
                        best = max(best, res["checkins"]["per_s"] or 0.0)
                        print(report.one_line(res), file=sys.stderr, flush=True)
        finally:
            if ceil is not None:
                ceil.stop()
    return runs


def _failures(runs: list[dict[str, Any]]) -> int:
    failed = [r for r in runs if not r["verification"]["ok"]]
    if not failed:
        return 0
    print("\n" + "!" * 78 + "\n!! VERIFICATION FAILED", file=sys.stderr)
    for r in failed:
        for f in r["verification"]["failures"]:
            print(f"!! {r['label']}: {f}", file=sys.stderr)
    print("!" * 78, file=sys.stderr)
    return 1


def _command() -> str:
    return " ".join(["python -m loadtests.doorrush", *sys.argv[1:]])


def make_setup(args: argparse.Namespace) -> Setup:
    door_threads = str(args.door_threads).split(",")
    for dt in door_threads:
        if dt not in ("door", "same") and not dt.isdigit():
            raise BenchError(f"--door-threads takes door, same or a number, not {dt!r}")
    ceiling_threads = None
    if args.ceiling_threads != "auto":
        ceiling_threads = [int(x) for x in str(args.ceiling_threads).split(",")]
    pins = str(args.pin).split(",")
    for pin in pins:
        Pinning.choose(pin, 0)  # refuse a bad value before anything starts
    return Setup(generator=pick_generator(args.generator), duration=args.duration,
                 door_threads=door_threads, ceiling_threads=ceiling_threads,
                 ceiling_s=args.ceiling_seconds, pins=pins)


def setup_doc(setup: Setup) -> dict[str, Any]:
    return {"generator": setup.generator, "duration_s": setup.duration,
            "door_threads": ",".join(setup.door_threads),
            "ceiling_threads": setup.ceiling_threads or "auto",
            "ceiling_seconds_each": setup.ceiling_s or min(setup.duration, 5.0),
            "pin": ",".join(setup.pins)}


def cmd_rush(args: argparse.Namespace) -> int:
    setup = make_setup(args)
    started = time.time()
    runs = rush_grid(
        db=args.db, broker=args.broker, workers=args.workers,
        doors_list=[int(x) for x in str(args.doors).split(",")],
        dash_list=[int(x) for x in str(args.dashboards).split(",")],
        repeat=args.repeat, setup=setup, attendees=str(args.attendees),
        capacity=args.capacity, ceiling=not args.no_ceiling,
        dashboard_procs=args.dashboard_procs,
        workdir=Path(args.workdir) if args.workdir else None,
        profile=Path(args.profile) if args.profile else None)
    doc = {
        "kind": "rush",
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "command": _command(),
        "machine": machine(),
        "setup": setup_doc(setup),
        "runs": runs,
        "medians": report.medians(runs),
    }
    print(report.table(doc))
    if args.json:
        Path(args.json).write_text(json.dumps(doc, indent=2))
        print(f"wrote {args.json}")
    return _failures(runs)


def measure_idle(*, db: str, broker: str, workers: int, connections: int, settle: float,
                 dashboard_procs: int, workdir: Path | None) -> dict[str, Any]:
    """Hub memory with N idle dashboard connections (a fresh hub)."""
    with deployment(db, broker, workers, workdir) as dep:
        client = dep.client()
        session = create_session(client, "Idle keynote", None)
        client.close()
        # Warm the workers up first so the baseline is not a cold process.
        warm = Fleet(url=dep.hub.url, session=session, api_key=dep.api_key, count=50,
                     workdir=dep.workdir)
        warm.start()
        warm.finish(None)
        time.sleep(1)
        before, before_pss = dep.hub.rss_bytes(), dep.hub.pss_bytes()
        fleet = Fleet(url=dep.hub.url, session=session, api_key=dep.api_key,
                      count=connections, workdir=dep.workdir, procs=dashboard_procs or 1)
        fleet.start()
        time.sleep(settle)
        after, after_pss = dep.hub.rss_bytes(), dep.hub.pss_bytes()
        per_process = [round(p.memory_info().rss / 2**20, 1) for p in dep.hub.tree()]
        res = fleet.finish(None)
    return {
        "kind": "idle",
        "config": {"db": db, "broker": broker, "workers": workers,
                   "connections": connections},
        "connected": res.ready,
        "connect_s": round(fleet.connect_s, 2),
        "hub_rss_before_mb": round(before / 2**20, 1),
        "hub_rss_mb": round(after / 2**20, 1),
        "hub_pss_before_mb": round(before_pss / 2**20, 1),
        "hub_pss_mb": round(after_pss / 2**20, 1),
        "hub_rss_processes_mb": per_process,
        "per_connection_kb": round((after - before) / max(1, res.ready) / 1024, 2),
        "client_errors": res.errors,
    }


def cmd_idle(args: argparse.Namespace) -> int:
    doc = measure_idle(db=args.db, broker=args.broker, workers=args.workers,
                       connections=args.connections, settle=args.settle,
                       dashboard_procs=args.dashboard_procs,
                       workdir=Path(args.workdir) if args.workdir else None)
    doc.update(command=_command(), machine=machine())
    print(report.idle_table(doc))
    if args.json:
        Path(args.json).write_text(json.dumps(doc, indent=2))
        print(f"wrote {args.json}")
    return 0 if doc["connected"] == args.connections else 1


def cmd_suite(args: argparse.Namespace) -> int:
    """Every figure of docs/benchmarks.md: the door sweep, fan-out, idle memory; medians."""
    setup = make_setup(args)
    generator = setup.generator
    started = time.time()
    common = dict(db=args.db, broker=args.broker, workers=args.workers, setup=setup,
                  attendees="auto", capacity=None, dashboard_procs=args.dashboard_procs,
                  workdir=None)
    doors_list = [int(x) for x in args.sweep.split(",")]
    sweep = rush_grid(doors_list=doors_list, dash_list=[0], repeat=args.repeat, ceiling=True,
                      **common)  # type: ignore[arg-type]
    fanout = rush_grid(doors_list=[args.rush_doors],
                       dash_list=[int(x) for x in args.fanout.split(",")],
                       repeat=args.repeat, ceiling=True, **common)  # type: ignore[arg-type]
    idles = [measure_idle(db=args.db, broker=args.broker, workers=args.workers,
                          connections=args.idle, settle=5.0,
                          dashboard_procs=args.dashboard_procs, workdir=None)
             for _ in range(args.idle_repeat)]
    doc: dict[str, Any] = {
        "kind": "suite",
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime()),
        "command": _command(),
        "machine": machine(),
        "config": {"db": args.db, "broker": args.broker, "workers": args.workers,
                   "generator": generator, "duration_s": args.duration,
                   "repeat": args.repeat, "rush_doors": args.rush_doors},
        "setup": setup_doc(setup),
        "sweep": {"runs": sweep, "medians": report.medians(sweep)},
        "fanout": {"runs": fanout, "medians": report.medians(fanout)},
        "idle": {"runs": idles, "median": report.idle_median(idles)},
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(doc, indent=2))
    render(doc, out)
    return _failures(sweep + fanout)


def render(doc: dict[str, Any], out: Path) -> None:
    """OUT-doors.svg and the figures section of OUT.md from a suite's results."""
    c = doc["config"]
    svg = out.with_name(out.stem + "-doors.svg")
    svg.write_text(report.chart_svg(
        report.chart_points(doc["sweep"]["medians"]),
        f"Door rush: {c['db']}, {c['broker']}, {c['workers']} workers ({c['generator']}), "
        f"median of {c['repeat']}"))
    section = report.suite_markdown(doc, svg.name)
    md = out.with_suffix(".md")
    report.replace_section(md, section)
    print(section)
    print(f"wrote {svg} and the figures section of {md}")


def cmd_render(args: argparse.Namespace) -> int:
    out = Path(args.out)
    render(json.loads(out.with_suffix(".json").read_text()), out)
    return 0


DOOR_THREADS = "same"


def cmd_table(args: argparse.Namespace) -> int:
    for path in args.json:
        print(report.rush_markdown(json.loads(Path(path).read_text())))
        print()
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m loadtests.doorrush", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--db", choices=("sqlite", "postgresql"), default="postgresql")
        sp.add_argument("--broker", choices=("memory", "redis"), default="redis")
        sp.add_argument("--workers", type=int, default=2)
        sp.add_argument("--dashboard-procs", type=int, default=0,
                        help="processes for the dashboards (default 1, 2 above 500)")

    def driving(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--generator", default="auto", help="auto, wrk or python")
        sp.add_argument("--door-threads", default=DOOR_THREADS,
                        help="wrk threads for the doors: 'door' (one a door: each answer "
                        "matched to its badge by construction), 'same' (the ceiling's fastest "
                        f"configuration) or a number dividing the doors (default {DOOR_THREADS})")
        sp.add_argument("--ceiling-threads", default="auto",
                        help="wrk thread counts the ceiling tries over the same connections, "
                        "fastest kept (default: one a door, the cores, 2 and 1)")
        sp.add_argument("--ceiling-seconds", type=float, default=0.0,
                        help="seconds of each ceiling configuration (default: the run's "
                        "duration, at most 5)")
        sp.add_argument("--pin", default="auto",
                        help="split: the hub (uvicorn and workers) on CPU 0, the generator and "
                        "the dashboards on the others; clients: the generator and the "
                        "dashboards on the last CPU, the hub on any; none: no pinning; auto "
                        f"(default): {PIN_AUTO} for runs with dashboards, none without; a "
                        "list like split,none measures each in turn")

    common(p)
    p.add_argument("--json", help="write the results here")
    p.add_argument("--workdir", help="keep logs and raw answers here (default: a temp dir)")
    p.add_argument("--doors", default="32", help="concurrent doors; a list like 8,16,32 sweeps")
    p.add_argument("--dashboards", default="100", help="WebSocket dashboards; may be a list")
    p.add_argument("--duration", type=float, default=10.0, help="seconds of rush")
    p.add_argument("--attendees", default="auto",
                   help="registered attendees (badges); auto: 1.5 x duration x best rate")
    p.add_argument("--capacity", type=int, default=None,
                   help="the session's capacity (default: the attendees, room for all)")
    p.add_argument("--repeat", type=int, default=1, help="measure each point this many times")
    driving(p)
    p.add_argument("--no-ceiling", action="store_true", help="skip the empty-endpoint ceiling")
    p.add_argument("--profile", help="sample the hub's workers with py-spy during each rush; "
                   "stacks and a summary go under this directory")
    p.set_defaults(fn=cmd_rush)

    sub = p.add_subparsers(dest="command")
    idle = sub.add_parser("idle", help="hub memory with many idle dashboards")
    common(idle)
    idle.add_argument("--json", help="write the results here")
    idle.add_argument("--workdir", help="keep logs here (default: a temp dir)")
    idle.add_argument("--connections", type=int, default=10000)
    idle.add_argument("--settle", type=float, default=5.0)
    idle.set_defaults(fn=cmd_idle)

    suite = sub.add_parser("suite", help="every figure of docs/benchmarks.md (median of 3)")
    common(suite)
    suite.add_argument("--out", default="docs/benchmarks",
                       help="writes OUT.json, OUT-doors.svg and the figures section of OUT.md")
    suite.add_argument("--sweep", default="4,8,16,32,64", help="door counts for the chart")
    suite.add_argument("--rush-doors", type=int, default=32, help="doors of the fan-out rush")
    suite.add_argument("--fanout", default="1000,5000", help="dashboards during the rush")
    suite.add_argument("--idle", type=int, default=10000, help="idle dashboard connections")
    suite.add_argument("--idle-repeat", type=int, default=3)
    suite.add_argument("--repeat", type=int, default=3)
    suite.add_argument("--duration", type=float, default=10.0)
    driving(suite)
    suite.set_defaults(fn=cmd_suite)

    rend = sub.add_parser("render", help="redraw the chart and the figures section from "
                          "OUT.json (no measuring)")
    rend.add_argument("--out", default="docs/benchmarks")
    rend.set_defaults(fn=cmd_render)

    table = sub.add_parser("table", help="the medians and every run of rush results (--json "
                           "files) as Markdown, with the CPU and machine figures")
    table.add_argument("json", nargs="+")
    table.set_defaults(fn=cmd_table)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.fn(args))
    except BenchError as exc:
        print(f"doorrush: {exc}", file=sys.stderr)
        return 2
    except httpx.HTTPError as exc:
        print(f"doorrush: the hub stopped answering: {exc!r} (--workdir keeps its log)",
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
