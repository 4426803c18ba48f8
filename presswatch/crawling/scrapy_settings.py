"""The Scrapy settings of one crawler: crawler/settings.py, then ours (the crawl
context, User-Agent, politeness per host, JOBDIR or the Redis frontier), then the
operator's `scrapy_settings`, then the caller's overrides (tests, demo)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scrapy.settings import Settings as ScrapySettings

from crawler.context import CrawlContext
from presswatch.settings import Settings


def scrapy_settings(
    settings: Settings,
    context: CrawlContext,
    *,
    job_dir: Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> ScrapySettings:
    """Scrapy settings for one crawler: crawler/settings.py, then ours, then the
    operator's `scrapy_settings`, then the caller's overrides (tests, demo)."""
    result = ScrapySettings()
    result.setmodule("crawler.settings", priority="project")
    slots: dict[str, dict[str, Any]] = {}
    for spec in context.sources.values():
        if spec.max_concurrency:
            from urllib.parse import urlsplit

            host = urlsplit(spec.base_url).hostname or ""
            slots[host] = {"concurrency": spec.max_concurrency}
    ours: dict[str, Any] = {
        "PRESSWATCH_CONTEXT": context,
        "USER_AGENT": context.user_agent,
        "CONCURRENT_REQUESTS_PER_DOMAIN": settings.crawl_concurrency_per_host,
        "DOWNLOAD_TIMEOUT": settings.download_timeout_s,
        "PRESSWATCH_MAX_BODY_BYTES": settings.max_body_bytes,
        "PRESSWATCH_ALLOW_NETWORKS": list(settings.allow_networks),
        "DOWNLOAD_SLOTS": slots,
        "LOG_ENABLED": True,
    }
    if settings.redis_url:
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        prefix = str(
            (overrides or {}).get("PRESSWATCH_REDIS_PREFIX")
            or settings.scrapy_settings.get("PRESSWATCH_REDIS_PREFIX")
            or "presswatch"
        )
        ours.update(
            {
                "PRESSWATCH_REDIS": True,
                "PRESSWATCH_REDIS_PREFIX": prefix,
                "REDIS_URL": settings.redis_url,
                "SCHEDULER": "crawler.frontier.RedisFrontier",
                "PRESSWATCH_REDIS_OUTAGE_S": settings.redis_outage_s,
                # Each call bounded, and no retrying inside the client: the frontier
                # rides out an outage itself, for redis_outage_s (crawler/frontier.py).
                "REDIS_PARAMS": {
                    "socket_timeout": 5,
                    "socket_connect_timeout": 5,
                    "retry": Retry(NoBackoff(), 0),
                },
                "DUPEFILTER_CLASS": "crawler.middlewares.RedisDupeFilter",
                "SCHEDULER_PERSIST": True,
                "SCHEDULER_QUEUE_KEY": f"{prefix}:%(spider)s:requests",
                # One dupefilter for every spider: a new article listed by one
                # machine's sitemap and another's feed is fetched once.
                # A hash of claims that lapse (crawler.middlewares.RedisDupeFilter); a
                # key of its own, for the old key was a set of fingerprints kept forever.
                "SCHEDULER_DUPEFILTER_KEY": f"{prefix}:fetch-claims",
                "PRESSWATCH_REDIS_CLAIM_LEASE_S": settings.redis_claim_lease_s,
            }
        )
    elif job_dir is not None:
        ours["JOBDIR"] = str(job_dir)
    result.setdict(ours, priority="cmdline")
    result.setdict(dict(settings.scrapy_settings), priority="cmdline")
    if overrides:
        result.setdict(overrides, priority="cmdline")
    return result
