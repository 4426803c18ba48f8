"""The unchanged path: the payloads an article's current version was captured with.
A 200 that brings one of them back at the article's own address shows that version
again, byte for byte: it is recorded without extraction or full judging.

Byte for byte is the page, not its pictures: when the article's images are due again
(`archive.capture.images.images_due`) they are fetched (conditionally, so an unchanged
photo costs a 304) and compared with the version's even on this path, and on a 304 of
the page (`not_modified_with_other_images`).
A version whose own text is unchanged but whose pictures differ becomes a new version
with the same text; nothing is extracted for it (identical bytes, identical text)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.capture.detect import ContentKey
from archive.capture.exchange import Exchange
from archive.capture.images import images_capture_of
from archive.capture.locate import Place
from archive.content.edit_images import images_differ
from archive.content.image_entries import ArticleImage
from archive.store.models import Article, ArticleStatus, Capture, CaptureOutcome, Version

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


def with_images(content: ContentKey, images: tuple[ArticleImage, ...] | None) -> ContentKey:
    """`content` as this capture saw it: with the pictures it fetched, when it did."""
    return content if images is None else replace(content, images=images)


def not_modified_with_other_images(
    session: Session, exchange: Exchange, place: Place, images: tuple[ArticleImage, ...]
) -> ContentKey | None:
    """The current version's content when the page answered 304 at the article's own
    address while its pictures differ from that version's (a photo swapped under its
    address, the HTML untouched); else None, and a 304 stays not-modified."""
    article = place.article
    if (
        article is None
        or exchange.status != 304
        or exchange.error
        or place.via_final
        or place.into_other is not None
        or article.current_version_id is None
        or article.status not in (ArticleStatus.LIVE.value, ArticleStatus.EDITED.value)
    ):
        return None
    current = session.get(Version, article.current_version_id)
    if current is None:
        return None
    content = ContentKey.of(current)
    return content if images_differ(content.images, images) else None


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


def current_images(session: Session, article_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """For each article whose current version knows its images, those images (`src`,
    `alt`, `caption`) with the validators of their last fetch (`etag`,
    `last_modified`) and its time (`fetched_at`, None when never fetched): a recheck
    fetches them, conditionally, when the page changed or `images_due` says so.
    Articles whose images are unknown are left out (nothing to compare with)."""
    out: dict[int, list[dict[str, Any]]] = {}
    ids = sorted(set(article_ids))
    for start in range(0, len(ids), 500):
        rows = list(
            session.execute(
                select(Article.id, Version.images, Capture.detail, Capture.fetched_at)
                .join(Version, Version.id == Article.current_version_id)
                .join(Capture, Capture.id == Version.last_capture_id)
                .where(Article.id.in_(ids[start : start + 500]))
            )
        )
        # An unchanged check that left the images alone names the capture that fetched them.
        pointers = {p for p in (images_capture_of(r[2]) for r in rows) if p is not None}
        fetched_by = (
            {
                cid: (detail, at)
                for cid, detail, at in session.execute(
                    select(Capture.id, Capture.detail, Capture.fetched_at).where(
                        Capture.id.in_(sorted(pointers))
                    )
                )
            }
            if pointers
            else {}
        )
        for article_id, images, detail, at in rows:
            if not isinstance(images, list):
                continue  # unknown (NULL, or JSON null)
            pointer = images_capture_of(detail)
            if pointer is not None:
                detail, at = fetched_by.get(pointer, (None, None))
            fetched = (detail or {}).get("images") if isinstance(detail, dict) else None
            last = {e.get("src"): e for e in fetched or [] if isinstance(e, dict)}
            out[article_id] = [
                {
                    "src": image.get("src"),
                    "alt": image.get("alt") or "",
                    "caption": image.get("caption") or "",
                    "etag": (last.get(image.get("src")) or {}).get("etag"),
                    "last_modified": (last.get(image.get("src")) or {}).get("last_modified"),
                    "fetched_at": at if image.get("src") in last else None,
                }
                for image in images
                if isinstance(image, dict) and isinstance(image.get("src"), str)
            ]
    return out
