"""The sources a crawl uses: sources.toml plus those added through the admin API, the
archive's Source rows synced from them, and each as the crawler's `SourceSpec`."""

from __future__ import annotations

from datetime import datetime

from archive.store import list_sources, upsert_source
from crawler.context import SourceSpec
from presswatch.runtime import Runtime
from presswatch.sources import SourceConfig, SourcesFile, load_sources, with_archive_sources


def source_spec(cfg: SourceConfig) -> SourceSpec:
    return SourceSpec(
        name=cfg.name,
        base_url=cfg.base_url,
        sitemaps=tuple(cfg.sitemaps),
        feeds=tuple(cfg.feeds),
        listings=tuple(cfg.listings),
        article_url_pattern=cfg.article_url_pattern,
        crawl_delay_s=cfg.crawl_delay_s,
        max_concurrency=cfg.max_concurrency,
        listing_depth=cfg.listing_depth,
        listing_max_pages=cfg.listing_max_pages,
        max_age_days=cfg.max_age_days,
    )


def sync_sources(runtime: Runtime, sources: SourcesFile, now: datetime) -> None:
    """Create or update the archive's Source rows from sources.toml. Their `config`
    carries what detection reads (the article URL pattern) and the rest for reference."""
    with runtime.sessions.begin() as session:
        for cfg in sources.source:
            upsert_source(
                session,
                name=cfg.name,
                base_url=cfg.base_url,
                languages=cfg.languages,
                config=cfg.model_dump(exclude={"name", "base_url", "languages", "enabled"})
                | {"from_file": True},
                now=now,
                enabled=cfg.enabled,
            )


def load_crawl_sources(runtime: Runtime) -> SourcesFile:
    """sources.toml, plus the sources added through the admin API (once the archive
    exists: before `init` the file alone, so `sources --check` works)."""
    allow = runtime.settings.allow_networks
    sources = load_sources(runtime.settings.sources, allow_networks=allow)
    if not runtime.is_initialized():
        return sources
    with runtime.read_sessions() as session:
        rows = [
            (s.name, s.base_url, list(s.languages or []), dict(s.config or {}), s.enabled)
            for s in list_sources(session)
        ]
    return with_archive_sources(sources, rows, allow_networks=allow)
