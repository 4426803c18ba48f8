"""The indexer (outbox draining, reindex) and the `search` / `reindex` commands."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from archive.errors import BackendUnavailable, SearchError
from archive.store.models import SearchOutbox
from presswatch.runtime import Runtime
from search_api.backends.base import SearchDocument, SearchQuery
from search_api.backends.sqlite_fts import SqliteFtsBackend
from search_api.documents import build_documents, parse_published
from search_api.indexer import drain_outbox, reindex
from tests.search_pages import (
    RAID_V1,
    RAID_V2,
    T0,
    add_sources,
    article_id,
    build_contract_archive,
    english_page,
    exchange,
    record,
)

RAID_URL = "https://daily.example/news/police-raid-scam-compound/"
RAID: dict[str, Any] = dict(
    site="The Daily",
    title="Police raid scam compound in Sihanoukville",
    byline="Sok Chea",
    published="2026-02-20T09:00:00+07:00",
)


class FlakyBackend(SqliteFtsBackend):
    """The real SQLite backend, made to fail on demand like a server that went away."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.fail_with: Exception | None = None
        self.upserts = 0

    def upsert(self, documents: Sequence[SearchDocument]) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.upserts += 1
        super().upsert(documents)


def outbox(rt: Runtime) -> list[tuple[int, int]]:
    with rt.sessions() as session:
        return [
            (row.article_id, row.attempts)
            for row in session.scalars(select(SearchOutbox).order_by(SearchOutbox.id))
        ]


def record_raid(rt: Runtime, paragraphs: list[str], at: datetime) -> None:
    record(rt, exchange(RAID_URL, english_page(**RAID, paragraphs=paragraphs), at, source="daily"))


def test_drain_indexes_and_empties_the_outbox(runtime: Runtime, tmp_path: Path) -> None:
    add_sources(runtime)
    record_raid(runtime, RAID_V1, T0)
    backend = SqliteFtsBackend(tmp_path / "s.sqlite")
    assert len(outbox(runtime)) == 1
    assert drain_outbox(runtime.sessions, backend) == 1
    assert outbox(runtime) == []
    assert backend.search(SearchQuery(text="tycoon")).total == 1
    assert drain_outbox(runtime.sessions, backend) == 0


def test_archive_on_sqlite_or_postgresql(any_runtime: Runtime, tmp_path: Path) -> None:
    """The index is its own file whatever database holds the archive."""
    ids = build_contract_archive(any_runtime)
    incremental = SqliteFtsBackend(tmp_path / "incremental.sqlite")
    assert drain_outbox(any_runtime.sessions, incremental) == len(ids.bulletins) + 7
    rebuilt = SqliteFtsBackend(tmp_path / "rebuilt.sqlite")
    assert reindex(any_runtime.sessions, rebuilt) == 18
    for backend in (incremental, rebuilt):
        hit = backend.search(SearchQuery(text='"Ly Yong Phat"')).hits[0]
        assert (hit.article_id, hit.version, hit.removed_text) == (ids.raid, 1, True)
        assert backend.stats().articles == 17


def test_a_new_version_updates_its_siblings(runtime: Runtime, tmp_path: Path) -> None:
    add_sources(runtime)
    backend = SqliteFtsBackend(tmp_path / "s.sqlite")
    record_raid(runtime, RAID_V1, T0)
    drain_outbox(runtime.sessions, backend)
    first = backend.search(SearchQuery(text="tycoon"))
    assert [(h.version, h.is_current, h.status, h.removed_text) for h in first.hits] == [
        (1, True, "live", False)
    ]
    record_raid(runtime, RAID_V2, T0 + timedelta(days=1))
    assert drain_outbox(runtime.sessions, backend) == 1
    after = backend.search(SearchQuery(text="tycoon"))
    assert [(h.version, h.is_current, h.status, h.removed_text) for h in after.hits] == [
        (1, False, "edited", True)
    ]
    assert backend.stats().documents == 2


def test_backend_down_keeps_the_outbox_and_never_raises(runtime: Runtime, tmp_path: Path) -> None:
    add_sources(runtime)
    record_raid(runtime, RAID_V1, T0)
    backend = FlakyBackend(tmp_path / "s.sqlite")
    backend.fail_with = BackendUnavailable("Meilisearch at http://127.0.0.1:7700 did not answer")
    assert drain_outbox(runtime.sessions, backend) == 0
    assert drain_outbox(runtime.sessions, backend) == 0
    aid = article_id(runtime, RAID_URL)
    assert outbox(runtime) == [(aid, 2)]
    # Rejected rather than down: also kept, also counted.
    backend.fail_with = SearchError("task failed: invalid_document_id")
    assert drain_outbox(runtime.sessions, backend) == 0
    assert outbox(runtime) == [(aid, 3)]
    backend.fail_with = None
    assert drain_outbox(runtime.sessions, backend) == 1
    assert outbox(runtime) == []
    assert backend.search(SearchQuery(text="tycoon")).total == 1


def test_a_locked_index_is_unavailable_not_a_crash(runtime: Runtime, tmp_path: Path) -> None:
    add_sources(runtime)
    record_raid(runtime, RAID_V1, T0)
    path = tmp_path / "s.sqlite"
    SqliteFtsBackend(path).configure()
    other_writer = sqlite3.connect(path, isolation_level=None)
    other_writer.execute("BEGIN IMMEDIATE")
    try:
        backend = SqliteFtsBackend(path, timeout_s=0.05)
        with runtime.sessions() as session:
            documents = build_documents(session, [article_id(runtime, RAID_URL)])
        with pytest.raises(BackendUnavailable, match="locked"):
            backend.upsert(documents)
        assert drain_outbox(runtime.sessions, backend) == 0
        assert [attempts for _a, attempts in outbox(runtime)] == [1]
    finally:
        other_writer.execute("ROLLBACK")
        other_writer.close()
    assert drain_outbox(runtime.sessions, SqliteFtsBackend(path)) == 1


def test_batches_and_max_batches(runtime: Runtime, tmp_path: Path) -> None:
    build_contract_archive(runtime)
    pending = len(outbox(runtime))
    backend = FlakyBackend(tmp_path / "s.sqlite")
    assert drain_outbox(runtime.sessions, backend, batch_size=3, max_batches=2) == 6
    assert backend.upserts == 2
    assert len(outbox(runtime)) == pending - 6
    assert drain_outbox(runtime.sessions, backend, batch_size=3) == pending - 6
    assert backend.stats().articles == 17


def test_reindex_rebuilds_and_keeps_later_outbox_rows(runtime: Runtime, tmp_path: Path) -> None:
    ids = build_contract_archive(runtime)
    backend = SqliteFtsBackend(tmp_path / "s.sqlite")
    backend.configure()
    with runtime.sessions() as session:
        stale = build_documents(session, [ids.raid])[0]
    backend.upsert([replace(stale, id="999-1", article_id=999)])
    calls: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        calls.append((done, total))
        if len(calls) == 2:  # a crawl records something while the rebuild runs
            with runtime.sessions.begin() as session:
                session.add(SearchOutbox(article_id=ids.rescue, created_at=T0))

    assert reindex(runtime.sessions, backend, progress=progress) == 18
    assert calls[0] == (0, 18) and calls[-1] == (18, 18)
    assert backend.stats().documents == 18  # the stale document is gone
    assert outbox(runtime) == [(ids.rescue, 0)]


def test_documents_carry_article_state(runtime: Runtime) -> None:
    ids = build_contract_archive(runtime)
    with runtime.sessions() as session:
        raid = build_documents(session, [ids.raid, 12345])
        takedown = build_documents(session, [ids.takedown])
    assert [(d.id, d.is_current, d.status, d.topic) for d in raid] == [
        (f"{ids.raid}-1", False, "edited", "trafficking"),
        (f"{ids.raid}-2", True, "edited", "trafficking"),
    ]
    assert raid[0].date_ts == raid[1].date_ts == parse_published("2026-02-20T09:00:00+07:00")
    assert "tycoon" in raid[0].text and "tycoon" not in raid[1].text
    [gone] = takedown
    assert gone.status == "removed" and gone.removed_at is not None and gone.is_current
    assert gone.topic is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-02-20T09:00:00+07:00", 1771552800),
        ("2026-02-20", int(datetime(2026, 2, 20, tzinfo=UTC).timestamp())),
        ("2026-02-20T02:00:00Z", 1771552800),
        ("2026-02-20 garbage", int(datetime(2026, 2, 20, tzinfo=UTC).timestamp())),
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_published(value: str | None, expected: int | None) -> None:
    assert parse_published(value) == expected


# -- command line ----------------------------------------------------------------------------


def cli(data_dir: Path, *args: str) -> tuple[int, str, str]:
    from presswatch.cli import app

    result = CliRunner().invoke(app, ["--data-dir", str(data_dir), *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_cli_reindex_and_search_json(runtime: Runtime) -> None:
    ids = build_contract_archive(runtime)
    data_dir = runtime.settings.data_dir
    code, out, _err = cli(data_dir, "reindex", "--json")
    assert code == 0, out
    assert json.loads(out) == {"versions": 18, "backend": "sqlite"}
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(SearchOutbox)) == 0

    code, out, _err = cli(data_dir, "search", '"Ly Yong Phat"', "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["total"] == 1
    [hit] = doc["hits"]
    for key in (
        "article_id",
        "url",
        "source",
        "title",
        "status",
        "version",
        "lang",
        "snippet",
        "removed_text",
    ):
        assert key in hit
    assert (hit["article_id"], hit["version"], hit["removed_text"]) == (ids.raid, 1, True)
    assert set(doc["facets"]) == {"source", "lang", "status"}

    code, out, _err = cli(
        data_dir, "search", "compound", "--source", "daily", "--status", "live", "--json"
    )
    assert code == 0 and [h["article_id"] for h in json.loads(out)["hits"]] == [ids.rescue]
    code, out, _err = cli(data_dir, "search", "Sihanoukville", "--versions", "all", "--json")
    assert code == 0 and json.loads(out)["total"] == 2


def test_cli_search_text_output_and_errors(runtime: Runtime) -> None:
    build_contract_archive(runtime)
    data_dir = runtime.settings.data_dir
    assert cli(data_dir, "reindex")[0] == 0
    code, out, _err = cli(data_dir, "search", "bold")
    assert code == 0
    assert "1 result(s)" in out and "[bold]" in out and "<mark>" not in out
    code, out, err = cli(data_dir, "search", "--", "-casino")
    assert code == 2 and out == "" and "add at least one word" in err
    code, _out, err = cli(data_dir, "search", "raid", "--status", "gone")
    assert code == 2 and "status 'gone'" in err
    code, _out, err = cli(data_dir, "search", "raid", "--published-from", "soon")
    assert code == 2 and "ISO 8601" in err
    code, _out, err = cli(data_dir, "search", "raid", "--sort", "random")
    assert code == 2


def test_cli_search_needs_an_initialized_archive(tmp_path: Path) -> None:
    code, _out, err = cli(tmp_path / "nothing-here", "search", "raid")
    assert code == 2 and "presswatch init" in err
