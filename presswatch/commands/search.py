"""`presswatch` commands of the search area: `search` and `reindex`.

Commands parse, call, print. The backend comes from `search_api.factory.make_backend`
(Meilisearch when MEILI_URL is set, else the SQLite FTS5 index in the data dir). With
`--json` one JSON document goes to stdout; diagnostics go to stderr. Exit codes: 2 for
a query or option the user must change, 1 when the backend failed.
"""

from __future__ import annotations

import html
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from archive.errors import BadQuery, SearchError
from archive.i18n import N_
from presswatch.commands.common import (
    ISO_DATE,
    JsonOpt,
    SourceOpt,
    archive_lock,
    archived_source_names,
    echo_json,
    fail,
    get_runtime,
    parse_iso_option,
    refuse_unknown_sources,
    shown,
)

if TYPE_CHECKING:
    from presswatch.runtime import Runtime
    from search_api.backends.base import SearchBackend, SearchQuery, SearchResult


@contextmanager
def _backend(runtime: Runtime) -> Iterator[SearchBackend]:
    from search_api.factory import make_backend

    backend = make_backend(runtime.settings)
    try:
        yield backend
    finally:
        backend.close()


def run_search(runtime: Runtime, query: SearchQuery) -> SearchResult:
    """Run one search on the configured backend (what `presswatch search` does)."""
    with _backend(runtime) as backend:
        backend.configure()
        return backend.search(query)


def run_reindex(runtime: Runtime, progress: Callable[[int, int], None] | None = None) -> int:
    """Sketch the versions waiting for their story sketch (all of them, in an archive
    made before stories), then rebuild the configured backend's index from the archive;
    versions indexed."""
    from presswatch.crawling.stories import sketch_stories
    from search_api.indexer import reindex

    _sketched, problem = sketch_stories(runtime)
    if problem is None:
        from presswatch.crawling.together import find_together

        _found, problem = find_together(runtime)
    if problem:
        typer.echo(problem, err=True)
    with _backend(runtime) as backend:
        return reindex(runtime.sessions, backend, progress=progress)


_MARK = re.compile(r"</?mark>")


def _plain(snippet: str) -> str:
    """Snippet HTML for a terminal: matches in [brackets], entities decoded."""
    return html.unescape(_MARK.sub(lambda m: "]" if m.group(0) == "</mark>" else "[", snippet))


# The facets' names in words (their codes are the JSON's keys and `--json`'s).
FACET_WORDS = {"source": N_("source"), "lang": N_("language"), "status": N_("status")}


def _print_result(
    result: SearchResult, groups: list[dict[str, Any]] | None = None, lang: str = "en"
) -> None:
    """The results for a person, in `lang` (the `lang` setting). In English statuses and
    facet names stay the codes `--status` and `--json` use; titles, snippets, outlets
    and addresses are the archive's text."""
    from archive.i18n import label, translations

    _ = translations(lang).gettext

    def word(code: object) -> str:
        return str(getattr(code, "value", code)) if lang == "en" else label(code, _)

    pages = max(1, -(-result.total // result.per_page))
    counts = {"total": result.total, "page": result.page, "pages": pages}
    typer.echo(_("%(total)s result(s), page %(page)s of %(pages)s") % counts)
    heads: dict[int, str] = {}
    order = list(range(len(result.hits)))
    if groups is not None:
        order = [i for g in groups for i in g["hits"]]
        for g in groups:
            if g["story_id"] is not None:
                said = _("story %(id)s: %(n)s hit(s) on this page")
                heads[g["hits"][0]] = said % {"id": g["story_id"], "n": len(g["hits"])}
    for i in order:
        hit = result.hits[i]
        if i in heads:
            typer.echo("")
            typer.echo(f"== {heads[i]}")
        flags = [word(hit.status)]
        if hit.removed_text:
            flags.append(_("removed text"))
        if not hit.is_current:
            flags.append(_("older version"))
        published = f"  {hit.published}" if hit.published else ""
        typer.echo("")
        typer.echo(
            f"#{hit.article_id} v{hit.version}  [{', '.join(flags)}]  {hit.source}{published}"
        )
        typer.echo(f"  {shown(hit.title or _('(no title)'))}")
        typer.echo(f"  {shown(hit.url)}")
        if hit.snippet:
            typer.echo(f"  {shown(_plain(hit.snippet))}")
    if result.facets is not None and result.total:
        typer.echo("")
        for name, values in result.facets.as_dict().items():
            listed = ", ".join(
                f"{word(k) if name == 'status' else k} ({n})"
                for k, n in sorted(values.items(), key=lambda kv: -kv[1])
            )
            said = name if lang == "en" else _(FACET_WORDS.get(name, name))
            typer.echo(_("%(name)s: %(values)s") % {"name": said, "values": listed})


def search(
    ctx: typer.Context,
    query: Annotated[
        str,
        typer.Argument(
            metavar="QUERY",
            help='Words, "a phrase", -excluded, a OR b. Every version is searched, '
            "including removed articles and text later edits removed. Put -- before a "
            "query that starts with a minus: presswatch search -- -word other",
        ),
    ],
    source: SourceOpt = None,
    lang: Annotated[
        list[str] | None,
        typer.Option(metavar="LANG", help="Only this language, e.g. km (repeatable)."),
    ] = None,
    status: Annotated[
        list[str] | None,
        typer.Option(
            metavar="STATUS",
            help="Only articles now live, edited, removed or unreachable (repeatable).",
        ),
    ] = None,
    topic: Annotated[
        list[str] | None, typer.Option(metavar="TOPIC", help="Only this topic (repeatable).")
    ] = None,
    versions: Annotated[
        str,
        typer.Option(
            metavar="best|all", help="best: one hit per article; all: every matching version."
        ),
    ] = "best",
    sort: Annotated[
        str, typer.Option(metavar="ORDER", help="relevance or date (newest first).")
    ] = "relevance",
    published_from: Annotated[
        str | None, typer.Option(metavar=ISO_DATE, help="Published on or after (ISO 8601).")
    ] = None,
    published_to: Annotated[
        str | None, typer.Option(metavar=ISO_DATE, help="Published on or before (ISO 8601).")
    ] = None,
    captured_from: Annotated[
        str | None, typer.Option(metavar=ISO_DATE, help="Version online on or after (ISO 8601).")
    ] = None,
    captured_to: Annotated[
        str | None, typer.Option(metavar=ISO_DATE, help="Version online on or before (ISO 8601).")
    ] = None,
    page: Annotated[int, typer.Option(min=1, metavar="N", help="Page of results, from 1.")] = 1,
    per_page: Annotated[int, typer.Option(min=1, max=100, metavar="N", help="Hits per page.")] = 20,
    group_by: Annotated[
        str | None,
        typer.Option(
            "--group-by",
            metavar="story",
            help="story: gather this page's hits by story (the same text at other outlets).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Full-text search over every archived version."""
    from search_api.backends.base import SearchQuery, SortOrder

    if group_by not in (None, "story"):
        raise fail(f"--group-by {group_by!r}: use story", 2)
    if sort not in {s.value for s in SortOrder}:
        raise fail(f"--sort {sort!r}: use relevance or date", 2)
    if versions not in ("best", "all"):
        raise fail(f"--versions {versions!r}: use best or all", 2)
    try:
        search_query = SearchQuery(
            text=query,
            sources=tuple(source or ()),
            langs=tuple(lang or ()),
            statuses=tuple(status or ()),
            topics=tuple(topic or ()),
            published_from=parse_iso_option("--published-from", published_from),
            published_to=parse_iso_option("--published-to", published_to),
            captured_from=parse_iso_option("--captured-from", captured_from),
            captured_to=parse_iso_option("--captured-to", captured_to),
            sort=SortOrder(sort),
            versions="all" if versions == "all" else "best",
            page=page,
            per_page=per_page,
        )
    except BadQuery as exc:
        raise fail(str(exc), 2) from exc
    runtime = get_runtime(ctx)
    if source:
        with runtime.read_sessions() as session:
            refuse_unknown_sources(source, archived_source_names(runtime, session))
    try:
        result = run_search(runtime, search_query)
    except BadQuery as exc:
        raise fail(str(exc), 2) from exc
    except SearchError as exc:
        raise fail(str(exc), 1) from exc
    groups = None
    doc = result.as_dict()
    if group_by == "story":
        from search_api.story_groups import group_hits

        with runtime.read_sessions() as session:
            story, groups = group_hits(session, result.hits)
        for hit in doc["hits"]:
            hit["story_id"] = story.get(hit["article_id"])
        doc["groups"] = [
            {"story_id": g["story_id"], "hits": [doc["hits"][i] for i in g["hits"]]} for g in groups
        ]
    if as_json:
        echo_json(doc)
    else:
        _print_result(result, groups, runtime.settings.lang)


def reindex_command(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Rebuild the search index from the archive."""
    runtime = get_runtime(ctx)
    with archive_lock(runtime, "reindex"):
        count = _reindex_showing_progress(runtime)
    if as_json:
        backend = "meilisearch" if runtime.settings.meili_url else "sqlite"
        echo_json({"versions": count, "backend": backend})
    elif sys.stderr.isatty():
        typer.echo(f"reindexed {count} versions", err=True)


def _reindex_showing_progress(runtime: Runtime) -> int:
    """`run_reindex` with a progress bar on a terminal; exit 1 when the backend fails."""
    try:
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            with Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            ) as bar:
                task = bar.add_task("indexing versions", total=None)

                def advance(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total)

                return run_reindex(runtime, advance)
        return run_reindex(runtime)
    except SearchError as exc:
        raise fail(str(exc), 1) from exc


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.command("search")(search)
    app.command("reindex")(reindex_command)
