"""The sources a crawl uses: sources.toml plus those added through the admin API, the
archive's Source rows synced from them, and each as the crawler's `SourceSpec`."""

from __future__ import annotations

from datetime import datetime

from archive.store import SourceOwner, list_sources, upsert_source
from crawler.context import SourceSpec
from presswatch.runtime import Runtime
from presswatch.sources import SourceConfig, SourcesFile, load_sources, with_archive_sources


def source_spec(cfg: SourceConfig) -> SourceSpec:
    """The entry as the crawler needs it."""
    return SourceSpec.of(cfg.name, cfg.base_url, cfg.options())


def sync_sources(runtime: Runtime, sources: SourcesFile, now: datetime) -> None:
    """Create or update the archive's Source rows from sources.toml. Their `config`
    carries what detection reads (the article URL pattern) and the rest for reference,
    marked as the file's."""
    with runtime.sessions.begin() as session:
        for cfg in sources.source:
            upsert_source(
                session,
                name=cfg.name,
                base_url=cfg.base_url,
                languages=cfg.languages,
                config=cfg.options(owner=SourceOwner.FILE),
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
            (s.name, s.base_url, list(s.languages or []), s.config, s.enabled)
            for s in list_sources(session)
        ]
    return with_archive_sources(sources, rows, allow_networks=allow)
