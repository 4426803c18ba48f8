"""The contract every search backend keeps, and the values that cross it.

A backend holds one document per archived Version (`SearchDocument`) and answers
`SearchQuery`s with a `SearchResult`: one hit per article by default (its best-ranked
version), or every matching version with `versions="all"`; a stable `total` (matching
articles, or versions); facet counts over the filtered result set; a snippet that is
HTML-escaped first and only then marked with `<mark>`; and `removed_text`, true when
the matching version is not the article's current one and the current version no
longer matches the query (the text a later edit removed is what matched).

A document's `id` is 1-511 characters of `A-Z a-z 0-9 - _` (Meilisearch's rule for
primary keys, which the SQLite backend enforces too): both engines refuse any other id
with `SearchError`, a permanent rejection that the indexer isolates to its article and
eventually moves to the dead letters.

`rebuild()` starts a fresh index (`IndexBuild`) filled beside the live one, which keeps
answering every search with its complete, older contents until `publish()` puts the
new one in its place in one step (Meilisearch's index swap; renamed tables in one
SQLite transaction). `presswatch reindex` uses it, so a rebuild has no downtime.

Backends raise only `archive.errors` search errors: `BadQuery` for what the user must
change, `BackendUnavailable` when the engine is missing, down or refuses our key (the
indexer keeps its outbox rows and retries later), and `SearchError` for anything else
the engine rejected. The tree::

    SearchError
    ├── BadQuery             the query or a filter value cannot be run (HTTP 400)
    └── BackendUnavailable   the engine is unreachable or refused the key

This module must not import an engine client; `sqlite_fts` and `meili` do.
"""

from __future__ import annotations

import re
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from archive.errors import BadQuery, SearchError
from archive.store import ArticleStatus
from search_api.highlight import MARK_CLOSE, MARK_OPEN, mark_snippet

# MARK_*, mark_snippet: owned by `search_api.highlight`, re-exported for callers that
# turn hits into HTML.
__all__ = [
    "DOCUMENT_ID",
    "FACET_FIELDS",
    "MARK_CLOSE",
    "MARK_OPEN",
    "MAX_PER_PAGE",
    "MAX_RESULT_WINDOW",
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
    "check_document_id",
    "mark_snippet",
]

FACET_FIELDS = ("source", "lang", "status")
MAX_PER_PAGE = 100
# Deepest result a page may reach; past it users should narrow the query. Meilisearch's
# maxTotalHits is set above this, so both engines can serve every allowed page.
MAX_RESULT_WINDOW = 10_000
# Meilisearch's documented rule for a document id (primary key value).
DOCUMENT_ID = re.compile(r"[A-Za-z0-9_-]{1,511}")
_MAX_FILTER_VALUES = 50
_MAX_FILTER_CHARS = 200


class SortOrder(StrEnum):
    RELEVANCE = "relevance"  # best match first; an empty query falls back to date
    DATE = "date"  # newest first: publish date of the current version, else first seen


@dataclass(frozen=True, slots=True)
class SearchDocument:
    """One archived version, as the index holds it. Built by `search_api.documents`.

    Timestamps are aware UTC datetimes; `*_ts` are the same as epoch seconds, which
    both engines can range-filter and sort. `date_ts` is per article (the current
    version's publish date, else the article's first sighting), so sorting by date
    orders articles the same whichever version represents them.
    """

    id: str  # f"{article_id}-{version}"
    article_id: int
    version: int
    url: str
    source: str
    title: str
    byline: str
    text: str
    lang: str | None
    published: str | None
    published_ts: int | None
    first_seen: datetime
    last_seen: datetime
    status: str
    removed_at: datetime | None
    topic: str | None
    is_current: bool
    date_ts: int


def check_document_id(doc_id: object) -> None:
    """Raise `SearchError` (a permanent rejection) for an id no engine may store."""
    if not isinstance(doc_id, str) or DOCUMENT_ID.fullmatch(doc_id) is None:
        raise SearchError(
            f"document id {doc_id!r} is invalid: use 1-511 characters of A-Z a-z 0-9 - _"
        )


def _check_values(name: str, values: Sequence[str]) -> tuple[str, ...]:
    if isinstance(values, str):
        raise BadQuery(f"{name} must be a list of values, not one string")
    if len(values) > _MAX_FILTER_VALUES:
        raise BadQuery(f"{name}: at most {_MAX_FILTER_VALUES} values, got {len(values)}")
    out = []
    for value in values:
        if not isinstance(value, str) or not value or len(value) > _MAX_FILTER_CHARS:
            raise BadQuery(f"{name}: {value!r} is not a usable value (1-{_MAX_FILTER_CHARS} chars)")
        # No source, language, status or topic name has one; some engines' filter
        # parsers reject them, so both backends refuse them alike.
        if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
            raise BadQuery(f"{name}: {value!r} contains control characters; remove them")
        out.append(value)
    return tuple(out)


def _check_when(name: str, value: datetime | None) -> None:
    if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
        raise BadQuery(f"{name} must be a timezone-aware datetime (e.g. 2026-03-01T00:00Z)")


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """What to search for. Validated on construction (`BadQuery` names the field).

    `text` uses the language of `search_api.query`. Filters combine with AND; several
    values of one filter with OR. `published_*` bound the version's own publish date
    (versions without one are excluded by either bound); `captured_*` keep versions
    that were online during the range (first seen <= captured_to and last seen >=
    captured_from). `page` is 1-based.
    """

    text: str = ""
    sources: tuple[str, ...] = ()
    langs: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    published_from: datetime | None = None
    published_to: datetime | None = None
    captured_from: datetime | None = None
    captured_to: datetime | None = None
    sort: SortOrder = SortOrder.RELEVANCE
    versions: Literal["best", "all"] = "best"
    facets: bool = True
    page: int = 1
    per_page: int = 20

    def __post_init__(self) -> None:
        object.__setattr__(self, "sources", _check_values("source", self.sources))
        object.__setattr__(self, "langs", _check_values("lang", self.langs))
        object.__setattr__(self, "topics", _check_values("topic", self.topics))
        statuses = _check_values("status", self.statuses)
        allowed = [s.value for s in ArticleStatus]
        for status in statuses:
            if status not in allowed:
                raise BadQuery(f"status {status!r}: use one of {', '.join(allowed)}")
        object.__setattr__(self, "statuses", statuses)
        try:
            object.__setattr__(self, "sort", SortOrder(self.sort))
        except ValueError as exc:
            raise BadQuery(f"sort {self.sort!r}: use relevance or date") from exc
        if self.versions not in ("best", "all"):
            raise BadQuery(f"versions {self.versions!r}: use best (one hit per article) or all")
        for name in ("published_from", "published_to", "captured_from", "captured_to"):
            _check_when(name, getattr(self, name))
        if isinstance(self.page, bool) or not isinstance(self.page, int) or self.page < 1:
            raise BadQuery(f"page {self.page!r}: pages are numbered from 1")
        if (
            isinstance(self.per_page, bool)
            or not isinstance(self.per_page, int)
            or not 1 <= self.per_page <= MAX_PER_PAGE
        ):
            raise BadQuery(f"per_page {self.per_page!r}: use 1 to {MAX_PER_PAGE}")
        if self.page * self.per_page > MAX_RESULT_WINDOW:
            raise BadQuery(
                f"page {self.page} goes past result {MAX_RESULT_WINDOW}, the deepest we show; "
                "narrow the query with words or filters"
            )

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    def value_filters(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Each list filter as (field, values): a document passes when its field holds
        one of the values; a filter without values passes everything."""
        return (
            ("source", self.sources),
            ("lang", self.langs),
            ("status", self.statuses),
            ("topic", self.topics),
        )

    def range_filters(self) -> list[tuple[str, str, int]]:
        """Each date bound that is set, as (field, operator, epoch seconds) over the
        documents' `*_ts` fields; what `captured_*` mean is decided here."""
        bounds = (
            ("published_ts", ">=", self.published_from),
            ("published_ts", "<=", self.published_to),
            ("last_seen_ts", ">=", self.captured_from),
            ("first_seen_ts", "<=", self.captured_to),
        )
        return [(name, op, int(when.timestamp())) for name, op, when in bounds if when is not None]


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One result: an article (its best version) or, with versions="all", a version.
    `snippet` and `title_html` are safe HTML (escaped, matches in `<mark>`)."""

    article_id: int
    version: int
    doc_id: str
    url: str
    source: str
    title: str
    title_html: str
    status: str
    lang: str | None
    published: str | None
    first_seen: datetime
    last_seen: datetime
    removed_at: datetime | None
    topic: str | None
    is_current: bool
    snippet: str
    removed_text: bool
    score: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The design's hit shape (`presswatch search --json`), plus a few extra keys."""
        return {
            "article_id": self.article_id,
            "url": self.url,
            "source": self.source,
            "title": self.title,
            "status": self.status,
            "version": self.version,
            "lang": self.lang,
            "snippet": self.snippet,
            "removed_text": self.removed_text,
            "is_current": self.is_current,
            "published": self.published,
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "removed_at": self.removed_at.isoformat() if self.removed_at else None,
            "topic": self.topic,
            "title_html": self.title_html,
        }


@dataclass(frozen=True, slots=True)
class Facets:
    """Counts per value over the whole filtered result set (articles, or versions with
    versions="all"). Values without a field (no detected language) are not counted."""

    source: dict[str, int] = field(default_factory=dict)
    lang: dict[str, int] = field(default_factory=dict)
    status: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {"source": self.source, "lang": self.lang, "status": self.status}


@dataclass(frozen=True, slots=True)
class SearchResult:
    total: int
    hits: tuple[SearchHit, ...]
    facets: Facets | None
    page: int
    per_page: int

    def as_dict(self) -> dict[str, Any]:
        """`{total, hits: [...], facets, page, per_page}` as the design's JSON shape."""
        return {
            "total": self.total,
            "hits": [h.as_dict() for h in self.hits],
            "facets": self.facets.as_dict() if self.facets is not None else None,
            "page": self.page,
            "per_page": self.per_page,
        }


@dataclass(frozen=True, slots=True)
class BackendStats:
    backend: str
    documents: int
    articles: int
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BackendHealth:
    backend: str
    ok: bool
    detail: str


class IndexBuild(ABC):
    """A fresh index being filled while the live one keeps answering (`rebuild()`)."""

    @abstractmethod
    def upsert(self, documents: Sequence[SearchDocument]) -> None:
        """Add documents to the new index (as `SearchBackend.upsert`)."""

    @abstractmethod
    def publish(self) -> None:
        """Put the new index in the live one's place in one step and drop the old one.
        Searches before it see the old index whole, searches after it the new one."""

    @abstractmethod
    def discard(self) -> None:
        """Drop the new index; the live one stays as it was. Never raises."""


class SearchBackend(ABC):
    """A search engine holding the archive's versions. Implementations must keep every
    promise in the module docstring; `tests/test_search_contract.py` checks them."""

    name: str = "backend"

    @abstractmethod
    def configure(self) -> None:
        """Create the index and apply its settings. Idempotent: safe on every start."""

    @abstractmethod
    def upsert(self, documents: Sequence[SearchDocument]) -> None:
        """Add or replace documents (by `id`). Returns only after the engine confirmed
        the whole batch; raises otherwise."""

    @abstractmethod
    def delete(self, doc_ids: Sequence[str]) -> None:
        """Remove documents by id; unknown ids are ignored."""

    @abstractmethod
    def delete_articles(self, article_ids: Sequence[int]) -> None:
        """Remove every document of these articles."""

    @abstractmethod
    def clear(self) -> None:
        """Remove every document (settings stay)."""

    @abstractmethod
    def rebuild(self) -> IndexBuild:
        """Start a fresh, empty index beside the live one (settings applied), to fill
        and `publish()`; the live one is untouched until then."""

    @abstractmethod
    def search(self, query: SearchQuery) -> SearchResult:
        """Run a query. Raises `BadQuery` for what the user must change."""

    @abstractmethod
    def stats(self) -> BackendStats:
        """How many documents (versions) and articles the index holds."""

    @abstractmethod
    def health(self) -> BackendHealth:
        """Whether the engine answers and accepts our key. Never raises."""

    def optimize(self) -> None:  # noqa: B027 - optional hook, a no-op unless overridden
        """Compact the index after a bulk load, where the engine benefits."""

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op unless overridden
        """Release connections."""
