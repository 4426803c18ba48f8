"""How the local news site answers over HTTP: one request handler per connection
(`ThreadingHTTPServer`), every byte on the wire counted and each request logged in the
site's state (presswatch.demo.site_state), conditional requests (ETag / If-None-Match,
Last-Modified / If-Modified-Since; switchable off for the full-fetch path), the ways an
article fails (`Mode`: 404, 410, redirect home or to another article, soft-404, 503,
slow, redirect loop, huge body, binary body), and a child site's control endpoints.

Must not: reach beyond 127.0.0.1. Standard library only.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import re
import sys
import time
from collections.abc import Iterable
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from presswatch.demo.site_state import CONTROL, Entry, Mode, RequestRecord, SiteState

__all__ = ["SiteHandler", "SiteServer"]


class SiteServer(ThreadingHTTPServer):
    """One thread per connection, none of them keeping the process alive."""

    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request: object, client_address: object) -> None:
        # A crawler that gives up on a slow page hangs up mid-answer; that is the
        # test, not a server problem worth a traceback.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class _CountingWriter:
    """Wraps the socket writer so every byte on the wire is counted, headers included."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.count = 0

    def write(self, data: bytes) -> int:
        self.count += len(data)
        return int(self.raw.write(data))

    def flush(self) -> None:
        self.raw.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


HTML = "text/html; charset=utf-8"
XML = "application/xml; charset=utf-8"
_SITEMAP = re.compile(r"/sitemaps/posts-(\d+)\.xml")


class SiteHandler(BaseHTTPRequestHandler):
    """Answers for `site`; `control`: also a parent's `/_site/…` calls (child sites)."""

    site: SiteState
    control = False
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.wfile = _CountingWriter(self.wfile)  # type: ignore[assignment]

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return  # the site keeps its own log

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self._serve(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self._serve(head=False)

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        payload = json.loads(self.rfile.read(length) or b"{}")
        if not self.control:
            self._send(405, b"", [("Allow", "GET, HEAD")])
            return
        self._control(urlsplit(self.path).path, payload)

    # -- answering ---------------------------------------------------------------------

    def _send(self, status: int, body: bytes = b"", headers: Iterable[tuple[str, str]] = (),
              *, head: bool = False) -> None:  # fmt: skip
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and not head and status != 304:
            self.wfile.write(body)

    def _text(self, status: int, text: str, ctype: str = HTML, *, head: bool,
              extra: Iterable[tuple[str, str]] = ()) -> None:  # fmt: skip
        self._send(status, text.encode("utf-8"), [("Content-Type", ctype), *extra], head=head)

    def _control(self, path: str, payload: dict[str, Any]) -> None:
        """The parent's calls to a child site (`SiteProcess`); not logged or counted."""
        site = self.site
        name = path.removeprefix(CONTROL)
        answer: Any
        with site.lock:
            if name == "stats":
                answer = site.stats()
            elif name == "validators":
                site.set_validators(bool(payload["on"]))
                answer = {"ok": True}
            else:
                answer = site.content.control(site, name, payload)
        if answer is None:
            self._send(404, b'{"ok": false}', [("Content-Type", "application/json")])
        elif isinstance(answer, bytes):
            self._send(200, answer, [("Content-Type", HTML)])
        else:
            body = json.dumps(answer, ensure_ascii=False).encode()
            self._send(200, body, [("Content-Type", "application/json")])

    def _serve(self, *, head: bool) -> None:
        arrived = time.monotonic()
        parts = urlsplit(self.path)
        if parts.path.startswith(CONTROL) and self.control:
            self._control(parts.path, {})
            return
        before = self.wfile.count  # type: ignore[attr-defined]
        kind, status = self._route(parts.path, parts.query, head=head)
        sent = self.wfile.count - before  # type: ignore[attr-defined]
        body = 0 if head or status == 304 else int(self._body_length)
        self.site.record(
            RequestRecord(
                method=self.command,
                path=self.path,
                status=status,
                header_bytes=sent - body,
                body_bytes=body,
                at=arrived,
                user_agent=self.headers.get("User-Agent"),
                if_none_match=self.headers.get("If-None-Match"),
                if_modified_since=self.headers.get("If-Modified-Since"),
                kind=kind,
                received_bytes=len(self.raw_requestline)  # type: ignore[attr-defined]
                + sum(len(k) + len(v) + 4 for k, v in self.headers.items())
                + 2,
            )
        )

    _body_length = 0
    _status = 0

    def send_response(self, code: int, message: str | None = None) -> None:
        self._status = code
        super().send_response(code, message)

    def send_header(self, keyword: str, value: str) -> None:
        if keyword == "Content-Length":
            self._body_length = int(value)
        super().send_header(keyword, value)

    def _route(self, path: str, query: str, *, head: bool) -> tuple[str, int]:
        """Answer one request; returns (kind of URL, status)."""
        site = self.site
        self._body_length = 0
        route = site.routes.get(path)
        if route is not None:
            return "other", route(self, head)
        if path.startswith("/media/"):
            self._media(path, head=head)
            return "media", self._status
        if path == "/robots.txt":
            if site.robots_status != 200:
                self._text(site.robots_status, "unavailable", "text/plain", head=head)
            else:
                self._text(200, site.robots_txt(), "text/plain; charset=utf-8", head=head)
            return "discovery", self._status
        document = self._document(path)
        if document is not None:
            text, ctype = document
            self._text(200, text, ctype, head=head)
            return "discovery", 200
        if path.startswith("/trap/"):
            depth = path.count("/")
            self._text(200, f'<a href="{path}next-{depth}/">next</a>', head=head)
            return "other", 200
        listing = self._listing_of(path)
        if listing is not None:
            with site.lock:
                rendered = site.listing(*listing)
            if rendered is None:
                self._text(404, "no such page", "text/plain", head=head)
                return "discovery", 404
            self._text(200, rendered, head=head)
            return "discovery", 200
        with site.lock:
            entry = site.entry_at(path)
            missing = site.not_found() if entry is None else None
        if entry is None or missing is not None:
            self._text(404, missing or "", head=head)
            return "other", 404
        self._article(entry, query, head=head)
        return "article", self._status

    def _media(self, path: str, *, head: bool) -> None:
        """A page's image: a small JPEG made from its path, with an ETag (a 304 when
        asked with it and validators are on), as a news site's CDN serves photos."""
        site = self.site
        body = media_jpeg(path)
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        headers = [("Content-Type", "image/jpeg")]
        if site.validators:
            headers.append(("ETag", etag))
            if self.headers.get("If-None-Match") == etag:
                self._send(304, b"", headers, head=head)
                return
        self._send(200, body, headers, head=head)

    def _document(self, path: str) -> tuple[str, str] | None:
        site = self.site
        with site.lock:
            if path == "/sitemap_index.xml":
                return site.sitemap_index(), XML
            match = _SITEMAP.fullmatch(path)
            text = site.sitemap(int(match.group(1))) if match else None
            if path == "/news-sitemap.xml":
                text = site.news_sitemap_xml()
            if text is not None:
                return text, XML
            feeds = {
                "/feed/": (site.rss2, "application/rss+xml; charset=utf-8"),
                "/atom.xml": (site.atom, "application/atom+xml; charset=utf-8"),
                "/rss1.xml": (site.rss1, "application/rdf+xml; charset=utf-8"),
            }
            if path in feeds:
                render, ctype = feeds[path]
                return render(), ctype
        return None

    def _listing_of(self, path: str) -> tuple[str | None, int] | None:
        if path in ("/", ""):
            return None, 1
        parts = [p for p in path.split("/") if p]
        if parts and parts[0] in self.site.languages():
            if len(parts) == 1:
                return parts[0], 1
            if len(parts) == 3 and parts[1] == "page" and parts[2].isdigit():
                return parts[0], int(parts[2])
        return None

    def _article(self, entry: Entry, query: str, *, head: bool) -> None:
        site = self.site
        mode = entry.mode
        if mode is Mode.NOT_FOUND:
            with site.lock:
                page = site.not_found(entry.lang)
            self._text(404, page, head=head)
        elif mode is Mode.GONE:
            self._text(410, "<h1>Gone</h1>", head=head)
        elif mode is Mode.UNAVAILABLE:
            self._text(503, "<h1>Service Unavailable</h1>", head=head, extra=[("Retry-After", "0")])
        elif mode is Mode.REDIRECT_HOME:
            self._send(301, b"", [("Location", site.base_url)], head=head)
        elif mode is Mode.REDIRECT_ARTICLE and entry.target:
            self._send(301, b"", [("Location", site.url_of(entry.target))], head=head)
        elif mode is Mode.LOOP:
            location = entry.path if query else entry.path + "?loop=1"
            self._send(302, b"", [("Location", location)], head=head)
        elif mode is Mode.SOFT_404:
            with site.lock:
                page = site.not_found(entry.lang)
            self._text(200, page, head=head)
        elif mode is Mode.BINARY:
            body = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)) * 64 + b"\n%%EOF\n"
            self._send(200, body, [("Content-Type", "application/pdf")], head=head)
        elif mode is Mode.HUGE:
            filler = ("<p>" + "lorem ipsum dolor sit amet " * 40 + "</p>\n").encode()
            repeat = site.huge_bytes // len(filler) + 1
            body = b"<html><body>" + filler * repeat + b"</body></html>"
            self._send(200, body, [("Content-Type", HTML)], head=head)
        else:
            if mode is Mode.SLOW and entry.delay_s:
                time.sleep(entry.delay_s)  # the server is slow; the client must time out
            self._live_article(entry, head=head)

    def _live_article(self, entry: Entry, *, head: bool) -> None:
        site = self.site
        with site.lock:
            etag = site.etag(entry)
            modified = entry.last_modified
            validators = site.validators
        headers = [("Content-Type", HTML)]
        if validators:
            headers += [("ETag", etag), ("Last-Modified", format_datetime(modified, usegmt=True))]
            if self._not_modified(etag, modified):
                self._send(304, b"", headers, head=head)
                return
        with site.lock:
            page = site.content.render(site, entry)
        body = page.encode("utf-8") if isinstance(page, str) else page
        self._send(200, body, [*headers, ("Cache-Control", "max-age=60")], head=head)

    def _not_modified(self, etag: str, modified: datetime) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            return etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*"
        ims = self.headers.get("If-Modified-Since")
        if ims:
            try:
                return modified <= parsedate_to_datetime(ims)
            except (TypeError, ValueError):
                return False
        return False


@functools.lru_cache(maxsize=256)
def media_jpeg(path: str) -> bytes:
    """A 160×120 JPEG whose colours come from `path`: each address its own picture."""
    from PIL import Image, ImageDraw

    seed = hashlib.sha256(path.encode("utf-8")).digest()
    image = Image.new("RGB", (160, 120), (seed[0], seed[1], seed[2]))
    draw = ImageDraw.Draw(image)
    for i in range(4):
        x, y = seed[3 + i] % 120, seed[7 + i] % 80
        draw.ellipse([x, y, x + 40, y + 40], fill=(seed[11 + i], seed[15 + i], seed[19 + i]))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()
