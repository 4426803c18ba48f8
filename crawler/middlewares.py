"""Downloader components that make the crawler polite and keep every failure visible.

- `RobotsPolicyMiddleware` replaces Scrapy's robots.txt middleware: it obeys robots.txt
  (Protego) and also honours `Crawl-delay` and `Request-rate`, which Scrapy ignores, by
  spacing the start of requests to a host. A source's own `crawl_delay_s` is a floor.
- `BackoffRetryMiddleware` retries 5xx, 408, 429 and network errors with exponential
  backoff (and `Retry-After`), where Scrapy retries at once; after the last retry the
  response or error goes on to the spider, which records it.
- `BodySizeMiddleware` bounds a body in decoded bytes (it decodes gzip, deflate, br and
  zstd itself, streamed, in place of Scrapy's HttpCompressionMiddleware): past the
  limit the download or the decoding stops, and the spider records the first bytes as
  a `too_large` capture instead of losing the response to a cancelled download or to
  a dropped gzip bomb. The headers as sent and the body as transmitted stay in the
  request's meta for the WARC record, which keeps the response as received.
- `PresswatchFingerprinter` lets a request carry its own dupefilter identity, so with the
  shared Redis dupefilter two machines never recheck the same article for the same due
  time.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
import uuid
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from protego import Protego
from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest, StopDownload
from scrapy.http import Response, TextResponse
from scrapy.responsetypes import responsetypes
from scrapy.utils.request import RequestFingerprinter
from scrapy_redis.dupefilter import RFPDupeFilter as _RedisRFPDupeFilter
from twisted.internet.task import LoopingCall

from archive.content import ACCEPT_ENCODING, DecodedBody, decode_bounded
from archive.errors import PresswatchError
from crawler.context import CrawlContext, load_context
from crawler.failures import failure_kind
from crawler.fetch_locks import THEIRS, FetchLocks

log = logging.getLogger(__name__)

# Crawl-delay values above this are treated as this: some sites write 3600 to mean "go
# away", and a cron interval must still be able to finish.
MAX_CRAWL_DELAY_S = 60.0
ROBOTS_MAX_BYTES = 512 * 1024  # Google reads the first 500 KiB
ROBOTS_MAX_REDIRECTS = 5
# How long a claim on a request, or a lock on an article being fetched, holds on the
# shared Redis frontier (PRESSWATCH_REDIS_CLAIM_LEASE_S; `RedisDupeFilter`).
DEFAULT_CLAIM_LEASE_S = 3600.0


class RobotsForbidden(PresswatchError, IgnoreRequest):
    """robots.txt disallows the URL for our User-Agent."""


class RobotsUnavailable(PresswatchError, IgnoreRequest):
    """robots.txt could not be fetched (5xx or network error): RFC 9309 says assume
    complete disallow until it can be read. `kind` names the failure like an
    Exchange error (`connection_refused`, `timeout`…, or `robots_unavailable` for an
    HTTP error), since the host's state is what a capture should record."""

    def __init__(self, detail: str, kind: str = "robots_unavailable") -> None:
        super().__init__(f"robots.txt unavailable: {detail}")
        self.detail = detail
        self.kind = kind


class _Rules:
    """What one host's robots.txt says, or why it could not be read."""

    def __init__(
        self,
        parser: Protego | None,
        delay_s: float = 0.0,
        unavailable: str | None = None,
        kind: str = "robots_unavailable",
    ) -> None:
        self.parser = parser
        self.delay_s = delay_s
        self.unavailable = unavailable
        self.kind = kind


def _host_key(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class RobotsPolicyMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.obey = crawler.settings.getbool("ROBOTSTXT_OBEY")
        self.user_agent = str(crawler.settings.get("USER_AGENT") or "*")
        # robots.txt groups name a product token ("Presswatch"), not the full string.
        match = re.match(r"[A-Za-z0-9_-]+", self.user_agent)
        self.token = match.group(0) if match else "*"
        self._rules: dict[str, asyncio.Future[_Rules]] = {}
        self._next_start: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RobotsPolicyMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        if request.meta.get("pw_robots_fetch"):
            return None
        key = _host_key(request.url)
        floor = float(request.meta.get("pw_min_delay_s") or 0.0)
        delay = floor
        if self.obey and not request.meta.get("dont_obey_robotstxt"):
            rules = await self._rules_for(key, request)
            if rules.unavailable is not None:
                self._stat("robots/unavailable")
                raise RobotsUnavailable(rules.unavailable, rules.kind)
            if rules.parser is not None and not rules.parser.can_fetch(request.url, self.token):
                self._stat("robots/forbidden")
                raise RobotsForbidden(f"forbidden by robots.txt: {request.url}")
            delay = max(delay, rules.delay_s)
        if delay > 0:
            self._hold_slot(request, delay)
            await self._wait_turn(key, delay)
        return None

    def _hold_slot(self, request: Request, delay: float) -> None:
        """Make the downloader itself space sends to the host: the middleware's wait
        spaces releases, but a request can still sit in the slot's queue and leave
        right before the next one. AutoThrottle must not shrink the delay again, and
        random jitter must not halve it."""
        request.meta["autothrottle_dont_adjust_delay"] = True
        engine = self.crawler.engine
        downloader = getattr(engine, "downloader", None)
        if downloader is None:
            return
        slot = downloader.slots.get(downloader.get_slot_key(request))
        if slot is not None:
            slot.delay = max(slot.delay, delay)
            slot.jitter = 0.0

    async def _wait_turn(self, key: str, delay: float) -> None:
        """Space request starts to one host by `delay`, whatever AutoThrottle or the
        per-host concurrency allow: reserve the next start time, then sleep until it."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        start = max(now, self._next_start.get(key, 0.0))
        self._next_start[key] = start + delay
        if start > now:
            self._stat("robots/crawl_delay_waits")
            await asyncio.sleep(start - now)

    async def _rules_for(self, key: str, request: Request) -> _Rules:
        future = self._rules.get(key)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._rules[key] = future
            try:
                rules = await self._fetch_rules(key, request)
            except Exception as exc:  # boundary: a robots fetch must never crash the crawl
                log.exception("robots.txt for %s could not be read", key)
                rules = _Rules(None, unavailable=f"{type(exc).__name__}: {exc}")
            future.set_result(rules)
            return rules
        return await future

    async def _fetch_rules(self, key: str, origin: Request) -> _Rules:
        url = key + "/robots.txt"
        assert self.crawler.engine is not None
        for _hop in range(ROBOTS_MAX_REDIRECTS + 1):
            robots_request = Request(
                url,
                priority=1000,
                dont_filter=True,
                meta={
                    "pw_robots_fetch": True,
                    "dont_obey_robotstxt": True,
                    "handle_httpstatus_all": True,
                    "pw_max_body": ROBOTS_MAX_BYTES,
                    # A source's floor applies to robots.txt too.
                    "pw_min_delay_s": origin.meta.get("pw_min_delay_s"),
                },
            )
            try:
                response: Response = await self.crawler.engine.download_async(robots_request)
            except Exception as exc:  # network failure: per RFC 9309, disallow for now
                return _Rules(
                    None, unavailable=f"{type(exc).__name__}: {exc}", kind=failure_kind(exc)
                )
            location = response.headers.get(b"Location")
            if 300 <= response.status < 400 and location:
                url = urljoin(url, location.decode("latin-1"))
                continue
            if response.status >= 500 or response.status == 429:
                return _Rules(None, unavailable=f"HTTP {response.status}")
            if response.status >= 400:
                return _Rules(None)  # no robots.txt: everything is allowed
            body = response.body[:ROBOTS_MAX_BYTES].decode("utf-8", "replace")
            parser = Protego.parse(body)
            delay = parser.crawl_delay(self.token) or 0.0
            rate = parser.request_rate(self.token)
            if rate is not None and rate.requests:
                delay = max(delay, rate.seconds / rate.requests)
            delay = min(float(delay), MAX_CRAWL_DELAY_S)
            if delay:
                log.info("%s asks for Crawl-delay %.1fs", key, delay)
            return _Rules(parser, delay_s=delay)
        return _Rules(None)  # redirect loop on robots.txt: treat as absent

    def _stat(self, key: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(key)


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retry policy with a pause before each retry."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler.settings)
        self.crawler = crawler
        self.base_s = crawler.settings.getfloat("PRESSWATCH_RETRY_BACKOFF_S", 2.0)
        self.max_s = crawler.settings.getfloat("PRESSWATCH_RETRY_BACKOFF_MAX_S", 60.0)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        return cls(crawler)

    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response
    ) -> Request | Response:
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        retry = self._retry(request, f"HTTP {response.status}")
        if retry is None:
            return response
        await self._pause(retry, _retry_after_s(response))
        return retry

    async def process_exception(  # type: ignore[override]
        self, request: Request, exception: Exception
    ) -> Request | Response | None:
        if request.meta.get("dont_retry", False) or not isinstance(
            exception, self.exceptions_to_retry
        ):
            return None
        retry = self._retry(request, exception)
        if retry is None:
            return None
        await self._pause(retry, None)
        return retry

    async def _pause(self, retry: Request, retry_after_s: float | None) -> None:
        attempt = int(retry.meta.get("retry_times", 1))
        delay = self.base_s * (2 ** (attempt - 1))
        if retry_after_s is not None:
            delay = max(delay, retry_after_s)
        delay = min(delay, self.max_s)
        if delay > 0:
            await asyncio.sleep(delay)


def _retry_after_s(response: Response) -> float | None:
    raw = response.headers.get(b"Retry-After")
    if not raw:
        return None
    text = raw.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


# What BodySizeMiddleware learns about one response; dropped when a request is copied.
BODY_META_KEYS = (
    "pw_received",
    "pw_declared",
    "pw_stopped",
    "pw_truncated",
    "pw_decode_error",
    "pw_transmitted",
    "pw_transmitted_cut",
    "pw_sent_headers",
)


class ResumedClaimMiddleware:
    """A crawl stopped cleanly (Ctrl-C, a service gone) saves its queue, and the next run
    restores it while its spiders list the same articles again: without this, a new
    article in both was fetched and captured twice. A discovery request made by an
    earlier run (its claim names another run) is fetched only if this run can claim
    its article now (`CrawlContext.claim_resumed`); otherwise it is dropped unfetched.

    On a shared (Redis) frontier the claim names whichever machine listed the article
    first, and the shared dupefilter already lets one request per article into the
    queue: this process may have claimed the article itself and had its own request
    filtered, so its claim must not drop the one request there is. There an article the
    archive has recorded by now is dropped (`CrawlContext.recorded_now`), and so is one
    that another fetch is under way for (`crawler.fetch_locks`)."""

    def __init__(
        self,
        ctx: CrawlContext,
        *,
        shared_frontier: bool = False,
        locks: FetchLocks | None = None,
    ) -> None:
        self.ctx = ctx
        self.shared_frontier = shared_frontier
        self.locks = locks  # the shared frontier's fetch locks (None: Redis not asked)
        self._checking: LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ResumedClaimMiddleware:
        settings = crawler.settings
        if not settings.getbool("PRESSWATCH_REDIS"):
            return cls(load_context(crawler))
        from scrapy_redis.connection import get_redis_from_settings

        ctx = load_context(crawler)
        locks = FetchLocks(
            get_redis_from_settings(settings),
            prefix=settings.get("PRESSWATCH_REDIS_PREFIX") or "presswatch",
            run_token=ctx.run_token,
            lease_s=settings.getfloat("PRESSWATCH_REDIS_CLAIM_LEASE_S", DEFAULT_CLAIM_LEASE_S),
        )
        middleware = cls(ctx, shared_frontier=True, locks=locks)
        crawler.signals.connect(middleware.opened, signal=signals.spider_opened)
        crawler.signals.connect(middleware.release, signal=signals.spider_closed)
        return middleware

    def opened(self) -> None:
        if self.locks is not None:
            self._checking = LoopingCall(self.locks.check)
            self._checking.start(self.locks.grace_s / 8, now=False)

    def release(self) -> None:
        """The crawl ends: its fetch locks go. A killed crawl's lapse with the lease."""
        if self._checking is not None and self._checking.running:
            self._checking.stop()
        if self.locks is not None:
            self.locks.release()

    def process_request(self, request: Request) -> Any:
        claim = request.meta.get("pw_claim")
        if not claim:
            return None
        key = str(claim[0])
        if self.shared_frontier:
            wait = self._shared(request, key)
            return self._after(wait, request, key) if wait else None
        if claim[1] == self.ctx.run_token:
            return None
        if not self.ctx.claim_resumed(key, str(request.meta.get("pw_source") or "")):
            raise IgnoreRequest(f"{key}: already recorded or fetched by this run")
        request.meta["pw_claim"] = [key, self.ctx.run_token]
        return None

    def _shared(self, request: Request, key: str) -> float:
        """Seconds to wait before asking again, or 0: the request goes on. Raises
        IgnoreRequest for an article recorded meanwhile or fetched by another request."""
        # Asked of the archive now, for this run's own requests too: another machine
        # may have recorded the article since this one queued it, or Redis came back
        # empty and both machines queued it again (found by `python -m benchmarks
        # faults`: 17 of 100 articles fetched twice after a Redis restart).
        if self.ctx.recorded_now(key):
            raise IgnoreRequest(f"{key}: already recorded")
        if self.locks is not None:
            # One id per fetch, kept by its retries and redirects (they copy the meta).
            fetch_id = request.meta.setdefault("pw_fetch", uuid.uuid4().hex)
            taken = self.locks.take(key, fetch_id)
            if isinstance(taken, float):
                return taken
            if taken == THEIRS:
                raise IgnoreRequest(f"{key}: being fetched by another request")
        if request.meta["pw_claim"][1] != self.ctx.run_token:
            self.ctx.claim(key)  # later listings of it in this process add hints only
            request.meta["pw_claim"] = [key, self.ctx.run_token]
        return 0.0

    async def _after(self, wait: float, request: Request, key: str) -> None:
        while wait:
            await asyncio.sleep(wait)
            wait = self._shared(request, key)


class BodySizeMiddleware:
    """Bound every body to its limit (`pw_max_body` meta, else PRESSWATCH_MAX_BODY_BYTES),
    counted in decoded bytes, and say what was kept.

    Two stops: the download stops once more than `limit` bytes were received (whatever
    Content-Length claims, and for chunked bodies without one), and decoding
    (`archive.content.bodies`, in place of Scrapy's HttpCompressionMiddleware) stops one chunk
    past `limit` decoded bytes. Either way the response goes on with its first `limit`
    decoded bytes and `pw_truncated` in its meta, so the spider records a `too_large`
    capture: a bomb or an endless body is never a dropped request. A body that cannot
    be decoded goes on with what was decoded and `pw_decode_error`.

    A decoded response goes on without its Content-Encoding header (it no longer
    applies); what was received stays in the meta for the WARC record: `pw_sent_headers`
    (the headers as sent), `pw_transmitted` (the body as transmitted, its first `limit`
    bytes) and `pw_transmitted_cut` (those bytes are not the whole body)."""

    def __init__(self, crawler: Crawler) -> None:
        self.default_limit = crawler.settings.getint("PRESSWATCH_MAX_BODY_BYTES", 20_000_000)
        if self.default_limit <= 0:
            # This middleware also decodes bodies: turning it off would leave them gzipped.
            raise ValueError(
                f"PRESSWATCH_MAX_BODY_BYTES is {self.default_limit}; it must be positive"
            )
        crawler.signals.connect(self._on_headers, signal=signals.headers_received)
        crawler.signals.connect(self._on_bytes, signal=signals.bytes_received)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BodySizeMiddleware:
        return cls(crawler)

    def _limit(self, request: Request) -> int:
        return int(request.meta.get("pw_max_body") or self.default_limit)

    def process_request(self, request: Request) -> None:
        request.headers.setdefault(b"Accept-Encoding", ACCEPT_ENCODING)
        # Our own stop below is the size check. Scrapy's DOWNLOAD_MAXSIZE would cancel a
        # response whose Content-Length claims too much before a byte of it is kept.
        request.meta["download_maxsize"] = 0
        # A retry is a copy of the request: count its bytes afresh.
        for key in BODY_META_KEYS:
            request.meta.pop(key, None)
        return None

    def _on_headers(
        self, headers: Any, body_length: int, request: Request, spider: Any = None
    ) -> None:
        if body_length is not None and body_length >= 0:
            request.meta["pw_declared"] = body_length

    def _on_bytes(self, data: bytes, request: Request, spider: Any = None) -> None:
        seen = int(request.meta.get("pw_received", 0)) + len(data)
        request.meta["pw_received"] = seen
        if seen > self._limit(request):
            request.meta["pw_stopped"] = True
            raise StopDownload(fail=False)

    def process_response(self, request: Request, response: Response) -> Response:
        limit = self._limit(request)
        stopped = bool(request.meta.get("pw_stopped"))
        encodings = response.headers.getlist(b"Content-Encoding")
        if request.method == "HEAD" or not response.body or not encodings:
            if stopped or len(response.body) > limit:
                request.meta["pw_truncated"] = self._truncation(request, response, limit, None)
                response = response.replace(body=response.body[:limit])
            return response
        result = decode_bounded(response.body, encodings, limit)
        request.meta["pw_sent_headers"] = [
            (name, value) for name, values in response.headers.items() for value in values
        ]
        request.meta["pw_transmitted"] = response.body[:limit]
        request.meta["pw_transmitted_cut"] = stopped or len(response.body) > limit
        if stopped or result.over:
            request.meta["pw_truncated"] = self._truncation(request, response, limit, result)
        if result.error is not None:
            request.meta["pw_decode_error"] = result.error
        headers = response.headers.copy()
        del headers[b"Content-Encoding"]
        if result.kept_encodings:
            headers[b"Content-Encoding"] = ", ".join(result.kept_encodings).encode("latin-1")
        respcls = responsetypes.from_args(headers=headers, url=response.url, body=result.body)
        kwargs: dict[str, Any] = {"body": result.body, "headers": headers}
        if issubclass(respcls, TextResponse):
            kwargs["encoding"] = None  # guess again from the decoded body, as Scrapy does
        return response.replace(cls=respcls, **kwargs)

    @staticmethod
    def _truncation(
        request: Request, response: Response, limit: int, result: DecodedBody | None
    ) -> dict[str, Any]:
        """What the capture says about a body cut at `limit`: kept, seen, how."""
        received = int(request.meta.get("pw_received") or len(response.body))
        declared = request.meta.get("pw_declared")
        stopped = bool(request.meta.get("pw_stopped"))
        kept = min(limit, len(response.body) if result is None else len(result.body))
        if result is None:
            seen = f"{received}+ received" if stopped else f"{received} received"
        else:
            names = "+".join(result.decoded_encodings)
            seen = f"{result.decoded}{'+' if result.over or stopped else ''} decoded"
            seen += f" from {received}{'+' if stopped else ''} {names} bytes"
        detail = f"body larger than {limit} bytes: truncated at {kept} bytes of {seen}"
        if declared is not None:
            detail += f" (Content-Length {declared})"
        return {
            "limit": limit,
            "kept": kept,
            "received": received,
            "decoded": result.decoded if result is not None else None,
            "declared": declared,
            "detail": detail,
        }


class PresswatchFingerprinter:
    """Scrapy's fingerprint, unless the request names its own in `pw_fingerprint`."""

    def __init__(self, crawler: Crawler | None = None) -> None:
        self._default = RequestFingerprinter(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PresswatchFingerprinter:
        return cls(crawler)

    def fingerprint(self, request: Request) -> bytes:
        own = request.meta.get("pw_fingerprint")
        if own:
            return hashlib.sha1(str(own).encode("utf-8")).digest()
        return self._default.fingerprint(request)


# A request's claim in the shared filter, in one step on the server (its clock, so the
# machines' clocks do not matter): seen while the claim is younger than the lease, else
# claimed (again) now. 1 = seen, 0 = claimed.
_CLAIM = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
local held = redis.call('HGET', KEYS[1], ARGV[1])
if held and t - tonumber(held) < tonumber(ARGV[2]) then return 1 end
redis.call('HSET', KEYS[1], ARGV[1], string.format('%.6f', t))
return 0
"""


class RedisDupeFilter(_RedisRFPDupeFilter):  # type: ignore[misc]
    """scrapy-redis's shared dupefilter, honouring `pw_fingerprint` like
    `PresswatchFingerprinter` (scrapy-redis computes its own fingerprints), whose
    fingerprints are claims that lapse after `PRESSWATCH_REDIS_CLAIM_LEASE_S`.

    scrapy-redis keeps a fingerprint forever. A request popped from the shared queue by
    a crawl that then died (killed, or stopped with requests in its downloader) never
    reached the archive, yet its fingerprint filtered every later request for the
    article: on a persistent Redis the article was never archived. Here a claim older
    than the lease lets the next request through (discovery only asks for articles the
    archive has not recorded, so a lapsed claim is a lost fetch); a request still queued
    past the lease and fetched twice is caught at fetch time, by the archive."""

    lease_s: float = DEFAULT_CLAIM_LEASE_S

    @classmethod
    def from_spider(cls, spider: Any) -> RedisDupeFilter:
        instance: RedisDupeFilter = super().from_spider(spider)
        instance.lease_s = spider.settings.getfloat(
            "PRESSWATCH_REDIS_CLAIM_LEASE_S", DEFAULT_CLAIM_LEASE_S
        )
        return instance

    def request_seen(self, request: Request) -> bool:
        claim = self.server.register_script(_CLAIM)
        return bool(claim(keys=[self.key], args=[self.request_fingerprint(request), self.lease_s]))

    def request_fingerprint(self, request: Request) -> str:
        own = request.meta.get("pw_fingerprint")
        if own:
            return hashlib.sha1(str(own).encode("utf-8")).hexdigest()
        return str(super().request_fingerprint(request))
