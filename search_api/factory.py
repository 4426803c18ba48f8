"""Builds the configured search backend from Settings: Meilisearch when `meili_url` is
set, else the embedded SQLite FTS5 index at `search_index_path`. Builds only; the
caller decides when to `configure()` (which touches the engine).

`search_api` may import only `archive`, so the settings are described here by the
attributes read (a Protocol) rather than by importing `presswatch.settings.Settings`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from pydantic import SecretStr

from search_api.backends.base import SearchBackend

__all__ = ["BackendSettings", "make_backend"]


class BackendSettings(Protocol):
    """What `make_backend` reads; `presswatch.settings.Settings` has all of it."""

    @property
    def meili_url(self) -> str | None: ...

    @property
    def meili_master_key(self) -> SecretStr | None: ...

    @property
    def meili_index(self) -> str: ...

    @property
    def search_index_path(self) -> Path: ...


def make_backend(settings: BackendSettings, *, search_only: bool = False) -> SearchBackend:
    """Meilisearch when `settings.meili_url` is set, else SQLite FTS5. With
    `search_only` (the API server) and a `meili_search_key` configured, the backend
    uses that key and only searches: it neither creates the index nor changes its
    settings, which the indexer (`presswatch run`, `reindex`) does with the master key."""
    if settings.meili_url:
        from search_api.backends.meili import MeilisearchBackend

        search_key: SecretStr | None = getattr(settings, "meili_search_key", None)
        timeout_s: float = getattr(settings, "meili_timeout_s", 10.0)
        if search_only and search_key is not None and search_key.get_secret_value():
            return MeilisearchBackend(
                settings.meili_url,
                search_key.get_secret_value(),
                settings.meili_index,
                search_only=True,
                timeout_s=timeout_s,
            )
        key = settings.meili_master_key.get_secret_value() if settings.meili_master_key else None
        return MeilisearchBackend(
            settings.meili_url, key, settings.meili_index, timeout_s=timeout_s
        )
    from search_api.backends.sqlite_fts import SqliteFtsBackend

    return SqliteFtsBackend(settings.search_index_path)
