"""`python -m benchmarks.unchanged_bench` must keep working (docs/benchmarks.md): it
crawls the local site, rechecks with 304s and reports bytes stored per 304. No figure is
compared with a target here; the test checks the command measures what it says (only
304s recorded, both stores grew, the leaf stored smaller than its canonical bytes)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_unchanged_bench_runs_small(tmp_path: Path) -> None:
    out = tmp_path / "results"
    command = [sys.executable, "-m", "benchmarks.unchanged_bench", "--size", "20"]
    command += ["--rounds", "1", "--content", "demo", "--out", str(out)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    (written,) = out.glob("unchanged-sqlite-*.json")
    figures = json.loads(written.read_text(encoding="utf-8"))
    assert figures["captures_304"] == 20
    per = figures["bytes_per_304"]
    assert per["db"] > 0 and per["warc"] > 0
    assert abs(per["total"] - (per["db"] + per["warc"])) < 0.2
    assert "capture_leaves" in figures["db_growth_per_304_by_object"]
    leaf = figures["leaf_bytes_per_304"]
    assert 0 < leaf["stored"] < leaf["canonical"]
