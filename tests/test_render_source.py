"""A `render = true` source (issue #24): a JavaScript-built outlet, whose listing and
article pages are empty shells filled by a same-origin script, is crawled through the
browser: its article is discovered from the JS-built listing, its text archived and
found by `presswatch search`, a change of the JS-built text on recheck is an edit (the
server's shell is byte for byte the same), and the text can be derived again from the
recorded DOM. Without `render` the same outlet archives nothing; without a browser the
render source fails with one line and the other sources are crawled.

The real `presswatch` command, Scrapy and Chromium, against a local server."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from archive.capture.rendered_text import rendered_dom_of
from archive.content import extract_page
from archive.store import Rendering
from archive.store.models import Capture
from presswatch.demo.content import DEMO_ARTICLES
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from tests.conftest import skip_unless_ci
from tests.render_site import Site, chromium_missing, serving
from tests.site_server import NewsSite, cli, cli_env, write_sources

pytestmark = pytest.mark.e2e

SHELL = b"""<!doctype html><html><head><meta charset="utf-8"><title>Daily JS</title></head>
<body><main id="app"></main><script src="/app.js"></script></body></html>"""

LISTING_JS = """document.getElementById("app").innerHTML =
  '<h1>Latest</h1><ul><li><a href="/news/compound-raid">Compound raid</a></li></ul>';"""

PARAGRAPHS = [
    "Police raided a scam compound in Sihanoukville on Tuesday and freed 214 workers "
    "who said they had been held there for months under threat of violence.",
    "The workers, recruited online with promises of office jobs, told reporters that "
    "their passports were taken on arrival and that they were forced to run fraudulent "
    "investment schemes aimed at victims abroad.",
    "Officials said the compound's managers had fled before the raid and that an "
    "investigation into the owners of the building was under way.",
    "Rights groups welcomed the raid but said hundreds of similar compounds still "
    "operate across the region, and called for the prosecution of those who run them.",
]


def article_js(paragraphs: list[str]) -> bytes:
    # Built with DOM calls, no markup in the strings: what the shell lacks is all here.
    return (
        "const app = document.getElementById('app');\n"
        "const article = document.createElement('article');\n"
        "const h1 = document.createElement('h1');\n"
        "h1.textContent = 'Scam compound raided, hundreds freed';\n"
        "article.appendChild(h1);\n"
        f"for (const text of {json.dumps(paragraphs)}) {{\n"
        "  const p = document.createElement('p'); p.textContent = text; article.appendChild(p);\n"
        "}\n"
        "app.appendChild(article);\n"
    ).encode()


@pytest.fixture
def outlet() -> Iterator[Site]:
    """The JavaScript-built outlet: one script, which builds the listing on /news/ and
    the article elsewhere (the shell is the same bytes on every page)."""
    routes: dict[str, tuple[str, object]] = {
        "/news/": ("text/html; charset=utf-8", SHELL),
        "/news/compound-raid": ("text/html; charset=utf-8", SHELL),
    }
    set_script(routes, article_js(PARAGRAPHS))
    with serving("127.0.0.1", routes) as site:
        yield site


def set_script(routes: dict[str, tuple[str, object]], article: bytes) -> None:
    script = (
        b"if (location.pathname === '/news/') {\n"
        + LISTING_JS.encode()
        + b"\n} else {\n"
        + article
        + b"\n}\n"
    )
    routes["/app.js"] = ("application/javascript", script)


def source_entry(site: Site, *, name: str = "daily-js", render: bool = True) -> str:
    return (
        "\n[[source]]\n"
        f'name = "{name}"\n'
        f'base_url = "{site.url("/")}"\n'
        f'listings = ["{site.url("/news/")}"]\n'
        f"article_url_pattern = '/news/[a-z-]+$'\n"
        f"render = {'true' if render else 'false'}\n"
    )


def run(data: Path, sources: Path, *args: str, browser: bool = True) -> dict[str, object]:
    env = cli_env(browser="true" if browser else "false")
    result = cli(data, sources, *args, "--json", env=env)
    assert result.returncode == 0, result.stderr + result.stdout
    doc: dict[str, object] = json.loads(result.stdout)
    return doc


def test_a_javascript_built_outlet_is_archived_searchable_and_edited(
    outlet: Site, tmp_path: Path
) -> None:
    if reason := chromium_missing():
        skip_unless_ci(f"render source: {reason}")
    data = tmp_path / "data"
    rt = Runtime(Settings(data_dir=data))
    rt.init()
    sources = tmp_path / "sources.toml"
    sources.write_text(source_entry(outlet), encoding="utf-8")

    crawled = run(data, sources, "crawl", "--spider", "listing")
    assert crawled["discovered"] == 1, crawled
    run(data, sources, "reindex")
    found = run(data, sources, "search", "Sihanoukville")
    assert found["total"] == 1, found
    hits = found["hits"]
    assert isinstance(hits, list) and hits[0]["url"] == outlet.url("/news/compound-raid")

    # The server's shell is unchanged; the script's text is not: an edit.
    edited = [*PARAGRAPHS[:2], "Officials later said the managers had been arrested at the border."]
    set_script(outlet.routes, article_js(edited))
    rechecked = run(data, sources, "recheck", "--all")
    assert rechecked["edited"] == 1, rechecked

    verified = cli(data, sources, "verify", env=cli_env())
    assert verified.returncode == 0, verified.stderr + verified.stdout
    with rt.sessions() as session:
        fetches = list(
            session.scalars(select(Capture).where(Capture.origin == "crawl").order_by(Capture.seq))
        )
        assert [c.outcome for c in fetches] == ["new", "edited"]
        # Each fetch's text came from a rendering recorded with it, and is derived again
        # from the recorded DOM (what rule 8's re-extraction reads).
        rendered = set(session.scalars(select(Rendering.capture_id)))
        assert {c.id for c in fetches} <= rendered
        dom = rendered_dom_of(session, rt.warc, fetches[-1])
        assert dom is not None
        again = extract_page(dom, url=fetches[-1].final_url, content_type="text/html")
        assert "arrested at the border" in again.text
        # …while the server's own bytes, recorded as sent, are the empty shell both times.
        assert {c.payload_sha256 for c in fetches} == {hashlib.sha256(SHELL).hexdigest()}
    rt.close()


def test_without_render_the_outlet_archives_nothing(outlet: Site, tmp_path: Path) -> None:
    """What happens today to a JavaScript-built outlet: its listing's shell has no
    links, so nothing is discovered, and no browser is asked for."""
    data = tmp_path / "data"
    Runtime(Settings(data_dir=data)).init()
    sources = tmp_path / "sources.toml"
    sources.write_text(source_entry(outlet, render=False), encoding="utf-8")
    crawled = run(data, sources, "crawl", "--spider", "listing", browser=False)
    assert crawled["discovered"] == 0 and crawled["fetched"] == 0, crawled
    assert "/app.js" not in outlet.hits


def test_without_a_browser_a_render_source_fails_with_one_line(
    outlet: Site, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    Runtime(Settings(data_dir=data)).init()
    with NewsSite(articles=DEMO_ARTICLES[:1]) as plain:
        sources = write_sources(
            tmp_path / "sources.toml",
            plain,
            topic=False,
            listings=[],
            feeds=[],
            extra=source_entry(outlet),
        )
        result = cli(data, sources, "crawl", env=cli_env(browser="false"))
    assert result.returncode == 1, result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if "daily-js" in line]
    assert len(lines) == 1, result.stderr
    assert "render = true needs the browser" in lines[0]
    assert "browser = false" in lines[0] and "install chromium" in lines[0]
    assert not outlet.hits  # the render source is not fetched at all
    rt = Runtime(Settings(data_dir=data))
    with rt.sessions() as session:
        outcomes = list(session.scalars(select(Capture.outcome)))
    assert outcomes.count("new") == 1  # the other source was crawled
    rt.close()

    # Said before a crawl too: `sources --check` warns, `status` names the source.
    checked = cli(data, sources, "sources", "--check", env=cli_env(browser="false"))
    assert checked.returncode == 0, checked.stderr
    assert "warning: [source daily-js] render: render = true needs the browser" in checked.stderr
    status = cli(data, sources, "status", env=cli_env(browser="false"))
    assert "render = true sources not crawled: daily-js" in status.stdout, status.stdout
