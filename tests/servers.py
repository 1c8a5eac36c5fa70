"""Finding (or starting) the real Redis and PostgreSQL the tests talk to.

Order, for each: the URL in ROLLCALL_TEST_REDIS_URL / ROLLCALL_TEST_DATABASE_URL; the server on
its usual local port; one this test run starts itself when the binaries exist. When none can be
had, the tests that need it are skipped with a loud reason, and with ROLLCALL_REQUIRE_SERVICES=1
(as CI sets) that becomes a failure.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def reachable(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_port(host: str, port: int, deadline_s: float = 20.0) -> bool:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if reachable(host, port):
            return True
        time.sleep(0.05)
    return False


def unavailable(what: str, why: str) -> None:
    message = f"NO {what}: {why}. Tests needing {what} cannot run."
    banner = "\n" + "!" * 78 + f"\n!! {message}\n" + "!" * 78 + "\n"
    sys.stderr.write(banner)
    if os.environ.get("ROLLCALL_REQUIRE_SERVICES") == "1":
        pytest.fail(message + " (ROLLCALL_REQUIRE_SERVICES=1 makes this a failure)", pytrace=False)
    pytest.skip(message)


@dataclass
class Started:
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    dirs: list[str] = field(default_factory=list)

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)


def start_redis(started: Started, port: int | None = None) -> str | None:
    binary = shutil.which("redis-server")
    if not binary:
        return None
    port = port or free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started.procs.append(proc)
    if not wait_port("127.0.0.1", port):
        return None
    return f"redis://127.0.0.1:{port}/0"


def find_redis(started: Started) -> str | None:
    url = os.environ.get("ROLLCALL_TEST_REDIS_URL")
    if url:
        return url
    if reachable("127.0.0.1", 6379):
        return "redis://127.0.0.1:6379/0"
    return start_redis(started)


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def start_postgres(started: Started) -> str | None:
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        return None
    datadir = tempfile.mkdtemp(prefix="rollcall-pg-")
    started.dirs.append(datadir)
    prefix: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        runuser = shutil.which("runuser")
        if not runuser:
            return None
        shutil.chown(datadir, "postgres")
        prefix = [runuser, "-u", "postgres", "--"]
    port = free_port()
    subprocess.run(
        [*prefix, initdb, "-D", datadir, "-A", "trust", "-U", "postgres"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    proc = subprocess.Popen(
        [*prefix, _pg_bin("postgres") or "postgres", "-D", datadir, "-p", str(port),
         "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={datadir}",
         "-c", "fsync=off"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started.procs.append(proc)
    if not wait_port("127.0.0.1", port, 30):
        return None
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


def find_postgres(started: Started) -> str | None:
    url = os.environ.get("ROLLCALL_TEST_DATABASE_URL")
    if url:
        return url
    if reachable("127.0.0.1", 5432):
        return "postgresql://postgres@127.0.0.1:5432/postgres"
    return start_postgres(started)


def with_database(server_url: str, dbname: str) -> str:
    base, _, _ = server_url.rpartition("/")
    return f"{base}/{dbname}"


def create_database(server_url: str) -> str:
    import psycopg

    name = f"rollcall_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url.replace("postgresql+psycopg", "postgresql"),
                         autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(server_url, name)


def drop_database(server_url: str, db_url: str) -> None:
    import psycopg

    name = db_url.rpartition("/")[2]
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
