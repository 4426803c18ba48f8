"""Runs phases of spiders one after another in a single reactor run (Twisted cannot
restart one), with plain Python hooks between phases (the demo mutates its site there).

The free-space floor (`min_free_bytes`) is checked before each phase, and every
`SPACE_CHECK_INTERVAL_S` while it runs: below it every spider stops cleanly and the run
reports the disk; the WARC store refuses each record below it too, so nothing is
half-written. (`start_crawl` checks it once before anything starts.)
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archive.errors import DiskFull
from crawler.context import CrawlContext
from presswatch.crawling.job_dirs import finish_job_dir, job_dir, prepare_job_dir
from presswatch.crawling.report import CrawlReport
from presswatch.crawling.scrapy_settings import scrapy_settings
from presswatch.runtime import Runtime

if TYPE_CHECKING:
    from presswatch.browser import CrawlRenderer

# The package's logger, as when this was one module: log lines name it unchanged.
log = logging.getLogger(__package__)

SPACE_CHECK_INTERVAL_S = 0.5  # the crawl's own free-space check (the WARC store checks each record)

DISCOVERY_SPIDERS = ("sitemap", "feed", "listing")
SPIDER_CLASSES = {
    "sitemap": "crawler.spiders.sitemap.SitemapSpider",
    "feed": "crawler.spiders.feed.FeedSpider",
    "listing": "crawler.spiders.listing.ListingSpider",
    "recheck": "crawler.spiders.recheck.RecheckSpider",
    "save": "crawler.spiders.save.SaveSpider",
}


@dataclass(frozen=True, slots=True)
class CrawlJob:
    spider: str  # sitemap | feed | listing | recheck | save
    sources: tuple[str, ...] = ()
    limit: int | None = None
    all_articles: bool = False
    url: str | None = None  # the address of a `save`

    def kwargs(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.sources:
            out["source"] = ",".join(self.sources)
        if self.limit is not None:
            out["limit"] = self.limit
        if self.all_articles:
            out["all"] = "1"
        if self.url is not None:
            out["url"] = self.url
        return out


@dataclass
class Phase:
    """Jobs that run side by side; `before` runs first (in the reactor thread)."""

    jobs: Sequence[CrawlJob]
    before: Callable[[], None] | None = None
    name: str = ""


def discovery_jobs(
    names: Sequence[str], limit: int | None, spiders: Sequence[str] = DISCOVERY_SPIDERS
) -> list[CrawlJob]:
    return [CrawlJob(spider, tuple(names), limit) for spider in spiders]


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
    runner = PhaseRunner(runtime, context, overrides=overrides, use_jobdir=use_jobdir)
    return runner.run(phases, on_tick=on_tick)


class PhaseRunner:
    """One reactor run of phases. A first SIGINT/SIGTERM stops every spider cleanly
    (queues saved), a second stops the reactor; a failure no capture can get past (a
    full disk, a service gone: `stop_crawl`) stops every spider once, with its line."""

    def __init__(
        self,
        runtime: Runtime,
        context: CrawlContext,
        *,
        overrides: dict[str, Any] | None = None,
        use_jobdir: bool = True,
    ) -> None:
        from scrapy.utils.reactor import install_reactor, is_reactor_installed

        if not is_reactor_installed():
            install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
        from scrapy.crawler import CrawlerRunner
        from twisted.internet import reactor

        self.reactor: Any = reactor  # the installed reactor, typed by interface only
        self.runtime = runtime
        self.context = context
        self.overrides = overrides
        self.use_jobdir = use_jobdir
        self.report = CrawlReport()
        self.crawlers = CrawlerRunner()
        self.job_dirs: list[Path] = []
        self.signals = 0  # SIGINT/SIGTERM received so far

    def run(
        self,
        phases: Sequence[Phase],
        *,
        on_tick: Callable[[dict[str, int]], None] | None = None,
    ) -> CrawlReport:
        from twisted.internet import defer, task

        started = time.monotonic()
        context, reactor = self.context, self.reactor
        context.stop_crawl = self.stop_crawl
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        ticker = None
        if on_tick is not None:
            ticker = task.LoopingCall(lambda: on_tick(context.counters.snapshot()))
            ticker.start(0.25, now=True)
        space_watch = None
        if self.runtime.space_floor.enabled:
            space_watch = task.LoopingCall(self._watch_space)
            space_watch.start(SPACE_CHECK_INTERVAL_S, now=False)
        reactor.callWhenRunning(defer.inlineCallbacks(self._run_phases), phases)
        renderer = self._start_renderer()
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
            for path in self.job_dirs:
                finish_job_dir(path)
            if renderer is not None:
                self._finish_renderer(renderer)
        report = self.report
        report.duration_s = time.monotonic() - started
        report.counts = context.counters.snapshot()
        report.problems.extend(context.counters.problems)
        if self.signals or report.stopped_by is not None:
            report.interrupted = True
        if on_tick is not None:
            on_tick(report.counts)
        return report

    def _start_renderer(self) -> CrawlRenderer | None:
        """Screenshots of this crawl's new versions, rendered while it runs (none when
        the browser is off or missing: `presswatch status` says why)."""
        from presswatch.browser import CrawlRenderer, config_from_settings

        config = config_from_settings(self.runtime.settings)
        if config is None:
            return None
        # Its own WARC store: the crawl's recorder groups its appends, and a rendering
        # must be synced before its row commits whatever that group is doing.
        return CrawlRenderer(
            config,
            self.runtime.sessions,
            self.runtime.new_warc_store(),
            workers=self.runtime.settings.browser_workers,
        ).start()

    def _finish_renderer(self, renderer: CrawlRenderer) -> None:
        interrupted = bool(self.signals) or self.report.stopped_by is not None
        pool = renderer.finish(take_rest=not interrupted)
        pool.warc.close()
        outcomes: dict[str, int] = {}
        for done in pool.done:
            outcomes[done.outcome] = outcomes.get(done.outcome, 0) + 1
        self.report.stats["browser"] = {"rendered": len(pool.done), **outcomes}
        for capture_id, problem in pool.failed:
            self.report.problems.append(f"rendering capture {capture_id} failed: {problem}")

    def stop_crawl(self, message: str) -> None:
        """End the whole crawl with this one line (the first such failure only)."""
        if self.report.stopped_by is None:
            log.error("%s", message)
            self.report.stopped_by = message
            self.report.problems.append(message)
            self.crawlers.stop()

    def _watch_space(self) -> None:
        # Between records the WARC store refuses to write below the floor; this stops
        # the crawl itself (every spider, cleanly, queue saved) so it does not go on
        # fetching pages it cannot keep.
        try:
            self.runtime.space_floor.check()
        except DiskFull as exc:
            self.stop_crawl(str(exc))

    def _run_phases(self, phases: Sequence[Phase]) -> Generator[Any, Any, None]:
        """The reactor's work (run by `inlineCallbacks`): phase after phase, until all
        ran or the crawl was stopped; then the reactor stops."""
        try:
            for phase in phases:
                if self.signals or self.report.stopped_by is not None:
                    break
                try:
                    self.runtime.space_floor.check()
                except DiskFull as exc:
                    self.stop_crawl(str(exc))
                    break
                if phase.before is not None:
                    phase.before()
                running = [(job, *self._start(job)) for job in phase.jobs]
                for job, crawler, deferred in running:
                    try:
                        yield deferred
                    except Exception as exc:  # boundary: one spider failing ends its phase
                        log.exception("spider %s failed", job.spider)
                        self.report.problems.append(f"spider {job.spider} failed: {exc}")
                    stats = crawler.stats.get_stats() if crawler.stats else {}
                    self.report.stats[f"{phase.name or 'phase'}:{job.spider}"] = dict(stats)
                    if stats.get("finish_reason") not in (None, "finished"):
                        self.report.interrupted = True
        finally:
            if self.reactor.running:
                self.reactor.stop()

    def _start(self, job: CrawlJob) -> tuple[Any, Any]:
        """Start one job's spider: (its crawler, the deferred that fires when it closed)."""
        from scrapy.crawler import Crawler
        from scrapy.utils.misc import load_object

        settings = self.runtime.settings
        path = None
        if self.use_jobdir and not settings.redis_url:
            path = job_dir(settings, job.spider, job.sources)
            prepare_job_dir(path)
            self.job_dirs.append(path)
        crawler = Crawler(
            load_object(SPIDER_CLASSES[job.spider]),
            scrapy_settings(settings, self.context, job_dir=path, overrides=self.overrides),
        )
        return crawler, self.crawlers.crawl(crawler, **job.kwargs())

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self.signals += 1
        if self.signals == 1:
            self.reactor.callFromThread(self.crawlers.stop)
        else:
            self.reactor.callFromThread(self.reactor.stop)
