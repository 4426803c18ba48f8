"""Recording a browser rendering of a capture: its WARC records (archive.warc's
`write_rendering`), a capture of its own in the transparency log, and its
`renderings` row.

The rendering's capture (outcome `rendered`, origin `browser`) belongs to the rendered
capture's article and names that capture in `detail.rendering.of_capture`; its leaf
commits to its WARC bytes (screenshot record, and DOM, page requisites and metadata as
the trailer) and to the outcome, reason and places of the screenshot and DOM. So
`presswatch verify`, evidence packages and their standalone verifier cover every byte
of it with the machinery that covers a fetch. It never points at a version and causes
no event: pages and judging see only what the fetch saw.

Idempotent (design rule 4): a capture is rendered once; recording a second rendering
of it returns the first. The caller owns the transaction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.capture.rendering import Rendering as RenderingResult
from archive.errors import BadInput, StorageError
from archive.log.seal import lock_log_head, seal_capture
from archive.store.models import Article, Capture, CaptureOutcome, LogHead
from archive.store.queries import first_response_with_payload
from archive.store.rendering_tables import Rendering
from archive.warc.records import WarcStore
from archive.warc.renderings import METADATA_PREFIX, SubExchange, write_rendering

RENDERING_ORIGIN = "browser"
# At most this many refusals are listed in the leaf (all are in the WARC metadata).
_LEAF_REFUSALS = 100
_DROPPED_FOR_BROWSER = frozenset({"content-encoding", "content-length", "transfer-encoding"})


@dataclass(frozen=True, slots=True)
class PageToRender:
    """A capture's page as the browser is to be given it: the body decoded."""

    capture_id: int
    url: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def rendering_fetch_key(capture_id: int) -> str:
    return f"rendering-of-{capture_id}"


# Fetches that made a new version: what a reader saw changed, so it is rendered.
NEW_VERSION_OUTCOMES = (
    CaptureOutcome.NEW.value,
    CaptureOutcome.EDITED.value,
    CaptureOutcome.RESTORED.value,
)


def captures_to_render(session: Session, *, after_seq: int, limit: int = 100) -> list[int]:
    """Ids of our own fetches after log position `after_seq` that made a new version and
    have no rendering yet, oldest first."""
    rendered = select(Rendering.capture_id)
    stmt = (
        select(Capture.id)
        .where(
            Capture.seq > after_seq,
            Capture.outcome.in_(NEW_VERSION_OUTCOMES),
            Capture.origin == "crawl",
            Capture.status >= 200,
            Capture.status < 300,
            Capture.id.not_in(rendered),
        )
        .order_by(Capture.seq)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def log_size(session: Session) -> int:
    """The log's current size: captures after it are this run's."""
    head = session.get(LogHead, 1)
    return head.seq if head is not None else 0


def version_screenshot(session: Session, warc: WarcStore, version_id: int) -> bytes | None:
    """The PNG of the first rendering that shows version `version_id` (the fetch that
    made it), checked against the digest the log commits to; None without one."""
    row = version_rendering(session, version_id)
    return screenshot_png(warc, row) if row is not None else None


def version_rendering(session: Session, version_id: int) -> Rendering | None:
    """The first rendering with a screenshot of a capture that made version `version_id`."""
    stmt = (
        select(Rendering)
        .where(Rendering.version_id == version_id, Rendering.screenshot_sha256.is_not(None))
        .order_by(Rendering.id)
        .limit(1)
    )
    return session.scalars(stmt).first()


def page_to_render(
    session: Session, warc: WarcStore, capture_id: int, limit: int
) -> PageToRender | None:
    """The stored response of capture `capture_id` (a revisit's original for its body),
    or None when it has no response to show (an error, no record)."""
    capture = session.get(Capture, capture_id)
    if capture is None or capture.warc_file is None or capture.status is None:
        return None
    holder = capture
    if capture.warc_type == "revisit" and capture.payload_sha256:
        original = first_response_with_payload(session, capture.payload_sha256)
        if original is None:
            return None
        holder = original
    if holder.warc_file is None or holder.warc_offset is None or holder.warc_length is None:
        return None
    record = warc.read_record(holder.warc_file, holder.warc_offset, holder.warc_length)
    body = record.decoded(limit).body
    headers = tuple(
        (k, v) for k, v in record.headers.items() if k.lower() not in _DROPPED_FOR_BROWSER
    )
    return PageToRender(capture.id, capture.final_url, capture.status, headers, body)


def record_rendering(
    session: Session,
    warc: WarcStore,
    capture_id: int,
    result: RenderingResult,
    *,
    recorded_at: datetime,
) -> Rendering:
    """Record `result`, the rendering of capture `capture_id`; the row (an existing
    one when the capture was rendered before)."""
    head = lock_log_head(session)
    existing = session.scalars(select(Rendering).where(Rendering.capture_id == capture_id)).first()
    if existing is not None:
        return existing
    page = session.get(Capture, capture_id)
    if page is None:
        raise BadInput(f"no capture with id {capture_id} to record a rendering of")
    page_record_id = None
    if page.warc_file is not None and page.warc_offset is not None and page.warc_length:
        page_record_id, _date = warc.read_head(page.warc_file, page.warc_offset, page.warc_length)

    refused = [
        {"url": r.url, "type": r.resource_type, "kind": r.kind.value, "reason": r.reason}
        for r in result.refused
    ]
    metadata: dict[str, Any] = {
        "rendering_of": page.final_url,
        "outcome": result.outcome.value,
        "reason": result.reason,
        "browser": result.browser,
        "started_at": result.started_at.isoformat(),
        "ended_at": result.ended_at.isoformat(),
        "page_height_px": result.page_height_px,
        "screenshot_truncated": result.screenshot_truncated,
        "dom_truncated": result.dom_truncated,
        "dialogs": result.dialogs,
        "refused": refused,
    }
    requisites = [
        SubExchange(
            url=r.url,
            method=r.method,
            fetched_at=r.fetched_at,
            status=r.status,
            reason=r.reason,
            headers=list(r.response_headers),
            body=r.body,
            request_headers=list(r.request_headers),
            ip=r.ip,
        )
        for r in result.resources
    ]
    placed = write_rendering(
        warc,
        page_url=page.final_url,
        page_record_id=page_record_id,
        rendered_at=result.started_at,
        screenshot_png=result.screenshot_png,
        dom_html=result.dom_html,
        metadata=metadata,
        requisites=requisites,
    )
    where = placed.location
    png = result.screenshot_png
    shot_sha = hashlib.sha256(png).hexdigest() if png is not None else None
    detail = {
        "rendering": {
            "of_capture": page.id,
            "version_id": page.version_id,
            "outcome": result.outcome.value,
            "reason": result.reason,
            "browser": result.browser,
            "screenshot": None
            if placed.screenshot is None
            else {
                "offset": placed.screenshot[0],
                "length": placed.screenshot[1],
                "sha256": shot_sha,
                "truncated": result.screenshot_truncated,
                "page_height_px": result.page_height_px,
            },
            "dom": None
            if placed.dom is None
            else {"offset": placed.dom[0], "length": placed.dom[1]},
            "resources": len(result.resources),
            "refused": refused[:_LEAF_REFUSALS],
            "refused_count": len(refused),
        }
    }
    capture = Capture(
        seq=head.seq + 1,
        fetch_key=rendering_fetch_key(page.id),
        source_id=page.source_id,
        article_id=page.article_id,
        version_id=None,
        # Not the page's URL: a look-up of the page's captures by address finds fetches.
        requested_url=METADATA_PREFIX + page.final_url,
        final_url=METADATA_PREFIX + page.final_url,
        redirects=[],
        status=None,
        error=None,
        headers={},
        fetched_at=result.started_at,
        recorded_at=recorded_at,
        payload_sha256=shot_sha,
        payload_length=len(png) if png is not None else None,
        warc_file=where.file,
        warc_offset=where.offset,
        warc_length=where.length,
        warc_type=where.warc_type,
        record_sha256=where.record_sha256,
        request_length=where.request_length,
        request_sha256=where.request_sha256,
        outcome=CaptureOutcome.RENDERED.value,
        detail=detail,
        prev_chain="",
        chain_hash="",
        origin=RENDERING_ORIGIN,
        provenance={},
    )
    session.add(capture)
    session.flush()
    article = session.get(Article, page.article_id) if page.article_id is not None else None
    seal_capture(head, capture, None, [], article)
    row = Rendering(
        capture_id=page.id,
        log_capture_id=capture.id,
        article_id=page.article_id,
        version_id=page.version_id,
        outcome=result.outcome.value,
        reason=result.reason,
        rendered_at=result.started_at,
        warc_file=where.file,
        screenshot_offset=placed.screenshot[0] if placed.screenshot else None,
        screenshot_length=placed.screenshot[1] if placed.screenshot else None,
        screenshot_sha256=shot_sha,
        dom_offset=placed.dom[0] if placed.dom else None,
        dom_length=placed.dom[1] if placed.dom else None,
        resources=len(result.resources),
        refused=len(refused),
    )
    session.add(row)
    session.flush()
    return row


def screenshot_png(warc: WarcStore, row: Rendering) -> bytes | None:
    """The screenshot's PNG bytes as stored, checked against the digest the log commits
    to (a StorageError when they differ); None when the rendering has none."""
    if row.warc_file is None or row.screenshot_offset is None or row.screenshot_length is None:
        return None
    record = warc.read_record(row.warc_file, row.screenshot_offset, row.screenshot_length)
    if hashlib.sha256(record.payload).hexdigest() != row.screenshot_sha256:
        raise StorageError(
            f"the screenshot of rendering {row.id} does not match its SHA-256: run "
            "`presswatch verify`"
        )
    return record.payload
