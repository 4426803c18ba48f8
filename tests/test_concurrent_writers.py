"""Several processes recording at once (several crawler workers, or machines sharing
PostgreSQL) keep one unbroken transparency log and lose nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from archive.log import verify_archive
from archive.store.models import Capture, Version
from presswatch.runtime import Runtime
from tests.conftest import REPO

WORKERS = 3
PER_WORKER = 8


@pytest.mark.slow
def test_concurrent_writers_keep_one_log(any_runtime: Runtime) -> None:
    url = any_runtime.settings.database_url or "-"
    data_dir = str(any_runtime.settings.data_dir)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.concurrent_worker",
                data_dir,
                url,
                str(w),
                str(PER_WORKER),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(WORKERS)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err[-2000:]
    with any_runtime.sessions() as s:
        seqs = list(s.scalars(select(Capture.seq).order_by(Capture.seq)))
        versions = s.scalar(select(func.count()).select_from(Version))
        report = verify_archive(s, any_runtime.warc)
    assert seqs == list(range(1, WORKERS * PER_WORKER * 2 + 1))
    assert versions == WORKERS * PER_WORKER * 2  # each page was edited once
    assert report.ok, report.problems
    # Each process wrote its own WARC file(s); all records verified above.
    assert len(list(Path(data_dir, "warc").glob("*.warc.gz"))) >= WORKERS


def test_an_open_reader_does_not_block_a_writer(runtime: Runtime, at: object) -> None:
    """API pages and listings read while the crawler writes (SQLite WAL)."""
    from sqlalchemy import text

    from tests import archive_helpers as h

    with runtime.read_sessions() as reader:
        reader.execute(text("select count(*) from captures")).one()  # transaction open
        result = h.record(runtime, h.exchange("https://x.example/a/", "<p>x</p>", at=at(0)))  # type: ignore[operator]
        assert result.capture_id
