"""Everything the benchmark starts and stops: a fresh database, a Redis prefix, the hub, the
ceiling app, and small API helpers. All of it is torn down on exit, even on failure.

Only processes started here are stopped here, by their pid (each in its own process group).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = os.environ.get("ROLLCALL_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("ROLLCALL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


class BenchError(Exception):
    """The benchmark cannot go on (a service is missing, the hub did not start...)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def raise_nofile() -> int:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


# -- databases and Redis ----------------------------------------------------------------------


@contextlib.contextmanager
def fresh_database(kind: str, workdir: Path) -> Iterator[str]:
    """A new, empty database URL (ROLLCALL_DATABASE_URL form); dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    if kind != "postgresql":
        raise BenchError(f"--db must be sqlite or postgresql, not {kind!r}")
    import psycopg

    name = f"rollcall_bench_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(PG_SERVER, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        raise BenchError(f"cannot create a database on {PG_SERVER}: {exc}") from exc
    base = PG_SERVER.rpartition("/")[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_SERVER, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def redis_prefix(kind: str) -> Iterator[tuple[str, str] | None]:
    """(url, unique channel prefix) for the Redis broker, its keys deleted afterwards."""
    if kind in ("memory", "inprocess", "in-process"):
        yield None
        return
    if kind != "redis":
        raise BenchError(f"--broker must be memory or redis, not {kind!r}")
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise BenchError(f"no Redis at {REDIS_URL}: {exc}") from exc
    prefix = f"rollcall-bench-{uuid.uuid4().hex[:10]}"
    try:
        yield REDIS_URL, prefix
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()


# -- processes --------------------------------------------------------------------------------


@dataclass
class Server:
    """A uvicorn server we started (the hub or the ceiling app)."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tree(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.proc.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def cpu_seconds(self) -> float:
        total = 0.0
        for p in self.tree():
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                total += t.user + t.system
        return total

    def rss_bytes(self) -> int:
        total = 0
        for p in self.tree():
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
        return total

    def pss_bytes(self) -> int:
        """Proportional set size: shared pages split between the processes sharing them."""
        total = 0
        for p in self.tree():
            with contextlib.suppress(psutil.Error, AttributeError):
                total += p.memory_full_info().pss
        return total

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # our own group only
            self.proc.wait()


def start_server(name: str, argv: list[str], env: dict[str, str], port: int, workdir: Path,
                 deadline_s: float = 60.0) -> Server:
    log_path = workdir / f"{name}-{port}.log"
    logf = open(log_path, "wb")  # noqa: SIM115 - lives as long as the process
    proc = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, **env}, stdout=logf,
                            stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(name=name, proc=proc, port=port, log_path=log_path)
    end = time.monotonic() + deadline_s
    workers_seen = 0
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise BenchError(f"{name} exited with {proc.returncode}:\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=2).status_code in (200, 503):
                workers_seen += 1
                if workers_seen >= 3:
                    # Let the other workers finish their start-up too (they share the socket,
                    # so the answers above may all have come from the first one).
                    time.sleep(1.5)
                    return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    raise BenchError(f"{name} did not answer /healthz within {deadline_s:.0f}s:\n"
                     f"{server.log_tail()}")


def uvicorn_flags(workers: int) -> list[str]:
    return ["--workers", str(workers), "--log-level", "warning"]


def start_hub(env: dict[str, str], workers: int, workdir: Path) -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "hub.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
            *uvicorn_flags(workers), "--no-migrate"]
    return start_server("hub", argv, env, port, workdir)


def start_ceiling(workers: int, workdir: Path) -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "loadtests.ceiling", "--port", str(port), "--workers",
            str(workers)]
    return start_server("ceiling", argv, {}, port, workdir)


def rollcall_cli(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    r = subprocess.run([sys.executable, "-m", "hub.cli", *args], cwd=ROOT,
                       env={**os.environ, **env}, capture_output=True, text=True,
                       timeout=timeout)
    if r.returncode != 0:
        raise BenchError(f"rollcall {' '.join(args)} failed ({r.returncode}):\n"
                         f"{r.stdout[-2000:]}{r.stderr[-2000:]}")
    return r.stdout


# -- the hub under test ------------------------------------------------------------------------


@dataclass
class Deployment:
    """A hub we started, with its database, broker and an API key."""

    db_kind: str
    broker: str
    workers: int
    database_url: str
    env: dict[str, str]
    hub: Server
    api_key: str
    workdir: Path
    extras: dict[str, Any] = field(default_factory=dict)

    def client(self, timeout: float = 60) -> httpx.Client:
        return httpx.Client(base_url=self.hub.url, headers={"API-Key": self.api_key},
                            timeout=timeout)


@contextlib.contextmanager
def deployment(db_kind: str, broker: str, workers: int,
               workdir: Path | None = None) -> Iterator[Deployment]:
    """Start everything from nothing; tear it all down afterwards."""
    if workers > 1 and broker != "redis":
        raise BenchError("--workers above 1 needs --broker redis (the hub refuses otherwise)")
    raise_nofile()
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="doorrush-")))
        workdir.mkdir(parents=True, exist_ok=True)
        db_url = stack.enter_context(fresh_database(db_kind, workdir))
        redis = stack.enter_context(redis_prefix(broker))
        env = {
            "ROLLCALL_DATABASE_URL": db_url,
            "ROLLCALL_SECRET_KEY": "doorrush-benchmark-secret-key",
            "ROLLCALL_PUBLIC_URL": "http://127.0.0.1",
            "ROLLCALL_REDIS_URL": redis[0] if redis else "",
            "ROLLCALL_CHANNEL_PREFIX": redis[1] if redis else "rollcall",
        }
        rollcall_cli(env, "migrate")
        key = rollcall_cli(env, "apikey", "create", "--description", "doorrush")
        api_key = key.strip().splitlines()[-1].strip()
        hub = start_hub(env, workers, workdir)
        stack.callback(hub.stop)
        yield Deployment(db_kind=db_kind, broker=broker, workers=workers, database_url=db_url,
                         env=env, hub=hub, api_key=api_key, workdir=workdir)


# -- API helpers -------------------------------------------------------------------------------


def expect_ok(r: httpx.Response, what: str) -> Any:
    if r.status_code >= 300:
        raise BenchError(f"{what}: HTTP {r.status_code} {r.text[:500]}")
    return r.json().get("data")


def create_session(client: httpx.Client, name: str, capacity: int | None) -> str:
    body: dict[str, Any] = {"name": name}
    if capacity is not None:
        body["capacity"] = capacity
    data = expect_ok(client.post("/api/v2/sessions", json=body), "create session")
    return str(data["id"])


def badge(run: str, idx: int) -> str:
    return f"{run}-B{idx:07d}"


def external_id(run: str, idx: int) -> str:
    return f"{run}-E{idx:07d}"


def register_attendees(client: httpx.Client, run: str, n: int, session: str,
                       batch: int = 2000) -> float:
    """Create N attendees registered to ``session`` (POST /api/v2/attendees); return seconds.

    Each measurement uses a fresh run prefix, so its badges are new people."""
    t0 = time.monotonic()
    for start in range(0, n, batch):
        people = [
            {
                "external_id": external_id(run, i),
                "first_name": f"Door{i}",
                "last_name": "Rush",
                "email": f"{run.lower()}-{i}@bench.example",
                "badge_id": badge(run, i),
                "sessions": [session],
            }
            for i in range(start, min(n, start + batch))
        ]
        expect_ok(client.post("/api/v2/attendees", json=people), "load attendees")
    return time.monotonic() - t0


def counts(client: httpx.Client, session: str) -> dict[str, Any]:
    return dict(expect_ok(client.get(f"/api/v2/sessions/{session}/counts"), "counts"))
