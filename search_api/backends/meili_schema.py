"""The Meilisearch index's shape: the settings `configure()` gives it and the JSON
document written for each archived version (primary key `id` =
f"{article_id}-{version}"). Pure: no client, no network.

- Settings are compared with the server's and only what differs is sent, so
  `configure()` is idempotent and does not trigger a reindex on every start.
  `distinctAttribute = article_id` groups versions per article for every search and
  for `facetDistribution` (which Meilisearch computes on distinct results);
  `versions="all"` overrides it per search with `distinct: "id"` (the `distinct`
  search parameter needs the attribute to be filterable). `rankingRules` put `sort`
  first so that sort-by-date is by date, not a tie-break after relevance; without a
  `sort` parameter the rule does nothing. `pagination.maxTotalHits` is raised from 1000
  so `totalHits` (exhaustive with `page`/`hitsPerPage`) is a stable total. Typo
  tolerance is off: words match exactly, as in FTS5.
- Khmer is cut into clusters by `search_api.khmer` before indexing, with ZERO WIDTH
  SPACE between clusters declared in `separatorTokens`, and Khmer query words are
  sent as phrases of their clusters.
- Words are cut at symbols as FTS5 cuts them (`search_api.symbols`): the common ones
  are declared separators, the rare ones isolated between ZERO WIDTH SPACEs.
"""

from __future__ import annotations

from typing import Any

from search_api import symbols
from search_api.backends.base import SearchDocument
from search_api.khmer import SEPARATOR, segment
from search_api.query import MAX_QUERY_CHARS

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
