"""Persisting one capture: its WARC record (a response, or a revisit of a payload
already stored), the article it makes or joins and the URLs that article is known
under, and its Capture row on the transparency log."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.capture.detect import Verdict
from archive.capture.exchange import Exchange
from archive.capture.inflight import InFlight
from archive.content.extract import Extracted
from archive.content.normalize import normalize_url
from archive.errors import BadInput, StorageError
from archive.store.models import Article, ArticleStatus, ArticleUrl, Capture, CaptureOutcome
from archive.store.queries import article_by_url, first_response_with_payload
from archive.warc.records import WarcLocation, WarcStore, sha1_base32, warc_date

log = logging.getLogger(__name__)

# Response headers worth keeping on the Capture row (the WARC keeps them all).
KEPT_HEADERS = (
    "content-type",
    "content-encoding",  # how the payload (the body as transmitted) is to be decoded
    "content-length",
    "etag",
    "last-modified",
    "location",
    "server",
    "date",
    "cache-control",
    "x-robots-tag",
    "retry-after",
)


def store_raw(flight: InFlight, verdict: Verdict) -> WarcLocation | None:
    """The exchange's WARC record; none when no response arrived or the page is outside
    the topic (skipped pages are not kept)."""
    if flight.exchange.status is None or verdict.outcome is CaptureOutcome.SKIPPED:
        return None
    return _write_warc(flight.session, flight.warc, flight.exchange, flight.payload_sha or "")


def _write_warc(
    session: Session, warc: WarcStore, exchange: Exchange, payload_sha: str
) -> WarcLocation:
    assert exchange.status is not None
    first = first_response_with_payload(session, payload_sha) if exchange.payload else None
    common: dict[str, Any] = {
        "url": exchange.final_url,
        "fetched_at": exchange.fetched_at,
        "status": exchange.status,
        "reason": exchange.reason,
        "headers": list(exchange.headers),
        "request_headers": list(exchange.request_headers),
    }
    if first is not None:
        record_id, date = _record_head(warc, first)
        return warc.write_revisit(
            **common,
            refers_to_uri=first.final_url,
            refers_to_date=date or warc_date(first.fetched_at),
            refers_to_record=record_id or None,
            payload_digest=sha1_base32(exchange.payload),
        )
    # A payload cut at the size limit says so in its record (WARC 1.1 WARC-Truncated);
    # a bomb whose transmitted bytes are whole is stored whole, so it is not cut.
    cut = exchange.transmitted_cut or (
        exchange.transmitted is None and exchange.error == "too_large"
    )
    return warc.write_response(**common, body=exchange.payload, truncated="length" if cut else None)


def _record_head(warc: WarcStore, capture: Capture) -> tuple[str, str]:
    """The WARC-Record-ID and WARC-Date of the record a revisit refers to, as written
    there; empty when it cannot be read (the revisit still names URI and date)."""
    if capture.warc_file is None or capture.warc_offset is None or capture.warc_length is None:
        return "", ""
    try:
        return warc.read_head(capture.warc_file, capture.warc_offset, capture.warc_length)
    except StorageError:
        log.warning("revisit of capture %s: its WARC record is unreadable", capture.id)
        return "", ""


def admit_article(flight: InFlight, verdict: Verdict) -> Article | None:
    """The article the capture belongs to: the one located, a new one when the verdict
    makes a first version, or None. Records the URLs it is now known under."""
    session, place, exchange = flight.session, flight.place, flight.exchange
    article = place.article
    if article is None and verdict.new_version:
        extracted = flight.extracted
        assert extracted is not None
        canonical = _canonical_for_new(session, extracted, place.final)
        article = Article(
            source_id=flight.source.id,
            url=canonical,
            fetch_url=exchange.final_url,
            status=ArticleStatus.LIVE.value,
            first_seen=exchange.fetched_at,
            last_checked=exchange.fetched_at,
            hints={},
        )
        session.add(article)
        session.flush()
        for url, kind in (
            (canonical, "canonical"),
            (place.final, "alias"),
            (place.requested, "alias"),
        ):
            add_alias(session, article, url, kind, exchange.fetched_at)
    elif article is not None and place.via_final:
        add_alias(session, article, place.requested, "alias", exchange.fetched_at)
    return article


def _canonical_for_new(session: Session, extracted: Extracted, final_norm: str) -> str:
    """The page's own canonical URL when it is a plausible article URL on the same host
    and not yet taken; otherwise the URL we ended at. Some sites point every canonical
    at their home page: that must not merge articles."""
    declared = extracted.canonical_url
    if not declared:
        return final_norm
    try:
        canon = normalize_url(declared)
    except BadInput:
        return final_norm
    same_host = urlsplit(canon).hostname == urlsplit(final_norm).hostname
    deep_enough = len([s for s in urlsplit(canon).path.split("/") if s]) >= 1
    if not (same_host and deep_enough) or article_by_url(session, canon) is not None:
        return final_norm
    return canon


def add_alias(session: Session, article: Article, url: str, kind: str, at: datetime) -> bool:
    """Record that `article` is known under `url`; False when the URL is taken already."""
    if session.scalars(select(ArticleUrl.id).where(ArticleUrl.url == url)).first() is not None:
        return False
    session.add(ArticleUrl(article_id=article.id, url=url, kind=kind, first_seen=at))
    session.flush()
    return True


def add_capture(
    flight: InFlight,
    article: Article | None,
    location: WarcLocation | None,
    outcome: CaptureOutcome,
) -> Capture:
    """The Capture row, next after the log head in the transparency log; its leaf is set
    when the capture is sealed, once its version and events are known."""
    exchange = flight.exchange
    capture = Capture(
        seq=flight.head.seq + 1,
        fetch_key=flight.key,
        source_id=flight.source.id,
        requested_url=exchange.requested_url,
        final_url=exchange.final_url,
        redirects=[
            {"url": h.url, "status": h.status, "location": h.location} for h in exchange.redirects
        ],
        status=exchange.status,
        error=exchange.error,
        headers={k.lower(): v for k, v in exchange.headers if k.lower() in KEPT_HEADERS},
        fetched_at=exchange.fetched_at,
        recorded_at=flight.recorded_at,
        payload_sha256=flight.payload_sha,
        payload_length=len(exchange.payload) if exchange.status is not None else None,
        warc_file=location.file if location else None,
        warc_offset=location.offset if location else None,
        warc_length=location.length if location else None,
        warc_type=location.warc_type if location else None,
        record_sha256=location.record_sha256 if location else None,
        request_length=location.request_length if location else None,
        request_sha256=location.request_sha256 if location else None,
        outcome=outcome.value,
        detail=_capture_detail(flight),
        prev_chain="",  # set with chain_hash when the capture is sealed into the log
        chain_hash="",
        origin=exchange.origin,
        provenance=dict(exchange.provenance),
    )
    capture.article_id = article.id if article is not None else None
    flight.session.add(capture)
    flight.session.flush()
    return capture


def _capture_detail(flight: InFlight) -> dict[str, Any]:
    """What the capture row says of the fetch beyond its columns: what it showed, how
    the page read, and why an import is evidence only or the payload was known."""
    exchange, extracted, observation = flight.exchange, flight.extracted, flight.observation
    detail: dict[str, Any] = {"seen": observation.seen.value}
    if observation.note:
        detail["note"] = observation.note
    if exchange.error_detail:
        detail["error_detail"] = exchange.error_detail[:500]
    if extracted is not None:
        detail["page"] = extracted.kind.value
        if extracted.note:
            detail["extract_note"] = extracted.note
        if extracted.charset:
            detail["charset"] = extracted.charset
    if flight.held is not None:
        detail["evidence_only"] = flight.held
    if flight.known is not None:
        detail["payload"] = "known"
    return detail
