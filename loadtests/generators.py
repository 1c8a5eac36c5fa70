"""Running the doors: wrk with ``doors.lua`` (C, for the throughput figure) or the lean Python
generator (``pydoors.py``) when wrk is absent. Both write the same answer lines; this module
runs either as a child process, takes its CPU use from the kernel (wait4), and parses them.

wrk runs D connections (one per door) on T threads: T = D is one thread per door, where each
answer is matched to its badge by construction; with fewer threads each thread serves D/T
doors and matches an accepted answer by the attendee it names (see ``doors.lua``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from loadtests.harness import ROOT, BenchError

LUA = Path(__file__).resolve().parent / "doors.lua"


@dataclass
class Answer:
    idx: int
    status: int
    seq: int | None
    in_room: int | None
    t_sent: float
    t_answer: float
    reason: str | None
    match: bool
    attempts: int

    @property
    def latency(self) -> float:
        return self.t_answer - self.t_sent


@dataclass
class DoorRun:
    generator: str
    doors: int
    answers: list[Answer]
    inflight: list[int]  # badges a door was still waiting on when the run stopped
    next_idx: list[int]  # per door: the next badge it would have scanned
    socket_errors: dict[str, int]
    cpu_s: float  # the generator's own user+system CPU seconds
    wall_s: float
    threads: int = 0  # wrk threads (0: the Python generator, one process)
    stdout: str = ""
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def window(self) -> tuple[float, float]:
        if not self.answers:
            return (0.0, 0.0)
        return (min(a.t_sent for a in self.answers), max(a.t_answer for a in self.answers))


def pick_generator(requested: str) -> str:
    if requested == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    if requested == "wrk" and not shutil.which("wrk"):
        raise BenchError("--generator wrk: wrk is not installed (apt-get install -y wrk)")
    if requested not in ("wrk", "python"):
        raise BenchError(f"--generator must be auto, wrk or python, not {requested!r}")
    return requested


def taskset(cpus: set[int]) -> list[str]:
    """The command prefix that starts a program (and every thread it makes) on ``cpus``."""
    exe = shutil.which("taskset")
    if exe is None:
        raise BenchError("pinning needs taskset (util-linux)")
    return [exe, "-c", ",".join(str(c) for c in sorted(cpus))]


def thread_choices(doors: int) -> list[int]:
    """wrk thread counts worth comparing for D connections: one per door, the machine's cores,
    2 and 1 (each must divide D, since wrk gives every thread D/T connections)."""
    cores = os.cpu_count() or 1
    out: list[int] = []
    for t in (doors, cores, 2, 1):
        if 1 <= t <= doors and doors % t == 0 and t not in out:
            out.append(t)
    return out


def run_doors(
    generator: str,
    *,
    url: str,
    path: str,
    api_key: str,
    run: str,
    keys: str,
    n: int,
    doors: int,
    duration: float,
    out: Path,
    threads: int | None = None,
    ceiling: bool = False,
    cpus: set[int] | None = None,
) -> DoorRun:
    """Run D doors for ``duration`` seconds; ``threads`` wrk threads (default: one a door);
    ``cpus``: the CPUs the generator may run on (default: any)."""
    threads = doors if threads is None else threads
    if generator == "wrk" and (threads < 1 or doors % threads):
        raise BenchError(f"{doors} doors cannot be shared evenly by {threads} wrk threads")
    env = {
        **os.environ,
        "RC_PATH": path,
        "RC_API_KEY": api_key,
        "RC_RUN": run,
        "RC_KEYS": keys,
        "RC_N": str(n),
        "RC_DOORS": str(threads if generator == "wrk" else doors),
        "RC_CONNS": str(doors // threads if generator == "wrk" else 1),
        "RC_CEILING": "1" if ceiling else "0",
        "RC_OUT": str(out),
    }
    if generator == "wrk":
        argv = ["wrk", "-t", str(threads), "-c", str(doors), "-d", f"{duration:g}s",
                "--timeout", "30s", "-s", str(LUA), url]
    else:
        argv = [sys.executable, "-m", "loadtests.pydoors", url, "--duration", f"{duration:g}"]
    t0 = time.monotonic()
    if cpus:
        argv = [*taskset(cpus), *argv]
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    stdout = proc.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - t0
    if proc.returncode != 0 or not out.exists():
        raise BenchError(f"{generator} failed ({proc.returncode}):\n{stdout[-3000:]}")
    run_ = parse(out, generator, doors)
    run_.cpu_s = usage.ru_utime + usage.ru_stime
    run_.wall_s = wall
    run_.threads = threads if generator == "wrk" else 0
    run_.stdout = stdout
    return run_


def _int(s: str) -> int | None:
    return None if s == "-" else int(s)


def parse(path: Path, generator: str, doors: int) -> DoorRun:
    answers: list[Answer] = []
    inflight: list[int] = []
    next_idx: list[int] = []
    errors: dict[str, int] = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            if parts[0] == "door":
                next_idx.append(int(parts[2]))
                if int(parts[3]) > 0:  # one door a thread, cut off waiting for this badge
                    inflight.append(int(parts[2]))
            elif parts[0] == "inflight":  # several doors a thread: a badge still in flight
                inflight.append(int(parts[1]))
            elif parts[0] == "wrk":
                names = ("connect", "read", "write", "status", "timeout")
                for name, value in zip(names, parts[3:8], strict=True):
                    if int(value):
                        errors[name] = int(value)
            else:
                answers.append(Answer(
                    idx=int(parts[0]), status=int(parts[1]), seq=_int(parts[2]),
                    in_room=_int(parts[3]), t_sent=float(parts[4]), t_answer=float(parts[5]),
                    reason=None if parts[6] == "-" else parts[6], match=parts[7] == "1",
                    attempts=int(parts[8]),
                ))
    errors.pop("status", None)  # HTTP refusals are counted from the answers themselves
    return DoorRun(generator=generator, doors=doors, answers=answers, inflight=inflight,
                   next_idx=next_idx, socket_errors=errors, cpu_s=0.0, wall_s=0.0)
