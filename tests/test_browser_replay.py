"""A rendered article's evidence package replays with its page requisites: pywb, given
the package as it is (`wb-manager add --unpack-wacz`, our CDXJ index), serves the
photo and the stylesheet the browser fetched, byte for byte, beside the page."""

from __future__ import annotations

import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from presswatch.browser import BrowserConfig, render_capture
from presswatch.runtime import Runtime
from tests.archive_helpers import exchange, record
from tests.conftest import skip_unless_ci
from tests.package_checks import cli
from tests.render_site import ALLOW, CHROMIUM, chromium_missing, png, serving
from tests.site_server import pywb_bin, wayback

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


def test_pywb_replays_the_page_with_its_photo_and_stylesheet(
    runtime: Runtime, at: Any, tmp_path: Path
) -> None:
    reason = chromium_missing()
    if reason:
        skip_unless_ci(f"browser replay: {reason}")
    bin_dir = pywb_bin()
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
        assert get(base + site.url("/fire.png")) == (200, PHOTO)
        assert get(base + site.url("/s.css")) == (200, CSS)
