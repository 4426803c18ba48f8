"""Read and bookkeeping queries over the archive. Functions take a Session and never
open, commit or roll it back: the caller owns the transaction."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, defer, load_only

from archive.content.normalize import normalize_url
from archive.errors import BadInput, NotFound
from archive.store.db import insert_or_reread
from archive.store.models import (
    Article,
    ArticleUrl,
    Capture,
    CaptureOutcome,
    ChangeEvent,
    ChangeKind,
    Source,
    Version,
)
from archive.store.rendering_tables import Rendering
from archive.store.source_options import SourceOptions
from archive.store.story_queries import as_change_event, story_events_page, wants_story_events


def find_article(session: Session, url_or_id: str | int) -> Article:
    """An article by id, or by any URL it was seen under (normalized, aliases too)."""
    if isinstance(url_or_id, int) or str(url_or_id).isdigit():
        article = session.get(Article, int(url_or_id))
        if article is None:
            raise NotFound(f"no article with id {url_or_id}; `presswatch articles` lists them")
        return article
    try:
        url = normalize_url(str(url_or_id))
    except BadInput as exc:
        raise NotFound(f"{url_or_id!r} is neither an article id nor an absolute URL") from exc
    article = article_by_url(session, url)
    if article is None:
        raise NotFound(f"no archived article at {url_or_id}")
    return article


def article_by_url(session: Session, url: str) -> Article | None:
    """The article known under `url` (already normalized: canonical URL or any alias)."""
    stmt = (
        select(Article)
        .join(ArticleUrl, ArticleUrl.article_id == Article.id)
        .where(ArticleUrl.url == url)
    )
    return session.scalars(stmt).first()


def current_version_of(session: Session, article: Article) -> Version | None:
    """The article's latest version; None before its first."""
    if article.current_version_id is None:
        return None
    return session.get(Version, article.current_version_id)


def versions_of(session: Session, article_id: int) -> list[Version]:
    stmt = select(Version).where(Version.article_id == article_id).order_by(Version.n)
    return list(session.scalars(stmt))


def version_by_n(session: Session, article_id: int, n: int) -> Version:
    """Version `n` (1, 2, …) of an article; NotFound names the numbers it does have."""
    stmt = select(Version).where(Version.article_id == article_id, Version.n == n)
    version = session.scalars(stmt).first()
    if version is None:
        article = session.get(Article, article_id)
        count = article.version_count if article is not None else 0
        held = f"it has versions 1 to {count}" if count else "it has no version yet"
        raise NotFound(f"article {article_id} has no version {n}; {held}")
    return version


def versions_by_id(
    session: Session, ids: Iterable[int | None], *, with_text: bool = True
) -> dict[int, Version]:
    """Versions by id (None and unknown ids are skipped). Without text, the compressed
    body is not loaded until something reads it (lists need titles, not bodies)."""
    wanted = {vid for vid in ids if vid}
    if not wanted:
        return {}
    stmt = select(Version).where(Version.id.in_(sorted(wanted)))
    if not with_text:
        stmt = stmt.options(defer(Version.text_z))
    return {v.id: v for v in session.scalars(stmt)}


def events_of(session: Session, article_id: int) -> list[ChangeEvent]:
    stmt = (
        select(ChangeEvent)
        .where(ChangeEvent.article_id == article_id)
        .order_by(ChangeEvent.at, ChangeEvent.id)
    )
    return list(session.scalars(stmt))


def captures_of(session: Session, article_id: int, limit: int = 1000) -> list[Capture]:
    """The article's fetches, oldest first. A browser rendering (outcome `rendered`)
    is not one: it is shown as the rendering of the capture it rendered
    (`renderings_of`)."""
    stmt = (
        select(Capture)
        .where(
            Capture.article_id == article_id,
            Capture.outcome != CaptureOutcome.RENDERED.value,
        )
        .order_by(Capture.fetched_at, Capture.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def renderings_of(session: Session, article_id: int) -> dict[int, Rendering]:
    """The article's browser renderings, by the id of the capture each rendered."""
    stmt = select(Rendering).where(Rendering.article_id == article_id)
    return {r.capture_id: r for r in session.scalars(stmt)}


def mementos_of(session: Session, article_id: int) -> list[tuple[int, datetime]]:
    """(capture id, fetched_at) of every capture of the article whose bytes are kept,
    oldest first: the mementos of its Memento TimeMap. Two columns, no ORM objects.
    A browser rendering is not one: its bytes are our screenshot and DOM of an earlier
    fetch, not what the address answered."""
    stmt = (
        select(Capture.id, Capture.fetched_at)
        .where(
            Capture.article_id == article_id,
            Capture.warc_file.is_not(None),
            Capture.outcome != CaptureOutcome.RENDERED.value,
        )
        .order_by(Capture.fetched_at, Capture.id)
    )
    return [(row.id, row.fetched_at) for row in session.execute(stmt)]


def aliases_of(session: Session, article_id: int) -> list[ArticleUrl]:
    stmt = select(ArticleUrl).where(ArticleUrl.article_id == article_id).order_by(ArticleUrl.id)
    return list(session.scalars(stmt))


def source_names(session: Session) -> dict[int, str]:
    return {s.id: s.name for s in session.scalars(select(Source))}


def check_source_names(given: Iterable[str], known: Iterable[str]) -> None:
    """Refuse a source name that is not among `known`: a mistyped `--source` or
    `?source=` would otherwise filter everything out and read as "nothing happened".
    The one place that words the refusal, for the command line and the API alike;
    BadInput names the unknown name, the closest known one and every known one."""
    import difflib

    names = sorted(set(known))
    for name in given:
        if name in names:
            continue
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        listed = ", ".join(names) if names else "none yet"
        raise BadInput(f"no source named {name!r}{hint}; known sources: {listed}")


def confirming_removals(session: Session, articles: Iterable[Article]) -> dict[int, ChangeEvent]:
    """The `removed` event of each removed article's current removal, by article id:
    its `at` is when a later check confirmed what `Article.removed_at` (the first check
    that found the article gone) saw, and its capture says where we learned it."""
    ids = [a.id for a in articles if a.removal is not None]
    out: dict[int, ChangeEvent] = {}
    for start in range(0, len(ids), 500):  # bounded IN lists, whatever the listing's size
        rows = session.scalars(
            select(ChangeEvent)
            .where(
                ChangeEvent.article_id.in_(ids[start : start + 500]),
                ChangeEvent.kind == ChangeKind.REMOVED.value,
            )
            .order_by(ChangeEvent.article_id, ChangeEvent.id)
        )
        for event in rows:
            out[event.article_id] = event  # the newest removal of each article wins
    return out


def list_sources(session: Session) -> list[Source]:
    """Every source the archive knows (from sources.toml, the admin API or an import)."""
    return list(session.scalars(select(Source).order_by(Source.name)))


def list_articles(
    session: Session,
    *,
    sources: Sequence[str] = (),
    status: str | None = None,
    after_id: int | None = None,
    limit: int | None = None,
) -> list[Article]:
    """Articles by id; `after_id` is a keyset cursor."""
    stmt = select(Article).order_by(Article.id)
    if sources:
        stmt = stmt.join(Source).where(Source.name.in_(list(sources)))
    if status:
        stmt = stmt.where(Article.status == status)
    if after_id is not None:
        stmt = stmt.where(Article.id > after_id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


@dataclass(frozen=True, slots=True)
class ChangeRow:
    event: ChangeEvent
    article: Article
    source: str
    from_n: int | None
    to_n: int | None
    # A story event (`removed_together`, archive.store.story_events) shown as a change:
    # `event` is then a transient ChangeEvent carrying the story event's id.
    story: bool = False

    @property
    def version_ids(self) -> tuple[int | None, int | None, int | None]:
        """The versions the event concerns: the one it led to, the one it left, and the
        article's current one (for `versions_by_id`)."""
        return (
            self.event.to_version_id,
            self.event.from_version_id,
            self.article.current_version_id,
        )


def list_changes(
    session: Session,
    *,
    since: datetime | None = None,
    kinds: Sequence[str] = (),
    sources: Sequence[str] = (),
    before: tuple[datetime, int] | None = None,
    limit: int | None = None,
    min_significance: float | None = None,
    by_significance: bool = False,
    before_significance: tuple[float, datetime, int] | None = None,
    after_story: bool = False,
) -> list[ChangeRow]:
    """Change events newest first. `before=(at, id)` is a keyset cursor: rows strictly
    older than it, so pages never skip or repeat while new events arrive.

    `min_significance` keeps edits scoring at least that (archive.content.editclass; events
    that are not edits have none and are left out). `by_significance` orders by score,
    highest first (events without one last), then newest first; its keyset cursor is
    `before_significance=(score, at, id)`, with -1 standing for "no score".

    Story events (`removed_together`, counted apart) are merged in; where a change
    event and a story event share `(at, id)` the change event comes first, so a
    cursor says which kind its row was (`after_story`) and neither is skipped."""
    score = func.coalesce(ChangeEvent.significance, -1.0)
    order = (ChangeEvent.at.desc(), ChangeEvent.id.desc())
    stmt = (
        select(ChangeEvent, Article, Source.name)
        .join(Article, Article.id == ChangeEvent.article_id)
        .join(Source, Source.id == Article.source_id)
        .order_by(*((score.desc(), *order) if by_significance else order))
    )
    if min_significance is not None:
        stmt = stmt.where(ChangeEvent.significance >= min_significance)
    if before_significance is not None:
        s_key, at_key, id_key = before_significance
        stmt = stmt.where(
            or_(
                score < s_key,
                (score == s_key)
                & or_(
                    ChangeEvent.at < at_key,
                    (ChangeEvent.at == at_key) & (ChangeEvent.id < id_key),
                ),
            )
        )
    if since is not None:
        stmt = stmt.where(ChangeEvent.at >= since)
    if kinds:
        stmt = stmt.where(ChangeEvent.kind.in_(list(kinds)))
    if sources:
        stmt = stmt.where(Source.name.in_(list(sources)))
    if before is not None:
        at, event_id = before
        stmt = stmt.where(
            or_(ChangeEvent.at < at, (ChangeEvent.at == at) & (ChangeEvent.id < event_id))
        )
    if limit is not None:
        stmt = stmt.limit(limit)
    rows: list[Any] = list(session.execute(stmt))
    if wants_story_events(kinds, min_significance):
        # Story events (`removed_together`) are listed among the change events in the
        # same order: they carry no significance (-1 when sorting by it), so a cursor
        # with a score above -1 has not reached any of them yet.
        story_before = before
        if before_significance is not None and before_significance[0] <= -1:
            story_before = (before_significance[1], before_significance[2])
        stories = story_events_page(
            session,
            since=since,
            sources=sources,
            before=story_before,
            inclusive=not after_story,
            limit=limit,
        )
        merged = [(*r, False) for r in rows] + [
            (as_change_event(e), a, name, True) for e, a, name in stories
        ]
        merged.sort(
            key=lambda r: (
                r[0].significance if by_significance and r[0].significance is not None else -1,
                r[0].at,
                r[0].id,
                not r[3],
            ),
            reverse=True,
        )
        rows = merged[:limit] if limit is not None else merged
    else:
        rows = [(*r, False) for r in rows]
    version_ids = {
        vid for ev, *_rest in rows for vid in (ev.from_version_id, ev.to_version_id) if vid
    }
    numbers: dict[int, int] = {}
    if version_ids:
        stmt_n = select(Version.id, Version.n).where(Version.id.in_(version_ids))
        numbers = {vid: n for vid, n in session.execute(stmt_n)}
    return [
        ChangeRow(
            event=ev,
            article=art,
            source=name,
            from_n=numbers.get(ev.from_version_id) if ev.from_version_id else None,
            to_n=numbers.get(ev.to_version_id) if ev.to_version_id else None,
            story=is_story,
        )
        for ev, art, name, is_story in rows
    ]


def source_stats(session: Session) -> list[dict[str, Any]]:
    """Per source: article counts by status, edit events ever recorded (an article
    edited and later removed counts under `removed`, its edits here), the newest
    capture, last crawl and last error."""
    edits: dict[int, int] = {
        sid: n
        for sid, n in session.execute(
            select(Article.source_id, func.count())
            .join(ChangeEvent, ChangeEvent.article_id == Article.id)
            .where(ChangeEvent.kind == ChangeKind.EDITED.value)
            .group_by(Article.source_id)
        )
    }
    newest: dict[int | None, Any] = {
        sid: at
        for sid, at in session.execute(
            select(Capture.source_id, func.max(Capture.fetched_at)).group_by(Capture.source_id)
        )
    }
    counts: dict[tuple[int, str], int] = {
        (sid, status): n
        for sid, status, n in session.execute(
            select(Article.source_id, Article.status, func.count()).group_by(
                Article.source_id, Article.status
            )
        )
    }
    out = []
    for source in session.scalars(select(Source).order_by(Source.name)):
        by_status = {st: n for (sid, st), n in counts.items() if sid == source.id}
        out.append(
            {
                "name": source.name,
                "base_url": source.base_url,
                "languages": [str(lang) for lang in source.languages or []],
                "enabled": source.enabled,
                "articles": sum(by_status.values()),
                "live": by_status.get("live", 0),
                "edited": by_status.get("edited", 0),
                "removed": by_status.get("removed", 0),
                "unreachable": by_status.get("unreachable", 0),
                "edits": edits.get(source.id, 0),
                "last_capture": _aware(newest.get(source.id)),
                "last_crawl": source.last_crawl_at.isoformat() if source.last_crawl_at else None,
                "last_error": source.last_error,
            }
        )
    return out


def _aware(at: datetime | None) -> str | None:
    """An aggregate's datetime as ISO text: max() skips the UTC column type, so SQLite
    hands back a naive value (or text) that is UTC all the same."""
    if at is None:
        return None
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).isoformat()


def source_by_name(session: Session, name: str) -> Source | None:
    return session.scalars(select(Source).where(Source.name == name)).first()


def sources_named(session: Session, names: Sequence[str]) -> list[Source]:
    return list(session.scalars(select(Source).where(Source.name.in_(list(names)))))


def upsert_source(
    session: Session,
    *,
    name: str,
    base_url: str,
    languages: Sequence[str],
    config: SourceOptions,
    now: datetime,
    enabled: bool = True,
) -> Source:
    """Create or update a source from its sources.toml entry. Safe when several
    processes (machines sharing one database) start with a new entry at once: the one
    that loses the race to create it updates the row the winner made."""
    source = source_by_name(session, name)
    if source is None:

        def insert() -> Source:
            row = Source(
                name=name,
                base_url=base_url,
                languages=list(languages),
                config=config,
                enabled=enabled,
                created_at=now,
            )
            session.add(row)
            session.flush()
            return row

        found, inserted = insert_or_reread(session, insert, lambda: source_by_name(session, name))
        if inserted:
            return found
        source = found
    source.base_url = base_url
    source.languages = list(languages)
    source.config = config
    source.enabled = enabled
    session.flush()
    return source


def due_articles(
    session: Session,
    *,
    now: datetime,
    sources: Sequence[str] = (),
    all_articles: bool = False,
    limit: int | None = None,
) -> list[Article]:
    """Articles whose next check is due (never-scheduled ones first, then by due time,
    then by id)."""
    found: list[Article] = []
    for stmt in due_articles_statements(
        now=now, sources=sources, all_articles=all_articles, limit=limit
    ):
        if limit is not None and len(found) >= limit:
            break
        found.extend(session.scalars(stmt))
    return found if limit is None else found[:limit]


def due_articles_statements(
    *,
    now: datetime,
    sources: Sequence[str] = (),
    all_articles: bool = False,
    limit: int | None = None,
) -> list[Select[Article]]:
    """The SELECTs behind `due_articles`, run in order: the never-scheduled articles,
    then the scheduled ones. Two statements, because each then reads the index on
    (next_check, id) in its own order and neither database has to sort the whole pass:
    one statement with "NULL first" in its ORDER BY made both sort every due row
    (benchmarks/schedule_bench.py shows the plans). Each has `limit`; `due_articles`
    cuts their concatenation to it."""
    # A pass reads 100,000 rows: only the columns a recheck needs (the crawler's target
    # and its conditional headers) come with them; any other is loaded when touched.
    needed = load_only(
        Article.id,
        Article.source_id,
        Article.fetch_url,
        Article.status,
        Article.next_check,
        Article.pending_removal,
        Article.pending_degraded_sha,
        Article.etag,
        Article.last_modified_header,
        Article.last_full_fetch,
    )
    never = select(Article).options(needed).where(Article.next_check.is_(None))
    never = never.order_by(Article.id)
    scheduled = select(Article).options(needed).order_by(Article.next_check, Article.id)
    if all_articles:
        scheduled = scheduled.where(Article.next_check.is_not(None))
    else:
        scheduled = scheduled.where(Article.next_check <= now)
    statements = [never, scheduled]
    if sources:
        ids = select(Source.id).where(Source.name.in_(list(sources))).scalar_subquery()
        statements = [stmt.where(Article.source_id.in_(ids)) for stmt in statements]
    if limit is not None:
        statements = [stmt.limit(limit) for stmt in statements]
    return statements


# A new URL whose extraction failed (`PageKind.FAILED`: it killed the worker that ran it
# alone, or ran out of memory) is fetched again by the next crawl once, in case the
# failure was the machine's (an OOM kill); failed this often, it is left alone, so an
# outlet cannot spend every crawl's budget of such pages on the same ones.
FAILED_EXTRACTION_TRIES = 2


def known_urls_of(session: Session, source_name: str) -> set[str]:
    """Normalized URLs the archive already has for a source (`iter_known_urls`)."""
    return set(iter_known_urls(session, source_name))


def iter_known_urls(session: Session, source_name: str) -> Iterator[str]:
    """Normalized URLs the archive already has for a source, read in batches and none
    kept (a source may have a million; the same URL may come twice): every URL an
    article is known under, and every URL captured without becoming an article
    (outside the topic, not an article), except failed or blocked fetches, which
    discovery may try again, and pages whose extraction failed fewer than
    `FAILED_EXTRACTION_TRIES` times."""
    source = source_by_name(session, source_name)
    if source is None:
        return
    yield from session.scalars(
        select(ArticleUrl.url)
        .join(Article, Article.id == ArticleUrl.article_id)
        .where(Article.source_id == source.id),
        execution_options={"yield_per": 10_000},
    )
    not_articles = session.execute(
        select(Capture.requested_url, Capture.detail).where(
            Capture.source_id == source.id,
            Capture.article_id.is_(None),
            Capture.outcome.not_in(
                [CaptureOutcome.UNREACHABLE.value, CaptureOutcome.BLOCKED.value]
            ),
        )
    )
    failed: Counter[str] = Counter()
    for raw, detail in not_articles:
        try:
            url = normalize_url(raw)
        except BadInput:
            continue
        # "failed": archive.content.PageKind.FAILED (not imported: it loads the decoders)
        if isinstance(detail, dict) and detail.get("page") == "failed":
            failed[url] += 1
        else:
            yield url
    yield from (url for url, n in failed.items() if n >= FAILED_EXTRACTION_TRIES)


def capture_by_id(session: Session, capture_id: int) -> Capture:
    capture = session.get(Capture, capture_id)
    if capture is None:
        raise NotFound(f"no capture with id {capture_id}")
    return capture


def first_response_with_payload(session: Session, payload_sha256: str) -> Capture | None:
    """The first capture stored as a WARC `response` with this payload: the record a
    revisit of the same bytes refers to."""
    stmt = (
        select(Capture)
        .where(
            Capture.payload_sha256 == payload_sha256,
            Capture.payload_length > 0,  # the index holds captures with a payload only
            Capture.warc_type == "response",
        )
        .order_by(Capture.id)
        .limit(1)
    )
    return session.scalars(stmt).first()
