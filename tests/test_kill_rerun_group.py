"""Design rule 4 under group commit: a process killed anywhere inside a group of
captures (one transaction, one WARC fsync), then run again, equals a clean run."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.kill_harness import killed_then_rerun_equals_clean


@pytest.mark.slow
def test_killed_inside_a_group_then_rerun_equals_a_clean_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECORD_GROUP", "4")
    rng = random.Random(20261130)

    # Groups of 4: the 3rd WARC record is inside the first group, the 6th inside the
    # second; with two flush points, each kind of point once or twice.
    def points(flushes: int, warcs: int) -> list[tuple[str, int]]:
        chosen = [("--kill-at-flush", rng.randint(1, flushes)) for _ in range(2)]
        return chosen + [("--kill-after-warc", n) for n in (3, 6)]

    killed_then_rerun_equals_clean(tmp_path, points)
