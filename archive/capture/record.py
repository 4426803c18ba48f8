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
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import event, func, insert, select, update
from sqlalchemy.orm import Session, object_session

from archive.capture.detect import (
    ArticleState,
    ContentKey,
    Observation,
    Policy,
    Seen,
    Verdict,
    comparable_text,
    judge,
    judge_new,
    observe,
)
from archive.capture.stored_diffs import store_pair_diff
from archive.clock import future_date_refusal
from archive.content.diff import VersionDiff
from archive.content.editclass import judge_edit
from archive.content.extract import Extracted, PageKind, article_body, extract_page
from archive.content.normalize import NORMALIZER_VERSION, count_words, normalize_url
from archive.errors import BadInput, StorageError
from archive.log.integrity import content_sha256, lock_chain_head, seal_capture
from archive.store.models import (
    Article,
    ArticleStatus,
    ArticleUrl,
    BoilerplateLine,
    Capture,
    CaptureOutcome,
    ChainHead,
    ChangeEvent,
    ChangeKind,
    RemovalReason,
    SearchOutbox,
    Source,
    Version,
)
from archive.store.queries import (
    article_by_url,
    current_version_of,
    first_response_with_payload,
    source_by_name,
)
from archive.store.source_options import SourceOptions
from archive.views.export import version_side
from archive.warc.records import WarcLocation, WarcStore, sha1_base32, warc_date

log = logging.getLogger(__name__)

# Only short lines can be boilerplate; a repeated long paragraph is still content.
BOILERPLATE_MAX_LINE = 200
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
# Origins whose capture time is a third party's word (archive.clock judges it).
_DATED_BY_OTHERS = ("import", "web_archive")


@dataclass(frozen=True, slots=True)
class RedirectHop:
    """One hop of a redirect chain, in the order followed."""

    url: str
    status: int
    location: str


@dataclass(frozen=True, slots=True)
class Exchange:
    """One raw fetch as the crawler (or an importer) saw it.

    `status` is None and `error` names the failure (``timeout``, ``dns``,
    ``connection_refused``, ``connection_lost``, ``tls``, ``too_many_redirects``…) when no
    HTTP response arrived. With a status, ``too_large`` says `body` holds only the first
    bytes (up to the size limit; `error_detail` says how many of how many) and
    ``bad_encoding`` that it could not be decoded whole; either is judged like a page
    that could not be read. `fetched_at` must be an aware datetime.
    """

    requested_url: str
    final_url: str
    fetched_at: datetime
    status: int | None
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    redirects: tuple[RedirectHop, ...] = ()
    error: str | None = None
    error_detail: str = ""
    reason: str = ""
    request_headers: tuple[tuple[str, str], ...] = ()
    source: str | None = None
    # The body as transmitted (before Content-Encoding was undone), when it differs from
    # `body`: the WARC keeps these bytes, extraction reads `body`.
    transmitted: bytes | None = None
    # The transmitted bytes were cut at the size limit (the WARC record says
    # WARC-Truncated: length). Without `transmitted`, `too_large` says it.
    transmitted_cut: bool = False
    # `crawl`, `import` or `web_archive`, and where an import or snapshot came from
    # (file and record, or archive and snapshot URL): stored on the Capture as is.
    origin: str = "crawl"
    provenance: dict[str, Any] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None

    @property
    def payload(self) -> bytes:
        """The WARC payload: the body as transmitted. `Capture.payload_sha256`,
        `payload_length` and revisit detection all mean these bytes, as
        `WARC-Payload-Digest` does."""
        return self.body if self.transmitted is None else self.transmitted


@dataclass(frozen=True, slots=True)
class RecordOptions:
    """What the archive needs to know beyond the exchange; built by the caller from
    Settings (the archive never reads the environment)."""

    policy: Policy = field(default_factory=Policy)
    boilerplate_min_articles: int = 3
    max_body_bytes: int = 20_000_000
    # Called on the extraction of a NEW article; False means "outside the topic".
    accept: Callable[[Extracted], bool] | None = None


@dataclass(frozen=True, slots=True)
class CaptureResult:
    capture_id: int
    article_id: int | None
    outcome: CaptureOutcome
    events: tuple[str, ...]
    version_n: int | None
    duplicate: bool = False


def _check_exchange(exchange: Exchange) -> None:
    if exchange.fetched_at.tzinfo is None:
        raise BadInput(f"{exchange.requested_url}: fetched_at must be timezone-aware (UTC)")
    for url in (exchange.requested_url, exchange.final_url):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise BadInput(f"{url!r}: need an absolute http(s) URL")
    if exchange.status is None and exchange.error is None:
        raise BadInput(f"{exchange.requested_url}: give an HTTP status or a network error")


def fetch_key(exchange: Exchange) -> str:
    """Identity of one fetch, so recording it again is a no-op."""
    payload = hashlib.sha256(exchange.body).hexdigest()
    parts = [
        exchange.requested_url,
        exchange.fetched_at.astimezone(UTC).isoformat(),
        str(exchange.status),
        exchange.error or "",
        payload,
    ]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def extract_exchange(exchange: Exchange, max_body_bytes: int) -> Extracted | None:
    """Extract the page of a 2xx exchange; None when there is nothing to extract."""
    if exchange.status is None or not (200 <= exchange.status < 300) or exchange.error:
        return None
    return extract_page(
        exchange.body,
        url=exchange.final_url,
        content_type=exchange.header("content-type"),
        max_bytes=max_body_bytes,
    )


def _content_key(ex: Extracted) -> ContentKey:
    body = article_body(ex)
    return ContentKey(
        title=ex.title,
        byline=ex.byline,
        published=ex.published,
        text=body,
        text_sha256=hashlib.sha256(body.encode("utf-8")).hexdigest(),
    )


def _line_sha(line: str) -> str:
    return hashlib.sha256(line.encode("utf-8")).hexdigest()


def _same_url(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def record_capture(
    session: Session,
    exchange: Exchange,
    *,
    warc: WarcStore,
    options: RecordOptions | None = None,
    extracted: Extracted | None = None,
    recorded_at: datetime | None = None,
    payload_known: bool = False,
) -> CaptureResult:
    """Record one fetch. The caller owns the transaction (commit or roll back).

    A 200 whose payload is byte for byte one the article's current version was already
    captured with is unchanged without extraction or detection (the unchanged path):
    one capture row and a revisit record. `payload_known=True` says the caller expects
    that (the crawler's due list knows the digests) and did not extract; if the archive
    finds otherwise, it extracts here."""
    options = options or RecordOptions()
    _check_exchange(exchange)
    if extracted is None and not payload_known:
        extracted = extract_exchange(exchange, options.max_body_bytes)
    recorded_at = recorded_at or datetime.now(UTC)
    key = fetch_key(exchange)

    head = lock_chain_head(session)
    existing = session.scalars(select(Capture).where(Capture.fetch_key == key)).first()
    if existing is not None:
        return _result_of(session, existing, duplicate=True)

    # Judge: which article this is, what the fetch shows, what that means for it.
    place = _locate(session, exchange)
    held = import_hold(session, exchange, place.article, recorded_at)
    source = _resolve_source(session, exchange, recorded_at)
    payload_sha = hashlib.sha256(exchange.payload).hexdigest() if exchange.status else None
    known = None if held is not None else _known_payload(session, exchange, place, payload_sha)
    if known is not None:
        observation = Observation(Seen.CONTENT, content=known)
        verdict = _judge_known(place.article, known, options)
    else:
        if extracted is None and payload_known:
            extracted = extract_exchange(exchange, options.max_body_bytes)
        observation = _observe(exchange, extracted, source, place)
        if held is not None:
            verdict = Verdict(CaptureOutcome.EVIDENCE)
        else:
            verdict = _judge(
                session, place.article, observation, extracted, source.id, warc, options
            )

    # Persist: the raw exchange, the article (when new), the capture row.
    location = _store_raw(session, warc, exchange, payload_sha, verdict)
    article = _admit_article(session, place, verdict, extracted, source, exchange)
    capture = _add_capture(
        session,
        exchange,
        key=key,
        head=head,
        source=source,
        article=article,
        recorded_at=recorded_at,
        payload_sha=payload_sha,
        location=location,
        outcome=verdict.outcome,
        detail=_capture_detail(exchange, extracted, observation)
        | ({"evidence_only": held} if held is not None else {})
        | ({"payload": "known"} if known is not None else {}),
    )

    # Update the article: its version, its status, the events that tell what changed.
    version: Version | None = None
    events: list[ChangeEvent] = []
    if article is not None and held is None:
        previous = current_version_of(session, article)
        version = _settle_version(
            session, article, previous, verdict, observation, extracted, capture, source.id
        )
        capture.version_id = version.id if version is not None else None
        # The new version's diff against the one before, computed once here and stored:
        # pages, API, feed and packages read it, and the edited event measures it.
        pair = (
            store_pair_diff(session, previous, version)
            if verdict.new_version and previous is not None and version is not None
            else None
        )
        _carry_verdict(article, verdict, exchange.fetched_at)
        _note_full_fetch(article, observation, exchange)
        events = _add_events(
            session,
            article,
            verdict,
            capture,
            (previous, version, pair),
            exchange,
            observation,
            place,
        )
        if verdict.new_version or events:
            session.add(SearchOutbox(article_id=article.id, created_at=recorded_at))

    _extend_chain(head, capture, version, events, article)
    session.flush()
    return CaptureResult(
        capture_id=capture.id,
        article_id=capture.article_id,
        outcome=verdict.outcome,
        events=tuple(e.kind for e in events),
        version_n=version.n if version is not None else None,
    )


@dataclass(frozen=True, slots=True)
class CaptureJob:
    """One fetch for `record_captures`; `then` runs after it in the same savepoint (the
    crawler sets the article's next check there, so schedule and capture commit together)."""

    exchange: Exchange
    options: RecordOptions | None = None
    extracted: Extracted | None = None
    payload_known: bool = False
    then: Callable[[Session, CaptureResult], None] | None = None


def record_captures(
    session: Session, jobs: Sequence[CaptureJob], *, warc: WarcStore
) -> list[CaptureResult | Exception]:
    """Record many fetches in the caller's one transaction (group commit), in order, each
    in its own savepoint: a fetch that fails is rolled back alone and its exception is
    returned in its place. The WARC records of the group share one fsync, done before
    this returns, so the caller's commit never names unsynced bytes. One log order: the
    leaves are appended in `jobs` order under the one log-head lock."""
    results: list[CaptureResult | Exception] = []
    # The session holds loaded rows weakly: an article or version no longer referenced
    # once `record_capture` returns would be loaded again by `then` and by the group's
    # next capture of it. Holding what the group loads until it ends saves those SELECTs.
    held: list[object] = []

    def hold(_session: Session, instance: object) -> None:
        held.append(instance)

    event.listen(session, "loaded_as_persistent", hold)
    try:
        return _record_each(session, jobs, warc, results)
    finally:
        event.remove(session, "loaded_as_persistent", hold)


def _record_each(
    session: Session,
    jobs: Sequence[CaptureJob],
    warc: WarcStore,
    results: list[CaptureResult | Exception],
) -> list[CaptureResult | Exception]:
    with warc.group():
        for job in jobs:
            try:
                with session.begin_nested():
                    result = record_capture(
                        session,
                        job.exchange,
                        warc=warc,
                        options=job.options,
                        extracted=job.extracted,
                        payload_known=job.payload_known,
                    )
                    if job.then is not None:
                        job.then(session, result)
            except Exception as exc:  # boundary: one fetch must not sink its group
                results.append(exc)
            else:
                results.append(result)
    return results


# -- judging ---------------------------------------------------------------------------


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


def _resolve_source(session: Session, exchange: Exchange, now: datetime) -> Source:
    if exchange.source:
        source = source_by_name(session, exchange.source)
        if source is None:
            raise BadInput(
                f"source {exchange.source!r} is not in the archive; add it to sources.toml "
                "and run `presswatch sources --check`"
            )
        return source
    host = (urlsplit(exchange.requested_url).hostname or "").lower().removeprefix("www.")
    for source in session.scalars(select(Source)):
        source_host = (urlsplit(source.base_url).hostname or "").lower().removeprefix("www.")
        if source_host == host:
            return source
    parts = urlsplit(exchange.requested_url)
    source = Source(
        name=re.sub(r"[^a-z0-9.-]", "-", host) or "unknown",
        base_url=f"{parts.scheme}://{parts.netloc}/",
        languages=[],
        config=SourceOptions(),
        enabled=True,
        created_at=now,
    )
    session.add(source)
    session.flush()
    return source


@dataclass(frozen=True, slots=True)
class _Place:
    """Which archived article one fetch is about, and its URLs as detection sees them."""

    article: Article | None
    requested: str  # the requested URL, normalized
    final: str  # the URL the fetch ended at, normalized
    # `final`, or `requested` when the fetch never left the article's own URLs: a
    # redirect between two URLs the article is already known under is not a move.
    observed_final: str
    # The article was found only under the final URL: the requested one becomes an alias.
    via_final: bool
    # The fetch was redirected to a different archived article.
    into_other: Article | None


def _locate(session: Session, exchange: Exchange) -> _Place:
    """Find the article by the requested URL, else by the final one."""
    requested = normalize_url(exchange.requested_url)
    final = normalize_url(exchange.final_url)
    article = article_by_url(session, requested)
    via_final = False
    if article is None and not _same_url(final, requested):
        article = article_by_url(session, final)
        via_final = article is not None

    observed_final = final
    into_other: Article | None = None
    if via_final or _same_url(final, requested):
        observed_final = requested
    elif article is not None:
        target = article_by_url(session, final)
        if target is not None and target.id == article.id:
            observed_final = requested
        elif target is not None:
            into_other = target
    return _Place(
        article=article,
        requested=requested,
        final=final,
        observed_final=observed_final,
        via_final=via_final,
        into_other=into_other,
    )


def _observe(
    exchange: Exchange, extracted: Extracted | None, source: Source, place: _Place
) -> Observation:
    """What the fetch shows, before it is weighed against the article's history."""
    content = None
    if extracted is not None and extracted.kind is PageKind.HTML:
        content = _content_key(extracted)
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


def _known_payload(
    session: Session, exchange: Exchange, place: _Place, payload_sha: str | None
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
    return ContentKey(
        title=current.title,
        byline=current.byline,
        published=current.published,
        text=current.text,
        text_sha256=current.text_sha256,
    )


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


def _judge_known(article: Article | None, content: ContentKey, options: RecordOptions) -> Verdict:
    """The verdict on the current version's own bytes seen again: unchanged, or the
    status moves (reachable again, restored, pending removal cleared) as for any fetch
    showing that content."""
    assert article is not None
    state = ArticleState(
        status=ArticleStatus(article.status),
        last=content,
        version_count=article.version_count,
        pending_removal=RemovalReason(article.pending_removal) if article.pending_removal else None,
        pending_count=article.pending_count,
        pending_degraded_sha=article.pending_degraded_sha,
    )
    return judge(state, Observation(Seen.CONTENT, content=content), options.policy, same_body=True)


def _judge(
    session: Session,
    article: Article | None,
    observation: Observation,
    extracted: Extracted | None,
    source_id: int,
    warc: WarcStore,
    options: RecordOptions,
) -> Verdict:
    if article is None:
        verdict = judge_new(observation)
        if (
            verdict.new_version
            and options.accept is not None
            and extracted is not None
            and not options.accept(extracted)
        ):
            return Verdict(CaptureOutcome.SKIPPED)
        return verdict
    state = _state_of(session, article, warc, extracted, options)
    same_body = _same_body(session, source_id, state, observation, options)
    return judge(state, observation, options.policy, same_body=same_body)


def _state_of(
    session: Session,
    article: Article,
    warc: WarcStore,
    extracted: Extracted | None,
    options: RecordOptions,
) -> ArticleState:
    current = current_version_of(session, article)
    assert current is not None, f"article {article.id} has no version"
    last = ContentKey(
        title=current.title,
        byline=current.byline,
        published=current.published,
        text=current.text,
        text_sha256=current.text_sha256,
    )
    if extracted is not None and (
        current.extractor != extracted.extractor or current.normalizer != NORMALIZER_VERSION
    ):
        # Rule 8: a newer extractor or normalizer must not read as an edit. Compare
        # against what today's code makes of the capture that produced the version.
        last = _reextracted(session, warc, current, options) or last
    return ArticleState(
        status=ArticleStatus(article.status),
        last=last,
        version_count=article.version_count,
        pending_removal=RemovalReason(article.pending_removal) if article.pending_removal else None,
        pending_count=article.pending_count,
        pending_degraded_sha=article.pending_degraded_sha,
    )


def _reextracted(
    session: Session, warc: WarcStore, version: Version, options: RecordOptions
) -> ContentKey | None:
    """The version's content as the current extractor sees its original capture."""
    capture = session.get(Capture, version.first_capture_id)
    if capture is None or capture.payload_sha256 is None:
        return None
    source = capture
    if capture.warc_type == "revisit":
        source = first_response_with_payload(session, capture.payload_sha256) or capture
    if source.warc_file is None or source.warc_offset is None or source.warc_length is None:
        return None
    try:
        record = warc.read_record(source.warc_file, source.warc_offset, source.warc_length)
    except StorageError:
        log.warning("cannot re-extract version %s: its WARC record is unreadable", version.id)
        return None
    again = extract_page(
        record.decoded(options.max_body_bytes).body,
        url=capture.final_url,
        content_type=record.header("content-type"),
        max_bytes=options.max_body_bytes,
    )
    return _content_key(again) if again.kind is PageKind.HTML else None


def _same_body(
    session: Session,
    source_id: int,
    state: ArticleState,
    observation: Observation,
    options: RecordOptions,
) -> bool | None:
    """Compare bodies with the source's boilerplate lines left out (rule 2)."""
    if observation.content is None:
        return None
    new_text = observation.content.text
    if new_text == state.last.text:
        return True
    hashes = {_line_sha(line) for line in (new_text + "\n" + state.last.text).split("\n")}
    stmt = select(BoilerplateLine.line_sha256).where(
        BoilerplateLine.source_id == source_id,
        BoilerplateLine.articles >= options.boilerplate_min_articles,
        BoilerplateLine.line_sha256.in_(sorted(hashes)),
    )
    boilerplate = frozenset(session.scalars(stmt))
    if not boilerplate:
        return False
    return comparable_text(new_text, boilerplate, _line_sha) == comparable_text(
        state.last.text, boilerplate, _line_sha
    )


# -- persisting ------------------------------------------------------------------------


def _store_raw(
    session: Session,
    warc: WarcStore,
    exchange: Exchange,
    payload_sha: str | None,
    verdict: Verdict,
) -> WarcLocation | None:
    """The exchange's WARC record; none when no response arrived or the page is outside
    the topic (skipped pages are not kept)."""
    if exchange.status is None or verdict.outcome is CaptureOutcome.SKIPPED:
        return None
    return _write_warc(session, warc, exchange, payload_sha or "")


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


def _admit_article(
    session: Session,
    place: _Place,
    verdict: Verdict,
    extracted: Extracted | None,
    source: Source,
    exchange: Exchange,
) -> Article | None:
    """The article the capture belongs to: the one located, a new one when the verdict
    makes a first version, or None. Records the URLs it is now known under."""
    article = place.article
    if article is None and verdict.new_version:
        assert extracted is not None
        canonical = _canonical_for_new(session, extracted, place.final)
        article = Article(
            source_id=source.id,
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
            _add_alias(session, article, url, kind, exchange.fetched_at)
    elif article is not None and place.via_final:
        _add_alias(session, article, place.requested, "alias", exchange.fetched_at)
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


def _add_alias(session: Session, article: Article, url: str, kind: str, at: datetime) -> bool:
    if session.scalars(select(ArticleUrl.id).where(ArticleUrl.url == url)).first() is not None:
        return False
    session.add(ArticleUrl(article_id=article.id, url=url, kind=kind, first_seen=at))
    session.flush()
    return True


def _add_capture(
    session: Session,
    exchange: Exchange,
    *,
    key: str,
    head: ChainHead,
    source: Source,
    article: Article | None,
    recorded_at: datetime,
    payload_sha: str | None,
    location: WarcLocation | None,
    outcome: CaptureOutcome,
    detail: dict[str, Any],
) -> Capture:
    """The Capture row, next after `head` in the transparency log; its leaf is set by
    `_extend_chain` once its version and events are known."""
    capture = Capture(
        seq=head.seq + 1,
        fetch_key=key,
        source_id=source.id,
        requested_url=exchange.requested_url,
        final_url=exchange.final_url,
        redirects=[
            {"url": h.url, "status": h.status, "location": h.location} for h in exchange.redirects
        ],
        status=exchange.status,
        error=exchange.error,
        headers={k.lower(): v for k, v in exchange.headers if k.lower() in KEPT_HEADERS},
        fetched_at=exchange.fetched_at,
        recorded_at=recorded_at,
        payload_sha256=payload_sha,
        payload_length=len(exchange.payload) if exchange.status is not None else None,
        warc_file=location.file if location else None,
        warc_offset=location.offset if location else None,
        warc_length=location.length if location else None,
        warc_type=location.warc_type if location else None,
        record_sha256=location.record_sha256 if location else None,
        request_length=location.request_length if location else None,
        request_sha256=location.request_sha256 if location else None,
        outcome=outcome.value,
        detail=detail,
        prev_chain="",  # set with chain_hash when the capture is sealed into the log
        chain_hash="",
        origin=exchange.origin,
        provenance=dict(exchange.provenance),
    )
    capture.article_id = article.id if article is not None else None
    session.add(capture)
    session.flush()
    return capture


def _capture_detail(
    exchange: Exchange, extracted: Extracted | None, observation: Observation
) -> dict[str, Any]:
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
    return detail


# -- updating the article --------------------------------------------------------------


def _settle_version(
    session: Session,
    article: Article,
    previous: Version | None,
    verdict: Verdict,
    observation: Observation,
    extracted: Extracted | None,
    capture: Capture,
    source_id: int,
) -> Version | None:
    """The version this capture saw: a new one when the content changed, else the
    article's current one, marked as seen again when the page showed it."""
    if verdict.new_version:
        content = observation.content
        assert extracted is not None and content is not None
        version = _new_version(session, article, extracted, content, capture)
        _count_boilerplate(session, source_id, previous, version, content.text)
        return version
    if previous is not None and observation.seen in (
        Seen.CONTENT,
        Seen.MOVED,
        Seen.NOT_MODIFIED,
    ):
        previous.last_seen = capture.fetched_at
        previous.last_capture_id = capture.id
    return previous


def _new_version(
    session: Session, article: Article, extracted: Extracted, content: ContentKey, capture: Capture
) -> Version:
    version = Version(
        article_id=article.id,
        n=article.version_count + 1,
        title=content.title,
        byline=content.byline,
        published=content.published,
        modified=extracted.modified,
        lang=extracted.lang,
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
        extractor=extracted.extractor,
        normalizer=NORMALIZER_VERSION,
        first_capture_id=capture.id,
        last_capture_id=capture.id,
        first_seen=capture.fetched_at,
        last_seen=capture.fetched_at,
    )
    session.add(version)
    session.flush()
    article.version_count += 1
    article.current_version_id = version.id
    return version


def _count_boilerplate(
    session: Session, source_id: int, previous: Version | None, version: Version, text: str
) -> None:
    """Count each short line once per article (lines new to this article only)."""
    old_lines = set(previous.text.split("\n")) if previous is not None else set()
    new_lines = {
        line
        for line in text.split("\n")
        if line not in old_lines and len(line) <= BOILERPLATE_MAX_LINE
    }
    shas = sorted({_line_sha(line) for line in new_lines})
    if not shas:
        return
    # Two statements for the whole article, not one round trip per line.
    known = set(
        session.scalars(
            select(BoilerplateLine.line_sha256).where(
                BoilerplateLine.source_id == source_id, BoilerplateLine.line_sha256.in_(shas)
            )
        )
    )
    if known:
        session.execute(
            update(BoilerplateLine)
            .where(
                BoilerplateLine.source_id == source_id,
                BoilerplateLine.line_sha256.in_(sorted(known)),
            )
            .values(articles=BoilerplateLine.articles + 1)
            .execution_options(synchronize_session=False)
        )
    fresh = [sha for sha in shas if sha not in known]
    if fresh:
        session.execute(
            insert(BoilerplateLine),
            [{"source_id": source_id, "line_sha256": sha, "articles": 1} for sha in fresh],
        )


def _carry_verdict(article: Article, verdict: Verdict, at: datetime) -> None:
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


def _note_full_fetch(article: Article, observation: Observation, exchange: Exchange) -> None:
    """Remember where and with which validators the article was last fetched in full
    (the next check asks with If-None-Match / If-Modified-Since)."""
    if observation.seen in (Seen.CONTENT, Seen.MOVED) and exchange.status == 200:
        article.fetch_url = exchange.final_url
        article.etag = exchange.header("etag")
        article.last_modified_header = exchange.header("last-modified")
        article.last_full_fetch = exchange.fetched_at


def _add_events(
    session: Session,
    article: Article,
    verdict: Verdict,
    capture: Capture,
    versions: tuple[Version | None, Version | None, VersionDiff | None],
    exchange: Exchange,
    observation: Observation,
    place: _Place,
) -> list[ChangeEvent]:
    """One ChangeEvent row per event of the verdict, linked to the versions it
    concerns and carrying its evidence. ``versions``: the article's version before this
    capture, the one it saw, and their stored diff when the capture made a new one."""
    previous, version, pair = versions
    at = exchange.fetched_at
    rows = []
    for spec in verdict.events:
        detail = dict(spec.detail)
        from_id: int | None = None
        to_id: int | None = None
        if spec.kind is ChangeKind.MOVED:
            added = _add_alias(session, article, place.final, "moved_to", at)
            detail.update({"from": article.url, "to": place.final, "alias_added": added})
        if spec.kind in (ChangeKind.EDITED, ChangeKind.RESTORED) and verdict.new_version:
            from_id = previous.id if previous is not None else None
            to_id = version.id if version is not None else None
            if previous is not None and version is not None and pair is not None:
                detail.update(_edit_size(pair))
                if spec.kind is ChangeKind.EDITED:  # what kind of edit, and how much it matters
                    sides = version_side(previous), version_side(version)
                    detail.update(judge_edit(*sides, body=pair.body))
        elif spec.kind is ChangeKind.DISCOVERED:
            to_id = version.id if version is not None else None
        elif spec.kind is ChangeKind.REMOVED:
            from_id = version.id if version is not None else None
            detail.update(_removal_evidence(article, exchange, observation))
        row = ChangeEvent(
            article_id=article.id,
            capture_id=capture.id,
            kind=spec.kind.value,
            how=list(spec.how),
            at=at,
            from_version_id=from_id,
            to_version_id=to_id,
            detail=detail,
            significance=detail.get("significance"),
        )
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def _edit_size(pair: VersionDiff) -> dict[str, int]:
    stats = pair.stats
    return {
        "chars_added": stats.chars_added,
        "chars_removed": stats.chars_removed,
        "words_added": stats.words_added,
        "words_removed": stats.words_removed,
    }


def _removal_evidence(
    article: Article, exchange: Exchange, observation: Observation
) -> dict[str, Any]:
    evidence: dict[str, Any] = {
        "first_seen_missing": article.removed_at.isoformat() if article.removed_at else None,
        "status": exchange.status,
    }
    if observation.note:
        evidence["note"] = observation.note
    return evidence


def _extend_chain(
    head: ChainHead,
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
