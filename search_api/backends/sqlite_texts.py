"""The archived text of each version in the SQLite index: `docs_text.body`, compressed.

A table of its own beside `docs` (same rowid), so that the metadata rows that filters,
facets and ranking read stay small (375 B a version at 100,000 synthetic versions,
about 2.3 KB with the body inline). Reading a page of hits decompresses each hit's text
and, for a later version, its base's: the cost of this format in latency
(docs/benchmarks.md, "Search index size").

The index keeps each version's body once, for snippets and for deleting its row from
the contentless FTS table (`search_api.backends.sqlite_tables`). Versions of one
article are mostly the same text, so a version is compressed (zlib) with a sibling's
text as the preset dictionary: its `base` is the rowid of the article's
lowest-numbered version stored on its own (`base IS NULL`). Measured at 10,000
synthetic versions (two per article on average), this halved the bytes of the bodies.
zlib looks back at most 32 KB, so a base longer than that (`DICTIONARY_BYTES`) is
not used: its dependents would gain little and cost a second decompression each read.

The rule that keeps every body readable: a base is always stored on its own, and a row
whose text changes or which is deleted first releases its dependents (re-stores them
on their own, `release_dependents`). Every function here runs inside the caller's
transaction and takes the table's name, so a rebuild's `docs_next` works the same.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Iterable

__all__ = [
    "DICTIONARY_BYTES",
    "TEXT_TABLE",
    "choose_base",
    "compress_text",
    "read_texts",
    "release_dependents",
    "text_table",
]

# The text table of a metadata table (`docs` -> `docs_text`, `docs_next` -> `docs_next_text`).
TEXT_TABLE = (
    "CREATE TABLE IF NOT EXISTS {table} (rowid INTEGER PRIMARY KEY, body BLOB NOT NULL, "
    "base INTEGER)"
)


# The longest text worth a dictionary: zlib matches at most 32 KB back, less its
# 262-byte lookahead, and a version's opening sits a whole base's length behind.
DICTIONARY_BYTES = 32_768 - 262


def text_table(docs: str) -> str:
    return f"{docs}_text"


_CHUNK = 500  # rowids per IN (...) list


def _marks(n: int) -> str:
    return ",".join("?" * n)


def compress_text(text: str, base: str | None) -> bytes:
    """`text` as `docs.body` stores it, with `base` (a sibling's text) as the dictionary."""
    packer = zlib.compressobj(9, zdict=base.encode("utf-8")) if base else zlib.compressobj(9)
    return packer.compress(text.encode("utf-8")) + packer.flush()


def _decompress(body: bytes, base: str | None, chars: int | None = None) -> str:
    """The text of `body`; with `chars`, at least its first `chars` characters (all of
    it when shorter), decompressing no more than those can take in UTF-8."""
    unpacker = zlib.decompressobj(zdict=base.encode("utf-8")) if base else zlib.decompressobj()
    if chars is None:
        return (unpacker.decompress(body) + unpacker.flush()).decode("utf-8")
    # A character is at most 4 bytes: a cut in the middle of one drops it, and every
    # character before the cut is whole.
    return unpacker.decompress(body, 4 * chars).decode("utf-8", errors="ignore")


def read_texts(
    conn: sqlite3.Connection, docs: str, rowids: Iterable[int], chars: int | None = None
) -> dict[int, str]:
    """The archived text of these rows of `docs`, by rowid (absent rows are left out).
    With `chars`, only an opening of each text, at least `chars` characters long unless
    the text is shorter (a page without a query shows only the lead): a base is still
    read whole, since a later version's dictionary is all of it."""
    wanted = sorted(set(rowids))
    stored: dict[int, tuple[bytes, int | None]] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        for rowid, body, base in conn.execute(
            f"SELECT rowid, body, base FROM {text_table(docs)} "
            f"WHERE rowid IN ({_marks(len(chunk))})",
            chunk,
        ):
            stored[rowid] = (body, base)
    bases_wanted = {base for _, base in stored.values() if base is not None}
    bases = sorted(bases_wanted - set(stored))
    base_texts: dict[int, str] = {}
    for start in range(0, len(bases), _CHUNK):
        chunk = bases[start : start + _CHUNK]
        for rowid, body in conn.execute(
            f"SELECT rowid, body FROM {text_table(docs)} WHERE rowid IN ({_marks(len(chunk))})",
            chunk,
        ):
            base_texts[rowid] = _decompress(body, None)  # a base is stored on its own
    out: dict[int, str] = {}
    for rowid, (body, base) in stored.items():
        if base is None and rowid not in bases_wanted:
            out[rowid] = _decompress(body, None, chars)
        elif base is None:
            base_texts[rowid] = out[rowid] = _decompress(body, None)
    for rowid, (body, base) in stored.items():
        if base is not None:
            out[rowid] = _decompress(body, base_texts[base], chars)
    return out


def release_dependents(
    conn: sqlite3.Connection, docs: str, rows: Iterable[tuple[int, int]]
) -> None:
    """Store on their own the rows compressed against one of `rows` (rowid, article id;
    dependents are always of the same article), other than those rows themselves,
    before those change or go."""
    going = sorted(set(rows))
    for start in range(0, len(going), _CHUNK):
        chunk = going[start : start + _CHUNK]
        rowids = [rowid for rowid, _ in chunk]
        articles = sorted({article_id for _, article_id in chunk})
        dependents = [
            r[0]
            for r in conn.execute(
                f"SELECT t.rowid FROM {docs} d JOIN {text_table(docs)} t ON t.rowid = d.rowid "
                f"WHERE d.article_id IN ({_marks(len(articles))}) "
                f"AND t.base IN ({_marks(len(rowids))}) "
                f"AND t.rowid NOT IN ({_marks(len(rowids))})",
                (*articles, *rowids, *rowids),
            )
        ]
        if not dependents:
            continue
        texts = read_texts(conn, docs, dependents)
        conn.executemany(
            f"UPDATE {text_table(docs)} SET body = ?, base = NULL WHERE rowid = ?",
            [(compress_text(texts[r], None), r) for r in dependents],
        )


def choose_base(
    conn: sqlite3.Connection, docs: str, article_id: int, rowid: int | None
) -> tuple[int, str] | None:
    """The row a version of `article_id` is compressed against, and its text: the
    article's lowest-numbered version stored on its own, other than `rowid`; None when
    there is none. The caller has released `rowid`'s dependents, if it had any."""
    found = conn.execute(
        f"SELECT t.rowid, t.body FROM {docs} d JOIN {text_table(docs)} t ON t.rowid = d.rowid "
        "WHERE d.article_id = ? AND t.base IS NULL AND d.rowid IS NOT ? "
        "ORDER BY d.version LIMIT 1",
        (article_id, rowid),
    ).fetchone()
    if found is None:
        return None
    text = _decompress(found[1], None)
    if len(text.encode("utf-8")) > DICTIONARY_BYTES:
        # Out of zlib's reach: the new text's opening would be further back than its
        # window, so the dictionary gains little (6% on such texts at 20,000
        # synthetic versions) and every read of this version would decompress the
        # base too.
        return None
    return int(found[0]), text
