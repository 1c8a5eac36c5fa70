"""Sampling the hub's workers with py-spy during a rush, and saying where the time went.

    python -m loadtests.doorrush --doors 16 --dashboards 0 --profile /tmp/prof

writes, per worker, ``py-spy-PID.txt`` (collapsed stacks, one line per distinct stack) and a
``summary.txt`` that groups the samples: the hub's own functions (inclusive), the layers
underneath (SQLAlchemy, psycopg, Starlette, uvicorn, websockets) and the hottest lines.
py-spy is not a dependency: ``pip install py-spy`` into the venv first.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from loadtests.harness import BenchError, Server

_FRAME = re.compile(r"(\S+) \((.*?):(\d+)\)")
LAYERS = {
    "sqlalchemy": "SQLAlchemy (Core, async adaption, pool)",
    "psycopg": "psycopg (driver, incl. the libpq calls that send/receive)",
    "starlette": "Starlette",
    "uvicorn": "uvicorn (HTTP/WS protocol)",
    "websockets": "websockets (frames)",
    "msgspec": "msgspec",
    "redis": "redis client",
}


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise BenchError("--profile needs py-spy: pip install py-spy")
    return found


def workers(hub: Server) -> list[int]:
    """The processes that serve requests: the spawned workers, or the root when there is one."""
    tree = hub.tree()
    spawned = [p.pid for p in tree[1:] if "spawn_main" in " ".join(p.cmdline())
               and "resource_tracker" not in " ".join(p.cmdline())]
    return spawned or [tree[0].pid]


def start(hub: Server, out: Path, seconds: float, rate: int = 200) -> list[subprocess.Popen[bytes]]:
    out.mkdir(parents=True, exist_ok=True)
    exe = py_spy()
    return [subprocess.Popen([exe, "record", "-p", str(pid), "-d", str(int(seconds + 1)),
                              "-r", str(rate), "-f", "raw", "-o", str(out / f"py-spy-{pid}.txt"),
                              "--nonblocking"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for pid in workers(hub)]


def finish(procs: list[subprocess.Popen[bytes]], out: Path, checkins: int) -> str:
    for p in procs:
        p.wait(timeout=60)
    text = summarise(sorted(out.glob("py-spy-*.txt")), checkins)
    (out / "summary.txt").write_text(text)
    return text


def _layer_of(path: str) -> str:
    if path.startswith(("hub/", "storage/")):
        return "Rollcall (hub/, storage/)"
    for key, name in LAYERS.items():
        if f"/{key}/" in path or path.startswith(f"{key}/"):
            return name
    if "asyncio" in path or "uvloop" in path:
        return "asyncio / uvloop"
    return "other (stdlib, native)"


def summarise(files: list[Path], checkins: int) -> str:
    total = 0
    ours: Counter[str] = Counter()
    layers: Counter[str] = Counter()
    lines: Counter[str] = Counter()
    self_layers: Counter[str] = Counter()
    for f in files:
        for raw in f.read_text().splitlines():
            if not raw.strip():
                continue
            stack, _, n_s = raw.rpartition(" ")
            n = int(n_s)
            total += n
            seen: set[str] = set()
            frames = stack.split(";")
            for fr in frames:
                m = _FRAME.match(fr)
                if not m:
                    continue
                fn, path, line = m.groups()
                keys = []
                if path.startswith(("hub/", "storage/")):
                    keys.append(f"{path}:{fn}")
                for key, name in LAYERS.items():
                    if f"/{key}/" in path or path.startswith(f"{key}/"):
                        keys.append(f"[{name}]")
                for k in keys:
                    if k not in seen:
                        seen.add(k)
                        (layers if k.startswith("[") else ours)[k] += n
            m = _FRAME.match(frames[-1]) if frames else None
            if m:
                path = m.group(2)
                lines[f"{path.split('site-packages/')[-1]}:{m.group(3)} {m.group(1)}"] += n
                self_layers[_layer_of(path)] += n
    if not total:
        return "no samples (is py-spy allowed to attach? it needs ptrace)\n"
    out = [f"{total} samples over {len(files)} worker(s); {checkins} check-ins acknowledged",
           "", "Where the CPU is (innermost frame's package):"]
    out += [f"  {v / total:6.1%}  {k}" for k, v in self_layers.most_common()]
    out += ["", "Layers (inclusive: the sample passed through it):"]
    out += [f"  {v / total:6.1%}  {k}" for k, v in layers.most_common()]
    out += ["", "The hub's own functions (inclusive):"]
    out += [f"  {v / total:6.1%}  {k}" for k, v in ours.most_common(30)]
    out += ["", "Hottest lines (self):"]
    out += [f"  {v / total:6.1%}  {k}" for k, v in lines.most_common(15)]
    return "\n".join(out) + "\n"
