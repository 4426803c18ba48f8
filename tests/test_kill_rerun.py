"""Design rule 4: a process killed at any point while recording, then run again,
leaves no half-written version and no duplicate (the harness: tests/kill_harness.py)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.kill_harness import killed_then_rerun_equals_clean


@pytest.mark.slow
def test_killed_at_random_points_then_rerun_equals_a_clean_run(tmp_path: Path) -> None:
    rng = random.Random(20261124)

    # Both kinds of kill point, two of each (from a fixed seed): each point costs two
    # processes, the killed run and the rerun.
    def points(flushes: int, warcs: int) -> list[tuple[str, int]]:
        chosen = [("--kill-at-flush", rng.randint(1, flushes)) for _ in range(2)]
        return chosen + [("--kill-after-warc", rng.randint(1, warcs)) for _ in range(2)]

    killed_then_rerun_equals_clean(tmp_path, points)
