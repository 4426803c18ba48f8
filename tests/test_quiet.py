"""Quiet, linear, configured (issue 12, part 6): what cron, a hostile outlet and a
forged Host header can and cannot do.

- A site without robots.txt (404, 410) is crawled and `run` says nothing (the cron
  contract: exit 0, empty stdout and stderr); a robots.txt that answers 5xx stops the
  host for now and is reported once, however many of its URLs were refused.
- `article_url_pattern` runs on RE2: the compiled pattern is an RE2 object (no
  backtracking, so `(\\w+)+/$` cannot stall on a long URL), and what RE2 cannot run
  (backreferences, lookaround) is refused where it is configured: sources.toml (exit 2,
  file:line) and the admin API (400).
- Feed links come from PRESSWATCH_PUBLIC_URL, never from Host / X-Forwarded-Host,
  also behind uvicorn's proxy-headers middleware.
- No answer names a file: 503s and /readyz say what is wrong, the log says where.
"""

from __future__ import annotations

import json
import logging
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from archive.capture.detect import is_home_or_section
from archive.content import compile_url_pattern, url_pattern_problem
from archive.errors import ConfigError
from archive.store.models import Capture
from presswatch.demo.content import DEMO_ARTICLES
from presswatch.runtime import Runtime
from presswatch.settings import Settings, load_settings
from presswatch.sources import load_sources
from search_api.app import create_app
from search_api.backends.sqlite_fts import SqliteFtsBackend
from tests.api_archive import API_KEY, NOW, Built, build_archive
from tests.site_server import NewsSite, cli, cli_env, write_sources

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette asks for httpx2; httpx works the same.
    from fastapi.testclient import TestClient

ATOM = "{http://www.w3.org/2005/Atom}"
PATHOLOGICAL = r"(\w+)+/$"
# 100 characters that almost match: with `re` every way of splitting the a's into
# groups is tried before giving up (2**99 of them).
ALMOST = "http://127.0.0.1/" + "a" * 82 + "!"
LOOPBACK = {"ALLOW_NETWORKS": "127.0.0.1/32"}


def _env(**settings: Any) -> dict[str, str]:
    return cli_env(**LOOPBACK, **settings)


# -- robots.txt ----------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("status", [404, 410])
def test_run_is_silent_for_a_site_without_robots_txt(tmp_path: Path, status: int) -> None:
    with NewsSite(robots_status=status) as site:
        sources = write_sources(tmp_path / "sources.toml", site)
        data = tmp_path / "data"
        assert cli(data, sources, "init", env=_env()).returncode == 0
        result = cli(data, sources, "run", env=_env())
        assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
        # No robots.txt means everything is allowed (RFC 9309 2.3.1.3): articles were fetched.
        assert any(r.kind == "article" and r.status == 200 for r in site.log)


@pytest.mark.e2e
def test_unreadable_robots_txt_stops_the_host_and_is_reported_once(tmp_path: Path) -> None:
    with NewsSite() as site:
        sources = write_sources(tmp_path / "sources.toml", site)
        data = tmp_path / "data"
        # Made here rather than by `presswatch init`: a process start saved.
        made = Runtime(Settings(data_dir=data))
        made.init()
        made.close()
        first = cli(data, sources, "run", "--json", env=_env())
        assert first.returncode == 0, first.stderr
        archived = json.loads(first.stdout)["discovered"]
        assert archived > 3

        site.robots_status = 503
        site.clear_log()
        result = cli(data, sources, "run", "--json", env=_env())
        assert result.returncode == 1
        doc = json.loads(result.stdout)
        # One line for the host, not one per feed, sitemap or listing page refused.
        assert len(doc["problems"]) == 1, doc["problems"]
        (problem,) = doc["problems"]
        assert f"{site.base_url}robots.txt: robots_unavailable (HTTP 503)" in problem
        assert [line for line in result.stderr.splitlines() if "robots.txt" in line] == [
            f"  {problem}"
        ]
        # Rechecks refused for the same reason are captures, as any failed fetch of an
        # article is (unreachable, not a problem of the run: exit 0 as before).
        recheck = cli(data, sources, "recheck", "--all", "--json", env=_env())
        assert recheck.returncode == 0, recheck.stderr
        assert json.loads(recheck.stdout)["problems"] == []
        # Disallow all for now (RFC 9309 2.3.1.4): nothing but robots.txt was asked for.
        assert {r.path for r in site.log} == {"/robots.txt"}
        runtime = Runtime(Settings(data_dir=data))
        try:
            with runtime.sessions() as session:
                errors = session.scalars(
                    select(Capture.error).where(Capture.error.is_not(None))
                ).all()
        finally:
            runtime.close()
        assert errors.count("robots_unavailable") == archived


# -- URL patterns --------------------------------------------------------------------------


def test_url_patterns_are_compiled_by_re2_which_does_not_backtrack(tmp_path: Path) -> None:
    compiled = compile_url_pattern(PATHOLOGICAL)
    # The mechanism, not a stopwatch: an RE2 automaton, in linear time by construction.
    assert type(compiled).__module__.split(".")[0] == "re2"
    assert len(ALMOST) == 100 and compiled.search(ALMOST) is None
    assert compiled.search("http://127.0.0.1/en/story/") is not None
    # Everything that runs a source's pattern gets the same RE2 object.
    path = tmp_path / "sources.toml"
    path.write_text(
        f'[[source]]\nname = "x"\nbase_url = "http://127.0.0.1/"\n'
        f"article_url_pattern = '{PATHOLOGICAL}'\n",
        encoding="utf-8",
    )
    (source,) = load_sources(path).source
    assert source.article_regex is compiled
    assert is_home_or_section(ALMOST, "http://127.0.0.1/", PATHOLOGICAL) is True


@pytest.mark.parametrize(
    ("pattern", "feature"),
    [
        (r"^https://x\.news/(\w+)/\1/$", "backreference"),
        (r"^https://x\.news/(?P<y>\d+)/(?P=y)/$", "backreference"),
        (r"^https://x\.news/(?!tag/)[a-z-]+/$", "lookahead or lookbehind"),
        (r"^https://x\.news/(?<=/)[a-z-]+/$", "lookahead or lookbehind"),
        (r"^https://x\.news/[a-z-]+/\Z", r"\z or $"),
    ],
)
def test_patterns_re2_cannot_run_are_refused_with_what_to_write(pattern: str, feature: str) -> None:
    problem = url_pattern_problem(pattern)
    assert problem is not None and problem.unsupported and feature in problem.message
    with pytest.raises(ConfigError, match="RE2"):
        compile_url_pattern(pattern)


def test_sources_toml_with_a_backreference_is_a_config_error(tmp_path: Path) -> None:
    """Exit 2 from the command cron runs and from the check, with file:line and the fix."""
    path = tmp_path / "sources.toml"
    path.write_text(
        '[[source]]\nname = "x"\nbase_url = "https://x.news/"\n'
        "article_url_pattern = '^https://x\\.news/(\\w+)/\\1/$'\n",
        encoding="utf-8",
    )
    data = tmp_path / "data"
    assert cli(data, path, "init", env=_env()).returncode == 0
    for args in (("sources", "--check"), ("run",)):
        result = cli(data, path, *args, env=_env())
        assert result.returncode == 2, result.stderr
        assert f"{path}:4" in result.stderr and "backreference" in result.stderr
        assert "Traceback" not in result.stderr and "E0000" not in result.stderr


def test_the_admin_api_refuses_patterns_re2_cannot_run(built: Built) -> None:
    client = TestClient(app_of(built), headers={"X-API-Key": API_KEY})
    new = {"name": "lookaround", "base_url": "https://vodenglish.news/", "languages": ["en"]}
    refused = client.post(
        "/api/admin/sources",
        json={**new, "article_url_pattern": r"^https://vodenglish\.news/(?!tag/)[a-z-]+/$"},
    )
    assert refused.status_code == 400
    assert "lookahead" in refused.json()["detail"] and "RE2" in refused.json()["detail"]
    backref = client.post("/api/admin/sources", json={**new, "article_url_pattern": r"(a)\1"})
    assert backref.status_code == 400 and "backreference" in backref.json()["detail"]
    # A pathological but RE2-runnable pattern is accepted: it cannot stall anything.
    accepted = client.post("/api/admin/sources", json={**new, "article_url_pattern": PATHOLOGICAL})
    assert accepted.status_code == 201, accepted.text


@pytest.mark.e2e
def test_a_crawl_with_a_pathological_pattern_finishes(tmp_path: Path) -> None:
    """A listing page offers a 100-character URL that almost matches `(\\w+)+/$`; the
    crawl goes on to the real articles (with `re` it would spin on that one link)."""
    with NewsSite(articles=DEMO_ARTICLES[:3]) as site:
        article = site.live()[0]
        hostile = "/" + "a" * (99 - len(site.base_url)) + "!"
        page = f'<a href="{hostile}">x</a> <a href="{site.path_of(article.key)}">story</a>'

        def listing(handler: Any, head: bool) -> int:
            handler._text(200, f"<html><body>{page}</body></html>", head=head)
            return 200

        site.routes["/hostile/"] = listing
        sources = tmp_path / "sources.toml"
        sources.write_text(
            f'[[source]]\nname = "h"\nbase_url = "{site.base_url}"\n'
            f'listings = ["{site.base_url}hostile/"]\n'
            f"article_url_pattern = '{PATHOLOGICAL}'\n",
            encoding="utf-8",
        )
        assert len(site.base_url + hostile[1:]) == 100
        data = tmp_path / "data"
        assert cli(data, sources, "init", env=_env()).returncode == 0
        result = cli(data, sources, "crawl", "--json", env=_env())
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["discovered"] >= 1
        fetched = {r.path for r in site.log}
        assert "/hostile/" in fetched and site.path_of(article.key) in fetched
        assert hostile not in fetched


# -- public links --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    b = build_archive(tmp_path_factory.mktemp("quiet") / "data")
    yield b
    b.close()


def app_of(built: Built, **settings: Any) -> Any:
    base = built.runtime.settings
    return create_app(
        base.model_copy(update=settings) if settings else base,
        sessions=built.runtime.sessions,
        warc=built.runtime.warc,
        backend=built.backend,
        clock=lambda: NOW,
    )


FORGED = {
    "Host": "evil.example",
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-For": "203.0.113.9",
    "Forwarded": "host=evil.example;proto=https",
}


def hrefs(body: bytes) -> list[str]:
    root = ET.fromstring(body)
    return [link.attrib["href"] for link in root.iter(f"{ATOM}link")]


def test_feed_links_never_come_from_the_host_header(built: Built) -> None:
    response = TestClient(app_of(built)).get("/feeds/changes.atom", headers=FORGED)
    assert response.status_code == 200
    assert b"evil.example" not in response.content
    links = hrefs(response.content)
    ours = [h for h in links if not h.startswith("https://daily.example/")]
    ours = [h for h in ours if not h.startswith("https://khmer.example/")]
    # Unset PRESSWATCH_PUBLIC_URL: relative links (RFC 4287 4.2.7.1: an IRI reference).
    assert ours and all(h.startswith("/") and not h.startswith("//") for h in ours), ours
    assert "/feeds/changes.atom" in ours


def test_feed_links_start_with_the_public_url_setting(
    built: Built, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PRESSWATCH_PUBLIC_URL", "https://watch.example/presswatch/")
    settings = Settings(data_dir=built.runtime.settings.data_dir)
    assert settings.public_url == "https://watch.example/presswatch"
    app = app_of(built, public_url=settings.public_url)
    body = TestClient(app).get("/feeds/changes.atom", params={"kind": "removed"}, headers=FORGED)
    assert b"evil.example" not in body.content
    links = hrefs(body.content)
    assert "https://watch.example/presswatch/feeds/changes.atom?kind=removed" in links
    article_links = [h for h in links if "/articles/" in h]
    assert article_links and all(
        h.startswith("https://watch.example/presswatch/articles/") for h in article_links
    )
    with pytest.raises(ConfigError, match="public_url"):
        load_settings(data_dir=tmp_path, public_url="watch.example")


def test_proxy_headers_do_not_bring_the_host_back(built: Built) -> None:
    """`presswatch serve --proxy-headers` runs uvicorn's ProxyHeadersMiddleware: it
    rewrites the scheme and the client address, which no link is built from."""
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    app = ProxyHeadersMiddleware(app_of(built), trusted_hosts="*")
    body = TestClient(app).get("/feeds/changes.atom", headers=FORGED).content
    assert b"evil.example" not in body
    ours = [h for h in hrefs(body) if "/articles/" in h or "/feeds/" in h]
    assert ours and all(h.startswith("/") for h in ours), ours


def test_redirects_never_point_at_the_host_header(built: Built) -> None:
    """Starlette's trailing-slash redirect is built from Host; ours stays on the site."""
    plain = TestClient(app_of(built), follow_redirects=False)
    configured = TestClient(
        app_of(built, public_url="https://watch.example/pw"), follow_redirects=False
    )
    for path, location in (
        ("/changes/", "/changes"),
        ("/api/changes/?kind=removed", "/api/changes?kind=removed"),
    ):
        response = plain.get(path, headers=FORGED)
        assert (response.status_code, response.headers["location"]) == (307, location)
        moved = configured.get(path, headers=FORGED).headers["location"]
        assert moved == f"https://watch.example/pw{location}"


# -- no paths in answers -------------------------------------------------------------------


def _places(built: Built) -> list[str]:
    data = built.runtime.settings.data_dir
    return [str(data), str(data.resolve()), "warc/", "search.sqlite", "presswatch.db"]


def test_a_503_names_no_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    b = build_archive(tmp_path / "data")
    try:
        capture_id = b.captures["raid_v1"]
        for warc in (b.runtime.settings.warc_dir).rglob("*.warc*"):
            warc.unlink()  # lost with a disk
        client = TestClient(app_of(b))
        with caplog.at_level(logging.WARNING):
            raw = client.get(f"/api/captures/{capture_id}/raw")
        assert raw.status_code == 503
        assert "archive storage failed" in raw.json()["detail"]
        assert not [p for p in _places(b) if p in raw.text], raw.text
        # The operator still learns which file: from the log.
        assert str(b.runtime.settings.warc_dir) in caplog.text

        broken = tmp_path / "index-is-a-directory"
        broken.mkdir()
        app = app_of(b)
        app.state.presswatch.backend = SqliteFtsBackend(broken)
        search = TestClient(app).get("/api/search", params={"q": "compound"})
        assert search.status_code == 503 and "search is unavailable" in search.json()["detail"]
        assert str(broken) not in search.text and str(tmp_path) not in search.text
    finally:
        b.close()


def test_readyz_names_no_file(built: Built, tmp_path: Path) -> None:
    ready = TestClient(app_of(built)).get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ok"
    assert not [p for p in _places(built) if p in ready.text], ready.text
    assert "[search index]" in ready.json()["search"]["detail"]

    broken = tmp_path / "index-is-a-directory"
    broken.mkdir()
    app = app_of(built)
    app.state.presswatch.backend = SqliteFtsBackend(broken)
    sick = TestClient(app).get("/readyz")
    assert sick.status_code == 503 and sick.json()["search"]["ok"] is False
    assert str(tmp_path) not in sick.text and not [p for p in _places(built) if p in sick.text]
