"""Saving a page now: `presswatch save URL`, the editors' form and `POST /api/save`.

The real command against the local news site (tests/site_server.py) records the page,
watches it and seals the save in the transparency log; an address the egress policy
refuses records nothing (the attack: making the server fetch an internal address); a
viewer cannot save, the form needs its CSRF token, the hourly quota answers 429; the
audit page and API list the save; each search result can go into a case.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from archive.accounts import API_KEY, Actor, Role, create_account, create_token, record_save
from archive.errors import BadInput
from archive.log import verify_archive
from archive.store import Article, AuditEntry, Capture, CaseArticle
from presswatch.demo.content import DEMO_ARTICLES
from presswatch.runtime import Runtime
from presswatch.save_runner import command_saver
from presswatch.saving import check_address, choose_source
from presswatch.settings import Settings
from presswatch.sources import load_sources
from search_api.app import create_app
from search_api.backends.sqlite_fts import SqliteFtsBackend
from search_api.indexer import drain_outbox
from tests import archive_helpers as h
from tests.site_server import NewsSite, cli, cli_env, write_sources

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
PASSWORDS = {"ana": "ana's long password", "ed": "ed's long password!", "vi": "vi's password 123"}
STORY = "https://news.example/story/1/"


def _accounts(rt: Runtime) -> dict[str, str]:
    tokens = {}
    with rt.sessions.begin() as s:
        for name, role in (("ana", "admin"), ("ed", "editor"), ("vi", "viewer")):
            create_account(s, API_KEY, name, role, PASSWORDS[name], now=NOW)
            tokens[name] = create_token(s, API_KEY, name, "tests", now=NOW).token
    return tokens


def _audit(rt: Runtime, action: str = "page.save") -> list[AuditEntry]:
    with rt.sessions() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _count(rt: Runtime, model: Any) -> int:
    with rt.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def sign_in(client: TestClient, name: str) -> str:
    """Sign in; the session's CSRF token (from a page only a signed-in person sees)."""
    token = csrf_of(client.get("/signin").text)
    response = client.post(
        "/signin",
        data={"name": name, "password": PASSWORDS[name], "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/cases").text)


# -- the command, against the local site ----------------------------------------------------


@pytest.fixture
def site() -> Iterator[NewsSite]:
    with NewsSite(articles=DEMO_ARTICLES[:2]) as running:
        yield running


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Runtime]:
    rt = Runtime(Settings(data_dir=tmp_path / "data"))
    rt.init()
    yield rt
    rt.close()


def test_save_records_the_page_watches_it_and_seals_the_save(
    site: NewsSite, archive: Runtime, tmp_path: Path
) -> None:
    _accounts(archive)
    sources = write_sources(tmp_path / "sources.toml", site)
    url = site.url_of(DEMO_ARTICLES[0].slug)
    data = archive.settings.data_dir
    result = cli(data, sources, "save", url, "--note", "for the Bavet case", "--as", "ed", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["ok"] and doc["source"] == "ledger" and doc["outcome"] == "new"
    assert doc["status"] == "live" and doc["versions"] == 1 and doc["next_check"]
    with archive.sessions() as s:
        article = s.get(Article, doc["article_id"])
        assert article is not None and article.next_check is not None  # watched from now on
    (entry,) = _audit(archive)
    assert entry.actor == "ed" and entry.seq - 1 == doc["audit_leaf_index"]
    assert entry.detail == {
        "url": url,
        "note": "for the Bavet case",
        "capture_id": doc["capture_id"],
    }

    # An address of the source that gives no article (a 404): the fetch is kept like
    # any fetch, and the save says so and exits 1; without --as it is the server's user.
    gone = f"{site.base_url}en/2026/01/no-such-story/"
    failed = cli(data, sources, "save", gone)
    assert failed.returncode == 1
    assert f"presswatch save: {gone} gave no article (" in failed.stderr
    assert "HTTP 404" in failed.stderr
    assert [e.actor.startswith("cli:") for e in _audit(archive)] == [False, True]

    # The log, audit leaves included, checks out (what `presswatch verify` runs).
    with archive.sessions() as s:
        report = verify_archive(s, archive.warc)
    assert report.ok, report.problems


@pytest.mark.parametrize(
    "internal",
    [
        "http://127.0.0.2:9/latest/meta-data/",
        "http://2130706434/latest/meta-data/",  # 127.0.0.2 as one number
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:9/",
        "http://10.0.0.1/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_FLUSHALL",
    ],
)
def test_addresses_the_egress_policy_refuses(internal: str) -> None:
    with pytest.raises(BadInput, match=r"^not saved: "):
        check_address(internal, ["127.0.0.1/32"])


def test_an_internal_address_is_never_fetched_nor_recorded(
    site: NewsSite, archive: Runtime, tmp_path: Path
) -> None:
    """The attack: an editor (or a stolen token) asks the server to fetch an internal
    address. 127.0.0.2 stands for the metadata service (tests/test_egress.py); the tests
    allow only 127.0.0.1/32, the local site."""
    sources = write_sources(tmp_path / "sources.toml", site)
    data = archive.settings.data_dir
    internal = "http://127.0.0.2:9/latest/meta-data/"
    result = cli(data, sources, "save", internal, "--source", "ledger", "--json")
    assert result.returncode == 2, result.stdout + result.stderr
    doc = json.loads(result.stdout)
    assert doc["ok"] is False and doc["kind"] == "refused"
    assert doc["error"] == (
        f"not saved: {internal}: 127.0.0.2 is a loopback address; add its network to "
        "allow_networks (env PRESSWATCH_ALLOW_NETWORKS) to allow it"
    )
    assert _count(archive, Capture) == 0 and _audit(archive) == []
    assert not site.log  # nothing was sent anywhere, not even robots.txt


def test_the_command_keeps_the_hourly_quota_too(
    site: NewsSite, archive: Runtime, tmp_path: Path
) -> None:
    _accounts(archive)
    with archive.sessions.begin() as s:
        ed = Actor("ed", Role.EDITOR)
        record_save(s, ed, STORY, article_id=None, capture_id=None, note="", now=datetime.now(UTC))
    sources = write_sources(tmp_path / "sources.toml", site)
    url = site.url_of(DEMO_ARTICLES[0].slug)
    result = cli(
        archive.settings.data_dir, sources, "save", url, "--as", "ed", env=cli_env(save_per_hour=1)
    )
    assert result.returncode == 1
    assert (
        "ed saved 1 pages in the last hour, the most allowed (save_per_hour = 1)" in result.stderr
    )
    assert not site.log and _count(archive, Capture) == 0


def test_the_source_is_the_one_named_or_the_one_on_the_address(
    site: NewsSite, tmp_path: Path
) -> None:
    sources = load_sources(
        write_sources(tmp_path / "sources.toml", site), allow_networks=["127.0.0.1/32"]
    )
    url = site.url_of(DEMO_ARTICLES[0].slug)
    assert choose_source(sources, url, None).name == "ledger"
    assert choose_source(sources, "https://elsewhere.example/x", "ledger").name == "ledger"
    with pytest.raises(BadInput, match="pass --source NAME, or add the outlet to sources.toml"):
        choose_source(sources, "https://no-such-outlet.example/story/", None)
    with pytest.raises(BadInput, match=r"--source 'nope': no such source \(known: ledger\)"):
        choose_source(sources, url, "nope")


def test_the_form_saves_through_the_real_command_and_the_audit_page_shows_it(
    site: NewsSite, archive: Runtime, tmp_path: Path
) -> None:
    _accounts(archive)
    sources = write_sources(tmp_path / "sources.toml", site)
    settings = archive.settings.model_copy(update={"sources": sources})
    app = create_app(
        settings,
        sessions=archive.sessions,
        warc=archive.warc,
        backend=SqliteFtsBackend(settings.search_index_path),
        saver=command_saver(settings, env=cli_env()),
    )
    url = site.url_of(DEMO_ARTICLES[0].slug)
    with TestClient(app, base_url="https://testserver") as c:
        csrf = sign_in(c, "ed")
        page = c.get("/save")
        assert page.status_code == 200 and 'action="/save"' in page.text
        response = c.post("/save", data={"url": url, "note": "tip", "csrf_token": csrf})
        assert response.status_code == 200, response.text
        assert f"Saved {url} under ledger." in response.text
        audit = c.get("/audit").text
        assert "page.save" in audit and url in audit and "tip" in audit
    (entry,) = _audit(archive)
    assert entry.actor == "ed"


# -- the web pages and the API, with a stand-in saver -----------------------------------------


@dataclass
class Desk:
    runtime: Runtime
    tokens: dict[str, str]
    article_id: int
    saved: list[tuple[str, str | None, str, str]] = field(default_factory=list)

    def saver(self, url: str, source: str | None, note: str, actor: str) -> dict[str, Any]:
        self.saved.append((url, source, note, actor))
        if "internal" in url:
            return {"ok": False, "kind": "refused", "error": f"not saved: {url}: refused"}
        return {
            "ok": True, "url": url, "source": "news", "capture_id": 9, "outcome": "new",
            "http_status": 200, "article_id": self.article_id, "status": "live",
            "versions": 1, "next_check": NOW.isoformat(), "audit_leaf_index": 4,
            "rendered": False,
        }  # fmt: skip

    def client(self, **settings: Any) -> TestClient:
        merged = self.runtime.settings.model_copy(update=settings)
        app = create_app(
            merged,
            sessions=self.runtime.sessions,
            warc=self.runtime.warc,
            backend=SqliteFtsBackend(merged.search_index_path),
            clock=lambda: NOW,
            saver=self.saver,
        )
        return TestClient(app, base_url="https://testserver")


@pytest.fixture
def desk(tmp_path: Path, at: Any) -> Iterator[Desk]:
    rt = Runtime(Settings(data_dir=tmp_path / "data", api_key="key-for-cron-0123456789"))
    rt.init()
    result = h.record(rt, h.exchange(STORY, h.en_story(STORY).html, at=at(0)))
    assert result.article_id is not None
    drain_outbox(rt.sessions, SqliteFtsBackend(rt.settings.search_index_path))
    yield Desk(rt, _accounts(rt), result.article_id)
    rt.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_viewer_cannot_save(desk: Desk) -> None:
    with desk.client() as c:
        csrf = sign_in(c, "vi")
        assert c.get("/save").status_code == 403
        form = c.post("/save", data={"url": STORY, "csrf_token": csrf})
        assert form.status_code == 403 and "this needs the editor role" in form.text
        api = c.post("/api/save", json={"url": STORY}, headers=bearer(desk.tokens["vi"]))
        assert api.status_code == 403
    with desk.client() as anonymous:
        assert anonymous.post("/api/save", json={"url": STORY}).status_code == 401
    assert desk.saved == []


def test_the_form_needs_its_csrf_token(desk: Desk) -> None:
    with desk.client() as c:
        sign_in(c, "ed")
        missing = c.post("/save", data={"url": STORY})
        assert missing.status_code in (403, 422)
        forged = c.post("/save", data={"url": STORY, "csrf_token": "x" * 43})
        assert forged.status_code == 403 and "reload the page and retry" in forged.text
        # The API takes a token, never the browser's session cookie.
        assert c.post("/api/save", json={"url": STORY}).status_code == 401
    assert desk.saved == []


def test_editors_save_by_form_and_api_and_failures_are_answered(desk: Desk) -> None:
    with desk.client() as c:
        csrf = sign_in(c, "ed")
        assert "Save a page" in c.get("/").text
        page = c.post("/save", data={"url": STORY, "note": "lead", "csrf_token": csrf})
        assert page.status_code == 200 and f"Saved {STORY} under news." in page.text
        refused = c.post("/save", data={"url": "http://internal/", "csrf_token": csrf})
        assert refused.status_code == 400 and "not saved: http://internal/" in refused.text
    with desk.client() as c:
        api = c.post(
            "/api/save", json={"url": STORY, "source": "news"}, headers=bearer(desk.tokens["ed"])
        )
        assert api.status_code == 201 and api.json()["article_id"] == desk.article_id
        key = c.post(
            "/api/save", json={"url": STORY}, headers={"X-API-Key": "key-for-cron-0123456789"}
        )
        assert key.status_code == 201
    assert desk.saved == [
        (STORY, None, "lead", "ed"),
        ("http://internal/", None, "", "ed"),
        (STORY, "news", "", "ed"),
        (STORY, None, "", "api-key"),
    ]


def test_the_hourly_quota_answers_429(desk: Desk) -> None:
    with desk.runtime.sessions.begin() as s:
        ed = Actor("ed", Role.EDITOR)
        for minutes in (90, 50, 10):  # the first is outside the hour
            record_save(
                s, ed, STORY, article_id=None, capture_id=None, note="",
                now=NOW - timedelta(minutes=minutes),
            )  # fmt: skip
    with desk.client(save_per_hour=2) as c:
        csrf = sign_in(c, "ed")
        form = c.post("/save", data={"url": STORY, "csrf_token": csrf})
        assert form.status_code == 429 and "save_per_hour = 2" in form.text
        api = c.post("/api/save", json={"url": STORY}, headers=bearer(desk.tokens["ed"]))
        assert api.status_code == 429 and "try again later" in api.json()["detail"]
        # Another person's quota is their own.
        other = c.post("/api/save", json={"url": STORY}, headers=bearer(desk.tokens["ana"]))
        assert other.status_code == 201
    with desk.client(save_per_hour=3) as c:
        assert c.post(
            "/api/save", json={"url": STORY}, headers=bearer(desk.tokens["ed"])
        ).is_success
    assert [who for *_, who in desk.saved] == ["ana", "ed"]


def test_audit_page_and_api_list_entries_newest_first_with_their_leaf(desk: Desk) -> None:
    with desk.runtime.sessions.begin() as s:
        ed = Actor("ed", Role.EDITOR)
        record_save(s, ed, STORY, article_id=desk.article_id, capture_id=1, note="n", now=NOW)
    with desk.client() as c:
        assert c.get("/api/audit", headers=bearer(desk.tokens["vi"])).status_code == 403
        assert c.get("/api/audit").status_code == 401
        doc = c.get("/api/audit", headers=bearer(desk.tokens["ed"])).json()
        first = doc["data"][0]
        assert first["action"] == "page.save" and first["actor"] == "ed"
        assert first["leaf_index"] == first["seq"] - 1 and first["detail"]["url"] == STORY
        seqs = [e["seq"] for e in doc["data"]]
        assert seqs == sorted(seqs, reverse=True) and doc["total"] == len(seqs) > 3
        paged = c.get("/api/audit?limit=2&offset=1", headers=bearer(desk.tokens["ed"])).json()
        assert [e["seq"] for e in paged["data"]] == seqs[1:3] and paged["count"] == 2
        sign_in(c, "ed")
        page = c.get("/audit")
        assert page.status_code == 200 and "page.save" in page.text
        assert f'<a href="/articles/{desk.article_id}">article {desk.article_id}</a>' in page.text


def test_each_search_result_can_be_added_to_a_case_by_an_editor(desk: Desk) -> None:
    with desk.client() as c:
        assert "Add to case" not in c.get("/?q=trafficking").text  # nobody signed in
        sign_in(c, "vi")
        assert "Add to case" not in c.get("/?q=trafficking").text
    with desk.client() as c:
        sign_in(c, "ed")
        results = c.get("/").text
        assert 'class="pw-form pw-add-to-case"' in results, results
        assert f'name="article_id" value="{desk.article_id}"' in results
        response = c.post(
            "/cases/add",
            data={
                "case": "bavet",
                "article_id": str(desk.article_id),
                "csrf_token": csrf_of(results),
            },
            follow_redirects=False,
        )
        assert response.status_code == 303 and response.headers["location"] == "/cases/bavet"
    with desk.runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(CaseArticle)) == 1


def test_the_web_saver_never_reads_typed_text_as_an_option(
    archive: Runtime, tmp_path: Path
) -> None:
    """An editor types `--as=ana` as the address to save in an admin's name: the
    command gets it after `--`, as the address, and refuses it as one."""
    _accounts(archive)
    sources = tmp_path / "sources.toml"
    sources.write_text('[[source]]\nname = "news"\nbase_url = "https://news.example/"\n')
    settings = archive.settings.model_copy(update={"sources": sources})
    save = command_saver(settings, env=cli_env())
    doc = save("--as=ana", None, "--json", "ed")
    assert doc["ok"] is False and doc["kind"] == "refused", doc
    assert "'--as=ana' uses no scheme" in doc["error"]
    assert _audit(archive) == []
