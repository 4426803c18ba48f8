"""The unchanged path: the payloads an article's current version was captured with.
A 200 that brings one of them back at the article's own address shows that version
again, byte for byte: it is recorded without extraction or full judging."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.capture.detect import ContentKey
from archive.capture.exchange import Exchange
from archive.capture.locate import Place
from archive.store.models import Article, Capture, CaptureOutcome, Version

# Outcomes of captures whose page showed the version they are linked to (a removal
# sign or a degraded page is linked to the version it did not show).
SHOWED_VERSION = tuple(
    o.value
    for o in (
        CaptureOutcome.NEW,
        CaptureOutcome.UNCHANGED,
        CaptureOutcome.EDITED,
        CaptureOutcome.RESTORED,
        CaptureOutcome.MOVED,
    )
)


def known_payload(
    session: Session, exchange: Exchange, place: Place, payload_sha: str | None
) -> ContentKey | None:
    """The current version's content when this 200 brought a payload that version was
    already captured with, at the article's own address; else None (judge in full).
    Identical bytes extract to identical text, whatever the extractor's version."""
    article = place.article
    if (
        article is None
        or payload_sha is None
        or exchange.status != 200
        or exchange.error
        or place.via_final
        or place.into_other is not None
        or place.observed_final != place.requested
        or article.current_version_id is None
    ):
        return None
    hit = session.scalars(
        select(Capture.id)
        .where(
            Capture.article_id == article.id,
            Capture.version_id == article.current_version_id,
            Capture.payload_sha256 == payload_sha,
            Capture.status == 200,
            Capture.outcome.in_(SHOWED_VERSION),
        )
        .limit(1)
    ).first()
    if hit is None:
        return None
    current = session.get(Version, article.current_version_id)
    if current is None:
        return None
    return ContentKey.of(current)


def current_payloads(session: Session, article_ids: Sequence[int]) -> dict[int, set[str]]:
    """For each article, the digests of the 200 payloads its current version was
    captured with: a recheck that brings one of them back takes the unchanged path
    without extraction (`record_capture(payload_known=True)`)."""
    out: dict[int, set[str]] = {}
    ids = sorted(set(article_ids))
    for start in range(0, len(ids), 500):  # stay under every driver's bound-parameter limit
        rows = session.execute(
            select(Capture.article_id, Capture.payload_sha256)
            .join(Article, Article.id == Capture.article_id)
            .where(
                Capture.article_id.in_(ids[start : start + 500]),
                Capture.version_id == Article.current_version_id,
                Capture.status == 200,
                Capture.outcome.in_(SHOWED_VERSION),
                Capture.payload_sha256.is_not(None),
            )
        )
        for article_id, sha in rows:
            if article_id is not None and sha is not None:
                out.setdefault(article_id, set()).add(sha)
    return out
