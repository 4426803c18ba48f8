"""A rendering recorded: the page's requisites, its screenshot (a `resource` record
concurrent to the page's response) and its rendered DOM in the WARC, a `renderings`
row and a capture in the log; `presswatch verify`, the evidence package and its
standalone verifier cover every byte, so one altered screenshot byte fails both."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator

from archive.capture import screenshot_png
from archive.log import verify_archive
from archive.store import Rendering
from archive.store.models import Capture
from presswatch.browser import BrowserConfig, render_capture
from presswatch.runtime import Runtime
from presswatch.verify_package import verify_package
from tests.archive_helpers import exchange, record
from tests.conftest import skip_unless_ci
from tests.package_checks import cli, wacz_validate
from tests.render_site import ALLOW, CHROMIUM, chromium_missing, png, serving

pytestmark = pytest.mark.e2e

PHOTO = png((10, 160, 60), (120, 80))
ARTICLE = (
    "<html><head><title>Flood relief stalls</title>"
    '<link rel="stylesheet" href="/site.css"></head><body><article><h1>Flood relief '
    "stalls in the north</h1><p>"
    + "Relief convoys waited three days at the provincial border, officials said. " * 8
    + '</p><img src="/photo.png" alt="Convoy"></article></body></html>'
)


@pytest.fixture(autouse=True)
def need_chromium() -> None:
    reason = chromium_missing()
    if reason:
        skip_unless_ci(f"browser recording: {reason}")


def config(rt: Runtime) -> BrowserConfig:
    return BrowserConfig(
        executable=CHROMIUM,
        allow=ALLOW,
        user_agent="Presswatch/test",
        max_body_bytes=rt.settings.max_body_bytes,
        timeout_s=15.0,
    )


@pytest.fixture
def rendered(runtime: Runtime, at: Any) -> tuple[int, int]:
    """(page capture id, rendering id) of an article rendered with its requisites."""
    routes = {
        "/photo.png": ("image/png", PHOTO),
        "/site.css": ("text/css", b"h1 { color: rgb(200, 0, 0) }"),
    }
    with serving("127.0.0.1", routes) as site:
        result = record(runtime, exchange(site.url("/news/flood"), ARTICLE, at=at(0)))
        done = render_capture(config(runtime), runtime.sessions, runtime.warc, result.capture_id)
    assert done is not None and done.outcome == "rendered", done
    return result.capture_id, done.rendering_id


def warc_records(rt: Runtime) -> list[tuple[str, str, dict[str, str], bytes]]:
    out = []
    for path in sorted(rt.settings.warc_dir.glob("*.warc.gz")):
        with open(path, "rb") as fh:
            for rec in ArchiveIterator(fh):
                headers = dict(rec.rec_headers.headers)
                out.append(
                    (
                        rec.rec_type,
                        headers.get("WARC-Target-URI", ""),
                        headers,
                        rec.raw_stream.read(),
                    )
                )
    return out


def test_rendering_is_in_the_warc_the_table_and_the_log(
    runtime: Runtime, rendered: tuple[int, int]
) -> None:
    page_id, rendering_id = rendered
    records = warc_records(runtime)
    page_response = next(r for r in records if r[0] == "response" and r[1].endswith("/news/flood"))
    shots = [r for r in records if r[0] == "resource" and "screenshot" in r[1]]
    assert len(shots) == 1
    assert shots[0][2]["Content-Type"] == "image/png"
    assert shots[0][2]["WARC-Concurrent-To"] == page_response[2]["WARC-Record-ID"]
    assert shots[0][3].startswith(b"\x89PNG")
    doms = [r for r in records if r[0] == "resource" and "rendered-dom" in r[1]]
    assert b"Flood relief" in doms[0][3]
    requisites = {r[1].rsplit("/", 1)[-1] for r in records if r[0] == "response"}
    assert {"photo.png", "site.css"} <= requisites
    photo = next(r for r in records if r[0] == "response" and r[1].endswith("/photo.png"))
    assert photo[3].endswith(PHOTO)  # the HTTP head, then the body as received

    with runtime.sessions() as session:
        row = session.get(Rendering, rendering_id)
        assert row is not None and row.capture_id == page_id and row.outcome == "rendered"
        logged = session.get(Capture, row.log_capture_id)
        assert logged is not None and logged.outcome == "rendered"
        assert logged.detail["rendering"]["of_capture"] == page_id
        assert screenshot_png(runtime.warc, row) == shots[0][3]
        report = verify_archive(session, runtime.warc)
    assert report.ok, report.problems


def _flip_screenshot_byte(rt: Runtime) -> None:
    """Alter one byte in the middle of the screenshot's stored record (its compressed
    PNG), leaving every offset of the file as it was."""
    with rt.sessions() as session:
        row = session.scalars(select(Rendering)).one()
        assert row.warc_file and row.screenshot_offset is not None and row.screenshot_length
        path = rt.settings.warc_dir / row.warc_file
        at = row.screenshot_offset + row.screenshot_length // 2
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def test_an_altered_screenshot_byte_fails_verify_and_the_package_verifier(
    runtime: Runtime, rendered: tuple[int, int], tmp_path: Path
) -> None:
    key = runtime.log_signer(create=True).verifier_key
    good = tmp_path / "good.wacz"
    result = cli(runtime, "export", "evidence", "1", "-o", str(good))
    assert result.exit_code == 0, result.output
    checked = verify_package(good, key)
    assert checked.ok, [str(f) for f in checked.failures]
    validated = wacz_validate(good)
    assert validated.returncode == 0, validated.stdout + validated.stderr

    _flip_screenshot_byte(runtime)
    with runtime.sessions() as session:
        report = verify_archive(session, runtime.warc)
    assert not report.ok
    assert any("SHA-256" in p.problem for p in report.problems), report.problems

    bad = tmp_path / "bad.wacz"
    result = cli(runtime, "export", "evidence", "1", "-o", str(bad))
    assert result.exit_code == 0, result.output
    checked = verify_package(bad, key)
    assert not checked.ok
    assert any("altered" in str(f) for f in checked.failures), checked.failures


def test_the_screenshot_is_served_listed_and_shown(
    runtime: Runtime, rendered: tuple[int, int]
) -> None:
    from fastapi.testclient import TestClient

    from archive.capture import version_screenshot
    from search_api.app import create_app

    path = "/api/articles/1/versions/1/screenshot.png"
    with runtime.sessions() as session:
        expected = version_screenshot(session, runtime.warc, 1)
    assert expected is not None and expected.startswith(b"\x89PNG")
    with TestClient(create_app(runtime.settings)) as client:
        assert client.get("/api/articles/1").json()["versions"][0]["screenshot"] == path
        assert client.get("/api/articles/1/versions/1").json()["screenshot"] == path
        answer = client.get(path)
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "image/png"
        assert answer.content == expected
        assert client.get("/api/articles/1/versions/2/screenshot.png").status_code == 404
        assert f'<img src="{path}"' in client.get("/articles/1/versions/1").text
    history = cli(runtime, "history", "1", "--json")
    assert history.exit_code == 0, history.output
    assert json.loads(history.stdout)["versions"][0]["screenshot"] == path


def test_a_version_without_rendering_has_no_screenshot(runtime: Runtime, at: Any) -> None:
    from fastapi.testclient import TestClient

    from search_api.app import create_app

    record(runtime, exchange("http://127.0.0.1:9/news/plain", ARTICLE, at=at(0)))
    with TestClient(create_app(runtime.settings)) as client:
        assert client.get("/api/articles/1").json()["versions"][0]["screenshot"] is None
        assert client.get("/api/articles/1/versions/1/screenshot.png").status_code == 404
        assert "pw-screenshot" not in client.get("/articles/1/versions/1").text
    history = cli(runtime, "history", "1", "--json")
    assert json.loads(history.stdout)["versions"][0]["screenshot"] is None
