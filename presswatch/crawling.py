"""Runs the Scrapy spiders in this process for `presswatch crawl`, `recheck`, `run` and
the demo, composed from Settings and sources.toml.

Owns: turning sources.toml entries into archive Source rows and crawler `SourceSpec`s,
the crawl context (record options with the topic filter, the recheck schedule), the
Scrapy settings (User-Agent, politeness, JOBDIR or Redis), and the reactor: phases of
spiders run one after another in a single reactor run (Twisted cannot restart one),
with plain Python hooks between phases (the demo mutates its site there).

Resume after SIGKILL: Scrapy's JOBDIR queues are written on a clean stop only, so a
killed crawl leaves them half-written. Each job directory gets a pid marker; if a new
crawl finds the marker of a dead process it discards the queue and relies on the
archive instead: discovery skips every URL already recorded (`CrawlContext.known_urls`)
and a fetch that was never committed is simply fetched again. Either way nothing is
captured twice. A clean stop (SIGINT/SIGTERM, a service gone) keeps the JOBDIR queue
for the next run, whose spiders list the same articles again: a restored request is
fetched only if that run can claim its article (crawler.middlewares.ResumedClaimMiddleware).

Full disk (crash-only): a JOBDIR that Scrapy could not read (empty or torn files,
`presswatch.jobstate`) is discarded with a warning before the crawl starts, for the
same reason; our own pid marker is written atomically. The free-space floor
(`min_free_bytes`) is checked before a crawl starts (`DiskFull`, nothing started),
before each phase, and every `SPACE_CHECK_INTERVAL_S` while it runs: below it every
spider stops cleanly and the run reports the disk; the WARC store refuses each record
below it too, so nothing is half-written.

What every crawl needs, whoever starts it (`presswatch crawl`, `recheck` and `run`, the
demo, the benchmarks), is here too: `load_crawl_sources`, `start_crawl` (the log file,
the Source rows, the context) and `index_outbox` (the search index after a crawl).
"""

from __future__ import annotations

import hashlib
import logging
import logging.handlers
import os
import re
import shutil
import signal
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scrapy.settings import Settings as ScrapySettings

from archive.capture import RecordOptions
from archive.content import Extracted, parse_iso_utc
from archive.errors import ConfigError, DiskFull
from archive.store import Article, ArticleStatus, list_sources, upsert_source
from crawler.context import CrawlContext, SourceSpec
from crawler.recording import PlanNextCheck, Recorder
from presswatch.jobstate import job_dir_problems, write_atomic
from presswatch.lock import pid_alive
from presswatch.runtime import Runtime
from presswatch.schedule import (
    RecheckSchedule,
    conditional_headers,
    next_check,
)
from presswatch.settings import Settings, load_settings, user_agent
from presswatch.sources import SourceConfig, SourcesFile, load_sources, with_archive_sources

log = logging.getLogger(__name__)
runs_log = logging.getLogger("presswatch.runs")

LOG_FILE_BYTES = 5_000_000
SPACE_CHECK_INTERVAL_S = 0.5  # the crawl's own free-space check (the WARC store checks each record)
LOG_FILE_COUNT = 5

DISCOVERY_SPIDERS = ("sitemap", "feed", "listing")
SPIDER_CLASSES = {
    "sitemap": "crawler.spiders.sitemap.SitemapSpider",
    "feed": "crawler.spiders.feed.FeedSpider",
    "listing": "crawler.spiders.listing.ListingSpider",
    "recheck": "crawler.spiders.recheck.RecheckSpider",
}


def schedule_of(settings: Settings) -> RecheckSchedule:
    return RecheckSchedule.parse(
        settings.recheck_schedule, full_fetch_every=settings.full_fetch_interval
    )


def source_spec(cfg: SourceConfig) -> SourceSpec:
    return SourceSpec(
        name=cfg.name,
        base_url=cfg.base_url,
        sitemaps=tuple(cfg.sitemaps),
        feeds=tuple(cfg.feeds),
        listings=tuple(cfg.listings),
        article_url_pattern=cfg.article_url_pattern,
        crawl_delay_s=cfg.crawl_delay_s,
        max_concurrency=cfg.max_concurrency,
        listing_depth=cfg.listing_depth,
        listing_max_pages=cfg.listing_max_pages,
        max_age_days=cfg.max_age_days,
    )


def sync_sources(runtime: Runtime, sources: SourcesFile, now: datetime) -> None:
    """Create or update the archive's Source rows from sources.toml. Their `config`
    carries what detection reads (the article URL pattern) and the rest for reference."""
    with runtime.sessions.begin() as session:
        for cfg in sources.source:
            upsert_source(
                session,
                name=cfg.name,
                base_url=cfg.base_url,
                languages=cfg.languages,
                config=cfg.model_dump(exclude={"name", "base_url", "languages", "enabled"})
                | {"from_file": True},
                now=now,
                enabled=cfg.enabled,
            )


def build_context(
    runtime: Runtime,
    sources: SourcesFile,
    *,
    now: Callable[[], datetime] | None = None,
    extract_workers: int | None = None,
) -> CrawlContext:
    settings = runtime.settings
    schedule = schedule_of(settings)
    record_options, plan = _recording_rules(runtime, sources)

    def conditional(article: Article, at: datetime) -> dict[str, str]:
        # Only a live article may be asked "changed since?": a removal or an outage
        # must be confirmed with a real status, never with a 304.
        if article.status not in (ArticleStatus.LIVE.value, ArticleStatus.EDITED.value):
            return {}
        if article.pending_removal is not None or article.pending_degraded_sha is not None:
            return {}
        return conditional_headers(
            etag=article.etag,
            last_modified=article.last_modified_header,
            last_full_fetch=article.last_full_fetch,
            now=at,
            schedule=schedule,
        )

    workers = extract_workers if extract_workers is not None else settings.extract_workers
    if workers == 0:
        workers = os.cpu_count() or 1
    return CrawlContext(
        sessions=runtime.sessions,
        warc=runtime.warc,
        sources={cfg.name: source_spec(cfg) for cfg in sources.source},
        record_options=record_options,
        plan_next_check=plan,
        conditional_for=conditional,
        user_agent=user_agent(settings),
        max_body_bytes=settings.max_body_bytes,
        database_outage_s=settings.database_outage_s,
        extract_workers=workers,
        now=now,
        recorder_factory=(
            ("presswatch.crawling.writer_recorder", (settings, sources))
            if settings.writer_process
            else None
        ),
    )


def _recording_rules(
    runtime: Runtime, sources: SourcesFile
) -> tuple[Callable[[str | None], RecordOptions], PlanNextCheck]:
    """Each source's record options (its topic filter) and the recheck schedule: what
    recording a capture needs, in the crawl process or in its writer process."""
    schedule = schedule_of(runtime.settings)
    options_cache: dict[str | None, RecordOptions] = {}

    def record_options(name: str | None) -> RecordOptions:
        if name not in options_cache:
            matcher = None
            if name is not None:
                try:
                    matcher = sources.matcher_for(sources.get(name))
                except ConfigError:  # a source recorded earlier but gone from the file
                    matcher = None
            if matcher is None:
                options_cache[name] = runtime.record_options()
            else:
                bound = matcher

                def accept(extracted: Extracted) -> bool:
                    return bound.matches(extracted.title, extracted.text)

                options_cache[name] = runtime.record_options(accept=accept)
        return options_cache[name]

    def plan(article: Article, published: str | None, checked_at: datetime) -> datetime:
        return next_check(
            first_seen=article.first_seen,
            checked_at=checked_at,
            published=parse_iso_utc(published),
            pending_removal=article.pending_removal is not None,
            unreachable=article.status == ArticleStatus.UNREACHABLE.value,
            schedule=schedule,
            salt=article.id,
        )

    return record_options, plan


def writer_recorder(settings: Settings, sources: SourcesFile) -> Recorder:
    """The crawl's recorder, built in its writer process (`crawler.recording`): the
    archive opened anew there, with the crawl's own settings and sources."""
    setup_crawl_logging(settings)  # its warnings go to the crawl's log file, not stderr
    runtime = Runtime(settings)
    record_options, plan = _recording_rules(runtime, sources)
    return Recorder(
        runtime.sessions,
        runtime.warc,
        record_options,
        plan,
        outage_s=settings.database_outage_s,
    )


# -- setting up a crawl --------------------------------------------------------------


class _RunsOrLevel(logging.Filter):
    """Let through records at the configured level, and run summaries always."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.level or record.name == runs_log.name


def setup_crawl_logging(settings: Settings) -> None:
    """Rotating log file in the data dir; stderr stays quiet unless `--verbose`."""
    root = logging.getLogger()
    verbose = root.level and root.level <= logging.INFO
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    level = logging.getLevelName(settings.log_level)
    if not any(isinstance(h, logging.handlers.RotatingFileHandler) for h in root.handlers):
        file_handler = logging.handlers.RotatingFileHandler(
            settings.log_dir / "presswatch.log",
            maxBytes=LOG_FILE_BYTES,
            backupCount=LOG_FILE_COUNT,
            encoding="utf-8",
        )
        file_handler.setFormatter(
            logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
        )
        file_handler.addFilter(_RunsOrLevel(level))
        root.addHandler(file_handler)
    for handler in root.handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(
            handler, logging.FileHandler
        ):
            # Cron mails whatever reaches stderr: only our summary may, unless asked.
            handler.setLevel(logging.INFO if verbose else logging.CRITICAL + 1)
    root.setLevel(min(level, logging.INFO))
    # Scrapy's per-request debug lines are never wanted in the file.
    logging.getLogger("scrapy").setLevel(max(level, logging.INFO))


def load_crawl_sources(runtime: Runtime) -> SourcesFile:
    """sources.toml, plus the sources added through the admin API (once the archive
    exists: before `init` the file alone, so `sources --check` works)."""
    allow = runtime.settings.allow_networks
    sources = load_sources(runtime.settings.sources, allow_networks=allow)
    if not runtime.is_initialized():
        return sources
    with runtime.read_sessions() as session:
        rows = [
            (s.name, s.base_url, list(s.languages or []), dict(s.config or {}), s.enabled)
            for s in list_sources(session)
        ]
    return with_archive_sources(sources, rows, allow_networks=allow)


def local_archive(root: Path, sources_path: Path, **overrides: Any) -> Runtime:
    """A fresh archive in `root/data` for crawling a local site (the demo, the
    benchmarks). Explicit values beat the environment, so it never touches a real
    archive, Meilisearch or Redis that the shell happens to point at. The crawler may
    reach the local site on 127.0.0.1 and no other private address."""
    data = root / "data"
    overrides.setdefault("allow_networks", ["127.0.0.1/32"])
    settings = Settings(
        data_dir=data,
        sources=sources_path,
        database_url=f"sqlite:///{(data / 'presswatch.db').resolve()}",
        meili_url=None,
        redis_url=None,
        scrapy_settings={},
        **overrides,
    )
    runtime = Runtime(settings)
    runtime.init()
    return runtime


def start_crawl(
    runtime: Runtime,
    sources: SourcesFile,
    *,
    now: Callable[[], datetime] | None = None,
    extract_workers: int | None = None,
) -> CrawlContext:
    """Everything before the spiders run: the free-space floor (`DiskFull` below it,
    before anything is written), the log file in the data dir, the archive's Source rows
    from `sources`, and the crawl context (see `build_context`)."""
    runtime.space_floor.check()
    setup_crawl_logging(runtime.settings)
    sync_sources(runtime, sources, now() if now is not None else datetime.now(UTC))
    return build_context(runtime, sources, now=now, extract_workers=extract_workers)


def index_outbox(runtime: Runtime) -> tuple[int, str | None]:
    """Drain the archive's search outbox into the configured backend: (outbox rows
    drained, the problem or None). A failure is reported, never raised."""
    try:
        from search_api.factory import make_backend
        from search_api.indexer import drain_outbox
    except ImportError as exc:
        return 0, f"search index not updated: {exc}"
    try:
        backend = make_backend(runtime.settings)
    except Exception as exc:  # boundary: indexing failure is reported, not fatal
        log.exception("search backend unavailable")
        return 0, f"search index not updated: {exc}"
    try:
        backend.configure()
        drained = drain_outbox(
            runtime.sessions, backend, max_attempts=runtime.settings.outbox_max_attempts
        )
        return drained, None
    except Exception as exc:  # boundary, as above
        log.exception("indexing failed")
        return 0, f"search index not updated: {type(exc).__name__}: {exc}"
    finally:
        backend.close()


def scrapy_settings(
    settings: Settings,
    context: CrawlContext,
    *,
    job_dir: Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> ScrapySettings:
    """Scrapy settings for one crawler: crawler/settings.py, then ours, then the
    operator's `scrapy_settings`, then the caller's overrides (tests, demo)."""
    result = ScrapySettings()
    result.setmodule("crawler.settings", priority="project")
    slots: dict[str, dict[str, Any]] = {}
    for spec in context.sources.values():
        if spec.max_concurrency:
            from urllib.parse import urlsplit

            host = urlsplit(spec.base_url).hostname or ""
            slots[host] = {"concurrency": spec.max_concurrency}
    ours: dict[str, Any] = {
        "PRESSWATCH_CONTEXT": context,
        "USER_AGENT": context.user_agent,
        "CONCURRENT_REQUESTS_PER_DOMAIN": settings.crawl_concurrency_per_host,
        "DOWNLOAD_TIMEOUT": settings.download_timeout_s,
        "PRESSWATCH_MAX_BODY_BYTES": settings.max_body_bytes,
        "PRESSWATCH_ALLOW_NETWORKS": list(settings.allow_networks),
        "DOWNLOAD_SLOTS": slots,
        "LOG_ENABLED": True,
    }
    if settings.redis_url:
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        prefix = str(
            (overrides or {}).get("PRESSWATCH_REDIS_PREFIX")
            or settings.scrapy_settings.get("PRESSWATCH_REDIS_PREFIX")
            or "presswatch"
        )
        ours.update(
            {
                "PRESSWATCH_REDIS": True,
                "REDIS_URL": settings.redis_url,
                "SCHEDULER": "crawler.frontier.RedisFrontier",
                "PRESSWATCH_REDIS_OUTAGE_S": settings.redis_outage_s,
                # Each call bounded, and no retrying inside the client: the frontier
                # rides out an outage itself, for redis_outage_s (crawler/frontier.py).
                "REDIS_PARAMS": {
                    "socket_timeout": 5,
                    "socket_connect_timeout": 5,
                    "retry": Retry(NoBackoff(), 0),
                },
                "DUPEFILTER_CLASS": "crawler.middlewares.RedisDupeFilter",
                "SCHEDULER_PERSIST": True,
                "SCHEDULER_QUEUE_KEY": f"{prefix}:%(spider)s:requests",
                # One dupefilter for every spider: a new article listed by one
                # machine's sitemap and another's feed is fetched once.
                "SCHEDULER_DUPEFILTER_KEY": f"{prefix}:dupefilter",
            }
        )
    elif job_dir is not None:
        ours["JOBDIR"] = str(job_dir)
    result.setdict(ours, priority="cmdline")
    result.setdict(dict(settings.scrapy_settings), priority="cmdline")
    if overrides:
        result.setdict(overrides, priority="cmdline")
    return result


# -- running -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CrawlJob:
    spider: str  # sitemap | feed | listing | recheck
    sources: tuple[str, ...] = ()
    limit: int | None = None
    all_articles: bool = False

    def kwargs(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.sources:
            out["source"] = ",".join(self.sources)
        if self.limit is not None:
            out["limit"] = self.limit
        if self.all_articles:
            out["all"] = "1"
        return out


@dataclass
class Phase:
    """Jobs that run side by side; `before` runs first (in the reactor thread)."""

    jobs: Sequence[CrawlJob]
    before: Callable[[], None] | None = None
    name: str = ""


# A sitemap, feed, listing or robots.txt the crawler could not read (crawler/spiders/base.py).
_DOCUMENT_FAILURE = re.compile(r"^\[[^\]]*\] \S+: (?:(?P<kind>[a-z_]+) \(|HTTP (?P<status>\d{3})$)")


@dataclass
class CrawlReport:
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)
    duration_s: float = 0.0
    interrupted: bool = False
    # The one failure that ended the crawl early (a full disk, a service gone), said
    # on one line instead of the summary (also in `problems`).
    stopped_by: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems and not self.interrupted

    def failed_fetches(self) -> dict[str, int]:
        """Fetches that got no usable answer, by kind (`dns`, `timeout`, `http_404`…):
        article pages with no response or a 5xx (`article_pages`), and sitemaps, feeds,
        listing pages and robots.txt that could not be read (from the crawler's problem
        lines, `[source] URL: kind (detail)` or `[source] URL: HTTP 404`)."""
        kinds: Counter[str] = Counter()
        if self.counts.get("fetch_errors"):
            kinds["article_pages"] = self.counts["fetch_errors"]
        for problem in self.problems:
            match = _DOCUMENT_FAILURE.match(problem)
            if match:
                kinds[match["kind"] or f"http_{match['status']}"] += 1
        return dict(kinds.most_common())

    def summary(self, label: str) -> str:
        """One line for the log and the terminal. `unreachable` counts articles that
        became unreachable; failed fetches (of articles, sitemaps, feeds…) are apart."""
        c = self.counts
        failed = self.failed_fetches()
        by_kind = ", ".join(f"{kind}: {n}" for kind, n in failed.items())
        return (
            f"{label}: {c.get('fetched', 0)} fetched, {c.get('discovered', 0)} new, "
            f"{c.get('edited', 0)} edited, {c.get('removed', 0)} removed, "
            f"{c.get('unreachable', 0)} articles became unreachable; "
            f"{sum(failed.values())} fetches failed{f' ({by_kind})' if by_kind else ''}; "
            f"{len(self.problems)} problem(s) in {self.duration_s:.1f}s"
        )

    def as_json(self) -> dict[str, Any]:
        keys = (
            "fetched", "captures", "discovered", "edited", "removed", "restored",
            "unreachable", "moved", "fetch_errors", "robots_forbidden", "due", "nudged",
        )  # fmt: skip
        doc: dict[str, Any] = {k: self.counts.get(k, 0) for k in keys}
        doc["outcomes"] = {
            k.removeprefix("outcome."): v
            for k, v in self.counts.items()
            if k.startswith("outcome.")
        }
        doc["failed_fetches"] = self.failed_fetches()
        doc["problems"] = list(self.problems)
        doc["duration_s"] = round(self.duration_s, 2)
        doc["ok"] = self.ok
        return doc


def _job_dir(settings: Settings, job: CrawlJob) -> Path:
    key = hashlib.sha1(",".join(sorted(job.sources)).encode()).hexdigest()[:10]
    return settings.jobs_dir / f"{job.spider}-{key}"


def _prepare_job_dir(path: Path) -> None:
    """Discard the queue of a crawl that died uncleanly (see the module docstring), or
    that Scrapy could not read (a full disk leaves empty or torn files)."""
    marker = path / "presswatch.pid"
    if marker.exists():
        try:
            pid = int(marker.read_text().strip() or "0")
        except ValueError:
            pid = 0
        if pid and pid != os.getpid() and not pid_alive(pid):
            log.warning(
                "crawl state in %s belongs to pid %s, which died without stopping cleanly; "
                "discarding its queue (the archive knows what was recorded)",
                path,
                pid,
            )
            shutil.rmtree(path, ignore_errors=True)
    problems = job_dir_problems(path)
    if problems:
        log.warning(
            "crawl state in %s is unreadable (%s); discarding it and crawling on: "
            "the archive knows what was recorded, and rechecks will catch up",
            path,
            "; ".join(problems[:5]),
        )
        shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)
    write_atomic(marker, str(os.getpid()).encode())


def _finish_job_dir(path: Path) -> None:
    (path / "presswatch.pid").unlink(missing_ok=True)


def run_phases(
    runtime: Runtime,
    context: CrawlContext,
    phases: Sequence[Phase],
    *,
    overrides: dict[str, Any] | None = None,
    on_tick: Callable[[dict[str, int]], None] | None = None,
    use_jobdir: bool = True,
) -> CrawlReport:
    """Run the phases in one reactor run; returns once every crawl has closed."""
    from scrapy.utils.reactor import install_reactor, is_reactor_installed

    if not is_reactor_installed():
        install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
    from scrapy.crawler import Crawler, CrawlerRunner
    from scrapy.utils.misc import load_object
    from twisted.internet import defer, task
    from twisted.internet import reactor as installed

    reactor: Any = installed  # the installed reactor, typed by interface only

    report = CrawlReport()
    started = time.monotonic()
    runner = CrawlerRunner()
    job_dirs: list[Path] = []
    stopping = {"count": 0}

    floor = runtime.space_floor
    stopped_by: list[str] = []  # the one failure (a full disk, a service gone) that ended it

    def stop_crawl(message: str) -> None:
        if not stopped_by:
            log.error("%s", message)
            stopped_by.append(message)
            report.stopped_by = message
            report.problems.append(message)
            runner.stop()

    def stop_for_disk(exc: DiskFull) -> None:
        stop_crawl(str(exc))

    context.stop_crawl = stop_crawl

    def watch_space() -> None:
        # Between records the WARC store refuses to write below the floor; this stops
        # the crawl itself (every spider, cleanly, queue saved) so it does not go on
        # fetching pages it cannot keep.
        try:
            floor.check()
        except DiskFull as exc:
            stop_for_disk(exc)

    @defer.inlineCallbacks
    def chain() -> Any:
        try:
            for phase in phases:
                if stopping["count"] or stopped_by:
                    break
                try:
                    floor.check()
                except DiskFull as exc:
                    stop_for_disk(exc)
                    break
                if phase.before is not None:
                    phase.before()
                running = []
                for job in phase.jobs:
                    job_dir = None
                    if use_jobdir and not runtime.settings.redis_url:
                        job_dir = _job_dir(runtime.settings, job)
                        _prepare_job_dir(job_dir)
                        job_dirs.append(job_dir)
                    crawler = Crawler(
                        load_object(SPIDER_CLASSES[job.spider]),
                        scrapy_settings(
                            runtime.settings, context, job_dir=job_dir, overrides=overrides
                        ),
                    )
                    running.append((job, crawler, runner.crawl(crawler, **job.kwargs())))
                for job, crawler, deferred in running:
                    try:
                        yield deferred
                    except Exception as exc:  # boundary: one spider failing ends its phase
                        log.exception("spider %s failed", job.spider)
                        report.problems.append(f"spider {job.spider} failed: {exc}")
                    stats = crawler.stats.get_stats() if crawler.stats else {}
                    report.stats[f"{phase.name or 'phase'}:{job.spider}"] = dict(stats)
                    if stats.get("finish_reason") not in (None, "finished"):
                        report.interrupted = True
        finally:
            if reactor.running:
                reactor.stop()

    def on_signal(signum: int, _frame: Any) -> None:
        stopping["count"] += 1
        if stopping["count"] == 1:
            reactor.callFromThread(runner.stop)
        else:
            reactor.callFromThread(reactor.stop)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    ticker = None
    if on_tick is not None:
        ticker = task.LoopingCall(lambda: on_tick(context.counters.snapshot()))
        ticker.start(0.25, now=True)
    space_watch = None
    if floor.enabled:
        space_watch = task.LoopingCall(watch_space)
        space_watch.start(SPACE_CHECK_INTERVAL_S, now=False)
    reactor.callWhenRunning(chain)
    try:
        reactor.run(installSignalHandlers=False)
    finally:
        if ticker is not None and ticker.running:
            ticker.stop()
        if space_watch is not None and space_watch.running:
            space_watch.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        context.close()
        for path in job_dirs:
            _finish_job_dir(path)
    report.duration_s = time.monotonic() - started
    report.counts = context.counters.snapshot()
    report.problems.extend(context.counters.problems)
    if stopping["count"] or stopped_by:
        report.interrupted = True
    if on_tick is not None:
        on_tick(report.counts)
    return report


def discovery_jobs(
    names: Sequence[str], limit: int | None, spiders: Sequence[str] = DISCOVERY_SPIDERS
) -> list[CrawlJob]:
    return [CrawlJob(spider, tuple(names), limit) for spider in spiders]


def context_from_scrapy_settings(scrapy: Any) -> CrawlContext:
    """The context for a plain `scrapy crawl` (presswatch/scrapy_project.py names this): Settings
    from the environment and presswatch.toml, sources from `PRESSWATCH_SOURCES`."""
    settings = load_settings()
    runtime = Runtime(settings)
    runtime.require_initialized()
    sources = load_sources(settings.sources, allow_networks=settings.allow_networks)
    sync_sources(runtime, sources, datetime.now(UTC))
    return build_context(runtime, sources)
