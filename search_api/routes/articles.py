"""`/api/articles…` and `/api/lookup`: articles, their versions, events, fetches and
diffs, and finding an article by any URL it was seen under.

Owns the mapping of Article, Version, Capture and ChangeEvent rows to `*Out` models
(through `archive.store.queries`) and the choice of the two versions a diff compares. The
`load_*` functions are what the article, version and diff pages render too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy.orm import Session

from archive.capture import pair_diff, version_screenshot
from archive.content import VersionDiff, normalize_url, render_html, render_json, render_unified
from archive.errors import BadInput, NotFound
from archive.store import (
    Article,
    ArticleStatus,
    Capture,
    ChangeKind,
    Rendering,
    Version,
    aliases_of,
    article_by_url,
    captures_of,
    confirming_removals,
    events_of,
    list_articles,
    renderings_of,
    screenshot_path,
    source_names,
    version_by_n,
    versions_by_id,
    versions_of,
    versions_with_screenshot,
)
from archive.stories import story_events_of
from archive.views import (
    event_detail,
    event_label,
    event_origin,
    event_via,
    load_event_rows,
    rendering_json,
    story_event_json,
    story_json,
    web_archive_coverage,
)
from search_api.deps import SessionDep, WarcDep
from search_api.routes import (
    DEFAULT_LIMIT,
    ERRORS,
    HTTP_URL,
    MAX_CURSOR_CHARS,
    MAX_ID,
    MAX_LIMIT,
    MAX_URL_CHARS,
    NOT_FOUND,
    SourceFilter,
    bad_request,
    decode_cursor,
    encode_cursor,
)
from search_api.schemas import (
    AliasOut,
    ArticleDetailOut,
    ArticleList,
    ArticleOut,
    CaptureSummaryOut,
    DiffOut,
    EventOut,
    LookupOut,
    RemovedTogetherOut,
    RenderingOut,
    StoryOut,
    VersionOut,
    VersionSummaryOut,
)

router = APIRouter(prefix="/api", tags=["articles"], responses=ERRORS)

# An article's page lists at most this many fetches; the rest stay in the archive.
MAX_TIMELINE_CAPTURES = 1000

ArticleId = Annotated[int, Path(ge=1, le=MAX_ID, examples=[1], description="Article id.")]
VersionN = Annotated[int, Path(ge=1, le=MAX_ID, examples=[1], description="Version number.")]


# -- loaders shared with the pages -------------------------------------------------------


def get_article(session: Session, article_id: int) -> Article:
    article = session.get(Article, article_id)
    if article is None:
        raise NotFound(f"no article with id {article_id}; GET /api/articles lists them")
    return article


def article_outs(session: Session, articles: Sequence[Article]) -> list[ArticleOut]:
    """ArticleOut for each row, with its source name and current title and language
    (one query for all of them)."""
    names = source_names(session)
    current = versions_by_id(session, (a.current_version_id for a in articles), with_text=False)
    confirming = confirming_removals(session, articles)
    out = []
    for article in articles:
        version = current.get(article.current_version_id or 0)
        confirmed = confirming.get(article.id)
        out.append(
            ArticleOut(
                id=article.id,
                url=article.fetch_url,
                key=article.url,
                source=names.get(article.source_id, "?"),
                status=ArticleStatus(article.status),
                versions=article.version_count,
                first_seen=article.first_seen,
                last_checked=article.last_checked,
                removed_at=article.removed_at,
                removal_confirmed_at=confirmed.at if confirmed is not None else None,
                removal_via=event_via(confirmed) if confirmed is not None else None,
                removal=article.removal,
                pending_removal=article.pending_removal,
                title=version.title if version is not None else None,
                lang=version.lang if version is not None else None,
            )
        )
    return out


def capture_summary(
    capture: Capture, numbers: dict[int, int], rendering: Rendering | None = None
) -> CaptureSummaryOut:
    out = CaptureSummaryOut.model_validate(capture)
    out.version_n = numbers.get(capture.version_id) if capture.version_id else None
    shown = rendering_json(rendering, numbers)
    out.rendering = RenderingOut.model_validate(shown) if shown is not None else None
    return out


def list_article_page(
    session: Session,
    *,
    sources: Sequence[str],
    status: str | None,
    cursor: str | None,
    limit: int,
) -> ArticleList:
    after = None
    if cursor:
        (last,) = decode_cursor(cursor, "a", 1)
        if not last.isdigit():
            raise bad_request("cursor is damaged: pass the previous page's next_cursor as is")
        after = int(last)
    rows = list_articles(session, sources=sources, status=status, after_id=after, limit=limit + 1)
    page = rows[:limit]
    more = len(rows) > limit
    return ArticleList(
        data=article_outs(session, page),
        count=len(page),
        next_cursor=encode_cursor("a", page[-1].id) if more and page else None,
    )


def load_versions(session: Session, article_id: int) -> tuple[ArticleOut, list[VersionSummaryOut]]:
    """An article and its versions without text, fetches or events (for the version
    and diff pages)."""
    article = get_article(session, article_id)
    versions = [VersionSummaryOut.model_validate(v) for v in versions_of(session, article.id)]
    return article_outs(session, [article])[0], with_screenshots(session, article.id, versions)


def _story_out(session: Session, article_id: int) -> StoryOut | None:
    story = story_json(session, article_id)
    return StoryOut.model_validate(story) if story is not None else None


def load_article(session: Session, article_id: int) -> ArticleDetailOut:
    article = get_article(session, article_id)
    versions = versions_of(session, article.id)
    numbers = {v.id: v.n for v in versions}
    captures = captures_of(session, article.id, limit=MAX_TIMELINE_CAPTURES + 1)
    renderings = renderings_of(session, article.id)
    events = events_of(session, article.id)
    load_event_rows(session, events)
    return ArticleDetailOut(
        article=article_outs(session, [article])[0],
        versions=with_screenshots(
            session, article.id, [VersionSummaryOut.model_validate(v) for v in versions]
        ),
        events=[
            EventOut(
                id=e.id,
                kind=ChangeKind(e.kind),
                how=[str(h) for h in e.how],
                at=e.at,
                from_version=numbers.get(e.from_version_id) if e.from_version_id else None,
                to_version=numbers.get(e.to_version_id) if e.to_version_id else None,
                capture_id=e.capture_id,
                detail=event_detail(e),
                via=(via := event_via(e)),
                label=event_label(e.kind, via),
                origin=event_origin(e),
            )
            for e in events
        ],
        aliases=[AliasOut.model_validate(a) for a in aliases_of(session, article.id)],
        captures=[
            capture_summary(c, numbers, renderings.get(c.id))
            for c in captures[:MAX_TIMELINE_CAPTURES]
        ],
        captures_truncated=len(captures) > MAX_TIMELINE_CAPTURES,
        web_archive_coverage=web_archive_coverage(session, article),
        story=StoryOut.model_validate(story)
        if (story := story_json(session, article.id))
        else None,
        removed_together=[
            RemovedTogetherOut.model_validate(story_event_json(e))
            for e in story_events_of(session, article.id)
        ],
    )


def get_version(session: Session, article_id: int, n: int) -> Version:
    article = get_article(session, article_id)
    return version_by_n(session, article.id, n)


def load_version(session: Session, article_id: int, n: int) -> VersionOut:
    version = get_version(session, article_id, n)
    numbers = {version.id: version.n}
    (summary,) = with_screenshots(session, article_id, [VersionSummaryOut.model_validate(version)])
    first = session.get(Capture, version.first_capture_id)
    last = session.get(Capture, version.last_capture_id)
    return VersionOut(
        **summary.model_dump(),
        article_id=version.article_id,
        text=version.text,
        first_capture=capture_summary(first, numbers) if first else None,
        last_capture=capture_summary(last, numbers) if last else None,
    )


def pick_versions(
    session: Session, article_id: int, from_n: int | None, to_n: int | None
) -> tuple[Version, Version]:
    """The two versions to compare: by default the last two (or the only one against
    itself). Any two may be chosen, in either order."""
    article = get_article(session, article_id)
    newest = article.version_count  # versions are numbered 1 to version_count
    if newest == 0:
        raise NotFound(f"article {article_id} has no version yet: nothing to compare")
    to_n = newest if to_n is None else to_n
    from_n = max(to_n - 1, 1) if from_n is None else from_n
    for name, n in (("from", from_n), ("to", to_n)):
        if not 1 <= n <= newest:
            raise NotFound(
                f"{name}={n}: article {article_id} has no version {n}; use 1 to {newest}"
            )
    return version_by_n(session, article.id, from_n), version_by_n(session, article.id, to_n)


def load_diff(
    session: Session, article_id: int, from_n: int | None, to_n: int | None
) -> tuple[VersionDiff, int, int]:
    old, new = pick_versions(session, article_id, from_n, to_n)
    # Stored when the newer version was recorded (design rule 11); any other pair is
    # computed within the diff's work budget.
    return pair_diff(session, old, new), old.n, new.n


def diff_out(article_id: int, from_n: int, to_n: int, diff: VersionDiff) -> DiffOut:
    doc = render_json(diff)
    return DiffOut.model_validate(
        {
            **doc,
            "article_id": article_id,
            "from_version": from_n,
            "to_version": to_n,
            "coarse": diff.coarse,
        }
    )


def lookup_url(session: Session, url: str) -> LookupOut:
    try:
        normalized = normalize_url(url)
    except (BadInput, ValueError) as exc:
        raise bad_request(f"url: {exc}") from exc
    article = article_by_url(session, normalized)
    if article is None:
        raise NotFound(
            f"no archived article at {url}; the archive knows an article by every URL it "
            "was fetched, redirected or declared canonical under"
        )
    return LookupOut(
        normalized_url=normalized,
        article=article_outs(session, [article])[0],
        aliases=[AliasOut.model_validate(a) for a in aliases_of(session, article.id)],
    )


# -- routes ------------------------------------------------------------------------------


@router.get("/articles", response_model=ArticleList)
def list_articles_route(
    *,
    session: SessionDep,
    source: SourceFilter,
    status: Annotated[ArticleStatus | None, Query(description="Current status.")] = None,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_CHARS)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> ArticleList:
    """Archived articles by id, `limit` at a time; follow `next_cursor` for more."""
    return list_article_page(
        session,
        sources=source,
        status=status.value if status else None,
        cursor=cursor,
        limit=limit,
    )


@router.get("/articles/{article_id}", response_model=ArticleDetailOut, responses=NOT_FOUND)
def get_article_route(article_id: ArticleId, session: SessionDep) -> ArticleDetailOut:
    """One article: its versions (without text), events, URLs and fetches."""
    return load_article(session, article_id)


@router.get("/articles/{article_id}/versions/{n}", response_model=VersionOut, responses=NOT_FOUND)
def get_version_route(article_id: ArticleId, n: VersionN, session: SessionDep) -> VersionOut:
    """One version: text, metadata, and the fetches that first and last saw it."""
    return load_version(session, article_id, n)


@router.get(
    "/articles/{article_id}/versions/{n}/screenshot.png",
    response_class=Response,
    responses={**NOT_FOUND, 200: {"content": {"image/png": {}}, "description": "The PNG."}},
)
def get_screenshot_route(
    article_id: ArticleId, n: VersionN, session: SessionDep, warc: WarcDep
) -> Response:
    """The full-page screenshot of version n, as the browser rendered the fetch that
    made it (its bytes checked against the digest the log commits to)."""
    version = get_version(session, article_id, n)
    png = version_screenshot(session, warc, version.id)
    if png is None:
        raise NotFound(f"version {n} of article {article_id} has no screenshot")
    return Response(
        png,
        media_type="image/png",
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )


def with_screenshots(
    session: Session, article_id: int, versions: list[VersionSummaryOut]
) -> list[VersionSummaryOut]:
    """`versions` with each one's `screenshot` path (null without one)."""
    shots = versions_with_screenshot(session, article_id)
    ids = {v.n for v in versions_of(session, article_id) if v.id in shots} if shots else set()
    return [
        v.model_copy(
            update={"screenshot": screenshot_path(article_id, v.n) if v.n in ids else None}
        )
        for v in versions
    ]


@router.get(
    "/articles/{article_id}/diff",
    response_model=DiffOut,
    responses={
        **NOT_FOUND,
        200: {
            "description": "JSON by default; `format=unified` gives text, `format=html` an "
            "HTML fragment (classes pw-diff, pw-del, pw-ins).",
            "content": {
                "text/plain": {"schema": {"type": "string"}},
                "text/html": {"schema": {"type": "string"}},
            },
        },
    },
)
def diff_route(
    article_id: ArticleId,
    session: SessionDep,
    from_n: Annotated[
        int | None, Query(alias="from", ge=1, le=MAX_ID, description="Older version number.")
    ] = None,
    to_n: Annotated[
        int | None, Query(alias="to", ge=1, le=MAX_ID, description="Newer version number.")
    ] = None,
    fmt: Annotated[Literal["json", "unified", "html"], Query(alias="format")] = "json",
) -> DiffOut | Response:
    """Two versions compared (default: the last two): metadata changes, then the body."""
    diff, old_n, new_n = load_diff(session, article_id, from_n, to_n)
    if fmt == "unified":
        return PlainTextResponse(render_unified(diff))
    if fmt == "html":
        # diff.py escapes every archived character; the sandbox is a second fence in
        # case a client opens the fragment directly.
        return Response(
            render_html(diff),
            media_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": "sandbox; default-src 'none'"},
        )
    return diff_out(article_id, old_n, new_n, diff)


@router.get("/lookup", response_model=LookupOut, responses=NOT_FOUND)
def lookup_route(
    session: SessionDep,
    url: Annotated[
        str,
        Query(
            min_length=8,
            max_length=MAX_URL_CHARS,
            pattern=HTTP_URL,
            description="Any URL of the article: canonical, alias, redirect or tracking variant.",
        ),
    ],
) -> LookupOut:
    """Find an article by any URL it was seen under (compared after normalization)."""
    return lookup_url(session, url)
