"""The SearchBackend contract: one suite, run against every backend.

SQLite FTS5 always; Meilisearch when MEILI_URL (and MEILI_MASTER_KEY if the server
needs one) points at a server, otherwise those cases are skipped with the reason (the
backends under test are made by tests/search_backends.py). The
archive is recorded through `record_capture` (tests/search_pages.py) and indexed by
draining the outbox, as a crawl would.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from archive.errors import BackendUnavailable, BadQuery, SearchError
from archive.store.models import SearchDeadLetter, SearchOutbox
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from search_api.backends.base import (
    SearchBackend,
    SearchDocument,
    SearchQuery,
    SearchResult,
    SortOrder,
)
from search_api.documents import build_documents
from search_api.indexer import drain_outbox, index_isolating, reindex, retry_dead_letters
from tests.search_backends import (
    BACKENDS,
    INVALID_ID,
    RefusingArticle,
    drop_test_backend,
    make_test_backend,
    twin,
)
from tests.search_pages import (
    KHMER_PARAGRAPHS,
    RAID_V1,
    T0,
    ContractArchive,
    add_sources,
    build_contract_archive,
    english_page,
    exchange,
    record,
)


def new_runtime(tmp: Path) -> Runtime:
    rt = Runtime(Settings(data_dir=tmp / "data"))
    rt.init()
    return rt


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Runtime, ContractArchive]]:
    rt = new_runtime(tmp_path_factory.mktemp("contract"))
    ids = build_contract_archive(rt)
    yield rt, ids
    rt.close()


@pytest.fixture(scope="module", params=BACKENDS)
def backend(
    request: pytest.FixtureRequest,
    archive: tuple[Runtime, ContractArchive],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SearchBackend]:
    rt, _ids = archive
    b = make_test_backend(request.param, tmp_path_factory.mktemp("index"))
    b.configure()
    # Drain without deleting the shared archive's outbox for the next backend: index
    # through `reindex`'s document builder instead, then check the outbox path elsewhere.
    from search_api.documents import iter_documents

    for docs in iter_documents(rt.sessions):
        b.upsert(docs)
    yield b
    drop_test_backend(b)


def search(backend: SearchBackend, text: str = "", **kwargs: object) -> SearchResult:
    return backend.search(SearchQuery(text=text, **kwargs))  # type: ignore[arg-type]


def article_ids(result: SearchResult) -> list[int]:
    return [h.article_id for h in result.hits]


# -- what is findable --------------------------------------------------------------------


def test_removed_article_is_found_and_marked(
    backend: SearchBackend, archive: tuple[Runtime, ContractArchive]
) -> None:
    _rt, ids = archive
    result = search(backend, "Prince Group")
    assert article_ids(result) == [ids.takedown]
    hit = result.hits[0]
    assert hit.status == "removed"
    assert hit.removed_at is not None
    assert hit.removed_text is False  # the last version online still says it
    assert "Prince" in hit.snippet


def test_text_removed_by_an_edit_is_found_and_flagged(
    backend: SearchBackend, archive: tuple[Runtime, ContractArchive]
) -> None:
    _rt, ids = archive
    result = search(backend, '"Ly Yong Phat"')
    assert article_ids(result) == [ids.raid]
    hit = result.hits[0]
    assert (hit.version, hit.is_current, hit.status) == (1, False, "edited")
    assert hit.removed_text is True
    assert "<mark>" in hit.snippet


def test_text_kept_by_the_edit_is_not_flagged(
    backend: SearchBackend, archive: tuple[Runtime, ContractArchive]
) -> None:
    _rt, ids = archive
    for versions in ("best", "all"):
        result = search(backend, "Sihanoukville", versions=versions)
        assert {h.article_id for h in result.hits} == {ids.raid}
        assert not any(h.removed_text for h in result.hits)


def test_one_hit_per_article_by_default_every_version_on_request(
    backend: SearchBackend, archive: tuple[Runtime, ContractArchive]
) -> None:
    _rt, ids = archive
    best = search(backend, "Sihanoukville")
    assert best.total == 1 and len(best.hits) == 1
    every = search(backend, "Sihanoukville", versions="all")
    assert every.total == 2
    assert sorted((h.article_id, h.version) for h in every.hits) == [(ids.raid, 1), (ids.raid, 2)]
    assert [h.is_current for h in every.hits if h.version == 2] == [True]


# -- filters and facets ------------------------------------------------------------------


def test_filter_by_source(backend: SearchBackend, archive: tuple[Runtime, ContractArchive]) -> None:
    _rt, ids = archive
    assert set(article_ids(search(backend, "compound", sources=("daily",)))) == {
        ids.raid,
        ids.rescue,
    }
    assert set(article_ids(search(backend, "compound", sources=("wire",)))) == {ids.escaping}
    assert search(backend, "compound", sources=("nosuch",)).total == 0


def test_filter_by_lang(backend: SearchBackend, archive: tuple[Runtime, ContractArchive]) -> None:
    _rt, ids = archive
    assert article_ids(search(backend, langs=("km",))) == [ids.khmer]
    assert ids.khmer not in article_ids(search(backend, langs=("en",), per_page=100))


def test_filter_by_status(backend: SearchBackend, archive: tuple[Runtime, ContractArchive]) -> None:
    _rt, ids = archive
    assert article_ids(search(backend, statuses=("removed",))) == [ids.takedown]
    assert article_ids(search(backend, statuses=("edited",))) == [ids.raid]
    live = set(article_ids(search(backend, statuses=("live",), per_page=100)))
    assert ids.rescue in live and ids.takedown not in live and ids.raid not in live
    with pytest.raises(BadQuery, match="status"):
        search(backend, statuses=("deleted",))


def test_filter_by_topic(backend: SearchBackend, archive: tuple[Runtime, ContractArchive]) -> None:
    _rt, ids = archive
    assert set(article_ids(search(backend, topics=("trafficking",)))) == {ids.raid, ids.rescue}


def test_filter_by_publish_date(
    backend: SearchBackend, archive: tuple[Runtime, ContractArchive]
) -> None:
    _rt, ids = archive
    result = search(
        backend,
        "bulletin",
        published_from=T0.replace(month=1, day=3, hour=0),
        published_to=T0.replace(month=1, day=5, hour=0),
    )
    # Bulletin n is published on January n+1 at 06:00 +07:00, 23:00 UTC on January n:
    # bulletins 3 and 4 fall between January 3 and 5 (UTC).
    assert sorted(article_ids(result)) == sorted(ids.bulletins[3:5])


def test_filter_by_capture_date(
    backend: SearchBackend, archive: tuple[Runtime, ContractArchive]
) -> None:
    _rt, ids = archive
    # Version 1 of the raid story was online only before T0 + 1 day.
    early = search(backend, "Sihanoukville", versions="all", captured_to=T0 + timedelta(hours=1))
    assert [(h.article_id, h.version) for h in early.hits] == [(ids.raid, 1)]
    late = search(backend, "Sihanoukville", versions="all", captured_from=T0 + timedelta(hours=12))
    assert [(h.article_id, h.version) for h in late.hits] == [(ids.raid, 2)]
    bulletins = search(backend, "bulletin", captured_to=T0 + timedelta(days=1))
    assert bulletins.total == 0


def test_facets_count_the_filtered_results(
    backend: SearchBackend, archive: tuple[Runtime, ContractArchive]
) -> None:
    result = search(backend, "compound")
    assert result.facets is not None
    assert result.facets.source == {"daily": 2, "wire": 1}
    assert result.facets.lang == {"en": 3}
    assert result.facets.status == {"edited": 1, "live": 2}
    everything = search(backend, per_page=100)
    assert everything.facets is not None
    for counts in (everything.facets.source, everything.facets.status, everything.facets.lang):
        assert sum(counts.values()) == everything.total == 17
    assert everything.facets.status == {"edited": 1, "live": 15, "removed": 1}
    filtered = search(backend, sources=("wire",))
    assert filtered.facets is not None and filtered.facets.source == {"wire": 14}
    assert search(backend, "compound", facets=False).facets is None


def test_facets_count_versions_when_listing_versions(
    backend: SearchBackend, archive: tuple[Runtime, ContractArchive]
) -> None:
    result = search(backend, "Sihanoukville", versions="all")
    assert result.facets is not None and result.facets.source == {"daily": 2}


# -- order and pages ---------------------------------------------------------------------


def test_sort_by_date_newest_first(
    backend: SearchBackend, archive: tuple[Runtime, ContractArchive]
) -> None:
    _rt, ids = archive
    result = search(backend, "bulletin", sort=SortOrder.DATE, per_page=12)
    assert article_ids(result) == list(reversed(ids.bulletins))
    mixed = search(backend, "compound", sort=SortOrder.DATE)
    # Published: raid 2026-02-20, ministry statement 2026-02-12, rescue 2026-01-10.
    assert article_ids(mixed) == [ids.raid, ids.escaping, ids.rescue]


def test_relevance_puts_title_matches_first(
    backend: SearchBackend, archive: tuple[Runtime, ContractArchive]
) -> None:
    _rt, ids = archive
    # "rescued" is in the rescue story's title and body; "raid" story body says "raided".
    result = search(backend, "workers")
    assert result.total >= 3
    assert article_ids(result)[0] == ids.rescue  # "workers" in its title


def test_pagination_total_is_stable_and_pages_do_not_overlap(
    backend: SearchBackend, archive: tuple[Runtime, ContractArchive]
) -> None:
    _rt, ids = archive
    for sort in SortOrder:
        pages = [search(backend, "bulletin", sort=sort, page=p, per_page=5) for p in (1, 2, 3, 4)]
        assert [p.total for p in pages] == [12, 12, 12, 12]
        assert [len(p.hits) for p in pages] == [5, 5, 2, 0]
        seen = [a for p in pages for a in article_ids(p)]
        assert sorted(seen) == sorted(ids.bulletins)
    with pytest.raises(BadQuery, match="page"):
        search(backend, "bulletin", page=0)
    with pytest.raises(BadQuery, match="narrow"):
        search(backend, "bulletin", page=1000, per_page=100)


def test_empty_query_lists_everything_newest_first(
    backend: SearchBackend, archive: tuple[Runtime, ContractArchive]
) -> None:
    result = search(backend, per_page=100)
    assert result.total == 17
    dates = [h.published for h in result.hits]
    assert all(h.removed_text is False for h in result.hits)
    assert dates[0] is not None and dates[0].startswith("2026-02-25")  # the Khmer story


# -- snippets ---------------------------------------------------------------------------


def test_snippets_are_escaped_before_marking(
    backend: SearchBackend, archive: tuple[Runtime, ContractArchive]
) -> None:
    _rt, ids = archive
    result = search(backend, "bold")
    assert article_ids(result) == [ids.escaping]
    hit = result.hits[0]
    assert "&lt;b&gt;<mark>bold</mark>" in hit.snippet
    assert "<b>" not in hit.snippet and "<script" not in hit.snippet
    assert hit.title == "Ministry statement on <b>bold</b> claims & rumours"
    assert "&lt;b&gt;<mark>bold</mark>&lt;/b&gt;" in hit.title_html
    assert "&amp;" in hit.title_html
    script = search(backend, "alert")
    assert "&lt;script&gt;<mark>alert</mark>(1)&lt;/script&gt;" in script.hits[0].snippet
    # Our markup is added to the snippet, never indexed: no document contains "mark".
    assert search(backend, '"mark"').total == 0


# -- query language ----------------------------------------------------------------------


def test_phrases_exclusion_and_or(
    backend: SearchBackend, archive: tuple[Runtime, ContractArchive]
) -> None:
    _rt, ids = archive
    assert article_ids(search(backend, '"scam compound"')) == [ids.raid]
    assert set(article_ids(search(backend, "compound -Sihanoukville"))) == {
        ids.rescue,
        ids.escaping,
    }
    assert set(article_ids(search(backend, 'compound -"rescued workers"'))) == {
        ids.raid,
        ids.escaping,
    }
    either = search(backend, "Sihanoukville OR casino")
    assert set(article_ids(either)) == {ids.raid, ids.takedown}
    assert either.total == 2
    assert set(article_ids(search(backend, "workers Sihanoukville OR border"))) == {
        ids.raid,
        ids.rescue,
    }


HOSTILE = [
    '"unbalanced quote',
    'compound "',
    '"',
    '""',
    "NEAR(compound raid)",
    "NEAR(",
    "*",
    "comp*",
    "title:compound",
    "body:x OR title:y",
    "^compound",
    "compound^2",
    "AND OR NOT",
    "OR",
    "- -- ---",
    "-compound",
    "compound OR -raid",
    ")(",
    "'; DROP TABLE docs; --",
    '"; DELETE FROM docs_fts; --"',
    "compound\x00raid",
    "\x01\x02\x1b[31m",
    "\ud800compound",
    "\ue000compound\ue001",
    "a\u200bb",
    "compound " * 2000,
    "x" * 10_000,
    "",
    "   ",
    "🙂",
    "c++ && c#",
    "{compound}",
    "compound:*",
    '\\"compound\\"',
]


@pytest.mark.parametrize("text", HOSTILE, ids=lambda t: repr(t[:20]))
def test_hostile_queries_give_results_or_bad_query(backend: SearchBackend, text: str) -> None:
    try:
        result = search(backend, text)
    except BadQuery as exc:
        assert str(exc)  # says what to change
        return
    assert result.total >= 0
    for hit in result.hits:
        assert "<script" not in hit.snippet


def test_hostile_filter_values_are_values(
    backend: SearchBackend, archive: tuple[Runtime, ContractArchive]
) -> None:
    for value in ('daily" OR source = "wire', "daily' OR 1=1 --", "x\\", '\\"', "dai\\ly"):
        assert search(backend, "compound", sources=(value,)).total == 0
    with pytest.raises(BadQuery, match="control characters"):
        search(backend, "compound", sources=("daily\x00",))


# -- Khmer ---------------------------------------------------------------------------------


def test_khmer_words_are_found(
    backend: SearchBackend, archive: tuple[Runtime, ContractArchive]
) -> None:
    _rt, ids = archive
    for word in ("ការជួញដូរមនុស្ស", "ជនរងគ្រោះ", "ខេត្តព្រះសីហនុ", "ស៊ើបអង្កេត"):
        result = search(backend, word)
        assert article_ids(result) == [ids.khmer], word
        assert "<mark>" in result.hits[0].snippet, word
    assert article_ids(search(backend, '"អ្នកសារព័ត៌មាន"')) == [ids.khmer]
    assert search(backend, "ការជួញដូរមនុស្ស -ស៊ើបអង្កេត").total == 0


def test_khmer_typed_in_another_code_point_order_is_found(
    backend: SearchBackend, archive: tuple[Runtime, ContractArchive]
) -> None:
    _rt, ids = archive
    # "ស៊ើប" with the register shifter typed after the vowel, and OE typed as E + II:
    # normalized to the archive's order before searching.
    typed = "ស\u17be\u17caបអង្កេត"
    typed_split = "ស\u17ca\u17c1\u17b8បអង្កេត"
    for text in (typed, typed_split):
        assert article_ids(search(backend, text)) == [ids.khmer]
    assert KHMER_PARAGRAPHS  # the page the words come from


# -- reindex equals incremental indexing ---------------------------------------------------


@pytest.mark.parametrize("kind", BACKENDS)
def test_reindex_equals_incremental_index(kind: str, tmp_path: Path) -> None:
    rt = new_runtime(tmp_path)
    incremental = make_test_backend(kind, tmp_path)
    rebuilt = make_test_backend(kind, tmp_path)
    try:
        incremental.configure()
        add_sources(rt)
        url = "https://daily.example/news/police-raid-scam-compound/"
        page: dict[str, Any] = dict(
            site="The Daily",
            title="Police raid scam compound in Sihanoukville",
            byline="Sok Chea",
            published="2026-02-20T09:00:00+07:00",
        )
        steps = [
            exchange(url, english_page(**page, paragraphs=RAID_V1), T0, source="daily"),
            exchange(
                url,
                english_page(**page, paragraphs=RAID_V1[:2] + RAID_V1[3:]),
                T0 + timedelta(days=1),
                source="daily",
            ),
            exchange(
                url,
                english_page(**page, paragraphs=[RAID_V1[0], RAID_V1[3]]),
                T0 + timedelta(days=2),
                source="daily",
            ),
            *(
                exchange(
                    url,
                    "<html><body>Gone</body></html>",
                    T0 + timedelta(days=d),
                    status=410,
                    source="daily",
                )
                for d in (3, 4)
            ),
        ]
        drained = 0
        for step in steps:
            record(rt, step)
            drained += drain_outbox(rt.sessions, incremental)
        # new, edited, edited, (first 410 only pending: no change), removed
        assert drained == 4
        assert reindex(rt.sessions, rebuilt) == 3
        queries = [
            SearchQuery(),
            SearchQuery(versions="all"),
            SearchQuery(text="owned tycoon", versions="all"),
            SearchQuery(text="forced labour"),
            SearchQuery(text="compound", statuses=("removed",), versions="all"),
        ]
        for query in queries:
            a = incremental.search(query).as_dict()
            b = rebuilt.search(query).as_dict()
            assert a == b, query
        removed = incremental.search(SearchQuery(text='"forced labour"'))
        assert [(h.version, h.removed_text, h.status) for h in removed.hits] == [
            (1, True, "removed")
        ]
        assert incremental.stats().documents == rebuilt.stats().documents == 3
    finally:
        drop_test_backend(incremental)
        drop_test_backend(rebuilt)
        rt.close()


def test_stats_and_health(backend: SearchBackend) -> None:
    stats = backend.stats()
    assert (stats.documents, stats.articles) == (18, 17)
    health = backend.health()
    assert health.ok, health.detail


def test_configure_is_idempotent(backend: SearchBackend) -> None:
    backend.configure()
    backend.configure()
    assert backend.stats().documents == 18


# -- an engine that refuses documents: the outbox never jams ---------------------------------


def outbox_rows(rt: Runtime) -> list[tuple[int, int]]:
    with rt.sessions() as session:
        return [
            (row.article_id, row.rejections)
            for row in session.scalars(select(SearchOutbox).order_by(SearchOutbox.id))
        ]


def dead_letters(rt: Runtime) -> list[tuple[int, int, str]]:
    with rt.sessions() as session:
        return [
            (d.article_id, d.attempts, d.error)
            for d in session.scalars(select(SearchDeadLetter).order_by(SearchDeadLetter.id))
        ]


@pytest.mark.parametrize("kind", BACKENDS)
def test_the_engine_refuses_an_invalid_document_and_only_that_one(
    kind: str, tmp_path: Path, archive: tuple[Runtime, ContractArchive]
) -> None:
    rt, ids = archive
    backend = make_test_backend(kind, tmp_path)
    try:
        backend.configure()
        with rt.sessions() as session:
            good = build_documents(session, [ids.raid])
            bad = build_documents(session, [ids.rescue])
        with pytest.raises(SearchError, match="(?i)invalid") as info:
            backend.upsert([*good, replace(bad[0], id=INVALID_ID)])
        assert not isinstance(info.value, BackendUnavailable)  # refused, not down
        assert backend.stats().documents == 0  # the whole batch was refused
        refused = index_isolating(
            backend, [ids.raid, ids.rescue], [*good, replace(bad[0], id=INVALID_ID)]
        )
        assert list(refused) == [ids.rescue]
        assert article_ids(search(backend, "Sihanoukville")) == [ids.raid]
    finally:
        drop_test_backend(backend)


@pytest.mark.parametrize("kind", BACKENDS)
def test_a_refused_article_goes_to_the_dead_letters_and_the_rest_flows(
    kind: str, tmp_path: Path
) -> None:
    rt = new_runtime(tmp_path)
    backend = make_test_backend(kind, tmp_path)
    try:
        ids = build_contract_archive(rt)
        backend.configure()
        refusing = RefusingArticle(backend, ids.rescue)
        pending = outbox_rows(rt)
        rescue_rows = sum(1 for a, _r in pending if a == ids.rescue)
        # One pass over the whole outbox, the refused article set aside: everything
        # behind it is indexed.
        drained = drain_outbox(rt.sessions, refusing, batch_size=4, max_attempts=2)  # type: ignore[arg-type]
        assert drained == len(pending) - rescue_rows
        assert outbox_rows(rt) == [(ids.rescue, 1)] * rescue_rows
        assert backend.stats().articles == 16
        assert set(article_ids(search(backend, "compound"))) == {ids.raid, ids.escaping}
        assert dead_letters(rt) == []
        # Refused a second time (max_attempts=2): out of the outbox, into the dead letters.
        assert drain_outbox(rt.sessions, refusing, max_attempts=2) == 0  # type: ignore[arg-type]
        assert outbox_rows(rt) == []
        [(article, attempts, error)] = dead_letters(rt)
        assert (article, attempts) == (ids.rescue, 2)
        assert "invalid" in error.lower()
        # Retried while the engine still refuses it: straight back to the dead letters.
        assert retry_dead_letters(rt.sessions, max_attempts=2) == 1
        assert drain_outbox(rt.sessions, refusing, max_attempts=2) == 0  # type: ignore[arg-type]
        assert [d[:2] for d in dead_letters(rt)] == [(ids.rescue, 2)]
        # Retried once the cause is gone: indexed, the dead letter cleared.
        assert retry_dead_letters(rt.sessions, max_attempts=2) == 1
        assert drain_outbox(rt.sessions, backend, max_attempts=2) == 1
        assert dead_letters(rt) == [] and outbox_rows(rt) == []
        assert set(article_ids(search(backend, "compound"))) == {
            ids.raid,
            ids.escaping,
            ids.rescue,
        }
    finally:
        drop_test_backend(backend)
        rt.close()


@pytest.mark.parametrize("kind", BACKENDS)
def test_reindex_sets_a_refused_article_aside_and_publishes_the_rest(
    kind: str, tmp_path: Path, archive: tuple[Runtime, ContractArchive]
) -> None:
    rt, ids = archive
    backend = make_test_backend(kind, tmp_path)
    try:
        backend.configure()

        class Refusing(RefusingArticle):
            def configure(self) -> None:
                backend.configure()

            def rebuild(self) -> Any:
                return _RefusingBuild(backend.rebuild(), ids.takedown)

        assert reindex(rt.sessions, Refusing(backend, ids.takedown)) == 17  # type: ignore[arg-type]
        assert backend.stats().articles == 16
        assert [d[:2] for d in dead_letters(rt)] == [(ids.takedown, 1)]
        assert reindex(rt.sessions, backend) == 18
        assert dead_letters(rt) == []
    finally:
        drop_test_backend(backend)


class _RefusingBuild:
    def __init__(self, build: Any, article_id: int) -> None:
        self.build = build
        self.refusing = RefusingArticle(build, article_id)

    def upsert(self, documents: Sequence[SearchDocument]) -> None:
        self.refusing.upsert(documents)

    def publish(self) -> None:
        self.build.publish()

    def discard(self) -> None:
        self.build.discard()


# -- reindex without downtime ----------------------------------------------------------------

DURING_REINDEX = [
    SearchQuery(per_page=100),
    SearchQuery(text="compound"),
    SearchQuery(text="Sihanoukville", versions="all"),
    SearchQuery(text="bulletin", sort=SortOrder.DATE, per_page=5, page=2),
    SearchQuery(text="ជនរងគ្រោះ"),
]


def seen(result: SearchResult) -> tuple[Any, ...]:
    return (
        result.total,
        [(h.article_id, h.version, h.removed_text) for h in result.hits],
        result.facets.as_dict() if result.facets else None,
    )


@pytest.mark.parametrize("kind", BACKENDS)
def test_searches_during_a_reindex_see_the_whole_index(
    kind: str, tmp_path: Path, archive: tuple[Runtime, ContractArchive]
) -> None:
    rt, _ids = archive
    backend = make_test_backend(kind, tmp_path)
    reader = twin(backend)  # another process's view: the API server
    try:
        reindex(rt.sessions, backend)
        expected = [seen(reader.search(q)) for q in DURING_REINDEX]
        assert expected[0][0] == 17
        batches: queue.Queue[int] = queue.Queue()
        resume = threading.Event()
        finished = threading.Event()
        failures: list[BaseException] = []

        def progress(done: int, _total: int) -> None:
            batches.put(done)  # a batch went into the new index: let the test search
            assert resume.wait(120), "the test never let the rebuild go on"
            resume.clear()

        def rebuild() -> None:
            try:
                reindex(rt.sessions, backend, progress=progress, batch_size=3)
            except BaseException as exc:  # noqa: BLE001 - reported to the test thread
                failures.append(exc)
            finally:
                finished.set()

        def keep_searching(results: list[tuple[Any, ...]]) -> None:
            # Also search while the new index is swapped in, not only between batches.
            other = twin(backend)
            try:
                for _ in range(100_000):
                    if finished.is_set():
                        break
                    results.append(seen(other.search(DURING_REINDEX[0])))
            finally:
                other.close()

        free_running: list[tuple[Any, ...]] = []
        worker = threading.Thread(target=rebuild)
        searcher = threading.Thread(target=keep_searching, args=(free_running,))
        worker.start()
        searcher.start()
        checked = 0
        while not (finished.is_set() and batches.empty()):
            try:
                batches.get(timeout=0.05)
            except queue.Empty:
                continue
            assert [seen(reader.search(q)) for q in DURING_REINDEX] == expected
            checked += 1
            resume.set()
        worker.join(120)
        searcher.join(120)
        assert not failures, failures
        assert checked >= 7  # 17 articles in batches of 3, and the start
        assert free_running and all(r == expected[0] for r in free_running)
        assert [seen(reader.search(q)) for q in DURING_REINDEX] == expected
    finally:
        reader.close()
        drop_test_backend(backend)


# -- where engines tend to disagree: exact words, numbers, long bodies, big results -------------


def synthetic(
    article_id: int, text: str, *, version: int = 1, source: str = "a", **kw: Any
) -> SearchDocument:
    """A document as `search_api.documents` builds them, without an archive behind it."""
    when = T0 + timedelta(minutes=article_id)
    values: dict[str, Any] = dict(
        id=f"{article_id}-{version}",
        article_id=article_id,
        version=version,
        url=f"https://{source}.example/{article_id}",
        source=source,
        title=f"Report {article_id}",
        byline="",
        text=text,
        lang="en",
        published=None,
        published_ts=None,
        first_seen=when,
        last_seen=when,
        status="live",
        removed_at=None,
        topic=None,
        is_current=True,
        date_ts=int(when.timestamp()),
    )
    values.update(kw)
    return SearchDocument(**values)


def test_words_match_exactly(
    backend: SearchBackend, archive: tuple[Runtime, ContractArchive]
) -> None:
    """No typo tolerance and no prefixes: a watchdog searching a name finds that name.
    Case is folded."""
    _rt, ids = archive
    assert article_ids(search(backend, "SIHANOUKVILLE")) == [ids.raid]
    for near in ("Sihanukville", "Sihanoukvile", "Sihanoukvill", "Sihanoukvilles", "bulleti"):
        assert search(backend, near).total == 0, near
    # Every word must match, whatever its place in the query.
    assert search(backend, "Sihanoukville casino").total == 0
    assert search(backend, "casino Sihanoukville").total == 0


@pytest.mark.parametrize("kind", BACKENDS)
def test_numbers_and_symbols_split_words_alike(kind: str, tmp_path: Path) -> None:
    backend = make_test_backend(kind, tmp_path)
    try:
        backend.configure()
        backend.upsert(
            [
                synthetic(
                    1,
                    "Police counted 1,200 workers and US$3.5 million; decree 12/2026 "
                    "of 2026 says <b>bold</b> x=y a|b 29°C.",
                ),
                synthetic(2, "Another 200 workers were found in 2025 at 3 sites, 5 days."),
                # Symbols beyond the common ones: arrows, a telephone, math operators.
                synthetic(3, "Hotline☎012 and route Phnom→Bavet; ratio 3∶1 ≈ half⊕rest."),
            ]
        )
        cases = {
            "2026": {1},
            "1,200": {1},
            "200": {1, 2},
            "3.5": {1},
            "$3.5": {1},
            "12/2026": {1},
            "bold": {1},
            "x=y": {1},
            "y": {1},
            "b": {1},
            "29°C": {1},
            "C": {1},
            "2025": {2},
            "20": set(),
            "Hotline": {3},
            "012": {3},
            "Bavet": {3},
            "Phnom→Bavet": {3},
            "half": {3},
            "rest": {3},
        }
        for text, expected in cases.items():
            assert set(article_ids(search(backend, text))) == expected, text
    finally:
        drop_test_backend(backend)


@pytest.mark.parametrize("kind", BACKENDS)
def test_a_very_long_body_is_searchable_to_its_end(kind: str, tmp_path: Path) -> None:
    backend = make_test_backend(kind, tmp_path)
    try:
        backend.configure()
        # 60,000 words in sentences (a hard separator every 10 words), about 420,000
        # characters: far past 65,536 word positions.
        sentences = [
            " ".join(f"filler{(i * 10 + j) % 997}" for j in range(10)) + "." for i in range(6_000)
        ]
        sentences[3_000] = "the hidden clause sits in the middle of it."
        sentences[-1] = "the last payment went to lastword holdings."
        backend.upsert([synthetic(1, " ".join(sentences)), synthetic(2, "short text.")])
        for text in ("lastword", '"lastword holdings"', '"hidden clause"', "filler5"):
            result = search(backend, text)
            assert article_ids(result) == [1], text
        assert "<mark>lastword</mark>" in search(backend, "lastword").hits[0].snippet
    finally:
        drop_test_backend(backend)


@pytest.fixture(scope="module", params=BACKENDS)
def big_index(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SearchBackend]:
    """10,050 articles (60 with a second version), past every 10,000 limit."""
    backend = make_test_backend(request.param, tmp_path_factory.mktemp("big"))
    backend.configure()
    docs = []
    for i in range(1, 10_051):
        words = ["common"]
        if i <= 6_000:
            words.append("alpha")
        if i > 5_000:
            words.append("beta")
        source = "abc"[i % 3]
        if i <= 60:
            docs.append(synthetic(i, " ".join(words), version=1, source=source, is_current=False))
            docs.append(synthetic(i, " ".join(words), version=2, source=source))
        else:
            docs.append(synthetic(i, " ".join(words), source=source))
    for start in range(0, len(docs), 2_000):
        backend.upsert(docs[start : start + 2_000])
    yield backend
    drop_test_backend(backend)


def test_totals_and_facets_past_ten_thousand_hits(big_index: SearchBackend) -> None:
    expected_sources = {s: sum(1 for i in range(1, 10_051) if "abc"[i % 3] == s) for s in "abc"}
    for text in ("common", ""):
        result = search(big_index, text)
        assert result.total == 10_050, text
        assert result.facets is not None and result.facets.source == expected_sources, text
        assert sum(result.facets.status.values()) == 10_050
    every = search(big_index, "common", versions="all", per_page=5)
    assert every.total == 10_110
    last = search(big_index, "common", page=100, per_page=100)
    assert len(last.hits) == 100


def test_or_totals_past_ten_thousand_hits(big_index: SearchBackend) -> None:
    assert search(big_index, "alpha").total == 6_000
    assert search(big_index, "beta").total == 5_050
    either = search(big_index, "alpha OR beta")
    assert either.total == 10_050  # 1,000 articles have both: counted once
    assert either.facets is not None and sum(either.facets.source.values()) == 10_050
    both = search(big_index, "alpha beta")
    assert both.total == 1_000
    assert search(big_index, "alpha OR beta", versions="all").total == 10_110
    pages = [search(big_index, "alpha OR beta", page=p, per_page=100) for p in (1, 2)]
    assert not {h.article_id for h in pages[0].hits} & {h.article_id for h in pages[1].hits}
