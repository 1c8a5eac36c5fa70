"""Smoke of the import and report benchmark: a small run through a real hub on PostgreSQL
gives figures for every step (no timing is asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadtests import harness, sheets_import_bench


@pytest.mark.slow
def test_every_step_reports_its_figures(tmp_path: Path, pg_server: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harness, "PG_SERVER", pg_server)
    out = tmp_path / "figures.json"
    sheets_import_bench.main(["--sessions", "30", "--attendees", "200", "--json", str(out)])
    results = json.loads(out.read_text())
    assert [r["step"] for r in results] == [
        "sessions-preview", "sessions-import", "attendees-preview", "attendees-import",
        "attendance-csv", "attendance-xlsx"]
    assert [r["rows"] for r in results] == [30, 30, 200, 200, 400, 400]
    for r in results:
        assert r["seconds"] >= 0 and r["peak_rss_mb"] >= r["idle_rss_mb"] > 0
