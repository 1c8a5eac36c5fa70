"""Running the doors: wrk with ``doors.lua`` (C, for the throughput figure) or the lean Python
generator (``pydoors.py``) when wrk is absent. Both write the same answer lines; this module
runs either as a child process, takes its CPU use from the kernel (wait4), and parses them.
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
) -> DoorRun:
    env = {
        **os.environ,
        "RC_PATH": path,
        "RC_API_KEY": api_key,
        "RC_RUN": run,
        "RC_KEYS": keys,
        "RC_N": str(n),
        "RC_DOORS": str(doors),
        "RC_OUT": str(out),
    }
    if generator == "wrk":
        argv = ["wrk", "-t", str(doors), "-c", str(doors), "-d", f"{duration:g}s",
                "--timeout", "30s", "-s", str(LUA), url]
    else:
        argv = [sys.executable, "-m", "loadtests.pydoors", url, "--duration", f"{duration:g}"]
    t0 = time.monotonic()
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
                if int(parts[3]) > 0:
                    inflight.append(int(parts[2]))
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
