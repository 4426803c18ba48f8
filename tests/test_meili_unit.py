"""The Meilisearch backend's parts that need no server: the settings payload and its
idempotent diff, filter building and escaping, the allow-list, document mapping, and
the payloads sent for tasks and searches.

`RecordingClient` is a stand-in for `meilisearch.Client` that records what the backend
sends and returns empty, well-formed answers (the client's own `TaskInfo`/`Task`
models). It only lets these tests check payloads and our handling of documented task
states; it says nothing about whether a real server accepts them -- the contract suite
does that when MEILI_URL is set.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from meilisearch.errors import (
    MeilisearchApiError,
    MeilisearchCommunicationError,
    MeilisearchTimeoutError,
)
from meilisearch.models.task import Task, TaskInfo
from pydantic import SecretStr

from archive.errors import BackendUnavailable, BadQuery, SearchError
from presswatch.settings import Settings
from search_api.backends.base import (
    MARK_CLOSE,
    MARK_OPEN,
    SearchDocument,
    SearchQuery,
    SortOrder,
    mark_snippet,
)
from search_api.backends.meili import MeilisearchBackend
from search_api.backends.meili_query import (
    build_filter,
    filter_condition,
    filter_in,
    quote_filter_value,
)
from search_api.backends.meili_schema import (
    CHUNK_CHARS,
    FILTERABLE_ATTRIBUTES,
    MAX_CHUNKS,
    TEXT_CHUNKS,
    index_settings,
    settings_changes,
    text_chunks,
    to_meili_document,
)
from search_api.backends.sqlite_fts import SqliteFtsBackend
from search_api.factory import make_backend
from search_api.khmer import SEPARATOR as ZW
from search_api.query import meili_queries, parse_query

ENQUEUED_AT = "2026-03-01T00:00:00.000000Z"


def api_error(status: int, code: str, message: str = "refused") -> MeilisearchApiError:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps({"code": code, "message": message}).encode()
    return MeilisearchApiError("error", response)


class RecordingIndex:
    def __init__(self, client: RecordingClient) -> None:
        self.client = client

    def get_settings(self) -> dict[str, Any]:
        self.client.calls.append(("get_settings",))
        return dict(self.client.server_settings)

    def update_settings(self, body: dict[str, Any]) -> TaskInfo:
        self.client.calls.append(("update_settings", body))
        return self.client.task("settingsUpdate")

    def add_documents(
        self, documents: list[dict[str, Any]], primary_key: str | None = None
    ) -> TaskInfo:
        self.client.calls.append(("add_documents", len(documents), primary_key))
        self.client.documents.extend(documents)
        return self.client.task("documentAdditionOrUpdate")

    def delete_documents(self, ids: Any = None, *, filter: Any = None) -> TaskInfo:
        self.client.calls.append(("delete_documents", ids, filter))
        return self.client.task("documentDeletion")

    def delete_all_documents(self) -> TaskInfo:
        self.client.calls.append(("delete_all_documents",))
        return self.client.task("documentDeletion")

    def search(self, q: str, params: dict[str, Any]) -> dict[str, Any]:
        self.client.calls.append(("search", q, params))
        if self.client.raise_on_search is not None:
            raise self.client.raise_on_search
        return {"hits": [], "totalHits": 0, "facetDistribution": {}}


class RecordingClient:
    def __init__(self, *, index_exists: bool = True, task_status: str = "succeeded") -> None:
        self.index_exists = index_exists
        self.task_status = task_status
        self.calls: list[tuple[Any, ...]] = []
        self.waited: list[int] = []
        self.documents: list[dict[str, Any]] = []
        self.server_settings: dict[str, Any] = {}
        self.raise_on_search: Exception | None = None
        self._next_uid = 0

    def task(self, kind: str) -> TaskInfo:
        self._next_uid += 1
        return TaskInfo.model_validate(
            {
                "taskUid": self._next_uid,
                "indexUid": "pw",
                "status": "enqueued",
                "type": kind,
                "enqueuedAt": ENQUEUED_AT,
            }
        )

    def index(self, uid: str) -> RecordingIndex:
        return RecordingIndex(self)

    def get_raw_index(self, uid: str) -> dict[str, Any]:
        self.calls.append(("get_raw_index", uid))
        if not self.index_exists:
            raise api_error(404, "index_not_found", f"Index `{uid}` not found.")
        return {"uid": uid, "primaryKey": "id"}

    def create_index(self, uid: str, options: dict[str, Any]) -> TaskInfo:
        self.calls.append(("create_index", uid, options))
        self.index_exists = True
        return self.task("indexCreation")

    def wait_for_task(self, uid: int, timeout_in_ms: int = 5000, interval_in_ms: int = 50) -> Task:
        self.waited.append(uid)
        error = None
        if self.task_status != "succeeded":
            error = {
                "code": "invalid_document_id",
                "message": "Document identifier `x y` is invalid.",
            }
        return Task.model_validate(
            {
                "uid": uid,
                "indexUid": "pw",
                "status": self.task_status,
                "type": "documentAdditionOrUpdate",
                "enqueuedAt": ENQUEUED_AT,
                "error": error,
            }
        )

    def health(self) -> dict[str, str]:
        return {"status": "available"}


def backend(client: RecordingClient, **kwargs: Any) -> MeilisearchBackend:
    return MeilisearchBackend("http://127.0.0.1:7700", "key", "pw", client=client, **kwargs)


T = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def doc(n: int = 1, **overrides: Any) -> SearchDocument:
    values: dict[str, Any] = dict(
        id=f"7-{n}",
        article_id=7,
        version=n,
        url="https://daily.example/news/raid/",
        source="daily",
        title="Police raid ខ្មែរ",
        byline="Sok Chea",
        text="Police raided a compound.\nជនរងគ្រោះ",
        lang="en",
        published="2026-02-20T09:00:00+07:00",
        published_ts=1771552800,
        first_seen=T,
        last_seen=T,
        status="edited",
        removed_at=None,
        topic="trafficking",
        is_current=n == 2,
        date_ts=1771552800,
    )
    values.update(overrides)
    return SearchDocument(**values)


# -- settings ----------------------------------------------------------------------------


def test_settings_payload() -> None:
    settings = index_settings()
    assert settings["distinctAttribute"] == "article_id"
    assert settings["pagination"]["maxTotalHits"] > 1000
    assert settings["rankingRules"][0] == "sort"  # sort-by-date is by date, not a tie-break
    assert settings["searchableAttributes"] == ["title", "byline", "text", *TEXT_CHUNKS]
    for name in ("id", "article_id", "source", "lang", "status", "topic", "is_current"):
        assert name in settings["filterableAttributes"]
    assert "date_ts" in settings["sortableAttributes"]
    # Words match exactly, as in FTS5; symbols cut words, as in FTS5.
    assert settings["typoTolerance"] == {"enabled": False}
    assert settings["separatorTokens"][0] == ZW
    assert {"<", ">", "=", "|", "$", "°", "៛"} <= set(settings["separatorTokens"])
    json.dumps(settings)  # plain JSON


def test_settings_diff_is_empty_when_the_server_has_them() -> None:
    wanted = index_settings()
    server = json.loads(json.dumps(wanted))
    server["filterableAttributes"] = list(reversed(server["filterableAttributes"]))
    server["typoTolerance"].update(
        {"minWordSizeForTypos": {"oneTypo": 5, "twoTypos": 9}, "disableOnWords": []}
    )
    server["stopWords"] = []
    server["faceting"]["sortFacetValuesBy"] = {"*": "alpha"}
    assert settings_changes(server, wanted) == {}


def test_settings_diff_sends_only_what_differs() -> None:
    wanted = index_settings()
    server = json.loads(json.dumps(wanted))
    server["pagination"] = {"maxTotalHits": 1000}
    server["distinctAttribute"] = None
    server["searchableAttributes"] = ["text", "title", "byline"]  # order matters here
    assert settings_changes(server, wanted) == {
        "pagination": wanted["pagination"],
        "distinctAttribute": "article_id",
        "searchableAttributes": ["title", "byline", "text", *TEXT_CHUNKS],
    }
    assert settings_changes({}, wanted) == wanted


def test_configure_creates_the_index_and_applies_settings_once() -> None:
    client = RecordingClient(index_exists=False)
    b = backend(client)
    b.configure()
    assert client.calls[:2] == [
        ("get_raw_index", "pw"),
        ("create_index", "pw", {"primaryKey": "id"}),
    ]
    updates = [c for c in client.calls if c[0] == "update_settings"]
    assert updates == [("update_settings", index_settings())]
    assert client.waited == [1, 2]  # the creation and the settings task
    client.calls.clear()
    client.server_settings = index_settings()
    b.configure()
    assert [c[0] for c in client.calls] == ["get_raw_index", "get_settings"]


# -- tasks and errors --------------------------------------------------------------------


def test_documents_are_added_in_batches_and_every_task_is_checked() -> None:
    client = RecordingClient()
    b = backend(client, batch_size=1000)
    b.upsert([doc(1, id=f"7-{i}") for i in range(2500)])
    assert [c for c in client.calls if c[0] == "add_documents"] == [
        ("add_documents", 1000, "id"),
        ("add_documents", 1000, "id"),
        ("add_documents", 500, "id"),
    ]
    assert client.waited == [1, 2, 3]


def test_a_failed_task_is_an_error_not_a_success() -> None:
    client = RecordingClient(task_status="failed")
    with pytest.raises(SearchError, match="invalid_document_id") as info:
        backend(client).upsert([doc(1)])
    assert not isinstance(info.value, BackendUnavailable)
    client.task_status = "canceled"
    with pytest.raises(SearchError, match="canceled"):
        backend(client).clear()


@pytest.mark.parametrize(
    ("error", "expected", "message"),
    [
        (
            MeilisearchCommunicationError("Connection refused"),
            BackendUnavailable,
            "unset MEILI_URL",
        ),
        (MeilisearchTimeoutError("timed out"), BackendUnavailable, "did not answer"),
        (api_error(401, "missing_authorization_header"), BackendUnavailable, "MEILI_MASTER_KEY"),
        (api_error(403, "invalid_api_key"), BackendUnavailable, "MEILI_MASTER_KEY"),
        (api_error(503, "internal", "overloaded"), BackendUnavailable, "try again later"),
        (requests.exceptions.InvalidURL("bad url"), BackendUnavailable, "check MEILI_URL"),
        (api_error(400, "invalid_search_filter"), SearchError, "invalid_search_filter"),
    ],
)
def test_client_errors_become_ours(error: Exception, expected: type, message: str) -> None:
    client = RecordingClient()
    client.raise_on_search = error
    with pytest.raises(expected, match=message):
        backend(client).search(SearchQuery(text="raid"))
    health = backend(client).health()
    assert health.ok  # health does not search; it asks /health and the index


def test_health_reports_instead_of_raising() -> None:
    client = RecordingClient(index_exists=False)
    health = backend(client).health()
    assert not health.ok and "index_not_found" in health.detail


# -- filters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("daily", '"daily"'),
        ("two words", '"two words"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("ends\\", '"ends\\\\"'),
        ('\\"', '"\\\\\\""'),  # backslash first, then the quote: \" -> \\\"
        ("it's", '"it\'s"'),
        ('x" OR status = "removed', '"x\\" OR status = \\"removed"'),
        ("ខ្មែរ", '"ខ្មែរ"'),
        ("", '""'),
    ],
)
def test_quote_filter_value(value: str, expected: str) -> None:
    assert quote_filter_value(value) == expected


def test_filters_use_only_allow_listed_fields() -> None:
    assert filter_in("source", ["a", "b"]) == 'source IN ["a", "b"]'
    assert filter_in("article_id", [1, 2]) == "article_id IN [1, 2]"
    assert filter_condition("is_current", "=", True) == "is_current = true"
    assert filter_condition("published_ts", ">=", 5) == "published_ts >= 5"
    for name in ("url", "text", "source = x OR source", 'source"', ""):
        with pytest.raises(SearchError, match="not a filterable field"):
            filter_in(name, ["a"])
    with pytest.raises(SearchError):
        filter_condition("source", "IN", "a")
    with pytest.raises(SearchError):
        filter_condition("published_ts", ">=", 1.5)
    with pytest.raises(SearchError):
        filter_in("source", [])
    assert set(FILTERABLE_ATTRIBUTES) >= {"source", "lang", "status", "topic"}


def test_build_filter_from_a_query() -> None:
    query = SearchQuery(
        sources=("daily", 'x" OR source = "y'),
        langs=("km",),
        statuses=("removed", "edited"),
        topics=("trafficking",),
        published_from=datetime(2026, 1, 1, tzinfo=UTC),
        published_to=datetime(2026, 2, 1, tzinfo=UTC),
        captured_from=datetime(2026, 3, 1, tzinfo=UTC),
        captured_to=datetime(2026, 3, 2, tzinfo=UTC),
    )
    assert build_filter(query) == (
        'source IN ["daily", "x\\" OR source = \\"y"]'
        ' AND lang IN ["km"]'
        ' AND status IN ["removed", "edited"]'
        ' AND topic IN ["trafficking"]'
        " AND published_ts >= 1767225600"
        " AND published_ts <= 1769904000"
        " AND last_seen_ts >= 1772323200"
        " AND first_seen_ts <= 1772409600"
    )
    assert build_filter(SearchQuery(text="raid")) is None


# -- documents -----------------------------------------------------------------------------


def test_document_mapping() -> None:
    mapped = to_meili_document(doc(2, removed_at=T))
    assert mapped == {
        "id": "7-2",
        "article_id": 7,
        "version": 2,
        "url": "https://daily.example/news/raid/",
        "source": "daily",
        "title": f"Police raid {ZW}ខ្មែ{ZW}រ{ZW}",
        "byline": "Sok Chea",
        "text": f"Police raided a compound.\n{ZW}ជ{ZW}ន{ZW}រ{ZW}ង{ZW}គ្រោះ{ZW}",
        "lang": "en",
        "published": "2026-02-20T09:00:00+07:00",
        "published_ts": 1771552800,
        "first_seen": "2026-03-01T08:00:00+00:00",
        "last_seen": "2026-03-01T08:00:00+00:00",
        "first_seen_ts": 1772352000,
        "last_seen_ts": 1772352000,
        "status": "edited",
        "removed_at": "2026-03-01T08:00:00+00:00",
        "topic": "trafficking",
        "is_current": True,
        "date_ts": 1771552800,
    }
    json.dumps(mapped)


# -- search payloads -----------------------------------------------------------------------


def test_search_payload() -> None:
    client = RecordingClient()
    backend(client).search(
        SearchQuery(
            text='raid "forced labour" -casino',
            sources=("daily",),
            versions="all",
            sort=SortOrder.DATE,
            page=2,
            per_page=5,
        )
    )
    [(_, q, params)] = [c for c in client.calls if c[0] == "search"]
    assert q == '-casino "raid" "forced labour"'
    assert params["matchingStrategy"] == "all"  # every word must match
    assert params["filter"] == 'source IN ["daily"]'
    assert (params["page"], params["hitsPerPage"]) == (2, 5)
    assert params["distinct"] == "id"  # every version, not one per article
    assert params["sort"] == ["date_ts:desc", "article_id:desc", "version:desc"]
    assert params["facets"] == ["source", "lang", "status"]
    assert params["attributesToCrop"] == ["text", *TEXT_CHUNKS]
    assert (params["highlightPreTag"], params["highlightPostTag"]) == (MARK_OPEN, MARK_CLOSE)


def test_grouped_relevance_search_keeps_the_index_distinct() -> None:
    client = RecordingClient()
    backend(client).search(SearchQuery(text="raid"))
    [(_, _q, params)] = [c for c in client.calls if c[0] == "search"]
    assert "distinct" not in params and "sort" not in params
    assert "filter" not in params


def test_listing_without_a_query_is_newest_first_by_its_newest_version() -> None:
    client = RecordingClient()
    backend(client).search(SearchQuery(statuses=("removed",)))
    [(_, q, params)] = [c for c in client.calls if c[0] == "search"]
    assert q == ""
    assert params["sort"] == ["date_ts:desc", "article_id:desc", "version:desc"]
    assert params["filter"] == 'status IN ["removed"]'
    assert "distinct" not in params


def test_or_runs_one_search_per_combination() -> None:
    client = RecordingClient()
    backend(client, union_cap=500).search(SearchQuery(text="police raid OR rescue"))
    searches = [c for c in client.calls if c[0] == "search"]
    assert [s[1] for s in searches] == ['"police" "raid"', '"police" "rescue"']
    assert all(s[2]["matchingStrategy"] == "all" for s in searches)
    assert all(s[2]["limit"] == 500 and s[2]["offset"] == 0 for s in searches)


def test_deletes_use_filters() -> None:
    client = RecordingClient()
    b = backend(client)
    b.delete(["7-1", 'x"y'])
    b.delete_articles([7, 8])
    deletes = [c for c in client.calls if c[0] == "delete_documents"]
    assert deletes == [
        ("delete_documents", None, 'id IN ["7-1", "x\\"y"]'),
        ("delete_documents", None, "article_id IN [7, 8]"),
    ]
    assert client.waited == [1, 2]


# -- snippets and the factory --------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "html"),
    [
        (f"a {MARK_OPEN}raid{MARK_CLOSE} <b>", "a <mark>raid</mark> &lt;b&gt;"),
        (f"{MARK_OPEN}<script>{MARK_CLOSE}", "<mark>&lt;script&gt;</mark>"),
        (f"cut {MARK_OPEN}off", "cut <mark>off</mark>"),
        (f"stray{MARK_CLOSE} close", "stray close"),
        ("&amp; \"quoted\" 'single'", "&amp;amp; &quot;quoted&quot; &#x27;single&#x27;"),
        (f"{ZW}ជ{ZW}ន{ZW}", "ជន"),
    ],
)
def test_mark_snippet_escapes_then_marks(raw: str, html: str) -> None:
    assert mark_snippet(raw) == html


def test_make_backend_follows_settings(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEILI_URL", raising=False)  # the contract suite's server, if any
    plain = make_backend(Settings(data_dir=tmp_path))
    assert isinstance(plain, SqliteFtsBackend)
    assert plain.path == tmp_path / "search.sqlite"
    meili = make_backend(
        Settings(
            data_dir=tmp_path, meili_url="http://127.0.0.1:7700", meili_master_key=SecretStr("k")
        )
    )
    assert isinstance(meili, MeilisearchBackend)
    assert (meili.url, meili.index_uid) == ("http://127.0.0.1:7700", "presswatch")


# -- query shape, long bodies -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Every word quoted: exact, no typo, no prefix, never dropped.
        ("scam compound", ['"scam" "compound"']),
        ('"forced labour" -casino', ['-casino "forced labour"']),
        ('raid -"press release"', ['-"press release" "raid"']),
        ("raid OR rescue workers", ['"raid" "workers"', '"rescue" "workers"']),
        ("x-y", ['"x-y"']),
        ("<b>bold</b>", ['"<b>bold</b>"']),
        # A Khmer word last: its last cluster ends the query unquoted (a prefix).
        ("ជនរងគ្រោះ", ['"ជ ន រ ង" គ្រោះ']),
        ("ក", ["ក"]),
        ('"ជនរងគ្រោះ" raid', ['"ជ ន រ ង គ្រោះ" "raid"']),
        ("raid -ស៊ើប", ['-"ស៊ើ ប" "raid"']),
        ("", [""]),
    ],
)
def test_meili_queries(text: str, expected: list[str]) -> None:
    assert meili_queries(parse_query(text)) == expected


def test_meili_queries_refuse_what_meilisearch_would_ignore() -> None:
    # Meilisearch reads 10 words and phrases and ignores the rest: refuse, do not widen.
    assert len(meili_queries(parse_query(" ".join(f"w{i}" for i in range(10))))) == 1
    with pytest.raises(BadQuery, match="at most 10"):
        meili_queries(parse_query(" ".join(f"w{i}" for i in range(11))))
    assert meili_queries(parse_query('"' + " ".join(f"w{i}" for i in range(30)) + '"'))


def test_long_bodies_are_cut_into_overlapping_chunks() -> None:
    words = [f"w{i}" for i in range(60_000)]
    text = " ".join(words)
    chunks = text_chunks(text)
    assert 1 < len(chunks) <= MAX_CHUNKS
    assert all(len(c) <= CHUNK_CHARS for c in chunks)
    assert set(" ".join(chunks).split()) == set(words)  # nothing lost
    for left, right in zip(chunks, chunks[1:], strict=False):
        assert right.split()[0] in left.split()  # overlap at word starts
        assert left[-900:] in left and right.startswith(right.split()[0])
    # Any phrase up to the longest query lies whole inside one chunk.
    for start in range(0, len(text) - 1000, 7919):
        piece = text[start : start + 1000]
        assert any(piece in c for c in chunks)
    mapped = to_meili_document(doc(1, text=text))
    assert mapped["text"] == chunks[0] and mapped["text_1"] == chunks[1]
    assert text_chunks("short") == ["short"]
    huge = text_chunks("x " * 1_000_000)
    assert len(huge) == MAX_CHUNKS  # the rest rides in the last chunk, unsearchable
