"""The archive's records as plain JSON-ready dicts, in the shapes the design fixes for
the command line (`articles`, `history`, `changes`). Keys may be added, never renamed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from archive.backfill.ledger import WEB_ARCHIVE, snapshot_coverage
from archive.content.diff import VersionSide
from archive.content.editclass import judge_edit
from archive.content.image_entries import images_from_json
from archive.store.models import Article, Capture, ChangeEvent, ChangeKind, Source, Version
from archive.store.queries import (
    ChangeRow,
    captures_of,
    confirming_removals,
    events_of,
    renderings_of,
    source_names,
    versions_of,
)
from archive.store.rendering_tables import Rendering, screenshot_path, versions_with_screenshot
from archive.store.story_events import StoryEvent
from archive.store.story_tables import StoryMember
from archive.stories import copies_with_passage, story_events_of, story_of, tokens_of

# Appended to the kind of an event learned from a third-party archive's snapshot, in
# every place an event is shown (CLI, API, pages, feed): never the same as one we saw.
VIA_WEB_ARCHIVE = "(per web archive)"


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def article_json(
    article: Article, source: str, *, confirming: Mapping[int, ChangeEvent] | None = None
) -> dict[str, Any]:
    """An article as the `articles` shape. `confirming` (from `confirming_removals`)
    saves a listing one query per removed article."""
    if confirming is None:
        session = object_session(article)
        confirming = confirming_removals(session, [article]) if session is not None else {}
    confirmed = confirming.get(article.id)
    return {
        "id": article.id,
        # The address as last fetched (a working link); `key` is the normalized URL the
        # archive identifies the article by (scheme-, www- and tracking-insensitive).
        "url": article.fetch_url,
        "key": article.url,
        "source": source,
        "status": article.status,
        "versions": article.version_count,
        "first_seen": _iso(article.first_seen),
        "last_checked": _iso(article.last_checked),
        # Two dates of one removal, each named for what it is: `removed_at` is the first
        # check that found the article gone (the log's leaves commit to it), and
        # `removal_confirmed_at` the later check that confirmed it: the `removed`
        # event's `at`, the date `changes`, the feed and the report give.
        "removed_at": _iso(article.removed_at),
        "removal_confirmed_at": _iso(confirmed.at) if confirmed is not None else None,
        "removal_via": event_via(confirmed) if confirmed is not None else None,
        "removal": article.removal,
        "pending_removal": article.pending_removal,
    }


def version_json(version: Version, *, with_text: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "n": version.n,
        "title": version.title,
        "byline": version.byline,
        "published": version.published,
        "modified": version.modified,
        "lang": version.lang,
        "text_sha256": version.text_sha256,
        "chars": version.text_chars,
        "words": version.text_words,
        "first_seen": _iso(version.first_seen),
        "last_seen": _iso(version.last_seen),
        "first_capture_id": version.first_capture_id,
        "last_capture_id": version.last_capture_id,
        "extractor": version.extractor,
        "normalizer": version.normalizer,
        # [{src, alt, caption, phash, reason}] as stored (the log leaf commits to their
        # digest); null: unknown (recorded before images were kept)
        "images": version.images if isinstance(version.images, list) else None,
    }
    if with_text:
        out["text"] = version.text
    return out


# The session.info key of {article id: in a story?} that `load_event_rows` fills.
IN_STORY = "article_in_story"


def load_event_rows(session: Session, events: Sequence[ChangeEvent]) -> None:
    """Load into `session`, in one query per table, the rows `event_via`,
    `event_origin` and `event_detail` read of each event: its capture and, for an edit,
    its two versions, its article, the article's source and story membership. They read
    them by primary key (`Session.get`), which then finds them in the session's
    identity map: a page of n events costs a handful of queries instead of up to seven
    each. The identity map holds its rows weakly, so the session's `info` keeps them
    until the session ends (one request); nothing outlives it."""
    captures = {e.capture_id for e in events if e.capture_id}
    edits = [e for e in events if e.kind == ChangeKind.EDITED]
    versions = {vid for e in edits for vid in (e.from_version_id, e.to_version_id) if vid}
    articles = sorted({e.article_id for e in edits})
    held: list[Any] = session.info.setdefault("loaded_for_events", [])
    if captures:
        held += session.scalars(select(Capture).where(Capture.id.in_(sorted(captures))))
    if not edits:
        return
    held += session.scalars(select(Version).where(Version.id.in_(sorted(versions))))
    stmt = select(StoryMember).where(StoryMember.article_id.in_(articles))
    members = session.scalars(stmt).all()
    held += members
    # Whether each is in a story, read by `removed_passages_live_elsewhere`: a
    # `Session.get` of a row that does not exist is not remembered, so it would query.
    in_story = session.info.setdefault(IN_STORY, {})
    in_story.update(dict.fromkeys(articles, False))
    in_story.update((m.article_id, True) for m in members)
    loaded = session.scalars(select(Article).where(Article.id.in_(articles))).all()
    held += loaded
    sources = sorted({a.source_id for a in loaded})
    held += session.scalars(select(Source).where(Source.id.in_(sources)))


def event_via(event: ChangeEvent) -> dict[str, Any] | None:
    """The archive and snapshot an event was learned from, or None when it comes from
    our own fetch (or an import): the capture that caused it says so by its origin."""
    session = object_session(event)
    capture = session.get(Capture, event.capture_id) if session is not None else None
    if capture is None or capture.origin != WEB_ARCHIVE:
        return None
    provenance = capture.provenance or {}
    return {
        "archive": provenance.get("archive"),
        "snapshot": provenance.get("snapshot_url"),
        "timestamp": provenance.get("timestamp"),
    }


def event_origin(event: ChangeEvent) -> str | None:
    """Where the fetch that caused an event came from: `crawl` (ours), `import` (a file
    someone handed us) or `web_archive` (a third party's snapshot)."""
    session = object_session(event)
    capture = session.get(Capture, event.capture_id) if session is not None else None
    return capture.origin if capture is not None else None


def event_label(kind: str, via: dict[str, Any] | None) -> str:
    """How an event is named to people: its kind, marked when a web archive told us."""
    return f"{kind} {VIA_WEB_ARCHIVE}" if via is not None else kind


def event_json(event: ChangeEvent, numbers: dict[int, int]) -> dict[str, Any]:
    via = event_via(event)
    return {
        "kind": event.kind,
        "how": list(event.how),
        "at": _iso(event.at),
        "from_version": numbers.get(event.from_version_id) if event.from_version_id else None,
        "to_version": numbers.get(event.to_version_id) if event.to_version_id else None,
        "capture_id": event.capture_id,
        "detail": event_detail(event),
        "via": via,
        "label": event_label(event.kind, via),
        "origin": event_origin(event),
    }


def capture_json(capture: Capture, numbers: dict[int, int]) -> dict[str, Any]:
    """One fetch on an article's timeline, with where it came from: `origin` is `crawl`,
    `import` or `web_archive`, `provenance` the file and record or the snapshot."""
    return {
        "id": capture.id,
        "fetched_at": _iso(capture.fetched_at),
        "url": capture.final_url,
        "status": capture.status,
        "outcome": capture.outcome,
        # How extraction read the body (`failed`: it could not), or None if not extracted.
        "page": (capture.detail or {}).get("page"),
        "version": numbers.get(capture.version_id) if capture.version_id else None,
        "origin": capture.origin,
        "provenance": capture.provenance,
    }


def rendering_json(rendering: Rendering | None, numbers: dict[int, int]) -> dict[str, Any] | None:
    """The browser rendering of a fetch: `capture_id` its own capture in the log
    (outcome `rendered`), what became of it, and the screenshot's API path (null when
    it has none); None when the fetch was not rendered."""
    if rendering is None:
        return None
    n = numbers.get(rendering.version_id) if rendering.version_id else None
    shot = None
    if rendering.screenshot_sha256 is not None and n is not None and rendering.article_id:
        shot = screenshot_path(rendering.article_id, n)
    return {
        "capture_id": rendering.log_capture_id,
        "outcome": rendering.outcome,
        "reason": rendering.reason,
        "rendered_at": _iso(rendering.rendered_at),
        "screenshot": shot,
        "resources": rendering.resources,
        "refused": rendering.refused,
    }


def web_archive_coverage(session: Session, article: Article) -> dict[str, Any] | None:
    """How web-archive snapshots cover the article: {snapshots, first, last,
    largest_gaps}; None when none were backfilled."""
    coverage = snapshot_coverage(session, article.source, [article.id])
    return coverage[0].coverage.as_json() if coverage else None


def history_json(session: Session, article: Article) -> dict[str, Any]:
    versions = versions_of(session, article.id)
    numbers = {v.id: v.n for v in versions}
    source = source_names(session).get(article.source_id, "?")
    shots = versions_with_screenshot(session, article.id)
    renderings = renderings_of(session, article.id)
    return {
        "article": article_json(article, source),
        # Each version's screenshot (the browser rendering of the fetch that made it):
        # an API path to the PNG, or null.
        "versions": [
            {
                **version_json(v),
                "screenshot": screenshot_path(article.id, v.n) if v.id in shots else None,
            }
            for v in versions
        ],
        "events": [event_json(e, numbers) for e in events_of(session, article.id)],
        # Each fetch, with its browser rendering (`rendering`, or null): a rendering is
        # not a fetch of its own and is not listed as one.
        "captures": [
            {**capture_json(c, numbers), "rendering": rendering_json(renderings.get(c.id), numbers)}
            for c in captures_of(session, article.id)
        ],
        # Snapshots of this article recorded from web archives (`presswatch backfill`):
        # how many, first, last, largest gaps; null when there are none.
        "web_archive_coverage": web_archive_coverage(session, article),
        # The same story at other outlets (archive.stories): {id, copies, shared}, or
        # null when the article stands alone.
        "story": story_json(session, article.id),
        # `removed_together` events naming this article's removal (archive.stories).
        "removed_together": [story_event_json(e) for e in story_events_of(session, article.id)],
    }


def story_event_json(event: StoryEvent) -> dict[str, Any]:
    """A `removed_together` event on its own: the story, the episode's window and each
    copy's removal (article, url, source, removed_at, confirmed_at, how, origin, via)."""
    detail = dict(event.detail or {})
    return {
        "id": event.id,
        "kind": event.kind,
        "at": _iso(event.at),
        "story_id": event.story_id,
        "outlets": event.outlets,
        "first_removed_at": _iso(event.first_removed_at),
        "window_ends_at": _iso(event.window_ends_at),
        "updated_at": _iso(event.updated_at),
        "removals": list(detail.get("removals") or []),
    }


def story_json(session: Session, article_id: int) -> dict[str, Any] | None:
    """`{id, copies: [{article_id, url, source, status}], shared}` of the article's
    story, the article itself left out; None when it stands alone."""
    story = story_of(session, article_id)
    return story.as_json() if story is not None else None


def change_json(row: ChangeRow) -> dict[str, Any]:
    event = row.event
    how = list(event.how)
    via = event_via(event)
    return {
        "id": event.id,
        "article_id": row.article.id,
        "url": row.article.fetch_url,
        "source": row.source,
        "kind": event.kind,
        "how": how[0] if event.kind == "removed" and len(how) == 1 else how,
        "at": _iso(event.at),
        "from_version": row.from_n,
        "to_version": row.to_n,
        "detail": event_detail(event),
        "via": via,
        "label": event_label(event.kind, via),
        "origin": event_origin(event),
    }


def event_detail(event: ChangeEvent) -> dict[str, Any]:
    """An event's detail as every reader shows it. An edit recorded before edit classes
    existed gets its `classes` and `significance` computed here from its two versions
    (the stored row is left as it is: a crawl's record is never rewritten)."""
    detail = dict(event.detail or {})
    if event.kind != ChangeKind.EDITED or not (event.from_version_id and event.to_version_id):
        return detail
    session = object_session(event)
    if session is None:
        return detail
    old = session.get(Version, event.from_version_id)
    new = session.get(Version, event.to_version_id)
    if old is None or new is None:
        return detail
    if "classes" not in detail:
        detail.update(judge_edit(version_side(old), version_side(new)))
    lives_on = removed_passages_live_elsewhere(session, event.article_id, old, new)
    if lives_on:
        detail["lives_on"] = lives_on
    return detail


# A removed paragraph is looked for elsewhere only when it is this long (a one-line
# dateline or "Read more" is no passage), and at most this many per edit: the look-up
# runs when the edit is read, so it is bounded (each paragraph: the story's live copies,
# archive.stories.copies_with_passage), and at most twice as many are looked for.
LIVES_ON_MIN_WORDS = 12
LIVES_ON_MAX_PASSAGES = 3


def removed_passages_live_elsewhere(
    session: Session, article_id: int, old: Version, new: Version
) -> list[dict[str, Any]]:
    """The paragraphs an edit removed that another outlet's copy still carries, as
    `[{passage, copies: [{article_id, url, source, status}]}]`. Read time, not capture
    time: the capture's leaf commits to the edit's stored detail (so it is never
    rewritten), and whether a copy is still live is a fact of now, not of the edit.
    Only articles in a story are looked at (a copy that shares a paragraph is in the
    article's story, archive.stories)."""
    in_story = session.info.get(IN_STORY, {}).get(article_id)
    if in_story is None:
        in_story = session.get(StoryMember, article_id) is not None
    if not in_story:
        return []
    own = session.get(Article, article_id)
    source = session.get(Source, own.source_id) if own is not None else None
    own_source = source.name if source is not None else None
    kept = {tuple(tokens_of(p)) for p in new.text.split("\n") if p.strip()}
    out: list[dict[str, Any]] = []
    tried = 0
    for paragraph in old.text.split("\n"):
        words = tokens_of(paragraph)
        if len(words) < LIVES_ON_MIN_WORDS or tuple(words) in kept:
            continue
        tried += 1
        copies = [
            c for c in copies_with_passage(session, paragraph, article_id) if c.source != own_source
        ]
        if copies:
            out.append({"passage": paragraph.strip(), "copies": [c.as_json() for c in copies]})
        if len(out) >= LIVES_ON_MAX_PASSAGES or tried >= 2 * LIVES_ON_MAX_PASSAGES:
            break
    return out


def version_label(version: Version) -> str:
    # To the second: versions fetched within a minute must not read as simultaneous.
    return f"v{version.n} ({version.first_seen:%Y-%m-%d %H:%M:%S} UTC)"


def version_side(version: Version, *, label: str | None = None) -> VersionSide:
    """One side of a diff, from a stored version."""
    return VersionSide(
        title=version.title,
        byline=version.byline,
        published=version.published,
        modified=version.modified,
        text=version.text,
        label=label if label is not None else version_label(version),
        images=images_from_json(version.images),
    )
