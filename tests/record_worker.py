"""A subprocess that records a fixed sequence of fetches, for the kill-and-rerun test.

`python -m tests.record_worker DATA_DIR [--kill-at-flush N | --kill-after-warc N]`
(`RECORD_GROUP=n` in the environment: in groups of n, as the crawler's group commit)
SIGKILLs itself at the N-th ORM flush or right after the N-th WARC record is written,
i.e. in the middle of a transaction, as a crashed crawler would die.
"""

from __future__ import annotations

import os
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

from archive.capture import CaptureJob, record_captures
from archive.warc.records import WarcStore
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from tests import archive_helpers as h

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def plan() -> list[tuple[str, str, int | None, float]]:
    """(url, html, status, hours) for each fetch, in order."""
    u1, u2, u3 = (
        "https://khmer.example/news/4412/",
        "https://khmer.example/news/4417/",
        "https://ledger.example/news/police-free-212-workers/",
    )
    km, km2, en = h.km_story(u1).html, h.km_other(u2).html, h.en_story(u3)
    return [
        (u1, km, 200, 0),
        (u2, km2, 200, 0.1),
        (u3, en.html, 200, 0.2),
        (u1, h.noise_ad(km, 1), 200, 1),
        (u1, h.khmer_byline_changed(km), 200, 2),
        (u2, h.NOT_FOUND_KM, 404, 2.1),
        (u3, h.edit_one_word(en.html, en.snippet), 200, 2.2),
        (u2, h.NOT_FOUND_KM, 404, 3),
        (u3, "", None, 3.1),
        (u1, km, 200, 4),
    ]


def main() -> None:
    data_dir = Path(sys.argv[1])
    mode, n = (sys.argv[2], int(sys.argv[3])) if len(sys.argv) > 3 else ("", 0)
    runtime = Runtime(Settings(data_dir=data_dir))
    runtime.init()
    counter = {"flush": 0, "warc": 0}

    @event.listens_for(Session, "after_flush")
    def _flushed(session: Session, ctx: object) -> None:
        counter["flush"] += 1
        if mode == "--kill-at-flush" and counter["flush"] == n:
            os.kill(os.getpid(), signal.SIGKILL)

    original = WarcStore._append

    def _append(self: WarcStore, blob: bytes, warc_type: str, trailer: bytes = b""):  # type: ignore[no-untyped-def]
        location = original(self, blob, warc_type, trailer)
        counter["warc"] += 1
        if mode == "--kill-after-warc" and counter["warc"] == n:
            os.kill(os.getpid(), signal.SIGKILL)
        return location

    WarcStore._append = _append  # type: ignore[method-assign]

    exchanges = [
        h.exchange(
            url,
            html,
            at=T0 + timedelta(hours=hours),
            status=status,
            error="timeout" if status is None else None,
        )
        for url, html, status, hours in plan()
    ]
    # RECORD_GROUP=n: record in groups of n, one transaction and one WARC fsync each
    # (archive.record_captures, as the crawler does).
    group = int(os.environ.get("RECORD_GROUP", "0"))
    if group:
        for start in range(0, len(exchanges), group):
            jobs = [
                CaptureJob(ex, options=runtime.record_options())
                for ex in exchanges[start : start + group]
            ]
            with runtime.sessions.begin() as session:
                for result in record_captures(session, jobs, warc=runtime.warc):
                    if isinstance(result, Exception):
                        raise result
    else:
        for ex in exchanges:
            h.record(runtime, ex)
    print(f"done flushes={counter['flush']} warcs={counter['warc']}", flush=True)


if __name__ == "__main__":
    main()
