"""The browser adapter against pages of our own on 127.0.0.1, with the real Chromium:
a page's image and stylesheet are fetched by us and kept, the screenshot shows them;
a hostile page's requests towards 127.0.0.2 never reach it and are listed as refused;
a page that never stops loading is cut off within the time limit; dialogs, popups and a
page taller than the screenshot cap end as renderings with their outcome."""

from __future__ import annotations

import io
import time

import pytest

from archive.capture import RefusalKind, RenderOutcome
from presswatch.browser import BrowserConfig, Document, render_page
from tests.conftest import skip_unless_ci
from tests.render_site import ALLOW, CHROMIUM, HANG, chromium_missing, png, serving

pytestmark = pytest.mark.e2e

RED = (220, 20, 20)


@pytest.fixture(autouse=True)
def need_chromium() -> None:
    reason = chromium_missing()
    if reason:
        skip_unless_ci(f"browser capture: {reason}")


def config(**changes: object) -> BrowserConfig:
    base: dict[str, object] = {
        "executable": CHROMIUM,
        "allow": ALLOW,
        "user_agent": "Presswatch/test (+https://example.org)",
        "max_body_bytes": 2_000_000,
        # Generous: a loaded machine may take seconds to start the browser; a rendering
        # that settles ends at once whatever its limit.
        "timeout_s": 30.0,
    }
    base.update(changes)
    return BrowserConfig(**base)  # type: ignore[arg-type]


def page(url: str, html: str) -> Document:
    return Document(url, 200, (("Content-Type", "text/html; charset=utf-8"),), html.encode())


def test_image_and_stylesheet_are_fetched_kept_and_shown() -> None:
    routes = {
        "/photo.png": ("image/png", png(RED, (200, 100))),
        "/style.css": ("text/css", b"body { background: rgb(0, 0, 200); margin: 0 }"),
    }
    with serving("127.0.0.1", routes) as site:
        html = '<link rel="stylesheet" href="/style.css"><img src="/photo.png">'
        rendering = render_page(config(), page(site.url("/story"), html))
    assert rendering.outcome is RenderOutcome.RENDERED, rendering.reason
    kept = {r.url: r for r in rendering.resources}
    assert kept[site.url("/photo.png")].body == routes["/photo.png"][1]
    assert kept[site.url("/photo.png")].resource_type == "Image"
    assert kept[site.url("/style.css")].status == 200
    assert "/story" not in site.hits, "the page itself comes from the capture, not refetched"
    from PIL import Image

    shot = Image.open(io.BytesIO(rendering.screenshot_png or b"")).convert("RGB")
    assert shot.width == 1280
    assert shot.getpixel((100, 50)) == RED  # the photo
    assert shot.getpixel((600, 300)) == (0, 0, 200)  # the stylesheet's background
    assert '<img src="/photo.png">' in (rendering.dom_html or "")


def test_requests_towards_an_internal_address_never_reach_it() -> None:
    with serving("127.0.0.2", {"/x.png": ("image/png", png(RED))}) as internal:
        inner = internal.base
        html = f"""
          <style>body {{ background: url({inner}/css-bg.png) }}</style>
          <img src="{inner}/img.png">
          <iframe src="{inner}/frame.html"></iframe>
          <script>
            fetch("{inner}/fetch.json").catch(() => {{}});
            new Image().src = "http://169.254.169.254/latest/meta-data/";
          </script>"""
        with serving("127.0.0.1", {}) as site:
            rendering = render_page(config(), page(site.url("/hostile"), html))
        assert internal.hits == []
    refused = {r.url: r for r in rendering.refused}
    for path in ("/css-bg.png", "/img.png", "/frame.html", "/fetch.json"):
        assert refused[inner + path].kind is RefusalKind.EGRESS
        assert "127.0.0.2" in refused[inner + path].reason
    assert "http://169.254.169.254/latest/meta-data/" in refused
    assert rendering.outcome is RenderOutcome.RENDERED
    assert not any(r.url.startswith(inner) for r in rendering.resources)


def test_robots_txt_and_size_limit_refuse_a_sub_resource() -> None:
    routes = {
        "/robots.txt": ("text/plain", b"User-agent: *\nDisallow: /private/\n"),
        "/private/a.png": ("image/png", png(RED)),
        "/big.png": ("image/png", b"\x89PNG" + b"0" * 300_000),
    }
    with serving("127.0.0.1", routes) as site:
        html = '<img src="/private/a.png"><img src="/big.png">'
        rendering = render_page(config(max_body_bytes=200_000), page(site.url("/p"), html))
    refused = {r.url: r.kind for r in rendering.refused}
    assert refused == {
        site.url("/private/a.png"): RefusalKind.ROBOTS,
        site.url("/big.png"): RefusalKind.TOO_LARGE,
    }
    assert "/private/a.png" not in site.hits


def test_a_page_that_never_stops_loading_is_cut_off_in_time() -> None:
    with serving("127.0.0.1", {"/slow.png": ("image/png", HANG)}) as site:
        started = time.monotonic()
        rendering = render_page(
            config(timeout_s=12.0), page(site.url("/p"), '<h1>Still here</h1><img src="/slow.png">')
        )
        took = time.monotonic() - started
    assert rendering.outcome is RenderOutcome.TIMED_OUT
    assert "cut off" in rendering.reason
    assert took < 12.0 + 2.0  # the limit, and killing the browser
    assert rendering.screenshot_png is not None, "pictured as it stood at the cut"
    assert "Still here" in (rendering.dom_html or "")
    (slow,) = rendering.refused
    assert slow.url == site.url("/slow.png") and slow.kind is RefusalKind.LIMIT


def test_script_that_never_yields_ends_as_timed_out() -> None:
    started = time.monotonic()
    rendering = render_page(
        config(timeout_s=4.0),
        page("http://127.0.0.1:9/p", "<script>for (;;) {}</script>"),
    )
    assert rendering.outcome is RenderOutcome.TIMED_OUT
    assert time.monotonic() - started < 4.0 + 2.0


def test_dialog_loops_popups_and_a_huge_page_end_as_a_rendering() -> None:
    html = """
      <div style="height: 60000px; background: linear-gradient(red, blue)"></div>
      <script>
        for (let i = 0; i < 5000; i++) { alert(i); confirm(i); prompt(i); window.open("/x"); }
        document.body.dataset.done = "yes";
      </script>"""
    rendering = render_page(
        config(max_screenshot_height_px=3000), page("http://127.0.0.1:9/p", html)
    )
    assert rendering.outcome is RenderOutcome.RENDERED, rendering.reason
    assert 'data-done="yes"' in (rendering.dom_html or "")
    assert rendering.page_height_px is not None and rendering.page_height_px > 60000
    assert rendering.screenshot_truncated
    from PIL import Image

    assert Image.open(io.BytesIO(rendering.screenshot_png or b"")).size == (1280, 3000)


def test_request_cap_refuses_the_rest() -> None:
    frames = "".join(f'<iframe src="/f{n}.html"></iframe><img src="/i{n}.png">' for n in range(15))
    with serving("127.0.0.1", {}) as site:
        rendering = render_page(config(max_requests=10), page(site.url("/p"), frames))
    limited = [r for r in rendering.refused if r.kind is RefusalKind.LIMIT]
    assert len(limited) >= 20
    # Frames and images; Chromium's own favicon request ("Other") may be among them.
    assert (
        {"Document", "Image"}
        <= {r.resource_type for r in limited}
        <= {
            "Document",
            "Image",
            "Other",
        }
    )
    assert len(site.hits) <= 11  # robots.txt and ten requests


def test_memory_cap_kills_the_browser() -> None:
    rendering = render_page(config(memory_mb=256), page("http://127.0.0.1:9/p", "<p>hi</p>"))
    assert rendering.outcome is RenderOutcome.MEMORY_EXCEEDED
    assert "browser_memory_mb" in rendering.reason


def test_missing_browser_is_unavailable() -> None:
    rendering = render_page(
        config(executable="/nonexistent/chromium"), page("http://127.0.0.1:9/p", "x")
    )
    assert rendering.outcome is RenderOutcome.UNAVAILABLE
