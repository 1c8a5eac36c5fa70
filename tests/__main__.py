"""The whole test run: ruff, mypy, then pytest (``python -m tests``).

Browser tests need Debian's Chromium, the deployment check `docker compose config` (or
Debian's docker-compose) and the benchmark smoke wrk: when missing and we are root, they are
installed with apt first.
pytest's "no tests ran" (exit 5) counts as a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(cmd: list[str]) -> int:
    print("+ " + " ".join(cmd), flush=True)
    return subprocess.call(cmd, cwd=ROOT)


def has_compose() -> bool:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"],
                                 capture_output=True).returncode == 0:
        return True
    return shutil.which("docker-compose") is not None


def ensure_tools() -> None:
    """Chromium for the browser tests, docker-compose for the deployment check, wrk for the
    benchmark smoke (the door generator the benchmark prefers)."""
    wanted = [] if Path("/usr/bin/chromium").exists() else ["chromium", "chromium-driver"]
    if not has_compose():
        wanted.append("docker-compose")
    if shutil.which("wrk") is None:
        wanted.append("wrk")
    if wanted and os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"+ installing Debian's {', '.join(wanted)} for the tests", flush=True)
        subprocess.call(["apt-get", "update", "-qq"], cwd=ROOT)
        subprocess.call(
            ["apt-get", "install", "-y", "-qq", *wanted],
            cwd=ROOT,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    if not Path("/usr/bin/chromium").exists():
        print("!! /usr/bin/chromium is missing: browser tests will be skipped", flush=True)
    if not has_compose():
        print("!! docker compose is missing: the compose check will be skipped", flush=True)
    if shutil.which("wrk") is None:
        print("!! wrk is missing: the benchmark smoke uses its Python generator", flush=True)


def main(argv: list[str]) -> int:
    py = sys.executable
    if not argv:
        if run([py, "-m", "ruff", "check", "hub", "storage", "loadtests", "tests"]):
            return 1
        if run([py, "-m", "mypy"]):
            return 1
        ensure_tools()
    code = run([py, "-m", "pytest", *argv])
    if code == 5:
        print("!! pytest collected no tests: that is a failure", flush=True)
        return 1
    return code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
