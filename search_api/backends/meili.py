"""The Meilisearch backend, used when `MEILI_URL` is set.

Owns one Meilisearch index (`Settings.meili_index`) through the official `meilisearch`
client: its settings, the documents (one per archived version, primary key `id` =
f"{article_id}-{version}") and the searches. It must not read the archive.

How it keeps the `SearchBackend` contract, following Meilisearch's documented
behaviour:

- Settings are compared with the server's and only what differs is sent, so
  `configure()` is idempotent and does not trigger a reindex on every start.
  `distinctAttribute = article_id` groups versions per article for every search and
  for `facetDistribution` (which Meilisearch computes on distinct results);
  `versions="all"` overrides it per search with `distinct: "id"` (the `distinct`
  search parameter needs the attribute to be filterable). `rankingRules` put `sort`
  first so that sort-by-date is by date, not a tie-break after relevance; without a
  `sort` parameter the rule does nothing. `pagination.maxTotalHits` is raised from 1000
  so `totalHits` (exhaustive with `page`/`hitsPerPage`) is a stable total. Typo
  tolerance stays on for words but off for numbers and bylines (names).
- Khmer is cut into clusters by `search_api.khmer` before indexing, with ZERO WIDTH
  SPACE between clusters declared in `separatorTokens`, and Khmer query words are
  sent as phrases of their clusters.
- Words are cut at symbols as FTS5 cuts them (`search_api.symbols`): the common ones
  are declared separators, the rare ones isolated between ZERO WIDTH SPACEs.
- Every task (index creation, settings, document additions and deletions) is awaited
  and its final status checked: `wait_for_task` returns failed and canceled tasks
  without raising, so a failure is turned into `SearchError` here.
- Unreachable server, timeouts, 5xx and a refused key raise `BackendUnavailable` with
  what to do; anything else Meilisearch rejects raises `SearchError`.
- Filters are built only from an allow-list of fields, and every string value goes
  through `quote_filter_value` (backslash escaped first, then the double quote).
- Meilisearch has no OR in `q`: a query with OR alternatives runs one search per
  combination (`search_api.query.meili_queries`) and unites them here, which is exact up to
  `union_cap` hits per combination.
- Snippets: Meilisearch's `_formatted` crop is not HTML-escaped; matches come back
  between private-use sentinels, which `mark_snippet` turns into `<mark>` after
  escaping.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import requests
from meilisearch.errors import (
    MeilisearchApiError,
    MeilisearchCommunicationError,
    MeilisearchTimeoutError,
)

from archive.errors import BackendUnavailable, SearchError
from search_api import symbols
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
)
from search_api.highlight import MARK_CLOSE, MARK_OPEN, mark_snippet
from search_api.khmer import SEPARATOR, segment, strip_separators
from search_api.query import MAX_QUERY_CHARS, meili_queries, parse_query

log = logging.getLogger(__name__)

# Meilisearch indexes at most 65,536 word positions per attribute (milli's
# MAX_POSITION_PER_ATTRIBUTE) and drops the rest; a hard separator (". ", "?", "។")
# counts 8. A body is cut into chunks of CHUNK_CHARS characters (at most 6,000 words,
# 54,000 positions even with a hard separator after every word), each its own
# attribute; chunks overlap by MAX_QUERY_CHARS so any phrase a query can hold lies
# whole inside one. MAX_CHUNKS chunks are searchable (about 700,000 characters): the
# rest of a longer body is not (the SQLite backend has no such limit).
CHUNK_CHARS = 12_000
CHUNK_OVERLAP = MAX_QUERY_CHARS
MAX_CHUNKS = 64
TEXT_CHUNKS = tuple(f"text_{i}" for i in range(1, MAX_CHUNKS))
SEARCHABLE_ATTRIBUTES = ("title", "byline", "text", *TEXT_CHUNKS)  # in order of importance
FILTERABLE_ATTRIBUTES = (
    "id",
    "article_id",
    "source",
    "lang",
    "status",
    "topic",
    "is_current",
    "published_ts",
    "first_seen_ts",
    "last_seen_ts",
)
SORTABLE_ATTRIBUTES = ("date_ts", "article_id", "version")
RANKING_RULES = ("sort", "words", "typo", "proximity", "attribute", "exactness")
RETRIEVED_ATTRIBUTES = (
    "id",
    "article_id",
    "version",
    "url",
    "source",
    "title",
    "lang",
    "published",
    "first_seen",
    "last_seen",
    "status",
    "removed_at",
    "topic",
    "is_current",
    "date_ts",
)
_FILTER_OPERATORS = ("=", "!=", ">", ">=", "<", "<=")
CROP_WORDS = 30
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DEFAULT_MAX_TOTAL_HITS = 100_000


def index_settings(max_total_hits: int = DEFAULT_MAX_TOTAL_HITS) -> dict[str, Any]:
    """The settings `configure()` makes the index have."""
    return {
        "searchableAttributes": list(SEARCHABLE_ATTRIBUTES),
        "filterableAttributes": list(FILTERABLE_ATTRIBUTES),
        "sortableAttributes": list(SORTABLE_ATTRIBUTES),
        "distinctAttribute": "article_id",
        "rankingRules": list(RANKING_RULES),
        "pagination": {"maxTotalHits": max_total_hits},
        "faceting": {"maxValuesPerFacet": 500},
        # Words match exactly, as in FTS5 (queries quote every word anyway).
        "typoTolerance": {"enabled": False},
        "separatorTokens": [SEPARATOR, *symbols.DECLARED],
    }


_UNORDERED = {"filterableAttributes", "sortableAttributes", "separatorTokens"}


def settings_changes(current: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """The part of `wanted` the server does not have yet. Nested objects are compared on
    the keys we set (the server fills in the rest); lists of attribute names whose order
    means nothing are compared as sets."""
    changes: dict[str, Any] = {}
    for key, value in wanted.items():
        have = current.get(key)
        if isinstance(value, dict):
            have_dict = have if isinstance(have, dict) else {}
            if any(have_dict.get(k) != v for k, v in value.items()):
                changes[key] = value
        elif key in _UNORDERED:
            if not isinstance(have, list) or {str(x) for x in have} != {str(x) for x in value}:
                changes[key] = value
        elif have != value:
            changes[key] = value
    return changes


# -- filters -------------------------------------------------------------------------------


def quote_filter_value(value: str) -> str:
    """A string as a Meilisearch filter literal: double-quoted, with the backslash
    escaped first (Meilisearch >= 1.4 unescapes it) and then the double quote."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, str):
        return quote_filter_value(value)
    raise SearchError(f"cannot use {type(value).__name__} value {value!r} in a Meilisearch filter")


def _field(name: str) -> str:
    if name not in FILTERABLE_ATTRIBUTES:
        raise SearchError(f"{name!r} is not a filterable field; use one of {FILTERABLE_ATTRIBUTES}")
    return name


def filter_condition(name: str, operator: str, value: object) -> str:
    """`name operator value` for an allow-listed field, the value quoted."""
    if operator not in _FILTER_OPERATORS:
        raise SearchError(f"{operator!r} is not a filter operator we use")
    return f"{_field(name)} {operator} {_literal(value)}"


def filter_in(name: str, values: Sequence[object]) -> str:
    """`name IN [v1, v2, ...]` for an allow-listed field, each value quoted."""
    if not values:
        raise SearchError(f"an IN filter on {name} needs at least one value")
    return f"{_field(name)} IN [{', '.join(_literal(v) for v in values)}]"


def build_filter(query: SearchQuery) -> str | None:
    """The filter expression for the query's filters (AND of each), or None."""
    parts: list[str] = []
    for name, values in query.value_filters():
        if values:
            parts.append(filter_in(name, values))
    for name, operator, epoch in query.range_filters():
        parts.append(filter_condition(name, operator, epoch))
    return " AND ".join(parts) if parts else None


# -- documents -----------------------------------------------------------------------------


def text_chunks(text: str) -> list[str]:
    """`text` cut into overlapping chunks at whitespace (see CHUNK_CHARS); the last of
    MAX_CHUNKS chunks holds the rest of an even longer text."""
    if len(text) <= CHUNK_CHARS:
        return [text]
    chunks: list[str] = []
    start = 0
    while start < len(text):
        if len(chunks) == MAX_CHUNKS - 1:
            chunks.append(text[start:])
            break
        end = min(len(text), start + CHUNK_CHARS)
        if end < len(text):
            cut = max(
                text.rfind(" ", start + CHUNK_CHARS // 2, end),
                text.rfind("\n", start + CHUNK_CHARS // 2, end),
            )
            end = cut if cut > start else end
        chunks.append(text[start:end])
        if end >= len(text):
            break
        # The next chunk starts CHUNK_OVERLAP back, at a word start.
        back = max(start + 1, end - CHUNK_OVERLAP)
        space = text.find(" ", back, end)
        start = space + 1 if space >= 0 else back
    return chunks


def meili_text(text: str) -> str:
    """Text as Meilisearch indexes it: Khmer in clusters, rare symbols isolated."""
    return symbols.isolate(segment(text))


def to_meili_document(doc: SearchDocument) -> dict[str, Any]:
    """The JSON document for one version (Khmer segmented in the searchable fields, a
    long body in chunks: `text`, `text_1`, ...)."""
    first, *more = text_chunks(meili_text(doc.text))
    return {
        "id": doc.id,
        "article_id": doc.article_id,
        "version": doc.version,
        "url": doc.url,
        "source": doc.source,
        "title": meili_text(doc.title),
        "byline": meili_text(doc.byline),
        "text": first,
        **{name: chunk for name, chunk in zip(TEXT_CHUNKS, more, strict=False)},
        "lang": doc.lang,
        "published": doc.published,
        "published_ts": doc.published_ts,
        "first_seen": doc.first_seen.isoformat(),
        "last_seen": doc.last_seen.isoformat(),
        "first_seen_ts": int(doc.first_seen.timestamp()),
        "last_seen_ts": int(doc.last_seen.timestamp()),
        "status": doc.status,
        "removed_at": doc.removed_at.isoformat() if doc.removed_at else None,
        "topic": doc.topic,
        "is_current": doc.is_current,
        "date_ts": doc.date_ts,
    }


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _rank_key(raw: dict[str, Any], by_relevance: bool) -> tuple[float, ...]:
    date = -float(raw.get("date_ts") or 0)
    tail = (-float(raw.get("article_id") or 0), -float(raw.get("version") or 0))
    if by_relevance:
        return (-float(raw.get("_rankingScore") or 0.0), date, *tail)
    return (date, *tail)


def _best_crop(formatted: dict[str, Any]) -> str:
    """The body's crop around a match: from the first chunk that has one, else the
    opening chunk's."""
    for name in ("text", *TEXT_CHUNKS):
        value = formatted.get(name)
        if isinstance(value, str) and MARK_OPEN in value:
            return value
    return str(formatted.get("text") or "")


class MeilisearchBackend(SearchBackend):
    """Meilisearch through the official client. `client` may be given (tests pass a
    recorder of payloads); otherwise one is built from `url` and `api_key`."""

    name = "meilisearch"

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        index_uid: str = "presswatch",
        *,
        client: Any = None,
        timeout_s: int = 10,
        task_timeout_ms: int = 300_000,
        batch_size: int = 1000,
        max_total_hits: int = DEFAULT_MAX_TOTAL_HITS,
        union_cap: int = 10_000,
        search_only: bool = False,
    ) -> None:
        self.url = url
        self.search_only = search_only
        self.index_uid = index_uid
        self.task_timeout_ms = task_timeout_ms
        self.batch_size = batch_size
        self.max_total_hits = max_total_hits
        self.union_cap = union_cap
        if client is None:
            import meilisearch

            client = meilisearch.Client(url, api_key, timeout=timeout_s)
        self._client = client
        self._index = client.index(index_uid)

    # -- plumbing --------------------------------------------------------------------------

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Turn the client's errors into ours, saying what was being done and what to do."""
        try:
            yield
        except (MeilisearchCommunicationError, MeilisearchTimeoutError) as exc:
            raise BackendUnavailable(
                f"Meilisearch at {self.url} did not answer while {action} ({exc.message}); "
                "start it, or unset MEILI_URL to use the embedded SQLite index"
            ) from exc
        except MeilisearchApiError as exc:
            if exc.status_code in (401, 403) or exc.code in (
                "missing_authorization_header",
                "invalid_api_key",
            ):
                raise BackendUnavailable(
                    f"Meilisearch at {self.url} refused our key while {action} "
                    f"({exc.code or exc.status_code}); set MEILI_MASTER_KEY to the master key "
                    "or to a key allowed to search, add documents and manage settings"
                ) from exc
            if exc.status_code >= 500:
                raise BackendUnavailable(
                    f"Meilisearch at {self.url} failed while {action} "
                    f"(HTTP {exc.status_code}: {exc.message}); try again later"
                ) from exc
            raise SearchError(f"Meilisearch rejected {action}: {exc.code}: {exc.message}") from exc
        except requests.RequestException as exc:
            raise BackendUnavailable(
                f"cannot reach Meilisearch at {self.url} while {action} ({exc}); check MEILI_URL"
            ) from exc

    def _wait(self, task_info: Any, action: str) -> None:
        """Await one task and insist that it succeeded (`wait_for_task` does not raise
        when a task fails or is canceled)."""
        task = self._client.wait_for_task(
            task_info.task_uid, timeout_in_ms=self.task_timeout_ms, interval_in_ms=50
        )
        if task.status != "succeeded":
            error = task.error or {}
            raise SearchError(
                f"Meilisearch task {task.uid} ({task.type}) {task.status} while {action}: "
                f"{error.get('code', 'no error code')}: {error.get('message', 'no message')}"
            )

    # -- contract: writing ---------------------------------------------------------------

    def configure(self) -> None:
        if self.search_only:
            # A search key may not read or change settings: check that it can search.
            with self._guard(f"searching index {self.index_uid!r}"):
                self._index.search("", {"limit": 0})
            return
        with self._guard(f"creating index {self.index_uid!r}"):
            try:
                self._client.get_raw_index(self.index_uid)
            except MeilisearchApiError as exc:
                if exc.code != "index_not_found":
                    raise
                self._wait(
                    self._client.create_index(self.index_uid, {"primaryKey": "id"}),
                    f"creating index {self.index_uid!r}",
                )
        with self._guard(f"applying settings to index {self.index_uid!r}"):
            changes = settings_changes(
                self._index.get_settings(), index_settings(self.max_total_hits)
            )
            if changes:
                log.info("updating Meilisearch settings: %s", sorted(changes))
                self._wait(self._index.update_settings(changes), "applying settings")

    def upsert(self, documents: Sequence[SearchDocument]) -> None:
        if not documents:
            return
        with self._guard(f"adding {len(documents)} documents"):
            tasks = [
                self._index.add_documents(
                    [to_meili_document(d) for d in documents[i : i + self.batch_size]],
                    primary_key="id",
                )
                for i in range(0, len(documents), self.batch_size)
            ]
            # Enqueue every batch first so Meilisearch can batch them together, then
            # insist that each one succeeded.
            for task in tasks:
                self._wait(task, "adding documents")

    def _delete_by_filter(self, expression: str, action: str) -> None:
        with self._guard(action):
            self._wait(self._index.delete_documents(filter=expression), action)

    def delete(self, doc_ids: Sequence[str]) -> None:
        ids = list(doc_ids)
        for i in range(0, len(ids), self.batch_size):
            self._delete_by_filter(
                filter_in("id", ids[i : i + self.batch_size]), "deleting documents"
            )

    def delete_articles(self, article_ids: Sequence[int]) -> None:
        ids = [int(a) for a in article_ids]
        for i in range(0, len(ids), self.batch_size):
            self._delete_by_filter(
                filter_in("article_id", ids[i : i + self.batch_size]), "deleting articles"
            )

    def clear(self) -> None:
        with self._guard("deleting all documents"):
            self._wait(self._index.delete_all_documents(), "deleting all documents")

    def rebuild(self) -> IndexBuild:
        return _MeiliBuild(self)

    def drop_index(self, uid: str) -> None:
        """Delete index `uid` if it exists (a rebuild's leftover or its old contents)."""
        with self._guard(f"deleting index {uid!r}"):
            try:
                self._wait(self._client.delete_index(uid), f"deleting index {uid!r}")
            except SearchError as exc:
                if "index_not_found" not in str(exc):
                    raise

    # -- contract: reading ---------------------------------------------------------------

    def _base_params(
        self, query: SearchQuery, expression: str | None, empty: bool
    ) -> dict[str, Any]:
        # Every word and phrase must match (Meilisearch drops words from the end by
        # default until something matches).
        params: dict[str, Any] = {"matchingStrategy": "all"}
        if expression:
            params["filter"] = expression
        if query.sort is SortOrder.DATE or empty:
            # Within one article (same date_ts and article_id) the remaining rules pick
            # the best-matching version, as the SQLite backend does; without a query
            # there is nothing to match, and the newest version that passes the filters
            # (normally the current one) represents the article.
            params["sort"] = ["date_ts:desc", "article_id:desc"] + (
                ["version:desc"] if query.versions == "all" or empty else []
            )
        if query.versions == "all":
            params["distinct"] = "id"  # unique per document: no grouping
        return params

    def _snippet_params(self) -> dict[str, Any]:
        return {
            "attributesToCrop": ["text", *TEXT_CHUNKS],
            "cropLength": CROP_WORDS,
            "cropMarker": "…",
            "attributesToHighlight": ["title", "text", *TEXT_CHUNKS],
            "highlightPreTag": MARK_OPEN,
            "highlightPostTag": MARK_CLOSE,
        }

    def search(self, query: SearchQuery) -> SearchResult:
        parsed = parse_query(query.text)
        alternatives = meili_queries(parsed)
        expression = build_filter(query)
        with self._guard("searching"):
            if len(alternatives) == 1:
                return self._search_one(alternatives[0], query, expression, parsed.is_empty)
            return self._search_union(alternatives, query, expression)

    def _search_one(
        self, q: str, query: SearchQuery, expression: str | None, empty: bool
    ) -> SearchResult:
        params = self._base_params(query, expression, empty)
        params.update(self._snippet_params())
        params.update(
            page=query.page,
            hitsPerPage=query.per_page,
            attributesToRetrieve=[*RETRIEVED_ATTRIBUTES, "text", *TEXT_CHUNKS],
            showRankingScore=True,
        )
        if query.facets:
            params["facets"] = list(FACET_FIELDS)
        response = self._index.search(q, params)
        raws: list[dict[str, Any]] = list(response.get("hits", []))
        stale = {int(r["article_id"]) for r in raws if not r.get("is_current")}
        still = set() if empty else self._current_matching([q], stale)
        hits = tuple(self._hit(r, r.get("_formatted", {}), empty, still) for r in raws)
        facets = None
        if query.facets:
            dist = response.get("facetDistribution") or {}
            facets = Facets(
                source=dict(dist.get("source", {})),
                lang=dict(dist.get("lang", {})),
                status=dict(dist.get("status", {})),
            )
        return SearchResult(
            total=int(response.get("totalHits", len(raws))),
            hits=hits,
            facets=facets,
            page=query.page,
            per_page=query.per_page,
        )

    def _search_union(
        self, alternatives: list[str], query: SearchQuery, expression: str | None
    ) -> SearchResult:
        base = self._base_params(query, expression, False)
        per_article = query.versions == "best"
        best: dict[object, tuple[dict[str, Any], int]] = {}
        for index, q in enumerate(alternatives):
            # Every hit of every alternative (up to maxTotalHits each), a page of
            # `union_cap` at a time, so totals and facets of the union are exact.
            for offset in range(0, self.max_total_hits, self.union_cap):
                params = dict(base)
                params.update(
                    limit=min(self.union_cap, self.max_total_hits - offset),
                    offset=offset,
                    attributesToRetrieve=list(RETRIEVED_ATTRIBUTES),
                    showRankingScore=True,
                )
                raws = self._index.search(q, params).get("hits", [])
                for raw in raws:
                    key = raw["article_id"] if per_article else raw["id"]
                    held = best.get(key)
                    score = float(raw.get("_rankingScore") or 0.0)
                    if held is None or score > float(held[0].get("_rankingScore") or 0.0):
                        best[key] = (raw, index)
                if len(raws) < params["limit"]:
                    break
        by_relevance = query.sort is SortOrder.RELEVANCE
        merged = sorted(best.values(), key=lambda item: _rank_key(item[0], by_relevance))
        window = merged[query.offset : query.offset + query.per_page]
        formatted: dict[str, dict[str, Any]] = {}
        for index, q in enumerate(alternatives):
            ids = [raw["id"] for raw, i in window if i == index]
            if not ids:
                continue
            params = {
                "filter": filter_in("id", ids),
                "distinct": "id",
                "limit": len(ids),
                "matchingStrategy": "all",
            }
            params.update(self._snippet_params())
            params["attributesToRetrieve"] = ["id", "title", "text", *TEXT_CHUNKS]
            for raw in self._index.search(q, params).get("hits", []):
                formatted[raw["id"]] = raw.get("_formatted", {})
        stale = {int(raw["article_id"]) for raw, _ in window if not raw.get("is_current")}
        still = self._current_matching(alternatives, stale)
        hits = tuple(
            self._hit(raw, formatted.get(raw["id"], {}), False, still) for raw, _ in window
        )
        facets = None
        if query.facets:
            counts: dict[str, dict[str, int]] = {name: {} for name in FACET_FIELDS}
            for raw, _ in merged:
                for name in FACET_FIELDS:
                    value = raw.get(name)
                    if value is not None:
                        counts[name][str(value)] = counts[name].get(str(value), 0) + 1
            facets = Facets(source=counts["source"], lang=counts["lang"], status=counts["status"])
        return SearchResult(
            total=len(merged), hits=hits, facets=facets, page=query.page, per_page=query.per_page
        )

    def _current_matching(self, alternatives: list[str], article_ids: set[int]) -> set[int]:
        """Of these articles, those whose current version matches any alternative."""
        if not article_ids:
            return set()
        ids = sorted(article_ids)
        expression = (
            f"{filter_condition('is_current', '=', True)} AND {filter_in('article_id', ids)}"
        )
        found: set[int] = set()
        for q in alternatives:
            response = self._index.search(
                q,
                {
                    "filter": expression,
                    "limit": len(ids),
                    "attributesToRetrieve": ["article_id"],
                    "matchingStrategy": "all",
                },
            )
            found.update(int(h["article_id"]) for h in response.get("hits", []))
        return found

    def _hit(
        self, raw: dict[str, Any], formatted: dict[str, Any], empty: bool, still: set[int]
    ) -> SearchHit:
        title = strip_separators(str(raw.get("title") or ""))
        is_current = bool(raw.get("is_current"))
        article_id = int(raw["article_id"])
        score = raw.get("_rankingScore")
        return SearchHit(
            article_id=article_id,
            version=int(raw["version"]),
            doc_id=str(raw["id"]),
            url=str(raw["url"]),
            source=str(raw["source"]),
            title=title,
            title_html=mark_snippet(str(formatted.get("title") or raw.get("title") or "")),
            status=str(raw["status"]),
            lang=raw.get("lang"),
            published=raw.get("published"),
            first_seen=_when(raw.get("first_seen")) or _EPOCH,
            last_seen=_when(raw.get("last_seen")) or _EPOCH,
            removed_at=_when(raw.get("removed_at")),
            topic=raw.get("topic"),
            is_current=is_current,
            snippet=mark_snippet(_best_crop(formatted)),
            removed_text=not empty and not is_current and article_id not in still,
            score=float(score) if score is not None and not empty else None,
        )

    def stats(self) -> BackendStats:
        with self._guard("reading index stats"):
            info = self._index.get_stats()
            response = self._index.search(
                "", {"page": 1, "hitsPerPage": 1, "attributesToRetrieve": ["id"]}
            )
        return BackendStats(
            backend=self.name,
            documents=int(getattr(info, "number_of_documents", 0)),
            articles=int(response.get("totalHits", 0)),
            detail={
                "url": self.url,
                "index": self.index_uid,
                "is_indexing": bool(getattr(info, "is_indexing", False)),
            },
        )

    def health(self) -> BackendHealth:
        try:
            with self._guard("checking health"):
                status = self._client.health().get("status")
                if self.search_only:
                    self._index.search("", {"limit": 0})
                else:
                    self._client.get_raw_index(self.index_uid)
        except SearchError as exc:
            return BackendHealth(self.name, False, str(exc))
        if status != "available":
            return BackendHealth(self.name, False, f"Meilisearch at {self.url} reports {status!r}")
        return BackendHealth(self.name, True, f"Meilisearch at {self.url}, index {self.index_uid}")


class _MeiliBuild(IndexBuild):
    """A rebuild into index `<uid>_rebuild` (created with the live index's settings, so
    documents are indexed once), swapped with the live index by Meilisearch's
    `/swap-indexes` -- one atomic task -- and then deleted, holding the old documents.
    The live uid never changes, so keys restricted to it keep working."""

    def __init__(self, live: MeilisearchBackend) -> None:
        self.live = live
        self.uid = f"{live.index_uid}_rebuild"
        live.drop_index(self.uid)  # left by a killed rebuild
        self.staging = MeilisearchBackend(
            live.url,
            index_uid=self.uid,
            client=live._client,
            task_timeout_ms=live.task_timeout_ms,
            batch_size=live.batch_size,
            max_total_hits=live.max_total_hits,
            union_cap=live.union_cap,
        )
        self.staging.configure()

    def upsert(self, documents: Sequence[SearchDocument]) -> None:
        self.staging.upsert(documents)

    def publish(self) -> None:
        live = self.live
        with live._guard(f"swapping index {self.uid!r} into {live.index_uid!r}"):
            live._wait(
                live._client.swap_indexes([{"indexes": [live.index_uid, self.uid]}]),
                "swapping in the rebuilt index",
            )
        live.drop_index(self.uid)

    def discard(self) -> None:
        try:
            self.live.drop_index(self.uid)
        except SearchError as exc:  # the next rebuild drops it anyway
            log.warning("could not delete the unfinished rebuild's index: %s", exc)
