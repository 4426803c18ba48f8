"""`python -m benchmarks verify` must keep working (docs/benchmarks.md); it reports its
figures, this test compares none of them with a time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_verify_benchmark_runs_small(tmp_path: Path) -> None:
    out = tmp_path / "results"
    command = [sys.executable, "-m", "benchmarks", "verify", "--captures", "60"]
    command += ["--articles", "20", "--out", str(out), "--work", str(tmp_path / "work")]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    (written,) = out.glob("verify-*-60.json")
    figures = json.loads(written.read_text(encoding="utf-8"))
    assert figures["verify"]["tree_size"] == 60
    assert figures["verify"]["peak_rss_mb"] > 0 and figures["verify"]["captures_per_s"] > 0


def test_verify_package_benchmark_runs_small(tmp_path: Path) -> None:
    """`python -m benchmarks verify-package`: the genuine package verifies, every
    hostile one is refused (exit 1 or 2), each with its peak memory measured."""
    out = tmp_path / "results"
    command = [sys.executable, "-m", "benchmarks", "verify-package", "--captures", "30"]
    done = subprocess.run(
        [*command, "--out", str(out)], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (written,) = out.glob("verify-package-*-30.json")
    cases = json.loads(written.read_text(encoding="utf-8"))["cases"]
    assert cases.pop("genuine")["exit"] == 0
    assert cases and all(case["exit"] in (1, 2) for case in cases.values()), cases
    assert all(case["peak_rss_mb"] > 0 for case in cases.values())
