"""The embedded search backend: SQLite FTS5 in its own file in the data dir.

Owns the index file (`Settings.search_index_path`) and nothing else; it never touches
the archive database, so it works the same whether the archive is on SQLite or
PostgreSQL. Two tables: `docs` holds each version's metadata (one row per version,
filterable columns indexed) and `docs_fts` the searchable title, byline and body,
sharing `docs`' rowid.

Tokenizing: unicode61 with marks (M*) counted as token characters -- by default
unicode61 splits words at combining vowel signs, which breaks Khmer and the Indic
scripts -- and diacritics folded for Latin. Khmer is indexed and queried as pairs of
orthographic clusters (`search_api.khmer.bigrams`; why: see that module), so the
stored body of a document with Khmer is not its text: the original is kept beside it
in an unindexed column for snippets. Ranking is bm25 with the title weighted above
the byline and the body; a grouped search represents each article by its best-ranked
version.

Snippets are cut in Python around the window with the most query terms (FTS5's
snippet() re-tokenizes whole documents and costs milliseconds per long article); see
`search_api.highlight`. Listing without a query uses plain indexed scans.

Rows are read by name: the columns a query selects are generated from the fields of
the NamedTuple that receives them (`_StoredHit`, `_PageRow`), and documents are written
with named parameters (`_DOC_COLUMNS`), so a column is added or moved in one place.

Writes follow the archive's SQLite discipline: WAL, one writer per process (a lock),
and `BEGIN IMMEDIATE` so a writer in another process waits for the lock up to the busy
timeout instead of failing half way. A search reads inside one transaction so its
pages, totals, facets and snippets come from one snapshot. A locked or unreadable
file raises `BackendUnavailable`; the indexer keeps its outbox and retries later.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from archive.errors import BackendUnavailable, BadQuery, SearchError
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
    check_document_id,
)
from search_api.highlight import MARK_CLOSE, MARK_OPEN, Highlighter, lead, mark_snippet
from search_api.khmer import bigrams
from search_api.query import ParsedQuery, parse_query, to_fts5

log = logging.getLogger(__name__)

SCHEMA_VERSION = "2"
TOKENIZER = "unicode61 remove_diacritics 2 categories 'L* N* Co M*'"
# bm25 column weights: title, byline, body (and the unindexed original text).
BM25_WEIGHTS = (10.0, 3.0, 1.0, 0.0)
SNIPPET_TOKENS = 32  # for FTS5's snippet(), the fallback
_CHUNK = 500  # ids per IN (...) list, far below SQLite's variable limit
# CTEs used twice are materialized by default; saying so needs SQLite 3.35+.
_MATERIALIZED = "MATERIALIZED " if sqlite3.sqlite_version_info >= (3, 35, 0) else ""

_META = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
_DOCS_TABLE = """CREATE TABLE IF NOT EXISTS {table} (
    rowid INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL UNIQUE,
    article_id INTEGER NOT NULL,
    version INTEGER NOT NULL,
    url TEXT NOT NULL,
    source TEXT NOT NULL,
    title TEXT NOT NULL,
    lang TEXT,
    published TEXT,
    published_ts INTEGER,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    first_seen_ts INTEGER NOT NULL,
    last_seen_ts INTEGER NOT NULL,
    status TEXT NOT NULL,
    removed_at TEXT,
    topic TEXT,
    is_current INTEGER NOT NULL,
    date_ts INTEGER NOT NULL,
    content_hash TEXT NOT NULL
)"""
# Created on the live table only: a rebuilt table gets them when it is swapped in.
_INDEXES = (
    "CREATE INDEX IF NOT EXISTS ix_docs_article ON docs (article_id, is_current)",
    "CREATE INDEX IF NOT EXISTS ix_docs_date ON docs (date_ts, article_id, version)",
    "CREATE INDEX IF NOT EXISTS ix_docs_current_date "
    "ON docs (is_current, date_ts, article_id, version)",
    "CREATE INDEX IF NOT EXISTS ix_docs_current_facets ON docs (is_current, source, status, lang)",
)
# `raw` keeps the original body of documents whose indexed body differs from it (Khmer,
# indexed as cluster pairs); it is stored for snippets, never indexed.
_FTS_TABLE = (
    "{table} USING fts5 (title, byline, body, raw UNINDEXED, "
    f'tokenize = "{TOKENIZER.replace("{", "{{").replace("}", "}}")}")'
)
# A rebuild fills these beside the live tables, then renames them in one transaction.
_NEXT_DOCS, _NEXT_FTS = "docs_next", "docs_fts_next"


def _create_tables(conn: sqlite3.Connection, docs: str, fts: str) -> None:
    conn.execute(_DOCS_TABLE.format(table=docs))
    conn.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {_FTS_TABLE.format(table=fts)}")


# The columns of `docs` that `upsert` writes (all but rowid), bound by name: the values
# come from `_doc_values`, a dict with these keys.
_DOC_COLUMNS = (
    "doc_id",
    "article_id",
    "version",
    "url",
    "source",
    "title",
    "lang",
    "published",
    "published_ts",
    "first_seen",
    "last_seen",
    "first_seen_ts",
    "last_seen_ts",
    "status",
    "removed_at",
    "topic",
    "is_current",
    "date_ts",
    "content_hash",
)
_INSERT_DOC = (
    f"INSERT INTO {{docs}} ({', '.join(_DOC_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in _DOC_COLUMNS)})"
)
_UPDATE_DOC = (
    f"UPDATE {{docs}} SET ({', '.join(_DOC_COLUMNS)}) = "
    f"({', '.join(':' + c for c in _DOC_COLUMNS)}) WHERE rowid = :rowid"
)


class _PageRow(NamedTuple):
    """One hit of a result page, before its stored fields are read."""

    rowid: int
    score: float  # bm25: lower is better; 0.0 when listing without a query
    date_ts: int
    article_id: int
    version: int


class _StoredHit(NamedTuple):
    """What a hit shows, as stored: `docs` joined with `docs_fts` (`_HIT_SELECT`)."""

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
    body: str  # as indexed: Khmer as cluster pairs
    raw: str  # the body as archived when it differs from `body`, else ""

    @property
    def text(self) -> str:
        """The body as archived."""
        return self.raw or self.body


# The text columns come from the FTS table (alias f), every other from docs (alias d).
_FTS_FIELDS = frozenset({"body", "raw"})
_HIT_SELECT = ", ".join(
    f"{'f' if name in _FTS_FIELDS else 'd'}.{name} AS {name}" for name in _StoredHit._fields
)

_Row = TypeVar("_Row", _PageRow, _StoredHit)


def _fetch(
    conn: sqlite3.Connection, row_type: type[_Row], sql: str, params: Sequence[Any]
) -> list[_Row]:
    """Run `sql` and build a `row_type` from each row by column name: the query must
    name (or alias) its columns as the tuple names its fields, in any order."""
    cursor = conn.execute(sql, params)
    names = [column[0] for column in cursor.description]
    return [row_type(**dict(zip(names, row, strict=True))) for row in cursor]


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _iso(when: datetime | None) -> str | None:
    return when.astimezone(UTC).isoformat() if when is not None else None


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _write_documents(
    conn: sqlite3.Connection, documents: Sequence[SearchDocument], docs: str, fts: str
) -> None:
    """Insert or replace documents in the tables `docs`/`fts`, inside the caller's
    write transaction. An id no engine accepts refuses the whole batch (`SearchError`),
    as Meilisearch fails the whole task."""
    for doc in documents:
        check_document_id(doc.id)
    insert, update = _INSERT_DOC.format(docs=docs), _UPDATE_DOC.format(docs=docs)
    for doc in documents:
        title, byline, body = bigrams(doc.title), bigrams(doc.byline), bigrams(doc.text)
        raw = doc.text if body != doc.text else ""
        digest = hashlib.sha256("\x00".join((title, byline, body)).encode("utf-8")).hexdigest()
        values = _doc_values(doc, digest)
        found = conn.execute(
            f"SELECT rowid, content_hash FROM {docs} WHERE doc_id = ?", (doc.id,)
        ).fetchone()
        if found is None:
            rowid = conn.execute(insert, values).lastrowid
        else:
            rowid, old_digest = found
            conn.execute(update, {**values, "rowid": rowid})
            # Metadata moves on every new version of the article; the text of an old
            # version does not, so its FTS row is rewritten only on change.
            if old_digest == digest:
                continue
            conn.execute(f"DELETE FROM {fts} WHERE rowid = ?", (rowid,))
        conn.execute(
            f"INSERT INTO {fts} (rowid, title, byline, body, raw) VALUES (?, ?, ?, ?, ?)",
            (rowid, title, byline, body, raw),
        )


def _doc_values(doc: SearchDocument, content_hash: str) -> dict[str, Any]:
    """The `docs` row of a document, keyed by `_DOC_COLUMNS`."""
    return {
        "doc_id": doc.id,
        "article_id": doc.article_id,
        "version": doc.version,
        "url": doc.url,
        "source": doc.source,
        "title": doc.title,
        "lang": doc.lang,
        "published": doc.published,
        "published_ts": doc.published_ts,
        "first_seen": _iso(doc.first_seen),
        "last_seen": _iso(doc.last_seen),
        "first_seen_ts": int(doc.first_seen.timestamp()),
        "last_seen_ts": int(doc.last_seen.timestamp()),
        "status": doc.status,
        "removed_at": _iso(doc.removed_at),
        "topic": doc.topic,
        "is_current": int(doc.is_current),
        "date_ts": doc.date_ts,
        "content_hash": content_hash,
    }


class SqliteFtsBackend(SearchBackend):
    """SQLite FTS5 index in one file. Safe to share between threads (one connection
    per thread, one writer at a time)."""

    name = "sqlite"

    def __init__(self, path: Path | str, *, timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self.timeout_s = timeout_s
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._schema_ready = False

    # -- connections ----------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                str(self.path),
                timeout=self.timeout_s,
                isolation_level=None,  # we issue BEGIN ourselves
                check_same_thread=False,
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA busy_timeout={int(self.timeout_s * 1000)}")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA temp_store=MEMORY")
            conn.execute("PRAGMA cache_size=-65536")  # 64 MiB of page cache per connection
            # Reading the index through a memory map avoids copying every page touched;
            # measured 2-3x faster on large doclists.
            conn.execute("PRAGMA mmap_size=1073741824")
        except (sqlite3.Error, OSError) as exc:
            raise BackendUnavailable(
                f"cannot open the search index {self.path}: {exc}; check that the data dir "
                "exists and is writable"
            ) from exc
        self._local.conn = conn
        with self._conns_lock:
            self._conns.append(conn)
        if not self._schema_ready:
            self._create_schema(conn)
        return conn

    def _create_schema(self, conn: sqlite3.Connection) -> None:
        with self._write_lock:
            self._begin(conn)
            try:
                conn.execute(_META)
                _create_tables(conn, "docs", "docs_fts")
                for statement in _INDEXES:
                    conn.execute(statement)
                built = dict(conn.execute("SELECT key, value FROM meta").fetchall())
                if built and (built.get("tokenizer"), built.get("schema")) != (
                    TOKENIZER,
                    SCHEMA_VERSION,
                ):
                    raise SearchError(
                        f"the search index {self.path} was built by another version of "
                        "Presswatch; delete the file and run `presswatch reindex`"
                    )
                conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) "
                    "VALUES ('schema', ?), ('tokenizer', ?)",
                    (SCHEMA_VERSION, TOKENIZER),
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        self._schema_ready = True

    def _begin(self, conn: sqlite3.Connection, mode: str = "IMMEDIATE") -> None:
        try:
            conn.execute(f"BEGIN {mode}")
        except sqlite3.OperationalError as exc:
            raise BackendUnavailable(
                f"the search index {self.path} is locked or unreadable ({exc}); another "
                "process may be writing it, try again later"
            ) from exc

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: one writer in this process, BEGIN IMMEDIATE across
        processes. Errors roll back and surface as search errors."""
        conn = self._connect()
        with self._write_lock:
            self._begin(conn)
            try:
                yield conn
            except sqlite3.OperationalError as exc:
                conn.execute("ROLLBACK")
                raise BackendUnavailable(
                    f"writing the search index {self.path} failed: {exc}"
                ) from exc
            except sqlite3.Error as exc:
                conn.execute("ROLLBACK")
                raise SearchError(f"writing the search index {self.path} failed: {exc}") from exc
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read snapshot (WAL readers never block the writer)."""
        conn = self._connect()
        self._begin(conn, "DEFERRED")
        try:
            yield conn
        except sqlite3.OperationalError as exc:
            conn.execute("ROLLBACK")
            message = str(exc)
            if "fts5" in message:
                # Our renderer quotes every term, so this is a bug, not the user's fault;
                # still answer with a 400-style error rather than a crash.
                raise BadQuery(f"the search engine could not run this query ({message})") from exc
            raise BackendUnavailable(f"reading the search index {self.path} failed: {exc}") from exc
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # -- contract: writing -------------------------------------------------------------

    def configure(self) -> None:
        self._connect()

    def upsert(self, documents: Sequence[SearchDocument]) -> None:
        if not documents:
            return
        with self._write() as conn:
            _write_documents(conn, documents, "docs", "docs_fts")

    def _delete_where(self, column: str, values: Sequence[Any]) -> None:
        if not values:
            return
        with self._write() as conn:
            for chunk in _chunks(list(values)):
                rowids = [
                    r[0]
                    for r in conn.execute(
                        f"SELECT rowid FROM docs WHERE {column} IN ({_marks(len(chunk))})",
                        tuple(chunk),
                    )
                ]
                for ids in _chunks(rowids):
                    marks = _marks(len(ids))
                    conn.execute(f"DELETE FROM docs_fts WHERE rowid IN ({marks})", tuple(ids))
                    conn.execute(f"DELETE FROM docs WHERE rowid IN ({marks})", tuple(ids))

    def delete(self, doc_ids: Sequence[str]) -> None:
        self._delete_where("doc_id", doc_ids)

    def delete_articles(self, article_ids: Sequence[int]) -> None:
        self._delete_where("article_id", [int(a) for a in article_ids])

    def clear(self) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM docs")
            # Dropping is far faster than deleting every FTS row.
            conn.execute("DROP TABLE IF EXISTS docs_fts")
            conn.execute(f"CREATE VIRTUAL TABLE {_FTS_TABLE.format(table='docs_fts')}")

    def rebuild(self) -> IndexBuild:
        return _SqliteBuild(self)

    def optimize(self) -> None:
        with self._write() as conn:
            conn.execute("INSERT INTO docs_fts (docs_fts) VALUES ('optimize')")
            conn.execute("PRAGMA optimize")

    # -- contract: reading ---------------------------------------------------------------

    def _filters(self, query: SearchQuery) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for column, values in query.value_filters():
            if values:
                clauses.append(f"d.{column} IN ({_marks(len(values))})")
                params.extend(values)
        for column, operator, epoch in query.range_filters():
            clauses.append(f"d.{column} {operator} ?")
            params.append(epoch)
        return "".join(" AND " + c for c in clauses), params

    def search(self, query: SearchQuery) -> SearchResult:
        parsed = parse_query(query.text)
        match = None if parsed.is_empty else to_fts5(parsed)
        where, params = self._filters(query)
        # Listing without a query: an article's best version is its current one, unless
        # a filter on versions (language, dates) may exclude that one.
        per_version_filters = (
            query.langs,
            query.published_from,
            query.published_to,
            query.captured_from,
            query.captured_to,
        )
        with self._read() as conn:
            if match is None and (query.versions == "all" or not any(per_version_filters)):
                page, total, counts = self._browse(conn, query, where, params)
            else:
                page, total, counts = self._ranked(conn, query, match, where, params)
            hits = self._hits(conn, page, match, parsed)
        facets = (
            Facets(source=counts["source"], lang=counts["lang"], status=counts["status"])
            if query.facets
            else None
        )
        return SearchResult(
            total=total, hits=tuple(hits), facets=facets, page=query.page, per_page=query.per_page
        )

    def _browse(
        self, conn: sqlite3.Connection, query: SearchQuery, where: str, params: list[Any]
    ) -> tuple[list[_PageRow], int, dict[str, dict[str, int]]]:
        """Newest first without a query: plain indexed scans, no ranking."""
        current = " AND d.is_current = 1" if query.versions == "best" else ""
        base = f"FROM docs d WHERE 1 = 1{current}{where}"
        page = _fetch(
            conn,
            _PageRow,
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
            for name, key in zip(FACET_FIELDS, keys, strict=True):
                if key is not None:
                    counts[name][str(key)] = counts[name].get(str(key), 0) + int(n)
        return page, total, counts

    def _ranked(
        self,
        conn: sqlite3.Connection,
        query: SearchQuery,
        match: str | None,
        where: str,
        params: list[Any],
    ) -> tuple[list[_PageRow], int, dict[str, dict[str, int]]]:
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
        parts = [
            "SELECT 'hit', rid, score, date_ts, article_id, version, NULL, NULL FROM "
            f"(SELECT * FROM g ORDER BY {order} LIMIT ? OFFSET ?)",
            "SELECT 'total', NULL, NULL, NULL, NULL, NULL, NULL, COUNT(*) FROM g",
        ]
        if query.facets:
            parts.extend(
                f"SELECT '{name}', NULL, NULL, NULL, NULL, NULL, {name}, COUNT(*) "
                f"FROM g GROUP BY {name}"
                for name in FACET_FIELDS
            )
        sql = (
            f"WITH m AS {_MATERIALIZED}({matched}), g AS {_MATERIALIZED}({grouped}) "
            + " UNION ALL ".join(parts)
        )
        rows = conn.execute(sql, (*m_params, query.per_page, query.offset)).fetchall()
        total = 0
        counts: dict[str, dict[str, int]] = {name: {} for name in FACET_FIELDS}
        page: list[_PageRow] = []
        for kind, rid, score, date_ts, article_id, version, key, n in rows:
            if kind == "hit":
                page.append(_PageRow(rid, score, date_ts, article_id, version))
            elif kind == "total":
                total = int(n)
            elif key is not None:  # a facet count; a missing value is not counted
                counts[kind][str(key)] = int(n)
        # UNION ALL keeps no order: sort the page by the same key as the SQL did.
        if by_relevance:
            page.sort(key=lambda r: (r.score, -r.date_ts, -r.article_id, -r.version))
        else:
            page.sort(key=lambda r: (-r.date_ts, -r.article_id, -r.version))
        return page, total, counts

    def _hits(
        self,
        conn: sqlite3.Connection,
        page: list[_PageRow],
        match: str | None,
        parsed: ParsedQuery,
    ) -> list[SearchHit]:
        if not page:
            return []
        rowids = [r.rowid for r in page]
        rows = _fetch(
            conn,
            _StoredHit,
            f"SELECT {_HIT_SELECT} FROM docs d JOIN docs_fts f ON f.rowid = d.rowid "
            f"WHERE d.rowid IN ({_marks(len(rowids))})",
            rowids,
        )
        by_rowid = {row.rowid: row for row in rows}
        highlighter = Highlighter(parsed) if match is not None else None
        snippets: dict[int, str] = {}
        titles: dict[int, str] = {}
        for rowid, row in by_rowid.items():
            if highlighter is None:
                snippets[rowid] = lead(row.text)
                titles[rowid] = row.title
                continue
            titles[rowid] = highlighter.title(row.title)
            found = highlighter.snippet(row.text)
            if found is not None:
                snippets[rowid] = found
        missing = [r for r in rowids if r in by_rowid and r not in snippets]
        if missing and match is not None:
            # FTS5 can cut a snippet only from text it indexed as written; a body with
            # Khmer (indexed as cluster pairs) gets its opening instead.
            plain = [r for r in missing if not by_rowid[r].raw]
            snippets.update(self._fts_snippets(conn, match, plain))
            for rowid in missing:
                snippets.setdefault(rowid, lead(by_rowid[rowid].raw))
        stale = {row.article_id for row in by_rowid.values() if not row.is_current}
        still_matching = self._current_matching(conn, stale, match) if match else set()
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

    def _fts_snippets(
        self, conn: sqlite3.Connection, match: str, rowids: list[int]
    ) -> dict[int, str]:
        """FTS5's own snippets, for hits our expressions could not place."""
        if not rowids:
            return {}
        rows = conn.execute(
            f"SELECT rowid, snippet(docs_fts, 2, ?, ?, '…', {SNIPPET_TOKENS}) FROM docs_fts "
            f"WHERE docs_fts MATCH ? AND rowid IN ({_marks(len(rowids))})",
            (MARK_OPEN, MARK_CLOSE, match, *rowids),
        ).fetchall()
        return {rowid: snippet.replace("\n", " ") for rowid, snippet in rows}

    def _current_matching(
        self, conn: sqlite3.Connection, article_ids: set[int], match: str
    ) -> set[int]:
        """Of these articles, those whose current version matches the query."""
        if not article_ids:
            return set()
        ids = sorted(article_ids)
        current = dict(
            conn.execute(
                f"SELECT rowid, article_id FROM docs WHERE is_current = 1 "
                f"AND article_id IN ({_marks(len(ids))})",
                ids,
            ).fetchall()
        )
        if not current:
            return set()
        # One evaluation over the range that holds these rows: FTS5 evaluates a MATCH
        # once per rowid of an IN list, paying each time for expanding prefix terms.
        matched = conn.execute(
            "SELECT rowid FROM docs_fts WHERE docs_fts MATCH ? AND rowid BETWEEN ? AND ?",
            (match, min(current), max(current)),
        ).fetchall()
        return {current[r[0]] for r in matched if r[0] in current}

    def stats(self) -> BackendStats:
        with self._read() as conn:
            documents, articles = conn.execute(
                "SELECT COUNT(*), COUNT(DISTINCT article_id) FROM docs"
            ).fetchone()
        size = self.path.stat().st_size if self.path.exists() else 0
        return BackendStats(
            backend=self.name,
            documents=int(documents),
            articles=int(articles),
            detail={"path": str(self.path), "bytes": size},
        )

    def health(self) -> BackendHealth:
        try:
            with self._read() as conn:
                conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        except (SearchError, sqlite3.Error) as exc:
            return BackendHealth(self.name, False, str(exc))
        return BackendHealth(self.name, True, f"SQLite FTS5 index at {self.path}")

    def close(self) -> None:
        with self._conns_lock:
            for conn in self._conns:
                conn.close()
            self._conns.clear()
        self._local = threading.local()


class _SqliteBuild(IndexBuild):
    """A rebuild in the same file: tables `docs_next` and `docs_fts_next` are filled
    while searches read `docs` and `docs_fts`; `publish` drops the old tables and
    renames the new ones in one write transaction. In WAL mode readers never wait for
    it: a search that began before the commit reads the old tables to its end, one that
    begins after reads the new ones, in this process and in any other (the API server)."""

    def __init__(self, backend: SqliteFtsBackend) -> None:
        self.backend = backend
        with backend._write() as conn:
            conn.execute(f"DROP TABLE IF EXISTS {_NEXT_DOCS}")  # left by a killed rebuild
            conn.execute(f"DROP TABLE IF EXISTS {_NEXT_FTS}")
            _create_tables(conn, _NEXT_DOCS, _NEXT_FTS)

    def upsert(self, documents: Sequence[SearchDocument]) -> None:
        if not documents:
            return
        with self.backend._write() as conn:
            _write_documents(conn, documents, _NEXT_DOCS, _NEXT_FTS)

    def publish(self) -> None:
        with self.backend._write() as conn:
            conn.execute(f"INSERT INTO {_NEXT_FTS} ({_NEXT_FTS}) VALUES ('optimize')")
        with self.backend._write() as conn:
            conn.execute("DROP TABLE docs")
            conn.execute("DROP TABLE docs_fts")
            conn.execute(f"ALTER TABLE {_NEXT_DOCS} RENAME TO docs")
            conn.execute(f"ALTER TABLE {_NEXT_FTS} RENAME TO docs_fts")
            for statement in _INDEXES:
                conn.execute(statement)
        with self.backend._write() as conn:
            conn.execute("PRAGMA optimize")

    def discard(self) -> None:
        try:
            with self.backend._write() as conn:
                conn.execute(f"DROP TABLE IF EXISTS {_NEXT_DOCS}")
                conn.execute(f"DROP TABLE IF EXISTS {_NEXT_FTS}")
        except SearchError as exc:  # the next rebuild drops them anyway
            log.warning("could not drop the unfinished rebuild's tables: %s", exc)
