"""`python -m benchmarks run`: every benchmark figure, measured in one run on this machine.

Owns the order of the run and the measuring; the parts it drives live elsewhere:

1. the site (presswatch.demo.site with benchmarks/site.py's content) starts in its own
   process with `--size` articles made from ../shared/fixtures, or in a bare clone
   from our own demo articles (`--content`; the results say which);
2. the extraction limit: trafilatura alone, then our full extraction
   (`archive.content.extract.extract_page`), on the same page bytes with `--workers` processes;
3. news-please (benchmarks/peer.py) crawls a sample of the same articles;
4. Presswatch crawls the site through the real crawler, in this process
   (`presswatch.crawling.runner.run_phases`, the code `presswatch crawl` and `recheck` run):
   the first crawl (sitemap + feed discovery, fetch, WARC, extract, detect, store; then
   the search outbox is drained: end to end), an unchanged recheck with conditional
   requests, one with the site's validators switched off (the full-fetch path), then
   quality.py mutates 10% of the articles and two rechecks follow (removals need the
   second); news-please rechecks its sample while the mutations are live;
5. search (the search index the crawl filled, a rebuild of it for throughput, the
   query set of benchmarks/search_bench.py, unique-word and Khmer recall), then
   search_bench's synthetic archive at `--search-versions` (100,000 by default);
6. report.py writes benchmarks/results/<date>-<size>.json and .md and prints the table.

Twisted's reactor cannot be restarted, so every crawler phase runs in one
`run_phases` call; the measuring and the site's mutations happen in the phases'
`before` hooks, while no spider is running. Nothing here asserts a time: the test
suite runs `--size 50` only to keep the command working.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "benchmarks" / "work"
RESULTS = REPO / "benchmarks" / "results"
SOURCE = "bench"

# Scrapy settings of the benchmark crawl. Politeness delays measure the site's patience,
# not the archiver: AutoThrottle is off, and per-host concurrency is `--concurrency`
# (the same for news-please). One quick retry keeps a 503 burst a 503.
BENCH_SCRAPY: dict[str, Any] = {
    "AUTOTHROTTLE_ENABLED": False,
    "RETRY_TIMES": 1,
    "PRESSWATCH_RETRY_BACKOFF_S": 0.05,
    "DOWNLOAD_TIMEOUT": 30,
    "LOG_LEVEL": "WARNING",
    "LOGSTATS_INTERVAL": 3600,
}


@dataclass
class RunOptions:
    size: int = 2000
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    concurrency: int = 8
    skip_peer: bool = False
    peer_sample: int = 300
    search_versions: int = 100_000
    out: Path = RESULTS
    work: Path = WORK
    seed: int = 20261124
    content: str = "auto"  # the site's templates: fixtures, demo, or fixtures when present


# -- the extraction limit ---------------------------------------------------------------


def _warm() -> int:
    import trafilatura  # noqa: F401

    from archive.content import extract_page  # noqa: F401 - loads trafilatura

    # Long enough that each worker takes one: timing starts with every worker warm.
    time.sleep(0.3)
    return os.getpid()


def _trafilatura_only(job: tuple[str, bytes]) -> tuple[int, float]:
    import trafilatura

    from archive.content import TRAFILATURA_OPTIONS

    url, body = job
    # With its metadata, as trafilatura extracts what we deliver (text, title, author,
    # date); our own text pass leaves it off (see archive.content.trafilatura_options).
    options = {**TRAFILATURA_OPTIONS.as_kwargs(), "with_metadata": True}
    cpu = time.process_time()
    document = trafilatura.bare_extraction(body, url=url, **options)
    return len(getattr(document, "text", None) or ""), time.process_time() - cpu


def _extract_page(job: tuple[str, bytes]) -> tuple[int, float]:
    from archive.content import extract_page

    url, body = job
    cpu = time.process_time()
    text = extract_page(body, url=url, content_type="text/html; charset=utf-8").text
    return len(text), time.process_time() - cpu


def extraction_rate(
    pages: list[tuple[str, bytes]],
    workers: int,
    fn: Callable[[tuple[str, bytes]], tuple[int, float]],
) -> dict[str, Any]:
    """Pages/s of `fn` over every page with `workers` processes, pool start excluded.
    The bodies cross to the workers by pickling, as they do in the crawler's pool."""
    import multiprocessing

    context = multiprocessing.get_context("forkserver")
    # The crawler's pool (crawler.context.make_extract_pool) preloads these in the same
    # fork server; the first pool of the process decides, so both get the same.
    context.set_forkserver_preload(["archive.capture", "trafilatura", "crawler.context"])
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        warmed = {f.result() for f in [pool.submit(_warm) for _ in range(workers * 2)]}
        if len(warmed) < workers:
            _say(f"only {len(warmed)} of {workers} extraction workers warmed up")
        started = time.perf_counter()
        done = list(pool.map(fn, pages, chunksize=4))
        seconds = time.perf_counter() - started
    cpu_s = sum(c for _, c in done)
    return {
        "pages": len(pages),
        "workers": workers,
        "seconds": round(seconds, 2),
        "pages_per_s": round(len(pages) / seconds, 1),
        # CPU time is what other jobs on the machine cannot inflate much; wall time is.
        "cpu_ms_per_page": round(cpu_s * 1000 / len(pages), 2),
        "text_chars": sum(n for n, _ in done),
    }


# -- storage ----------------------------------------------------------------------------


def _checkpoint(path: Path) -> None:
    """Fold the WAL into the database file so file sizes say what is stored."""
    if not path.exists():
        return
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.OperationalError:
        pass  # busy: the sizes then include the WAL, which is still on disk
    finally:
        connection.close()


def _size(*paths: Path) -> int:
    total = 0
    for path in paths:
        if path.is_dir():
            total += sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        elif path.exists():
            total += path.stat().st_size
    return total


def storage_of(settings: Any) -> dict[str, int]:
    db = Path(settings.data_dir) / "presswatch.db"
    index = Path(settings.search_index_path)
    _checkpoint(db)
    _checkpoint(index)
    sizes = {
        "db": _size(db, db.with_name(db.name + "-wal")),
        "warc": _size(Path(settings.warc_dir)),
        "index": _size(index, index.with_name(index.name + "-wal")),
    }
    sizes["total"] = sum(sizes.values())
    return sizes


# -- the run ----------------------------------------------------------------------------


def _code_version() -> dict[str, Any]:
    """The commit measured, and whether the work tree differed from it."""
    import subprocess

    def git(*args: str) -> str:
        try:
            done = subprocess.run(
                ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}


def _say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def write_sources(path: Path, base_url: str) -> None:
    from benchmarks.site import ARTICLE_PATTERN

    path.write_text(
        "# Written by `python -m benchmarks run` for its local site.\n"
        "[[source]]\n"
        f'name = "{SOURCE}"\n'
        f'base_url = "{base_url}"\n'
        'languages = ["en", "de", "km"]\n'
        f'sitemaps = ["{base_url}sitemap_index.xml"]\n'
        f'feeds = ["{base_url}feed/"]\n'
        f"article_url_pattern = '{ARTICLE_PATTERN}'\n",
        encoding="utf-8",
    )


def peer_sample(articles: list[dict[str, Any]], plan: list[Any], size: int) -> list[dict[str, Any]]:
    """Every k-th article, plus up to three of each mutation kind."""
    step = max(1, -(-len(articles) // size))
    chosen = set(range(0, len(articles), step))
    per_kind: dict[str, int] = {}
    for mutation in plan:
        if per_kind.get(mutation.kind, 0) < 3:
            per_kind[mutation.kind] = per_kind.get(mutation.kind, 0) + 1
            chosen.add(mutation.index)
    return [articles[i] for i in sorted(chosen)]


def _proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Timeline:
    """Phase boundaries: time, CPU, the site's counters, the crawl counters, last event."""

    def __init__(self, site: Any, context: Any, sessions: Any) -> None:
        self.site = site
        self.context = context
        self.counters = context.counters
        self.sessions = sessions
        self.marks: dict[str, dict[str, Any]] = {}
        self.worker_cpu: dict[int, float] = {}
        self.writer_cpu: dict[int, float] = {}

    def _workers_cpu_s(self) -> float:
        # The crawl's extraction pool (crawler.context) runs in fork-server children that
        # this process cannot account with getrusage; read their CPU from /proc. Workers
        # that have exited keep the last figure read.
        pool = getattr(self.context, "_extract_pool", None)
        for pid in pool.pids() if pool is not None else ():
            self.worker_cpu[pid] = max(self.worker_cpu.get(pid, 0.0), _proc_cpu_s(pid))
        return sum(self.worker_cpu.values())

    def _writer_cpu_s(self) -> float:
        # The writer process (crawler.recording.RecorderProcess), when the crawl has one.
        pid = getattr(getattr(self.context, "_recorder", None), "pid", None)
        if pid is not None:
            self.writer_cpu[pid] = max(self.writer_cpu.get(pid, 0.0), _proc_cpu_s(pid))
        return sum(self.writer_cpu.values())

    def mark(self, name: str) -> None:
        from benchmarks.quality import last_event_id

        with self.sessions() as session:
            event_id = last_event_id(session)
        self.marks[name] = {
            "t": time.perf_counter(),
            "cpu_main": time.process_time(),
            "cpu_workers": self._workers_cpu_s(),
            "cpu_writer": self._writer_cpu_s(),
            "site": self.site.stats(),
            "counters": self.counters.snapshot(),
            "event_id": event_id,
        }

    def span(self, start: str, end: str) -> dict[str, Any]:
        from benchmarks.site import traffic

        a, b = self.marks[start], self.marks[end]
        outcomes = {
            k.removeprefix("outcome."): v - a["counters"].get(k, 0)
            for k, v in b["counters"].items()
            if k.startswith("outcome.") and v - a["counters"].get(k, 0)
        }
        return {
            "seconds": round(b["t"] - a["t"], 2),
            "cpu_main_s": round(b["cpu_main"] - a["cpu_main"], 2),
            "cpu_workers_s": round(b["cpu_workers"] - a["cpu_workers"], 2),
            "cpu_writer_s": round(b["cpu_writer"] - a["cpu_writer"], 2),
            "articles": traffic(a["site"], b["site"], "article"),
            "discovery": traffic(a["site"], b["site"], "discovery"),
            "outcomes": outcomes,
            "fetched": b["counters"].get("fetched", 0) - a["counters"].get("fetched", 0),
        }


def run(options: RunOptions) -> dict[str, Any]:
    from benchmarks import quality
    from benchmarks.site import BenchSite

    started = time.perf_counter()
    work = options.work / f"run-{options.size}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    results: dict[str, Any] = {
        "command": "python -m benchmarks run " + " ".join(sys.argv[2:]),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "size": options.size,
        "workers": options.workers,
        "concurrency": options.concurrency,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "platform": platform.platform(),
            # Other work on the machine skews every figure; the load says if there was any.
            "load_before": [round(x, 2) for x in os.getloadavg()],
        },
        "code": _code_version(),
    }
    _say(f"starting the site with {options.size} articles")
    with BenchSite(options.size, options.seed, options.content) as site:
        manifest = site.manifest()
        articles = manifest["articles"]
        _say(f"site content: {manifest['content_note']}")
        _say("fetching the page bytes for the extraction limit")
        pages = [(a["url"], site.page(a["index"])) for a in articles]
        raw_sizes = [len(body) for _, body in pages]
        results["site"] = {
            "content": manifest["content"],
            "content_note": manifest["content_note"],
            "articles": len(articles),
            "templates": len(manifest["templates"]),
            "khmer_articles": sum(1 for a in articles if a["lang"] == "km"),
            "raw_html_bytes_mean": round(statistics.fmean(raw_sizes)),
            "raw_html_bytes_median": round(statistics.median(raw_sizes)),
        }
        _say("extraction limit: trafilatura alone")
        limit = extraction_rate(pages, options.workers, _trafilatura_only)
        _say(f"  {limit['pages_per_s']} pages/s; now our extract_page")
        full = extraction_rate(pages, options.workers, _extract_page)
        results["extraction"] = {"trafilatura_only": limit, "extract_page": full}
        del pages

        plan = quality.plan_mutations(articles, seed=options.seed)
        peer = None
        sample: list[dict[str, Any]] = []
        results["peer"] = {"skipped": options.skip_peer}
        if not options.skip_peer:
            peer, sample = _peer_first(options, site, articles, plan, results)

        crawl, runtime = _crawl(options, site, work, articles, plan, peer, sample, results)
        results.update(crawl)
        results["search"] = _search(options, work, manifest, runtime)
    results["machine"]["load_after"] = [round(x, 2) for x in os.getloadavg()]
    results["wall_s"] = round(time.perf_counter() - started, 1)
    return results


def _peer_first(
    options: RunOptions,
    site: Any,
    articles: list[dict[str, Any]],
    plan: list[Any],
    results: dict[str, Any],
) -> tuple[Any, list[dict[str, Any]]]:
    from benchmarks.peer import CONFIG_CHANGES, PEER_PACKAGE, NewsPlease, PeerError

    peer = NewsPlease(options.work, options.concurrency)
    sample = peer_sample(articles, plan, options.peer_sample)
    doc: dict[str, Any] = {"package": PEER_PACKAGE, "skipped": False, "sample": len(sample)}
    results["peer"] = doc
    try:
        _say(f"news-please: installing {PEER_PACKAGE} in {peer.venv} (once)")
        doc["install_s"] = round(peer.ensure_installed(), 1)
        doc["version"] = peer.version
        shutil.rmtree(peer.data_dir, ignore_errors=True)
        peer.configure()
        doc["config_changes"] = [{"key": k, "value": v, "why": w} for k, v, w in CONFIG_CHANGES]
        _say(f"news-please: first crawl of {len(sample)} articles")
        doc["first"] = peer.crawl("first", [a["url"] for a in sample], site)
    except PeerError as exc:
        doc["error"] = str(exc)
        _say(f"news-please failed: {exc}")
        return None, sample
    return peer, sample


def _crawl(
    options: RunOptions,
    site: Any,
    work: Path,
    articles: list[dict[str, Any]],
    plan: list[Any],
    peer: Any,
    sample: list[dict[str, Any]],
    results: dict[str, Any],
) -> tuple[dict[str, Any], Any]:
    from archive.content import normalize_url
    from benchmarks import quality
    from presswatch.crawling.context import start_crawl
    from presswatch.crawling.indexing import index_outbox
    from presswatch.crawling.local import local_archive
    from presswatch.crawling.runner import CrawlJob, Phase, run_phases
    from presswatch.sources import load_sources

    sources_path = work / "sources.toml"
    write_sources(sources_path, site.base_url)
    runtime = local_archive(
        work,
        sources_path,
        extract_workers=options.workers,
        crawl_concurrency_per_host=options.concurrency,
    )
    context = start_crawl(runtime, load_sources(sources_path))
    timeline = Timeline(site, context, runtime.sessions)
    out: dict[str, Any] = {"index": {}, "storage": {}}
    hook_failures: list[Exception] = []
    peer_doc = results.get("peer", {})

    def drain(label: str) -> None:
        t = time.perf_counter()
        indexed, problem = index_outbox(runtime)
        out["index"][label] = {
            "outbox_rows": indexed,
            "seconds": round(time.perf_counter() - t, 2),
            "problem": problem,
        }

    def boundary(
        finished: str | None, starting: str | None, work_fn: Callable[[], None]
    ) -> Callable[[], None]:
        def hook() -> None:
            try:
                measure()
            except Exception as exc:
                # run_phases logs a failed hook and stops; keep it to raise afterwards.
                hook_failures.append(exc)
                raise

        def measure() -> None:
            if finished is not None:
                timeline.mark(f"{finished}:crawled")
                drain(finished)
                timeline.mark(f"{finished}:end")
                out["storage"][finished] = storage_of(runtime.settings)
            work_fn()
            if starting is not None:
                _say(f"presswatch: {starting}")
                timeline.mark(f"{starting}:start")

        return hook

    def nothing() -> None:
        return None

    def validators_off() -> None:
        site.set_validators(False)

    def mutate_first() -> None:
        site.set_validators(True)
        quality.apply_first(site, plan)

    def mutate_second() -> None:
        if peer is not None:
            from benchmarks.peer import PeerError

            _say("news-please: recheck of its sample while the mutations are live")
            try:
                peer_doc["recheck"] = peer.crawl("recheck", [a["url"] for a in sample], site)
            except PeerError as exc:
                peer_doc["recheck_error"] = str(exc)
        quality.apply_second(site, plan)

    recheck = [CrawlJob("recheck", (SOURCE,), None, True)]
    phases = [
        Phase(
            [CrawlJob("sitemap", (SOURCE,)), CrawlJob("feed", (SOURCE,))],
            before=boundary(None, "first_crawl", nothing),
            name="first_crawl",
        ),
        Phase(
            recheck,
            before=boundary("first_crawl", "recheck_conditional", nothing),
            name="recheck_conditional",
        ),
        Phase(
            recheck,
            before=boundary("recheck_conditional", "recheck_full", validators_off),
            name="recheck_full",
        ),
        Phase(
            recheck, before=boundary("recheck_full", "quality_1", mutate_first), name="quality_1"
        ),
        Phase(recheck, before=boundary("quality_1", "quality_2", mutate_second), name="quality_2"),
        Phase([], before=boundary("quality_2", None, nothing), name="end"),
    ]
    overrides = {
        **BENCH_SCRAPY,
        "CONCURRENT_REQUESTS": max(16, options.concurrency),
        "CONCURRENT_REQUESTS_PER_DOMAIN": options.concurrency,
    }
    report = run_phases(runtime, context, phases, overrides=overrides, use_jobdir=False)
    if hook_failures:
        raise RuntimeError("a benchmark step between crawl phases failed") from hook_failures[0]
    if report.interrupted:
        raise RuntimeError("the crawl was interrupted; no figures written")
    out["crawl_problems"] = report.problems[:50]
    out["phases"] = {
        name: {
            **timeline.span(f"{name}:start", f"{name}:crawled"),
            "index_s": out["index"][name]["seconds"],
            "cpu_with_index": {
                k: v
                for k, v in timeline.span(f"{name}:start", f"{name}:end").items()
                if k.startswith("cpu_")
            },
        }
        for name in ("first_crawl", "recheck_conditional", "recheck_full", "quality_1", "quality_2")
    }

    with runtime.sessions() as session:
        from sqlalchemy import func, select

        from archive.store import Capture, Version

        out["counts"] = {
            "versions": session.scalar(select(func.count()).select_from(Version)),
            "captures": session.scalar(select(func.count()).select_from(Capture)),
        }
        marks = timeline.marks
        unchanged = quality.events_between(
            session,
            marks["recheck_conditional:start"]["event_id"],
            marks["recheck_full:end"]["event_id"],
        )
        first_check = quality.events_between(
            session, marks["quality_1:start"]["event_id"], marks["quality_1:end"]["event_id"]
        )
        second_check = quality.events_between(
            session, marks["quality_2:start"]["event_id"], marks["quality_2:end"]["event_id"]
        )
        discovered = quality.events_between(
            session, marks["first_crawl:start"]["event_id"], marks["first_crawl:end"]["event_id"]
        )
    all_urls = [normalize_url(a["url"]) for a in articles]
    out["discovered"] = sum(1 for e in discovered if e.kind == "discovered")
    out["unchanged_recheck_events"] = [
        {"url": e.url, "kind": e.kind, "how": list(e.how)} for e in unchanged
    ]
    out["quality"] = quality.score(plan, all_urls, first_check, second_check)
    if "recheck" in peer_doc:
        from benchmarks.peer import describe_recheck

        kinds = {articles[m.index]["url"]: m.kind for m in plan}
        peer_doc["what_recheck_recorded"] = describe_recheck(
            peer_doc["recheck"].pop("per_url"), kinds
        )
    if "first" in peer_doc:
        peer_doc["first"].pop("per_url", None)
    return out, runtime


def _search(
    options: RunOptions, work: Path, manifest: dict[str, Any], runtime: Any
) -> dict[str, Any]:
    from benchmarks import search_bench
    from search_api.backends import SearchQuery
    from search_api.backends.sqlite_fts import SqliteFtsBackend
    from search_api.factory import make_backend
    from search_api.indexer import reindex

    settings = runtime.settings
    doc: dict[str, Any] = {}

    _say("search: rebuilding the index from the archive (index throughput at N)")
    rebuilt = SqliteFtsBackend(work / "search-rebuild.sqlite")
    t = time.perf_counter()
    versions = reindex(runtime.sessions, rebuilt)
    seconds = time.perf_counter() - t
    rebuilt.close()
    doc["at_n"] = {
        "versions": versions,
        "reindex_s": round(seconds, 2),
        "versions_per_s": round(versions / seconds, 1) if seconds else None,
    }
    backend = make_backend(settings)
    try:
        doc["at_n"]["latency_ms"] = _latency(backend, search_bench.queries(), repeat=5)
        # Unique words: each article's made-up reporter name is in that article only.
        rng = random.Random(options.seed)
        articles = manifest["articles"]
        picked = rng.sample(articles, min(200, len(articles)))
        found = 0
        for article in picked:
            hits = backend.search(SearchQuery(text=article["codename"], per_page=10)).hits
            found += any(_same_article(h.url, article["url"]) for h in hits)
        doc["at_n"]["unique_word_recall"] = round(found / len(picked), 4)
        doc["at_n"]["khmer"] = _khmer_recall(backend, manifest)
    finally:
        backend.close()
    runtime.close()

    if options.search_versions:
        _say(f"search: synthetic archive of {options.search_versions} versions (search_bench)")
        big = search_bench.run(
            argparse.Namespace(
                versions=options.search_versions,
                backend="sqlite",
                repeat=3,
                seed=20260301,
                workdir=str(work / "search-synthetic"),
                progress=False,
                content=manifest["content"],
            )
        )
        doc["synthetic"] = {
            "versions": big["versions"],
            "index": big["index"],
            "latency_ms": big["latency_ms"],
            "index_bytes": big["index_bytes"],
            "index_bytes_per_version": big["index_bytes_per_version"],
            "text_bytes_per_version": big["text_bytes_per_version"],
            "index_breakdown_bytes": big["index_breakdown_bytes"],
        }
        shutil.rmtree(work / "search-synthetic", ignore_errors=True)
    return doc


def _same_article(hit_url: str, url: str) -> bool:
    from archive.content import normalize_url

    return normalize_url(hit_url) == normalize_url(url)


def _latency(backend: Any, queries: list[tuple[str, Any]], repeat: int) -> dict[str, Any]:
    from benchmarks.search_bench import percentile

    timings: list[float] = []
    for _name, query in queries:
        backend.search(query)  # warm-up
        for _ in range(repeat):
            t = time.perf_counter()
            backend.search(query)
            timings.append((time.perf_counter() - t) * 1000)
    return {
        "queries": len(queries),
        "runs_per_query": repeat,
        "p50": round(percentile(timings, 50), 2),
        "p95": round(percentile(timings, 95), 2),
        "p99": round(percentile(timings, 99), 2),
    }


def _khmer_recall(backend: Any, manifest: dict[str, Any]) -> dict[str, Any]:
    """Each Khmer fixture's search words must find every article made from it."""
    from archive.content import normalize_url
    from search_api.backends import SearchQuery

    expected_total = found_total = 0
    words = 0
    misses: list[dict[str, Any]] = []
    for t, template in enumerate(manifest["templates"]):
        if template["lang"] != "km" or not template["search_words"]:
            continue
        # Hits may carry the canonical or the fetched URL: compare them normalized.
        expected = {normalize_url(a["url"]) for a in manifest["articles"] if a["template"] == t}
        if not expected:
            continue
        for word in template["search_words"]:
            words += 1
            got: set[str] = set()
            page = 1
            while True:
                result = backend.search(SearchQuery(text=word, per_page=100, page=page))
                got.update(normalize_url(h.url) for h in result.hits)
                if len(result.hits) < 100 or page * 100 >= min(result.total, 10_000):
                    break
                page += 1
            hit = len(expected & got)
            expected_total += len(expected)
            found_total += hit
            if hit < len(expected):
                misses.append({"word": word, "expected": len(expected), "found": hit})
    return {
        "words": words,
        "pairs": expected_total,
        "recall": round(found_total / expected_total, 4) if expected_total else None,
        "misses": misses[:20],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks run",
        description="Crawl, recheck, detection quality, search and storage figures against "
        "their limits and against news-please, measured in one run.",
    )
    parser.add_argument("--size", type=int, default=2000, help="articles on the local site")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="extraction processes, for the crawler and for the extraction limit alike",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=8,
        help="parallel requests to the site (Presswatch and news-please)",
    )
    parser.add_argument("--skip-peer", action="store_true", help="do not run news-please")
    parser.add_argument(
        "--peer-sample",
        type=int,
        default=300,
        help="articles news-please crawls (every k-th, plus mutated ones)",
    )
    parser.add_argument(
        "--search-versions",
        type=int,
        default=100_000,
        help="size of search_bench's synthetic archive (0: skip)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="where results are written")
    parser.add_argument(
        "--work",
        type=Path,
        default=WORK,
        help="scratch space: the archive, search indexes, news-please's venv (gitignored)",
    )
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument(
        "--content",
        choices=("auto", "fixtures", "demo"),
        default="auto",
        help="what the site's articles are made of: the real pages of ../shared/fixtures, "
        "or our own demo articles (auto: the fixtures when they are there)",
    )
    args = parser.parse_args(argv)
    if args.size < 20:
        parser.error("--size must be at least 20 (ten mutation kinds, and the rest unchanged)")
    options = RunOptions(
        size=args.size,
        workers=args.workers,
        concurrency=args.concurrency,
        skip_peer=args.skip_peer,
        peer_sample=args.peer_sample,
        search_versions=args.search_versions,
        out=args.out,
        work=args.work,
        seed=args.seed,
        content=args.content,
    )
    from benchmarks import report

    results = run(options)
    json_path, md_path, table = report.write(results, options.out)
    print(table)
    print(f"\nwritten: {json_path}\n         {md_path}")
    return 0
