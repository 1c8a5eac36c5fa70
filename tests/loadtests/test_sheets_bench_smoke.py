"""Smoke of the spreadsheet benchmark: a small run of every step gives figures for each."""

from __future__ import annotations

import json
from pathlib import Path

from loadtests import sheets_bench


def test_every_step_reports_its_figures(tmp_path: Path) -> None:
    out = tmp_path / "sheets.json"
    sheets_bench.main(["--export-rows", "300", "--import-rows", "120", "--json", str(out)])
    results = json.loads(out.read_text())
    assert [r["step"] for r in results] == list(sheets_bench.STEPS)
    for r in results:
        assert r["rows"] == (300 if r["step"].endswith("export") else 120)
        assert r["bytes"] > 0 and r["seconds"] >= 0 and r["maxrss_mb"] > 0
