"""Design rule 4: a process killed at any point while recording, then run again,
leaves no half-written version and no duplicate."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from archive.log import verify_archive
from archive.store.models import Article, Capture, ChangeEvent, Version
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from tests.conftest import REPO


def run_worker(data_dir: Path, *kill: str) -> tuple[int, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.record_worker", str(data_dir), *kill],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode not in (0, -9):
        raise AssertionError(proc.stderr)
    return proc.returncode, proc.stdout


def snapshot(data_dir: Path) -> dict[str, object]:
    rt = Runtime(Settings(data_dir=data_dir))
    with rt.sessions() as s:
        report = verify_archive(s, rt.warc)
        out = {
            "captures": [
                (c.seq, c.requested_url, c.status, c.outcome)
                for c in s.scalars(select(Capture).order_by(Capture.seq))
            ],
            "versions": [
                (v.article_id, v.n, v.text_sha256)
                for v in s.scalars(select(Version).order_by(Version.id))
            ],
            "events": [
                (e.article_id, e.kind, tuple(e.how))
                for e in s.scalars(select(ChangeEvent).order_by(ChangeEvent.id))
            ],
            "articles": [
                (a.url, a.status, a.version_count, a.removal)
                for a in s.scalars(select(Article).order_by(Article.id))
            ],
            "verify": [p.problem for p in report.problems],
        }
    rt.close()
    return out


@pytest.mark.slow
def test_killed_at_random_points_then_rerun_equals_a_clean_run(tmp_path: Path) -> None:
    clean = tmp_path / "clean"
    code, out = run_worker(clean)
    assert code == 0
    # Kill points are drawn from the clean run's own counts, so each one fires.
    flushes = int(out.split("flushes=")[1].split()[0])
    warcs = int(out.split("warcs=")[1].split()[0])
    expected = snapshot(clean)
    assert expected["verify"] == []
    assert len(expected["captures"]) == 10

    rng = random.Random(20261124)
    points = [("--kill-at-flush", rng.randint(1, flushes)) for _ in range(4)]
    points += [("--kill-after-warc", rng.randint(1, warcs)) for _ in range(3)]
    for i, (mode, n) in enumerate(points):
        data = tmp_path / f"killed-{i}"
        code, _ = run_worker(data, mode, str(n))
        assert code == -9, f"{mode} {n} never fired"
        assert run_worker(data)[0] == 0  # the rerun records everything once
        got = snapshot(data)
        assert got == expected, (mode, n)
