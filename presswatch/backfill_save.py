"""`presswatch save-changes`: ask the Wayback Machine to save the pages whose edit or
pending removal Presswatch has just seen, so a third party holds a copy too (as
diffengine does). Off by default (`save_to_archive`); run it after `run` from cron.

Uses Save Page Now's plain form, `GET <backfill_wayback_url>/save/<url>`, through the
same polite client as `backfill` (one request at a time, `backfill_delay_s` apart,
Retry-After honoured), at most `save_max_per_run` pages per run. Each request is
recorded (`archive_saves`) with the archive's answer and the snapshot it names
(Content-Location or Location); a page is asked for once per capture that prompted it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

from archive.backfill import WAYBACK, original_of_replay, record_save, unsaved_changes
from presswatch.backfill_client import (
    ArchiveBusy,
    ArchiveClient,
    ArchiveRefused,
    ArchiveUnavailable,
)
from presswatch.runtime import Runtime

__all__ = ["SaveReport", "save_changes"]


@dataclass(slots=True)
class SaveReport:
    asked: int = 0
    saved: int = 0
    failed: int = 0
    problems: list[str] = field(default_factory=list)
    stopped: str | None = None

    @property
    def ok(self) -> bool:
        return not (self.failed or self.stopped)

    def as_json(self) -> dict[str, Any]:
        return {
            "asked": self.asked,
            "saved": self.saved,
            "failed": self.failed,
            "problems": self.problems,
            "stopped": self.stopped,
        }


def save_changes(
    runtime: Runtime,
    client: ArchiveClient,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> SaveReport:
    settings = runtime.settings
    base = settings.backfill_wayback_url
    report = SaveReport()
    with runtime.read_sessions() as session:
        candidates = unsaved_changes(session, settings.save_max_per_run)
    for candidate in candidates:
        report.asked += 1
        status: int | None = None
        snapshot: str | None = None
        problem: str | None = None
        try:
            response = client.get(f"{base}/save/{candidate.url}")
            status = response.status
            named = response.header("content-location") or response.header("location")
            if named and original_of_replay(urljoin(f"{base}/", named)):
                snapshot = urljoin(f"{base}/", named)
            else:
                problem = f"HTTP {status}: the archive named no snapshot"
        except ArchiveBusy as exc:
            report.stopped = str(exc)
            break
        except (ArchiveUnavailable, ArchiveRefused) as exc:
            problem = str(exc)
        with runtime.sessions.begin() as session:
            row = record_save(
                session,
                candidate,
                archive=WAYBACK,
                at=now(),
                status=status,
                snapshot_url=snapshot,
                problem=problem,
            )
            if row.outcome == "saved":
                report.saved += 1
            else:
                report.failed += 1
                report.problems.append(f"{candidate.url}: {problem}")
    return report
