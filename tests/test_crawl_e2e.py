"""End to end: the real `presswatch` command and Scrapy engine against a local news site.

Each crawl runs in a subprocess (Twisted's reactor cannot restart inside pytest); the
site runs in this process, so every assertion about what the crawler sent is made on
the server's own request log. No sleeps for timing: the only waits are on the server
and the subprocesses.
"""

from __future__ import annotations

import json
import os
import signal
import socket
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from archive.log import verify_archive
from archive.store.models import Article, Capture, ChangeEvent, Version
from presswatch.demo import content
from presswatch.demo.content import DEMO_ARTICLES, bulk_articles
from presswatch.lock import RunLock
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from tests.conftest import REDIS_URL
from tests.kill_harness import (
    article_requests,
    articles_captured_once,
    count,
    reaped,
    slow_news_site,
    wait_until,
)
from tests.site_server import Mode, NewsSite, cli, cli_env, popen_cli, write_sources

pytestmark = pytest.mark.e2e

OFF_TOPIC = "mekong-water-levels-rise-early-this-year"


@pytest.fixture
def site() -> Iterator[NewsSite]:
    with NewsSite(articles=DEMO_ARTICLES) as running:
        yield running


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    Runtime(Settings(data_dir=data)).init()
    return data


def runtime_of(data_dir: Path) -> Runtime:
    return Runtime(Settings(data_dir=data_dir))


def run_json(data_dir: Path, sources: Path, *args: str, **env: Any) -> dict[str, Any]:
    result = cli(data_dir, sources, *args, "--json", env=cli_env(**env))
    assert result.returncode == 0, result.stderr + result.stdout
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def latest_capture(rt: Runtime, url: str) -> Capture:
    with rt.sessions() as session:
        capture = session.scalars(
            select(Capture).where(Capture.requested_url == url).order_by(Capture.id.desc())
        ).first()
        assert capture is not None, url
        return capture


# -- discovery ---------------------------------------------------------------------------


@pytest.mark.parametrize("spider", ["sitemap", "feed", "listing"])
def test_discovery_by_each_spider(
    spider: str, site: NewsSite, data_dir: Path, tmp_path: Path
) -> None:
    sources = write_sources(tmp_path / "sources.toml", site)
    doc = run_json(data_dir, sources, "crawl", "--spider", spider)
    assert doc["ok"], doc
    assert doc["discovered"] == 8
    assert doc["outcomes"] == {"new": 8, "skipped": 1}  # the river story is off-topic

    rt = runtime_of(data_dir)
    with rt.sessions() as session:
        articles = list(session.scalars(select(Article)))
        assert len(articles) == 8
        assert not any(OFF_TOPIC in a.url for a in articles)
        assert all(a.next_check is not None and a.etag for a in articles)
        hints = {a.url.rsplit("/", 2)[-2]: a.hints for a in articles}
    recent = hints["police-free-212-workers-from-sihanoukville-scam-compound"]
    if spider == "sitemap":
        assert "sitemap_lastmod" in recent and "news_publication_date" in recent
        assert recent["news_language"] == "en"
    elif spider == "feed":
        assert "feed_published" in recent

    # Every article fetched once, the robots.txt trap never, our User-Agent on all.
    counts = Counter(r.path for r in article_requests(site))
    assert len(counts) == 9 and set(counts.values()) == {1}
    assert not [r for r in site.log if r.path.startswith("/trap/")]
    agents = {r.user_agent for r in site.log}
    assert len(agents) == 1
    (agent,) = agents
    assert agent is not None and agent.startswith("Presswatch/")
    assert "(+https://github.com/presswatch/presswatch)" in agent

    # A second crawl finds nothing new and fetches no article again.
    site.clear_log()
    again = run_json(data_dir, sources, "crawl", "--spider", spider)
    assert again["fetched"] == 0 and not article_requests(site)


def test_limit_per_source(site: NewsSite, data_dir: Path, tmp_path: Path) -> None:
    sources = write_sources(tmp_path / "sources.toml", site)
    doc = run_json(data_dir, sources, "crawl", "--spider", "sitemap", "--limit", "3")
    assert doc["fetched"] == 3


def test_crawl_delay_is_honoured(data_dir: Path, tmp_path: Path) -> None:
    with NewsSite(articles=DEMO_ARTICLES[:4], crawl_delay_s=0.4) as site:
        sources = write_sources(tmp_path / "sources.toml", site, listings=[], feeds=[])
        run_json(data_dir, sources, "crawl", crawl_concurrency_per_host=4)
        starts = sorted(r.at for r in site.log if r.path != "/robots.txt")
    assert len(starts) >= 7  # index, 2 sitemaps, 4 articles
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    # Arrival times are taken by server threads, which a loaded machine schedules late
    # now and then; the span cannot be faked by that jitter, single gaps can: one late
    # arrival lengthens its gap and shortens the next (CI saw 1.79 s then 0.14 s), so
    # two gaps together are held to the delay, not each alone.
    assert starts[-1] - starts[0] >= 0.4 * len(gaps) * 0.97, gaps
    assert sorted(gaps)[len(gaps) // 2] >= 0.38, gaps
    assert min(a + b for a, b in zip(gaps, gaps[1:], strict=False)) >= 0.75, gaps


# -- rechecks ----------------------------------------------------------------------------


def test_every_kind_of_response_is_recorded(data_dir: Path, tmp_path: Path) -> None:
    bulk = bulk_articles(6)
    with NewsSite(articles=(*DEMO_ARTICLES, *bulk), huge_bytes=400_000) as site:
        sources = write_sources(tmp_path / "sources.toml", site, listings=[], feeds=[])
        env = {"max_body_bytes": 150_000, "download_timeout_s": 1}
        first = run_json(data_dir, sources, "crawl", **env)
        assert first["discovered"] == 14

        b = [a.slug for a in bulk]
        site.replace(content.EDIT_SLUG, content.edited_task_force(site.article(content.EDIT_SLUG)))
        modes = {
            content.REMOVED_SLUG: Mode.NOT_FOUND,
            b[0]: Mode.GONE,
            b[1]: Mode.REDIRECT_HOME,
            content.SOFT404_SLUG: Mode.SOFT_404,
            content.FAILING_SLUG: Mode.UNAVAILABLE,
            "police-rescue-120-workers-from-preah-sihanouk-scam-site": Mode.LOOP,
            "government-forms-special-committee-against-human-trafficking": Mode.HUGE,
            "court-jails-three-recruiters-who-lured-teenagers-with-fake-jobs": Mode.BINARY,
        }
        for slug, mode in modes.items():
            site.set_mode(slug, mode)
        site.set_mode(b[2], Mode.REDIRECT_ARTICLE, target=b[3])
        # Well past the 1 s timeout: a reactor delayed by a loaded machine still times out.
        site.set_mode(b[4], Mode.SLOW, delay_s=6)

        rt = runtime_of(data_dir)
        closed = _closed_port()
        refused_url = f"http://127.0.0.1:{closed}/en/2026/01/gone-server/"
        with rt.sessions.begin() as session:
            article = session.scalars(select(Article).where(Article.url.like(f"%{b[5]}%"))).one()
            article.fetch_url = refused_url
        site.clear_log()
        doc = run_json(data_dir, sources, "recheck", "--all", **env)
        assert doc["due"] == 14 and doc["ok"], doc

        def cap(slug: str) -> Capture:
            return latest_capture(rt, site.url_of(slug))

        # 200 edited, and 304 for an unchanged article asked with its validators.
        assert cap(content.EDIT_SLUG).outcome == "edited"
        unchanged = cap(content.HEADLINE_SLUG)
        assert (unchanged.status, unchanged.outcome) == (304, "not_modified")
        sent = site.requests_to(site.path_of(content.HEADLINE_SLUG))[-1]
        assert sent.if_none_match and sent.if_modified_since and sent.body_bytes == 0

        assert (cap(content.REMOVED_SLUG).status, cap(content.REMOVED_SLUG).outcome) == (
            404,
            "removal_pending",
        )
        assert (cap(b[0]).status, cap(b[0]).outcome) == (410, "removal_pending")
        home = cap(b[1])
        assert home.redirects == [
            {"url": site.url_of(b[1]), "status": 301, "location": site.base_url}
        ]
        assert home.final_url == site.base_url and home.outcome == "removal_pending"
        moved = cap(b[2])
        assert moved.final_url == site.url_of(b[3]) and len(moved.redirects) == 1
        # b[3] is archived on its own: b[2] sent there is a removal sign, not a move.
        assert moved.outcome == "removal_pending" and "archived article" in moved.detail["note"]
        assert cap(content.SOFT404_SLUG).outcome == "removal_pending"
        assert cap(content.SOFT404_SLUG).detail.get("note") == "not-found notice"

        failing = cap(content.FAILING_SLUG)
        assert (failing.status, failing.outcome) == (503, "unreachable")
        assert len(site.requests_to(site.path_of(content.FAILING_SLUG))) == 2  # one retry

        slow = cap(b[4])
        assert (slow.status, slow.error, slow.outcome) == (None, "timeout", "unreachable")
        loop = cap("police-rescue-120-workers-from-preah-sihanouk-scam-site")
        assert loop.error == "redirect_loop" and len(loop.redirects) == 2
        huge = cap("government-forms-special-committee-against-human-trafficking")
        assert (huge.status, huge.error) == (200, "too_large")
        assert "larger than 150000 bytes" in huge.detail["error_detail"]
        binary = cap("court-jails-three-recruiters-who-lured-teenagers-with-fake-jobs")
        assert (binary.status, binary.outcome) == (200, "not_article")
        assert binary.headers["content-type"] == "application/pdf" and binary.warc_file

        refused = latest_capture(rt, refused_url)
        assert (refused.status, refused.error) == (None, "connection_refused")

        with rt.sessions() as session:
            # Every fetch is in the log and every payload in the WARC.
            assert verify_archive(session, rt.warc).ok
            kinds = Counter(session.scalars(select(ChangeEvent.kind)))
        # 503, timeout, loop and oversize are outages, never removals (design rule 3);
        # the edit is one; a redirect into another archived article waits for confirmation.
        assert kinds["unreachable"] == 4 and kinds["removed"] == 0 and kinds["moved"] == 0
        assert kinds["edited"] >= 1


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_etags_lie_so_a_full_fetch_happens_daily(
    site: NewsSite, data_dir: Path, tmp_path: Path
) -> None:
    sources = write_sources(tmp_path / "sources.toml", site, listings=[], feeds=[])
    run_json(data_dir, sources, "crawl")
    # The CMS edits the article but keeps serving the old ETag (and 304s on it).
    site.replace(
        content.EDIT_SLUG,
        content.edited_task_force(site.article(content.EDIT_SLUG)),
        keep_etag=True,
    )
    fooled = run_json(data_dir, sources, "recheck", "--all")
    assert fooled["edited"] == 0 and fooled["outcomes"] == {"not_modified": 8}

    rt = runtime_of(data_dir)
    with rt.sessions.begin() as session:
        session.execute(
            update(Article).values(last_full_fetch=datetime.now(UTC) - timedelta(days=1, hours=1))
        )
    site.clear_log()
    full = run_json(data_dir, sources, "recheck", "--all")
    assert full["edited"] == 1
    assert all(r.if_none_match is None for r in article_requests(site))


def test_recheck_fetches_only_due_articles(site: NewsSite, data_dir: Path, tmp_path: Path) -> None:
    sources = write_sources(tmp_path / "sources.toml", site, listings=[], feeds=[])
    run_json(data_dir, sources, "crawl")
    rt = runtime_of(data_dir)
    now = datetime.now(UTC)
    with rt.sessions.begin() as session:
        session.execute(update(Article).values(next_check=now + timedelta(hours=1)))
        due = session.scalars(select(Article).order_by(Article.id)).first()
        assert due is not None
        due.next_check = now - timedelta(minutes=1)
        due_id = due.id
    site.clear_log()
    doc = run_json(data_dir, sources, "recheck")
    assert doc["due"] == 1 and doc["fetched"] == 1
    assert len(article_requests(site)) == 1
    with rt.sessions() as session:
        article = session.get(Article, due_id)
        assert article is not None and article.next_check is not None
        assert article.next_check > now  # rescheduled by age


# -- operations --------------------------------------------------------------------------


def test_resume_after_sigkill_without_duplicates(data_dir: Path, tmp_path: Path) -> None:
    with slow_news_site(40, delay_s=0.08) as site:
        sources = write_sources(tmp_path / "sources.toml", site, listings=[], feeds=[])
        env = cli_env(crawl_concurrency_per_host=1)
        proc = popen_cli(data_dir, sources, "crawl", "--spider", "sitemap", env=env)
        with reaped(proc):
            wait_until(proc, lambda: len(article_requests(site)) >= 12)
            # Fetched is not yet committed: captures are written in groups, and on a
            # loaded machine the first group may still be open after 12 fetches.
            rt = runtime_of(data_dir)
            wait_until(proc, lambda: count(rt, Article) > 0)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=30)
        before = count(rt, Article)
        assert 0 < before < 40

        result = cli(data_dir, sources, "crawl", "--spider", "sitemap", env=env)
        assert result.returncode == 0, result.stderr
        fetched = Counter(r.path for r in article_requests(site))

    articles_captured_once(data_dir, 40)
    with rt.sessions() as session:
        per_article = Counter(session.scalars(select(Version.article_id)))
        assert set(per_article.values()) == {1}
    # What the killed run recorded was not fetched again (at most the in-flight ones).
    assert sum(n > 1 for n in fetched.values()) <= 2
    log_text = (data_dir / "logs" / "presswatch.log").read_text()
    assert "died without stopping cleanly" in log_text


def test_redis_frontier(site: NewsSite, data_dir: Path, tmp_path: Path, redis_prefix: str) -> None:
    import redis

    sources = write_sources(tmp_path / "sources.toml", site, listings=[], feeds=[])
    env = {"REDIS_URL": REDIS_URL, "scrapy": {"PRESSWATCH_REDIS_PREFIX": redis_prefix}}
    client = redis.Redis.from_url(REDIS_URL)
    try:
        doc = run_json(data_dir, sources, "crawl", **env)
        assert doc["discovered"] == 8
        seen = client.hkeys(f"{redis_prefix}:fetch-claims")
        assert len(seen) == 9  # the shared filter has claimed every article URL
        assert not (data_dir / "jobs").exists() or not any((data_dir / "jobs").iterdir())

        again = run_json(data_dir, sources, "recheck", "--all", **env)
        assert again["fetched"] == 8
        assert client.hlen(f"{redis_prefix}:fetch-claims") == 9 + 8  # and each due check
    finally:
        client.close()


def test_one_frontier_fetches_an_article_once_whichever_spider_lists_it(
    site: NewsSite, tmp_path: Path, redis_prefix: str
) -> None:
    """Machine A's sitemap spider and machine B's feed spider list the same articles:
    sharing a Redis frontier, B fetches none that A already queued. (Two archives here,
    so B's own archive cannot be what skips them.)"""
    sources = write_sources(tmp_path / "sources.toml", site, listings=[])
    env = {"REDIS_URL": REDIS_URL, "scrapy": {"PRESSWATCH_REDIS_PREFIX": redis_prefix}}
    for name in ("a", "b"):
        Runtime(Settings(data_dir=tmp_path / name)).init()
    first = run_json(tmp_path / "a", sources, "crawl", "--spider", "sitemap", **env)
    assert first["discovered"] == 8
    site.clear_log()
    other = run_json(tmp_path / "b", sources, "crawl", "--spider", "feed", **env)
    assert other["discovered"] == 0
    assert article_requests(site) == []


def test_run_is_quiet_locked_and_loud_on_failure(
    site: NewsSite, data_dir: Path, tmp_path: Path
) -> None:
    sources = write_sources(tmp_path / "sources.toml", site)
    result = cli(data_dir, sources, "run")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    log_text = (data_dir / "logs" / "presswatch.log").read_text()
    assert "presswatch.runs: run: 9 fetched, 8 new" in log_text

    lock = RunLock(data_dir / "presswatch.lock")
    lock.acquire()
    try:
        held = cli(data_dir, sources, "run")
    finally:
        lock.release()
    assert held.returncode == 0 and held.stdout == ""
    assert held.stderr.count("\n") == 1 and "another run holds" in held.stderr

    broken = write_sources(
        tmp_path / "broken.toml",
        site,
        feeds=[f"{site.base_url}no-such-feed.xml"],
        listings=[],
    )
    failed = cli(data_dir, broken, "run")
    assert failed.returncode == 1 and failed.stdout == ""
    assert "presswatch run:" in failed.stderr
    assert "no-such-feed.xml: HTTP 404" in failed.stderr

    doc = run_json(data_dir, sources, "run")
    assert "indexed" in doc and doc["ok"]
