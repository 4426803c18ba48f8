"""Design rule 4 under group commit: a process killed anywhere inside a group of
captures (one transaction, one WARC fsync), then run again, equals a clean run."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.test_kill_rerun import run_worker, snapshot


@pytest.mark.slow
def test_killed_inside_a_group_then_rerun_equals_a_clean_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECORD_GROUP", "4")
    clean = tmp_path / "clean"
    code, out = run_worker(clean)
    assert code == 0
    flushes = int(out.split("flushes=")[1].split()[0])
    warcs = int(out.split("warcs=")[1].split()[0])
    expected = snapshot(clean)
    assert expected["verify"] == []
    assert len(expected["captures"]) == 10

    rng = random.Random(20261130)
    points = [("--kill-at-flush", rng.randint(1, flushes)) for _ in range(3)]
    points += [("--kill-after-warc", n) for n in (3, 6, rng.randint(1, warcs))]
    for i, (mode, n) in enumerate(points):
        data = tmp_path / f"killed-{i}"
        code, _ = run_worker(data, mode, str(n))
        assert code == -9, f"{mode} {n} never fired"
        assert run_worker(data)[0] == 0
        assert snapshot(data) == expected, (mode, n)
