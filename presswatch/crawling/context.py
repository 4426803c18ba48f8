"""The `CrawlContext` the crawler is given (crawler/context.py), built from Settings and
the sources: each source's record options (its topic filter), the recheck schedule,
which articles may be asked "changed since?", and the recorder of the writer process.
`start_crawl` is everything before the spiders run, whoever starts them (`presswatch
crawl`, `recheck` and `run`, the demo, the benchmarks); `context_from_scrapy_settings`
serves a plain `scrapy crawl`."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from archive.capture import RecordOptions
from archive.content import Extracted, parse_iso_utc
from archive.errors import ConfigError
from archive.store import Article, ArticleStatus
from crawler.context import CrawlContext
from crawler.recording import Recorder, RecorderFactory
from presswatch.crawling.logfile import setup_crawl_logging
from presswatch.crawling.sources import source_spec, sync_sources
from presswatch.runtime import Runtime
from presswatch.schedule import (
    RecheckSchedule,
    conditional_headers,
    next_check,
    parse_duration,
)
from presswatch.settings import Settings, load_settings, user_agent
from presswatch.sources import SourcesFile, load_sources

if TYPE_CHECKING:
    from presswatch.browser import PageRenderer


def schedule_of(settings: Settings) -> RecheckSchedule:
    return RecheckSchedule.parse(
        settings.recheck_schedule, full_fetch_every=settings.full_fetch_interval
    )


class ConditionalRequests:
    """The headers that ask an outlet whether an article changed since our copy
    (`CrawlContext.conditional_for`); {} asks for the whole page."""

    def __init__(self, schedule: RecheckSchedule) -> None:
        self.schedule = schedule

    def __call__(self, article: Article, at: datetime) -> dict[str, str]:
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
            schedule=self.schedule,
        )


class RecordingRules:
    """Each source's record options (its topic filter) and the recheck schedule: what
    recording a capture needs, in the crawl process or in its writer process."""

    def __init__(self, runtime: Runtime, sources: SourcesFile) -> None:
        self.runtime = runtime
        self.sources = sources
        self.schedule = schedule_of(runtime.settings)
        self._options: dict[str | None, RecordOptions] = {}

    def record_options(self, name: str | None) -> RecordOptions:
        if name not in self._options:
            matcher = None
            if name is not None:
                try:
                    matcher = self.sources.matcher_for(self.sources.get(name))
                except ConfigError:  # a source recorded earlier but gone from the file
                    matcher = None
            if matcher is None:
                self._options[name] = self.runtime.record_options()
            else:
                bound = matcher

                def accept(extracted: Extracted) -> bool:
                    return bound.matches(extracted.title, extracted.text)

                self._options[name] = self.runtime.record_options(accept=accept)
        return self._options[name]

    def plan(self, article: Article, published: str | None, checked_at: datetime) -> datetime:
        """The article's next check (`archive.store.PlanNextCheck`)."""
        return next_check(
            first_seen=article.first_seen,
            checked_at=checked_at,
            published=parse_iso_utc(published),
            pending_removal=article.pending_removal is not None,
            unreachable=article.status == ArticleStatus.UNREACHABLE.value,
            schedule=self.schedule,
            salt=article.id,
        )


def build_context(
    runtime: Runtime,
    sources: SourcesFile,
    *,
    now: Callable[[], datetime] | None = None,
    extract_workers: int | None = None,
) -> CrawlContext:
    settings = runtime.settings
    rules = RecordingRules(runtime, sources)
    workers = extract_workers if extract_workers is not None else settings.extract_workers
    if workers == 0:
        workers = os.cpu_count() or 1
    recorder_factory: RecorderFactory | None = None
    if settings.writer_process:
        recorder_factory = ("presswatch.crawling.context.writer_recorder", (settings, sources))
    renderer, unavailable = page_renderer(settings, sources)
    return CrawlContext(
        sessions=runtime.sessions,
        warc=runtime.warc,
        sources={cfg.name: source_spec(cfg) for cfg in sources.source},
        record_options=rules.record_options,
        plan_next_check=rules.plan,
        conditional_for=ConditionalRequests(rules.schedule),
        user_agent=user_agent(settings),
        max_body_bytes=settings.max_body_bytes,
        database_outage_s=settings.database_outage_s,
        image_recheck_every=parse_duration(settings.image_recheck_interval, allow_zero=True),
        extract_workers=workers,
        extract_memory_bytes=settings.extract_memory_mb * 1024 * 1024,
        worker_setup=("presswatch.crawling.logfile.setup_crawl_logging", (settings,)),
        now=now,
        recorder_factory=recorder_factory,
        page_renderer=renderer,
        render_unavailable=unavailable,
    )


def page_renderer(settings: Settings, sources: SourcesFile) -> tuple[PageRenderer | None, str]:
    """The renderer of `render = true` sources' pages (None when no source asks for it,
    or there is no browser), and why there is none (`browser_status`'s line)."""
    from presswatch.browser import browser_status, config_from_settings

    if not any(cfg.render for cfg in sources.source):
        return None, "no source asks for it"
    config = config_from_settings(settings)
    if config is None:
        return None, browser_status(settings)[1].removeprefix("screenshots are off: ")
    from presswatch.browser import PageRenderer

    return PageRenderer(config, settings.browser_workers), ""


def writer_recorder(settings: Settings, sources: SourcesFile, *, warc_run: str) -> Recorder:
    """The crawl's recorder, built in its writer process (`crawler.recording`): the
    archive opened anew there, with the crawl's own settings and sources, its WARC files
    named for the crawl's run (`warc_run`)."""
    setup_crawl_logging(settings)  # its warnings go to the crawl's log file, not stderr
    runtime = Runtime(settings, warc_run=warc_run)
    rules = RecordingRules(runtime, sources)
    return Recorder(
        runtime.sessions,
        runtime.warc,
        rules.record_options,
        rules.plan,
        outage_s=settings.database_outage_s,
    )


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


def context_from_scrapy_settings(scrapy: Any) -> CrawlContext:
    """The context for a plain `scrapy crawl` (presswatch/scrapy_project.py names this): Settings
    from the environment and presswatch.toml, sources from `PRESSWATCH_SOURCES`."""
    settings = load_settings()
    runtime = Runtime(settings)
    runtime.require_initialized()
    sources = load_sources(settings.sources, allow_networks=settings.allow_networks)
    sync_sources(runtime, sources, datetime.now(UTC))
    return build_context(runtime, sources)
