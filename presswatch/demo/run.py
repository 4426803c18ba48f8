"""`presswatch demo`: the whole pipeline on a local news site, in under a minute.

Starts "The Mekong Ledger" on 127.0.0.1, crawls it through the real Scrapy engine
(sitemap, feeds and listing pages), then changes the site the way outlets do — one
article edited (a paragraph naming a tycoon disappears), one headline softened, one
taken down (404), one replaced by a soft-404 notice, one failing with 503 — and
rechecks twice, so that removals are confirmed (design rule 3) and the outage stays an
outage. It prints what Presswatch detected, with diffs, and a search hit that exists
only in the version the edit removed; then rebuilds a vanished outlet from a local web
archive (`presswatch.demo.vanished`). Needs no network; uses its own data dir and
SQLite database whatever the environment says.
"""

from __future__ import annotations

import json
import shlex
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from archive.capture import pair_diff
from archive.content import render_unified
from archive.store import find_article, list_articles, list_changes, versions_of
from presswatch.crawling.context import start_crawl
from presswatch.crawling.indexing import index_outbox
from presswatch.crawling.local import local_archive
from presswatch.crawling.runner import CrawlJob, Phase, discovery_jobs, run_phases
from presswatch.demo import content
from presswatch.demo.outlet import NewsSite
from presswatch.demo.site import Mode
from presswatch.demo.vanished import run_vanished_act
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from presswatch.shell import presswatch_command
from presswatch.sources import load_sources

SOURCE = "mekong-ledger"
TOPIC_KEYWORDS = (
    "trafficking",
    "trafficked",
    "scam compound",
    "scam",
    "forced labour",
    "forced labor",
    "debt bondage",
    "ការជួញដូរមនុស្ស",
    "ជួញដូរ",
    "បោកប្រាស់",
    "ពលករ",
)

# Fast and local: no throttling start delay, quick retries, short timeouts.
DEMO_SCRAPY = {
    "AUTOTHROTTLE_START_DELAY": 0.0,
    "AUTOTHROTTLE_MAX_DELAY": 1.0,
    "PRESSWATCH_RETRY_BACKOFF_S": 0.1,
    "RETRY_TIMES": 1,
    "DOWNLOAD_TIMEOUT": 10,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 4,
}


@dataclass
class DemoResult:
    ok: bool
    data_dir: Path
    settings: Settings
    events: list[dict[str, Any]] = field(default_factory=list)
    search_hit: dict[str, Any] | None = None
    duration_s: float = 0.0
    problems: list[str] = field(default_factory=list)


def write_sources(path: Path, site: NewsSite) -> None:
    base = site.base_url
    keywords = ", ".join(f'"{k}"' for k in TOPIC_KEYWORDS)
    path.write_text(
        "# Written by `presswatch demo` for its local site.\n"
        f"[topics.trafficking]\nkeywords = [{keywords}]\n\n"
        "[[source]]\n"
        f'name = "{SOURCE}"\n'
        f'base_url = "{base}"\n'
        'languages = ["en", "km"]\n'
        f'sitemaps = ["{base}sitemap_index.xml"]\n'
        f'feeds = ["{base}feed/", "{base}atom.xml", "{base}rss1.xml"]\n'
        f'listings = ["{base}", "{base}en/", "{base}km/"]\n'
        f"article_url_pattern = '{NewsSite.ARTICLE_PATTERN}'\n"
        'topic = "trafficking"\n',
        encoding="utf-8",
    )


def mutate(site: NewsSite) -> None:
    """What the outlet does between the first crawl and the first recheck."""
    site.replace(content.EDIT_SLUG, content.edited_task_force(site.article(content.EDIT_SLUG)))
    site.replace(content.HEADLINE_SLUG, content.new_headline(site.article(content.HEADLINE_SLUG)))
    site.set_mode(content.REMOVED_SLUG, Mode.NOT_FOUND)
    site.set_mode(content.SOFT404_SLUG, Mode.SOFT_404)
    site.set_mode(content.FAILING_SLUG, Mode.UNAVAILABLE)


def run_demo(
    *,
    data_dir: Path | None = None,
    out: Callable[[str], None] = print,
    site: NewsSite | None = None,
) -> DemoResult:
    started = time.monotonic()
    root = data_dir or Path(tempfile.mkdtemp(prefix="presswatch-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    site = site or NewsSite()
    site.start()
    try:
        return _run(root, site, out, started)
    finally:
        site.stop()


def _run(root: Path, site: NewsSite, out: Callable[[str], None], started: float) -> DemoResult:
    sources_path = root / "sources.toml"
    write_sources(sources_path, site)
    # local_archive lets the crawler reach 127.0.0.1 only (allow_networks).
    runtime = local_archive(root, sources_path)
    data = runtime.settings.data_dir
    sources = load_sources(sources_path, allow_networks=runtime.settings.allow_networks)
    context = start_crawl(runtime, sources)
    out(f"Presswatch demo: a local news site at {site.base_url}")
    out(f"  archive in {data}\n")

    snapshots: dict[str, dict[str, int]] = {}

    def mark(name: str) -> Callable[[], None]:
        def hook() -> None:
            snapshots[name] = context.counters.snapshot()
            if name == "recheck-1":
                mutate(site)
            if name == "recheck-2":
                # As if a day had passed: the next check is a full fetch, not a
                # conditional one, because ETags lie (presswatch.schedule).
                _age_full_fetches(runtime)

        return hook

    phases = [
        Phase(discovery_jobs([SOURCE], None), before=mark("crawl"), name="crawl"),
        Phase([CrawlJob("recheck", all_articles=True)], before=mark("recheck-1"), name="recheck-1"),
        Phase([CrawlJob("recheck", all_articles=True)], before=mark("recheck-2"), name="recheck-2"),
    ]
    out("1. Crawl: robots.txt, sitemap index, news sitemap, RSS/Atom/RDF feeds, listings.")
    out("   Then the outlet edits an article, softens a headline, takes one down (404),")
    out("   replaces one with a 'page not found' notice and fails on one (503).")
    out("   Recheck 1 uses conditional requests; recheck 2 fetches in full, as happens")
    out("   at least daily, and confirms the removals (one failed check is never enough).")
    report = run_phases(runtime, context, phases, overrides=DEMO_SCRAPY, use_jobdir=False)
    snapshots["end"] = report.counts
    _phase_lines(snapshots, out)

    _drained, index_problem = index_outbox(runtime)
    result = DemoResult(
        ok=report.ok, data_dir=root, settings=runtime.settings, problems=report.problems
    )
    if index_problem:
        result.problems.append(index_problem)
    out("")
    out("2. What Presswatch detected, in order:")
    with runtime.sessions() as session:
        for row in reversed(list_changes(session, kinds=[])):
            ev = row.event
            if ev.kind == "discovered":
                continue
            how = ",".join(ev.how) if ev.how else ""
            title = _title(session, row.article.id)
            result.events.append(
                {"kind": ev.kind, "how": list(ev.how), "url": row.article.fetch_url, "title": title}
            )
            out(f"  {ev.kind:<11} {how:<18} {title}")
        out("")
        out("3. Diffs of the edited articles:")
        for slug in (content.EDIT_SLUG, content.HEADLINE_SLUG):
            article = find_article(session, site.url_of(slug))
            versions = versions_of(session, article.id)
            if len(versions) < 2:
                result.problems.append(f"{slug}: expected two versions, found {len(versions)}")
                continue
            old, new = versions[-2], versions[-1]
            when = "%Y-%m-%d %H:%M:%S"
            labels = (
                f"v{old.n} ({old.first_seen:{when}} UTC)",
                f"v{new.n} ({new.first_seen:{when}} UTC)",
            )
            stored = pair_diff(session, old, new, labels=labels)
            out(f"  {article.fetch_url}")  # as fetched: the key may differ in scheme
            for line in render_unified(stored, context_lines=1).splitlines():
                out(f"    {line}")
    out("")
    with runtime.read_sessions() as session:
        archived = list_articles(session)
    indexed = (
        f"{len(archived)} articles, {sum(a.version_count for a in archived)} versions indexed"
        if index_problem is None
        else "the search index was not updated"
    )
    out(f"4. Search for {content.REMOVED_WORD!r} ({indexed}):")
    result.search_hit = _search_removed(runtime.settings, out)
    if result.search_hit is None:
        result.problems.append("the search found no hit in removed text")
    out("")
    result.problems.extend(run_vanished_act(runtime, sources_path, out))
    result.duration_s = time.monotonic() - started
    not_modified = [r for r in site.log if r.status == 304]
    if not_modified:
        per = sum(r.bytes for r in not_modified) / len(not_modified)
        out("")
        out(
            f"Unchanged articles were rechecked with conditional requests: {len(not_modified)} "
            f"answered 304 Not Modified, {per:.0f} bytes each."
        )
    result.ok = not result.problems
    out("")
    if result.problems:
        for problem in result.problems:
            out(f"problem: {problem}")
    write_settings(root / "presswatch.toml", runtime.settings)
    out(f"Done in {result.duration_s:.1f}s. Explore the archive from its folder, where")
    out("presswatch.toml holds its settings (the local site is allowed, as in the demo):")
    for line in follow_up_lines(root, edited_url=_edited_url(runtime)):
        out(f"  {line}")
    runtime.close()
    return result


def write_settings(path: Path, settings: Settings) -> None:
    """The demo archive's settings, read by `presswatch` run in its folder: without
    them the follow-up commands would look for ./presswatch-data, and refuse the local
    site's loopback address in sources.toml (exit 2)."""
    path.write_text(
        "# Written by `presswatch demo`: the settings of its archive.\n"
        f"data_dir = {json.dumps(str(settings.data_dir.resolve()))}\n"
        f"sources = {json.dumps(str(settings.sources.resolve()))}\n"
        f"allow_networks = {json.dumps(list(settings.allow_networks))}\n",
        encoding="utf-8",
    )


def follow_up_lines(root: Path, *, edited_url: str) -> list[str]:
    """The commands the demo suggests, each runnable as printed (tests/test_demo.py
    runs every one)."""
    command = presswatch_command()
    url = shlex.quote(edited_url)
    today = datetime.now(UTC).date().isoformat()
    return [
        f"cd {shlex.quote(str(root.resolve()))}",
        f"{command} changes",
        f"{command} articles --status removed",
        f"{command} history {url}",
        f"{command} diff {url}",
        f"{command} search {content.REMOVED_WORD}",
        f"{command} report --since {today}",
        f"{command} sources",
    ]


def _edited_url(runtime: Runtime) -> str:
    """The address of the article whose body the outlet edited (its diff shows a
    paragraph removed)."""
    from sqlalchemy import select

    from archive.store import Article

    with runtime.sessions() as session:
        urls = session.scalars(select(Article.fetch_url).where(Article.version_count > 1))
        return next((u for u in urls if content.EDIT_SLUG in u), "")


def _age_full_fetches(runtime: Runtime) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from archive.store import Article

    with runtime.sessions.begin() as session:
        session.execute(
            update(Article).values(last_full_fetch=datetime.now(UTC) - timedelta(days=2))
        )


def _title(session: Any, article_id: int) -> str:
    versions = versions_of(session, article_id)
    return (versions[-1].title or "") if versions else ""


def _phase_lines(snapshots: dict[str, dict[str, int]], out: Callable[[str], None]) -> None:
    order = ["crawl", "recheck-1", "recheck-2", "end"]
    labels = {"crawl": "crawl", "recheck-1": "recheck 1", "recheck-2": "recheck 2"}
    for name, nxt in zip(order, order[1:], strict=False):
        a, b = snapshots.get(name, {}), snapshots.get(nxt, {})

        def d(key: str, a: dict[str, int] = a, b: dict[str, int] = b) -> int:
            return b.get(key, 0) - a.get(key, 0)

        out(
            f"  {labels[name]:<10} {d('fetched'):>3} fetched: {d('discovered')} new, "
            f"{d('outcome.skipped')} off-topic, {d('outcome.not_modified')} not modified, "
            f"{d('outcome.unchanged')} unchanged, {d('edited')} edited, "
            f"{d('outcome.removal_pending')} removal pending, {d('removed')} removed, "
            f"{d('outcome.unreachable')} unreachable"
        )


def _search_removed(settings: Settings, out: Callable[[str], None]) -> dict[str, Any] | None:
    try:
        from search_api.backends import SearchQuery
        from search_api.factory import make_backend
    except ImportError as exc:
        out(f"  (search unavailable: {exc})")
        return None
    backend = make_backend(settings)
    try:
        result = backend.search(SearchQuery(text=content.REMOVED_WORD))
    finally:
        backend.close()
    for hit in result.hits:
        if hit.removed_text:
            out(f"  {hit.title}  (v{hit.version}, status {hit.status})")
            out(f"    {hit.url}")
            out(f"    {_plain(hit.snippet)}")
            out("    removed_text: the match exists only in a version a later edit removed")
            return hit.as_dict()
    out(f"  {len(result.hits)} hit(s), none only in removed text")
    return None


def _plain(snippet: str) -> str:
    import html

    return html.unescape(snippet.replace("<mark>", "[").replace("</mark>", "]"))


def serve_demo(result: DemoResult, *, port: int, out: Callable[[str], None]) -> None:
    """Leave the web app running on the demo's archive (Ctrl-C stops it)."""
    try:
        import uvicorn

        from search_api.app import create_app
    except ImportError as exc:
        out(f"the web app is not available: {exc}")
        return
    base = f"http://127.0.0.1:{port}"
    # Its feed and Memento links are absolute, to where it is served (as `serve` does).
    settings = result.settings.model_copy(update={"public_url": base})
    out(f"Serving the demo archive on {base}/ (Ctrl-C to stop)")
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
