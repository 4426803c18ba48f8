"""`/api/search`: full-text search over every version of every article, with facets.

Owns turning query parameters into a `SearchQuery` (the search backend's contract,
`search_api.backends.base`) and its result into `SearchOut`. The backend validates
the query language and the filters and raises `BadQuery` with what to change, which
the app turns into a 400. `from`/`to` bound the publish date, `captured_from`/
`captured_to` the time a version was online. `build_query` and `run_search` are what
the search page uses too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Literal, cast

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from archive.store import ArticleStatus
from search_api.backends.base import (
    MAX_PER_PAGE,
    MAX_RESULT_WINDOW,
    SearchBackend,
    SearchQuery,
    SearchResult,
    SortOrder,
)
from search_api.deps import BackendDep, SessionDep
from search_api.query import MAX_QUERY_CHARS
from search_api.routes import (
    ERRORS,
    UNAVAILABLE,
    Day,
    FilterValue,
    SourceFilter,
    day_end,
    day_start,
    filter_param,
)
from search_api.schemas import FacetsOut, HitOut, SearchGroupOut, SearchOut
from search_api.story_groups import group_hits

router = APIRouter(prefix="/api", tags=["search"], responses={**ERRORS, **UNAVAILABLE})

DEFAULT_PER_PAGE = 20

LangFilter = Annotated[list[FilterValue], filter_param("Only these languages, e.g. km.")]
TopicFilter = Annotated[list[FilterValue], filter_param("Only these topics (sources.toml).")]
StatusFilter = Annotated[list[ArticleStatus], filter_param("Current article status.", 4)]


def build_query(
    *,
    q: str = "",
    sources: Sequence[str] = (),
    langs: Sequence[str] = (),
    statuses: Sequence[str] = (),
    topics: Sequence[str] = (),
    published_from: date | None = None,
    published_to: date | None = None,
    captured_from: date | None = None,
    captured_to: date | None = None,
    sort: str = SortOrder.RELEVANCE.value,
    versions: str = "best",
    page: int = 1,
    per_page: int = DEFAULT_PER_PAGE,
) -> SearchQuery:
    """A validated SearchQuery; raises `BadQuery` (or a 400) saying what to change."""
    return SearchQuery(
        text=q,
        sources=tuple(sources),
        langs=tuple(langs),
        statuses=tuple(statuses),
        topics=tuple(topics),
        published_from=day_start(published_from),
        published_to=day_end(published_to),
        captured_from=day_start(captured_from),
        captured_to=day_end(captured_to),
        # SearchQuery converts and checks these itself, raising BadQuery on bad values.
        sort=cast(SortOrder, sort),
        versions=cast(Literal["best", "all"], versions),
        page=page,
        per_page=per_page,
    )


def search_out(result: SearchResult, session: Session | None = None) -> SearchOut:
    """The result as `SearchOut`; given a session, its hits grouped by story too."""
    hits = [HitOut.model_validate({**h.as_dict(), "score": h.score}) for h in result.hits]
    groups = None
    if session is not None:
        story, grouped = group_hits(session, result.hits)
        for hit in hits:
            hit.story_id = story.get(hit.article_id)
        groups = [
            SearchGroupOut(story_id=g["story_id"], hits=[hits[i] for i in g["hits"]])
            for g in grouped
        ]
    return SearchOut(
        total=result.total,
        hits=hits,
        facets=FacetsOut(**result.facets.as_dict()) if result.facets is not None else None,
        page=result.page,
        per_page=result.per_page,
        groups=groups,
    )


def run_search(backend: SearchBackend, query: SearchQuery) -> SearchOut:
    return search_out(backend.search(query))


def query_params(
    *,
    source: SourceFilter,
    lang: LangFilter,
    status: StatusFilter,
    topic: TopicFilter,
    q: Annotated[
        str,
        Query(
            max_length=MAX_QUERY_CHARS,
            description='Words, "phrases", -exclusions, OR. Empty lists newest first.',
        ),
    ] = "",
    from_: Annotated[
        Day | None, Query(alias="from", description="Published on or after this day.")
    ] = None,
    to: Annotated[Day | None, Query(description="Published on or before this day.")] = None,
    captured_from: Annotated[
        Day | None, Query(description="Online on or after this day (UTC).")
    ] = None,
    captured_to: Annotated[
        Day | None, Query(description="Online on or before this day (UTC).")
    ] = None,
    sort: Annotated[SortOrder, Query()] = SortOrder.RELEVANCE,
    versions: Annotated[
        Literal["best", "all"],
        Query(description="best: one hit per article; all: every matching version."),
    ] = "best",
    page: Annotated[int, Query(ge=1, le=MAX_RESULT_WINDOW)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = DEFAULT_PER_PAGE,
) -> SearchQuery:
    return build_query(
        q=q,
        sources=source,
        langs=lang,
        statuses=[s.value for s in status],
        topics=topic,
        published_from=from_,
        published_to=to,
        captured_from=captured_from,
        captured_to=captured_to,
        sort=sort.value,
        versions=versions,
        page=page,
        per_page=per_page,
    )


QueryDep = Annotated[SearchQuery, Depends(query_params)]


@router.get("/search", response_model=SearchOut)
def search_route(
    query: QueryDep,
    backend: BackendDep,
    session: SessionDep,
    group: Annotated[
        Literal["story"] | None,
        Query(description="story: gather this page's hits by story (same text elsewhere)."),
    ] = None,
) -> SearchOut:
    """Search every archived version, including text later edits removed and articles
    taken down. Each hit says whether the match is only in removed text."""
    result = backend.search(query)
    return search_out(result, session if group == "story" else None)
