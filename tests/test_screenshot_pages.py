"""The diff page with the two versions' screenshots: shown side by side with the changed
regions marked when both versions have one, nothing when either has none, and the
comparison made once and kept on disk, never redone per page view (design rule 11).

Screenshots are PNGs drawn here with Pillow, handed to the app through the one way the
pages find a version's screenshot (`search_api.deps.get_screenshot_finder`); the last
test opens the page in Debian's chromium (tests/browser_harness.py) against the app
served by uvicorn on 127.0.0.1."""

from __future__ import annotations

import hashlib
import io
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

from presswatch.runtime import Runtime
from presswatch.settings import Settings
from search_api import screenshots
from search_api.app import create_app
from search_api.deps import get_screenshot_finder
from search_api.screenshots import VersionScreenshot
from tests import archive_helpers as h
from tests.browser_harness import ARTIFACTS, screenshot, set_viewport, wait_for

EN = h.en_story()
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def shot(height: int, banner: tuple[int, int, int]) -> bytes:
    image = Image.new("RGB", (320, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 300, 80), fill=banner)
    for y in range(100, height - 20, 24):
        draw.rectangle((20, y, 300, y + 8), fill=(90, 90, 90))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Runtime, int]]:
    runtime = Runtime(Settings(data_dir=tmp_path_factory.mktemp("shots") / "data"))
    runtime.init()
    edited = h.edit_one_word(EN.html, EN.snippet)
    again = h.edit_one_word(edited, edited[edited.index("REDACTED") - 40 :][:80])
    for i, body in enumerate((EN.html, edited, again)):
        result = h.record(runtime, h.exchange(EN.url, body, at=T0 + timedelta(days=i)))
    yield runtime, result.article_id
    runtime.close()


Finder = Callable[[Any, Any, int, int], VersionScreenshot | None]


def finder_of(pngs: dict[int, bytes]) -> Finder:
    def find(_session: Any, _warc: Any, _article_id: int, n: int) -> VersionScreenshot | None:
        data = pngs.get(n)
        if data is None:
            return None
        return VersionScreenshot(hashlib.sha256(data).hexdigest(), lambda: data)

    return find


@pytest.fixture
def app_with(
    archive: tuple[Runtime, int], tmp_path: Path
) -> Iterator[Callable[[dict[int, bytes]], TestClient]]:
    runtime, _aid = archive
    clients: list[TestClient] = []

    def make(pngs: dict[int, bytes]) -> TestClient:
        # Each test its own data dir, hence its own cache; the archive is shared.
        settings = Settings(data_dir=tmp_path / "data")
        app = create_app(settings, sessions=runtime.sessions, warc=runtime.warc)
        app.dependency_overrides[get_screenshot_finder] = lambda: finder_of(pngs)
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def diffs_made(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the pixel diffs computed."""
    made: list[int] = []
    real = screenshots.diff_screenshots

    def counting(old: bytes, new: bytes) -> Any:
        made.append(1)
        return real(old, new)

    monkeypatch.setattr(screenshots, "diff_screenshots", counting)
    return made


def test_the_diff_page_shows_both_screenshots_marked_and_compares_them_once(
    archive: tuple[Runtime, int],
    app_with: Callable[[dict[int, bytes]], TestClient],
    diffs_made: list[int],
    tmp_path: Path,
) -> None:
    _rt, aid = archive
    old, new = shot(600, (200, 0, 0)), shot(900, (0, 0, 200))
    client = app_with({1: old, 2: new})
    page = client.get(f"/articles/{aid}/diff?from=1&to=2")
    assert page.status_code == 200
    html = page.text
    # The banner's colour, and the text line the longer page has at y=580.
    assert "Screenshots" in html and "2 changed regions marked" in html
    assert "v1 is 600 px high, v2 900 px" in html
    old_src = f"/articles/{aid}/diff/screenshots/1/2/old.png"
    new_src = f"/articles/{aid}/diff/screenshots/1/2/new.png"
    assert f'<img src="{old_src}" width="320" height="600"' in html
    assert f'<img src="{new_src}" width="320" height="900"' in html
    assert html.index(old_src) < html.index(new_src)  # old on the left

    for src, original, size in ((old_src, old, (320, 600)), (new_src, new, (320, 900))):
        r = client.get(src)
        assert r.status_code == 200 and r.headers["Content-Type"] == "image/png"
        marked = Image.open(io.BytesIO(r.content)).convert("RGB")
        plain = Image.open(io.BytesIO(original)).convert("RGB")
        assert marked.size == size
        assert marked.getpixel((150, 50)) != plain.getpixel((150, 50))  # the banner: marked
    # The new screenshot's extra 300 px are marked on it.
    newer = Image.open(io.BytesIO(client.get(new_src).content)).convert("RGB")
    assert newer.getpixel((10, 800)) != (255, 255, 255)

    # Computed once: more page views and image requests read the cache.
    client.get(f"/articles/{aid}/diff?from=1&to=2")
    client.get(old_src)
    assert len(diffs_made) == 1
    entries = list((tmp_path / "data" / "cache" / "screenshot-diffs").glob("*/*"))
    assert [e.name for e in entries] == [
        f"{hashlib.sha256(old).hexdigest()}-{hashlib.sha256(new).hexdigest()}"
    ]
    assert sorted(p.name for p in entries[0].iterdir()) == ["new.png", "old.png", "regions.json"]
    # The same two screenshots under other version numbers share the entry.
    other = app_with({2: old, 3: new})
    assert "2 changed regions marked" in other.get(f"/articles/{aid}/diff?from=2&to=3").text
    assert len(diffs_made) == 1


def test_no_screenshot_section_unless_both_versions_have_one(
    archive: tuple[Runtime, int],
    app_with: Callable[[dict[int, bytes]], TestClient],
    diffs_made: list[int],
) -> None:
    _rt, aid = archive
    client = app_with({2: shot(600, (0, 0, 0))})
    for query in ("from=1&to=2", "from=2&to=3", ""):
        page = client.get(f"/articles/{aid}/diff?{query}")
        assert page.status_code == 200 and "Screenshots" not in page.text
    assert client.get(f"/articles/{aid}/diff/screenshots/1/2/old.png").status_code == 404
    assert client.get(f"/articles/{aid}/diff/screenshots/2/3/new.png").status_code == 404
    assert client.get(f"/articles/{aid}/diff/screenshots/1/2/other.png").status_code == 422
    assert diffs_made == []


def test_identical_screenshots_say_so(
    archive: tuple[Runtime, int], app_with: Callable[[dict[int, bytes]], TestClient]
) -> None:
    _rt, aid = archive
    same = shot(500, (0, 120, 0))
    page = app_with({1: same, 2: same}).get(f"/articles/{aid}/diff?from=1&to=2")
    assert "The screenshots of v1 and v2 are identical." in page.text


def test_a_refused_screenshot_is_named_once_and_not_retried(
    archive: tuple[Runtime, int],
    app_with: Callable[[dict[int, bytes]], TestClient],
    diffs_made: list[int],
) -> None:
    _rt, aid = archive
    client = app_with({1: shot(400, (0, 0, 0)), 2: b"\x89PNG\r\n\x1a\n not really"})
    for _ in range(2):
        page = client.get(f"/articles/{aid}/diff?from=1&to=2")
        assert page.status_code == 200
        assert "could not be compared: new screenshot: not a readable PNG" in page.text
        assert "<img" not in page.text.split("Screenshots", 1)[1]
    assert client.get(f"/articles/{aid}/diff/screenshots/1/2/old.png").status_code == 404
    assert len(diffs_made) == 1


def test_a_screenshot_damaged_in_storage_leaves_the_text_diff_shown(
    archive: tuple[Runtime, int], app_with: Callable[[dict[int, bytes]], TestClient]
) -> None:
    from archive.errors import StorageError

    _rt, aid = archive
    good = shot(400, (0, 0, 0))

    def damaged() -> bytes:
        raise StorageError("the screenshot of rendering 7 does not match its SHA-256")

    client = app_with({1: good, 2: good})
    # Its recorded digest is the good one's: a cached refusal would outlive the repair.
    broken = VersionScreenshot(hashlib.sha256(good).hexdigest(), damaged)
    client.app.dependency_overrides[get_screenshot_finder] = lambda: (  # type: ignore[attr-defined]
        lambda _s, _w, _a, n: broken if n == 2 else finder_of({1: good})(_s, _w, _a, n)
    )
    page = client.get(f"/articles/{aid}/diff?from=1&to=2")
    assert page.status_code == 200 and "pw-diff-body" in page.text
    assert "could not be compared: the screenshot of rendering 7 does not match" in page.text
    # Not cached: once repaired, the pair is compared.
    client.app.dependency_overrides[get_screenshot_finder] = lambda: finder_of(  # type: ignore[attr-defined]
        {1: good, 2: good}
    )
    assert "are identical" in client.get(f"/articles/{aid}/diff?from=1&to=2").text


def test_an_unwritable_cache_still_shows_the_diff(
    archive: tuple[Runtime, int],
    app_with: Callable[[dict[int, bytes]], TestClient],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _rt, aid = archive
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "cache").write_text("a file where the cache directory goes")
    client = app_with({1: shot(400, (200, 0, 0)), 2: shot(400, (0, 0, 200))})
    page = client.get(f"/articles/{aid}/diff?from=1&to=2")
    assert "1 changed region marked" in page.text
    image = client.get(f"/articles/{aid}/diff/screenshots/1/2/new.png")
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    assert "screenshot diff not cached" in caplog.text


@pytest.mark.e2e
def test_a_browser_shows_the_two_screenshots_side_by_side(
    archive: tuple[Runtime, int], tmp_path: Path, browser: Any
) -> None:
    runtime, aid = archive
    app = create_app(
        Settings(data_dir=tmp_path / "data"), sessions=runtime.sessions, warc=runtime.warc
    )
    pngs = {1: shot(1400, (200, 0, 0)), 2: shot(1100, (0, 0, 200))}
    app.dependency_overrides[get_screenshot_finder] = lambda: finder_of(pngs)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        for width, name in ((1280, "diff-screenshots.png"), (390, "diff-screenshots-phone.png")):
            set_viewport(browser, width, 900, mobile=width < 500)
            browser.get(f"{base}/articles/{aid}/diff?from=1&to=2")
            wait_for(browser, ".pw-shots-pair img")
            shown = browser.execute_script(
                """const imgs = [...document.querySelectorAll('.pw-shots-pair img')];
                   return Promise.all(imgs.map(i => i.decode().then(() => {
                     const r = i.getBoundingClientRect();
                     return [i.naturalWidth, i.naturalHeight, r.left, r.top, r.right];
                   })));"""
            )
            (old_w, old_h, old_left, old_top, old_right), new = shown
            assert (old_w, old_h) == (320, 1400) and tuple(new[:2]) == (320, 1100)
            assert old_top == new[3] and old_right <= new[2]  # side by side, old first
            overflow = browser.execute_script(
                "return document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 1 and new[4] <= width
            screenshot(browser, name)
    finally:
        set_viewport(browser, 1280, 900)
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def _article(headline: str, banner: str, paragraphs: int) -> str:
    para = "<p>" + "Relief convoys waited three days at the provincial border. " * 6 + "</p>"
    return (
        f"<!doctype html><html><head><title>{headline}</title></head>"
        "<body style='margin:0;font-family:sans-serif'>"
        f"<div style='height:120px;background:{banner}'></div>"
        f"<article><h1>{headline}</h1>{para * paragraphs}</article></body></html>"
    )


@pytest.mark.e2e
def test_two_real_renderings_are_compared_on_the_diff_page(
    tmp_path: Path, diffs_made: list[int]
) -> None:
    """Two versions rendered by the browser capture (presswatch.browser, Chromium): the
    diff page finds their screenshots in the archive, marks the banner and headline that
    changed and the part only the longer page has, and compares them once."""
    from presswatch.browser import BrowserConfig, render_capture
    from tests.conftest import skip_unless_ci
    from tests.render_site import ALLOW, CHROMIUM, chromium_missing

    reason = chromium_missing()
    if reason:
        skip_unless_ci(f"browser rendering: {reason}")
    runtime = Runtime(Settings(data_dir=tmp_path / "data"))
    runtime.init()
    url = "https://ledger.example/news/relief-convoys/"
    pages = (
        _article("Relief convoys stall at the border", "rgb(0, 90, 160)", 20),
        _article("Relief convoys turned back at the border", "rgb(160, 30, 0)", 40),
        _article("Relief convoys reach the north", "rgb(160, 30, 0)", 40),
    )
    config = BrowserConfig(
        executable=CHROMIUM,
        allow=ALLOW,
        user_agent="Presswatch/test",
        max_body_bytes=runtime.settings.max_body_bytes,
        timeout_s=30.0,
    )
    try:
        for i, html in enumerate(pages):
            result = h.record(runtime, h.exchange(url, html, at=T0 + timedelta(days=i)))
            if i < 2:  # the third version is never rendered
                done = render_capture(config, runtime.sessions, runtime.warc, result.capture_id)
                assert done is not None and done.outcome == "rendered", done
        aid = result.article_id
        app = create_app(runtime.settings, sessions=runtime.sessions, warc=runtime.warc)
        with TestClient(app) as client:
            html = client.get(f"/articles/{aid}/diff?from=1&to=2").text
            assert "Screenshots" in html and "changed region" in html, html[-3000:]
            old = client.get(f"/articles/{aid}/diff/screenshots/1/2/old.png")
            new = client.get(f"/articles/{aid}/diff/screenshots/1/2/new.png")
            old_image = Image.open(io.BytesIO(old.content)).convert("RGB")
            new_image = Image.open(io.BytesIO(new.content)).convert("RGB")
            ARTIFACTS.mkdir(exist_ok=True)
            (ARTIFACTS / "diff-rendered-old.png").write_bytes(old.content)
            (ARTIFACTS / "diff-rendered-new.png").write_bytes(new.content)
            assert old_image.width == new_image.width == 1280
            assert new_image.height > old_image.height  # twenty more paragraphs
            assert f'height="{new_image.height}"' in html
            # The banner changed colour: marked (tinted) on both sides.
            assert old_image.getpixel((640, 60)) != (0, 90, 160)
            assert new_image.getpixel((640, 60)) != (160, 30, 0)
            # Below the old page's end, the new one is marked as its own.
            below = new_image.getpixel((5, old_image.height + 10))
            assert below != (255, 255, 255)
            client.get(f"/articles/{aid}/diff?from=1&to=2")
            assert len(diffs_made) == 1
            # Version 3 has no screenshot: no section, no image.
            assert "Screenshots" not in client.get(f"/articles/{aid}/diff?from=2&to=3").text
            assert client.get(f"/articles/{aid}/diff/screenshots/2/3/new.png").status_code == 404
    finally:
        runtime.close()
