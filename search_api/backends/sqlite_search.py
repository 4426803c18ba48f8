"""Searching the SQLite FTS5 index: the filter clauses, the page of hits with its total
and facets, and the hits as the contract shows them.

Ranking is bm25 with the title weighted above the byline and the body; a grouped
search represents each article by its best-ranked version. Listing without a query
uses plain indexed scans.

Snippets are cut in Python around the window with the most query terms, from the text
as archived (`docs.body`; the FTS table is contentless, so FTS5's snippet() has no text
to cut); see `search_api.highlight`. A hit whose text the expressions cannot place
shows its opening.

Rows are read by name: the columns a query selects are generated from the fields of
the NamedTuple that receives them (`_StoredHit`, `PageRow`). Every function here reads
inside the snapshot its caller (`search_api.backends.sqlite_fts`) opened; none writes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar

from search_api.backends.base import FACET_FIELDS, SearchHit, SearchQuery, SortOrder
from search_api.backends.sqlite_tables import marks
from search_api.backends.sqlite_texts import read_texts
from search_api.highlight import SNIPPET_CHARS, Highlighter, lead, mark_snippet
from search_api.query import ParsedQuery

# bm25 column weights: title, byline, body.
BM25_WEIGHTS = (10.0, 3.0, 1.0)
# CTEs used twice are materialized by default; saying so needs SQLite 3.35+.
_MATERIALIZED = "MATERIALIZED " if sqlite3.sqlite_version_info >= (3, 35, 0) else ""


class PageRow(NamedTuple):
    """One hit of a result page, before its stored fields are read."""

    rowid: int
    score: float  # bm25: lower is better; 0.0 when listing without a query
    date_ts: int
    article_id: int
    version: int


# A page of hits, the total, and the facet counts (field -> value -> count).
Page = tuple[list[PageRow], int, dict[str, dict[str, int]]]


class _StoredHit(NamedTuple):
    """What a hit shows, as stored in `docs` (`_HIT_SELECT`)."""

    rowid: int
    doc_id: str
    article_id: int
    version: int
    url: str
    source: str
    title: str
    lang: str | None
    published: str | None
    first_seen: str
    last_seen: str
    status: str
    removed_at: str | None
    topic: str | None
    is_current: int


_HIT_SELECT = ", ".join(f"d.{name} AS {name}" for name in _StoredHit._fields)

_Row = TypeVar("_Row", PageRow, _StoredHit)


def _fetch(
    conn: sqlite3.Connection, row_type: type[_Row], sql: str, params: Sequence[Any]
) -> list[_Row]:
    """Run `sql` and build a `row_type` from each row by column name: the query must
    name (or alias) its columns as the tuple names its fields, in any order."""
    cursor = conn.execute(sql, params)
    names = [column[0] for column in cursor.description]
    return [row_type(**dict(zip(names, row, strict=True))) for row in cursor]


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def filter_clauses(query: SearchQuery) -> tuple[str, list[Any]]:
    """The query's filters as ` AND ...` clauses on `docs` (alias d), and their values."""
    clauses: list[str] = []
    params: list[Any] = []
    for column, values in query.value_filters():
        if values:
            clauses.append(f"d.{column} IN ({marks(len(values))})")
            params.extend(values)
    for column, operator, epoch in query.range_filters():
        clauses.append(f"d.{column} {operator} ?")
        params.append(epoch)
    return "".join(" AND " + c for c in clauses), params


def find_page(
    conn: sqlite3.Connection,
    query: SearchQuery,
    match: str | None,
    where: str,
    params: list[Any],
) -> Page:
    """The page of hits, the total and the facets: by a plain listing or by ranking."""
    # Listing without a query: an article's best version is its current one, unless
    # a filter on versions (language, dates) may exclude that one.
    per_version_filters = (
        query.langs,
        query.published_from,
        query.published_to,
        query.captured_from,
        query.captured_to,
    )
    if match is None and (query.versions == "all" or not any(per_version_filters)):
        return browse(conn, query, where, params)
    return ranked(conn, query, match, where, params)


def browse(conn: sqlite3.Connection, query: SearchQuery, where: str, params: list[Any]) -> Page:
    """Newest first without a query: plain indexed scans, no ranking."""
    current = " AND d.is_current = 1" if query.versions == "best" else ""
    base = f"FROM docs d WHERE 1 = 1{current}{where}"
    page = _fetch(
        conn,
        PageRow,
        "SELECT d.rowid AS rowid, 0.0 AS score, d.date_ts AS date_ts, "
        f"d.article_id AS article_id, d.version AS version {base} "
        "ORDER BY d.date_ts DESC, d.article_id DESC, d.version DESC LIMIT ? OFFSET ?",
        (*params, query.per_page, query.offset),
    )
    counts: dict[str, dict[str, int]] = {name: {} for name in FACET_FIELDS}
    if not query.facets:
        total = int(conn.execute(f"SELECT COUNT(*) {base}", params).fetchone()[0])
        return page, total, counts
    # Total and the three facets in one pass (an index covers these columns).
    total = 0
    facet_columns = ", ".join(f"d.{name}" for name in FACET_FIELDS)
    for *keys, n in conn.execute(
        f"SELECT {facet_columns}, COUNT(*) {base} GROUP BY {facet_columns}", params
    ):
        total += int(n)
        _count(counts, keys, int(n))
    return page, total, counts


def _count(counts: dict[str, dict[str, int]], keys: Sequence[Any], n: int) -> None:
    """Add one group of `n` hits with these facet values (in `FACET_FIELDS` order) to
    the facet counts; a missing value is not counted."""
    for name, key in zip(FACET_FIELDS, keys, strict=True):
        if key is not None:
            counts[name][str(key)] = counts[name].get(str(key), 0) + n


def ranked(
    conn: sqlite3.Connection,
    query: SearchQuery,
    match: str | None,
    where: str,
    params: list[Any],
) -> Page:
    """Matching versions ranked by bm25, grouped per article unless every version
    is wanted; page, total and facets from one pass over the matches."""
    columns = (
        "d.rowid AS rid, d.article_id AS article_id, d.version AS version, "
        "d.is_current AS is_current, d.date_ts AS date_ts, d.source AS source, "
        "d.lang AS lang, d.status AS status"
    )
    if match is not None:
        weights = ", ".join(str(w) for w in BM25_WEIGHTS)
        matched = (
            f"SELECT {columns}, bm25(docs_fts, {weights}) AS score "
            f"FROM docs_fts JOIN docs d ON d.rowid = docs_fts.rowid "
            f"WHERE docs_fts MATCH ?{where}"
        )
        m_params: list[Any] = [match, *params]
    else:
        matched = f"SELECT {columns}, 0.0 AS score FROM docs d WHERE 1 = 1{where}"
        m_params = list(params)
    if query.versions == "all":
        grouped = "SELECT * FROM m"
    elif match is not None:
        # The best-ranked version (lowest bm25) represents its article. SQLite takes
        # the other columns of a MIN() aggregate from the row holding the minimum;
        # a window function would do the same at twice the cost on large results.
        grouped = (
            "SELECT rid, article_id, version, is_current, date_ts, source, lang, status, "
            "MIN(score) AS score FROM m GROUP BY article_id"
        )
    else:
        # Listing with filters on versions: the current version if it passes them,
        # else the newest one that does.
        grouped = (
            "SELECT * FROM (SELECT m.*, ROW_NUMBER() OVER (PARTITION BY article_id "
            "ORDER BY is_current DESC, version DESC) AS rn FROM m) WHERE rn = 1"
        )
    by_relevance = query.sort is SortOrder.RELEVANCE and match is not None
    order = (
        "score, date_ts DESC, article_id DESC, version DESC"
        if by_relevance
        else "date_ts DESC, article_id DESC, version DESC"
    )
    # The page, then the total and the facets: with facets, one grouping by all three
    # facet columns (a few groups, one sort of the matches) instead of one per facet.
    sql = (
        f"WITH m AS {_MATERIALIZED}({matched}), g AS {_MATERIALIZED}({grouped}) "
        "SELECT 1, rid, score, date_ts, article_id, version, NULL, NULL, NULL, NULL "
        f"FROM (SELECT * FROM g ORDER BY {order} LIMIT ? OFFSET ?) UNION ALL "
    )
    facet_columns = ", ".join(FACET_FIELDS)
    if query.facets:
        sql += (
            f"SELECT 0, NULL, NULL, NULL, NULL, NULL, {facet_columns}, COUNT(*) "
            f"FROM g GROUP BY {facet_columns}"
        )
    else:
        sql += "SELECT 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, COUNT(*) FROM g"
    rows = conn.execute(sql, (*m_params, query.per_page, query.offset)).fetchall()
    total = 0
    counts: dict[str, dict[str, int]] = {name: {} for name in FACET_FIELDS}
    page: list[PageRow] = []
    for is_hit, rid, score, date_ts, article_id, version, *keys, n in rows:
        if is_hit:
            page.append(PageRow(rid, score, date_ts, article_id, version))
            continue
        total += int(n)
        if query.facets:
            _count(counts, keys, int(n))
    # Each facet's values in order, as a grouping by that facet alone gives them.
    counts = {name: dict(sorted(values.items())) for name, values in counts.items()}
    # UNION ALL keeps no order: sort the page by the same key as the SQL did.
    if by_relevance:
        page.sort(key=lambda r: (r.score, -r.date_ts, -r.article_id, -r.version))
    else:
        page.sort(key=lambda r: (-r.date_ts, -r.article_id, -r.version))
    return page, total, counts


def read_hits(
    conn: sqlite3.Connection,
    page: list[PageRow],
    match: str | None,
    parsed: ParsedQuery,
) -> list[SearchHit]:
    """The page's hits with their stored fields, highlighted title and snippet, and
    whether the text that matched was removed by a later version."""
    if not page:
        return []
    rowids = [r.rowid for r in page]
    rows = _fetch(
        conn,
        _StoredHit,
        f"SELECT {_HIT_SELECT} FROM docs d WHERE d.rowid IN ({marks(len(rowids))})",
        rowids,
    )
    by_rowid = {row.rowid: row for row in rows}
    # Without a query a hit shows its lead: one character past it says whether it is cut.
    texts = read_texts(conn, "docs", by_rowid, None if match is not None else SNIPPET_CHARS + 1)
    highlighter = Highlighter(parsed) if match is not None else None
    snippets: dict[int, str] = {}
    titles: dict[int, str] = {}
    for rowid, row in by_rowid.items():
        text = texts[rowid]
        if highlighter is None:
            snippets[rowid] = lead(text)
            titles[rowid] = row.title
            continue
        titles[rowid] = highlighter.title(row.title)
        # FTS5 matched where our expressions found nothing (rare: a fold they do not
        # know): the opening of the text, unmarked.
        snippets[rowid] = highlighter.snippet(text) or lead(text)
    stale = {row.article_id for row in by_rowid.values() if not row.is_current}
    still_matching = _current_matching(conn, stale, match) if match else set()
    scores = {r.rowid: r.score for r in page}
    hits = []
    for rowid in rowids:
        stored = by_rowid.get(rowid)
        if stored is None:  # pragma: no cover - same snapshot, cannot vanish
            continue
        hits.append(
            SearchHit(
                article_id=stored.article_id,
                version=stored.version,
                doc_id=stored.doc_id,
                url=stored.url,
                source=stored.source,
                title=stored.title,
                title_html=mark_snippet(titles.get(rowid, stored.title)),
                status=stored.status,
                lang=stored.lang,
                published=stored.published,
                first_seen=_when(stored.first_seen) or datetime.fromtimestamp(0, UTC),
                last_seen=_when(stored.last_seen) or datetime.fromtimestamp(0, UTC),
                removed_at=_when(stored.removed_at),
                topic=stored.topic,
                is_current=bool(stored.is_current),
                snippet=mark_snippet(snippets.get(rowid, "")),
                removed_text=(
                    match is not None
                    and not stored.is_current
                    and stored.article_id not in still_matching
                ),
                score=-scores[rowid] if match is not None else None,
            )
        )
    return hits


def _current_matching(conn: sqlite3.Connection, article_ids: set[int], match: str) -> set[int]:
    """Of these articles, those whose current version matches the query."""
    if not article_ids:
        return set()
    ids = sorted(article_ids)
    current = dict(
        conn.execute(
            f"SELECT rowid, article_id FROM docs WHERE is_current = 1 "
            f"AND article_id IN ({marks(len(ids))})",
            ids,
        ).fetchall()
    )
    if not current:
        return set()
    if "*" in match:
        # One evaluation over the range that holds these rows: FTS5 evaluates a MATCH
        # once per rowid of an IN list, paying each time for expanding prefix terms.
        matched = conn.execute(
            "SELECT rowid FROM docs_fts WHERE docs_fts MATCH ? AND rowid BETWEEN ? AND ?",
            (match, min(current), max(current)),
        ).fetchall()
    else:
        # Without a prefix term a lookup per rowid is a seek in each term's doclist; the
        # range would read the doclists across it (for `the` at 100,000 versions, about
        # 200 times as long).
        rowids = sorted(current)
        matched = conn.execute(
            "SELECT rowid FROM docs_fts WHERE docs_fts MATCH ? "
            f"AND rowid IN ({marks(len(rowids))})",
            (match, *rowids),
        ).fetchall()
    return {current[r[0]] for r in matched if r[0] in current}
