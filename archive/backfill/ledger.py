"""The backfill ledger (`backfill_snapshots`) and the coverage of archived snapshots:
the reads and writes `presswatch backfill` makes beside `record_capture`. (What
`save-changes` asks an archive to save is `archive.backfill.saves`'.)

A snapshot's ledger row is written in the same transaction as its capture, so after a
kill either both exist or neither: a rerun fetches again only the snapshot that was in
flight, and never one already settled.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.backfill.snapshots import Coverage, Snapshot, coverage_of, snapshot_key
from archive.store.models import (
    Article,
    BackfillSnapshot,
    Capture,
    Source,
)

__all__ = [
    "ArticleCoverage",
    "LedgerOutcome",
    "WEB_ARCHIVE",
    "ledger_counts",
    "ledger_problems",
    "mark_snapshot",
    "settled_keys",
    "snapshot_coverage",
]

WEB_ARCHIVE = "web_archive"


class LedgerOutcome:
    RECORDED = "recorded"  # a capture holds it (`capture_id`)
    FAILED = "failed"  # the archive would not serve it this time; the next run retries
    GAVE_UP = "gave_up"  # failed on `attempts` runs: left out, and said so
    REFUSED = "refused"  # the egress policy or its own URL forbids fetching it
    # Older than a capture the archive already holds for its article: judged now, it
    # would read as an edit back to old text; left out, and said so.
    OUT_OF_ORDER = "out_of_order"

    SETTLED = (RECORDED, GAVE_UP, REFUSED, OUT_OF_ORDER)


def settled_keys(session: Session, source_id: int, archive: str) -> set[str]:
    """Keys of the snapshots a rerun must not fetch again."""
    return set(
        session.scalars(
            select(BackfillSnapshot.key).where(
                BackfillSnapshot.source_id == source_id,
                BackfillSnapshot.archive == archive,
                BackfillSnapshot.outcome.in_(LedgerOutcome.SETTLED),
            )
        )
    )


def mark_snapshot(
    session: Session,
    *,
    source_id: int,
    archive: str,
    snapshot: Snapshot,
    snapshot_url: str,
    outcome: str,
    at: datetime,
    capture_id: int | None = None,
    detail: dict[str, Any] | None = None,
    give_up_after: int = 3,
) -> BackfillSnapshot:
    """Record what became of one snapshot (in the caller's transaction). A failure
    counts an attempt; at `give_up_after` attempts it becomes `gave_up`."""
    key = snapshot_key(archive, snapshot)
    row = session.scalars(select(BackfillSnapshot).where(BackfillSnapshot.key == key)).first()
    if row is None:
        row = BackfillSnapshot(
            key=key,
            source_id=source_id,
            archive=archive,
            url=snapshot.original,
            timestamp=snapshot.timestamp,
            snapshot_url=snapshot_url,
            status=snapshot.status,
            digest=snapshot.digest,
            attempts=0,
            outcome=outcome,
            detail={},
            updated_at=at,
        )
        session.add(row)
    row.attempts = (row.attempts or 0) + 1
    if outcome == LedgerOutcome.FAILED and row.attempts >= give_up_after:
        outcome = LedgerOutcome.GAVE_UP
    row.outcome = outcome
    row.capture_id = capture_id
    row.detail = dict(detail or {})
    row.updated_at = at
    session.flush()
    return row


def ledger_counts(session: Session, source_id: int) -> dict[str, int]:
    rows = session.execute(
        select(BackfillSnapshot.outcome, func.count())
        .where(BackfillSnapshot.source_id == source_id)
        .group_by(BackfillSnapshot.outcome)
    )
    return {outcome: count for outcome, count in rows}


def ledger_problems(session: Session, source_id: int, limit: int = 100) -> list[BackfillSnapshot]:
    """Snapshots not recorded: failed (to retry), given up or refused, oldest first."""
    return list(
        session.scalars(
            select(BackfillSnapshot)
            .where(
                BackfillSnapshot.source_id == source_id,
                BackfillSnapshot.outcome != LedgerOutcome.RECORDED,
            )
            .order_by(BackfillSnapshot.url, BackfillSnapshot.timestamp)
            .limit(limit)
        )
    )


@dataclass(frozen=True, slots=True)
class ArticleCoverage:
    article_id: int
    url: str
    status: str
    coverage: Coverage

    def as_json(self) -> dict[str, Any]:
        return {
            "article_id": self.article_id,
            "url": self.url,
            "status": self.status,
            **self.coverage.as_json(),
        }


def snapshot_coverage(
    session: Session, source: Source, article_ids: Iterable[int] | None = None
) -> list[ArticleCoverage]:
    """For each article of `source` seen through a web archive: how many snapshots,
    the first and last, and the largest gaps between them (oldest article first)."""
    stmt = (
        select(Capture.article_id, Capture.fetched_at)
        .where(
            Capture.source_id == source.id,
            Capture.origin == WEB_ARCHIVE,
            Capture.article_id.is_not(None),
        )
        .order_by(Capture.article_id, Capture.fetched_at)
    )
    if article_ids is not None:
        stmt = stmt.where(Capture.article_id.in_(list(article_ids)))
    times: dict[int, list[datetime]] = defaultdict(list)
    for article_id, fetched_at in session.execute(stmt):
        if article_id is not None:
            times[article_id].append(fetched_at)
    if not times:
        return []
    articles = {
        a.id: a for a in session.scalars(select(Article).where(Article.id.in_(list(times))))
    }
    out = [
        ArticleCoverage(aid, articles[aid].fetch_url, articles[aid].status, coverage_of(ts))
        for aid, ts in times.items()
        if aid in articles
    ]
    return sorted(out, key=lambda c: (c.coverage.first or datetime.max, c.article_id))
