"""A subprocess that records its share of fetches, for the concurrent-writers test.

`python -m tests.concurrent_worker DATA_DIR DATABASE_URL|- WORKER_NO COUNT`
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from presswatch.runtime import Runtime
from presswatch.settings import Settings
from tests import archive_helpers as h

PAGE = """<html lang="en"><head><title>Report {n}</title></head><body><article><h1>Report {n}</h1>
<p>Inspectors visited compound number {n} on the outskirts of the city and found {m} workers
whose passports had been taken. The report was filed by the provincial labour department and
shared with the ministry, which promised an investigation within thirty days.</p>
<p>Families of the workers said they had not heard from them for weeks.</p></article></body></html>"""


def main() -> None:
    data_dir, db_url, worker, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    runtime = Runtime(
        Settings(data_dir=Path(data_dir), database_url=None if db_url == "-" else db_url)
    )
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    for i in range(count):
        n = worker * 1000 + i
        for rev in range(2):
            html = PAGE.format(n=n, m=40 + rev)
            ex = h.exchange(
                f"https://many.example/r/{n}/", html, at=t0 + timedelta(minutes=i, hours=rev)
            )
            h.record(runtime, ex)
    print("done", flush=True)


if __name__ == "__main__":
    main()
