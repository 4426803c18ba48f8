"""Shared services and the crawl's own helper processes failing under a crawl: each
test starts its own `redis-server` on a port of its own, or stops its worker's own
PostgreSQL cluster (a fresh database on it per test), so stopping it never disturbs the
rest of the suite; or it kills one of the crawl's own processes, in the middle of the
work, and checks the one documented outcome (docs/operations.md, "When a service
fails"): the crawl rides it out within a bounded budget, or ends within a bounded time
with one line naming what failed and exit 1; the lock is released, nothing committed is
lost, and the rerun completes without fetching again what was captured."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from archive.log import verify_archive
from archive.store import Article, Capture, ChangeEvent, Version, make_engine
from archive.warc import index_missing
from benchmarks.fault_harness import OwnPostgres, OwnRedis, extraction_workers_of, writer_of
from presswatch.demo.content import bulk_articles
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from tests.conftest import skip_unless_ci
from tests.kill_harness import (
    article_requests,
    articles_captured_once,
    count,
    kill_each_one_found,
    reaped,
    slow_news_site,
    wait_until,
)
from tests.silent_proxy import silent_proxy
from tests.site_server import NewsSite, cli, cli_env, free_port, popen_cli, write_sources

# Real crawls, each waiting out a fault: among the longest tests of the suite.
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    if shutil.which("redis-server") is None:
        skip_unless_ci("no redis-server on PATH (apt-get install redis-server)")
    server = OwnRedis(free_port(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def own_postgres_cluster() -> Iterator[OwnPostgres]:
    """One cluster of this process's own (an xdist worker's), made once: `initdb` takes
    seconds. Its tests may stop it, restart it or leave it stopped: no other process
    uses it, and this one runs one test at a time."""
    bin_dir = OwnPostgres.find_binaries()
    if bin_dir is None:
        skip_unless_ci("no PostgreSQL server binaries under /usr/lib/postgresql")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        skip_unless_ci("running as root without runuser: PostgreSQL refuses to run as root")
    server = OwnPostgres.make(free_port(), bin_dir)
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
def own_postgres(own_postgres_cluster: OwnPostgres) -> Iterator[OwnPostgres]:
    """The test's own PostgreSQL: a fresh database on the worker's own cluster, running
    when the test starts; stopping it stops the cluster, which nothing else is using."""
    if not own_postgres_cluster.running:
        own_postgres_cluster.start()
    server = own_postgres_cluster.fresh_database()
    try:
        yield server
    finally:
        if not own_postgres_cluster.running:
            own_postgres_cluster.start()
        server.drop_database()


def ends_with_one_line(proc: subprocess.Popen[str], service: str, *, guard_s: float = 90) -> str:
    """The crawl's one stderr line once `service` is gone: exit 1 within a bound (its
    outage budget plus in-flight work; `guard_s` is a hang guard, not a timing)."""
    try:
        out, err = proc.communicate(timeout=guard_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"the crawl did not end after {service} stopped:\n{err[-3000:]}")
    assert proc.returncode == 1, (out, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert service in lines[0]
    return lines[0]


def test_a_crawl_whose_redis_disappears_ends_with_one_line_and_the_rerun_completes(
    own_redis: OwnRedis, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    Runtime(Settings(data_dir=data_dir)).init()
    with slow_news_site(40) as site:
        sources = write_sources(tmp_path / "sources.toml", site, listings=[], feeds=[])
        env = cli_env(crawl_concurrency_per_host=1, REDIS_URL=own_redis.url, redis_outage_s=3)
        proc = popen_cli(data_dir, sources, "crawl", "--spider", "sitemap", env=env)
        wait_until(proc, lambda: len(article_requests(site)) >= 8)
        own_redis.stop()
        line = ends_with_one_line(proc, "Redis")
        assert own_redis.url in line
        assert not (data_dir / "presswatch.lock").exists(), "the lock was not released"
        rt = Runtime(Settings(data_dir=data_dir))
        try:
            assert 0 < count(rt, Capture) < 40  # what was committed before is kept
        finally:
            rt.close()

        own_redis.start()
        again = cli(data_dir, sources, "crawl", "--spider", "sitemap", env=env)
        assert again.returncode == 0, again.stderr
        assert again.stderr == ""
    articles_captured_once(data_dir, 40)


def test_a_run_whose_redis_is_away_from_the_start_ends_with_one_line(
    own_redis: OwnRedis, tmp_path: Path
) -> None:
    """Redis gone before the spiders open (a loaded machine starts slowly): the same
    bounded outage and one line naming Redis, not four spiders that "failed: Engine
    slot not assigned" (what `python -m benchmarks faults` met)."""
    data_dir = tmp_path / "data"
    Runtime(Settings(data_dir=data_dir)).init()
    with slow_news_site(5) as site:
        sources = write_sources(tmp_path / "sources.toml", site, listings=[], feeds=[])
        own_redis.stop()
        env = cli_env(REDIS_URL=own_redis.url, redis_outage_s=2)
        proc = popen_cli(data_dir, sources, "run", env=env)
        line = ends_with_one_line(proc, "Redis")
        assert f"Redis frontier at {own_redis.url} unreachable for 2 s" in line
        assert not (data_dir / "presswatch.lock").exists(), "the lock was not released"


def test_run_in_redis_mode_is_quiet(own_redis: OwnRedis, tmp_path: Path) -> None:
    """cron mails whatever `run` writes: a successful run on a Redis frontier writes
    nothing (scrapy-redis's deprecation warnings were on stderr at every run)."""
    data_dir = tmp_path / "data"
    Runtime(Settings(data_dir=data_dir)).init()
    with NewsSite() as site:
        sources = write_sources(tmp_path / "sources.toml", site)
        env = cli_env(REDIS_URL=own_redis.url)
        done = cli(data_dir, sources, "run", env=env)
        assert done.returncode == 0, done.stderr
        assert done.stdout == "" and done.stderr == ""
        again = cli(data_dir, sources, "run", env=env)
        assert again.returncode == 0 and again.stdout == "" and again.stderr == ""


def test_a_run_resuming_a_shared_queue_is_quiet(own_redis: OwnRedis, tmp_path: Path) -> None:
    """A crawl that starts on a queue another machine or a killed run left in Redis
    (every run, on several machines) writes nothing on stderr (scrapy-redis announces
    the resumed queue through Scrapy's deprecated `Spider.log`, a warning cron mailed),
    and the killed run's articles are all archived, once each."""
    data_dir = tmp_path / "data"
    Runtime(Settings(data_dir=data_dir)).init()
    with slow_news_site(30) as site:
        sources = write_sources(tmp_path / "sources.toml", site, listings=[], feeds=[])
        env = cli_env(crawl_concurrency_per_host=1, REDIS_URL=own_redis.url, redis_claim_lease_s=2)
        proc = popen_cli(data_dir, sources, "crawl", "--spider", "sitemap", env=env)
        with reaped(proc):
            wait_until(proc, lambda: len(article_requests(site)) >= 5)
            os.killpg(proc.pid, signal.SIGKILL)  # its queue stays in Redis
            proc.communicate(timeout=30)
        # The requests it had taken from the queue died with it, their claims held: once
        # the claims lapse, the next run fetches those articles (before, never).
        import redis

        client = redis.Redis.from_url(own_redis.url)
        assert any(client.type(k) == b"zset" for k in client.keys("*requests*")), client.keys()
        _until_claims_lapse(client, lease_s=2)
        client.close()
        again = cli(data_dir, sources, "run", env=env)
        assert again.returncode == 0, again.stderr
        # Ours alone: the killed run's lock, named once; nothing of a library's.
        assert again.stdout == ""
        assert [line.split(" from pid")[0] for line in again.stderr.splitlines()] == [
            f"WARNING presswatch.lock: took over a stale lock {data_dir / 'presswatch.lock'}"
        ], again.stderr
    articles_captured_once(data_dir, 30)


def _until_claims_lapse(client: Any, *, lease_s: float) -> None:
    """Until a killed crawl's hold on its articles in the shared Redis has lapsed (the
    lease, by Redis's clock; crawler/middlewares.py): every claim in its dupefilter (a
    hash of fingerprints, each the time it was claimed at) older than `lease_s`, and
    no fetch lock left (each a key expiring after the lease)."""
    deadline = time.monotonic() + lease_s + 30
    while True:
        seconds, micros = client.time()
        held = [
            float(at)
            for key in client.keys("*:fetch-claims")
            if client.type(key) == b"hash"
            for at in client.hvals(key)
        ]
        assert held, "no claims in the shared frontier"
        lapsed = seconds + micros / 1e6 - max(held) >= lease_s
        if lapsed and not client.keys("*:fetching:*"):
            return
        assert time.monotonic() < deadline, "the killed crawl's claims never lapsed"
        time.sleep(0.05)  # polling Redis, not timing the crawl


def test_status_names_a_redis_frontier_that_is_gone(own_redis: OwnRedis, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    Runtime(Settings(data_dir=data_dir)).init()
    sources = tmp_path / "sources.toml"
    sources.write_text("", encoding="utf-8")
    env = cli_env(REDIS_URL=own_redis.url)
    up = cli(data_dir, sources, "status", "--json", env=env)
    assert json.loads(up.stdout)["frontier"] == {
        "backend": "redis",
        "ok": True,
        "detail": f"{own_redis.url} answers",
    }
    own_redis.stop()
    down = cli(data_dir, sources, "status", env=env)
    assert down.returncode == 1
    assert "frontier: redis FAILING" in down.stdout
    assert f"presswatch: crawl frontier: Redis {own_redis.url} unreachable" in down.stderr


def test_status_names_a_postgresql_that_does_not_answer(tmp_path: Path) -> None:
    """`status` with the database unreachable: exit 1, one line on stderr naming the
    database, where it was looked for and what to check; nothing half-printed on stdout."""
    port = free_port()  # nothing listens there
    env = cli_env(DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:{port}/presswatch")
    sources = tmp_path / "sources.toml"
    sources.write_text("", encoding="utf-8")
    done = cli(tmp_path / "data", sources, "status", env=env)
    assert (done.returncode, done.stdout) == (1, "")
    (line,) = done.stderr.splitlines()
    assert line.startswith("presswatch: the archive database failed: ")
    assert f'"127.0.0.1", port {port} failed' in line and "check DATABASE_URL" in line


def test_a_redis_restart_within_the_budget_is_ridden_out(
    own_redis: OwnRedis, tmp_path: Path
) -> None:
    """Redis gone for about a second (restarted empty: its queue lost) under a budget of
    60 s: the crawl goes on and exits 0, and a rerun archives what the lost queue held.
    Nothing is fetched twice."""
    data_dir = tmp_path / "data"
    Runtime(Settings(data_dir=data_dir)).init()
    with slow_news_site(30) as site:
        sources = write_sources(tmp_path / "sources.toml", site, listings=[], feeds=[])
        env = cli_env(crawl_concurrency_per_host=1, REDIS_URL=own_redis.url, redis_outage_s=60)
        proc = popen_cli(data_dir, sources, "crawl", "--spider", "sitemap", env=env)
        wait_until(proc, lambda: len(article_requests(site)) >= 5)
        own_redis.stop()
        time.sleep(1)  # the outage itself
        own_redis.start()
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert err == ""
        log_text = (data_dir / "logs" / "presswatch.log").read_text()
        assert "unreachable" in log_text and "is back after" in log_text, log_text[-2000:]
        again = cli(data_dir, sources, "crawl", "--spider", "sitemap", env=env)
        assert again.returncode == 0, again.stderr
    articles_captured_once(data_dir, 30)


def test_a_flushed_redis_loses_no_article_and_fetches_none_twice(
    own_redis: OwnRedis, tmp_path: Path
) -> None:
    """Someone runs FLUSHALL on the shared Redis mid-crawl (the queue and the duplicate
    filter gone, the connection fine): the crawl ends quietly with what it had, the
    rerun archives the rest, and no article is fetched twice, though the filter that
    kept the first crawl's requests apart is gone (the archive itself knows them)."""
    import redis

    data_dir = tmp_path / "data"
    Runtime(Settings(data_dir=data_dir)).init()
    with slow_news_site(30) as site:
        sources = write_sources(tmp_path / "sources.toml", site, listings=[], feeds=[])
        env = cli_env(crawl_concurrency_per_host=1, REDIS_URL=own_redis.url)
        proc = popen_cli(data_dir, sources, "crawl", "--spider", "sitemap", env=env)
        with reaped(proc):
            wait_until(proc, lambda: len(article_requests(site)) >= 5)
            client = redis.Redis.from_url(own_redis.url)
            client.flushall()
            client.close()
            _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert err == ""
        again = cli(data_dir, sources, "crawl", "--spider", "sitemap", env=env)
        assert again.returncode == 0, again.stderr
        assert again.stderr == ""
    articles_captured_once(data_dir, 30)


# -- the writer and extraction processes -----------------------------------------------


def test_a_writer_process_killed_mid_crawl_is_replaced_and_nothing_is_lost(
    tmp_path: Path,
) -> None:
    """The OOM killer takes the writer process: the group it was recording is recorded
    again by a new writer (once, even if the dead one had committed it), and the crawl
    ends as if nothing happened, with the replacement in the log."""
    if not Path("/proc/self/task").is_dir():
        skip_unless_ci("finding the writer process needs Linux's /proc")
    data_dir = tmp_path / "data"
    Runtime(Settings(data_dir=data_dir)).init()
    with slow_news_site(40) as site:
        sources = write_sources(tmp_path / "sources.toml", site, listings=[], feeds=[])
        env = cli_env(crawl_concurrency_per_host=1)
        proc = popen_cli(data_dir, sources, "crawl", "--spider", "sitemap", env=env)
        with reaped(proc):
            writers: list[int] = []

            def writer_found() -> bool:
                found = writer_of(proc.pid, data_dir / "warc")
                writers[:] = [found] if found is not None else []
                return bool(writers) and len(article_requests(site)) >= 8

            wait_until(proc, writer_found)
            os.kill(writers[0], signal.SIGKILL)
            out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert err == ""
    articles_captured_once(data_dir, 40)
    log_text = (data_dir / "logs" / "presswatch.log").read_text()
    assert "a writer process died; started a new one (1 of 3" in log_text, log_text[-3000:]
    every_warc_file_indexed(data_dir)


def every_warc_file_indexed(data_dir: Path) -> None:
    """Each WARC file has its CDXJ index, the dead writers' last files included (they
    never closed them): nothing is left for `presswatch index-warcs`."""
    settings = Settings(data_dir=data_dir)
    report = index_missing(settings.warc_dir, settings.indexes_dir)
    assert report.fresh, "no WARC file written"
    assert (report.built, report.failed) == ([], {})


def test_a_writer_killed_again_and_again_stops_the_crawl_with_one_line(
    tmp_path: Path,
) -> None:
    """Every writer killed as soon as it works (a memory limit too low for it): past its
    budget of replacements the crawl stops, exit 1, one line naming the writer process;
    what was committed is kept and the rerun completes."""
    if not Path("/proc/self/task").is_dir():
        skip_unless_ci("finding the writer process needs Linux's /proc")
    data_dir = tmp_path / "data"
    Runtime(Settings(data_dir=data_dir)).init()
    with slow_news_site(40) as site:
        sources = write_sources(tmp_path / "sources.toml", site, listings=[], feeds=[])
        env = cli_env(crawl_concurrency_per_host=1)
        proc = popen_cli(data_dir, sources, "crawl", "--spider", "sitemap", env=env)
        warc = data_dir / "warc"
        killed = kill_each_one_found(
            proc, lambda: [w] if (w := writer_of(proc.pid, warc)) is not None else []
        )
        line = ends_with_one_line(proc, "writer process")
        assert line.startswith("presswatch crawl: the writer process was killed 4 times")
        assert killed == 4
        assert not (data_dir / "presswatch.lock").exists(), "the lock was not released"
        every_warc_file_indexed(data_dir)

        again = cli(data_dir, sources, "crawl", "--spider", "sitemap", env=env)
        assert again.returncode == 0, again.stderr
        assert again.stderr == ""
    # Once each, though the rerun restores the stopped crawl's saved queue while its
    # sitemap lists the same articles again.
    articles_captured_once(data_dir, 40)


def test_an_extraction_worker_killed_mid_crawl_is_replaced_and_its_pages_extracted(
    tmp_path: Path,
) -> None:
    """An extraction worker killed: the pool is rebuilt and the pages it broke are
    extracted again by the new workers; every article is captured once, with its text."""
    if not Path("/proc/self/task").is_dir():
        skip_unless_ci("finding the extraction workers needs Linux's /proc")
    data_dir = tmp_path / "data"
    Runtime(Settings(data_dir=data_dir)).init()
    with slow_news_site(40) as site:
        sources = write_sources(tmp_path / "sources.toml", site, listings=[], feeds=[])
        env = cli_env(crawl_concurrency_per_host=1, extract_workers=2)
        proc = popen_cli(data_dir, sources, "crawl", "--spider", "sitemap", env=env)
        with reaped(proc):
            workers: list[int] = []

            def workers_found() -> bool:
                workers[:] = extraction_workers_of(proc.pid, data_dir / "warc")
                return bool(workers) and len(article_requests(site)) >= 8

            wait_until(proc, workers_found)
            os.kill(workers[0], signal.SIGKILL)
            out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert err == ""
    articles_captured_once(data_dir, 40)
    rt = Runtime(Settings(data_dir=data_dir))
    try:
        with rt.sessions() as session:
            texts = list(session.scalars(select(Version.text_chars)))
        assert len(texts) == 40 and all(texts)
    finally:
        rt.close()
    log_text = (data_dir / "logs" / "presswatch.log").read_text()
    assert "an extraction worker died; started a new one (1 of 3" in log_text, log_text[-3000:]
    assert "extraction pool failed" not in log_text


def test_extraction_workers_killed_again_and_again_stop_the_crawl_with_one_line(
    tmp_path: Path,
) -> None:
    if not Path("/proc/self/task").is_dir():
        skip_unless_ci("finding the extraction workers needs Linux's /proc")
    data_dir = tmp_path / "data"
    Runtime(Settings(data_dir=data_dir)).init()
    with slow_news_site(40) as site:
        sources = write_sources(tmp_path / "sources.toml", site, listings=[], feeds=[])
        env = cli_env(crawl_concurrency_per_host=1, extract_workers=1)
        proc = popen_cli(data_dir, sources, "crawl", "--spider", "sitemap", env=env)
        kill_each_one_found(proc, lambda: extraction_workers_of(proc.pid, data_dir / "warc"))
        line = ends_with_one_line(proc, "extraction worker")
        # Killed as soon as they appear, workers also die under the pages they extract
        # alone, which cannot be told from pages that kill them: the restart budget or
        # the cap of such pages ends the crawl, whichever is spent first.
        assert line.startswith(
            (
                "presswatch crawl: extraction workers were killed 4 times",
                "presswatch crawl: more than 5 pages in this crawl each killed the extraction",
            )
        ), line
        assert not (data_dir / "presswatch.lock").exists(), "the lock was not released"
        rt = Runtime(Settings(data_dir=data_dir))
        try:
            assert 0 < count(rt, Article) < 40  # what was committed before the stop is kept
        finally:
            rt.close()

        again = cli(data_dir, sources, "crawl", "--spider", "sitemap", env=env)
        assert again.returncode == 0, again.stderr
        assert again.stderr == ""
    _captured_once_but_failed_pages(data_dir, 40)


def _captured_once_but_failed_pages(data_dir: Path, expected: int) -> None:
    """`expected` articles with their text, `verify` clean, each URL captured once but
    for a page recorded as failed first (its worker killed while it ran alone), which
    the rerun fetched once more."""
    rt = Runtime(Settings(data_dir=data_dir))
    try:
        with rt.sessions() as session:
            texts = list(session.scalars(select(Version.text_chars)))
            captures = session.scalars(select(Capture).order_by(Capture.id)).all()
            assert verify_archive(session, rt.warc).ok
        assert count(rt, Article) == expected and len(texts) == expected and all(texts)
        per_url: dict[str, list[str]] = {}
        for capture in captures:
            per_url.setdefault(capture.requested_url, []).append(
                "failed" if capture.detail.get("page") == "failed" else capture.outcome
            )
        assert all(seen in (["new"], ["failed", "new"]) for seen in per_url.values()), per_url
    finally:
        rt.close()


# A paragraph the test's lxml makes die (`_hostile_lxml`), and one of a page whose
# extraction needs more memory than the test's worker limit.
_KILLER = "Page built to crash the parser (killer-of-extraction-workers)."
_PARA = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor. "


def _hostile_lxml(directory: Path) -> str:
    """A `sitecustomize` for the crawl's processes (put first on their PYTHONPATH): its
    lxml dies, as a parser crash would, on a page holding `_KILLER`. Production code has
    no hook for it. A memory limit cannot make a worker die: a page that needs too much
    fails there with MemoryError (the other hostile page of these tests)."""
    directory.mkdir()
    (directory / "sitecustomize.py").write_text(
        "import os, signal\n"
        "import lxml.html\n"
        "_parse = lxml.html.document_fromstring\n"
        "def _hostile(html, *args, **kwargs):\n"
        f"    if {_KILLER.encode()!r} in (html if isinstance(html, bytes) else html.encode()):\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    return _parse(html, *args, **kwargs)\n"
        "lxml.html.document_fromstring = _hostile\n"
    )
    return os.pathsep.join(filter(None, [str(directory), os.environ.get("PYTHONPATH")]))


def _failed_captures(data_dir: Path, slug: str) -> list[Capture]:
    rt = Runtime(Settings(data_dir=data_dir))
    try:
        with rt.sessions() as session:
            stmt = select(Capture).where(Capture.requested_url.contains(slug))
            return list(session.scalars(stmt.order_by(Capture.id)))
    finally:
        rt.close()


def test_a_page_that_kills_every_extraction_worker_is_recorded_as_failed_and_the_crawl_goes_on(
    tmp_path: Path,
) -> None:
    """An outlet serves one page that kills whichever worker extracts it (a parser
    crash) and one that needs more memory than a worker may take: the first is proven
    by extracting it alone and recorded as a capture whose extraction failed, the second
    fails with MemoryError inside its worker, recorded the same way; every other article
    is captured with its text, `verify` is ok, the crawl exits 0 and so does the rerun,
    which tries each hostile page once more and then leaves it alone."""
    bulk = bulk_articles(12)
    killer, bomb = bulk[3].slug, bulk[8].slug
    bulk[3] = bulk[3].edited(paragraphs=(*bulk[3].paragraphs, _KILLER))
    bulk[8] = bulk[8].edited(paragraphs=(*bulk[8].paragraphs, *[_PARA * 15] * 15_000))
    data_dir = tmp_path / "data"
    Runtime(Settings(data_dir=data_dir)).init()
    with NewsSite(articles=bulk) as site:
        sources = write_sources(tmp_path / "sources.toml", site, listings=[], feeds=[])
        env = cli_env(extract_workers=2, extract_memory_mb=200)
        env["PYTHONPATH"] = _hostile_lxml(tmp_path / "hostile")
        crawls = [cli(data_dir, sources, "crawl", "--spider", "sitemap", env=env)]
        for slug in (killer, bomb):
            [capture] = _failed_captures(data_dir, slug)
            assert capture.outcome == "not_article" and capture.article_id is None
            assert capture.detail["page"] == "failed", capture.detail
            assert capture.warc_file and capture.payload_sha256  # the raw page is kept
        assert "killed its worker" in _failed_captures(data_dir, killer)[0].detail["extract_note"]
        assert "MemoryError" in _failed_captures(data_dir, bomb)[0].detail["extract_note"]

        served = len(article_requests(site))
        crawls.append(cli(data_dir, sources, "crawl", "--spider", "sitemap", env=env))
        again = article_requests(site)[served:]
        assert sorted(r.path.rstrip("/").rsplit("/", 1)[1] for r in again) == sorted(
            [killer, bomb]
        )  # only the two hostile pages, once more
        served = len(article_requests(site))
        crawls.append(cli(data_dir, sources, "crawl", "--spider", "sitemap", env=env))
        assert article_requests(site)[served:] == []  # tried twice: left alone
        verified = cli(data_dir, sources, "verify", "--no-signature", env=env)
    for done in crawls:
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
    assert verified.returncode == 0, verified.stdout + verified.stderr
    for slug in (killer, bomb):
        assert [c.detail["page"] for c in _failed_captures(data_dir, slug)] == ["failed"] * 2
    rt = Runtime(Settings(data_dir=data_dir))
    try:
        with rt.sessions() as session:
            texts = list(session.scalars(select(Version.text_chars)))
            assert verify_archive(session, rt.warc).ok
        assert count(rt, Article) == 10 and len(texts) == 10 and all(texts)
    finally:
        rt.close()
    log_text = (data_dir / "logs" / "presswatch.log").read_text()
    named = [line for line in log_text.splitlines() if "killed the worker that" in line]
    assert len(named) == 2 and all(killer in line for line in named), log_text[-3000:]
    assert "extraction pool failed" not in log_text


def test_an_article_whose_recheck_kills_the_extraction_worker_keeps_its_state(
    tmp_path: Path,
) -> None:
    """An archived article that becomes a page killing whichever worker extracts it:
    the recheck records the capture as failed, never as an edit or a takedown (design
    rule 7); the article stays live with its version, and the next recheck, the page
    readable again, finds it unchanged."""
    bulk = bulk_articles(4)
    hostile = bulk[1]
    data_dir = tmp_path / "data"
    Runtime(Settings(data_dir=data_dir)).init()
    with NewsSite(articles=bulk) as site:
        sources = write_sources(tmp_path / "sources.toml", site, listings=[], feeds=[])
        # Named rather than left to the default: the rechecks below are as many as
        # would confirm a takedown, and each one is a process.
        confirmations = 2
        env = cli_env(extract_workers=2, removal_confirmations=confirmations)
        env["PYTHONPATH"] = _hostile_lxml(tmp_path / "hostile")
        runs = [cli(data_dir, sources, "crawl", "--spider", "sitemap", env=env)]
        site.replace(hostile.slug, hostile.edited(paragraphs=(*hostile.paragraphs, _KILLER)))
        for _ in range(confirmations):  # as many checks as would confirm a takedown
            runs.append(cli(data_dir, sources, "recheck", "--all", env=env))
        site.replace(hostile.slug, hostile)
        runs.append(cli(data_dir, sources, "recheck", "--all", env=env))
    for done in runs:
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
    outcomes = [c.outcome for c in _failed_captures(data_dir, hostile.slug)]
    assert outcomes == ["new", *["not_article"] * confirmations, "unchanged"]
    rt = Runtime(Settings(data_dir=data_dir))
    try:
        with rt.sessions() as session:
            [article] = session.scalars(
                select(Article).where(Article.url.contains(hostile.slug))
            ).all()
            assert article.status == "live" and article.version_count == 1
            kinds = session.scalars(
                select(ChangeEvent.kind).where(ChangeEvent.article_id == article.id)
            ).all()
            assert kinds == ["discovered"]
    finally:
        rt.close()


# -- the WARC directory --------------------------------------------------------------------


@pytest.fixture
def read_only_bind() -> Iterator[Callable[[Path], None]]:
    """`make(path)`: `path` bind-mounted read-only onto itself (chmod does not stop root,
    which runs these tests in CI; a read-only mount stops everyone), unmounted after."""
    mounted: list[Path] = []

    def make(path: Path) -> None:
        for command in (
            ["mount", "--bind", str(path), str(path)],
            ["mount", "-o", "remount,bind,ro", str(path)],
        ):
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                if command[1] == "-o":
                    mounted.append(path)
                skip_unless_ci(f"cannot mount {path} read-only (needs root): {done.stderr}")
            if command[1] == "--bind":
                mounted.append(path)

    yield make
    for path in reversed(mounted):
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


def test_a_read_only_warc_directory_stops_the_crawl_with_one_line(
    tmp_path: Path, read_only_bind: Callable[[Path], None]
) -> None:
    """The WARC directory turns read-only (a mount remounted read-only after disk errors,
    a share exported read-only): the crawl stops with exit 1 and one line naming the
    directory and what to fix, not one failed capture per page; what was captured
    before stays and verifies; once writable, the rerun completes."""
    bulk = bulk_articles(10)  # five before the directory turns read-only, five after
    data_dir = tmp_path / "data"
    Runtime(Settings(data_dir=data_dir)).init()
    with NewsSite(articles=bulk) as site:
        sources = write_sources(tmp_path / "sources.toml", site, listings=[], feeds=[])
        env = cli_env()
        first = cli(data_dir, sources, "crawl", "--spider", "sitemap", "--limit", "5", env=env)
        assert first.returncode == 0, first.stderr
        warc_dir = data_dir / "warc"
        read_only_bind(warc_dir)

        refused = cli(data_dir, sources, "crawl", "--spider", "sitemap", env=env)
        assert refused.returncode == 1, refused.stderr
        lines = [line for line in refused.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, refused.stderr
        assert lines[0].startswith(f"presswatch crawl: cannot write WARC files in {warc_dir}")
        assert "Make the directory writable" in lines[0]
        assert not (data_dir / "presswatch.lock").exists(), "the lock was not released"
        rt = Runtime(Settings(data_dir=data_dir))
        try:
            assert count(rt, Article) == 5
            with rt.sessions() as session:
                assert verify_archive(session, rt.warc).ok
        finally:
            rt.close()

        subprocess.run(["umount", str(warc_dir)], check=True)
        subprocess.run(["umount", str(warc_dir)], capture_output=True, check=False)
        again = cli(data_dir, sources, "crawl", "--spider", "sitemap", env=env)
        assert again.returncode == 0, again.stderr
        assert again.stderr == ""
    articles_captured_once(data_dir, 10)


# -- PostgreSQL ----------------------------------------------------------------------------


def _wait_for_captures(
    proc: subprocess.Popen[str], data_dir: Path, database_url: str, captures: int
) -> None:
    """Until the crawl has committed `captures` captures (read from its database)."""
    watch = Runtime(Settings(data_dir=data_dir, database_url=database_url))
    try:
        wait_until(proc, lambda: count(watch, Capture) >= captures)
    finally:
        watch.close()


def test_a_crawl_whose_postgresql_disappears_ends_with_one_line_and_the_rerun_completes(
    own_postgres: OwnPostgres, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    Runtime(Settings(data_dir=data_dir, database_url=own_postgres.url)).init()
    with slow_news_site(40) as site:
        sources = write_sources(tmp_path / "sources.toml", site, listings=[], feeds=[])
        env = cli_env(crawl_concurrency_per_host=1, DATABASE_URL=own_postgres.url,
                      database_outage_s=3)  # fmt: skip
        proc = popen_cli(data_dir, sources, "crawl", "--spider", "sitemap", env=env)
        _wait_for_captures(proc, data_dir, own_postgres.url, 5)
        own_postgres.stop()
        line = ends_with_one_line(proc, "PostgreSQL")
        assert f"127.0.0.1:{own_postgres.port}" in line
        assert not (data_dir / "presswatch.lock").exists(), "the lock was not released"

        own_postgres.start()
        rt = Runtime(Settings(data_dir=data_dir, database_url=own_postgres.url))
        try:
            assert 0 < count(rt, Article) < 40  # what was committed before is kept
        finally:
            rt.close()
        again = cli(data_dir, sources, "crawl", "--spider", "sitemap", env=env)
        assert again.returncode == 0, again.stderr
        assert again.stderr == ""
    articles_captured_once(data_dir, 40, own_postgres.url)


def test_on_a_redis_frontier_a_crawl_stopped_by_postgresql_loses_nothing(
    own_postgres: OwnPostgres, own_redis: OwnRedis, tmp_path: Path
) -> None:
    """Several machines' setup (PostgreSQL and a Redis that keeps its data): PostgreSQL
    gone mid-crawl stops the crawl with its one line; the requests it had taken from
    the shared queue and not recorded give their claims back, so the rerun, as soon as
    PostgreSQL answers, archives every article once (34 of 100 were left for the
    claims' lease in `python -m benchmarks faults` before)."""
    data_dir = tmp_path / "data"
    Runtime(Settings(data_dir=data_dir, database_url=own_postgres.url)).init()
    with slow_news_site(40) as site:
        sources = write_sources(tmp_path / "sources.toml", site, listings=[], feeds=[])
        env = cli_env(crawl_concurrency_per_host=2, DATABASE_URL=own_postgres.url,
                      database_outage_s=3, REDIS_URL=own_redis.url)  # fmt: skip
        proc = popen_cli(data_dir, sources, "crawl", "--spider", "sitemap", env=env)
        _wait_for_captures(proc, data_dir, own_postgres.url, 5)
        own_postgres.stop()
        line = ends_with_one_line(proc, "PostgreSQL")
        assert "did not answer for 3 s" in line
        own_postgres.start()
        again = cli(data_dir, sources, "crawl", "--spider", "sitemap", env=env)
        assert again.returncode == 0, again.stderr
        assert again.stderr == ""
    articles_captured_once(data_dir, 40, own_postgres.url)


def test_a_postgresql_restart_within_the_budget_is_ridden_out(
    own_postgres: OwnPostgres, tmp_path: Path
) -> None:
    """PostgreSQL gone for about a second (crashed and restarted) under a budget of 60 s:
    the group being recorded is held and recorded once it answers; exit 0, nothing on
    stderr, every article captured once."""
    data_dir = tmp_path / "data"
    Runtime(Settings(data_dir=data_dir, database_url=own_postgres.url)).init()
    with slow_news_site(30) as site:
        sources = write_sources(tmp_path / "sources.toml", site, listings=[], feeds=[])
        env = cli_env(crawl_concurrency_per_host=1, DATABASE_URL=own_postgres.url,
                      database_outage_s=60)  # fmt: skip
        proc = popen_cli(data_dir, sources, "crawl", "--spider", "sitemap", env=env)
        _wait_for_captures(proc, data_dir, own_postgres.url, 5)
        own_postgres.stop()
        time.sleep(1)  # the outage itself
        own_postgres.start()
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert err == ""
    log_text = (data_dir / "logs" / "presswatch.log").read_text()
    assert "does not answer" in log_text, log_text[-2000:]
    articles_captured_once(data_dir, 30, own_postgres.url)


def test_a_crawl_started_while_postgresql_restarts_waits_for_it(
    own_postgres: OwnPostgres, tmp_path: Path
) -> None:
    """Cron starts the crawl just as PostgreSQL restarts: the first query waits within
    the outage budget instead of failing the run (what `python -m benchmarks faults`
    met on a loaded machine); past the budget, the crawl's one line naming it."""
    data_dir = tmp_path / "data"
    Runtime(Settings(data_dir=data_dir, database_url=own_postgres.url)).init()
    with slow_news_site(3) as site:
        sources = write_sources(tmp_path / "sources.toml", site, listings=[], feeds=[])
        env = cli_env(DATABASE_URL=own_postgres.url, database_outage_s=60)
        own_postgres.stop()
        proc = popen_cli(data_dir, sources, "crawl", "--spider", "sitemap", env=env)
        log_file = data_dir / "logs" / "presswatch.log"
        wait_until(proc, lambda: log_file.exists() and "starting once" in log_file.read_text())
        own_postgres.start()
        _, err = proc.communicate(timeout=120)
        assert (proc.returncode, err) == (0, "")
        articles_captured_once(data_dir, 3, own_postgres.url)
        own_postgres.stop()
        gone = popen_cli(
            data_dir, sources, "crawl", "--spider", "sitemap",
            env={**env, "PRESSWATCH_DATABASE_OUTAGE_S": "2"},
        )  # fmt: skip
        line = ends_with_one_line(gone, "PostgreSQL")
        assert "did not answer for 2 s" in line and "database_outage_s" in line


def test_a_crawl_whose_postgresql_goes_silent_ends_with_one_line_and_the_rerun_completes(
    own_postgres: OwnPostgres, tmp_path: Path
) -> None:
    """The crawl's PostgreSQL goes silent mid-crawl behind a proxy that keeps every
    connection open and forwards nothing (a half-open connection: no reset, and the
    kernel still ACKs, so keepalives cannot tell): the statement in flight is cut after
    `database_stall_s` plus the server's failed answer, the group is held for
    `database_outage_s`, then exit 1 and one line naming PostgreSQL, lock released.
    Once it answers again, the rerun completes and each article is captured once."""
    data_dir = tmp_path / "data"
    Runtime(Settings(data_dir=data_dir, database_url=own_postgres.url)).init()
    with slow_news_site(40) as site, silent_proxy(own_postgres.port) as proxy:
        url = own_postgres.url.replace(f":{own_postgres.port}/", f":{proxy.port}/")
        sources = write_sources(tmp_path / "sources.toml", site, listings=[], feeds=[])
        env = cli_env(crawl_concurrency_per_host=1, DATABASE_URL=url, database_stall_s=2,
                      database_outage_s=3, database_connect_timeout_s=2)  # fmt: skip
        proc = popen_cli(data_dir, sources, "crawl", "--spider", "sitemap", env=env)
        _wait_for_captures(proc, data_dir, own_postgres.url, 5)
        proxy.go_silent()
        # The writer: stall 2 s + the question 2 s, the pool's reconnect 2 s, the outage
        # budget's rounds of 2 s connects (5 s); the crawl's end: its own stalled
        # connection and a connect, 6 s. Mostly waits on the clock (docs/operations.md);
        # the guard leaves room for a loaded machine.
        line = ends_with_one_line(proc, "PostgreSQL", guard_s=180)
        assert line.startswith(f"presswatch crawl: PostgreSQL at {url} did not answer"), line
        assert not (data_dir / "presswatch.lock").exists(), "the lock was not released"
        rt = Runtime(Settings(data_dir=data_dir, database_url=own_postgres.url))
        try:
            assert 0 < count(rt, Article) < 40  # what was committed before is kept
        finally:
            rt.close()

        proxy.answer()
        again = cli(data_dir, sources, "crawl", "--spider", "sitemap", env=env)
        assert again.returncode == 0, again.stderr
        assert again.stderr == ""
    articles_captured_once(data_dir, 40, own_postgres.url)


def test_status_through_a_silent_postgresql_ends_within_the_bound_naming_it(
    own_postgres: OwnPostgres, tmp_path: Path
) -> None:
    """`status` whose connection is made and whose first statement never reaches the
    server (it went silent after the handshake): exit 1 within `database_stall_s` plus
    the server's failed answer, one line naming the database; nothing on stdout."""
    data_dir = tmp_path / "data"
    Runtime(Settings(data_dir=data_dir, database_url=own_postgres.url)).init()
    sources = tmp_path / "sources.toml"
    sources.write_text("", encoding="utf-8")
    with silent_proxy(own_postgres.port) as proxy:
        url = own_postgres.url.replace(f":{own_postgres.port}/", f":{proxy.port}/")
        proxy.go_silent(after_startup=True)
        started = time.monotonic()
        done = cli(data_dir, sources, "status", env=cli_env(DATABASE_URL=url, database_stall_s=2))
        took_s = time.monotonic() - started
    assert (done.returncode, done.stdout) == (1, ""), done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("presswatch: the archive database failed: "), line
    assert f"check DATABASE_URL (PostgreSQL at {url})" in line
    assert took_s < 20, took_s  # 2 s stall, 2 s asking the server, the command's start


def test_a_long_statement_the_server_is_running_is_never_cut(pg_url: str) -> None:
    """A statement that runs for longer than `database_stall_s` (a migration's index
    build, `verify`): the server says it is running it, so it is left to finish."""
    engine = make_engine(pg_url, stall_s=1)
    try:
        started = time.monotonic()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT pg_sleep(3), 7")).one()[1] == 7
        assert time.monotonic() - started >= 3
    finally:
        engine.dispose()


def test_a_streamed_read_whose_server_goes_silent_fails_within_the_bound(pg_url: str) -> None:
    """A read in batches (`verify` streams captures through a server-side cursor) whose
    server goes silent between two batches: the fetch fails as a lost connection within
    `database_stall_s` plus the question asked of the server, not never."""
    port = make_url(pg_url).port or 5432
    with silent_proxy(port) as proxy:
        engine = make_engine(pg_url.replace(f":{port}/", f":{proxy.port}/"), stall_s=1)
        try:
            with engine.connect() as conn:
                rows = conn.execution_options(yield_per=10).execute(
                    text("SELECT generate_series(1, 1000)")
                )
                assert len(rows.fetchmany(10)) == 10
                proxy.go_silent()
                started = time.monotonic()
                with pytest.raises(OperationalError) as failed:
                    rows.fetchall()
                took_s = time.monotonic() - started
            assert failed.value.connection_invalidated
            assert took_s < 10, took_s  # 1 s stall, 2 s asking the server
        finally:
            engine.dispose()
