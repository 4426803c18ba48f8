"""The JSON API and the web pages, with FastAPI's TestClient, on a real archive built by
recording exchanges (`build_archive`): English and Khmer articles, an edit that drops a
paragraph and retitles, takedowns confirmed by two 404s and two 410s, an unchanged
re-fetch (a WARC revisit), a failed fetch, and an article whose text is hostile HTML
and whose raw page carries a live script.

`build_archive` and `make_app` (tests/api_archive.py) are shared with the feed,
chart, schemathesis and browser tests.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from archive.errors import BackendUnavailable
from archive.store import SourceOptions, SourceOwner
from archive.store.models import Article, ChangeEvent, Source
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from search_api.app import create_app
from search_api.backends.base import BackendHealth
from search_api.backends.sqlite_fts import SqliteFtsBackend
from search_api.deps import get_backend
from tests import archive_helpers as h
from tests.api_archive import (
    API_KEY,
    GONE,
    KM_EDITED_URL,
    NOW,
    RAID_URL,
    Built,
    article_html,
    build_archive,
    hours,
    make_app,
)

with warnings.catch_warnings():
    # Starlette asks for httpx2 here; the TestClient works the same with httpx.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    b = build_archive(tmp_path_factory.mktemp("api") / "data")
    yield b
    b.close()


@pytest.fixture(scope="module")
def client(built: Built) -> Iterator[TestClient]:
    with TestClient(make_app(built)) as c:
        yield c


def detail_of(response: Any) -> str:
    body = response.json()
    assert set(body) == {"detail"}, body
    assert isinstance(body["detail"], str) and body["detail"]
    return str(body["detail"])


# -- the archive under test ---------------------------------------------------------------


def test_the_archive_holds_what_the_tests_expect(built: Built) -> None:
    with built.runtime.sessions() as s:
        status = {name: s.get(Article, aid).status for name, aid in built.ids.items()}  # type: ignore[union-attr]
    assert status == {
        "raid": "unreachable",
        "hostile": "edited",
        "gone": "removed",
        "km_edited": "edited",
        "km_removed": "removed",
    }


# -- OpenAPI ------------------------------------------------------------------------------


def test_openapi_lists_every_route_with_a_response_schema(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    expected = {
        "/api/search",
        "/api/articles",
        "/api/articles/{article_id}",
        "/api/articles/{article_id}/versions/{n}",
        "/api/articles/{article_id}/diff",
        "/api/lookup",
        "/api/changes",
        "/api/sources",
        "/api/captures/{capture_id}",
        "/api/captures/{capture_id}/raw",
        "/api/admin/sources",
        "/api/admin/sources/{name}",
        "/api/admin/sources/{name}/disable",
        "/api/admin/recheck",
        "/feeds/changes.atom",
        "/healthz",
        "/readyz",
    }
    assert expected <= set(spec["paths"])
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            ok = [code for code in op["responses"] if code.startswith("2")]
            if ok:
                assert op["responses"][ok[0]].get("content"), f"{method} {path}: no schema"
            else:  # a redirect by design (the Memento TimeGate) says so
                assert any(code.startswith("3") for code in op["responses"]), (method, path)
            for code, response in op["responses"].items():
                if code.startswith("4"):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (path, code)
    assert client.get("/api/docs").status_code == 200


# -- search ---------------------------------------------------------------------------------


def test_search_finds_text_that_an_edit_removed_and_says_so(
    client: TestClient, built: Built
) -> None:
    body = client.get("/api/search", params={"q": "casino"}).json()
    assert body["total"] == 1
    (hit,) = body["hits"]
    assert hit["article_id"] == built.ids["raid"]
    assert hit["removed_text"] is True and hit["version"] == 1 and hit["is_current"] is False
    assert "<mark>casino</mark>" in hit["snippet"]
    assert body["facets"]["source"] == {"daily": 1}
    # A word still in the current version is not "removed text".
    current = client.get("/api/search", params={"q": "embassy"}).json()
    assert [h["removed_text"] for h in current["hits"]] == [False]


def test_search_filters_and_facets(client: TestClient, built: Built) -> None:
    everything = client.get("/api/search").json()
    assert everything["total"] == 5
    assert everything["facets"]["status"] == {
        "edited": 2,
        "removed": 2,
        "unreachable": 1,
    }
    assert everything["facets"]["lang"] == {"en": 3, "km": 2}
    removed = client.get("/api/search", params={"status": "removed"}).json()
    assert {h["article_id"] for h in removed["hits"]} == {
        built.ids["gone"],
        built.ids["km_removed"],
    }
    both = client.get(
        "/api/search", params=[("status", "removed"), ("source", "khmer-news")]
    ).json()
    assert [h["article_id"] for h in both["hits"]] == [built.ids["km_removed"]]
    assert client.get("/api/search", params={"lang": "km"}).json()["total"] == 2
    per_version = client.get("/api/search", params={"q": "compound", "versions": "all"}).json()
    assert (
        per_version["total"] > client.get("/api/search", params={"q": "compound"}).json()["total"]
    )
    paged = client.get("/api/search", params={"per_page": 2, "page": 3, "sort": "date"}).json()
    assert len(paged["hits"]) == 1 and paged["total"] == 5
    published = client.get("/api/search", params={"from": "2026-02-27", "to": "2026-02-27"}).json()
    assert {h["article_id"] for h in published["hits"]} >= {built.ids["raid"], built.ids["gone"]}


def test_search_in_khmer(client: TestClient, built: Built) -> None:
    body = client.get("/api/search", params={"q": h.KM_SEARCH_WORD}).json()
    ids = [h["article_id"] for h in body["hits"]]
    assert built.ids["km_edited"] in ids
    hit = body["hits"][ids.index(built.ids["km_edited"])]
    assert hit["lang"] == "km" and "<mark>" in hit["snippet"]


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"q": "x" * 1001}, 422, "at most 1000"),
        ({"per_page": 500}, 422, "per_page"),
        ({"page": 0}, 422, "page"),
        ({"page": 600, "per_page": 20}, 400, "narrow the query"),
        ({"from": "last tuesday"}, 422, "use ISO 8601, e.g. 2026-03-01"),
        ({"from": "2026-02-30"}, 422, "valid date"),
        ({"from": "0"}, 422, "ISO 8601"),
        ({"to": "2026-03-01T08:00:00-14:00"}, 422, "query parameter to"),
        ({"q": "-casino"}, 400, "only excludes"),
        ({"q": "***"}, 400, "no letters or digits"),
        ({"status": "deleted"}, 422, "'live', 'edited', 'removed' or 'unreachable'"),
        ({"sort": "random"}, 422, "sort"),
    ],
)
def test_search_rejects_what_it_cannot_run_with_a_message(
    client: TestClient, params: dict[str, Any], status: int, words: str
) -> None:
    response = client.get("/api/search", params=params)
    assert response.status_code == status
    assert words in detail_of(response)


@pytest.mark.parametrize(
    "q",
    ['"unbalanced', "NEAR(a b)", "title:x", "a OR", "\x00\x01 bell", "🙂 OR 🙃", "))((", "'; DROP"],
)
def test_hostile_queries_answer_without_crashing(client: TestClient, q: str) -> None:
    assert client.get("/api/search", params={"q": q}).status_code in (200, 400)


def test_hostile_archived_text_comes_out_escaped_in_snippets_and_titles(
    client: TestClient, built: Built
) -> None:
    body = client.get("/api/search", params={"q": "PWNED"}).json()
    (hit,) = body["hits"]
    assert hit["article_id"] == built.ids["hostile"]
    for html in (hit["snippet"], hit["title_html"]):
        assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;" in hit["snippet"] or "&lt;/script&gt;" in hit["snippet"]
    assert hit["title"] == "<b>Bold</b> claims about a compound"
    assert hit["title_html"].startswith("&lt;b&gt;Bold&lt;/b&gt;")
    # The page marks only the backend's <mark> as HTML.
    page = client.get("/", params={"q": "PWNED onerror"}).text
    assert "&lt;script&gt;" in page and "&lt;img src=x" in page
    assert "<script" not in page and "<img" not in page and "<b>Bold" not in page
    assert "<mark>PWNED</mark>" in page


def test_search_is_503_with_a_reason_when_the_backend_is_down(built: Built) -> None:
    class Down(SqliteFtsBackend):
        def search(self, query: Any) -> Any:
            raise BackendUnavailable("cannot open the search index: disk gone")

    app = make_app(built)
    app.dependency_overrides[get_backend] = lambda: Down(built.runtime.settings.search_index_path)
    response = TestClient(app).get("/api/search", params={"q": "casino"})
    assert response.status_code == 503
    assert "search is unavailable" in detail_of(response)


# -- articles --------------------------------------------------------------------------------


def test_articles_page_through_with_a_cursor(client: TestClient, built: Built) -> None:
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        body = client.get("/api/articles", params=params).json()
        assert body["count"] == len(body["data"]) <= 2
        seen += [a["id"] for a in body["data"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and seen == sorted(built.ids.values())
    removed = client.get("/api/articles", params={"status": "removed"}).json()
    assert {a["id"] for a in removed["data"]} == {built.ids["gone"], built.ids["km_removed"]}
    assert {a["removal"] for a in removed["data"]} == {"http_404", "http_410"}
    km = client.get("/api/articles", params={"source": "khmer-news"}).json()["data"]
    assert {a["lang"] for a in km} == {"km"} and all(a["title"] for a in km)
    bad = client.get("/api/articles", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 400 and "next_cursor" in detail_of(bad)
    assert client.get("/api/articles", params={"limit": 101}).status_code == 422


def test_article_detail_has_versions_events_aliases_and_captures(
    client: TestClient, built: Built
) -> None:
    body = client.get(f"/api/articles/{built.ids['raid']}").json()
    assert body["article"]["status"] == "unreachable" and body["article"]["versions"] == 2
    assert [v["n"] for v in body["versions"]] == [1, 2]
    assert "text" not in body["versions"][0]
    kinds = [(e["kind"], e["how"]) for e in body["events"]]
    assert kinds[:2] == [("discovered", []), ("edited", ["title", "body"])]
    assert kinds[-1][0] == "unreachable"
    assert [c["outcome"] for c in body["captures"]] == ["new", "unchanged", "edited", "unreachable"]
    assert [c["version_n"] for c in body["captures"]] == [1, 1, 2, 2]
    assert body["aliases"][0]["url"] == RAID_URL
    gone = client.get(f"/api/articles/{built.ids['gone']}").json()
    assert gone["events"][-1]["kind"] == "removed" and gone["events"][-1]["how"] == ["http_404"]
    # Removed as of the first of the two 404s that confirmed it.
    assert gone["article"]["removed_at"].startswith("2026-03-01T12:00")


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/api/articles/999999", 404, "no article with id 999999"),
        ("/api/articles/0", 422, "greater than or equal to 1"),
        ("/api/articles/abc", 422, "valid integer"),
        ("/api/articles/99999999999999999999999", 422, "less than or equal"),
        ("/api/articles/1/versions/9", 404, "has no version 9"),
        ("/api/captures/999999", 404, "no capture with id 999999"),
        ("/api/nothing-here", 404, "Not Found"),
    ],
)
def test_missing_and_malformed_ids_answer_json_errors(
    client: TestClient, path: str, status: int, words: str
) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert words in detail_of(response)


def test_version_has_text_metadata_and_capture_info(client: TestClient, built: Built) -> None:
    body = client.get(f"/api/articles/{built.ids['raid']}/versions/1").json()
    assert body["n"] == 1 and body["title"] == "Police raid scam compound in Sihanoukville"
    assert "behind a casino" in body["text"] and body["lang"] == "en"
    assert body["byline"] and body["published"].startswith("2026-02-27")
    assert body["first_capture"]["id"] == built.captures["raid_v1"]
    assert body["last_capture"]["id"] == built.captures["raid_revisit"]
    assert body["first_capture"]["status"] == 200 and len(body["text_sha256"]) == 64


def test_diff_in_three_formats(client: TestClient, built: Built) -> None:
    aid = built.ids["raid"]
    body = client.get(f"/api/articles/{aid}/diff").json()
    assert (body["from_version"], body["to_version"]) == (1, 2)
    assert body["from"].startswith("v1 (") and body["changed"] == ["title", "body"]
    (title,) = [f for f in body["fields"] if f["field"] == "title"]
    assert title["new"] == "Police free workers from compound"
    assert any(op["op"] == "delete" and "casino" in op["old"] for op in body["body"])
    assert body["stats"]["words_removed"] > 20
    unified = client.get(f"/api/articles/{aid}/diff", params={"format": "unified"})
    assert unified.headers["content-type"].startswith("text/plain")
    assert unified.text.startswith("--- v1") and "\n-Witnesses said" in unified.text
    fragment = client.get(f"/api/articles/{aid}/diff", params={"format": "html"})
    assert fragment.headers["content-type"].startswith("text/html")
    assert (
        'class="pw-diff"' in fragment.text
        and "sandbox" in fragment.headers["content-security-policy"]
    )
    reverse = client.get(f"/api/articles/{aid}/diff", params={"from": 2, "to": 1}).json()
    assert reverse["stats"]["words_added"] == body["stats"]["words_removed"]
    same = client.get(f"/api/articles/{built.ids['gone']}/diff").json()
    assert (same["from_version"], same["to_version"], same["changed"]) == (1, 1, [])
    missing = client.get(f"/api/articles/{aid}/diff", params={"from": 7})
    assert missing.status_code == 404 and "use 1 to 2" in detail_of(missing)
    assert client.get(f"/api/articles/{aid}/diff", params={"format": "pdf"}).status_code == 422


def test_hostile_text_in_a_diff_is_escaped(client: TestClient, built: Built) -> None:
    aid = built.ids["hostile"]
    fragment = client.get(f"/api/articles/{aid}/diff", params={"format": "html"}).text
    page = client.get(f"/articles/{aid}/diff").text
    inline = client.get(f"/articles/{aid}/diff", params={"view": "inline"}).text
    for html in (fragment, page, inline):
        assert "<script" not in html and "<img" not in html and "<svg" not in html
        assert "&lt;img src=x" in html and "alert(" in html


def test_lookup_by_any_url_of_the_article(client: TestClient, built: Built) -> None:
    variant = "http://www.daily.example/news/police-raid-scam-compound/?utm_source=fb#top"
    body = client.get("/api/lookup", params={"url": variant}).json()
    assert body["article"]["id"] == built.ids["raid"] and body["normalized_url"] == RAID_URL
    missing = client.get("/api/lookup", params={"url": "https://nowhere.example/x/"})
    assert missing.status_code == 404 and "no archived article" in detail_of(missing)
    relative = client.get("/api/lookup", params={"url": "news/story/x"})
    assert relative.status_code == 422 and "should match pattern" in detail_of(relative)
    broken = client.get("/api/lookup", params={"url": "http://[::1"})
    assert broken.status_code == 400 and "cannot be parsed" in detail_of(broken)
    page = client.get("/lookup", params={"url": variant}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == f"/articles/{built.ids['raid']}"


# -- changes ---------------------------------------------------------------------------------


def test_changes_newest_first_with_filters(client: TestClient, built: Built) -> None:
    body = client.get("/api/changes").json()
    ats = [(c["at"], c["id"]) for c in body["data"]]
    assert ats == sorted(ats, reverse=True) and body["next_cursor"] is None
    removed = client.get("/api/changes", params={"kind": "removed"}).json()["data"]
    assert {(c["article_id"], c["how"]) for c in removed} == {
        (built.ids["gone"], "http_404"),
        (built.ids["km_removed"], "http_410"),
    }
    km = client.get("/api/changes", params=[("source", "khmer-news"), ("kind", "edited")]).json()
    (edit,) = km["data"]
    assert edit["how"] == ["byline"] and edit["lang"] == "km" and edit["title"]
    since = client.get("/api/changes", params={"since": "2026-03-01T12:00:00Z"}).json()["data"]
    assert since and all(c["at"] >= "2026-03-01T12:00:00" for c in since)
    assert client.get("/api/changes", params={"kind": "vanished"}).status_code == 422
    # A time UTC cannot hold filters like the largest one.
    far = client.get("/api/changes", params={"since": "9999-12-31T23:59:59-14:00"})
    assert far.status_code == 200 and far.json()["data"] == []
    assert client.get("/api/changes", params={"cursor": "Yzp4fHk"}).status_code == 400


def test_change_pages_never_skip_or_repeat_while_events_arrive(tmp_path: Path) -> None:
    built = build_archive(tmp_path / "data")
    try:
        client = TestClient(make_app(built))
        with built.runtime.sessions() as s:
            before = [e.id for e in s.scalars(select(ChangeEvent))]
        first = client.get("/api/changes", params={"limit": 4}).json()
        got = [c["id"] for c in first["data"]]
        boundary_at = datetime.fromisoformat(first["data"][-1]["at"].replace("Z", "+00:00"))

        # New events while the reader pages: one newer than everything, one at exactly
        # the boundary's time (a higher id, so newer in (at, id) order), and an edit.
        html = article_html("A later story about the compound", GONE)
        h.record(built.runtime, h.exchange("https://daily.example/news/later/", html, at=hours(30)))
        h.record(
            built.runtime, h.exchange("https://daily.example/news/same-time/", html, at=boundary_at)
        )
        cursor = first["next_cursor"]
        while cursor:
            page = client.get("/api/changes", params={"limit": 4, "cursor": cursor}).json()
            got += [c["id"] for c in page["data"]]
            # More arrive between every two pages.
            h.record(
                built.runtime,
                h.exchange(
                    "https://daily.example/news/later/",
                    html.replace("denied", f"rejected for the {len(got)}th time"),
                    at=hours(31 + len(got)),
                ),
            )
            cursor = page["next_cursor"]
        assert len(got) == len(set(got)), "an event was repeated"
        assert sorted(got) == sorted(before), "an event was skipped (or a newer one leaked in)"
        with built.runtime.sessions() as s:
            after = [e.id for e in s.scalars(select(ChangeEvent))]
        assert len(after) >= len(before) + 4  # the newcomers exist; the reader saw none
        head = client.get("/api/changes", params={"limit": 100}).json()["data"]
        assert sorted(c["id"] for c in head) == sorted(after)
    finally:
        built.close()


# -- sources and captures ----------------------------------------------------------------------


def test_sources_with_counts_last_crawl_and_error(client: TestClient) -> None:
    body = client.get("/api/sources").json()
    assert body["count"] == 2
    by_name = {s["name"]: s for s in body["data"]}
    daily, km = by_name["daily"], by_name["khmer-news"]
    assert (daily["articles"], daily["edited"], daily["removed"], daily["unreachable"]) == (
        3,
        1,
        1,
        1,
    )
    assert (km["articles"], km["edited"], km["removed"]) == (2, 1, 1)
    assert km["languages"] == ["km"] and km["last_crawl"].startswith("2026-03-01T13:00")
    assert "timeout" in km["last_error"] and daily["last_error"] is None


def test_capture_metadata(client: TestClient, built: Built) -> None:
    body = client.get(f"/api/captures/{built.captures['raid_v1']}").json()
    assert body["article_id"] == built.ids["raid"] and body["status"] == 200
    assert body["outcome"] == "new" and body["version_n"] == 1 and body["warc_type"] == "response"
    assert body["raw_url"] == f"/api/captures/{built.captures['raid_v1']}/raw"
    assert len(body["chain_hash"]) == 64 and body["payload_length"] == len(built.raw["raid_v1"])
    failed = client.get(f"/api/captures/{built.captures['raid_failed']}").json()
    assert failed["error"] == "dns" and failed["raw_url"] is None


def test_raw_capture_is_a_download_that_never_renders(client: TestClient, built: Built) -> None:
    response = client.get(f"/api/captures/{built.captures['hostile_v1']}/raw")
    assert response.status_code == 200
    assert response.content == built.raw["hostile_v1"]
    headers = response.headers
    assert headers["content-type"] == "application/octet-stream"
    assert headers["content-disposition"].startswith("attachment;")
    assert headers["content-security-policy"] == "sandbox"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-archived-content-type"].startswith("text/html")
    assert len(headers["x-payload-sha256"]) == 64
    # A revisit record has no body of its own: the bytes come from the record it cites.
    revisit = client.get(f"/api/captures/{built.captures['raid_revisit']}/raw")
    assert revisit.content == built.raw["raid_v1"]
    failed = client.get(f"/api/captures/{built.captures['raid_failed']}/raw")
    assert failed.status_code == 404 and "kept no bytes" in detail_of(failed)


# -- health -----------------------------------------------------------------------------------


def test_health_and_readiness(client: TestClient, built: Built, tmp_path: Path) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ok" and ready["database"]["ok"] and ready["search"]["ok"]

    class Sick(SqliteFtsBackend):
        def health(self) -> BackendHealth:
            return BackendHealth("sqlite", False, "index file is locked")

    sick = create_app(
        built.runtime.settings,
        sessions=built.runtime.sessions,
        backend=Sick(built.runtime.settings.search_index_path),
    )
    response = TestClient(sick).get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable" and "locked" in response.json()["detail"]

    # A data dir nobody initialized: the process is up, the archive is not ready.
    empty = create_app(Settings(data_dir=tmp_path / "empty"))
    with TestClient(empty) as c:
        assert c.get("/healthz").status_code == 200
        response = c.get("/readyz")
        assert response.status_code == 503 and "presswatch init" in response.json()["detail"]


# -- admin ------------------------------------------------------------------------------------


def test_admin_is_disabled_without_a_configured_key(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d")
    Runtime(settings).init()
    c = TestClient(create_app(settings))
    for method, path in (("post", "/api/admin/recheck"), ("post", "/api/admin/sources")):
        response = c.request(method, path, json={}, headers={"X-API-Key": "anything"})
        assert response.status_code == 403 and "PRESSWATCH_API_KEY" in detail_of(response)


@pytest.mark.parametrize("key", [None, "wrong", "s3cret-key-for-test", "ключ", API_KEY + " "])
def test_admin_refuses_a_missing_or_wrong_key(client: TestClient, key: str | None) -> None:
    headers = {"X-API-Key": key.encode()} if key else {}
    response = client.post("/api/admin/recheck", json={"url": RAID_URL}, headers=headers)
    assert response.status_code == 401 and "X-API-Key" in detail_of(response)


def test_admin_adds_updates_and_disables_a_source(tmp_path: Path) -> None:
    built = build_archive(tmp_path / "data")
    try:
        c = TestClient(make_app(built), headers={"X-API-Key": API_KEY})
        new = {
            "name": "vod-english",
            "base_url": "https://vodenglish.news/",
            "languages": ["en"],
            "feeds": ["https://vodenglish.news/feed/"],
            "article_url_pattern": r"^https://vodenglish\.news/[a-z0-9-]+/$",
        }
        created = c.post("/api/admin/sources", json=new)
        assert created.status_code == 201, created.text
        assert created.json()["name"] == "vod-english" and created.json()["enabled"] is True
        assert c.post("/api/admin/sources", json=new).status_code == 409
        bad = c.post("/api/admin/sources", json={**new, "name": "x", "article_url_pattern": "(["})
        assert bad.status_code == 400 and "regular expression" in detail_of(bad)
        relative = c.post("/api/admin/sources", json={**new, "name": "y", "base_url": "vod.news/x"})
        assert relative.status_code == 422 and "base_url" in detail_of(relative)
        spaced = c.post("/api/admin/sources", json={**new, "name": "y", "base_url": "https://a b/"})
        assert spaced.status_code == 400 and "no spaces" in detail_of(spaced)
        hostless = c.post("/api/admin/sources", json={**new, "name": "z", "feeds": ["https:///f"]})
        assert hostless.status_code == 400 and "has no host" in detail_of(hostless)

        patched = c.patch(
            "/api/admin/sources/vod-english",
            json={"languages": ["en", "km"], "topic": "trafficking", "render": True},
        )
        assert patched.status_code == 200 and patched.json()["languages"] == ["en", "km"]
        assert c.patch("/api/admin/sources/vod-english", json={"render": "yes"}).status_code == 422
        assert c.post("/api/admin/sources/vod-english/disable").json()["enabled"] is False
        assert c.patch("/api/admin/sources/nope", json={}).status_code == 404
        with built.runtime.sessions() as s:
            row = s.scalars(select(Source).where(Source.name == "vod-english")).one()
            assert row.enabled is False and row.config.topic == "trafficking"
            assert row.config.render is True  # fetched through the browser from now on
            assert row.config.feeds == ("https://vodenglish.news/feed/",)
            assert row.config.owner is SourceOwner.API  # so `presswatch crawl` picks it up
            # A source of sources.toml belongs to the file: the API says so (409).
            s.add(
                Source(
                    name="from-toml",
                    base_url="https://t.example/",
                    languages=[],
                    config=SourceOptions(owner=SourceOwner.FILE),
                    enabled=True,
                    created_at=row.created_at,
                )
            )
            s.commit()
        listed = {s["name"]: s for s in c.get("/api/sources").json()["data"]}
        assert listed["vod-english"]["enabled"] is False
        owned = c.patch("/api/admin/sources/from-toml", json={"languages": ["km"]})
        assert owned.status_code == 409 and "sources.toml" in detail_of(owned)
        assert c.post("/api/admin/sources/from-toml/disable").status_code == 409
    finally:
        built.close()


def test_admin_recheck_queues_the_article_for_the_next_recheck(tmp_path: Path) -> None:
    built = build_archive(tmp_path / "data")
    try:
        c = TestClient(make_app(built), headers={"X-API-Key": API_KEY})
        with built.runtime.sessions.begin() as s:
            s.get(Article, built.ids["km_edited"]).next_check = NOW + timedelta(days=3)  # type: ignore[union-attr]
        response = c.post("/api/admin/recheck", json={"url": KM_EDITED_URL + "?utm_medium=x"})
        assert response.status_code == 202, response.text
        assert response.json()["article_id"] == built.ids["km_edited"]
        with built.runtime.sessions() as s:
            assert s.get(Article, built.ids["km_edited"]).next_check == NOW  # type: ignore[union-attr]
        unknown = c.post("/api/admin/recheck", json={"url": "https://daily.example/never/"})
        assert unknown.status_code == 404 and "presswatch crawl" in detail_of(unknown)
        assert c.post("/api/admin/recheck", json={"url": "ftp://x.example/a"}).status_code == 422
        assert c.post("/api/admin/recheck", json={"url": "http:///nohost"}).status_code == 400
        assert c.post("/api/admin/recheck", json={"nope": 1}).status_code == 422
        assert c.post("/api/admin/recheck", content=b"{not json").status_code == 422
    finally:
        built.close()


# -- pages ------------------------------------------------------------------------------------


def test_search_page_shows_facets_badges_and_highlights(client: TestClient, built: Built) -> None:
    page = client.get("/", params={"q": "casino"})
    assert page.status_code == 200
    assert "only in removed text" in page.text and "<mark>casino</mark>" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    listing = client.get("/", params={"status": "removed"}).text
    assert listing.count('class="pw-hit pw-hit-removed"') == 2
    assert 'href="/?status=removed&amp;source=khmer-news"' in listing
    km = client.get("/", params={"q": h.KM_SEARCH_WORD}).text
    assert re.search(r'<p class="pw-snippet" lang="km" dir="auto">', km)
    error = client.get("/", params={"q": "-only"})
    assert error.status_code == 400 and "only excludes" in error.text
    found = client.get("/", params={"q": RAID_URL}).text
    assert "This URL is archived" in found


def test_article_page_timeline_events_and_links(client: TestClient, built: Built) -> None:
    aid = built.ids["gone"]
    page = client.get(f"/articles/{aid}").text
    assert "http_404" in page and "pw-status-removed" in page
    assert page.count('<tr class="pw-outcome-') == 3
    assert f'href="/articles/{aid}/versions/1"' in page
    assert "/api/captures/" in page and "/raw" in page
    km = client.get(f"/articles/{built.ids['km_edited']}").text
    assert re.search(r'<h1 lang="km" dir="auto">', km)
    assert f"/articles/{built.ids['km_edited']}/diff?from=1&amp;to=2" in km


def test_version_and_diff_pages(client: TestClient, built: Built) -> None:
    aid = built.ids["raid"]
    version = client.get(f"/articles/{aid}/versions/1").text
    assert "behind a casino" in version and 'class="pw-text" lang="en"' in version
    side = client.get(f"/articles/{aid}/diff", params={"from": "1", "to": "2"}).text
    assert "pw-side-by-side" in side and "pw-diff-meta" in side
    assert side.index("pw-diff-meta") < side.index("pw-diff-body")
    assert '<option value="1" selected>' in side and '<option value="2" selected>' in side
    inline = client.get(f"/articles/{aid}/diff", params={"view": "inline"}).text
    assert 'class="pw-inline"' in inline and "pw-side-by-side" not in inline
    missing = client.get(f"/articles/{aid}/versions/5")
    assert missing.status_code == 404 and "<h1>Not found</h1>" in missing.text


def test_changes_and_sources_pages(client: TestClient, built: Built) -> None:
    page = client.get("/changes", params={"kind": "removed"}).text
    assert page.count('<li class="pw-change') == 2 and "http_410" in page
    assert 'href="/feeds/changes.atom?kind=removed"' in page
    bad = client.get("/changes", params={"kind": "nonsense"})
    assert bad.status_code == 400 and "use one of" in bad.text
    sources = client.get("/sources").text
    assert "khmer-news" in sources and "timeout after 30 s" in sources


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    path=st.sampled_from(
        ["/", "/changes", "/sources", "/articles/1", "/articles/1/diff", "/lookup"]
    ),
    params=st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "q",
                    "page",
                    "from",
                    "to",
                    "since",
                    "kind",
                    "cursor",
                    "view",
                    "url",
                    "status",
                    "sort",
                ]
            ),
            st.text(max_size=60),
        ),
        max_size=4,
    ),
)
def test_pages_never_fail_on_any_query_string(
    client: TestClient, path: str, params: list[tuple[str, str]]
) -> None:
    response = client.get(path, params=params)
    assert response.status_code < 500, (path, params, response.text[:300])


def test_every_page_is_phone_ready_and_escapes_archived_text(
    client: TestClient, built: Built
) -> None:
    aid = built.ids["hostile"]
    for path in (
        "/",
        f"/articles/{aid}",
        f"/articles/{aid}/versions/1",
        f"/articles/{aid}/diff",
        "/changes",
        "/sources",
    ):
        html = client.get(path).text
        assert '<meta name="viewport"' in html, path
        assert "<script" not in html.lower(), path
        assert "<b>Bold" not in html, path


def test_serve_runs_uvicorn_with_the_app(
    built: Built, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import uvicorn
    from typer.testing import CliRunner

    from presswatch.cli import app
    from presswatch.commands import serve

    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda target, **kw: calls.append((target, kw)))
    # The command writes the data dir into the environment; monkeypatch puts it back.
    monkeypatch.setenv("PRESSWATCH_DATA_DIR", "unused")
    monkeypatch.setenv("PRESSWATCH_PUBLIC_URL", "")  # and the workers' link base
    data_dir = str(built.runtime.settings.data_dir)
    result = CliRunner().invoke(app, ["--data-dir", data_dir, "serve", "--port", "8123"])
    assert result.exit_code == 0, result.output
    target, kw = calls.pop()
    assert isinstance(target, FastAPI)
    assert (kw["host"], kw["port"], kw["server_header"]) == ("127.0.0.1", 8123, False)

    # Several workers: each builds its app from the environment the command set up.
    result = CliRunner().invoke(app, ["--data-dir", data_dir, "serve", "--workers", "2"])
    assert result.exit_code == 0, result.output
    target, kw = calls.pop()
    assert target == "presswatch.commands.serve:web_app"
    assert kw["factory"] is True and kw["workers"] == 2
    assert os.environ["PRESSWATCH_DATA_DIR"] == data_dir
    assert os.environ["PRESSWATCH_PUBLIC_URL"] == "http://127.0.0.1:8000"  # where it listens
    with TestClient(serve.web_app()) as c:
        assert c.get("/readyz").json()["status"] == "ok"

    uninitialized = CliRunner().invoke(app, ["--data-dir", str(tmp_path / "none"), "serve"])
    assert uninitialized.exit_code == 2 and "presswatch init" in uninitialized.output


def test_quoted_paths_in_links(client: TestClient) -> None:
    # Source names come from operators, but reach hrefs only url-encoded.
    assert quote("khmer-news") in client.get("/sources").text


@pytest.mark.postgres
def test_the_api_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    """The same routes on an archive in PostgreSQL (ids, keyset cursors, JSON columns,
    time zones and the readiness probe behave as on SQLite)."""
    built = build_archive(tmp_path / "data", database_url=pg_url)
    try:
        c = TestClient(make_app(built), headers={"X-API-Key": API_KEY})
        assert c.get("/readyz").json()["database"]["detail"].startswith("postgresql")
        ids = []
        cursor = None
        while True:
            body = c.get(
                "/api/articles", params={"limit": 2, **({"cursor": cursor} if cursor else {})}
            ).json()
            ids += [a["id"] for a in body["data"]]
            cursor = body["next_cursor"]
            if not cursor:
                break
        assert sorted(ids) == sorted(built.ids.values())
        changes, cursor = [], None
        while True:
            body = c.get(
                "/api/changes", params={"limit": 3, **({"cursor": cursor} if cursor else {})}
            ).json()
            changes += [ch["id"] for ch in body["data"]]
            cursor = body["next_cursor"]
            if not cursor:
                break
        with built.runtime.sessions() as s:
            every = sorted(s.scalars(select(ChangeEvent.id)))
        assert len(changes) == len(set(changes)) and sorted(changes) == every
        aid = built.ids["raid"]
        assert c.get(f"/api/articles/{aid}").json()["article"]["versions"] == 2
        assert c.get(f"/api/articles/{aid}/diff").json()["changed"] == ["title", "body"]
        assert (
            c.get("/api/lookup", params={"url": RAID_URL + "?utm_source=x"}).json()["article"]["id"]
            == aid
        )
        raw = c.get(f"/api/captures/{built.captures['raid_revisit']}/raw")
        assert raw.content == built.raw["raid_v1"]
        assert c.get("/api/sources").json()["count"] == 2
        assert c.get("/api/articles/2147483647").status_code == 404
        assert c.get("/api/captures/9223372036854775807").status_code == 404
        assert (
            c.get("/api/changes", params={"since": "0001-01-01T00:00:00+14:00"}).status_code == 200
        )
        assert c.post("/api/admin/recheck", json={"url": KM_EDITED_URL}).status_code == 202
        for path in ("/", f"/articles/{aid}", f"/articles/{aid}/diff", "/changes", "/sources"):
            assert c.get(path).status_code == 200, path
        assert c.get("/feeds/changes.atom").status_code == 200
    finally:
        built.close()


def test_api_docs_page_works_offline(tmp_path: Path) -> None:
    built = build_archive(tmp_path / "data")
    try:
        page = TestClient(make_app(built)).get("/api/docs")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "GET /api/search" in page.text and "/api/openapi.json" in page.text
        assert "cdn" not in page.text.lower()  # nothing to fetch from elsewhere
    finally:
        built.close()


def test_admin_refuses_values_of_the_wrong_type(built: Built) -> None:
    """Schemathesis found `"enabled": "T"` accepted as true: admin bodies are strict."""
    client = TestClient(make_app(built), headers={"X-API-Key": API_KEY})
    new = {"name": "strict", "base_url": "https://strict.example/", "enabled": "T"}
    assert client.post("/api/admin/sources", json=new).status_code == 422
    assert client.post("/api/admin/sources", json={**new, "enabled": False}).status_code == 201


def test_pages_say_removal_signs_and_outcomes_in_words_and_times_to_the_second(
    client: TestClient, built: Built
) -> None:
    """Raw values (`http_404`, `removal_pending`) once showed on the pages, and times
    to the minute made two fetches a minute apart look like one."""
    page = client.get(f"/articles/{built.ids['gone']}").text
    assert '<span title="http_404">404 not found</span>' in page
    assert '<span title="removal_pending">removal pending</span>' in page
    assert ">http_404<" not in page and ">removal_pending<" not in page
    times = re.findall(r"<time [^>]*>([^<]*)</time>", page)
    assert times and all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", t) for t in times)


def test_the_feed_link_leads_to_a_page_a_browser_can_show(client: TestClient) -> None:
    """A browser shows an Atom feed as raw XML: the visible link leads to a page giving
    the feed's address for a feed reader; the pages still name the feed itself."""
    changes = client.get("/changes", params={"kind": "removed"}).text
    assert '<a class="pw-feed" href="/subscribe?kind=removed">' in changes
    assert (
        'type="application/atom+xml" title="These changes as a feed" href="/feeds/changes.atom?kind=removed"'
        in changes
    )  # noqa: E501
    page = client.get("/subscribe", params={"kind": "removed"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'value="/feeds/changes.atom?kind=removed"' in page.text
    assert "feed reader" in page.text
