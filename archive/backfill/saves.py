"""What `presswatch save-changes` asks a web archive to save (`archive_saves`): our own
captures that saw an edit or a pending removal and were not sent yet, and the record of
each request with the archive's answer. Asking is `presswatch.backfill_save`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.store.models import (
    ArchiveSave,
    Article,
    Capture,
    CaptureOutcome,
    ChangeEvent,
    ChangeKind,
)

__all__ = ["SaveCandidate", "record_save", "unsaved_changes"]


@dataclass(frozen=True, slots=True)
class SaveCandidate:
    capture_id: int
    article_id: int
    url: str
    reason: str  # edited | removal_pending


def unsaved_changes(session: Session, limit: int) -> list[SaveCandidate]:
    """Our own captures that saw an edit or a pending removal and have not yet been
    sent to an archive, oldest first (web-archive and imported captures are not ours
    to send)."""
    edited = (
        select(Capture.id, Capture.article_id, Article.fetch_url)
        .join(ChangeEvent, ChangeEvent.capture_id == Capture.id)
        .join(Article, Article.id == Capture.article_id)
        .where(ChangeEvent.kind == ChangeKind.EDITED.value, Capture.origin == "crawl")
    )
    pending = (
        select(Capture.id, Capture.article_id, Article.fetch_url)
        .join(Article, Article.id == Capture.article_id)
        .where(Capture.outcome == CaptureOutcome.REMOVAL_PENDING.value, Capture.origin == "crawl")
    )
    saved = select(ArchiveSave.capture_id)
    out: list[SaveCandidate] = []
    for reason, stmt in (("edited", edited), ("removal_pending", pending)):
        rows = session.execute(
            stmt.where(Capture.id.not_in(saved)).order_by(Capture.id).limit(limit)
        )
        out += [SaveCandidate(cid, aid, url, reason) for cid, aid, url in rows if aid is not None]
    return sorted(out, key=lambda c: c.capture_id)[:limit]


def record_save(
    session: Session,
    candidate: SaveCandidate,
    *,
    archive: str,
    at: datetime,
    status: int | None,
    snapshot_url: str | None,
    problem: str | None = None,
) -> ArchiveSave:
    row = ArchiveSave(
        capture_id=candidate.capture_id,
        article_id=candidate.article_id,
        reason=candidate.reason,
        url=candidate.url,
        archive=archive,
        requested_at=at,
        status=status,
        outcome="saved" if snapshot_url and problem is None else "failed",
        snapshot_url=snapshot_url,
        detail={"problem": problem} if problem else {},
    )
    session.add(row)
    session.flush()
    return row
