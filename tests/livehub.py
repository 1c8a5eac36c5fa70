"""Real hub processes for tests that need them (races, scale-out, browsers, schemathesis)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class LiveHub:
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-5000:]
        except OSError:
            return ""


def assert_clean_log(hub: LiveHub) -> None:
    """No traceback and no logged error in the hub's whole log (not only its tail)."""
    text = hub.log_path.read_text(errors="replace")
    bad = [line for line in text.splitlines()
           if "Traceback" in line or re.search(r"\b(ERROR|CRITICAL)\b", line)]
    assert not bad, "the hub logged errors:\n" + "\n".join(bad[:20]) + "\n\n" + text[-4000:]


def start_hub(
    env: dict[str, str],
    log_dir: Path,
    *,
    workers: int = 1,
    port: int | None = None,
    deadline_s: float = 30.0,
) -> LiveHub:
    """Start ``rollcall serve`` and wait (with a deadline) until /healthz answers."""
    port = port or free_port()
    full_env = {**os.environ, **env}
    log_path = log_dir / f"hub-{port}.log"
    logf = open(log_path, "wb")  # noqa: SIM115 - lives as long as the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--no-migrate"],
        cwd=ROOT,
        env=full_env,
        stdout=logf,
        stderr=subprocess.STDOUT,
    )
    hub = LiveHub(proc=proc, port=port, log_path=log_path)
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"hub exited with {proc.returncode}:\n{hub.log()}")
        try:
            r = httpx.get(f"{hub.url}/healthz", timeout=1)
            if r.status_code == 200:
                return hub
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    hub.stop()
    raise RuntimeError(f"hub did not become healthy within {deadline_s}s:\n{hub.log()}")
