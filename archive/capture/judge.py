"""Judging one fetch: what it shows (`observe_fetch`) and what that means for its
article (`judge_capture`), reading the article's state from the database and, when the
extractor or normalizer changed since its last version, re-reading that version's WARC
record (rule 8: an upgrade must not read as an edit). The rules themselves are the pure
`archive.capture.detect`; here they meet the Session and the WARC store.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.capture.boilerplate import same_body
from archive.capture.detect import (
    ArticleState,
    ContentKey,
    Observation,
    Policy,
    Seen,
    Verdict,
    judge,
    judge_new,
    observe,
)
from archive.capture.exchange import Exchange
from archive.capture.inflight import InFlight
from archive.capture.locate import Place
from archive.capture.rendered_text import RENDERED_CONTENT_TYPE, rendered_dom_of
from archive.clock import future_date_refusal
from archive.content.extract import Extracted, PageKind, article_body, extract_page
from archive.content.normalize import NORMALIZER_VERSION
from archive.errors import BadInput, StorageError
from archive.store.models import (
    Article,
    Capture,
    CaptureOutcome,
    RemovalReason,
    Source,
    Version,
)
from archive.store.queries import current_version_of, first_response_with_payload

log = logging.getLogger(__name__)

# Origins whose capture time is a third party's word (archive.clock judges it).
_DATED_BY_OTHERS = ("import", "web_archive")


def import_hold(
    session: Session, exchange: Exchange, article: Article | None, now: datetime
) -> str | None:
    """The one rule for imported records, whose dates and bytes are the file's word.

    - dated more than CLOCK_SKEW after `now`: refused (BadInput), nothing stored
      (this one for web-archive snapshots too);
    - WARC digest mismatch (the importer's `provenance["digest"]`): held;
    - dated at or before the newest capture of the article it belongs to: held, so a
      2001 record imported over a 2026 article never becomes an edit out of order.

    A held record is stored as evidence (capture with outcome `evidence`, WARC record,
    provenance) and moves no version, status or event; returns why, else None. Crawls and
    other origins pass untouched.
    """
    if exchange.origin not in _DATED_BY_OTHERS:
        return None
    at = exchange.fetched_at
    future = future_date_refusal(at, now)
    if future is not None:
        fix = "the record's WARC-Date" if exchange.origin == "import" else "the archive's index"
        raise BadInput(f"{exchange.requested_url}: {future}: fix {fix} (or the clock)")
    if exchange.origin != "import":
        return None
    if exchange.provenance.get("digest") == "mismatch":
        problems = "; ".join(exchange.provenance.get("digest_problems") or ())
        return f"digest_mismatch: the record's bytes do not match its WARC digest ({problems})"
    if article is None:
        return None
    newest = session.scalar(
        select(func.max(Capture.fetched_at)).where(Capture.article_id == article.id)
    )
    if newest is not None and at <= newest:
        return (
            f"out_of_order: dated {at.isoformat()}, not after the article's newest capture "
            f"({newest.isoformat()}); kept as evidence, versions and events unchanged"
        )
    return None


def observe_fetch(
    exchange: Exchange, extracted: Extracted | None, source: Source, place: Place
) -> Observation:
    """What the fetch shows, before it is weighed against the article's history."""
    content = None
    if extracted is not None and extracted.kind is PageKind.HTML:
        content = _page_key(extracted)
    observation = observe(
        status=exchange.status,
        error=exchange.error,
        requested_url=place.requested,
        final_url=place.observed_final,
        base_url=source.base_url,
        article_pattern=source.config.article_url_pattern,
        is_html=content is not None,
        page_title=extracted.page_title if extracted is not None else None,
        content=content,
        html_head=exchange.body[:20000].decode("utf-8", "replace") if content else "",
    )
    if (
        extracted is not None
        and extracted.kind is PageKind.FAILED
        and observation.seen in (Seen.NOT_ARTICLE, Seen.REMOVAL_SIGN)
        and observation.removal is not RemovalReason.REDIRECT_HOME
    ):
        # Our extraction failed (design rule 7): the page was not read, so it shows
        # neither an article nor its absence; the article keeps its state and the
        # next check judges it again. A redirect home is a sign without reading it.
        return Observation(Seen.NOT_ARTICLE, note="extraction failed: page kept, not read")
    if place.into_other is not None and observation.seen in (Seen.CONTENT, Seen.MOVED):
        # Sent on to a story we archive separately: this article's own text is gone
        # from its address (a takedown dressed as a redirect, or a merge). Weigh it
        # as a removal sign, confirmed like any other; never copy B's text into A.
        return Observation(
            Seen.REMOVAL_SIGN,
            RemovalReason.REDIRECT_ELSEWHERE,
            note=f"redirected to archived article {place.into_other.id}: {exchange.final_url}",
        )
    return observation


def judge_capture(flight: InFlight) -> Verdict:
    """The verdict on one fetch: on the current version's own bytes seen again, as
    unchanged content; on a held import, evidence only; else in full."""
    if flight.known is not None:
        seen = flight.observation.content or flight.known
        return _judge_known(flight.place.article, flight.known, seen, flight.options.policy)
    if flight.held is not None:
        return Verdict(CaptureOutcome.HELD)
    return _judge_fetch(flight)


def _judge_known(
    article: Article | None, content: ContentKey, seen: ContentKey, policy: Policy
) -> Verdict:
    """The verdict on the current version's own text seen again (`content`; `seen` is
    the same with the pictures this capture fetched): unchanged, edited when only the
    pictures changed, or the status moves (reachable again, restored, pending removal
    cleared) as for any fetch showing that content."""
    assert article is not None
    state = ArticleState.of(article, content)
    return judge(state, Observation(Seen.CONTENT, content=seen), policy, same_body=True)


def _judge_fetch(flight: InFlight) -> Verdict:
    article, extracted, options = flight.place.article, flight.extracted, flight.options
    if article is None:
        verdict = judge_new(flight.observation)
        if (
            verdict.new_version
            and options.accept is not None
            and extracted is not None
            and not options.accept(extracted)
        ):
            return Verdict(CaptureOutcome.SKIPPED)
        return verdict
    state = _state_of(flight, article)
    same = same_body(
        flight.session,
        flight.source.id,
        state,
        flight.observation,
        options.boilerplate_min_articles,
    )
    return judge(state, flight.observation, options.policy, same_body=same)


def _state_of(flight: InFlight, article: Article) -> ArticleState:
    current = current_version_of(flight.session, article)
    assert current is not None, f"article {article.id} has no version"
    last = ContentKey.of(current)
    extracted = flight.extracted
    if extracted is not None and (
        current.extractor != extracted.extractor or current.normalizer != NORMALIZER_VERSION
    ):
        # Rule 8: a newer extractor or normalizer must not read as an edit. Compare
        # against what today's code makes of the capture that produced the version.
        again = _reextracted(flight, current)
        last = replace(again, images=last.images) if again is not None else last
    return ArticleState.of(article, last)


def _reextracted(flight: InFlight, version: Version) -> ContentKey | None:
    """The version's content as the current extractor sees its original capture."""
    session, warc, options = flight.session, flight.warc, flight.options
    capture = session.get(Capture, version.first_capture_id)
    if capture is None or capture.payload_sha256 is None:
        return None
    source = capture
    if capture.warc_type == "revisit":
        source = first_response_with_payload(session, capture.payload_sha256) or capture
    if source.warc_file is None or source.warc_offset is None or source.warc_length is None:
        return None
    try:
        # A `render = true` capture's text is its rendered DOM's (archive.capture.rendered_text).
        dom = rendered_dom_of(session, warc, capture)
        content_type: str | None
        if dom is not None:
            body, content_type = dom, RENDERED_CONTENT_TYPE
        else:
            record = warc.read_record(source.warc_file, source.warc_offset, source.warc_length)
            body = record.decoded(options.max_body_bytes).body
            content_type = record.header("content-type")
    except StorageError:
        log.warning("cannot re-extract version %s: its WARC record is unreadable", version.id)
        return None
    again = extract_page(
        body, url=capture.final_url, content_type=content_type, max_bytes=options.max_body_bytes
    )
    return _page_key(again) if again.kind is PageKind.HTML else None


def _page_key(ex: Extracted) -> ContentKey:
    """What an extracted page shows, as detection compares it."""
    body = article_body(ex)
    return ContentKey(
        title=ex.title,
        byline=ex.byline,
        published=ex.published,
        text=body,
        text_sha256=hashlib.sha256(body.encode("utf-8")).hexdigest(),
    )
