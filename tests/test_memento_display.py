"""A memento shown in a browser: `/memento/{id}` displays an archived page as its own
media type, sandboxed, instead of downloading it, and a hostile archived page shown
there runs nothing and reaches nothing of ours.

The headers are asked of the app directly; the hostile page is opened in Debian's
chromium (tests/browser_harness.py's `browser`) against `presswatch serve` on
127.0.0.1, whose request log shows any call the page made back to us. Without chromium
the browser test skips with the reason, except under CI, where it fails.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from archive.capture import Rendering, RenderOutcome, record_rendering
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from search_api.app import create_app
from tests import archive_helpers as h
from tests.browser_harness import screenshot, wait_for
from tests.site_server import served_presswatch

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
HOSTILE = "https://daily.example/news/script-in-the-page/"
# Every way an archived page could act on our origin once shown there: scripts (inline,
# an event handler, an external one), a fetch() of our API with the visitor's cookies,
# storage and cookies, a frame and images of our own routes, a stylesheet, a form that
# would post to the admin API, a refresh to elsewhere, a popup.
HOSTILE_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>Ministry denies compound raid</title>
<meta http-equiv="refresh" content="0;url=/pwned-refresh">
<link rel="stylesheet" href="/pwned-css">
<style>p.lede { font-weight: bold; }</style>
<script>
document.title = 'PWNED';
try { localStorage.setItem('pwned', '1'); } catch (e) {}
try { document.cookie = 'pwned=1; path=/'; } catch (e) {}
fetch('/api/articles').then(r => r.text())
  .then(t => { new Image().src = '/pwned-fetched?' + t.length; });
window.open('/pwned-popup');
</script>
<script src="/pwned-script.js"></script>
</head>
<body onload="document.body.innerHTML = 'PWNED'">
<h1>Ministry denies compound raid</h1>
<p class="lede">The ministry said on Sunday that no raid took place.</p>
<p>Workers freed from the compound told reporters otherwise.</p>
<img src="/pwned-img" alt="a photo">
<iframe src="/api/articles"></iframe>
<form action="/api/admin/sources" method="post"><input name="x" value="1">
<button id="go">send</button></form>
<script>document.querySelector('h1').textContent = 'PWNED';</script>
</body></html>
"""
PLAIN = "https://daily.example/news/plain.txt"
GZIPPED = "https://daily.example/news/gzipped/"
PNG_URL = "https://daily.example/photo.png"
SVG_URL = "https://daily.example/logo.svg"
PDF_URL = "https://daily.example/report.pdf"
UNTYPED = "https://daily.example/news/untyped/"
BOMB = "https://daily.example/news/bomb/"
MAX_BODY = 200_000


@dataclass
class Archive:
    runtime: Runtime
    ids: dict[str, int] = field(default_factory=dict)
    bodies: dict[str, bytes] = field(default_factory=dict)


def _png() -> bytes:
    from io import BytesIO

    out = BytesIO()
    Image.new("RGB", (4, 3), (200, 10, 10)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    runtime = Runtime(Settings(data_dir=tmp_path_factory.mktemp("mdisplay") / "data"))
    runtime.init()
    built = Archive(runtime)
    html = h.en_story().html.encode()
    pages: list[tuple[str, str, bytes, tuple[tuple[str, str], ...]]] = [
        ("hostile", HOSTILE, HOSTILE_HTML.encode(), h.HTML),
        ("plain", PLAIN, b"plain words\n", (("Content-Type", "text/plain"),)),
        (
            "gzipped",
            GZIPPED,
            gzip.compress(html),
            (("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip")),
        ),
        ("png", PNG_URL, _png(), (("Content-Type", "image/png"),)),
        ("svg", SVG_URL, b"<svg xmlns='http://www.w3.org/2000/svg'/>", _type("image/svg+xml")),
        ("pdf", PDF_URL, b"%PDF-1.4\n%%EOF\n", _type("application/pdf")),
        ("untyped", UNTYPED, html, ()),
        (
            "bomb",
            BOMB,
            gzip.compress(b"<p>" + b" " * (MAX_BODY * 4)),
            (("Content-Type", "text/html"), ("Content-Encoding", "gzip")),
        ),
    ]
    for i, (name, url, body, headers) in enumerate(pages):
        result = h.record(
            runtime, h.exchange(url, body, at=T0 + timedelta(hours=i), headers=headers)
        )
        built.ids[name] = result.capture_id
        built.bodies[name] = body
    # A browser rendering of the hostile page: a capture of the article (in the log),
    # holding our screenshot, not what the address answered.
    rendering = Rendering(
        url=HOSTILE,
        outcome=RenderOutcome.RENDERED,
        reason="",
        started_at=T0 + timedelta(days=1),
        ended_at=T0 + timedelta(days=1, seconds=2),
        browser="Chromium/test",
        screenshot_png=_png(),
        dom_html="<html><body>rendered</body></html>",
    )
    with runtime.sessions.begin() as session, runtime.warc.group():
        row = record_rendering(
            session,
            runtime.warc,
            built.ids["hostile"],
            rendering,
            recorded_at=T0 + timedelta(days=1),
        )
        built.ids["rendering"] = row.log_capture_id
    yield built
    runtime.close()


def _type(value: str) -> tuple[tuple[str, str], ...]:
    return (("Content-Type", value),)


@pytest.fixture(scope="module")
def client(archive: Archive) -> Iterator[TestClient]:
    rt = archive.runtime
    settings = Settings(data_dir=rt.settings.data_dir, max_body_bytes=MAX_BODY)
    with TestClient(create_app(settings, sessions=rt.sessions, warc=rt.warc)) as c:
        yield c


def test_an_html_memento_is_shown_sandboxed_not_downloaded(
    archive: Archive, client: TestClient
) -> None:
    r = client.get(f"/memento/{archive.ids['hostile']}")
    assert r.status_code == 200 and r.content == archive.bodies["hostile"]
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert r.headers["Content-Disposition"].startswith("inline")
    csp = [d.strip() for d in r.headers["Content-Security-Policy"].split(";")]
    assert csp[0] == "sandbox"  # no allow-scripts, no allow-same-origin, no allow-forms
    assert "default-src 'none'" in csp and "form-action 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert "set-cookie" not in r.headers
    # Still a memento: RFC 7089's headers, as before.
    assert r.headers["Memento-Datetime"] == "Sun, 01 Mar 2026 08:00:00 GMT"
    assert f'<{HOSTILE}>; rel="original"' in r.headers["Link"]
    assert 'rel="timegate"' in r.headers["Link"] and 'rel="timemap"' in r.headers["Link"]
    head = client.head(f"/memento/{archive.ids['hostile']}")
    assert head.status_code == 200 and head.headers["Content-Type"] == r.headers["Content-Type"]
    # The API's raw bytes stay a download.
    raw = client.get(f"/api/captures/{archive.ids['hostile']}/raw")
    assert raw.headers["Content-Type"] == "application/octet-stream"
    assert raw.headers["Content-Disposition"].startswith("attachment")


def test_a_browser_rendering_is_not_a_memento(archive: Archive, client: TestClient) -> None:
    timemap = client.get(f"/timemap/link/{HOSTILE}").text
    assert f"/memento/{archive.ids['hostile']}>" in timemap
    assert f"/memento/{archive.ids['rendering']}>" not in timemap
    assert timemap.count('rel="') == 4  # original, self, timegate, the one memento
    later = client.get(
        f"/timegate/{HOSTILE}",
        headers={"Accept-Datetime": "Mon, 02 Mar 2026 08:00:00 GMT"},
        follow_redirects=False,
    )
    assert later.headers["Location"] == f"/memento/{archive.ids['hostile']}"
    r = client.get(f"/memento/{archive.ids['rendering']}")
    assert r.status_code == 404 and "browser rendering" in r.json()["detail"]


@pytest.mark.parametrize(
    ("name", "shown_as"),
    [
        ("plain", "text/plain"),
        ("png", "image/png"),
        ("svg", None),
        ("pdf", None),
        ("untyped", None),
    ],
)
def test_only_safe_types_are_shown(
    archive: Archive, client: TestClient, name: str, shown_as: str | None
) -> None:
    r = client.get(f"/memento/{archive.ids[name]}")
    assert r.status_code == 200 and r.content == archive.bodies[name]
    assert r.headers["Content-Security-Policy"].startswith("sandbox")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "Memento-Datetime" in r.headers
    if shown_as is None:
        assert r.headers["Content-Type"] == "application/octet-stream"
        assert r.headers["Content-Disposition"].startswith("attachment")
    else:
        assert r.headers["Content-Type"] == shown_as
        assert r.headers["Content-Disposition"].startswith("inline")


def test_an_encoded_page_is_decoded_for_display_within_the_body_limit(
    archive: Archive, client: TestClient
) -> None:
    r = client.get(f"/memento/{archive.ids['gzipped']}")
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "content-encoding" not in r.headers  # decoded here: brotli would not be, over HTTP
    assert r.content == gzip.decompress(archive.bodies["gzipped"])
    assert r.headers["X-Archived-Content-Encoding"] == "gzip"
    # The digest is the archived payload's, as the capture records it.
    capture = client.get(f"/api/captures/{archive.ids['gzipped']}").json()
    assert r.headers["X-Payload-SHA256"] == capture["payload_sha256"]
    # Decoding past max_body_bytes stops there: the page stays a download, as archived.
    bomb = client.get(f"/memento/{archive.ids['bomb']}")
    assert bomb.headers["Content-Type"] == "application/octet-stream"
    assert bomb.headers["Content-Disposition"].startswith("attachment")


@pytest.fixture(scope="module")
def served(
    archive: Archive, tmp_path_factory: pytest.TempPathFactory, need_chromium: None
) -> Iterator[tuple[str, Path]]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PRESSWATCH_", "MEILI_")) and k != "DATABASE_URL"
    }
    env["PRESSWATCH_LOG_LEVEL"] = "INFO"  # uvicorn logs each request it answers
    log = tmp_path_factory.mktemp("mdisplay-serve") / "serve.log"
    with served_presswatch(archive.runtime.settings.data_dir, log, env) as base:
        yield base, log


@pytest.mark.e2e
def test_a_hostile_memento_shows_its_text_and_runs_nothing(
    archive: Archive, served: tuple[str, Path], browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    base, log = served
    # Our origin first, so a cookie or storage entry of ours would be within reach.
    browser.get(f"{base}/changes")
    browser.add_cookie({"name": "ours", "value": "1", "path": "/"})
    browser.get(f"{base}/memento/{archive.ids['hostile']}")
    heading = wait_for(browser, "h1")
    screenshot(browser, "memento-hostile.png")
    # Shown, as text: the heading and paragraphs the outlet sent, its title unchanged.
    assert heading.text == "Ministry denies compound raid"
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "no raid took place" in body and "told reporters otherwise" in body
    assert browser.title == "Ministry denies compound raid"
    # The page's inline style applied (CSP lets inline styles draw).
    lede = browser.find_element(By.CSS_SELECTOR, "p.lede")
    assert int(lede.value_of_css_property("font-weight")) >= 700
    # Its form cannot be sent: the sandbox blocks it, nothing reaches the admin API.
    browser.find_element(By.ID, "go").click()
    assert browser.current_url == f"{base}/memento/{archive.ids['hostile']}"
    assert len(browser.window_handles) == 1  # no popup
    # Nothing the page asked for reached us: our log has the memento and no other call
    # after it (no fetch, script, stylesheet, image, frame, refresh or form post).
    requests = log.read_text(encoding="utf-8", errors="replace")
    after = requests.split(f"/memento/{archive.ids['hostile']}", 1)[1]
    for marker in ("pwned", "/api/articles", "/api/admin"):
        assert marker not in after, after
    # Back on our origin: our cookie is there, the page's is not, and nothing was stored.
    browser.get(f"{base}/changes")
    names = {c["name"] for c in browser.get_cookies()}
    assert names == {"ours"}
    assert browser.execute_script("return window.localStorage.getItem('pwned')") is None
    assert browser.title.endswith("· Presswatch")
