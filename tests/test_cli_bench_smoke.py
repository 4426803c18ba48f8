"""`python -m benchmarks cli` must keep working (docs/benchmarks.md); it reports its
figures, this test compares none of them with a time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_cli_benchmark_runs_one_round(tmp_path: Path) -> None:
    out = tmp_path / "results"
    command = [sys.executable, "-m", "benchmarks", "cli", "--rounds", "1", "--out", str(out)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    (written,) = out.glob("cli-*.json")
    results = json.loads(written.read_text(encoding="utf-8"))
    figures = results["figures"]
    assert set(figures) == {"bare", "help", "status", "import"}
    for figure in figures.values():
        assert len(figure["samples_s"]) == 1 and figure["min_s"] > 0
    for name in ("help", "status"):
        assert {"over_bare_s", "times_bare", "goal_s"} <= set(figures[name])
    assert "| `presswatch status` |" in done.stdout and str(written) in done.stdout
