"""A browser rendering is recorded as a capture of its own (outcome `rendered`), but it
is not a fetch of the article: `history`, the article API and the article page list
it as the rendering of the capture it rendered, not as another fetch. No browser is
needed: the rendering is recorded from a result made by hand."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from archive.capture import Rendering, RenderOutcome, record_rendering
from archive.log import verify_archive
from presswatch.runtime import Runtime
from search_api.app import create_app
from tests.archive_helpers import exchange, own_page, record
from tests.package_checks import cli
from tests.render_site import png

URL = "https://ledger.example/en/2026/02/police-free-212-workers/"


def rendered_article(runtime: Runtime, at: Any) -> tuple[int, int, int]:
    """(article id, page capture id, rendering's capture id)."""
    html = own_page("police-free-212-workers-from-sihanoukville-scam-compound").html
    page = record(runtime, exchange(URL, html, at=at(0)))
    assert page.article_id is not None
    result = Rendering(
        url=URL,
        outcome=RenderOutcome.RENDERED,
        reason="settled",
        started_at=at(0) + timedelta(seconds=1),
        ended_at=at(0) + timedelta(seconds=5),
        browser="Chromium/test",
        screenshot_png=png((200, 0, 0)),
        page_height_px=30,
        dom_html="<html><body><h1>Police free 212 workers</h1></body></html>",
    )
    with runtime.sessions.begin() as session:
        row = record_rendering(
            session, runtime.warc, page.capture_id, result, recorded_at=at(0) + timedelta(seconds=6)
        )
        log_capture = row.log_capture_id
    return page.article_id, page.capture_id, log_capture


def test_a_rendering_is_listed_under_the_capture_it_rendered(runtime: Runtime, at: Any) -> None:
    article_id, page_id, rendering_id = rendered_article(runtime, at)
    again = record(runtime, exchange(URL, b"", at=at(2), status=304, headers=()))

    result = cli(runtime, "history", URL, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    captures = doc["captures"]
    assert [c["id"] for c in captures] == [page_id, again.capture_id]
    assert all(c["outcome"] != "rendered" for c in captures)
    shown = captures[0]["rendering"]
    assert shown["capture_id"] == rendering_id and shown["outcome"] == "rendered"
    assert shown["screenshot"] == f"/api/articles/{article_id}/versions/1/screenshot.png"
    assert captures[1]["rendering"] is None
    human = cli(runtime, "history", URL)
    assert "2 capture(s)" in human.stdout, human.stdout

    app = create_app(runtime.settings, sessions=runtime.sessions, warc=runtime.warc)
    with TestClient(app) as client:
        api = client.get(f"/api/articles/{article_id}").json()
        assert [c["id"] for c in api["captures"]] == [page_id, again.capture_id]
        assert api["captures"][0]["rendering"]["capture_id"] == rendering_id
        assert api["captures"][0]["rendering"]["screenshot"] == shown["screenshot"]
        assert api["captures"][1]["rendering"] is None
        # The rendering is still a capture of its own in the log and the API.
        assert client.get(f"/api/captures/{rendering_id}").json()["outcome"] == "rendered"
        single = client.get(f"/api/captures/{page_id}").json()["rendering"]
        assert single["capture_id"] == rendering_id
        assert single["screenshot"] == shown["screenshot"]
        page = client.get(f"/articles/{article_id}")
        assert page.status_code == 200
        assert f'href="/api/captures/{rendering_id}"' in page.text
        assert "pw-outcome-rendered" not in page.text

    with runtime.sessions() as session:
        assert verify_archive(session, runtime.warc).ok
