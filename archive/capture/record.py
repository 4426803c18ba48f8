"""Recording one fetch: the edge where the Session, the WARC store and the extractor meet.

`record_capture` turns one raw exchange into, in a single transaction owned by the
caller: a WARC record (or a revisit of an identical payload), a Capture row on the
transparency log, and, when detection says so, a Version, ChangeEvents and a search-outbox
row. It is idempotent (the same fetch recorded twice is one capture) and atomic (the
caller's transaction commits all of it or none; a WARC record written before a crash
and never committed is an unreferenced orphan, not a half capture).

Extraction runs before the first database statement, so the write lock is held only
for the bookkeeping; the crawler may also extract in a process pool and pass the
result in.

This module runs the steps in order; each lives in the module named for it: `locate`
(article and source), `judge` (what the fetch shows and means, with the unchanged path
of `known_payloads`), `persist` (WARC record, article, capture row), `article_update`
(version and status), `events`. What one capture knows on the way travels as one
`InFlight` record; `group.record_captures` records many in one transaction.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from archive.capture.article_update import carry_verdict, note_full_fetch, settle_version
from archive.capture.detect import Observation, Seen
from archive.capture.events import add_events
from archive.capture.exchange import (
    CaptureResult,
    Exchange,
    ImageFetch,
    RecordOptions,
    check_exchange,
    extract_exchange,
    fetch_key,
)
from archive.capture.images import (
    images_capture,
    observed_images,
    previous_images,
    store_images,
)
from archive.capture.inflight import InFlight
from archive.capture.judge import import_hold, judge_capture, observe_fetch
from archive.capture.known_payloads import (
    known_payload,
    not_modified_with_other_images,
    with_images,
)
from archive.capture.locate import locate, resolve_source
from archive.capture.persist import add_capture, admit_article, store_raw
from archive.capture.render_record import record_rendering
from archive.capture.rendered_text import extract_rendered, text_from_detail
from archive.capture.rendering import Rendering
from archive.capture.stored_diffs import store_pair_diff
from archive.content.extract import Extracted
from archive.log.seal import lock_log_head, seal_capture
from archive.store.models import (
    Article,
    Capture,
    CaptureOutcome,
    ChangeEvent,
    LogHead,
    SearchOutbox,
    Version,
)
from archive.store.queries import current_version_of
from archive.store.story_tables import StoryOutbox
from archive.warc.records import WarcStore


def record_capture(
    session: Session,
    exchange: Exchange,
    *,
    warc: WarcStore,
    options: RecordOptions | None = None,
    extracted: Extracted | None = None,
    recorded_at: datetime | None = None,
    payload_known: bool = False,
    images: tuple[ImageFetch, ...] | None = None,
    rendering: Rendering | None = None,
) -> CaptureResult:
    """Record one fetch. The caller owns the transaction (commit or roll back).

    A 200 whose payload is byte for byte one the article's current version was already
    captured with is unchanged without extraction or detection (the unchanged path):
    one capture row and a revisit record. `payload_known=True` says the caller expects
    that (the crawler's due list knows the digests) and did not extract; if the archive
    finds otherwise, it extracts here.

    `images`: the article's images the crawler fetched with the page (None: not looked
    at). They are compared with the current version's, on the unchanged path and on a
    304 too, so a photo swapped under its address is an edit even when the page's bytes
    are the same; their exchanges are written to the WARC and listed in the capture's
    detail (`archive.capture.images`). A capture that saw the current version without
    fetching its images names the capture that last did (`detail["images_from"]`).

    `rendering`: the page rendered in the browser before it was judged (a `render =
    true` source): its text is the rendered DOM's (`extracted` is that extraction, or
    is made here from it), the same server bytes never count as unchanged by digest
    (the text depends on more than them), and the rendering is recorded right after
    the fetch, in the same transaction (archive.capture.rendered_text)."""
    options = options or RecordOptions()
    check_exchange(exchange)
    if rendering is not None:
        payload_known = False
        if extracted is None:
            extracted = extract_rendered(exchange, rendering, options.max_body_bytes)
    if extracted is None and not payload_known:
        extracted = extract_exchange(exchange, options.max_body_bytes)
    recorded_at = recorded_at or datetime.now(UTC)
    key = fetch_key(exchange)

    head = lock_log_head(session)
    existing = session.scalars(select(Capture).where(Capture.fetch_key == key)).first()
    if existing is not None:
        return _result_of(session, existing, duplicate=True)

    # Judge: which article this is, what the fetch shows, what that means for it.
    place = locate(session, exchange)
    held = import_hold(session, exchange, place.article, recorded_at)
    source = resolve_source(session, exchange, recorded_at)
    payload_sha = hashlib.sha256(exchange.payload).hexdigest() if exchange.status else None
    looked = images is not None and held is None
    before = previous_images(session, place.article) if looked else {}
    # Taken before this capture becomes the version's last one.
    images_held_by = None if looked else images_capture(session, place.article)
    seen_images = observed_images(images, before) if images is not None and looked else None
    known = None
    if held is None and rendering is None:
        known = known_payload(session, exchange, place, payload_sha)
    if known is None and held is None and rendering is None and seen_images is not None:
        # A 304 whose pictures changed shows the current text with other pictures.
        known = not_modified_with_other_images(session, exchange, place, seen_images)
    if known is not None:
        observation = Observation(Seen.CONTENT, content=with_images(known, seen_images))
    else:
        if extracted is None and payload_known:
            extracted = extract_exchange(exchange, options.max_body_bytes)
        observation = observe_fetch(exchange, extracted, source, place)
        if observation.content is not None:
            content = with_images(observation.content, seen_images)
            observation = replace(observation, content=content)
    flight = InFlight(
        session=session,
        warc=warc,
        options=options,
        exchange=exchange,
        key=key,
        head=head,
        recorded_at=recorded_at,
        place=place,
        source=source,
        payload_sha=payload_sha,
        held=held,
        known=known,
        extracted=extracted,
        observation=observation,
    )
    verdict = judge_capture(flight)

    # Persist: the raw exchange, the article (when new), the capture row.
    location = store_raw(flight, verdict)
    article = admit_article(flight, verdict)
    capture = add_capture(flight, article, location, verdict.outcome)
    if rendering is not None and location is not None:
        capture.detail = {**capture.detail, "text_from": text_from_detail(rendering)}
    if images is not None and seen_images is not None and article is not None and location:
        entries = store_images(warc, images, seen_images, before, page_record_id=location.record_id)
        capture.detail = {**capture.detail, "images": entries}

    # Update the article: its version, its status, the events that tell what changed.
    version: Version | None = None
    events: list[ChangeEvent] = []
    if article is not None and held is None:
        previous = current_version_of(session, article)
        version = settle_version(flight, article, previous, verdict, capture)
        capture.version_id = version.id if version is not None else None
        # The new version's diff against the one before, computed once here and stored:
        # pages, API, feed and packages read it, and the edited event measures it.
        pair = (
            store_pair_diff(session, previous, version)
            if verdict.new_version and previous is not None and version is not None
            else None
        )
        if (
            images_held_by is not None
            and version is not None
            and version.last_capture_id == capture.id
            and version.id == images_held_by.version_id
            and "images" not in capture.detail
        ):
            capture.detail = {**capture.detail, "images_from": images_held_by.id}
        carry_verdict(article, verdict, exchange.fetched_at)
        note_full_fetch(article, observation, exchange)
        events = add_events(flight, article, verdict, capture, (previous, version, pair))
        if verdict.new_version or events:
            session.add(SearchOutbox(article_id=article.id, created_at=recorded_at))
        if verdict.new_version and version is not None:
            # One row: the sketch itself is made after the crawl (archive.stories).
            session.add(StoryOutbox(version_id=version.id, created_at=recorded_at))

    _extend_log(head, capture, version, events, article)
    if rendering is not None and location is not None:
        # Next in the log, in this transaction: the DOM the text was read from is
        # recorded with the fetch or not at all.
        record_rendering(session, warc, capture.id, rendering, recorded_at=recorded_at)
    session.flush()
    return CaptureResult(
        capture_id=capture.id,
        article_id=capture.article_id,
        outcome=verdict.outcome,
        events=tuple(e.kind for e in events),
        version_n=version.n if version is not None else None,
    )


def _extend_log(
    head: LogHead,
    capture: Capture,
    version: Version | None,
    events: list[ChangeEvent],
    article: Article | None,
) -> None:
    """Seal the capture into the transparency log: its leaf commits to its row, its
    WARC record, its version, its events and the article's state after it."""
    session = object_session(capture)
    if session is not None:
        session.flush()  # ids and defaults of the rows the leaf names
    seal_capture(head, capture, version, events, article)


# -- a fetch recorded before -----------------------------------------------------------


def _result_of(session: Session, capture: Capture, *, duplicate: bool) -> CaptureResult:
    events = session.scalars(
        select(ChangeEvent.kind)
        .where(ChangeEvent.capture_id == capture.id)
        .order_by(ChangeEvent.id)
    )
    version = session.get(Version, capture.version_id) if capture.version_id else None
    return CaptureResult(
        capture_id=capture.id,
        article_id=capture.article_id,
        outcome=CaptureOutcome(capture.outcome),
        events=tuple(events),
        version_n=version.n if version is not None else None,
        duplicate=duplicate,
    )
