"""The web pages: search, article timeline, version, diff (with the two versions'
screenshots and what changed between them, when both have one), changes, sources.

Owns what each page shows and how its query string is read; the data comes from the
same `load_*` / `run_search` functions the JSON routes call. Pages are rendered
server-side by Jinja2 with autoescaping on (`search_api.app.make_templates`); the
only values marked safe are HTML the archive or the search backend already escaped
(diff fragments from `archive.content.diff_html`, snippets and titles from the backend), and the
tests feed hostile archived text through each of them.

Pages read their query strings leniently (a bad page number means page 1, a bad
search filter shows its message above the form) so that a hand-edited URL still
gives a useful page; path ids are validated like the API's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from archive.capture import pair_judgement
from archive.content import images_changed, images_from_json, render_html, render_html_inline
from archive.errors import BadInput, BadQuery, NotFound, StorageError
from archive.store import (
    ArticleStatus,
    ChangeKind,
    check_source_names,
    list_sources,
    source_names,
    version_by_n,
)
from search_api.backends.base import MAX_PER_PAGE, MAX_RESULT_WINDOW, SortOrder
from search_api.charts import article_height
from search_api.deps import (
    BackendDep,
    NowDep,
    ScreenshotFinderDep,
    SessionDep,
    StateDep,
    TemplatesDep,
    WarcDep,
)
from search_api.language import request_lang
from search_api.query import MAX_QUERY_CHARS
from search_api.routes import (
    MAX_ID,
    MAX_URL_CHARS,
    MAX_VALUE_CHARS,
    MAX_VALUES,
    day_start,
    parse_day,
)
from search_api.routes.articles import (
    diff_out,
    load_article,
    load_diff,
    load_version,
    load_versions,
    lookup_url,
)
from search_api.routes.changes import load_changes
from search_api.routes.charts import load_article_life, load_source_charts, load_summary
from search_api.routes.search import build_query, run_search
from search_api.routes.sources import load_notify_health, load_sources
from search_api.schemas import (
    ArticleDetailOut,
    CaptureSummaryOut,
    EventOut,
    LookupOut,
    SearchOut,
    VersionSummaryOut,
)
from search_api.screenshots import ShownDiff, cache_dir, marked_png, screenshot_diff

router = APIRouter(include_in_schema=False)

# Pages load nothing from elsewhere and run no script; a stored value that slipped
# past escaping could still not run or phone home.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
PAGE_ARTICLE_ID = Annotated[int, Path(ge=1, le=MAX_ID)]
Values = Annotated[list[str] | None, Query(max_length=MAX_VALUES)]
Text = Annotated[str, Query(max_length=MAX_QUERY_CHARS)]
Short = Annotated[str | None, Query(max_length=MAX_VALUE_CHARS)]


def render(
    templates: Jinja2Templates,
    request: Request,
    name: str,
    context: dict[str, Any],
    status_code: int = 200,
) -> HTMLResponse:
    response: HTMLResponse = templates.TemplateResponse(
        request, name, context, status_code=status_code
    )
    response.headers["Content-Security-Policy"] = PAGE_CSP
    # The page's words follow the reader's language (search_api/language.py): a shared
    # cache must not hand one reader's Khmer page to another's English request.
    response.headers["Content-Language"] = request_lang(request)
    response.headers["Vary"] = "Accept-Language, Cookie"
    return response


def _int(value: str | None, default: int, low: int, high: int) -> int:
    try:
        number = int(value) if value else default
    except ValueError:
        return default
    return min(max(number, low), high)


def href(path: str, params: Sequence[tuple[str, str]]) -> str:
    query = urlencode([(k, v) for k, v in params if v not in (None, "")])
    return f"{path}?{query}" if query else path


# -- search ------------------------------------------------------------------------------


@dataclass
class FacetLink:
    value: str
    count: int
    href: str
    active: bool


@dataclass
class SearchPage:
    params: list[tuple[str, str]]
    result: SearchOut | None = None
    error: str | None = None
    lookup: LookupOut | None = None
    facets: dict[str, list[FacetLink]] = field(default_factory=dict)
    prev_href: str | None = None
    next_href: str | None = None


def _facet_links(params: list[tuple[str, str]], result: SearchOut) -> dict[str, list[FacetLink]]:
    links: dict[str, list[FacetLink]] = {}
    if result.facets is None:
        return links
    base = [(k, v) for k, v in params if k != "page"]
    for name, counts in result.facets.model_dump().items():
        items = []
        for value, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            active = (name, value) in base
            toggled = [p for p in base if p != (name, value)] if active else [*base, (name, value)]
            items.append(FacetLink(value, count, href("/", toggled), active))
        links[name] = items
    return links


@router.get("/", response_class=HTMLResponse)
def search_page(
    request: Request,
    templates: TemplatesDep,
    backend: BackendDep,
    session: SessionDep,
    now: NowDep,
    q: Text = "",
    source: Values = None,
    lang: Values = None,
    status: Values = None,
    topic: Values = None,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
    sort: Short = None,
    versions: Short = None,
    page: Short = None,
) -> HTMLResponse:
    params: list[tuple[str, str]] = [("q", q)]
    for key, values in (("source", source), ("lang", lang), ("status", status), ("topic", topic)):
        params += [(key, v) for v in values or () if v]
    params += [("from", from_ or ""), ("to", to or "")]
    params += [("sort", sort or ""), ("versions", versions or "")]
    per_page = 20
    page_n = _int(page, 1, 1, MAX_RESULT_WINDOW // per_page)
    view = SearchPage(params=[p for p in params if p[1]])
    try:
        check_source_names([v for v in source or () if v], source_names(session).values())
        query = build_query(
            q=q,
            sources=[v for v in source or () if v],
            langs=[v for v in lang or () if v],
            statuses=[v for v in status or () if v],
            topics=[v for v in topic or () if v],
            published_from=parse_day("from", from_),
            published_to=parse_day("to", to),
            # An empty box lists the newest articles; words rank by relevance.
            sort=sort or (SortOrder.RELEVANCE.value if q.strip() else SortOrder.DATE.value),
            versions=versions or "best",
            page=page_n,
            per_page=min(per_page, MAX_PER_PAGE),
        )
        view.result = run_search(backend, query)
    except (BadQuery, BadInput, HTTPException) as exc:
        view.error = exc.detail if isinstance(exc, HTTPException) else str(exc)
    if q.strip().lower().startswith(("http://", "https://")):
        try:
            view.lookup = lookup_url(session, q.strip())
        except (NotFound, HTTPException):
            view.lookup = None
    if view.result is not None:
        view.facets = _facet_links(view.params, view.result)
        base = [p for p in view.params if p[0] != "page"]
        if page_n > 1:
            view.prev_href = href("/", [*base, ("page", str(page_n - 1))])
        if page_n * per_page < min(view.result.total, MAX_RESULT_WINDOW):
            view.next_href = href("/", [*base, ("page", str(page_n + 1))])
    return render(
        templates,
        request,
        "search.html",
        {
            "view": view,
            "q": q,
            "selected": {k: [v for kk, v in view.params if kk == k] for k in dict(view.params)},
            "statuses": [s.value for s in ArticleStatus],
            "page_n": page_n,
            # The front page (no words, no filter) opens with the last 30 days.
            "summary": load_summary(session, now, request_lang(request))
            if len(view.params) == 0
            else None,
            "nav": "search",
        },
        status_code=400 if view.error else 200,
    )


@router.get("/lookup")
def lookup_page(
    session: SessionDep,
    url: Annotated[str, Query(min_length=1, max_length=MAX_URL_CHARS)],
) -> Response:
    found = lookup_url(session, url)
    return RedirectResponse(f"/articles/{found.article.id}", status_code=303)


# -- article, version, diff ----------------------------------------------------------------


@dataclass
class TimelineRow:
    """One fetch on the article's timeline, with the version it first saw and the
    events it caused."""

    capture: CaptureSummaryOut
    new_version: VersionSummaryOut | None
    events: list[EventOut]


def timeline(detail: ArticleDetailOut) -> list[TimelineRow]:
    by_first_capture = {v.first_capture_id: v for v in detail.versions}
    events: dict[int, list[EventOut]] = {}
    for event in detail.events:
        events.setdefault(event.capture_id, []).append(event)
    return [
        TimelineRow(c, by_first_capture.get(c.id), events.get(c.id, []))
        for c in sorted(detail.captures, key=lambda c: (c.fetched_at, c.id), reverse=True)
    ]


@router.get("/articles/{article_id}", response_class=HTMLResponse)
def article_page(
    request: Request, templates: TemplatesDep, session: SessionDep, article_id: PAGE_ARTICLE_ID
) -> HTMLResponse:
    detail = load_article(session, article_id)
    life, chart_text = load_article_life(session, article_id, request_lang(request))
    return render(
        templates,
        request,
        "article.html",
        {
            "d": detail,
            "a": detail.article,
            "rows": timeline(detail),
            "chart_text": chart_text,
            "chart_height": article_height(life),
            "nav": "",
        },
    )


@router.get("/articles/{article_id}/versions/{n}", response_class=HTMLResponse)
def version_page(
    request: Request,
    templates: TemplatesDep,
    session: SessionDep,
    article_id: PAGE_ARTICLE_ID,
    n: Annotated[int, Path(ge=1, le=MAX_ID)],
) -> HTMLResponse:
    version = load_version(session, article_id, n)
    article, versions = load_versions(session, article_id)
    return render(
        templates,
        request,
        "version.html",
        {"v": version, "a": article, "count": len(versions), "nav": ""},
    )


@dataclass(frozen=True)
class ScreenshotPair:
    """The two versions' screenshots on the diff page, with the changed regions."""

    shown: ShownDiff
    old_src: str
    new_src: str


def _screenshot_src(article_id: int, old_n: int, new_n: int, side: str) -> str:
    return f"/articles/{article_id}/diff/screenshots/{old_n}/{new_n}/{side}.png"


def load_screenshot_pair(
    session: SessionDep,
    warc: WarcDep,
    finder: ScreenshotFinderDep,
    state: StateDep,
    article_id: int,
    old_n: int,
    new_n: int,
) -> ScreenshotPair | None:
    """Both versions' screenshots compared (once: search_api.screenshots keeps it), or
    None when either version has none."""
    old = finder(session, warc, article_id, old_n)
    new = finder(session, warc, article_id, new_n)
    if old is None or new is None:
        return None
    try:
        shown = screenshot_diff(cache_dir(state.settings.data_dir), old, new)
    except StorageError as exc:
        # A screenshot unreadable or altered in storage: the text diff still shows, and
        # nothing is cached (`verify` names the damage; a repaired file compares again).
        shown = ShownDiff((0, 0), (0, 0), (), (), (), 0.0, refused=str(exc))
    return ScreenshotPair(
        shown,
        _screenshot_src(article_id, old_n, new_n, "old"),
        _screenshot_src(article_id, old_n, new_n, "new"),
    )


@router.get("/articles/{article_id}/diff/screenshots/{old_n}/{new_n}/{side}.png")
def diff_screenshot_image(
    session: SessionDep,
    warc: WarcDep,
    finder: ScreenshotFinderDep,
    state: StateDep,
    article_id: PAGE_ARTICLE_ID,
    old_n: Annotated[int, Path(ge=1, le=MAX_ID)],
    new_n: Annotated[int, Path(ge=1, le=MAX_ID)],
    side: Annotated[str, Path(pattern="^(old|new)$")],
) -> Response:
    """One version's screenshot with what changed against the other marked (PNG)."""
    old = finder(session, warc, article_id, old_n)
    new = finder(session, warc, article_id, new_n)
    if old is None or new is None:
        missing = old_n if old is None else new_n
        raise NotFound(f"version {missing} of article {article_id} has no screenshot")
    png = marked_png(cache_dir(state.settings.data_dir), old, new, side)
    if png is None:
        raise NotFound(f"the screenshots of versions {old_n} and {new_n} could not be compared")
    return Response(
        png,
        media_type="image/png",
        headers={"Content-Security-Policy": "default-src 'none'; sandbox"},
    )


@router.get("/articles/{article_id}/diff", response_class=HTMLResponse)
def diff_page(
    request: Request,
    templates: TemplatesDep,
    session: SessionDep,
    warc: WarcDep,
    finder: ScreenshotFinderDep,
    state: StateDep,
    article_id: PAGE_ARTICLE_ID,
    from_: Annotated[str | None, Query(alias="from", max_length=12)] = None,
    to: Annotated[str | None, Query(max_length=12)] = None,
    view: Annotated[str | None, Query(max_length=12)] = None,
) -> HTMLResponse:
    article, versions = load_versions(session, article_id)
    from_n = _int(from_, 0, 0, MAX_ID) or None
    to_n = _int(to, 0, 0, MAX_ID) or None
    diff, old_n, new_n = load_diff(session, article_id, from_n, to_n)
    inline = view == "inline"
    fragment = render_html_inline(diff) if inline else render_html(diff)
    old, new = version_by_n(session, article_id, old_n), version_by_n(session, article_id, new_n)
    # The pictures added, removed or replaced between the two (at most 20 a side: cheap).
    pictures = images_changed(images_from_json(old.images), images_from_json(new.images))
    # What kind of edit these two versions make, as the changes page shows an edit: the
    # judgement stored with the edit when there is one, else judged within its budget.
    judged = (
        pair_judgement(session, old, new, diff.body)
        if diff.changed_parts or pictures is not None
        else None
    )
    return render(
        templates,
        request,
        "diff.html",
        {
            "a": article,
            "versions": versions,
            "old_n": old_n,
            "new_n": new_n,
            "inline": inline,
            "fragment": fragment,
            "summary": diff_out(article_id, old_n, new_n, diff),
            "judged": judged,
            "screenshots": load_screenshot_pair(
                session, warc, finder, state, article_id, old_n, new_n
            ),
            "pictures": pictures,
            "nav": "",
        },
    )


# -- changes and sources -----------------------------------------------------------------


@router.get("/changes", response_class=HTMLResponse)
def changes_page(
    request: Request,
    templates: TemplatesDep,
    session: SessionDep,
    kind: Values = None,
    source: Values = None,
    since: Annotated[str | None, Query(max_length=40)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    min_significance: Annotated[str | None, Query(max_length=20)] = None,
    sort: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    kinds = [k for k in kind or () if k]
    unknown = [k for k in kinds if k not in {c.value for c in ChangeKind}]
    sources = [s for s in source or () if s]
    error = None
    if unknown:
        error = f"kind {unknown[0]!r}: use one of {', '.join(c.value for c in ChangeKind)}"
        kinds = []
    order = sort if sort in ("newest", "significance") else "newest"
    if sort and sort != order:
        error = f"sort {sort[:20]!r}: use newest or significance"
    least, problem = _score(min_significance)
    error = error or problem
    try:
        check_source_names(sources, source_names(session).values())
    except BadInput as exc:
        error = error or str(exc)
        sources = []
    try:
        page, _rows = load_changes(
            session,
            kinds=kinds,
            sources=sources,
            since=day_start(parse_day("since", since)),
            cursor=cursor or None,
            limit=50,
            min_significance=least,
            sort=order,
        )
    except HTTPException as exc:
        error = str(exc.detail)
        page, _rows = load_changes(session, kinds=kinds, sources=sources, limit=50)
    filters = [("kind", k) for k in kinds] + [("source", s) for s in sources]
    filters += [("since", since or "")]
    if least is not None:
        filters += [("min_significance", f"{least:g}")]
    if order != "newest":
        filters += [("sort", order)]
    return render(
        templates,
        request,
        "changes.html",
        {
            "page": page,
            "error": error,
            "kinds": [c.value for c in ChangeKind],
            "selected_kinds": kinds,
            "selected_sources": sources,
            "sources": [s.name for s in load_sources(session).data],
            "since": since or "",
            "min_significance": "" if least is None else f"{least:g}",
            "sort": order,
            "older_href": href("/changes", [*filters, ("cursor", page.next_cursor)])
            if page.next_cursor
            else None,
            "feed_href": href(
                "/feeds/changes.atom", [f for f in filters if f[0] not in ("since", "sort")]
            ),
            "subscribe_href": href(
                "/subscribe", [f for f in filters if f[0] not in ("since", "sort")]
            ),
            "nav": "changes",
        },
        status_code=400 if error else 200,
    )


@router.get("/subscribe", response_class=HTMLResponse)
def subscribe_page(
    request: Request,
    templates: TemplatesDep,
    state: StateDep,
    kind: Values = None,
    source: Values = None,
    min_significance: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    """How to follow changes in a feed reader. A browser shows the Atom feed itself as
    raw XML (the link once led there), so people are shown its address to paste
    instead; the `<link rel="alternate">` of every page still names the feed."""
    least, problem = _score(min_significance)
    filters = [("kind", k) for k in kind or () if k in {c.value for c in ChangeKind}]
    filters += [("source", s) for s in source or () if s]
    if least is not None:
        filters += [("min_significance", f"{least:g}")]
    path = href("/feeds/changes.atom", filters)
    public_url = state.settings.public_url
    return render(
        templates,
        request,
        "subscribe.html",
        {
            "feed_href": path,
            # The address to paste: absolute when the archive knows its own address.
            "feed_url": f"{public_url}{path}" if public_url else None,
            "filters": filters,
            "error": problem,
            "nav": "changes",
        },
    )


def _score(value: str | None) -> tuple[float | None, str | None]:
    """The page's significance field: a number from 0 to 1, or empty."""
    if value is None or not value.strip():
        return None, None
    try:
        score = float(value)
    except ValueError:
        score = -1.0
    if not 0.0 <= score <= 1.0:
        return None, f"min_significance={value[:20]!r}: use a number from 0 to 1, e.g. 0.5"
    return score, None


@router.get("/sources", response_class=HTMLResponse)
def sources_page(
    request: Request, templates: TemplatesDep, session: SessionDep, now: NowDep
) -> HTMLResponse:
    return render(
        templates,
        request,
        "sources.html",
        {
            "sources": load_sources(session),
            "charts": [
                load_source_charts(session, s, now, lang=request_lang(request))
                for s in list_sources(session)
            ],
            "notify": load_notify_health(session),
            "nav": "sources",
        },
    )


@router.get("/api/docs", response_class=HTMLResponse)
def api_docs_page(request: Request, templates: TemplatesDep) -> HTMLResponse:
    """The API reference, rendered here from the OpenAPI document. FastAPI's own docs
    page loads its scripts from a CDN, which an offline or air-gapped archive lacks."""
    schema = request.app.openapi()
    operations = []
    for path, methods in schema.get("paths", {}).items():
        for method, op in methods.items():
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "parameters": [
                        {
                            "name": p.get("name"),
                            "in": p.get("in"),
                            "required": p.get("required", False),
                            "type": (p.get("schema") or {}).get("type", ""),
                            "description": p.get("description", ""),
                        }
                        for p in op.get("parameters", [])
                    ],
                    "responses": sorted(op.get("responses", {})),
                }
            )
    return render(
        templates,
        request,
        "apidocs.html",
        {"ops": operations, "title": schema.get("info", {}).get("title", ""), "nav": ""},
    )
