"""Which records and pages a WACZ of the archive holds (`presswatch export wacz`).

Owns the selection: captures by source and date, the WARC records of each (the
response or revisit, and the request written with it), the response a revisit refers
to (a replay tool needs its payload even when it falls outside the selection), and
one page per capture of an article. The package format itself is archive/formats/wacz.py.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.errors import StorageError
from archive.formats.wacz import (
    Page,
    RecordSpan,
    WaczSummary,
    pack_records,
    request_span,
    write_wacz,
)
from archive.store.models import Capture, CaptureOutcome, Source, Version
from archive.store.queries import first_response_with_payload

_BATCH = 1000


def capture_span(capture: Capture) -> RecordSpan | None:
    if capture.warc_file is None or capture.warc_offset is None or capture.warc_length is None:
        return None
    return RecordSpan(Path(capture.warc_file).name, capture.warc_offset, capture.warc_length)


def capture_spans(warc_dir: Path, capture: Capture) -> list[RecordSpan]:
    """The capture's record and the request record written with it (for a rendering,
    the records after its screenshot, which its leaf commits to as one)."""
    span = capture_span(capture)
    if span is None:
        return []
    if capture.request_sha256 is not None and capture.request_length:
        # The length the leaf commits to: what was written after the record, as a whole.
        return [span, RecordSpan(span.file, span.offset + span.length, capture.request_length)]
    request = request_span(warc_dir, span)
    return [span] if request is None else [span, request]


# Outcomes of a fetch whose page showed the version the capture points at; any other
# capture (a "page not found" notice, a bot-block) points at the article's last version
# only as bookkeeping, and must not be listed under that version's headline.
_SHOWED_ITS_VERSION = frozenset(
    {
        CaptureOutcome.NEW,
        CaptureOutcome.UNCHANGED,
        CaptureOutcome.NOT_MODIFIED,
        CaptureOutcome.EDITED,
        CaptureOutcome.RESTORED,
        CaptureOutcome.MOVED,
    }
)
# What such a page was, in the words a replay tool's page list shows.
_NOT_THE_ARTICLE = {
    CaptureOutcome.REMOVAL_PENDING: "Removal sign: the article was not on this page",
    CaptureOutcome.REMOVED: "Removal confirmed: the article was not on this page",
    CaptureOutcome.BLOCKED: "Blocked: a bot-block, consent or paywall page, not the article",
    CaptureOutcome.DEGRADED: "Degraded: the page showed only part of the article",
}


def showed_its_version(capture: Capture) -> bool:
    return capture.outcome in _SHOWED_ITS_VERSION


def not_the_article_title(outcome: str) -> str | None:
    """The page-list title of a capture of this outcome whose page did not show the
    article (a verifier of a package checks a page's title against it); else None."""
    try:
        return _NOT_THE_ARTICLE.get(CaptureOutcome(outcome))
    except ValueError:
        return None


def capture_page(capture: Capture, title: str | None) -> Page | None:
    """A replay entry point for a capture of an article page that has a record, titled
    with `title` (its version's headline) only when the page showed that version."""
    if capture.article_id is None or capture.warc_type not in ("response", "revisit"):
        return None
    if capture.status is None or not 200 <= capture.status < 300:
        return None
    if not showed_its_version(capture):
        title = not_the_article_title(capture.outcome)
    return Page(
        id=f"capture-{capture.id}", url=capture.final_url, ts=capture.fetched_at, title=title
    )


def select_captures(
    session: Session,
    *,
    sources: Sequence[str] = (),
    since: datetime | None = None,
    until: datetime | None = None,
) -> Iterator[Capture]:
    """Captures with a WARC record, oldest first: of these sources (all when empty),
    fetched at or after `since` and before `until`."""
    stmt = select(Capture).where(Capture.warc_file.is_not(None)).order_by(Capture.seq)
    if sources:
        stmt = stmt.join(Source, Source.id == Capture.source_id).where(
            Source.name.in_(list(sources))
        )
    if since is not None:
        stmt = stmt.where(Capture.fetched_at >= since)
    if until is not None:
        stmt = stmt.where(Capture.fetched_at < until)
    yield from session.scalars(stmt.execution_options(yield_per=_BATCH))


def version_titles(session: Session, ids: set[int]) -> dict[int, str | None]:
    titles: dict[int, str | None] = {}
    pending = sorted(ids)
    for start in range(0, len(pending), _BATCH):
        chunk = pending[start : start + _BATCH]
        for vid, title in session.execute(
            select(Version.id, Version.title).where(Version.id.in_(chunk))
        ):
            titles[vid] = title
    return titles


def export_wacz(
    session: Session,
    warc_dir: Path,
    out: Path,
    *,
    sources: Sequence[str] = (),
    since: datetime | None = None,
    until: datetime | None = None,
) -> WaczSummary:
    """Write the selected captures' records as a WACZ at `out`."""
    spans: list[RecordSpan] = []
    untitled: list[tuple[Page, int | None]] = []  # titles are read in batches afterwards
    revisit_payloads: set[str] = set()
    selected = 0
    for capture in select_captures(session, sources=sources, since=since, until=until):
        selected += 1
        spans.extend(capture_spans(warc_dir, capture))
        page = capture_page(capture, None)
        if page is not None:
            untitled.append((page, capture.version_id if showed_its_version(capture) else None))
        if capture.warc_type == "revisit" and capture.payload_sha256:
            revisit_payloads.add(capture.payload_sha256)
    if not selected:
        raise StorageError(
            "no capture matches: nothing to export (check --source and --since/--until; "
            "`presswatch articles` lists what the archive holds)"
        )
    for payload in sorted(revisit_payloads):
        original = first_response_with_payload(session, payload)
        if original is not None:
            spans.extend(capture_spans(warc_dir, original))
    titles = version_titles(session, {vid for _, vid in untitled if vid is not None})
    pages = [
        replace(page, title=titles.get(vid)) if vid is not None else page for page, vid in untitled
    ]
    with tempfile.TemporaryDirectory(prefix="presswatch-wacz-", dir=out.parent) as work:
        packed = pack_records(warc_dir, spans, Path(work))
        label = ", ".join(sources) if sources else "all sources"
        window = f"{since.isoformat() if since else 'start'} to " + (
            until.isoformat() if until else "now"
        )
        return write_wacz(
            out,
            packed,
            pages=pages,
            title=f"Presswatch archive: {label}",
            description=f"Captures of {label}, fetched {window}.",
        )
