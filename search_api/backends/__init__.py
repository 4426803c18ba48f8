"""Search backends behind one contract (`SearchBackend`): SQLite FTS5 (embedded,
the default) and Meilisearch (when `MEILI_URL` is set). Engine clients are imported
only by the module of their backend, so importing this package needs neither."""

from search_api.backends.base import (
    FACET_FIELDS,
    BackendHealth,
    BackendStats,
    Facets,
    IndexBuild,
    SearchBackend,
    SearchDocument,
    SearchHit,
    SearchQuery,
    SearchResult,
    SortOrder,
    mark_snippet,
)

__all__ = [
    "FACET_FIELDS",
    "BackendHealth",
    "BackendStats",
    "Facets",
    "IndexBuild",
    "SearchBackend",
    "SearchDocument",
    "SearchHit",
    "SearchQuery",
    "SearchResult",
    "SortOrder",
    "mark_snippet",
]
