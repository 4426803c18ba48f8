"""The shared crawl frontier on Redis (scrapy-redis), riding out a Redis outage for a
bounded time and ending the crawl cleanly past it.

scrapy-redis's scheduler calls Redis on the reactor thread and lets every error
through: with Redis gone, Scrapy's engine logs each failure and keeps asking, so the
crawl never ends and never says why (issue #28). Here every frontier call is guarded:

- while Redis answers, this is scrapy-redis's scheduler (queue and duplicate filter
  shared by every machine), with stats counted without the `spider` argument Scrapy
  deprecated (scrapy-redis 0.9 still passes it: a warning per call site on stderr);
- when a call fails (connection refused or lost, timeout), the outage starts: requests
  to schedule are held in memory, none is handed out, and the spider is kept open;
- when Redis answers again within `PRESSWATCH_REDIS_OUTAGE_S`, the held requests are
  pushed and the crawl goes on;
- past that, the crawl is stopped through `CrawlContext.stop_crawl` with one message
  naming Redis and what to do. What was recorded is committed; the rerun finds the
  rest (the archive knows what it captured).
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from scrapy import Request
from scrapy_redis.scheduler import Scheduler

from archive.errors import PresswatchError
from crawler.context import CrawlContext, load_context

log = logging.getLogger(__name__)

OUTAGE_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)
DEFAULT_OUTAGE_S = 30.0
T = TypeVar("T")


_WAITING = "Redis frontier at %s unreachable (%s): waiting up to %.0f s for it"
OUTAGE_PROBE_S = 1.0  # while Redis is away at a spider's start, it is asked again this often


class FrontierGone(PresswatchError, RuntimeError):
    """Redis did not answer for the outage budget when a spider opened."""


def _gone(url: str, outage_s: float, exc: BaseException) -> str:
    return (
        f"Redis frontier at {url} unreachable for {outage_s:.0f} s "
        f"({type(exc).__name__}): crawl stopped; what was captured is kept, run again "
        "once Redis is back (setting redis_outage_s)"
    )


def redact(url: str) -> str:
    """A Redis URL without its password, to name the service in messages."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.rsplit("@", 1)[1]
    return f"{scheme}{sep}{rest}"


class RedisFrontier(Scheduler):  # type: ignore[misc]
    """scrapy-redis's scheduler with a bounded outage budget (module docstring)."""

    outage_s: float = DEFAULT_OUTAGE_S
    url: str = ""
    stop_crawl: Callable[[str], None] | None = None
    clock: Callable[[], float] = staticmethod(time.monotonic)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._down_since: float | None = None
        self._held: list[Request] = []
        self._gave_up = False
        # Fingerprints of the requests this crawl took from the shared queue: their
        # claims are released if the crawl is stopped before it finished (`close`).
        self._taken: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Any) -> RedisFrontier:
        settings = crawler.settings
        outage_s = settings.getfloat("PRESSWATCH_REDIS_OUTAGE_S", DEFAULT_OUTAGE_S)
        url = redact(str(settings.get("REDIS_URL") or ""))
        context = load_context(crawler)
        instance = cls._connected(crawler, context, outage_s, url)
        instance.outage_s = outage_s
        instance.url = url
        instance.stop_crawl = context.stop_crawl
        return instance

    @classmethod
    def _connected(
        cls, crawler: Any, context: CrawlContext, outage_s: float, url: str
    ) -> RedisFrontier:
        """scrapy-redis's constructor pings Redis: away when a spider opens (a loaded
        machine starts slowly), it failed the spider ("Engine slot not assigned", Redis
        unnamed; found by `python -m benchmarks faults`). The same budget as any later
        call instead, waited here before the spider runs (nothing can be fetched
        meanwhile anyway); past it, the crawl stops with the one line naming Redis, and
        the other spiders do not wait again."""
        began = time.monotonic()
        warned = False
        while True:
            if context.frontier_gone is not None:
                raise FrontierGone(context.frontier_gone)
            try:
                instance: RedisFrontier = super().from_crawler(crawler)
                return instance
            except OUTAGE_ERRORS as exc:
                if time.monotonic() - began >= outage_s:
                    message = _gone(url, outage_s, exc)
                    context.frontier_gone = message
                    log.error("%s", message)
                    if context.stop_crawl is not None:
                        context.stop_crawl(message)
                    raise FrontierGone(message) from exc
                if not warned:
                    warned = True
                    log.warning(_WAITING, url, exc, outage_s)
                time.sleep(OUTAGE_PROBE_S)

    # -- the guarded calls ---------------------------------------------------------------

    def _guard(self, call: Callable[[], T], fallback: T) -> T:
        if self._gave_up:
            return fallback
        try:
            value = call()
        except OUTAGE_ERRORS as exc:
            self._outage(exc)
            return fallback
        if self._down_since is not None:
            self._recovered()
        return value

    def _outage(self, exc: BaseException) -> None:
        now = self.clock()
        if self._down_since is None:
            self._down_since = now
            log.warning(_WAITING, self.url, exc, self.outage_s)
            return
        if now - self._down_since < self.outage_s:
            return
        self._gave_up = True
        message = _gone(self.url, self.outage_s, exc)
        log.error("%s", message)
        if self.stop_crawl is not None:
            self.stop_crawl(message)

    def _recovered(self) -> None:
        held, self._held = self._held, []
        log.warning(
            "Redis frontier at %s is back after %.1f s; %d held request(s) queued",
            self.url,
            self.clock() - (self._down_since or self.clock()),
            len(held),
        )
        self._down_since = None
        for request in held:
            self.enqueue_request(request)

    # -- scrapy-redis's scheduler interface -----------------------------------------------

    def open(self, spider: Any) -> None:
        # scrapy-redis 0.9 says "Resuming crawl (N requests scheduled)" through
        # `spider.log`, which Scrapy deprecated: a warning on stderr whenever a crawl
        # starts on a queue another machine or an earlier run left, which on several
        # machines is every run, and cron mails it. Filtered here, where it is raised.
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=r"Spider\.log\(\) is deprecated", category=Warning
            )
            # Redis gone since the spider's frontier was made: only the resume count
            # asks it here; the outage starts as it would on any later call.
            self._guard(lambda: super(RedisFrontier, self).open(spider), None)

    def enqueue_request(self, request: Request) -> bool:
        def push() -> bool:
            if not request.dont_filter and self.df.request_seen(request):
                self.df.log(request, self.spider)
                return False
            self.queue.push(request)
            if self.stats:
                self.stats.inc_value("scheduler/enqueued/redis")
            return True

        if self._down_since is not None or self._gave_up:
            # Keep the order: while Redis is away, nothing jumps the held queue.
            self._held.append(request)
            self._guard(lambda: self.server.ping(), None)
            return True
        pushed = self._guard(push, None)
        if pushed is None:
            self._held.append(request)
            return True
        return pushed

    def next_request(self) -> Request | None:
        def pop() -> Request | None:
            request = self.queue.pop(self.idle_before_close)
            if request is not None:
                self._taken.add(self.df.request_fingerprint(request))
                if self.stats:
                    self.stats.inc_value("scheduler/dequeued/redis")
            return request

        return self._guard(pop, None)

    def close(self, reason: str) -> None:
        """A crawl stopped before it finished (a service gone, a signal) drops the
        requests it had taken from the shared queue and not yet fetched or recorded:
        their claims are released, so the next crawl fetches those articles at once
        rather than after `redis_claim_lease_s` (a fetched article the archive recorded
        is not asked for again: discovery skips it, and its next check moved). Redis
        gone too: the claims lapse with the lease."""
        if reason != "finished" and self._taken:
            taken = sorted(self._taken)
            self._guard(lambda: self.server.hdel(self.df.key, *taken), None)
        super().close(reason)

    def has_pending_requests(self) -> bool:
        # During an outage the spider stays open (it would otherwise close as finished,
        # exit 0, with the frontier unread); once given up, it may close.
        if self._gave_up:
            return False
        pending = self._guard(lambda: len(self.queue) > 0, None)
        return True if pending is None or self._down_since is not None else bool(pending)

    def __len__(self) -> int:
        return self._guard(lambda: len(self.queue), 0) + len(self._held)
