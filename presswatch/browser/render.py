"""Render one page in a fresh headless Chromium and gather what it needed and showed.

Driven over the DevTools protocol directly (presswatch.browser.cdp), not Playwright:
Playwright for Python brings a Node.js driver of its own (some 100 MB) tied to the
Chromium build it expects, where Debian's chromium moves with the distribution; what a
capture needs is a handful of protocol commands (request interception, dialogs,
layout metrics, a screenshot, one evaluation) that the protocol offers as they are.
Owning the process also gives what a memory cap needs: its process group, to measure
and to kill. Brozzler, the Internet Archive's browser crawler, drives Chromium the
same way.

How a page is held (each a defence against hostile pages, docs/security.md):

- a fresh profile directory, browser and browser context per rendering; service
  workers bypassed and hidden, dialogs and `window.open` neutralized before any page
  script runs, downloads denied;
- every request is paused (`Fetch` domain, on the page and on every frame or worker
  attached to it) and fetched by us through the egress policy, robots.txt and the body
  limits (presswatch.browser.fetch); a refused one is aborted in the browser and listed
  with its reason; anything that escapes interception meets a dead proxy;
- the page's own document is answered with the bytes the capture recorded, so the
  screenshot shows exactly the response the WARC holds;
- `timeout_s` ends it: a quarter of it (3 s at least, half at most) before the end, a page
  still loading is cut off (outcome
  `timed_out`) and the screenshot and DOM are taken as it stands, within what is left;
  the browser is killed at the end whatever it is doing;
- the browser's resident memory (all its processes) above `memory_mb` kills it
  (`memory_exceeded`); a page may make `max_requests` requests and fetch
  `max_page_bytes` bytes; the screenshot is cut at `max_screenshot_height_px`.
"""

from __future__ import annotations

import base64
import logging
import math
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from archive.capture import Refusal, RefusalKind, Rendering, RenderOutcome, SubResource
from archive.egress import Networks
from presswatch.browser.cdp import Browser, BrowserGone, ProtocolError
from presswatch.browser.fetch import SubFetcher

__all__ = ["BrowserConfig", "Document", "render_page"]

log = logging.getLogger(__name__)

# Runs in every frame before the page's scripts: an alert loop, a print dialog or a
# popup cannot stall or escape the rendering, and no service worker can be registered.
_INIT_SCRIPT = """(() => {
  const define = (name, value) => {
    try { Object.defineProperty(window, name, {value, writable: false, configurable: false}); }
    catch (e) {}
  };
  define("alert", () => undefined);
  define("print", () => undefined);
  define("confirm", () => false);
  define("prompt", () => null);
  define("open", () => null);
  try { delete Navigator.prototype.serviceWorker; } catch (e) {}
})();"""
_DOM_EXPRESSION = "document.documentElement ? document.documentElement.outerHTML : ''"
# Response headers that describe the transfer, not the body handed to the browser.
_TRANSFER_HEADERS = frozenset({"transfer-encoding", "connection", "keep-alive", "content-length"})
_QUIET_S = 0.5  # after `load`, no request for this long means settled
_AFTER_LOAD_S = 3.0  # …or this long after `load`, whatever the page keeps doing


@dataclass(frozen=True, slots=True)
class BrowserConfig:
    """How pages are rendered; `presswatch.browser.config_from_settings` builds it."""

    executable: str
    allow: Networks
    user_agent: str
    max_body_bytes: int
    robots_token: str = "Presswatch"
    obey_robots: bool = True
    timeout_s: float = 30.0
    fetch_timeout_s: float = 15.0
    memory_mb: int = 2048
    max_page_bytes: int = 100_000_000
    max_requests: int = 500
    max_screenshot_height_px: int = 16_384
    viewport_width_px: int = 1280
    viewport_height_px: int = 900
    fetch_workers: int = 4
    extra_flags: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Document:
    """The page's own response, as the capture recorded it: the browser is given these
    bytes rather than fetching the page a second time."""

    url: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def render_page(
    config: BrowserConfig,
    document: Document,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Rendering:
    """Render `document` in a fresh browser under `config`. Never raises for what the
    page or the browser does: every ending is a `Rendering` with its outcome."""
    started = now()
    clock_start = time.monotonic()  # the browser's start counts against `timeout_s`
    try:
        browser = Browser.launch(
            config.executable,
            (
                f"--js-flags=--max-old-space-size={max(64, config.memory_mb // 2)}",
                *config.extra_flags,
            ),
        )
    except OSError as exc:
        return Rendering(
            url=document.url,
            outcome=RenderOutcome.UNAVAILABLE,
            reason=f"the browser could not start: {exc}",
            started_at=started,
            ended_at=now(),
            browser="",
        )
    session = _Session(config, document, browser, now, clock_start)
    try:
        session.run()
    except BrowserGone as exc:
        session.end(RenderOutcome.CRASHED, f"the browser died: {exc}")
    except TimeoutError as exc:
        session.end(
            RenderOutcome.TIMED_OUT,
            f"the browser did not answer within browser_timeout_s ({config.timeout_s:g} s): {exc}",
        )
    except (ProtocolError, KeyError, TypeError, ValueError) as exc:
        session.end(RenderOutcome.FAILED, f"the browser could not be driven: {exc}")
    finally:
        session.fetch_pool.shutdown(wait=False, cancel_futures=True)
        browser.close()
    return session.result(started, now())


class _Session:
    """The state of one rendering; `run` drives it, `result` reads it out."""

    def __init__(
        self,
        config: BrowserConfig,
        document: Document,
        browser: Browser,
        now: Callable[[], datetime],
        start: float,
    ) -> None:
        self.config = config
        self.document = document
        self.browser = browser
        self.start = start
        self.hard_deadline = self.start + config.timeout_s
        # What is left after settling is for the screenshot and the DOM.
        reserve_s = min(max(config.timeout_s * 0.25, 3.0), config.timeout_s * 0.5)
        self.settle_deadline = self.hard_deadline - reserve_s
        self.fetcher = SubFetcher(
            allow=config.allow,
            user_agent=config.user_agent,
            robots_token=config.robots_token,
            obey_robots=config.obey_robots,
            max_body_bytes=config.max_body_bytes,
            max_total_bytes=config.max_page_bytes,
            timeout_s=config.fetch_timeout_s,
            now=now,
        )
        self.fetch_pool = ThreadPoolExecutor(
            max_workers=config.fetch_workers, thread_name_prefix="presswatch-browser-fetch"
        )
        self.pending: dict[Future[SubResource | Refusal], tuple[str, str]] = {}
        self.pending_urls: dict[Future[SubResource | Refusal], tuple[str, str]] = {}
        self.done_fetches: dict[tuple[str, str], SubResource | Refusal] = {}
        self.resources: list[SubResource] = []
        self.refused: list[Refusal] = []
        self.requests = 0
        self.dialogs = 0
        self.document_served = False
        self.page_session = ""
        self.browser_name = ""
        self.loaded_at: float | None = None
        self.last_request_at = self.start
        self.outcome: RenderOutcome | None = None
        self.reason = ""
        self.screenshot: bytes | None = None
        self.screenshot_truncated = False
        self.page_height: int | None = None
        self.dom: str | None = None
        self.dom_truncated = False

    def end(self, outcome: RenderOutcome, reason: str) -> None:
        if self.outcome is None or self.outcome is RenderOutcome.TIMED_OUT:
            self.outcome, self.reason = outcome, reason

    def result(self, started: datetime, ended: datetime) -> Rendering:
        outcome = self.outcome or RenderOutcome.RENDERED
        return Rendering(
            url=self.document.url,
            outcome=outcome,
            reason=self.reason or "rendered",
            started_at=started,
            ended_at=ended,
            browser=self.browser_name,
            screenshot_png=self.screenshot,
            screenshot_truncated=self.screenshot_truncated,
            page_height_px=self.page_height,
            dom_html=self.dom,
            dom_truncated=self.dom_truncated,
            resources=tuple(self.resources),
            refused=tuple(self.refused),
            dialogs=self.dialogs,
        )

    # -- driving ---------------------------------------------------------------------

    def run(self) -> None:
        call, deadline = self.browser.call, self.hard_deadline
        self.browser_name = str(call("Browser.getVersion", deadline=deadline).get("product", ""))
        call("Browser.setDownloadBehavior", {"behavior": "deny"}, deadline=deadline)
        context = call("Target.createBrowserContext", {"disposeOnDetach": True}, deadline=deadline)[
            "browserContextId"
        ]
        target = call(
            "Target.createTarget",
            {"url": "about:blank", "browserContextId": context},
            deadline=deadline,
        )["targetId"]
        self.page_session = call(
            "Target.attachToTarget", {"targetId": target, "flatten": True}, deadline=deadline
        )["sessionId"]
        self._prepare(self.page_session)
        self.browser.send("Page.navigate", {"url": self.document.url}, self.page_session)
        if not self._load():
            return
        self._take_pictures()

    def _prepare(self, session: str) -> None:
        call, deadline = self.browser.call, self.hard_deadline
        call("Fetch.enable", {"patterns": [{"urlPattern": "*"}]}, session, deadline=deadline)
        call("Network.enable", {}, session, deadline=deadline)
        call("Network.setBypassServiceWorker", {"bypass": True}, session, deadline=deadline)
        call("Page.enable", {}, session, deadline=deadline)
        call(
            "Page.addScriptToEvaluateOnNewDocument",
            {"source": _INIT_SCRIPT},
            session,
            deadline=deadline,
        )
        call(
            "Network.setUserAgentOverride",
            {"userAgent": self.config.user_agent},
            session,
            deadline=deadline,
        )
        call(
            "Emulation.setDeviceMetricsOverride",
            {
                "width": self.config.viewport_width_px,
                "height": self.config.viewport_height_px,
                "deviceScaleFactor": 1,
                "mobile": False,
            },
            session,
            deadline=deadline,
        )
        call(
            "Target.setAutoAttach",
            {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True},
            session,
            deadline=deadline,
        )

    def _prepare_child(self, session: str) -> None:
        """A frame in its own process or a worker, paused at its start: intercept its
        requests too, then let it run. Sent without waiting (a target may be gone by
        the time it would answer); a session answers in the order it was asked."""
        send = self.browser.send
        send("Fetch.enable", {"patterns": [{"urlPattern": "*"}]}, session)
        send("Network.setBypassServiceWorker", {"bypass": True}, session)
        send(
            "Target.setAutoAttach",
            {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True},
            session,
        )
        send("Runtime.runIfWaitingForDebugger", {}, session)

    def _load(self) -> bool:
        """Serve the page's requests until it settled or the time to settle ran out;
        False when the rendering is over (memory, crash)."""
        next_memory_check = 0.0
        while True:
            now = time.monotonic()
            if now >= next_memory_check:
                next_memory_check = now + 0.25
                used = self.browser.memory_bytes()
                if used > self.config.memory_mb * 1024 * 1024:
                    self.end(
                        RenderOutcome.MEMORY_EXCEEDED,
                        f"the browser used {used // 2**20} MB, more than "
                        f"{self.config.memory_mb} MB (browser_memory_mb): killed",
                    )
                    return False
            if self.outcome is RenderOutcome.CRASHED:
                return False
            if (
                self.loaded_at is not None
                and not self.pending
                and (
                    now - self.last_request_at >= _QUIET_S or now - self.loaded_at >= _AFTER_LOAD_S
                )
            ):
                return True
            if self.loaded_at is not None and now - self.loaded_at >= _AFTER_LOAD_S:
                return True  # loaded; what it still fetches after that is not waited for
            if now >= self.settle_deadline:
                self.end(
                    RenderOutcome.TIMED_OUT,
                    f"the page had not finished loading after {now - self.start:.1f} s "
                    f"(browser_timeout_s {self.config.timeout_s:g}): cut off",
                )
                self._cut_off()
                return True
            self._deliver_fetches()
            self.browser.pump(min(self.settle_deadline, time.monotonic() + 0.05))
            while self.browser.events:
                self._on_event(self.browser.events.popleft())

    def _cut_off(self) -> None:
        """The time to settle is over: abort what is still in flight, stop loading."""
        for future, (request_id, session) in list(self.pending.items()):
            future.cancel()
            url, kind = self.pending_urls.pop(future)
            self.refused.append(
                Refusal(url, kind, RefusalKind.LIMIT, "still loading when the page was cut off")
            )
            self.browser.send(
                "Fetch.failRequest", {"requestId": request_id, "errorReason": "TimedOut"}, session
            )
        self.pending.clear()
        self.browser.send("Page.stopLoading", {}, self.page_session)

    def _take_pictures(self) -> None:
        call, session = self.browser.call, self.page_session
        deadline = self.hard_deadline
        try:
            metrics = call("Page.getLayoutMetrics", {}, session, deadline=deadline)
            size = metrics.get("cssContentSize") or metrics.get("contentSize") or {}
            height = max(1, math.ceil(float(size.get("height", 1))))
            self.page_height = height
            shot_height = min(height, self.config.max_screenshot_height_px)
            self.screenshot_truncated = shot_height < height
            shot = call(
                "Page.captureScreenshot",
                {
                    "format": "png",
                    "captureBeyondViewport": True,
                    "fromSurface": True,
                    "clip": {
                        "x": 0,
                        "y": 0,
                        "width": self.config.viewport_width_px,
                        "height": shot_height,
                        "scale": 1,
                    },
                },
                session,
                deadline=deadline,
            )
            self.screenshot = base64.b64decode(shot["data"], validate=True)
            evaluated = call(
                "Runtime.evaluate",
                {"expression": _DOM_EXPRESSION, "returnByValue": True},
                session,
                deadline=deadline,
            )
            dom = str(evaluated.get("result", {}).get("value", ""))
            limit = self.config.max_body_bytes
            encoded = dom.encode("utf-8")
            if len(encoded) > limit:
                dom = encoded[:limit].decode("utf-8", "ignore")
                self.dom_truncated = True
            self.dom = dom
        except TimeoutError:
            self.end(
                RenderOutcome.TIMED_OUT,
                f"the page did not let itself be pictured within browser_timeout_s "
                f"({self.config.timeout_s:g} s): its scripts never yielded",
            )

    # -- events ------------------------------------------------------------------------

    def _on_event(self, event: dict[str, Any]) -> None:
        method = event.get("method", "")
        params = event.get("params") or {}
        session = str(event.get("sessionId") or "")
        if method == "Fetch.requestPaused":
            self._on_request(params, session)
        elif method == "Page.loadEventFired" and session == self.page_session:
            if self.loaded_at is None:
                self.loaded_at = time.monotonic()
        elif method == "Page.javascriptDialogOpening":
            self.dialogs += 1
            self.browser.send("Page.handleJavaScriptDialog", {"accept": False}, session)
        elif method == "Target.attachedToTarget":
            self._prepare_child(str(params.get("sessionId", "")))
        elif method in ("Inspector.targetCrashed", "Target.targetCrashed"):
            self.end(RenderOutcome.CRASHED, "the page's renderer crashed")

    def _on_request(self, params: dict[str, Any], session: str) -> None:
        request = params.get("request") or {}
        request_id = str(params["requestId"])
        url = str(request.get("url", "")).split("#", 1)[0]
        method = str(request.get("method", "GET"))
        kind = str(params.get("resourceType", "Other"))
        self.last_request_at = time.monotonic()
        if not self.document_served and kind == "Document" and url == self.document.url:
            self.document_served = True
            self._fulfil(
                request_id,
                session,
                self.document.status,
                "",
                self.document.headers,
                self.document.body,
            )
            return
        known = self.done_fetches.get((method, url))
        if known is not None:
            self._answer(request_id, session, known, record=False)
            return
        self.requests += 1
        if self.requests > self.config.max_requests:
            reason = f"more than {self.config.max_requests} requests from one page"
            self._answer(request_id, session, Refusal(url, kind, RefusalKind.LIMIT, reason))
            return
        if time.monotonic() >= self.settle_deadline:
            refusal = Refusal(url, kind, RefusalKind.LIMIT, "asked for after the page was cut off")
            self._answer(request_id, session, refusal)
            return
        headers = {str(k): str(v) for k, v in (request.get("headers") or {}).items()}
        future = self.fetch_pool.submit(
            self.fetcher.fetch, url, method, headers, kind, self.settle_deadline
        )
        self.pending[future] = (request_id, session)
        self.pending_urls[future] = (url, kind)

    def _deliver_fetches(self) -> None:
        for future in [f for f in self.pending if f.done()]:
            request_id, session = self.pending.pop(future)
            self.pending_urls.pop(future, None)
            if future.cancelled():
                continue
            result = future.result()
            self.done_fetches[(result_method(result), result.url)] = result
            self._answer(request_id, session, result)

    def _answer(
        self, request_id: str, session: str, result: SubResource | Refusal, *, record: bool = True
    ) -> None:
        if isinstance(result, Refusal):
            if record:
                self.refused.append(result)
                log.info("browser refused %s: %s", result.url, result.reason)
            reason = "TimedOut" if "timed out" in result.reason.lower() else "BlockedByClient"
            if result.kind is RefusalKind.NETWORK and reason != "TimedOut":
                reason = "Failed"
            self.browser.send(
                "Fetch.failRequest", {"requestId": request_id, "errorReason": reason}, session
            )
            return
        if record:
            self.resources.append(result)
        self._fulfil(
            request_id, session, result.status, result.reason, result.response_headers, result.body
        )

    def _fulfil(
        self,
        request_id: str,
        session: str,
        status: int,
        phrase: str,
        headers: tuple[tuple[str, str], ...],
        body: bytes,
    ) -> None:
        kept = [{"name": n, "value": v} for n, v in headers if n.lower() not in _TRANSFER_HEADERS]
        params: dict[str, Any] = {
            "requestId": request_id,
            "responseCode": status,
            "responseHeaders": kept,
            "body": base64.b64encode(body).decode("ascii"),
        }
        if phrase:
            params["responsePhrase"] = phrase
        self.browser.send("Fetch.fulfillRequest", params, session)


def result_method(result: SubResource | Refusal) -> str:
    return result.method if isinstance(result, SubResource) else "GET"
