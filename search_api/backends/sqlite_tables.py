"""The SQLite FTS5 index's tables, and how a document becomes their rows.

Three tables sharing one rowid: `docs` holds each version's metadata (one row per
version, filterable columns indexed), `docs_text` its body as archived (compressed:
`search_api.backends.sqlite_texts`) and `docs_fts` the inverted index of title, byline
and body. A `meta` table records
the schema and tokenizer the file was built with.

`docs_fts` is contentless (`content=''`): FTS5 keeps only the index and each row's
token counts (bm25 needs them), not a second copy of the text. Measured at 10,000
synthetic versions (`python -m benchmarks.search_bench --versions 10000 --backend
sqlite`), the copy FTS5 kept (`docs_fts_content`: Khmer twice, as indexed pairs and as
written) was 11.3 KB of the 15.3 KB each version cost, twice the 5.6 KB of text
indexed. Snippets are cut from `docs_text` instead. The price: FTS5 can no longer read
a row's text, so a row is deleted by handing it the values it indexed ('delete'
command), recomputed from `docs` -- which is why the Khmer segmentation and the
tokenizer are part of the file's schema (a change of either must bump
`SCHEMA_VERSION`, or deletes would remove the wrong tokens) -- and FTS5's own
snippet() is not available.

Tokenizing: unicode61 with marks (M*) counted as token characters -- by default
unicode61 splits words at combining vowel signs, which breaks Khmer and the Indic
scripts -- and diacritics folded for Latin. Khmer is indexed and queried as pairs of
orthographic clusters (`search_api.khmer.bigrams`; why: see that module).

Documents are written with named parameters (`_DOC_COLUMNS`), so a column is added or
moved in one place. This module runs statements inside transactions its caller
(`search_api.backends.sqlite_fts`) opens; it never begins or commits one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from archive.errors import SearchError
from search_api.backends.base import SearchDocument, check_document_id
from search_api.backends.sqlite_texts import (
    TEXT_TABLE,
    choose_base,
    compress_text,
    read_texts,
    release_dependents,
    text_table,
)
from search_api.khmer import bigrams

SCHEMA_VERSION = "3"
TOKENIZER = "unicode61 remove_diacritics 2 categories 'L* N* Co M*'"

META_TABLE = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
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
    byline TEXT NOT NULL,
    UNIQUE (article_id, version)
)"""
# Created on the live table only: a rebuilt table gets them when it is swapped in. The
# article's versions are found by the table's own UNIQUE (article_id, version) index,
# which a rebuild's table has from the start (`sqlite_texts` looks siblings up).
INDEXES = (
    "CREATE INDEX IF NOT EXISTS ix_docs_date ON docs (date_ts, article_id, version)",
    "CREATE INDEX IF NOT EXISTS ix_docs_current_date "
    "ON docs (is_current, date_ts, article_id, version)",
    "CREATE INDEX IF NOT EXISTS ix_docs_current_facets ON docs (is_current, source, status, lang)",
)
# Contentless: the text is in `docs` (see the module docstring).
FTS_TABLE = (
    "{table} USING fts5 (title, byline, body, content = '', "
    f'tokenize = "{TOKENIZER.replace("{", "{{").replace("}", "}}")}")'
)
# A rebuild fills these beside the live tables, then renames them in one transaction.
NEXT_DOCS, NEXT_FTS = "docs_next", "docs_fts_next"


def create_tables(conn: sqlite3.Connection, docs: str, fts: str) -> None:
    conn.execute(_DOCS_TABLE.format(table=docs))
    conn.execute(TEXT_TABLE.format(table=text_table(docs)))
    conn.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE.format(table=fts)}")


def create_schema(conn: sqlite3.Connection, path: Path) -> None:
    """The live tables, their indexes and `meta`, inside the caller's write transaction;
    refuses (`SearchError`) a file built with another schema or tokenizer."""
    conn.execute(META_TABLE)
    create_tables(conn, "docs", "docs_fts")
    for statement in INDEXES:
        conn.execute(statement)
    built = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    if built and (built.get("tokenizer"), built.get("schema")) != (
        TOKENIZER,
        SCHEMA_VERSION,
    ):
        raise SearchError(
            f"the search index {path} was built by another version of "
            "Presswatch; delete the file and run `presswatch reindex`"
        )
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?), ('tokenizer', ?)",
        (SCHEMA_VERSION, TOKENIZER),
    )


def marks(n: int) -> str:
    """`n` question marks for an `IN (...)` list."""
    return ",".join("?" * n)


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
    "byline",
)
_INSERT_DOC = (
    f"INSERT INTO {{docs}} ({', '.join(_DOC_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in _DOC_COLUMNS)})"
)
# The body (`search_api.backends.sqlite_texts`) is written on insert and when the text
# changes, never by a metadata update.
_WRITE_TEXT = "INSERT OR REPLACE INTO {texts} (rowid, body, base) VALUES (?, ?, ?)"
_UPDATE_DOC = (
    f"UPDATE {{docs}} SET ({', '.join(_DOC_COLUMNS)}) = "
    f"({', '.join(':' + c for c in _DOC_COLUMNS)}) WHERE rowid = :rowid"
)


def _iso(when: datetime | None) -> str | None:
    return when.astimezone(UTC).isoformat() if when is not None else None


def unindex_rows(
    conn: sqlite3.Connection, fts: str, rows: Sequence[tuple[int, str, str, str]]
) -> None:
    """Remove `(rowid, title, byline, text)` rows of `docs` from the contentless `fts`:
    FTS5 must be told the values it indexed (Khmer as cluster pairs), which it does not
    keep."""
    conn.executemany(
        f"INSERT INTO {fts} ({fts}, rowid, title, byline, body) VALUES ('delete', ?, ?, ?, ?)",
        [
            (rowid, bigrams(title), bigrams(byline), bigrams(text))
            for rowid, title, byline, text in rows
        ],
    )


def delete_rows(conn: sqlite3.Connection, column: str, values: Sequence[Any]) -> None:
    """Delete the documents whose `column` (of `docs`) is one of `values` from `docs`
    and `docs_fts`, `values` at most a few hundred."""
    rows = conn.execute(
        f"SELECT rowid, article_id, title, byline FROM docs "
        f"WHERE {column} IN ({marks(len(values))})",
        tuple(values),
    ).fetchall()
    if not rows:
        return
    texts = read_texts(conn, "docs", [row[0] for row in rows])
    release_dependents(conn, "docs", [(row[0], row[1]) for row in rows])
    unindex_rows(conn, "docs_fts", [(r, title, byline, texts[r]) for r, _, title, byline in rows])
    rowids = [row[0] for row in rows]
    conn.execute(f"DELETE FROM docs WHERE rowid IN ({marks(len(rowids))})", rowids)
    conn.execute(f"DELETE FROM docs_text WHERE rowid IN ({marks(len(rowids))})", rowids)


def write_documents(
    conn: sqlite3.Connection, documents: Sequence[SearchDocument], docs: str, fts: str
) -> None:
    """Insert or replace documents in the tables `docs`/`fts`, inside the caller's
    write transaction. An id no engine accepts refuses the whole batch (`SearchError`),
    as Meilisearch fails the whole task."""
    for doc in documents:
        check_document_id(doc.id)
    insert, update = _INSERT_DOC.format(docs=docs), _UPDATE_DOC.format(docs=docs)
    write_text = _WRITE_TEXT.format(texts=text_table(docs))
    for doc in documents:
        values = _doc_values(doc)
        found = conn.execute(
            f"SELECT rowid, title, byline FROM {docs} WHERE doc_id = ?", (doc.id,)
        ).fetchone()
        if found is None:
            rowid = conn.execute(insert, values).lastrowid
        else:
            rowid, old_title, old_byline = found
            old_text = read_texts(conn, docs, [rowid])[rowid]
            conn.execute(update, {**values, "rowid": rowid})
            # Metadata moves on every new version of the article; the text of an old
            # version does not, so its text and FTS row are rewritten only on change.
            if (old_title, old_byline, old_text) == (doc.title, doc.byline, doc.text):
                continue
            unindex_rows(conn, fts, [(rowid, old_title, old_byline, old_text)])
            release_dependents(conn, docs, [(rowid, doc.article_id)])
        base = choose_base(conn, docs, doc.article_id, rowid)
        conn.execute(
            write_text,
            (
                rowid,
                compress_text(doc.text, base[1] if base else None),
                base[0] if base else None,
            ),
        )
        conn.execute(
            f"INSERT INTO {fts} (rowid, title, byline, body) VALUES (?, ?, ?, ?)",
            (rowid, bigrams(doc.title), bigrams(doc.byline), bigrams(doc.text)),
        )


def _doc_values(doc: SearchDocument) -> dict[str, Any]:
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
        "byline": doc.byline,
    }
