"""What the spiders and the pipeline are given: the crawl context.

`crawler/` may import `archive` only (DESIGN.md), yet it needs what the composition root
builds from Settings: the session factory, the WARC store, the record options of each
source (topic filter), the recheck schedule and the sources themselves. The composition
root (`presswatch.crawling.context`) builds a `CrawlContext` and puts it in the Scrapy settings
as `PRESSWATCH_CONTEXT`; a plain `scrapy crawl` loads it through the factory named by
the `PRESSWATCH_CONTEXT_FACTORY` setting instead. Either way the crawler sees only this
interface.

The context also owns the executors every spider of a process shares: one process pool
for extraction (CPU-bound, off the reactor), one writer thread for the database, and
the crawl's one recorder of captures (crawler.recording: a writer process of its own,
or that thread), so the transparency log stays one order.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from scrapy.utils.misc import load_object

from archive.capture import Exchange, RecordOptions, Rendering, current_images, current_payloads
from archive.content import UrlPattern, compile_url_pattern
from archive.store import (
    Article,
    PlanNextCheck,
    SourceOptions,
    article_by_url,
    due_articles,
    iter_known_urls,
    source_names,
    stamp_sources_crawled,
)
from crawler.known import KnownUrls
from crawler.processes import HelperPool, limit_memory
from crawler.recording import (
    DEFAULT_DATABASE_OUTAGE_S,
    CaptureTask,
    DatabaseGone,
    Recorder,
    RecorderFactory,
    RecorderProcess,
    read_through_outage,
)

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from sqlalchemy.orm import Session, sessionmaker

    from archive.warc import WarcStore

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """A source as the crawler needs it (built by `of` from the source's options)."""

    name: str
    base_url: str
    sitemaps: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    listings: tuple[str, ...] = ()
    article_url_pattern: str | None = None
    crawl_delay_s: float | None = None
    max_concurrency: int | None = None
    listing_depth: int = 1
    listing_max_pages: int = 20
    max_age_days: int | None = None
    render: bool = False  # read through the browser (CrawlContext.render_page)

    @classmethod
    def of(cls, name: str, base_url: str, options: SourceOptions) -> SourceSpec:
        """The source as the crawler needs it: its name and home page, and every other
        field taken by name from its options (`archive.store.SourceOptions`, which
        holds them all)."""
        own = ("name", "base_url")
        shared = {f.name: getattr(options, f.name) for f in fields(cls) if f.name not in own}
        return cls(name, base_url, **shared)


class CrawlCounters:
    """Thread-safe tallies for progress displays and the run summary."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self.problems: list[str] = []
        self._reported: set[str] = set()

    def add(self, key: str, n: int = 1) -> None:
        with self._lock:
            self._counts[key] += n

    def problem(self, message: str) -> None:
        with self._lock:
            self._counts["problems"] += 1
            if len(self.problems) < 200:
                self.problems.append(message)

    def problem_once(self, key: str, message: str) -> bool:
        """Report `message` unless a problem with the same `key` was reported already
        in this crawl (all spiders of a process share the counters); True if reported."""
        with self._lock:
            if key in self._reported:
                return False
            self._reported.add(key)
        self.problem(message)
        return True

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def get(self, key: str) -> int:
        with self._lock:
            return self._counts.get(key, 0)


class PageRenderer(Protocol):
    """Renders fetched pages of `render = true` sources in the browser (the composition
    root's `presswatch.browser.PageRenderer`): `submit` answers with the rendering,
    never an exception for what the page or the browser did."""

    def submit(self, exchange: Exchange) -> Future[Rendering]: ...

    def close(self) -> None: ...


# (article, now) -> conditional request headers ({} for a full fetch)
ConditionalFor = Callable[[Article, datetime], dict[str, str]]


@dataclass(frozen=True, slots=True)
class RecheckTarget:
    """One due article, ready to become a request."""

    article_id: int
    url: str
    source: str
    headers: dict[str, str]
    due: datetime | None


# Data memory of one extraction worker (`extract_memory_mb`). Measured: an 18 MB page of
# prose (near max_body_bytes) peaks at 256 MiB; a 19 MB page of 560,000 tiny elements at
# 2 GiB, which this limit turns into a failed extraction of that page alone.
DEFAULT_EXTRACT_MEMORY_BYTES = 1024 * 1024 * 1024


@dataclass
class CrawlContext:
    sessions: sessionmaker[Session]
    warc: WarcStore
    sources: Mapping[str, SourceSpec]
    record_options: Callable[[str | None], RecordOptions]
    plan_next_check: PlanNextCheck
    conditional_for: ConditionalFor
    user_agent: str
    max_body_bytes: int
    extract_workers: int = 2
    # Data memory of each extraction worker, 0 for no limit (`crawler.processes.limit_memory`).
    extract_memory_bytes: int = DEFAULT_EXTRACT_MEMORY_BYTES
    # Called by name in each extraction worker as it starts, with these arguments: the
    # composition root's logging, so a worker's warnings reach the crawl's log file and
    # never stderr (cron mails it).
    worker_setup: RecorderFactory | None = None
    # Group commit: at most this many captures per transaction, and a group waits at
    # most this long for more once its first capture is there.
    group_max: int = 100
    group_ms: float = 25.0
    max_redirects: int = 10
    # How long a group of captures waits for a database that does not answer
    # (crawler.recording.Recorder) before the crawl stops.
    database_outage_s: float = DEFAULT_DATABASE_OUTAGE_S
    # How often the images of a page that did not change are fetched again
    # (`archive.capture.images.images_due`); a page that changed fetches them at once.
    image_recheck_every: timedelta = timedelta(days=7)
    now: Callable[[], datetime] | None = None
    # Record in a writer process built by this factory (crawler.recording); None records
    # on the writer thread with the fields above.
    recorder_factory: RecorderFactory | None = None
    counters: CrawlCounters = field(default_factory=CrawlCounters)
    # Ends the whole crawl with one message (a shared service gone for good); set by
    # whoever runs the crawl (presswatch.crawling.runner.run_phases).
    stop_crawl: Callable[[str], None] | None = None
    # Renders the pages of `render = true` sources; None: no browser, and
    # `render_unavailable` says why (those sources are then not crawled: `select`).
    page_renderer: PageRenderer | None = None
    render_unavailable: str = "no browser was given to the crawl"
    # Set when Redis did not answer as a spider opened: the other spiders give up at once.
    frontier_gone: str | None = None
    # True when built for one `scrapy crawl`: its pipeline then shuts the executors down.
    close_with_spider: bool = False
    # Filled in by the first component that needs them; shut down by `close()`.
    _extract_pool: HelperPool | None = None
    _writer: ThreadPoolExecutor | None = None
    # Names this run's claims on the requests it makes (`claim_resumed`).
    run_token: str = field(default_factory=lambda: uuid.uuid4().hex)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _known: dict[str, KnownUrls] = field(default_factory=dict)
    _claimed: set[str] = field(default_factory=set)
    _claim_hints: dict[str, dict[str, Any]] = field(default_factory=dict)
    _regexes: dict[str, UrlPattern] = field(default_factory=dict)
    _payloads: dict[int, set[str]] = field(default_factory=dict)
    _images: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    _group: GroupWriter | None = None
    _recorder: Recorder | RecorderProcess | None = None

    def __deepcopy__(self, memo: dict[int, Any]) -> CrawlContext:
        # Scrapy deep-copies its settings per crawler; the context is a shared service
        # (executors, caches), not a value, so every copy is the same object.
        return self

    # -- discovery bookkeeping ---------------------------------------------------------

    def article_regex(self, source: SourceSpec) -> UrlPattern:
        """The source's pattern, compiled by RE2 (linear time in the URL, which the
        outlet chose; `archive.content.patterns`). Sources are checked when loaded, so a pattern
        RE2 refuses raises `ConfigError` here only for a context built by hand."""
        assert source.article_url_pattern is not None
        pattern = self._regexes.get(source.name)
        if pattern is None:
            pattern = self._regexes[source.name] = compile_url_pattern(source.article_url_pattern)
        return pattern

    def known_urls(self, source: str) -> KnownUrls:
        """Normalized URLs the archive already has for the source
        (`archive.store.queries.iter_known_urls`), held as digests (crawler.known: a
        million of them in 8 MB). Loaded once per process: it is what makes a restarted
        crawl skip what the killed one already recorded."""
        with self._lock:
            cached = self._known.get(source)
        if cached is not None:
            return cached
        urls = self._read(lambda session: KnownUrls(iter_known_urls(session, source)))
        with self._lock:
            return self._known.setdefault(source, urls)

    def _read(self, read: Callable[[Session], T]) -> T:
        """The spiders' reads of the archive, ridden through a database outage for
        `database_outage_s` as the recorder's groups are; past it the crawl stops with
        the recorder's one line naming the database."""
        try:
            return read_through_outage(self.sessions, self.database_outage_s, read)
        except DatabaseGone as gone:
            if self.stop_crawl is not None:
                self.stop_crawl(str(gone))
            raise

    def recorded_now(self, key: str) -> bool:
        """Whether the archive has an article under `key` now: read afresh, since on a
        shared frontier another machine may have recorded it after this process read
        what it knows (`known_urls`). One indexed lookup per new article fetched."""
        return self._read(lambda session: article_by_url(session, key) is not None)

    def claim(self, key: str) -> bool:
        """First caller in this process wins: spiders running side by side (sitemap,
        feed, listing) never fetch one new article twice."""
        with self._lock:
            if key in self._claimed:
                return False
            self._claimed.add(key)
            return True

    def claim_resumed(self, key: str, source: str) -> bool:
        """A request for a new article restored from a stopped crawl's saved queue
        (JOBDIR) is fetched only if this run has not recorded the article, nor claimed
        it for a request of its own: its spiders list the same articles again, and
        either request may come first."""
        return key not in self.known_urls(source) and self.claim(key)

    def add_claim_hints(self, key: str, hints: dict[str, Any]) -> None:
        with self._lock:
            self._claim_hints.setdefault(key, {}).update(hints)

    def take_claim_hints(self, key: str) -> dict[str, Any]:
        with self._lock:
            return self._claim_hints.pop(key, {})

    def due_targets(
        self, names: Sequence[str], *, all_articles: bool, limit: int | None, now: datetime
    ) -> list[RecheckTarget]:
        def read(session: Session) -> list[RecheckTarget]:
            articles = due_articles(
                session, now=now, sources=names, all_articles=all_articles, limit=limit
            )
            names_by_id = source_names(session)
            payloads = current_payloads(session, [a.id for a in articles])
            images = current_images(session, [a.id for a in articles])
            with self._lock:
                self._payloads.update(payloads)
                self._images.update(images)
            return [
                RecheckTarget(
                    article_id=a.id,
                    url=a.fetch_url,
                    source=names_by_id[a.source_id],
                    headers=self.conditional_for(a, now),
                    due=a.next_check,
                )
                for a in articles
                if names_by_id.get(a.source_id) in self.sources
            ]

        return self._read(read)

    def take_images(self, article_id: int | None) -> list[dict[str, Any]] | None:
        """The current version's images of a due article with their last validators and
        fetch time (`archive.capture.current_images`), once; None when unknown."""
        if article_id is None:
            return None
        with self._lock:
            return self._images.pop(article_id, None)

    def payload_known(self, article_id: int | None, payload: bytes) -> bool:
        """True when a recheck brought back bytes the article's current version was
        captured with (as of the due list): no extraction needed."""
        if article_id is None:
            return False
        with self._lock:
            known = self._payloads.pop(article_id, None)  # one fetch per due article
        return bool(known) and hashlib.sha256(payload).hexdigest() in known

    def source_crawled(self, names: Sequence[str], problems: Mapping[str, list[str]]) -> None:
        """Stamp last_crawl_at and last_error on the crawled sources (writer thread)."""
        at = self.now() if self.now is not None else datetime.now(UTC)

        def write() -> None:
            with self.sessions.begin() as session:
                stamp_sources_crawled(session, names, problems, at)

        try:
            self.writer().submit(write).result()
        except Exception:  # boundary: bookkeeping must not turn a crawl into a failure
            logging.getLogger(__name__).exception("could not stamp sources %s", names)

    def select(self, names: Sequence[str]) -> list[SourceSpec]:
        """The named sources (all when none are named) that can be crawled: a `render =
        true` source without a browser fails with one problem line and is left out, and
        the others are crawled."""
        if not names:
            chosen = list(self.sources.values())
        else:
            missing = [n for n in names if n not in self.sources]
            if missing:
                known = ", ".join(self.sources) or "none"
                raise ValueError(f"unknown source {missing[0]!r} (known: {known})")
            chosen = [self.sources[n] for n in names]
        if self.page_renderer is not None:
            return chosen
        for source in chosen:
            if source.render:
                self._refuse_unrendered(source)
        return [s for s in chosen if not s.render]

    def _refuse_unrendered(self, source: SourceSpec) -> None:
        message = (
            f"[{source.name}] not crawled: render = true needs the browser "
            f"({self.render_unavailable}); install chromium (or set browser_executable) and "
            "browser = true, or set render = false for this source"
        )
        if self.counters.problem_once(f"render {source.name}", message):
            logging.getLogger(__name__).error("%s", message)

    def extract_pool(self) -> HelperPool | None:
        """The shared extraction pool (a worker killed is replaced: `HelperPool`), or
        None to extract where the recorder runs."""
        if self.extract_workers <= 0:
            return None
        with self._lock:
            if self._extract_pool is None:
                self._extract_pool = make_extract_pool(
                    self.extract_workers, self.extract_memory_bytes, self.worker_setup
                )
            return self._extract_pool

    def group_writer(self) -> GroupWriter:
        """Captures go through here: many per transaction and per WARC fsync, driven from
        the writer thread."""
        with self._lock:
            if self._group is None:
                self._group = GroupWriter(self, self.group_max, self.group_ms)
            return self._group

    def recorder(self) -> Recorder | RecorderProcess:
        """What commits the groups: a writer process when a factory is named, else a
        `Recorder` run on the writer thread."""
        with self._lock:
            if self._recorder is None:
                if self.recorder_factory is not None:
                    self._recorder = RecorderProcess(self.recorder_factory, self.warc)
                else:
                    self._recorder = Recorder(
                        self.sessions,
                        self.warc,
                        self.record_options,
                        self.plan_next_check,
                        outage_s=self.database_outage_s,
                    )
            return self._recorder

    def writer(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._writer is None:
                self._writer = ThreadPoolExecutor(1, thread_name_prefix="presswatch-writer")
            return self._writer

    def close(self) -> None:
        with self._lock:
            writer, self._writer = self._writer, None
        # Outside the lock: the writer's last groups still ask for the recorder.
        if writer is not None:
            writer.shutdown(wait=True)
        with self._lock:
            recorder, self._recorder = self._recorder, None
        if isinstance(recorder, RecorderProcess):
            recorder.close()
        with self._lock:
            if self._extract_pool is not None:
                self._extract_pool.shutdown()
                self._extract_pool = None
        if self.page_renderer is not None:
            self.page_renderer.close()  # the browsers still open are waited for


class GroupWriter:
    """Group commit, driven from the context's one writer thread (the recorder runs
    there or in the writer process it waits on). `submit` queues a capture and
    returns a future that resolves only after the transaction holding it committed
    (after its WARC bytes were synced): the pipeline counts and reports a capture, and
    the crawl moves on from it, only once it is durable. A process killed before that
    loses the uncommitted group from the archive and from nowhere else: the next run
    finds those URLs unknown, or those articles still due, and fetches them again."""

    def __init__(self, ctx: CrawlContext, max_items: int, max_ms: float) -> None:
        self.ctx = ctx
        self.max_items = max(1, max_items)
        self.max_s = max(0.0, max_ms) / 1000
        self._cond = threading.Condition()
        self._pending: list[tuple[CaptureTask, Future[Any]]] = []
        self._scheduled = False

    def submit(self, task: CaptureTask) -> Future[Any]:
        future: Future[Any] = Future()
        with self._cond:
            self._pending.append((task, future))
            self._cond.notify()
            if self._scheduled:
                return future
            self._scheduled = True
        self.ctx.writer().submit(self._drain)
        return future

    def _drain(self) -> None:
        """Writer thread: wait (bounded) for the group to fill, then commit it."""
        deadline = time.monotonic() + self.max_s
        with self._cond:
            while len(self._pending) < self.max_items:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            group, self._pending = (
                self._pending[: self.max_items],
                self._pending[self.max_items :],
            )
            again = bool(self._pending)
            self._scheduled = again
        if again:
            self.ctx.writer().submit(self._drain)
        try:
            results = self.ctx.recorder().record([task for task, _ in group])
        except BaseException as exc:  # the group's commit failed: each capture reports it
            for _, future in group:
                future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), result in zip(group, results, strict=True):
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)


def _warm() -> int:
    from archive.content import extract_page  # noqa: F401 - loads trafilatura now

    return 0


# Times one crawl replaces its extraction workers after one died from outside: enough
# for an OOM kill or two; workers killed again and again (a limit too low, the OOM
# killer at work) stop the crawl instead.
EXTRACT_RESTARTS = 3
# Pages one crawl may prove to kill the worker that extracts them (each costs two worker
# deaths and a few seconds): enough for the odd page that crashes the parser; more in one
# crawl is likelier the OOM killer at work, or an outlet spending our machine on purpose.
EXTRACT_CULPRITS = 5


def _start_extract_worker(memory_bytes: int, setup: RecorderFactory | None) -> None:
    limit_memory(memory_bytes)
    if setup is not None:
        path, args = setup
        load_object(path)(*args)


def make_extract_pool(
    workers: int,
    memory_bytes: int = DEFAULT_EXTRACT_MEMORY_BYTES,
    setup: RecorderFactory | None = None,
) -> HelperPool:
    """Extraction workers (crawler.processes: from the fork server, dying with the crawl),
    each with at most `memory_bytes` of data (0: no limit) and `setup` (a function's name
    and arguments) called in it as it starts. A worker killed is replaced and the pages
    it held extracted again (extraction is pure), each alone first, so that a page that
    kills whichever worker extracts it is found (`KilledItsHelper`)."""
    pool = HelperPool(
        "an extraction worker",
        workers,
        restarts=EXTRACT_RESTARTS,
        gone=(
            f"extraction workers were killed {EXTRACT_RESTARTS + 1} times in this crawl "
            "(the OOM killer? see the system log): crawl stopped, what was captured is "
            "kept; give the machine more memory, or lower extract_workers, and run again"
        ),
        culprits=EXTRACT_CULPRITS,
        culprits_gone=(
            f"more than {EXTRACT_CULPRITS} pages in this crawl each killed the extraction "
            "worker that extracted it alone (pages built to crash the extractor, or the OOM "
            "killer? see the system log): crawl stopped, what was captured is kept, those "
            "pages as captures whose extraction failed, named in the log; give the machine "
            "more memory if it ran short, and run again: each such page is tried at most twice"
        ),
        # crawler.context too: its initializer, so a lone worker for a suspect starts fast.
        preload=["archive.capture", "trafilatura", "crawler.context"],
        initializer=_start_extract_worker,
        initargs=(memory_bytes, setup),
    )
    for _ in range(workers):
        pool.submit(_warm, again=False)
    return pool


def load_context(crawler: Crawler) -> CrawlContext:
    """The context given in the settings, or one built by the configured factory (for
    `scrapy crawl`); cached on the settings' holder so all components share it."""
    given: Any = crawler.settings.get("PRESSWATCH_CONTEXT")
    if isinstance(given, CrawlContext):
        return given
    cached = getattr(crawler, "_presswatch_context", None)
    if isinstance(cached, CrawlContext):
        return cached
    factory_path = crawler.settings.get("PRESSWATCH_CONTEXT_FACTORY")
    if not factory_path:
        raise RuntimeError(
            "no crawl context: set PRESSWATCH_CONTEXT or PRESSWATCH_CONTEXT_FACTORY "
            "(crawler/settings.py names the default)"
        )
    factory = load_object(factory_path)
    context = factory(crawler.settings)
    if not isinstance(context, CrawlContext):
        raise RuntimeError(f"{factory_path} returned {type(context).__name__}, not CrawlContext")
    context.close_with_spider = True
    crawler._presswatch_context = context  # type: ignore[attr-defined]
    return context
