"""A fleet of dashboard processes (``loadtests/dashboards.py``) driven from the benchmark."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadtests.generators import taskset
from loadtests.harness import ROOT, BenchError


@dataclass
class FleetResult:
    dashboards: list[dict[str, Any]]
    deliveries: int
    first_delivery: float
    last_delivery: float
    errors: dict[str, int]
    lag_seq: array  # type: ignore[type-arg]
    lag_t: array  # type: ignore[type-arg]
    cpu_s: float
    connect_s: float
    ready: int
    # per dashboards process: (start, seconds a slot, deliveries per slot)
    timelines: list[tuple[float, float, list[int]]] = field(default_factory=list)

    @property
    def deliveries_per_s(self) -> float | None:
        span = self.last_delivery - self.first_delivery
        return self.deliveries / span if span > 0 else None

    def deliveries_between(self, t0: float, t1: float) -> int:
        """Events that reached a dashboard between t0 and t1 (CLOCK_MONOTONIC seconds), to the
        resolution of a slot (10 ms): a slot counts when its middle is inside."""
        total = 0
        for base, tick, slots in self.timelines:
            first = max(0, int((t0 - base) / tick))
            last = min(len(slots), int((t1 - base) / tick) + 1)
            for i in range(first, last):
                if t0 <= base + (i + 0.5) * tick < t1:
                    total += slots[i]
        return total


@dataclass
class Fleet:
    """M dashboards spread over P processes."""

    url: str
    session: str
    api_key: str
    count: int
    workdir: Path
    procs: int = 1
    cpus: set[int] | None = None  # the CPUs the dashboards run on (None: any)
    connect_deadline: float = 0.0  # default: 30 s + 20 ms a dashboard
    final_deadline: float = 30.0
    started: list[tuple[subprocess.Popen[bytes], Path]] = field(default_factory=list)
    connect_s: float = 0.0
    ready: int = 0
    refused: int = 0

    def start(self) -> None:
        if self.count <= 0:
            return
        if not self.connect_deadline:
            self.connect_deadline = 30 + 0.02 * self.count
        stride = max(1, self.count // 50)
        procs = max(1, min(self.procs, self.count))
        base = 0
        for i in range(procs):
            n = self.count // procs + (1 if i < self.count % procs else 0)
            out = self.workdir / f"dash-{self.session}-{i}.json"
            argv = [sys.executable, "-m", "loadtests.dashboards", self.url, self.session,
                    self.api_key, "--count", str(n), "--index-base", str(base),
                    "--stride", str(stride), "--out", str(out),
                    "--connect-deadline", str(self.connect_deadline),
                    "--final-deadline", str(self.final_deadline)]
            if self.cpus:
                argv = [*taskset(self.cpus), *argv]
            proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=None)
            self.started.append((proc, out))
            base += n
        t0 = time.monotonic()
        for proc, _ in self.started:
            line = self._readline(proc, t0 + self.connect_deadline + 10)
            parts = line.split()
            if not parts or parts[0] != "ready":
                self.abort()
                raise BenchError(f"dashboards did not start: {line!r}")
            self.ready += int(parts[1])
            self.refused += int(parts[3]) if len(parts) > 3 else 0
        self.connect_s = time.monotonic() - t0
        if self.ready < self.count:
            self.abort()
            raise BenchError(f"only {self.ready} of {self.count} dashboards got their snapshot "
                             f"within {self.connect_deadline:.0f}s (refused: {self.refused})")

    def pids(self) -> list[int]:
        return [proc.pid for proc, _ in self.started if proc.poll() is None]

    @staticmethod
    def _readline(proc: subprocess.Popen[bytes], deadline: float) -> str:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        buf = b""
        while time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not r:
                break
            chunk = os.read(fd, 1)
            if not chunk:
                break
            buf += chunk
            if chunk == b"\n":
                break
        return buf.decode(errors="replace").strip()

    def finish(self, final_seq: int | None) -> FleetResult:
        """Tell every process the final seq, wait for them to catch up (or their deadline)."""
        command = f"final {final_seq}\n" if final_seq is not None else "quit\n"
        for proc, _ in self.started:
            assert proc.stdin is not None
            proc.stdin.write(command.encode())
            proc.stdin.flush()
        result = FleetResult(dashboards=[], deliveries=0, first_delivery=0.0, last_delivery=0.0,
                             errors={}, lag_seq=array("q"), lag_t=array("d"), cpu_s=0.0,
                             connect_s=self.connect_s, ready=self.ready)
        firsts, lasts = [], []
        for proc, out in self.started:
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            result.cpu_s += usage.ru_utime + usage.ru_stime
            if proc.returncode != 0 or not out.exists():
                raise BenchError(f"a dashboards process failed ({proc.returncode})")
            data = json.loads(out.read_text())
            result.dashboards += data["dashboards"]
            result.deliveries += data["deliveries"]
            result.timelines.append((float(data.get("timeline_base") or 0.0),
                                     float(data.get("timeline_tick") or 0.01),
                                     list(data.get("timeline") or [])))
            if data["first_delivery"]:
                firsts.append(data["first_delivery"])
                lasts.append(data["last_delivery"])
            for k, v in data["errors"].items():
                result.errors[k] = result.errors.get(k, 0) + v
            with open(str(out) + ".seq", "rb") as f:
                result.lag_seq.frombytes(f.read())
            with open(str(out) + ".t", "rb") as f:
                result.lag_t.frombytes(f.read())
        result.first_delivery = min(firsts, default=0.0)
        result.last_delivery = max(lasts, default=0.0)
        self.started.clear()
        return result

    def abort(self) -> None:
        for proc, _ in self.started:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.started.clear()
