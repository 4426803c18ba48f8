"""Images are part of a version, end to end: the real crawler (`presswatch crawl` and
`recheck` in a subprocess) against the local outlet, whose article page carries a
captioned photo served with an ETag, and an <img> pointing at an "internal" server on
127.0.0.2 that the egress policy must refuse.

One story, in order (each step a crawl of a few seconds): the photo is captured and
hashed with the first version; a recheck with nothing changed asks nothing of it (its
last fetch is younger than `image_recheck_interval`); once its interval is up (set to
0s) it costs a 304; the same photo recompressed (JPEG quality 95 → 40) makes no edit;
another photo under the same address is an `images_changed` edit while the page's HTML
stays byte-identical, both when the page answers 304 and when it answers 200 with the
same bytes.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from archive.store.models import Article, Capture, ChangeEvent, Version
from benchmarks.image_distances import jpeg, photo_like
from presswatch.demo.content import DEMO_ARTICLES
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from tests.site_server import NewsSite, cli, cli_env, write_sources

pytestmark = pytest.mark.e2e

PHOTO_PATH = "/img/raid.jpg"


class Internal:
    """Stand-in for an internal service on 127.0.0.2: records every request."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        seen = self.paths

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                seen.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"no")

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.2", 0), Handler)
        self.url = f"http://127.0.0.2:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Outlet:
    """The article page and its photo, on the local site; what each served."""

    def __init__(self, site: NewsSite, internal: Internal) -> None:
        article = DEMO_ARTICLES[0]
        self.slug = article.slug
        self.url = site.url_of(self.slug)
        paragraphs = "".join(f"<p>{p}</p>" for p in article.paragraphs)
        self.html = (
            "<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>{article.title}</title></head><body><main><article>"
            f"<h1>{article.title}</h1><p class='byline'>{article.byline}</p>"
            f"<figure><img src='{PHOTO_PATH}' alt='Police at the compound gate'>"
            "<figcaption>Workers leave the compound on Tuesday.</figcaption></figure>"
            f"{paragraphs}"
            f"<img src='{internal.url}/latest/meta-data/photo.jpg' width='600' alt='x'>"
            "</article></main></body></html>"
        ).encode()
        self.page_validators = True
        self.photo = jpeg(photo_like(1), 95)
        self.photo_statuses: list[int] = []
        site.routes[site.path_of(self.slug)] = self._page
        site.routes[PHOTO_PATH] = self._photo

    def _answer(
        self,
        handler: BaseHTTPRequestHandler,
        head: bool,
        body: bytes,
        ctype: str,
        etag: str,
        *,
        validators: bool = True,
    ) -> int:
        if validators and handler.headers.get("If-None-Match") == etag:
            handler.send_response(304)
            handler.send_header("ETag", etag)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return 304
        handler.send_response(200)
        handler.send_header("Content-Type", ctype)
        handler.send_header("ETag", etag)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if not head:
            handler.wfile.write(body)
        return 200

    def _page(self, handler: BaseHTTPRequestHandler, head: bool) -> int:
        return self._answer(
            handler,
            head,
            self.html,
            "text/html; charset=utf-8",
            '"page-1"',
            validators=self.page_validators,
        )

    def _photo(self, handler: BaseHTTPRequestHandler, head: bool) -> int:
        etag = '"' + hashlib.sha256(self.photo).hexdigest()[:16] + '"'
        status = self._answer(handler, head, self.photo, "image/jpeg", etag)
        self.photo_statuses.append(status)
        return status


@pytest.fixture
def outlet_and_internal() -> Iterator[tuple[NewsSite, Outlet, Internal]]:
    internal = Internal()
    try:
        with NewsSite(articles=DEMO_ARTICLES[:1]) as site:
            yield site, Outlet(site, internal), internal
    finally:
        internal.close()


def crawl(data: Path, sources: Path, *args: str, **settings: Any) -> None:
    result = cli(data, sources, *args, "--json", env=cli_env(**settings))
    assert result.returncode == 0, result.stderr + result.stdout


def versions_and_edits(rt: Runtime) -> tuple[list[Version], list[ChangeEvent]]:
    with rt.sessions() as session:
        article = session.scalars(select(Article)).one()
        versions = list(
            session.scalars(
                select(Version).where(Version.article_id == article.id).order_by(Version.n)
            )
        )
        edits = list(
            session.scalars(
                select(ChangeEvent).where(ChangeEvent.kind == "edited").order_by(ChangeEvent.id)
            )
        )
        session.expunge_all()
        return versions, edits


def history(data: Path, sources: Path, url: str) -> dict[str, Any]:
    result = cli(data, sources, "history", url, "--json")
    assert result.returncode == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def test_a_photo_swapped_under_its_address_is_an_edit_a_recompressed_one_is_not(
    outlet_and_internal: tuple[NewsSite, Outlet, Internal], tmp_path: Path
) -> None:
    site, outlet, internal = outlet_and_internal
    data = tmp_path / "data"
    rt = Runtime(Settings(data_dir=data))
    rt.init()
    sources = write_sources(tmp_path / "sources.toml", site, topic=False, feeds=[], listings=[])
    photo_url = f"{site.base_url.rstrip('/')}{PHOTO_PATH}"

    crawl(data, sources, "crawl", "--spider", "sitemap")
    versions, edits = versions_and_edits(rt)
    assert len(versions) == 1 and edits == []
    (photo,) = [i for i in versions[0].images or [] if i["src"] == photo_url]
    assert photo["alt"] == "Police at the compound gate"
    assert photo["caption"] == "Workers leave the compound on Tuesday."
    assert photo["phash"] and len(photo["phash"]) == 16, photo["reason"]
    # The <img> on 127.0.0.2 is refused by the egress policy: kept with no hash, and
    # nothing reached the internal server, not even a robots.txt request.
    (refused,) = [i for i in versions[0].images or [] if "127.0.0.2" in i["src"]]
    assert refused["phash"] is None and refused["reason"] == "address_refused"
    assert internal.paths == []
    assert outlet.photo_statuses == [200]

    # Nothing changed: the page answers 304 and the photo, fetched within its
    # interval, is not asked for; the capture names the one that fetched it.
    crawl(data, sources, "recheck", "--all")
    assert outlet.photo_statuses == [200]
    assert len(versions_and_edits(rt)[0]) == 1
    # Its interval up, the photo is asked again, conditionally: a 304.
    due = {"image_recheck_interval": "0s"}
    crawl(data, sources, "recheck", "--all", **due)
    assert outlet.photo_statuses == [200, 304]
    assert internal.paths == []
    assert len(versions_and_edits(rt)[0]) == 1

    # The same photo recompressed (quality 95 → 40); the page's bytes identical and
    # sent whole (its server ignores validators: the unchanged-by-digest path).
    outlet.photo = jpeg(outlet.photo, 40)
    outlet.page_validators = False
    crawl(data, sources, "recheck", "--all", **due)
    assert outlet.photo_statuses[-1] == 200
    versions, edits = versions_and_edits(rt)
    assert len(versions) == 1 and edits == []

    # Another photo under the same address, the page still byte-identical: an edit.
    # Within the photo's interval the swap is not seen yet (nothing asked of it)…
    outlet.photo = jpeg(photo_like(7), 95)
    statuses = len(outlet.photo_statuses)
    crawl(data, sources, "recheck", "--all")
    assert len(outlet.photo_statuses) == statuses
    assert len(versions_and_edits(rt)[0]) == 1
    # …and is once the interval is up.
    crawl(data, sources, "recheck", "--all", **due)
    versions, edits = versions_and_edits(rt)
    assert len(versions) == 2 and len(edits) == 1
    assert versions[1].text == versions[0].text
    assert edits[0].how == ["images"]
    classes = {c["class"]: c for c in edits[0].detail["classes"]}
    assert set(classes) == {"images_changed"}
    (replaced,) = classes["images_changed"]["replaced"]
    assert replaced["src"] == photo_url and replaced["alt"] == "Police at the compound gate"
    assert replaced["old_phash"] == photo["phash"] and replaced["distance"] > 10
    assert edits[0].detail["significance"] >= 0.3

    # And again while the page answers 304 (its HTML untouched): an edit too.
    outlet.page_validators = True
    outlet.photo = jpeg(photo_like(3), 95)
    crawl(data, sources, "recheck", "--all", **due)
    versions, edits = versions_and_edits(rt)
    assert len(versions) == 3 and edits[-1].how == ["images"]
    assert internal.paths == []

    doc = history(data, sources, outlet.url)
    images = [v["images"] for v in doc["versions"]]
    assert all(isinstance(i, list) for i in images)
    assert {"src", "alt", "caption", "phash"} <= set(images[-1][0])
    kinds = [
        c["class"] for e in doc["events"] if e["kind"] == "edited" for c in e["detail"]["classes"]
    ]
    assert kinds == ["images_changed", "images_changed"]
    with rt.sessions() as session:
        last = session.scalars(select(Capture).order_by(Capture.id.desc())).first()
        assert last is not None
        entries = {e["src"]: e for e in last.detail["images"]}
        assert entries[photo_url]["status"] == 200 and entries[photo_url]["warc"]["file"]
