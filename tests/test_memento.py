"""Memento (RFC 7089) on `presswatch serve`: a real Memento client (PyPI memento_client)
against a running server on 127.0.0.1, and the edge cases asked of the app directly."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from fastapi.testclient import TestClient
from memento_client import MementoClient

from presswatch.runtime import Runtime
from presswatch.settings import Settings
from search_api.app import create_app
from tests import archive_helpers as h
from tests.site_server import served_presswatch

EN = h.en_story()
URL = EN.url
EDITED = h.edit_one_word(EN.html, EN.snippet)
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
# Three captures with bytes (v1, v2, v2 again), then a failed fetch that kept none.
TIMES = (T0, T0 + timedelta(days=1), T0 + timedelta(days=3))
HTTP_DATE = "%a, %d %b %Y %H:%M:%S GMT"


@dataclass
class Archive:
    runtime: Runtime
    capture_ids: list[int]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    data = tmp_path_factory.mktemp("memento") / "data"
    runtime = Runtime(Settings(data_dir=data))
    runtime.init()
    ids = [
        h.record(runtime, h.exchange(URL, body, at=at)).capture_id
        for body, at in zip((EN.html, EDITED, EDITED), TIMES, strict=True)
    ]
    h.record(
        runtime,
        h.exchange(URL, at=T0 + timedelta(days=4), status=None, error="timeout"),
    )
    yield Archive(runtime, ids)
    runtime.close()


@pytest.fixture(scope="module")
def client(archive: Archive) -> Iterator[TestClient]:
    rt = archive.runtime
    with TestClient(create_app(rt.settings, sessions=rt.sessions, warc=rt.warc)) as c:
        yield c


@pytest.fixture(scope="module")
def server(archive: Archive, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`presswatch serve` (uvicorn) on the archive, as an operator runs it."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PRESSWATCH_", "MEILI_")) and k != "DATABASE_URL"
    }
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with served_presswatch(archive.runtime.settings.data_dir, log, env) as base:
        yield base


def _client_info(base: str, when: datetime) -> dict[str, Any]:
    """memento_client's answer for URL at `when`, asking our TimeGate only: the original
    URI is read from our TimeGate's Link header (never fetched from the outlet)."""
    with MementoClient(timegate_uri=f"{base}/timegate/", check_native_timegate=False) as mc:
        first_look = requests.head(f"{base}/timegate/{URL}", allow_redirects=False, timeout=10)
        info: dict[str, Any] = mc.get_memento_info(
            URL, when.replace(tzinfo=None), req_uri_response=first_look
        )
    return info


def test_a_memento_client_finds_the_nearest_memento(archive: Archive, server: str) -> None:
    ids = archive.capture_ids
    # Between the 2nd (day 1) and 3rd (day 3) capture, nearer the 2nd.
    info = _client_info(server, T0 + timedelta(days=1, hours=20))
    closest = info["mementos"]["closest"]
    assert closest["uri"] == [f"{server}/memento/{ids[1]}"]
    assert closest["datetime"] == TIMES[1].replace(tzinfo=None)
    # Absolute, though PRESSWATCH_PUBLIC_URL is unset: `serve` starts links with the
    # address it listens on (memento_client once got relative first/prev/last).
    assert info["mementos"]["first"]["uri"] == [f"{server}/memento/{ids[0]}"]
    assert info["mementos"]["prev"]["uri"] == [f"{server}/memento/{ids[0]}"]
    assert info["mementos"]["next"]["datetime"] == TIMES[2].replace(tzinfo=None)
    assert info["mementos"]["last"]["uri"] == [f"{server}/memento/{ids[2]}"]
    assert info["original_uri"] == URL

    # Before everything: the first memento; long after: the last.
    early = _client_info(server, datetime(2001, 1, 1))
    assert early["mementos"]["closest"]["uri"] == [f"{server}/memento/{ids[0]}"]
    late = _client_info(server, datetime(2030, 1, 1))
    assert late["mementos"]["closest"]["uri"] == [f"{server}/memento/{ids[2]}"]

    # The memento itself is the archived page, shown sandboxed (test_memento_display.py).
    memento = requests.get(f"{server}/memento/{ids[0]}", timeout=10)
    assert memento.status_code == 200 and memento.content == EN.html.encode()
    assert MementoClient.is_memento(f"{server}/memento/{ids[0]}", response=memento)
    assert memento.headers["Content-Type"] == "text/html; charset=utf-8"
    assert memento.headers["Content-Security-Policy"].startswith("sandbox;")
    assert memento.headers["Content-Disposition"].startswith("inline")
    assert memento.headers["Memento-Datetime"] == TIMES[0].strftime(HTTP_DATE)


def test_the_timemap_lists_every_memento_in_link_format(archive: Archive, server: str) -> None:
    response = requests.get(f"{server}/timemap/link/{URL}", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/link-format")
    links = MementoClient.parse_link_header(response.text)
    assert links[URL]["rel"] == ["original"]
    assert links[f"{server}/timegate/{URL}"]["rel"] == ["timegate"]
    me = links[f"{server}/timemap/link/{URL}"]
    assert me["rel"] == ["self"] and me["type"] == ["application/link-format"]
    assert me["from"] == [TIMES[0].strftime(HTTP_DATE)]
    assert me["until"] == [TIMES[2].strftime(HTTP_DATE)]
    mementos = {
        uri: (link["rel"], link["datetime"]) for uri, link in links.items() if "datetime" in link
    }
    ids = archive.capture_ids
    # The failed fetch kept no bytes: not a memento.
    assert mementos == {
        f"{server}/memento/{ids[0]}": (["first", "memento"], [TIMES[0].strftime(HTTP_DATE)]),
        f"{server}/memento/{ids[1]}": (["memento"], [TIMES[1].strftime(HTTP_DATE)]),
        f"{server}/memento/{ids[2]}": (["last", "memento"], [TIMES[2].strftime(HTTP_DATE)]),
    }


def test_timegate_headers_and_errors(archive: Archive, client: TestClient) -> None:
    ids = archive.capture_ids
    r = client.get(
        f"/timegate/{URL}",
        headers={"Accept-Datetime": "Mon, 02 Mar 2026 09:00:00 GMT"},
        follow_redirects=False,
    )
    assert r.status_code == 302 and r.headers["Location"] == f"/memento/{ids[1]}"
    assert r.headers["Vary"] == "accept-datetime"
    assert "Memento-Datetime" not in r.headers
    assert f'<{URL}>; rel="original"' in r.headers["Link"]
    # No Accept-Datetime: now, so the newest memento.
    now = client.get(f"/timegate/{URL}", follow_redirects=False)
    assert now.headers["Location"] == f"/memento/{ids[2]}"
    # Any address of the article, and a proxy's folded `//`, reach the same TimeGate.
    variant = client.get("/timegate/https:/ledger.example/news/" + URL.split("/news/")[1])
    assert variant.status_code == 200 and variant.url.path == f"/memento/{ids[2]}"
    tracking = client.get(f"/timegate/{URL}?utm_source=x", follow_redirects=False)
    assert tracking.status_code == 302
    assert f"<{URL}?utm_source=x>" in tracking.headers["Link"]

    for bad in ("yesterday", "2026-03-01T08:00:00Z", "Mon, 02 Mar 2026 09:00:00"):
        r = client.get(f"/timegate/{URL}", headers={"Accept-Datetime": bad})
        assert r.status_code == 400, bad
        assert "HTTP date" in r.json()["detail"]
    unknown = client.get("/timegate/https://ledger.example/news/never-archived/")
    assert unknown.status_code == 404
    assert client.get("/timemap/link/https://ledger.example/news/never-archived/").status_code == (
        404
    )
    # Not a URL (an id would otherwise find article 1): refused, not guessed.
    assert client.get("/timegate/1").status_code == 400
    assert client.get("/memento/999999").status_code == 404


def test_a_hostile_uri_cannot_break_out_of_the_link_header(client: TestClient) -> None:
    # Tracking parameters are ignored when finding the article, kept in the URI-R.
    hostile = URL + '?utm_source=a>;rel="memento",<https://evil.example/'
    r = client.get(f"/timegate/{hostile}", follow_redirects=False)
    assert r.status_code == 302
    links = MementoClient.parse_link_header(r.headers["Link"])
    assert not any(
        "evil.example" in uri and "memento" in link["rel"] for uri, link in links.items()
    )
    originals = [uri for uri, link in links.items() if "original" in link["rel"]]
    assert len(originals) == 1 and originals[0].startswith(URL + "?utm_source=a%3E")


def test_links_start_at_public_url_when_set(archive: Archive) -> None:
    rt = archive.runtime
    settings = Settings(data_dir=rt.settings.data_dir, public_url="https://watch.example")
    with TestClient(create_app(settings, sessions=rt.sessions, warc=rt.warc)) as c:
        r = c.get(f"/timegate/{URL}", follow_redirects=False)
        timemap = c.get(f"/timemap/link/{URL}").text
    ids = archive.capture_ids
    assert r.headers["Location"] == f"https://watch.example/memento/{ids[2]}"
    assert f"<https://watch.example/timegate/{URL}>" in timemap


@pytest.mark.parametrize(
    "when",
    [
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "Fri, 31 Dec 9999 23:59:59 -0100 GMT",  # past what UTC can hold
        "Mon, 01 Jan 0001 00:00:00 +0100 GMT",
        "Thu, 01 Jan 1970 00:00:00 GMT",
    ],
)
def test_an_extreme_accept_datetime_is_answered_not_a_500(
    archive: Archive, client: TestClient, when: str
) -> None:
    """The year 9999 (or 1) is a date: the nearest memento (the newest, or the oldest)."""
    r = client.get(f"/timegate/{URL}", headers={"Accept-Datetime": when}, follow_redirects=False)
    assert r.status_code == 302, r.text
    assert r.headers["Location"].startswith("/memento/")
