"""Rendering the pages of `render = true` sources as they are fetched, before they are
judged: the crawler hands each fetched page (its exchange) to `PageRenderer.submit` and
reads the page's text and links from the rendered DOM (crawler.pipelines,
crawler.spiders.base). The browser is given the bytes the server sent, never fetches
the page again; every sub-request goes through the egress policy (render_page).

At most `workers` browsers run at once (`browser_workers`); the crawl's screenshots of
new versions (presswatch.browser.recording) have a pool of their own, so a crawl with
render sources may run twice that many.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime

from archive.capture import Exchange, Rendering, RenderOutcome
from presswatch.browser.render import BrowserConfig, Document, render_page

__all__ = ["PageRenderer"]

log = logging.getLogger(__name__)

# The body handed to the browser is decoded: headers describing the transfer would lie.
_TRANSFER_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class PageRenderer:
    """Renders fetched pages on `workers` threads (one browser each)."""

    def __init__(self, config: BrowserConfig, workers: int = 1) -> None:
        self.config = config
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, workers), thread_name_prefix="presswatch-render-source"
        )

    def submit(self, exchange: Exchange) -> Future[Rendering]:
        return self._pool.submit(self._render, exchange)

    def _render(self, exchange: Exchange) -> Rendering:
        headers = tuple((k, v) for k, v in exchange.headers if k.lower() not in _TRANSFER_HEADERS)
        document = Document(exchange.final_url, exchange.status or 200, headers, exchange.body)
        started = datetime.now(UTC)
        try:
            return render_page(self.config, document)
        except Exception as exc:  # boundary: one page's rendering never stops the crawl
            log.exception("rendering %s failed", exchange.final_url)
            return Rendering(
                url=exchange.final_url,
                outcome=RenderOutcome.FAILED,
                reason=f"{type(exc).__name__}: {exc}",
                started_at=started,
                ended_at=datetime.now(UTC),
                browser="",
            )

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
