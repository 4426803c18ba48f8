"""What every Presswatch spider shares: article fetches that always end in a capture.

An article request is sent with `handle_httpstatus_all`, so 304, 404, 410 and 5xx reach
the callback instead of being dropped by HttpErrorMiddleware; redirects are followed
here, by hand, so each hop is recorded; and an errback turns every Twisted or Scrapy
failure (timeout, DNS, refused, reset, TLS, robots.txt unavailable) into an Exchange
with `status=None` and a named `error`. Only a robots.txt *disallow* produces no
capture: we never fetched, and must not.

Discovery documents (sitemaps, feeds, listing pages) are fetched with the same redirect
handling but are not recorded: they are not articles, and a listing page recorded as a
capture would become an "article". Their failures are counted and reported per source.
"""

from __future__ import annotations

import asyncio
import http
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response
from twisted.python.failure import Failure

from archive.capture import Exchange, RedirectHop, RenderOutcome
from archive.content import normalize_url
from archive.egress import ALLOWED_SCHEMES
from archive.errors import BadInput
from crawler.context import CrawlContext, SourceSpec, load_context
from crawler.egress import require_egress_policy
from crawler.failures import failure_kind
from crawler.items import FetchItem, HintItem
from crawler.middlewares import BODY_META_KEYS, RobotsForbidden, RobotsUnavailable

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DOCUMENT_MAX_BYTES = 50 * 1024 * 1024


def error_kind(failure: Failure) -> str:
    """A short, stable name for a download failure (Exchange.error)."""
    value = failure.value
    assert value is not None
    if isinstance(value, RobotsUnavailable):
        # The host's robots.txt could not be read: name why, it is the host's state.
        return value.kind
    return failure_kind(value)


def body_problem(meta: dict[str, Any]) -> tuple[str | None, str]:
    """The Exchange error and detail for a body that BodySizeMiddleware cut at the
    limit (`too_large`: the first bytes are kept, judged like a page that could not be
    read) or could not decode (`bad_encoding`: what was decoded is kept)."""
    truncated = meta.get("pw_truncated")
    if truncated:
        return "too_large", str(truncated["detail"])
    if meta.get("pw_decode_error"):
        return "bad_encoding", str(meta["pw_decode_error"])
    return None, ""


def _headers(headers: Any) -> tuple[tuple[str, str], ...]:
    return _header_pairs((key, value) for key, values in headers.items() for value in values)


def _header_pairs(pairs: Iterable[tuple[Any, Any]]) -> tuple[tuple[str, str], ...]:
    return tuple((_text(name), _text(value)) for name, value in pairs)


def _text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _hops(meta: dict[str, Any]) -> tuple[RedirectHop, ...]:
    return tuple(
        RedirectHop(url=u, status=s, location=loc) for u, s, loc in meta.get("pw_hops", ())
    )


def host_of(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


class PresswatchSpider(scrapy.Spider):
    """Spider arguments (`-a`): `source=NAME[,NAME…]` (default: all enabled sources),
    `limit=N` (new articles per source)."""

    ctx: CrawlContext

    def __init__(self, source: str | None = None, limit: str | int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.source_names = [s.strip() for s in (source or "").split(",") if s.strip()]
        self.limit = int(limit) if limit not in (None, "") else None
        self.article_counts: dict[str, int] = {}
        self.source_problems: dict[str, list[str]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> PresswatchSpider:
        require_egress_policy(crawler.settings)
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.ctx = load_context(crawler)
        return spider

    def selected_sources(self) -> list[SourceSpec]:
        return self.ctx.select(self.source_names)

    # -- article fetches -------------------------------------------------------------

    def article_request(
        self,
        url: str,
        source: SourceSpec,
        *,
        kind: str,
        article_id: int | None = None,
        hints: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        fingerprint: str | None = None,
        priority: int = 0,
        shared_dedupe: bool = False,
    ) -> Request:
        meta = {
            "handle_httpstatus_all": True,
            "pw_source": source.name,
            "pw_kind": kind,
            "pw_origin": url,
            "pw_hops": [],
            "pw_article_id": article_id,
            "pw_hints": dict(hints or {}),
            "pw_min_delay_s": source.crawl_delay_s,
            "pw_max_body": self.ctx.max_body_bytes,
        }
        if fingerprint:
            meta["pw_fingerprint"] = fingerprint
        return Request(
            url,
            callback=self.on_article,
            errback=self.on_article_error,
            headers={"User-Agent": self.ctx.user_agent, **(headers or {})},
            meta=meta,
            # Rechecks and hops must never be dropped as duplicates; with a shared
            # (Redis) dupefilter, a fingerprint names the due check instead. Locally,
            # new articles are deduplicated by `candidate()` and the archive, because
            # a JOBDIR dupefilter killed mid-crawl would remember requests never made.
            dont_filter=not (fingerprint or shared_dedupe),
            priority=priority,
        )

    def on_article(self, response: Response) -> Iterator[Request | FetchItem]:
        meta = response.meta
        hops = list(meta.get("pw_hops", ()))
        truncated = meta.get("pw_truncated")
        location = response.headers.get(b"Location")
        if response.status in REDIRECT_STATUSES and location and not truncated:
            target = urljoin(response.url, location.decode("latin-1").strip())
            hop = (response.url, response.status, target)
            visited = {meta["pw_origin"], *(h[0] for h in hops)}
            if target in visited or target == response.url:
                yield self._item(response, hops=[*hops, hop], error="redirect_loop")
                return
            if len(hops) + 1 > self.ctx.max_redirects:
                yield self._item(response, hops=[*hops, hop], error="too_many_redirects")
                return
            if urlsplit(target).scheme not in ALLOWED_SCHEMES:
                yield self._item(response, hops=[*hops, hop], error="bad_redirect")
                return
            follow = response.request.replace(  # type: ignore[union-attr]
                url=target,
                meta={**meta, "pw_hops": [*hops, hop]},
                dont_filter=True,
            )
            # Validators belong to the first URL; the target is a different resource.
            follow.headers.pop(b"If-None-Match", None)
            follow.headers.pop(b"If-Modified-Since", None)
            follow.meta.pop("pw_fingerprint", None)
            for key in BODY_META_KEYS:
                follow.meta.pop(key, None)
            for key in ("retry_times", "download_slot", "download_latency"):
                follow.meta.pop(key, None)
            yield follow
            return
        error, detail = body_problem(meta)
        yield self._item(response, hops=hops, error=error, error_detail=detail)

    def _item(
        self,
        response: Response,
        *,
        hops: list[Any],
        error: str | None = None,
        error_detail: str = "",
    ) -> FetchItem:
        meta = response.meta
        request = response.request
        try:
            reason = http.HTTPStatus(response.status).phrase
        except ValueError:
            reason = ""
        # The WARC keeps the response as received: the headers as sent and the body as
        # transmitted, when BodySizeMiddleware decoded it (extraction reads `body`).
        sent = meta.get("pw_sent_headers")
        exchange = Exchange(
            requested_url=meta["pw_origin"],
            final_url=response.url,
            fetched_at=self._now(),
            status=response.status,
            headers=_headers(response.headers) if sent is None else _header_pairs(sent),
            body=response.body,
            transmitted=meta.get("pw_transmitted"),
            transmitted_cut=bool(meta.get("pw_transmitted_cut")),
            redirects=tuple(RedirectHop(url=u, status=s, location=loc) for u, s, loc in hops),
            error=error,
            error_detail=error_detail,
            reason=reason,
            request_headers=_headers(request.headers) if request is not None else (),
            source=meta["pw_source"],
        )
        self.ctx.counters.add("fetched")
        return FetchItem(
            exchange=exchange,
            source=meta["pw_source"],
            kind=meta["pw_kind"],
            article_id=meta.get("pw_article_id"),
            hints=dict(meta.get("pw_hints") or {}),
        )

    def on_article_error(self, failure: Failure) -> Iterable[FetchItem]:
        request: Request = failure.request  # type: ignore[attr-defined]
        meta = request.meta
        if isinstance(failure.value, RobotsForbidden):
            self.ctx.counters.add("robots_forbidden")
            self.logger.info("not fetched, robots.txt forbids it: %s", request.url)
            return []
        if isinstance(failure.value, IgnoreRequest) and not isinstance(
            failure.value, RobotsUnavailable
        ):
            self.ctx.counters.add("ignored")
            return []
        kind = error_kind(failure)
        detail = f"{type(failure.value).__name__}: {failure.value}"
        self.logger.info("fetch of %s failed: %s", request.url, detail)
        self.ctx.counters.add("fetched")
        exchange = Exchange(
            requested_url=meta.get("pw_origin", request.url),
            final_url=request.url,
            fetched_at=self._now(),
            status=None,
            redirects=_hops(meta),
            error=kind,
            error_detail=detail[:500],
            request_headers=_headers(request.headers),
            source=meta.get("pw_source"),
        )
        return [
            FetchItem(
                exchange=exchange,
                source=meta.get("pw_source") or "",
                kind=meta.get("pw_kind", "discover"),
                article_id=meta.get("pw_article_id"),
                hints=dict(meta.get("pw_hints") or {}),
            )
        ]

    def _now(self) -> datetime:
        return self.ctx.now() if self.ctx.now is not None else datetime.now(UTC)

    # -- discovery -------------------------------------------------------------------

    def document_request(
        self, url: str, source: SourceSpec, callback: str, **extra: Any
    ) -> Request:
        """A sitemap, feed or listing page; `callback` names a spider method so the
        request survives serialization (JOBDIR, Redis)."""
        return Request(
            url,
            callback=self.on_document,
            errback=self.on_document_error,
            headers={"User-Agent": self.ctx.user_agent},
            dont_filter=True,
            priority=10,
            meta={
                "handle_httpstatus_all": True,
                "pw_source": source.name,
                "pw_doc_callback": callback,
                "pw_doc_hops": 0,
                "pw_min_delay_s": source.crawl_delay_s,
                "pw_max_body": DOCUMENT_MAX_BYTES,
                **extra,
            },
        )

    def on_document(self, response: Response) -> Any:
        meta = response.meta
        source = self.ctx.sources[meta["pw_source"]]
        location = response.headers.get(b"Location")
        if response.status in REDIRECT_STATUSES and location:
            hops = int(meta.get("pw_doc_hops", 0)) + 1
            if hops > self.ctx.max_redirects:
                self.document_problem(
                    source, f"{meta.get('pw_doc_url', response.url)}: too many redirects"
                )
                return []
            target = urljoin(response.url, location.decode("latin-1").strip())
            if self.refuse_scheme(source, target):
                return []
            return [
                response.request.replace(  # type: ignore[union-attr]
                    url=target, meta={**meta, "pw_doc_hops": hops}, dont_filter=True
                )
            ]
        if meta.get("pw_robots_discovery") and response.status != 200:
            # Read for its Sitemap: lines only. 4xx means there is none, which is no
            # problem (RFC 9309 2.3.1.3: allow all); 5xx and 429 mean the host's rules are
            # unknown, which is (2.3.1.4), reported once per host.
            if response.status >= 500 or response.status == 429:
                self.robots_unavailable(
                    source, response.url, "robots_unavailable", f"HTTP {response.status}"
                )
            return []
        if response.status != 200:
            self.document_problem(source, f"{response.url}: HTTP {response.status}")
            return []
        if meta.get("pw_truncated"):
            self.document_problem(source, f"{response.url}: larger than {DOCUMENT_MAX_BYTES} bytes")
            return []
        if meta.get("pw_decode_error"):
            self.document_problem(source, f"{response.url}: {meta['pw_decode_error']}")
            return []
        self.ctx.counters.add("documents")
        if source.render and meta["pw_doc_callback"] == "parse_listing":
            # Scrapy awaits a coroutine a callback returns (the browser runs off the reactor).
            return self._rendered_listing(response, source)
        return getattr(self, meta["pw_doc_callback"])(response, source)

    async def _rendered_listing(self, response: Response, source: SourceSpec) -> list[Any]:
        """A `render = true` source's listing page, its links read from the rendered DOM
        (a JavaScript-built outlet builds them in the browser). Sitemaps and feeds are
        data and are read as sent."""
        renderer = self.ctx.page_renderer
        if renderer is None:  # a request saved by a run that had the browser (JOBDIR)
            self.document_problem(
                source, f"{response.url}: not read, render = true needs the browser"
            )
            return []
        sent = response.meta.get("pw_sent_headers")
        exchange = Exchange(
            requested_url=response.url,
            final_url=response.url,
            fetched_at=self._now(),
            status=response.status,
            headers=_headers(response.headers) if sent is None else _header_pairs(sent),
            body=response.body,
        )
        rendering = await asyncio.wrap_future(renderer.submit(exchange))
        if rendering.outcome is not RenderOutcome.RENDERED or rendering.dom_html is None:
            self.document_problem(
                source,
                f"{response.url}: render_{rendering.outcome.value} ({rendering.reason})",
            )
            return []
        rendered = HtmlResponse(
            url=response.url,
            body=rendering.dom_html.encode(),
            encoding="utf-8",
            request=response.request,
        )
        return list(getattr(self, response.meta["pw_doc_callback"])(rendered, source))

    def on_document_error(self, failure: Failure) -> list[Any]:
        request: Request = failure.request  # type: ignore[attr-defined]
        source = self.ctx.sources.get(request.meta.get("pw_source", ""))
        if isinstance(failure.value, RobotsForbidden):
            self.ctx.counters.add("robots_forbidden")
            return []
        if source is None:
            return []
        if isinstance(failure.value, RobotsUnavailable):
            self.robots_unavailable(source, request.url, failure.value.kind, failure.value.detail)
        elif request.meta.get("pw_robots_discovery"):
            self.robots_unavailable(source, request.url, error_kind(failure), str(failure.value))
        else:
            self.document_problem(source, f"{request.url}: {error_kind(failure)} ({failure.value})")
        return []

    def robots_unavailable(self, source: SourceSpec, url: str, kind: str, detail: str) -> None:
        """A host whose robots.txt cannot be read (5xx, 429, network error): nothing on
        it is fetched for now (RFC 9309 2.3.1.4). One problem per host and crawl, however
        many of its sitemaps, feeds and listing pages were refused. Refused articles are
        captures (`robots_unavailable`, or the network error), like any failed fetch."""
        parts = urlsplit(url)
        robots_url = f"{parts.scheme}://{parts.netloc}/robots.txt"
        message = (
            f"{robots_url}: {kind} ({detail}); nothing on this host is fetched until its "
            "robots.txt can be read"
        )
        problems = self.source_problems.setdefault(source.name, [])
        if message not in problems:
            problems.append(message)
        if self.ctx.counters.problem_once(f"robots {robots_url}", f"[{source.name}] {message}"):
            self.logger.warning("[%s] %s", source.name, message)

    def refuse_scheme(self, source: SourceSpec, url: str) -> bool:
        """True, with a problem recorded, when `url` is not http(s): an outlet's link to
        `file:`, `ftp:` or `data:` is never requested (crawler.egress refuses any that
        slips through, and Scrapy's handlers for them are off)."""
        if urlsplit(url.strip()).scheme.lower() in ALLOWED_SCHEMES:
            return False
        self.ctx.counters.add("scheme_refused")
        shown = "".join("%20" if ch.isspace() else ch for ch in url.strip()[:120])
        self.document_problem(
            source, f"{shown}: scheme_refused (not fetched: only http and https are)"
        )
        return True

    def document_problem(self, source: SourceSpec, message: str) -> None:
        self.logger.warning("[%s] %s", source.name, message)
        self.source_problems.setdefault(source.name, []).append(message)
        self.ctx.counters.problem(f"[{source.name}] {message}")

    def candidate(
        self,
        url: str,
        source: SourceSpec,
        *,
        hints: dict[str, Any] | None = None,
        newest: datetime | None = None,
    ) -> Iterator[Request | HintItem]:
        """An article URL found by discovery: a request when it is new to the archive
        and to this crawl, a hint for the pipeline when it is already known."""
        url = url.strip()
        if self.refuse_scheme(source, url):
            return
        if source.article_url_pattern:
            if not self.ctx.article_regex(source).search(url):
                self.ctx.counters.add("off_pattern")
                return
        elif host_of(url) != host_of(source.base_url):
            self.ctx.counters.add("off_site")
            return
        if newest is not None and source.max_age_days is not None:
            age_days = (self._now() - newest).total_seconds() / 86400
            if age_days > source.max_age_days:
                self.ctx.counters.add("too_old")
                return
        try:
            key = normalize_url(url)
        except BadInput:
            return
        if key in self.ctx.known_urls(source.name):
            if hints:
                yield HintItem(url=key, source=source.name, hints=dict(hints))
            return
        if not self.ctx.claim(key):
            # Found again (news sitemap after the plain one, a feed after a sitemap):
            # keep what this listing says too, whichever order the writes happen in.
            if hints:
                self.ctx.add_claim_hints(key, hints)
                yield HintItem(url=key, source=source.name, hints=dict(hints))
            return
        if self.limit is not None and self.article_counts.get(source.name, 0) >= self.limit:
            return
        self.article_counts[source.name] = self.article_counts.get(source.name, 0) + 1
        request = self.article_request(
            url,
            source,
            kind="discover",
            hints=hints,
            shared_dedupe=bool(self.crawler.settings.get("PRESSWATCH_REDIS")),
        )
        # Whose claim this is: a later run that restores it from a saved queue claims
        # it again (crawler.middlewares.ResumedClaimMiddleware).
        request.meta["pw_claim"] = [key, self.ctx.run_token]
        yield request

    def closed(self, reason: str) -> None:
        self.ctx.source_crawled(
            [s.name for s in self.selected_sources()], dict(self.source_problems)
        )
