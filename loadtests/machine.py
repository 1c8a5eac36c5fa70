"""What the machine did during a measurement window: CPU by role, steal, load, everyone else.

A ``CpuMeter`` is started just before the doors and stopped just after them. It reads
``/proc`` (through psutil) for the processes that play a part, at the start, every
``interval`` seconds in a thread (so that a process that ends during the window still counts
up to its last sample), and at the end:

- ``hub``: the ``rollcall serve`` process tree, the uvicorn parent and its workers;
- ``postgres``: the PostgreSQL server's own processes (postmaster, WAL writer, checkpointer,
  background writer, launchers) and the backends connected to the benchmark's database; the
  backends of other databases (someone else's tests on a shared server) count as others;
- ``redis``: every ``redis-server`` process (a shared Redis cannot be split by client);
- ``dashboards``, ``ceiling``, ``benchmark`` (this process), ``profiler`` (py-spy);
- ``generator``: wrk or the Python doors, given by the caller (the kernel's wait4 figure).

A process that starts during the window counts from zero. The machine's totals come from
``/proc/stat``: busy time (user, nice, system, irq, softirq), steal (time the hypervisor gave
this VM's CPUs to someone else) and idle. ``other`` is what is left of busy time after
everything above and the kernel's own work (interrupts and kernel threads): other people's
processes, including the ones that came and went within the window. The processes seen at
both ends that are not ours are listed by CPU, to say who they were.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

CLK_TCK = os.sysconf("SC_CLK_TCK")
STAT_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest",
               "guest_nice")
# A PostgreSQL backend's process title names its client ("host(port)" or "[local]").
_PG_CLIENT = re.compile(r"\(\d+\)|\[local\]")
_PG_PER_DATABASE = ("autovacuum worker", "walsender", "parallel worker")
OURS = ("hub", "postgres", "redis", "generator", "dashboards", "ceiling", "benchmark",
        "profiler")

Roles = Callable[[], dict[str, list[psutil.Process]]]


def proc_stat() -> dict[str, float]:
    """The machine's CPU seconds since boot, summed over CPUs, by kind (``/proc/stat``)."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("cpu "):
            values = [int(v) / CLK_TCK for v in line.split()[1:]]
            return dict(zip(STAT_FIELDS, values, strict=False))
    return {}


def busy_s(stat: dict[str, float]) -> float:
    """CPU seconds spent working (guest time is already inside user)."""
    return sum(stat.get(k, 0.0) for k in ("user", "nice", "system", "irq", "softirq"))


def _cpu(p: psutil.Process) -> float:
    t = p.cpu_times()
    return float(t.user + t.system)


def _key(p: psutil.Process) -> tuple[int, float]:
    return (p.pid, p.create_time())


# -- who is who -------------------------------------------------------------------------------


def postmasters() -> list[psutil.Process]:
    """PostgreSQL server roots on this machine: ``postgres`` processes whose parent is not."""
    out = []
    for p in psutil.process_iter(["name", "ppid"]):
        with contextlib.suppress(psutil.Error):
            if p.info["name"] != "postgres":
                continue
            parent = psutil.Process(p.info["ppid"]) if p.info["ppid"] else None
            if parent is None or parent.name() != "postgres":
                out.append(p)
    return out


def redis_servers() -> list[psutil.Process]:
    out = []
    for p in psutil.process_iter(["name"]):
        if p.info["name"] in ("redis-server", "redis-check-rdb"):
            out.append(p)
    return out


class PostgresRoles:
    """Splits the PostgreSQL server's processes into ours (server processes and the backends of
    ``database``) and others (backends of other databases). Titles are read once a process."""

    def __init__(self, database: str | None) -> None:
        self.database = database
        self._seen: dict[tuple[int, float], bool] = {}
        # The server that holds the database: the postmaster with a backend connected to it.
        self.roots = []
        for root in postmasters() if database else []:
            with contextlib.suppress(psutil.Error):
                if any(self._client_of_ours(c) for c in root.children()):
                    self.roots.append(root)

    def _client_of_ours(self, p: psutil.Process) -> bool:
        with contextlib.suppress(psutil.Error):
            return self.database in " ".join(p.cmdline()).split()
        return False

    def _ours(self, p: psutil.Process) -> bool:
        key = _key(p)
        if key not in self._seen:
            words = " ".join(p.cmdline()).split()
            title = " ".join(words)
            if self.database in words:
                self._seen[key] = True
            else:
                client = bool(_PG_CLIENT.search(title)) or any(k in title
                                                               for k in _PG_PER_DATABASE)
                self._seen[key] = not client
        return self._seen[key]

    def split(self) -> tuple[list[psutil.Process], list[psutil.Process]]:
        ours: list[psutil.Process] = []
        others: list[psutil.Process] = []
        for root in self.roots:
            with contextlib.suppress(psutil.Error):
                ours.append(root)
                for c in root.children():
                    with contextlib.suppress(psutil.Error):
                        (ours if self._ours(c) else others).append(c)
        return ours, others


# -- the meter --------------------------------------------------------------------------------


@dataclass
class _Seen:
    role: str
    name: str
    base: float  # CPU seconds at the window's start (0 for a process started during it)
    last: float


@dataclass
class CpuMeter:
    """CPU seconds by role over one window; see the module's docstring."""

    roles: Roles
    interval: float = 0.25
    t0: float = 0.0
    stat0: dict[str, float] = field(default_factory=dict)
    load0: tuple[float, float, float] = (0.0, 0.0, 0.0)
    all0: dict[tuple[int, float], tuple[str, float, bool]] = field(default_factory=dict)
    seen: dict[tuple[int, float], _Seen] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> CpuMeter:
        self.all0 = _everyone()
        self.load0 = os.getloadavg()
        self.t0 = time.monotonic()
        self.stat0 = proc_stat()
        self.sample(first=True)
        self._thread = threading.Thread(target=self._run, name="cpu-meter", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self, first: bool = False) -> None:
        with self._lock:
            for role, procs in self.roles().items():
                for p in procs:
                    with contextlib.suppress(psutil.Error):
                        key = _key(p)
                        cpu = _cpu(p)
                        s = self.seen.get(key)
                        if s is None:
                            # Not there at the start: started during the window, all of its
                            # CPU is in the window.
                            self.seen[key] = _Seen(role=role, name=p.name(),
                                                   base=cpu if first else 0.0, last=cpu)
                        else:
                            s.last = cpu

    def stop(self, extra_s: dict[str, float] | None = None) -> dict[str, Any]:
        """End the window; ``extra_s``: CPU seconds of roles measured by the caller."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()
        stat1 = proc_stat()
        wall = time.monotonic() - self.t0
        load1 = os.getloadavg()
        all1 = _everyone()
        by_role: dict[str, float] = {}
        for s in self.seen.values():
            by_role[s.role] = by_role.get(s.role, 0.0) + max(0.0, s.last - s.base)
        for role, v in (extra_s or {}).items():
            by_role[role] = by_role.get(role, 0.0) + v
        stat = {k: stat1.get(k, 0.0) - self.stat0.get(k, 0.0) for k in stat1}
        busy = busy_s(stat)
        # Everyone at both ends who is not ours: kernel threads, and other people's processes.
        ours = set(self.seen)
        kthreads = 0.0
        others: dict[str, float] = {}
        for key, (name, cpu1, kernel) in all1.items():
            if key in ours:
                continue
            before = self.all0.get(key)
            d = max(0.0, cpu1 - (before[1] if before else 0.0))
            if kernel:
                kthreads += d
            elif d > 0:
                others[name] = others.get(name, 0.0) + d
        kernel_s = stat.get("irq", 0.0) + stat.get("softirq", 0.0) + kthreads
        ours_s = sum(v for k, v in by_role.items() if k in OURS)
        other_s = busy - ours_s - kernel_s
        for name, v in (("postgres (other databases)", by_role.get("postgres_other", 0.0)),):
            if v > 0:
                others[name] = others.get(name, 0.0) + v

        def cores(v: float) -> float:
            return round(v / wall, 3) if wall > 0 else 0.0

        return {
            "wall_s": round(wall, 3),
            "cpu_s": {k: round(v, 3) for k, v in sorted(by_role.items())}
            | {"kernel": round(kernel_s, 3), "other": round(max(0.0, other_s), 3),
               "busy": round(busy, 3), "steal": round(stat.get("steal", 0.0), 3)},
            "cores": {k: cores(v) for k, v in sorted(by_role.items())}
            | {"kernel": cores(kernel_s), "other": cores(max(0.0, other_s)),
               "busy": cores(busy), "steal": cores(stat.get("steal", 0.0)),
               "idle": cores(stat.get("idle", 0.0) + stat.get("iowait", 0.0))},
            # Negative when per-process accounting ran ahead of /proc/stat's ticks.
            "other_unfloored_cores": cores(other_s),
            "loadavg_start": [round(x, 2) for x in self.load0],
            "loadavg_end": [round(x, 2) for x in load1],
            "other_top": [{"name": n, "cores": cores(v)}
                          for n, v in sorted(others.items(), key=lambda kv: -kv[1])[:6]
                          if cores(v) >= 0.005],
        }


def _everyone() -> dict[tuple[int, float], tuple[str, float, bool]]:
    """Every process now: (pid, start) -> (name, CPU seconds, is a kernel thread)."""
    out: dict[tuple[int, float], tuple[str, float, bool]] = {}
    for p in psutil.process_iter(["name", "create_time", "cpu_times", "ppid"]):
        info = p.info
        t = info.get("cpu_times")
        if t is None or info.get("create_time") is None:
            continue
        kernel = p.pid == 2 or info.get("ppid") == 2
        out[(p.pid, info["create_time"])] = (info.get("name") or "?",
                                             float(t.user + t.system), kernel)
    return out


def set_affinity(procs: list[psutil.Process], cpus: set[int] | None) -> None:
    """Pin every thread of these processes to ``cpus`` (None: every CPU of the machine)."""
    target = cpus or set(range(os.cpu_count() or 1))
    for p in procs:
        with contextlib.suppress(psutil.Error, OSError):
            for t in p.threads():
                with contextlib.suppress(OSError):
                    os.sched_setaffinity(t.id, target)
            p.cpu_affinity(sorted(target))
