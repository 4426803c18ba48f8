"""A rendered article's evidence package replays with its page requisites: pywb, given
the package as it is (`wb-manager add --unpack-wacz`, our CDXJ index), serves the
photo and the stylesheet the browser fetched, byte for byte, beside the page; and
ReplayWeb.page, the package's own service worker in headless Chromium, shows the page
with the photo drawn and the stylesheet applied."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from presswatch.browser import BrowserConfig, render_capture
from presswatch.runtime import Runtime
from tests.archive_helpers import exchange, record
from tests.browser_harness import CHROMEDRIVER, FLAGS, need_chromium  # noqa: F401 - fixture
from tests.conftest import skip_unless_ci
from tests.package_checks import cli
from tests.render_site import ALLOW, CHROMIUM, chromium_missing, png, serving
from tests.site_server import pywb_bin, wayback
from tests.static_site import static_files

pytestmark = pytest.mark.e2e

PHOTO = png((200, 120, 10), (90, 60))
CSS = b"h1 { color: rgb(0, 90, 200) }"
PAGE = (
    '<html><head><title>Market fire</title><link rel="stylesheet" href="/s.css"></head>'
    "<body><article><h1>Fire destroys the central market</h1><p>"
    + "Stall holders counted their losses on Sunday after the night fire, officials said. " * 8
    + '</p><img src="/fire.png" alt="The market"></article></body></html>'
)


def get(url: str) -> tuple[int, bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


REPO = Path(__file__).resolve().parent.parent
# ReplayWeb.page's npm package, packed and unpacked by .ci/run (the test never fetches).
REPLAYWEB_FILES = ("index.html", "ui.js", "sw.js")
REPLAY_WAIT_S = 90


@dataclass
class Exported:
    package: Path
    page_url: str
    photo_url: str
    css_url: str


def rendered_package(runtime: Runtime, at: Any, tmp_path: Path) -> Exported:
    """The article captured at at(0), rendered by Chromium, exported as an evidence
    package. The site is gone once this returns: replay can only use the package."""
    reason = chromium_missing()
    if reason:
        skip_unless_ci(f"browser replay: {reason}")
    routes = {"/fire.png": ("image/png", PHOTO), "/s.css": ("text/css", CSS)}
    with serving("127.0.0.1", routes) as site:
        page_url = site.url("/news/fire")
        result = record(runtime, exchange(page_url, PAGE, at=at(0)))
        config = BrowserConfig(
            executable=CHROMIUM, allow=ALLOW, user_agent="Presswatch/test",
            max_body_bytes=runtime.settings.max_body_bytes, timeout_s=15.0,
        )  # fmt: skip
        done = render_capture(config, runtime.sessions, runtime.warc, result.capture_id)
    assert done is not None and done.outcome == "rendered"
    runtime.log_signer(create=True)
    package = tmp_path / "fire.wacz"
    exported = cli(runtime, "export", "evidence", "1", "-o", str(package))
    assert exported.exit_code == 0, exported.output
    return Exported(package, page_url, site.url("/fire.png"), site.url("/s.css"))


def test_pywb_replays_the_page_with_its_photo_and_stylesheet(
    runtime: Runtime, at: Any, tmp_path: Path
) -> None:
    bin_dir = pywb_bin()
    done = rendered_package(runtime, at, tmp_path)
    package, page_url = done.package, done.page_url
    root = tmp_path / "pywb"
    root.mkdir()
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    for args in (("init", "news"), ("add", "--unpack-wacz", "news", str(package))):
        step = subprocess.run(
            [str(bin_dir / "wb-manager"), *args],
            cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert step.returncode == 0, step.stdout + step.stderr
    stamp = at(0).strftime("%Y%m%d%H%M%S")
    with wayback(bin_dir, root, env) as port:
        base = f"http://127.0.0.1:{port}/news/{stamp}id_/"
        assert get(base + page_url) == (200, PAGE.encode())
        assert get(base + done.photo_url) == (200, PHOTO)
        assert get(base + done.css_url) == (200, CSS)


@pytest.fixture
def offline_browser(tmp_path: Path, need_chromium: None) -> Iterator[Any]:  # noqa: F811
    """Chromium through chromedriver that resolves no name but 127.0.0.1: whatever
    ReplayWeb.page would load from elsewhere (a CDN, an update check) cannot leave the
    machine, and the replay must work without it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    options.add_argument("--window-size=1280,900")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def replayweb_dir() -> Path:
    """ReplayWeb.page's files: $PRESSWATCH_REPLAYWEB_DIR, else .cache/replaywebpage in
    the checkout (`bash .ci/run` fills it with `npm pack replaywebpage`)."""
    where = Path(os.environ.get("PRESSWATCH_REPLAYWEB_DIR") or REPO / ".cache/replaywebpage")
    missing = [name for name in REPLAYWEB_FILES if not (where / name).is_file()]
    if missing:
        skip_unless_ci(
            f"ReplayWeb.page: no {', '.join(missing)} in {where} (README, Development: "
            "npm pack replaywebpage, then unpack index.html, ui.js and sw.js there)"
        )
    return where


# The replay frame sits inside the app's shadow roots; it is same-origin (the service
# worker serves it under our own host), so the page's DOM can be read from the top.
REPLAY_STATE = """
function frame(root) {
  for (const el of root.querySelectorAll('*')) {
    if (el.tagName === 'IFRAME' && (el.src || '').includes('mp_/')) return el;
    if (el.shadowRoot) { const found = frame(el.shadowRoot); if (found) return found; }
  }
  return null;
}
const state = {worker: !!navigator.serviceWorker.controller, src: null};
const f = frame(document);
if (f) {
  state.src = f.src;
  const doc = f.contentDocument;
  if (doc && doc.body) {
    const img = doc.querySelector('img');
    const h1 = doc.querySelector('h1');
    state.text = doc.body.innerText;
    state.title = doc.title;
    state.image = img ? {width: img.naturalWidth, height: img.naturalHeight,
                         complete: img.complete} : null;
    state.h1Color = h1 ? getComputedStyle(h1).color : null;
  }
}
return JSON.stringify(state);
"""


def test_replaywebpage_replays_the_page_with_its_photo_drawn(
    runtime: Runtime,
    at: Any,
    tmp_path: Path,
    offline_browser: Any,
) -> None:
    app = replayweb_dir()
    done = rendered_package(runtime, at, tmp_path)
    files = {"/": ("text/html", app / "index.html")}
    for name in REPLAYWEB_FILES:
        kind = "text/html" if name.endswith(".html") else "text/javascript"
        files[f"/{name}"] = (kind, app / name)
    files["/fire.wacz"] = ("application/wacz+zip", done.package)
    stamp = at(0).strftime("%Y%m%d%H%M%S")
    with static_files(files) as base:
        # 127.0.0.1 is a secure context, so the service worker may register over http.
        fragment = urllib.parse.urlencode({"view": "replay", "url": done.page_url, "ts": stamp})
        source = urllib.parse.quote(base + "/fire.wacz", safe="")
        offline_browser.get(f"{base}/?source={source}#{fragment}")
        deadline = time.monotonic() + REPLAY_WAIT_S
        state: dict[str, Any] = {}
        while time.monotonic() < deadline:
            state = json.loads(offline_browser.execute_script(REPLAY_STATE))
            image = state.get("image") or {}
            if image.get("complete") and "central market" in state.get("text", ""):
                break
            time.sleep(0.5)
    assert state.get("worker"), f"the service worker never took the page: {state}"
    assert state.get("src"), f"no replay frame: {state}"
    assert state["title"] == "Market fire"
    assert "Fire destroys the central market" in state["text"]
    assert "Stall holders counted their losses" in state["text"]
    # The photo decoded at its own size: the worker served the archived PNG.
    assert state["image"] == {"width": 90, "height": 60, "complete": True}, state
    assert state["h1Color"] == "rgb(0, 90, 200)", state
