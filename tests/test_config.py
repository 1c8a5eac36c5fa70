from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from hub.config import ConfigError, load_settings, realtime_config


def test_defaults_to_sqlite_in_working_directory(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings({})
    assert s.database.is_sqlite
    assert s.database.display == f"sqlite:///{tmp_path / 'rollcall.db'}"
    assert s.redis_url is None
    assert s.public_url == "http://127.0.0.1:8000"


def test_postgres_url_gets_rollcalls_driver() -> None:
    s = load_settings({"ROLLCALL_DATABASE_URL": "postgresql://u@db.example:5433/rc"})
    assert s.database.dialect == "postgresql"
    assert s.database.async_url == "postgresql+psycopg://u@db.example:5433/rc"


@pytest.mark.parametrize(
    "env",
    [
        {"ROLLCALL_DATABASE_URL": "mysql://root@localhost/x"},
        {"ROLLCALL_DATABASE_URL": "sqlite:relative"},
        {"ROLLCALL_REDIS_URL": "http://localhost:6379"},
        {"ROLLCALL_PUBLIC_URL": "ftp://example"},
        {"ROLLCALL_SECRET_KEY": "short"},
        {"ROLLCALL_IDEMPOTENCY_DAYS": "a week"},
        {"ROLLCALL_IDEMPOTENCY_DAYS": "0"},
        {"ROLLCALL_LATE_SCAN_HOURS": "-1"},
        {"ROLLCALL_LATE_SCAN_HOURS": "a day"},
        {"ROLLCALL_LATE_SCAN_HOURS": "٣"},
        {"ROLLCALL_LATE_SCAN_HOURS": "9000"},
        {"ROLLCALL_WS_FLUSH_S": "soon"},
        {"ROLLCALL_WS_FLUSH_S": "-0.01"},
        {"ROLLCALL_WS_FLUSH_S": "2"},
        {"ROLLCALL_WS_FLUSH_S": "nan"},
        {"ROLLCALL_WS_GAP_GRACE_S": "inf"},
        {"ROLLCALL_WS_GAP_GRACE_S": "-1"},
        {"ROLLCALL_WS_GAP_GRACE_S": "150ms"},
    ],
)
def test_bad_values_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(env)
    assert list(env)[0] in str(err.value)


def test_the_late_scan_window_defaults_to_a_day_and_may_be_set() -> None:
    assert load_settings({}).late_scan_hours == 24
    assert load_settings({"ROLLCALL_LATE_SCAN_HOURS": " 0 "}).late_scan_hours == 0
    assert load_settings({"ROLLCALL_LATE_SCAN_HOURS": "72"}).late_scan_hours == 72


def test_live_dashboard_timings_default_and_may_be_set() -> None:
    s = load_settings({})
    assert (s.ws_flush_s, s.ws_gap_grace_s) == (0.025, 0.15)
    s = load_settings({"ROLLCALL_WS_FLUSH_S": "0.05", "ROLLCALL_WS_GAP_GRACE_S": " 0.3 "})
    assert (s.ws_flush_s, s.ws_gap_grace_s) == (0.05, 0.3)
    s = load_settings({"ROLLCALL_WS_FLUSH_S": "0", "ROLLCALL_WS_GAP_GRACE_S": "0"})
    assert (s.ws_flush_s, s.ws_gap_grace_s) == (0.0, 0.0)  # 0: no batching, no grace


def test_the_realtime_hub_takes_the_timings_from_settings() -> None:
    s = load_settings({"ROLLCALL_WS_FLUSH_S": "0.04", "ROLLCALL_WS_GAP_GRACE_S": "0.2"})
    cfg = realtime_config(s)
    assert (cfg.flush_s, cfg.gap_grace_s) == (0.04, 0.2)
    s = dataclasses.replace(s, extra={"ROLLCALL_WS_FLUSH_S": "0.5"})
    assert realtime_config(s).flush_s == 0.5
    with pytest.raises(ConfigError, match="ROLLCALL_WS_GAP_GRACE_S"):
        realtime_config(dataclasses.replace(s, extra={"ROLLCALL_WS_GAP_GRACE_S": "x"}))


def test_bad_value_stops_startup_with_one_line_and_status_2(tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hub.cli", "migrate"],
        env={"ROLLCALL_DATABASE_URL": "mysql://nope", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "ROLLCALL_DATABASE_URL" in proc.stderr
    assert "Traceback" not in proc.stderr
