"""`python -m benchmarks diff` must keep working (docs/benchmarks.md); it reports its
figures, this test compares none of them with a time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.diff_bench import KINDS, growth, texts

REPO = Path(__file__).resolve().parents[1]


def test_diff_benchmark_runs_small(tmp_path: Path) -> None:
    out = tmp_path / "results"
    command = [sys.executable, "-m", "benchmarks", "diff", "--sizes-kb", "2,4"]
    command += ["--rounds", "1", "--out", str(out)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    (written,) = out.glob("diff-*.json")
    results = json.loads(written.read_text(encoding="utf-8"))
    cases = {(c["kind"], c["size_kb"]): c for c in results["cases"]}
    assert set(cases) == {(kind, size) for kind in KINDS for size in (2, 4)}
    for case in cases.values():
        assert case["diff_s"] >= 0 and case["record_s"] >= case["diff_s"]
    assert cases["prose", 4]["coarse"] is False
    assert cases["repeated", 4]["coarse"] is True  # the attack meets the budget
    assert set(results["growth"]) == set(KINDS)
    assert "| repeated | 4 KB |" in done.stdout


def test_the_texts_are_what_the_benchmark_says() -> None:
    old, new = texts("repeated_lines", 3)
    assert 2900 <= len(old) <= 3 * 1024 and old.count("\n") == new.count("\n")
    changed = [b for a, b in zip(old.split("\n"), new.split("\n"), strict=True) if a != b]
    assert len(changed) == len(old.split("\n")[::5])
    prose_old, prose_new = texts("prose", 20)
    assert len(prose_old) >= 20 * 1024 and prose_old != prose_new
    assert growth([{"size_kb": 10, "t": 1.0}, {"size_kb": 40, "t": 4.0}], "t") == 2.0
    cases = [{"size_kb": 1, "t": 9.0}, {"size_kb": 10, "t": 1.0}, {"size_kb": 80, "t": 64.0}]
    assert growth(cases, "t") == 4.0  # the two largest: quadratic
    assert growth([{"size_kb": 10, "timed_out_after_s": 5}], "t") is None
