"""Rendering captures and recording what the browser saw, off the crawl's path.

`render_capture` renders one recorded capture's page (the bytes its WARC record holds)
and records the rendering in its own transaction (archive.capture.record_rendering).
`RenderPool` runs it on `browser_workers` threads so a crawl goes on while pages
render; a rendering that fails is logged and recorded with its outcome, never raised
into the crawl.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from archive.capture import page_to_render, record_rendering
from archive.warc import WarcStore
from presswatch.browser.render import BrowserConfig, Document, render_page

__all__ = ["CrawlRenderer", "RenderPool", "RenderedCapture", "render_capture"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RenderedCapture:
    capture_id: int
    rendering_id: int
    outcome: str
    reason: str


def render_capture(
    config: BrowserConfig,
    sessions: sessionmaker[Session],
    warc: WarcStore,
    capture_id: int,
) -> RenderedCapture | None:
    """Render capture `capture_id` and record it; None when it has no page to render."""
    with sessions() as session:
        page = page_to_render(session, warc, capture_id, config.max_body_bytes)
    if page is None:
        return None
    result = render_page(config, Document(page.url, page.status, page.headers, page.body))
    # One append, synced before the transaction commits (no group: a group's fsync
    # waits for every thread in it, and another worker may hold one open).
    with sessions.begin() as session:
        row = record_rendering(session, warc, capture_id, result, recorded_at=datetime.now(UTC))
        return RenderedCapture(capture_id, row.id, row.outcome, row.reason)


class RenderPool:
    """Renders captures on `workers` threads; `wait` blocks until all are recorded."""

    def __init__(
        self,
        config: BrowserConfig,
        sessions: sessionmaker[Session],
        warc: WarcStore,
        workers: int = 1,
    ) -> None:
        self.config = config
        self.sessions = sessions
        self.warc = warc
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="presswatch-render")
        self._futures: list[Future[RenderedCapture | None]] = []
        self._lock = threading.Lock()
        self.done: list[RenderedCapture] = []
        self.failed: list[tuple[int, str]] = []

    def submit(self, capture_id: int) -> None:
        future = self._pool.submit(self._run, capture_id)
        with self._lock:
            self._futures.append(future)

    def _run(self, capture_id: int) -> RenderedCapture | None:
        try:
            rendered = render_capture(self.config, self.sessions, self.warc, capture_id)
        except Exception as exc:  # boundary: one page's rendering never stops the crawl
            log.exception("rendering capture %s failed", capture_id)
            with self._lock:
                self.failed.append((capture_id, f"{type(exc).__name__}: {exc}"))
            return None
        if rendered is not None:
            with self._lock:
                self.done.append(rendered)
        return rendered

    def wait(self) -> None:
        with self._lock:
            futures = list(self._futures)
        for future in futures:
            future.exception()
        self._pool.shutdown(wait=True)


class CrawlRenderer:
    """Renders, during a crawl, each capture of it that made a new version: a thread
    looks for them every `poll_s` seconds and hands them to a `RenderPool`; `finish`
    takes the last ones and waits for every rendering to be recorded. Unchanged
    rechecks are never rendered; captures made before the crawl started are not either
    (their page requisites may have changed since)."""

    def __init__(
        self,
        config: BrowserConfig,
        sessions: sessionmaker[Session],
        warc: WarcStore,
        *,
        workers: int,
        poll_s: float = 2.0,
    ) -> None:
        from archive.capture import log_size

        self.pool = RenderPool(config, sessions, warc, workers)
        self.sessions = sessions
        self.poll_s = poll_s
        with sessions() as session:
            self.after_seq = log_size(session)
        self._submitted: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="presswatch-render-feed")

    def start(self) -> CrawlRenderer:
        self._thread.start()
        return self

    def _feed(self) -> None:
        from archive.capture import captures_to_render

        with self.sessions() as session:
            due = captures_to_render(session, after_seq=self.after_seq, limit=1000)
        for capture_id in due:
            if capture_id not in self._submitted:
                self._submitted.add(capture_id)
                self.pool.submit(capture_id)

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self._feed()
            except Exception:  # boundary: a failed look-up is tried again next poll
                log.exception("looking for captures to render failed")

    def finish(self, *, take_rest: bool = True) -> RenderPool:
        """Wait for the renderings; `take_rest=False` (an interrupted crawl) renders no
        capture not yet handed over."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        if take_rest:
            self._feed()
        self.pool.wait()
        return self.pool
