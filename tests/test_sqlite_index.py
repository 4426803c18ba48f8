"""The SQLite FTS5 index file itself: its inverted index stays exact through edits and
deletes (the FTS table is contentless, so every delete hands FTS5 the values it
indexed), and a file of an older schema is refused with what to do."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from archive.errors import SearchError
from search_api.backends.base import SearchDocument, SearchQuery
from search_api.backends.sqlite_fts import SqliteFtsBackend

SEEN = datetime(2026, 3, 1, tzinfo=UTC)
KHMER = "ក្រុមហ៊ុនបោកប្រាស់នៅភ្នំពេញ"


def _doc(
    article_id: int, n: int, text: str, *, title: str = "Title", byline: str = ""
) -> SearchDocument:
    return SearchDocument(
        id=f"{article_id}-{n}",
        article_id=article_id,
        version=n,
        url=f"https://news.example/{article_id}/",
        source="vod",
        title=title,
        byline=byline,
        text=text,
        lang="km" if KHMER in text else "en",
        published=None,
        published_ts=None,
        first_seen=SEEN,
        last_seen=SEEN,
        status="live",
        removed_at=None,
        topic=None,
        is_current=True,
        date_ts=int(SEEN.timestamp()),
    )


def _terms(path: Path) -> int:
    """How many distinct tokens the inverted index still holds."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, docs_fts, 'row')")
        return int(conn.execute("SELECT COUNT(*) FROM temp.vocab").fetchone()[0])
    finally:
        conn.close()


def _total(backend: SqliteFtsBackend, text: str) -> int:
    return backend.search(SearchQuery(text=text, versions="all")).total


def test_edits_and_deletes_leave_no_stale_tokens(tmp_path: Path) -> None:
    backend = SqliteFtsBackend(tmp_path / "search.sqlite")
    backend.upsert(
        [
            _doc(1, 1, f"Raid on a scam compound. {KHMER}", byline="Sok Chea"),
            _doc(1, 2, "Raid on a compound.", title=f"Raid {KHMER}"),
            _doc(2, 1, "Forced labour trial opens."),
        ]
    )
    assert _total(backend, "scam") == 1
    assert _total(backend, "ភ្នំពេញ") == 2
    # An edit of the text: the old words leave the index, the new ones enter it.
    backend.upsert([_doc(1, 1, f"Police raid a casino. {KHMER}", byline="Sok Chea")])
    assert _total(backend, "scam") == 0
    assert _total(backend, "casino") == 1
    hit = backend.search(SearchQuery(text="casino")).hits[0]
    assert "<mark>casino</mark>" in hit.snippet
    backend.delete(["2-1"])
    assert _total(backend, "labour") == 0
    backend.delete_articles([1])
    assert _total(backend, "raid") == 0
    backend.close()
    # Every token was removed with the values it was indexed with (a delete given other
    # values would leave tokens behind).
    assert _terms(tmp_path / "search.sqlite") == 0


def _snippet(backend: SqliteFtsBackend, text: str, doc_id: str) -> str:
    hits = backend.search(SearchQuery(text=text, versions="all")).hits
    return next(hit.snippet for hit in hits if hit.doc_id == doc_id)


def test_versions_stored_against_a_sibling_stay_readable_when_it_changes_or_goes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "search.sqlite"
    backend = SqliteFtsBackend(path)
    body = " ".join(f"Paragraph {i} on the compound raid {KHMER}." for i in range(40))
    backend.upsert([_doc(1, n, f"{body} Version {n} adds word{n}.") for n in (1, 2, 3)])
    conn = sqlite3.connect(path)
    # Versions 2 and 3 are stored against version 1 (the point: far fewer bytes).
    assert conn.execute("SELECT COUNT(*) FROM docs_text WHERE base IS NOT NULL").fetchone()[0] == 2
    conn.close()
    # Version 1 (their base) is edited, then deleted alone: 2 and 3 keep their text.
    backend.upsert([_doc(1, 1, "A rewritten first version.")])
    assert "word2" in _snippet(backend, "word2", "1-2")
    backend.delete(["1-1"])
    assert "<mark>word3</mark>" in _snippet(backend, "word3", "1-3")
    assert _total(backend, "ភ្នំពេញ") == 2
    backend.delete_articles([1])
    backend.close()
    assert _terms(path) == 0


def test_a_text_past_zlibs_window_is_no_base_and_leads_read_the_same(tmp_path: Path) -> None:
    path = tmp_path / "search.sqlite"
    backend = SqliteFtsBackend(path)
    long_body = " ".join(f"Paragraph {i} on the raid {KHMER}." for i in range(800))
    short_body = f"Raid on the compound {KHMER}. " * 20
    backend.upsert(
        [_doc(1, n, f"{long_body} Version {n}.") for n in (1, 2)]
        + [_doc(2, n, f"Version {n}. {short_body}") for n in (1, 2)]
    )
    conn = sqlite3.connect(path)
    # The long text is out of zlib's reach as a dictionary: article 1's second version
    # is stored on its own, article 2's against its first.
    assert conn.execute("SELECT rowid FROM docs_text WHERE base IS NOT NULL").fetchall() == [(4,)]
    conn.close()
    # A listing reads only the opening of each text: the same lead as the whole text gives.
    hits = backend.search(SearchQuery(versions="all")).hits
    leads = {hit.doc_id: hit.snippet for hit in hits}
    assert leads["2-2"].startswith("Version 2. Raid on the compound")
    assert leads["2-2"].endswith("…")
    assert leads["1-1"].startswith("Paragraph 0 on the raid")
    backend.close()


def test_a_rebuild_replaces_the_index(tmp_path: Path) -> None:
    backend = SqliteFtsBackend(tmp_path / "search.sqlite")
    backend.upsert([_doc(1, 1, "Old text about a raid.")])
    build = backend.rebuild()
    build.upsert([_doc(1, 1, f"New text. {KHMER}")])
    build.publish()
    conn = sqlite3.connect(tmp_path / "search.sqlite")
    # The old tables' pages went back to the file system.
    assert conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
    conn.close()
    assert _total(backend, "raid") == 0
    assert _total(backend, "ភ្នំពេញ") == 1
    backend.delete_articles([1])
    backend.close()
    assert _terms(tmp_path / "search.sqlite") == 0


def test_an_index_of_an_older_schema_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "search.sqlite"
    SqliteFtsBackend(path).configure()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema'")
    conn.commit()
    conn.close()
    with pytest.raises(SearchError, match="delete the file and run `presswatch reindex`"):
        SqliteFtsBackend(path).configure()
