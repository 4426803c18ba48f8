"""`python -m benchmarks.scale_bench` must keep working (docs/operations.md): one and two
crawler processes sharing Redis and PostgreSQL archive every article once, then record
every due article once. It compares no figure with a time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_ADMIN_URL, REDIS_URL

REPO = Path(__file__).resolve().parents[1]
SIZE = 16


@pytest.mark.slow
@pytest.mark.postgres
def test_two_processes_share_the_frontier_without_loss_or_duplicates(
    tmp_path: Path, pg_url: str, redis_prefix: str
) -> None:
    # The benchmark makes its own key prefixes; `redis_prefix` checks Redis is there.
    out = tmp_path / "results"
    # 16 articles: two crawls' worth of concurrent requests (8 per host each), so the
    # two processes still take from one queue at once; each article costs a fetch and
    # an extraction per phase, and the benchmark's own sizes are for figures.
    command = [sys.executable, "-m", "benchmarks.scale_bench", "--size", str(SIZE)]
    command += ["--processes", "1,2", "--out", str(out), "--work", str(tmp_path / "work")]
    env = {**os.environ, "PRESSWATCH_BENCH_PG": PG_ADMIN_URL}
    env["REDIS_URL"] = REDIS_URL
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    (written,) = out.glob("scale-*.json")
    rounds = json.loads(written.read_text(encoding="utf-8"))["rounds"]
    assert [r["processes"] for r in rounds] == [1, 2]
    for r in rounds:
        for phase in (r["first_crawl"], r["recheck"]):
            assert (phase["articles"], phase["captured"], phase["lost"]) == (SIZE, SIZE, 0), r
            assert phase["duplicates"] == 0, (r["processes"], phase)
            assert phase["verify_ok"], phase["verify"]
    assert sum(rounds[1]["recheck"]["fetched_per_process"]) == SIZE
