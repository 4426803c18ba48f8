"""`ArchivePipeline`: every fetch the spiders yield goes to `archive.record_capture`.

Two kinds of work happen off the Twisted reactor thread, so the crawl keeps downloading
while pages are processed:

- extraction (trafilatura, CPU-bound) in the context's process pool, each worker calling
  `archive.capture.extract_exchange`; the result is passed on as
  `record_capture(..., extracted=...)`;
- database and WARC writes in groups (`CrawlContext.group_writer`: many captures per
  transaction and per WARC fsync, each in its own savepoint with the article's next
  check; `crawler.recording`), by the crawl's one recorder: in a writer process of its
  own, or on the context's writer thread. A capture is counted only once its group
  committed.

A page that kills the extraction worker extracting it alone (`KilledItsHelper`), or
whose worker failed on it otherwise, is recorded with an extraction of kind `failed`
(never handed to the recorder to extract, which would die on it too).

A recheck whose body is byte for byte one already archived for the article's current
version is not extracted: the archive records it as unchanged from the digest alone.

A capture that fails is logged with its traceback and counted; the crawl goes on
(STYLE.md: `except Exception` only at the boundary of one item). A failure no later
capture could get past ends the crawl instead, with one line (`CrawlContext.stop_crawl`):
a helper process gone for good (`crawler.processes.HelperGone`: killed more often than
its budget), a WARC directory that refuses writes (`archive.WarcUnwritable`), a database
that did not answer for its outage budget (`crawler.recording.DatabaseGone`).
"""

from __future__ import annotations

import asyncio
import logging
import pickle
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Any

from scrapy.crawler import Crawler

from archive.capture import (
    CaptureResult,
    Exchange,
    ImageFetch,
    Rendering,
    RenderOutcome,
    extract_exchange,
    extract_rendered,
    images_due,
)
from archive.content import Extracted, PageKind, failed_extraction, normalize_url
from archive.errors import BadInput, WarcUnwritable
from archive.store import apply_discovery_hints
from crawler.context import CrawlContext, load_context
from crawler.images import ImageFetcher
from crawler.items import FetchItem, HintItem
from crawler.processes import HelperGone, KilledItsHelper
from crawler.recording import CaptureTask, DatabaseGone

log = logging.getLogger(__name__)

# Failures of a capture that every later capture would meet too: the crawl stops on them.
_ENDS_THE_CRAWL = (HelperGone, WarcUnwritable, DatabaseGone)

# Events that the progress display and the run summary count.
_COUNTED_EVENTS = ("discovered", "edited", "removed", "restored", "unreachable", "moved")


def _wants_extraction(exchange: Exchange) -> bool:
    if exchange.status is None or exchange.error or not 200 <= exchange.status < 300:
        return False
    ctype = (exchange.header("content-type") or "").lower()
    # Non-HTML is recorded but not extracted; the archive recognises it cheaply itself.
    return not ctype or "html" in ctype or "xml" in ctype


class ArchivePipeline:
    def __init__(self, crawler: Crawler, ctx: CrawlContext) -> None:
        self.crawler = crawler
        self.ctx = ctx
        self.images = ImageFetcher(crawler, ctx)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        return cls(crawler, load_context(crawler))

    def close_spider(self) -> None:
        if self.ctx.close_with_spider:
            self.ctx.close()

    async def process_item(self, item: Any) -> Any:
        if isinstance(item, HintItem):
            await self._in_writer(self._apply_hints, item)
            return item
        if not isinstance(item, FetchItem):
            return item
        # A `render = true` source's page is rendered before it is judged: its text is
        # the rendered DOM's, and the same server bytes say nothing about it.
        rendering = await self._render(item)
        # A recheck that brought back bytes already archived for the article's current
        # version skips extraction (the archive confirms it inside the transaction).
        known = (
            rendering is None
            and item.kind == "recheck"
            and self.ctx.payload_known(item.article_id, item.exchange.payload)
        )
        try:
            extracted = None if known else await self._extract(item.exchange, rendering)
        except HelperGone as exc:  # no extraction worker left: the rerun fetches it again
            self._give_up(exc)
            return item
        try:
            task = CaptureTask(
                item.exchange,
                item.source,
                extracted=extracted,
                payload_known=known,
                hints={**item.hints, **self._late_hints(item)},
                images=await self._images(item, extracted, known),
                rendering=rendering,
            )
            result: CaptureResult = await asyncio.wrap_future(self.ctx.group_writer().submit(task))
        except _ENDS_THE_CRAWL as exc:  # no later capture could be kept either
            self._give_up(exc)
            return item
        except Exception as exc:  # boundary: one capture must not stop the crawl
            log.exception("recording %s failed", item.exchange.requested_url)
            self._stat("presswatch/capture_failed")
            self.ctx.counters.problem(
                f"capture of {item.exchange.requested_url} failed: {type(exc).__name__}: {exc}"
            )
            return item
        self._count(item, result)
        return item

    async def _images(
        self, item: FetchItem, extracted: Extracted | None, known: bool
    ) -> tuple[ImageFetch, ...] | None:
        """The article's images, fetched (crawler.images): those the page names when it
        was extracted, else, when its bytes are the current version's or the page
        answered 304 and the version's images are due again (`images_due`: their last
        fetch is `image_recheck_every` old), that version's; None (not looked at)
        otherwise. An unchanged page so costs no image request between those fetches."""
        exchange = item.exchange
        last = self.ctx.take_images(item.article_id)
        if exchange.error or exchange.status not in (200, 304):
            return None
        refs: list[dict[str, Any]]
        if exchange.status == 200 and extracted is not None:
            if extracted.kind is not PageKind.HTML:
                return None
            validators = {ref["src"]: ref for ref in last or ()}
            refs = [
                {**validators.get(image.src, {}), **asdict(image)} for image in extracted.images
            ]
        elif last is not None and (known or exchange.status == 304):
            if not images_due(last, exchange.fetched_at, self.ctx.image_recheck_every):
                return None
            refs = last
        else:
            return None
        source = self.ctx.sources.get(item.source)
        return await self.images.fetch_all(
            refs,
            source=item.source,
            min_delay_s=source.crawl_delay_s if source is not None else None,
        )

    async def _in_writer(self, fn: Any, *args: Any) -> Any:
        return await asyncio.wrap_future(self.ctx.writer().submit(fn, *args))

    async def _render(self, item: FetchItem) -> Rendering | None:
        """The page rendered in the browser, for a `render = true` source's HTML page
        (None otherwise). Never raises: a failed rendering is one with its outcome."""
        source = self.ctx.sources.get(item.source)
        if source is None or not source.render:
            return None
        if (
            not _wants_extraction(item.exchange)
            or "xml" in (item.exchange.header("content-type") or "").lower()
        ):
            return None
        renderer = self.ctx.page_renderer
        if renderer is None:
            # A request saved by a run that had the browser (JOBDIR), fetched by one that
            # has none: its shell is kept, never read as the article's text.
            now = datetime.now(UTC)
            return Rendering(
                url=item.exchange.final_url,
                outcome=RenderOutcome.UNAVAILABLE,
                reason=f"render = true, but no browser: {self.ctx.render_unavailable}",
                started_at=now,
                ended_at=now,
                browser="",
            )
        rendering = await asyncio.wrap_future(renderer.submit(item.exchange))
        self._stat(f"presswatch/render_source/{rendering.outcome.value}")
        return rendering

    async def _extract(
        self, exchange: Exchange, rendering: Rendering | None = None
    ) -> Extracted | None:
        if not _wants_extraction(exchange):
            return None
        pool = self.ctx.extract_pool()
        if pool is None:
            return None  # record_capture extracts where the recorder runs
        try:
            # A worker killed on it (the OOM killer) is replaced and the page extracted
            # again, alone (crawler.processes.HelperPool); past the budget, HelperGone.
            if rendering is not None:
                # Only what extraction reads crosses to the worker (no screenshot).
                dom_only = replace(rendering, screenshot_png=None, resources=(), refused=())
                future = pool.submit(extract_rendered, exchange, dom_only, self.ctx.max_body_bytes)
            else:
                future = pool.submit(extract_exchange, exchange, self.ctx.max_body_bytes)
            return await asyncio.wrap_future(future)
        except (pickle.PicklingError, OSError) as exc:
            # The page could not reach a worker: extract where the recorder runs.
            log.warning("extraction pool failed on %s: %s", exchange.requested_url, exc)
            self._stat("presswatch/extract_pool_failed")
            return None
        except KilledItsHelper as exc:
            # The page kills whichever worker extracts it: recorded as failed (its
            # capture, WARC record and leaf kept), never extracted by the recorder.
            log.warning(
                "extraction of %s killed the worker that extracted it alone; recorded as "
                "a capture whose extraction failed (page `failed`)",
                exchange.requested_url,
            )
            self._stat("presswatch/extract_killed_worker")
            return failed_extraction(f"extraction killed its worker ({exc}); not read")
        except (MemoryError, BrokenProcessPool) as exc:
            # Failed beyond extract_page's own boundary: the result too large to send
            # back within the worker's memory limit, or no lone worker could be started.
            log.warning("extraction of %s failed in its worker: %r", exchange.requested_url, exc)
            self._stat("presswatch/extract_failed")
            return failed_extraction(f"extraction failed ({type(exc).__name__}: {exc}); not read")

    def _give_up(self, exc: Exception) -> None:
        """End the crawl with the one line saying why (every fetch still in flight
        fails the same way: said once); `scrapy crawl` has no one to end it, and
        reports it as one problem."""
        if self.ctx.stop_crawl is not None:
            self.ctx.stop_crawl(str(exc))
        elif self.ctx.counters.problem_once(type(exc).__name__, str(exc)):
            log.error("%s", exc)

    def _late_hints(self, item: FetchItem) -> dict[str, Any]:
        try:
            return self.ctx.take_claim_hints(normalize_url(item.exchange.requested_url))
        except BadInput:
            return {}

    # -- writer thread -----------------------------------------------------------------

    def _apply_hints(self, item: HintItem) -> None:
        """Keep discovery's hints on a known article; bring its check forward when the
        outlet says it changed after our last check (sitemap lastmod, feed updated)."""
        with self.ctx.sessions.begin() as session:
            if apply_discovery_hints(session, item.url, item.hints):
                self.ctx.counters.add("nudged")

    # -- accounting --------------------------------------------------------------------

    def _count(self, item: FetchItem, result: CaptureResult) -> None:
        counters = self.ctx.counters
        counters.add("captures")
        counters.add(f"outcome.{result.outcome.value}")
        for event in result.events:
            if event in _COUNTED_EVENTS:
                counters.add(event)
        status = item.exchange.status
        if status is None or status >= 500:
            counters.add("fetch_errors")
        self._stat(f"presswatch/outcome/{result.outcome.value}")

    def _stat(self, key: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(key)
