"""What a Meilisearch search asks and how its answer is read: filter expressions, the
search parameters, and hits in the contract's shape. Pure: no client, no network.

- Filters are built only from an allow-list of fields, and every string value goes
  through `quote_filter_value` (backslash escaped first, then the double quote).
- Snippets: Meilisearch's `_formatted` crop is not HTML-escaped; matches come back
  between private-use sentinels, which `mark_snippet` turns into `<mark>` after
  escaping.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from archive.errors import SearchError
from search_api.backends.base import SearchHit, SearchQuery, SortOrder
from search_api.backends.meili_schema import FILTERABLE_ATTRIBUTES, TEXT_CHUNKS
from search_api.highlight import MARK_CLOSE, MARK_OPEN, mark_snippet
from search_api.khmer import strip_separators

_FILTER_OPERATORS = ("=", "!=", ">", ">=", "<", "<=")
CROP_WORDS = 30
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# -- filters ---------------------------------------------------------------------------------


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


# -- searches -------------------------------------------------------------------------------


def search_params(query: SearchQuery, expression: str | None, empty: bool) -> dict[str, Any]:
    """The parameters every search of `query` sends: matching, filter, sort, grouping."""
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


def snippet_params() -> dict[str, Any]:
    """The parameters that ask for highlighted titles and cropped bodies."""
    return {
        "attributesToCrop": ["text", *TEXT_CHUNKS],
        "cropLength": CROP_WORDS,
        "cropMarker": "…",
        "attributesToHighlight": ["title", "text", *TEXT_CHUNKS],
        "highlightPreTag": MARK_OPEN,
        "highlightPostTag": MARK_CLOSE,
    }


def rank_key(raw: dict[str, Any], by_relevance: bool) -> tuple[float, ...]:
    """The order of hits merged from several searches: the order each search returns."""
    date = -float(raw.get("date_ts") or 0)
    tail = (-float(raw.get("article_id") or 0), -float(raw.get("version") or 0))
    if by_relevance:
        return (-float(raw.get("_rankingScore") or 0.0), date, *tail)
    return (date, *tail)


# -- hits -----------------------------------------------------------------------------------


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _best_crop(formatted: dict[str, Any]) -> str:
    """The body's crop around a match: from the first chunk that has one, else the
    opening chunk's."""
    for name in ("text", *TEXT_CHUNKS):
        value = formatted.get(name)
        if isinstance(value, str) and MARK_OPEN in value:
            return value
    return str(formatted.get("text") or "")


def to_hit(
    raw: dict[str, Any], formatted: dict[str, Any], empty: bool, still: set[int]
) -> SearchHit:
    """A hit from one Meilisearch hit (`raw`) and its highlighted fields (`formatted`):
    `empty` when there was no query, `still` the articles whose current version
    matches it."""
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
