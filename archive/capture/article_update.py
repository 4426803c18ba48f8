"""Updating the article after one capture: the version it saw (a new one when the
content changed), its status and its removal and unreachability bookkeeping, and the
validators its next check asks with."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from archive.capture.boilerplate import count_boilerplate
from archive.capture.detect import ContentKey, Observation, Seen, Verdict
from archive.capture.exchange import Exchange
from archive.capture.inflight import InFlight
from archive.content.extract import Extracted
from archive.content.image_entries import images_to_json
from archive.content.normalize import NORMALIZER_VERSION, count_words
from archive.log.seal import content_sha256
from archive.store.models import Article, ArticleStatus, Capture, Version


def settle_version(
    flight: InFlight,
    article: Article,
    previous: Version | None,
    verdict: Verdict,
    capture: Capture,
) -> Version | None:
    """The version this capture saw: a new one when the content changed, else the
    article's current one, marked as seen again when the page showed it."""
    if verdict.new_version:
        content, extracted = flight.observation.content, flight.extracted
        assert content is not None
        assert extracted is not None or previous is not None, "a first version is extracted"
        version = _new_version(flight.session, article, extracted, previous, content, capture)
        count_boilerplate(flight.session, flight.source.id, previous, version, content.text)
        return version
    if previous is not None and flight.observation.seen in (
        Seen.CONTENT,
        Seen.MOVED,
        Seen.NOT_MODIFIED,
    ):
        previous.last_seen = capture.fetched_at
        previous.last_capture_id = capture.id
    return previous


def _new_version(
    session: Session,
    article: Article,
    extracted: Extracted | None,
    previous: Version | None,
    content: ContentKey,
    capture: Capture,
) -> Version:
    """A new version from the capture's content. Without an extraction (the page's
    bytes or a 304 were those of `previous`, only its pictures changed) the fields the
    content does not hold are `previous`'s, which the same bytes gave."""
    if extracted is not None:
        modified, lang, extractor = extracted.modified, extracted.lang, extracted.extractor
        normalizer = NORMALIZER_VERSION
    else:
        assert previous is not None
        modified, lang = previous.modified, previous.lang
        extractor, normalizer = previous.extractor, previous.normalizer
    version = Version(
        article_id=article.id,
        n=article.version_count + 1,
        title=content.title,
        byline=content.byline,
        published=content.published,
        modified=modified,
        lang=lang,
        text_z=Version.compress(content.text),
        text_sha256=content.text_sha256,
        content_sha256=content_sha256(
            title=content.title,
            byline=content.byline,
            published=content.published,
            text_sha256=content.text_sha256,
        ),
        text_chars=len(content.text),
        text_words=count_words(content.text),
        extractor=extractor,
        normalizer=normalizer,
        first_capture_id=capture.id,
        last_capture_id=capture.id,
        first_seen=capture.fetched_at,
        last_seen=capture.fetched_at,
        images=images_to_json(content.images),
    )
    session.add(version)
    session.flush()
    article.version_count += 1
    article.current_version_id = version.id
    return version


def carry_verdict(article: Article, verdict: Verdict, at: datetime) -> None:
    """Set the article's status and its removal and unreachability bookkeeping."""
    article.last_checked = max(article.last_checked, at)
    if verdict.status is not None:
        article.status = verdict.status.value
    if verdict.confirmed_removal is not None:
        article.removal = verdict.confirmed_removal.value
        # The article was gone from the first sighting that this check confirmed.
        article.removed_at = article.pending_since or at
        article.pending_since = None
    article.pending_removal = verdict.pending_removal.value if verdict.pending_removal else None
    article.pending_count = verdict.pending_count
    if verdict.pending_removal is None:
        article.pending_since = None
    elif article.pending_since is None:
        article.pending_since = at
    article.pending_degraded_sha = verdict.pending_degraded_sha
    if verdict.status is ArticleStatus.UNREACHABLE and article.unreachable_since is None:
        article.unreachable_since = at
    elif verdict.status is not ArticleStatus.UNREACHABLE:
        article.unreachable_since = None
    if verdict.cleared_removal:
        article.removal = None
        article.removed_at = None


def note_full_fetch(article: Article, observation: Observation, exchange: Exchange) -> None:
    """Remember where and with which validators the article was last fetched in full
    (the next check asks with If-None-Match / If-Modified-Since)."""
    if observation.seen in (Seen.CONTENT, Seen.MOVED) and exchange.status == 200:
        article.fetch_url = exchange.final_url
        article.etag = exchange.header("etag")
        article.last_modified_header = exchange.header("last-modified")
        article.last_full_fetch = exchange.fetched_at
