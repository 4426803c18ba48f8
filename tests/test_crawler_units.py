"""Pieces of the crawler that need no reactor: the sitemap parser, failure names, the
fingerprinter, the pipeline's failure accounting, what discovery skips, and the crontab
block."""

from __future__ import annotations

import asyncio
import gzip
from datetime import UTC, datetime
from typing import Any

import pytest
from scrapy import Request
from twisted.internet import error as tx
from twisted.python.failure import Failure

from archive.content.normalize import parse_iso_utc
from crawler.failures import failure_kind
from crawler.middlewares import PresswatchFingerprinter, RobotsUnavailable
from crawler.sitemaps import parse_sitemap
from crawler.spiders.base import error_kind

NEWS = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"
        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url>
    <loc>https://news.example/a/</loc>
    <lastmod>2026-03-01T09:00:00+07:00</lastmod>
    <image:image><image:loc>https://news.example/a.jpg</image:loc></image:image>
    <news:news>
      <news:publication><news:name>N</news:name><news:language>km</news:language></news:publication>
      <news:publication_date>2026-03-01</news:publication_date>
      <news:title>Title &amp; more</news:title>
    </news:news>
  </url>
  <url><loc> https://news.example/b/ </loc></url>
  <url><lastmod>2026-01-01</lastmod></url>
</urlset>"""


def test_news_sitemap_keeps_lastmod_and_news_fields() -> None:
    sitemap = parse_sitemap(NEWS)
    assert sitemap.kind == "urlset"
    first, second = sitemap.entries
    assert first.loc == "https://news.example/a/"
    assert first.lastmod == datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    assert first.publication_date == datetime(2026, 3, 1, tzinfo=UTC)
    assert (first.news_title, first.news_language) == ("Title & more", "km")
    assert first.hints()["news_publication_date"] == "2026-03-01T00:00:00+00:00"
    assert second.loc == "https://news.example/b/" and second.lastmod is None


def test_index_and_gzip_and_text() -> None:
    index = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <sitemap><loc>https://n.example/s1.xml</loc><lastmod>2026-02-01</lastmod></sitemap>
    </sitemapindex>"""
    parsed = parse_sitemap(gzip.compress(index))
    assert parsed.kind == "index" and parsed.entries[0].loc == "https://n.example/s1.xml"
    text = parse_sitemap(b"https://n.example/a\nnot a url\nhttps://n.example/b\n")
    assert [e.loc for e in text.entries] == ["https://n.example/a", "https://n.example/b"]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html><body>not a sitemap</body></html>",
        b"\x1f\x8b garbage",
        # An entity bomb or an external entity must not be expanded or fetched.
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&e;</loc></url></urlset>',
    ],
)
def test_hostile_or_broken_sitemaps(body: bytes) -> None:
    parsed = parse_sitemap(body)
    assert all("root:" not in e.loc for e in parsed.entries)
    assert parsed.kind in ("unknown", "urlset")


def test_gzip_bomb_is_capped() -> None:
    bomb = gzip.compress(b"<urlset>" + b" " * 5_000_000 + b"</urlset>")
    assert parse_sitemap(bomb, max_bytes=1_000_000).note.startswith("bad gzip or larger")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01", datetime(2026, 3, 1, tzinfo=UTC)),
        ("2026-03-01T08:00Z", datetime(2026, 3, 1, 8, tzinfo=UTC)),
        ("March 1", None),
        ("", None),
    ],
)
def test_w3c_dates(text: str, expected: datetime | None) -> None:
    assert parse_iso_utc(text) == expected


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (tx.DNSLookupError("no such host"), "dns"),
        (tx.TimeoutError(), "timeout"),
        (tx.TCPTimedOutError(), "timeout"),
        (tx.ConnectionRefusedError(), "connection_refused"),
        (tx.ConnectionLost(), "connection_lost"),
        (ValueError("odd"), "valueerror"),
    ],
)
def test_failure_kinds(exc: Exception, kind: str) -> None:
    assert failure_kind(exc) == kind
    assert error_kind(Failure(exc)) == kind


def test_robots_unavailable_names_the_host_state() -> None:
    assert error_kind(Failure(RobotsUnavailable("refused", "connection_refused"))) == (
        "connection_refused"
    )
    assert error_kind(Failure(RobotsUnavailable("HTTP 503"))) == "robots_unavailable"


def test_fingerprint_names_a_due_check() -> None:
    fp = PresswatchFingerprinter()
    a = Request("https://n.example/a", meta={"pw_fingerprint": "recheck:1:t1:h"})
    b = Request("https://n.example/a", meta={"pw_fingerprint": "recheck:1:t2:h"})
    plain = Request("https://n.example/a")
    assert fp.fingerprint(a) != fp.fingerprint(b) != fp.fingerprint(plain)
    assert fp.fingerprint(plain) == fp.fingerprint(Request("https://n.example/a"))


def _context(runtime: Any, record_options: Any = None) -> Any:
    """A crawl context over the one source `s` (https://s.example/), extracting in
    process; `record_options` defaults to the archive's."""
    from crawler.context import CrawlContext, SourceSpec

    return CrawlContext(
        sessions=runtime.sessions,
        warc=runtime.warc,
        sources={"s": SourceSpec("s", "https://s.example/")},
        record_options=record_options or (lambda name: runtime.record_options()),
        plan_next_check=lambda article, published, at: at,
        conditional_for=lambda article, at: {},
        user_agent="Presswatch/test",
        max_body_bytes=1_000_000,
        extract_workers=0,
    )


def test_a_failing_capture_is_counted_and_the_next_one_recorded(runtime: Any) -> None:
    """The pipeline without a reactor: asyncio drives its coroutine directly."""
    import asyncio
    from types import SimpleNamespace

    from sqlalchemy import func, select

    from archive.capture import Exchange
    from archive.store import SourceOptions
    from archive.store.models import Capture
    from archive.store.queries import upsert_source
    from crawler.items import FetchItem
    from crawler.pipelines import ArchivePipeline

    now = datetime(2026, 3, 1, 8, tzinfo=UTC)
    with runtime.sessions.begin() as session:
        upsert_source(
            session,
            name="s",
            base_url="https://s.example/",
            languages=[],
            config=SourceOptions(),
            now=now,
        )

    def options(name: str | None) -> Any:
        if name == "broken":
            raise RuntimeError("boom")
        return runtime.record_options()

    ctx = _context(runtime, options)
    pipeline = ArchivePipeline(SimpleNamespace(stats=None), ctx)  # type: ignore[arg-type]

    def item(source: str, path: str) -> FetchItem:
        exchange = Exchange(
            requested_url=f"https://s.example/{path}",
            final_url=f"https://s.example/{path}",
            fetched_at=now,
            status=404,
            source="s",
        )
        return FetchItem(exchange=exchange, source=source, kind="discover")

    async def feed() -> None:
        await pipeline.process_item(item("broken", "a"))
        await pipeline.process_item(item("s", "b"))

    try:
        asyncio.run(feed())
    finally:
        ctx.close()
    assert ctx.counters.get("problems") == 1
    assert "capture of https://s.example/a failed: RuntimeError: boom" in ctx.counters.problems
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Capture)) == 1


def test_discovery_skips_what_the_archive_has_and_retries_failed_fetches(runtime: Any) -> None:
    """A restarted crawl must not fetch again what the killed one recorded (articles
    under every URL they are known by, pages that were not articles), yet must try again
    the fetches that failed or were blocked."""
    from archive.capture import Exchange, RedirectHop, record_capture
    from archive.store import SourceOptions
    from archive.store.queries import upsert_source

    now = datetime(2026, 3, 1, 8, tzinfo=UTC)
    base = "https://s.example/"
    with runtime.sessions.begin() as session:
        upsert_source(
            session, name="s", base_url=base, languages=[], config=SourceOptions(), now=now
        )
    paragraphs = "".join(
        f"<p>Paragraph {i} of a story written for this test about a labour inspection "
        f"that found {i} workers held in a compound against their will.</p>"
        for i in range(8)
    )
    page = f"<html><head><title>Story</title></head><body><article><h1>Story</h1>{paragraphs}"
    html = (("Content-Type", "text/html; charset=utf-8"),)
    fetches = [
        Exchange(  # an article, reached through a redirect: known under both URLs
            requested_url=base + "old-story/",
            final_url=base + "story/",
            fetched_at=now,
            status=200,
            headers=html,
            body=page.encode("utf-8"),
            redirects=(RedirectHop(base + "old-story/", 301, base + "story/"),),
        ),
        Exchange(base + "gone/", base + "gone/", now, 404, html, b"<html>Not found</html>"),
        Exchange(base + "slow/", base + "slow/", now, None, error="timeout"),
        Exchange(base + "walled/", base + "walled/", now, 403, html, b"<html>Denied</html>"),
    ]
    for exchange in fetches:
        with runtime.sessions.begin() as session:
            record_capture(session, exchange, warc=runtime.warc, options=runtime.record_options())

    ctx = _context(runtime)
    try:
        known = ctx.known_urls("s")
        assert len(known) == 3
        for path in ("old-story/", "story/", "gone/"):
            assert base + path in known
        # failed or blocked fetches: discovery may try them again
        assert base + "slow/" not in known and base + "walled/" not in known
        assert len(ctx.known_urls("not-a-source")) == 0
    finally:
        ctx.close()


def test_a_request_made_by_another_run_is_fetched_once_and_never_dropped(runtime: Any) -> None:
    """A request restored from a stopped run's queue, or made by another machine on a
    shared frontier, carries that run's claim. Locally (a restored JOBDIR queue) it is
    dropped when this run listed the article itself, which would fetch it twice; on a
    shared frontier the shared dupefilter let only one of the two requests in, so
    dropping it lost the article (two processes: 39 of 40 captured)."""
    from scrapy.exceptions import IgnoreRequest

    from archive.store import SourceOptions
    from archive.store.queries import upsert_source
    from crawler.middlewares import ResumedClaimMiddleware

    base = "https://s.example/"
    with runtime.sessions.begin() as session:
        upsert_source(
            session,
            name="s",
            base_url=base,
            languages=[],
            config=SourceOptions(),
            now=datetime.now(UTC),
        )
    ctx = _context(runtime)

    def peer_request(path: str) -> Request:
        meta = {"pw_claim": [base + path, "another-run"], "pw_source": "s"}
        return Request(base + path, meta=meta)

    try:
        local = ResumedClaimMiddleware(ctx)
        shared = ResumedClaimMiddleware(ctx, shared_frontier=True)
        assert ctx.claim(base + "listed-here/")  # this run listed it too
        with pytest.raises(IgnoreRequest):
            local.process_request(peer_request("listed-here/"))
        request = peer_request("listed-here/")
        shared.process_request(request)  # not dropped
        assert request.meta["pw_claim"] == [base + "listed-here/", ctx.run_token]
        fresh = peer_request("not-listed-here/")
        local.process_request(fresh)
        assert fresh.meta["pw_claim"][1] == ctx.run_token
    finally:
        ctx.close()


def test_on_a_shared_frontier_an_article_recorded_meanwhile_is_not_fetched_again(
    runtime: Any,
) -> None:
    """Another machine records the article after this process read what it knows, or
    Redis came back empty and both machines queued it: the request, even this run's
    own, is dropped because the archive has the article now (read afresh)."""
    from scrapy.exceptions import IgnoreRequest

    from crawler.middlewares import ResumedClaimMiddleware
    from tests import archive_helpers as h

    ctx = _context(runtime)
    try:
        shared = ResumedClaimMiddleware(ctx, shared_frontier=True)
        page = h.own_page(h.EN_RAID, url="https://s.example/news/recorded-meanwhile/")
        url = page.url
        assert url not in ctx.known_urls("s")  # read before the other machine recorded it
        at = datetime.now(UTC)
        assert h.record(runtime, h.exchange(url, page.html, at=at)).article_id is not None
        own = Request(url, meta={"pw_claim": [url, ctx.run_token], "pw_source": "s"})
        with pytest.raises(IgnoreRequest):
            shared.process_request(own)
        other = "https://s.example/news/not-yet/"
        fresh = Request(other, meta={"pw_claim": [other, ctx.run_token], "pw_source": "s"})
        shared.process_request(fresh)  # not recorded: fetched
    finally:
        ctx.close()


def _locking(ctx: Any, server: Any, prefix: str, *, grace_s: float = 0.2) -> Any:
    from crawler.fetch_locks import FetchLocks
    from crawler.middlewares import ResumedClaimMiddleware

    locks = FetchLocks(server, prefix=prefix, run_token=ctx.run_token, lease_s=60, grace_s=grace_s)
    return ResumedClaimMiddleware(ctx, shared_frontier=True, locks=locks)


def _article_request(ctx: Any, url: str) -> Request:
    return Request(url, meta={"pw_claim": [url, ctx.run_token], "pw_source": "s"})


def _settle(result: Any) -> None:
    """Run what a middleware handed back to wait on (a coroutine), as the engine would."""
    if result is not None:
        asyncio.run(result)


def test_on_a_shared_frontier_two_crawls_never_fetch_one_article_at_once(
    runtime: Any, redis_prefix: str
) -> None:
    """Redis came back empty and two machines queued one article again: the first to
    reach its fetch locks the article in Redis, the other drops its request; the lock
    holder's own retry passes, a second request of its own does not."""
    import redis
    from scrapy.exceptions import IgnoreRequest

    from tests.conftest import REDIS_URL

    server = redis.Redis.from_url(REDIS_URL)
    ours, theirs = _context(runtime), _context(runtime)
    try:
        url = "https://s.example/news/queued-twice/"
        mine, other = _locking(ours, server, redis_prefix), _locking(theirs, server, redis_prefix)
        first = _article_request(ours, url)
        assert mine.process_request(first) is None
        with pytest.raises(IgnoreRequest, match="being fetched by another request"):
            other.process_request(_article_request(theirs, url))
        assert mine.process_request(first.copy()) is None  # its retry (the meta is copied)
        with pytest.raises(IgnoreRequest, match="being fetched by another request"):
            mine.process_request(_article_request(ours, url))  # listed by both machines
        assert 0 < server.ttl(f"{redis_prefix}:fetching:{url}") <= 60
        mine.release()  # its crawl ended (stopped: the article was not recorded)
        assert other.process_request(_article_request(theirs, url)) is None  # at once
    finally:
        ours.close()
        theirs.close()
        server.close()


def test_on_a_flushed_frontier_the_fetches_under_way_keep_their_articles(
    runtime: Any, redis_prefix: str
) -> None:
    """FLUSHALL mid-crawl takes every fetch lock with it while the fetches go on, and
    the archive does not know those articles until their captures commit: the other
    crawl waits, the holder notices (its periodic check) and publishes its locks again,
    and the other crawl's request for the same article is then dropped; an article
    nobody holds is fetched after the wait."""
    import redis
    from scrapy.exceptions import IgnoreRequest

    from tests.conftest import REDIS_URL

    server = redis.Redis.from_url(REDIS_URL)
    ours, theirs = _context(runtime), _context(runtime)
    try:
        url, free = "https://s.example/news/under-way/", "https://s.example/news/free/"
        mine, other = _locking(ours, server, redis_prefix), _locking(theirs, server, redis_prefix)
        assert mine.process_request(_article_request(ours, url)) is None
        assert other.process_request(_article_request(theirs, "https://s.example/x/")) is None
        lost = list(server.scan_iter(f"{redis_prefix}:*"))
        assert len(lost) == 3  # the epoch and two locks: what FLUSHALL takes
        server.delete(*lost)

        waiting = other.process_request(_article_request(theirs, url))
        assert waiting is not None  # it noticed: it waits for the other crawls' locks
        mine.locks.check()  # the holder's periodic check, within the wait
        with pytest.raises(IgnoreRequest, match="being fetched by another request"):
            _settle(waiting)
        assert server.get(f"{redis_prefix}:fetching:https://s.example/x/") is not None
        _settle(other.process_request(_article_request(theirs, free)))  # nobody's: fetched
    finally:
        ours.close()
        theirs.close()
        server.close()


# -- the writer process's results -------------------------------------------------------


class _Unpicklable(Exception):
    def __reduce__(self) -> Any:
        raise TypeError("cannot pickle this")


def test_a_failed_fetch_crosses_back_from_the_writer_process_even_unpicklable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import pickle

    from archive.capture import Exchange
    from archive.errors import BadInput
    from crawler.recording import CaptureTask, _portable

    task = CaptureTask(
        Exchange("http://example.org/a", "http://example.org/a", datetime.now(UTC), 200),
        "ledger",
    )
    plain = BadInput("no such source")
    assert _portable(task, plain) is plain
    odd = _portable(task, _Unpicklable("database said no"))
    assert isinstance(odd, RuntimeError)
    assert str(odd) == "_Unpicklable: database said no"
    pickle.dumps(odd)
    # Each failure's traceback stays in the crawl's log, written by the writer process.
    assert [r.message for r in caplog.records].count("recording http://example.org/a failed") == 2


def test_a_plain_scrapy_crawl_gets_the_crawlers_settings_and_presswatchs_context(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`scrapy crawl sitemap` from the project directory (docs/operations.md): scrapy.cfg
    names presswatch's settings module, which adds the context factory the crawler
    cannot name itself."""
    from pathlib import Path

    from scrapy.utils.misc import load_object
    from scrapy.utils.project import get_project_settings

    from presswatch.crawling.context import context_from_scrapy_settings

    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    monkeypatch.delenv("SCRAPY_SETTINGS_MODULE", raising=False)
    monkeypatch.delenv("SCRAPY_PROJECT", raising=False)
    settings = get_project_settings()
    assert load_object(settings["PRESSWATCH_CONTEXT_FACTORY"]) is context_from_scrapy_settings
    assert settings.getlist("SPIDER_MODULES") == ["crawler.spiders"]
    assert "crawler.middlewares.RobotsPolicyMiddleware" in settings.getdict(
        "DOWNLOADER_MIDDLEWARES"
    )


def test_a_crawl_read_of_an_archive_that_is_gone_rides_out_then_names_it(
    runtime: Any,
) -> None:
    """What discovery knows and what is due are read from the archive by the crawl
    itself: a database that does not answer is asked again for `database_outage_s`,
    then the crawl is stopped with the recorder's one line naming the database (it
    used to end as "interrupted", naming nothing, exit 1)."""
    import time
    from dataclasses import replace

    from sqlalchemy.orm import sessionmaker

    from archive.store import make_engine
    from crawler.recording import DatabaseGone
    from tests.site_server import free_port

    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gone"  # nothing listens
    engine = make_engine(url)
    stopped: list[str] = []
    ctx = replace(
        _context(runtime),
        sessions=sessionmaker(bind=engine),
        database_outage_s=1.5,
        stop_crawl=stopped.append,
    )
    started = time.monotonic()
    with pytest.raises(DatabaseGone):
        ctx.known_urls("s")
    assert time.monotonic() - started >= 1.5  # asked again through the budget
    (line,) = stopped
    assert line.startswith("PostgreSQL at postgresql+psycopg://postgres@127.0.0.1:")
    assert "did not answer for 2 s" in line and "database_outage_s" in line
    engine.dispose()
