"""CI smoke of the poll-rush benchmark: a small rush from nothing, its checks included (every
vote counted once, the database equal to what voters were told, every dashboard on the final
tally). No timing is asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_small_poll_rush_counts_every_vote_once(tmp_path: Path) -> None:
    out = tmp_path / "pollrush.json"
    cmd = [sys.executable, "-m", "loadtests.pollrush", "--db", "sqlite", "--broker", "memory",
           "--workers", "1", "--attendees", "60", "--dashboards", "3", "--concurrency", "8",
           "--workdir", str(tmp_path / "work"), "--json", str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=240,
                          env=dict(os.environ))
    assert out.exists(), f"no results written:\n{proc.stdout}\n{proc.stderr}"
    result = json.loads(out.read_text())
    assert proc.returncode == 0, result
    assert all(result["checks"].values()), result["checks"]
    assert result["requests"] == 66 and result["changes_of_mind"] == 6
