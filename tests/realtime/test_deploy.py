"""The container set-up: compose accepts it, and the load balancer passes WebSocket upgrades."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def compose_cli() -> list[str] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_compose_accepts_the_file() -> None:
    cli = compose_cli()
    if cli is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    done = subprocess.run([*cli, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_two_hubs_share_postgres_and_redis_behind_a_websocket_aware_balancer() -> None:
    yaml = pytest.importorskip("yaml")
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = spec["services"]
    assert {"postgres", "redis", "hub1", "hub2", "lb"} <= set(services)
    for hub in ("hub1", "hub2"):
        env = services[hub]["environment"]
        assert env["ROLLCALL_REDIS_URL"].startswith("redis://redis:")
        assert env["ROLLCALL_DATABASE_URL"].startswith("postgresql://")
        assert "--workers" in services[hub]["command"]
    assert (ROOT / "Dockerfile").is_file()
    mount = next(v for v in services["lb"]["volumes"] if "nginx.conf" in v)
    conf = (ROOT / mount.split(":")[0]).read_text()
    assert "server hub1:8000" in conf and "server hub2:8000" in conf
    assert "proxy_set_header Upgrade $http_upgrade" in conf
    assert "proxy_set_header Connection $connection_upgrade" in conf
    assert "proxy_read_timeout 75s" in conf  # longer than the 40 s dead-peer limit
