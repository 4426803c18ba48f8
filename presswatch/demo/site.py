"""The local news site on 127.0.0.1 that the demo, the tests and the benchmarks run
against: one server, configured with the articles it serves and how they look.

Owns the site around the articles, the way a real outlet's CMS serves it: robots.txt
(with a crawler trap and an optional Crawl-delay), a sitemap index with sitemaps paged
at 1,000 URLs and an optional Google News sitemap, RSS 2.0, RSS 1.0 and Atom feeds,
listing pages with pagination, conditional requests (ETag / If-None-Match,
Last-Modified / If-Modified-Since; switchable off for the full-fetch path), a log of
every request with the bytes really sent and received, and the ways an article fails
(`Mode`): 404, 410, redirect home or to another article, soft-404, 503, slow, redirect
loop, huge body, binary body; an edit can keep a lying ETag.

What the articles are and how a page looks is the `Content` plugged in: the demo's
"Mekong Ledger" (presswatch.demo.outlet) or the benchmark's N articles
(benchmarks/site.py). Runs in a thread of this process
(`start()`), or in a process of its own (`serve_child` / `SiteProcess`) when the process
under test must keep its GIL, as the benchmark's crawler must.

Must not: reach beyond 127.0.0.1 or import benchmarks or tests. Standard library only,
one thread per connection (`ThreadingHTTPServer`).
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol, Self
from urllib.parse import urlsplit

from presswatch.demo import pages

SITEMAP_PAGE = 1000  # URLs per sitemap file, as WordPress and most CMSs write them
CONTROL = "/_site/"  # the parent's endpoints in a child site; never logged


class Mode(StrEnum):
    """How an article answers."""

    OK = "ok"
    NOT_FOUND = "404"
    GONE = "410"
    REDIRECT_HOME = "redirect_home"
    REDIRECT_ARTICLE = "redirect_article"
    SOFT_404 = "soft_404"
    UNAVAILABLE = "503"
    SLOW = "slow"
    LOOP = "loop"
    HUGE = "huge"
    BINARY = "binary"


@dataclass(frozen=True, slots=True)
class RequestRecord:
    method: str
    path: str
    status: int
    header_bytes: int  # status line and headers as sent
    body_bytes: int
    at: float  # time.monotonic() when the request arrived
    user_agent: str | None
    if_none_match: str | None
    if_modified_since: str | None
    kind: str = "other"  # article | discovery | other
    received_bytes: int = 0  # request line and headers

    @property
    def bytes(self) -> int:
        return self.header_bytes + self.body_bytes


@dataclass
class Entry:
    """One article as the site serves it; `item` is the content's own record of it."""

    key: str
    path: str
    lang: str
    title: str
    published: datetime
    item: Any = None
    modified: datetime | None = None
    revision: int = 1
    etag_revision: int = 1  # stays behind `revision` when the ETag lies
    mode: Mode = Mode.OK
    target: str | None = None  # key of the article REDIRECT_ARTICLE sends to
    delay_s: float = 0.0
    views: int = 0

    def __post_init__(self) -> None:
        if self.modified is None:
            self.modified = self.published

    @property
    def last_modified(self) -> datetime:
        assert self.modified is not None
        return self.modified


class Content(Protocol):
    """The articles a site serves and how its pages look."""

    outlet: pages.Outlet
    article_pattern: str

    def entries(self, started: datetime) -> list[Entry]:
        """The articles when the site starts."""
        ...

    def render(self, site: LocalSite, entry: Entry) -> str | bytes:
        """The article page of a live article (called under the site's lock)."""
        ...

    def chrome(self, site: LocalSite) -> pages.Chrome:
        """The churn around a listing or a not-found page."""
        ...

    def control(self, site: LocalSite, name: str, payload: dict[str, Any]) -> Any:
        """Answer the parent's `/_site/<name>` call (child sites only); None: unknown."""
        ...


class _Serving:
    """Started on entering a `with` block, stopped on leaving it."""

    port: int

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def running(self) -> bool:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self if self.running() else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


class LocalSite(_Serving):
    """One configurable news site. `content` decides the articles and their pages."""

    def __init__(
        self,
        content: Content,
        *,
        crawl_delay_s: float | None = None,
        robots_status: int = 200,
        huge_bytes: int = 3_000_000,
        started: datetime | None = None,
        listing_size: int = 10,
        feed_items: int = 20,
        news_sitemap: bool = True,
        server_name: str = "LocalNews/1.0",
    ) -> None:
        self.content = content
        self.crawl_delay_s = crawl_delay_s
        self.robots_status = robots_status
        self.huge_bytes = huge_bytes
        self.started = started or datetime.now(UTC).replace(microsecond=0)
        self.listing_size = listing_size
        self.feed_items = feed_items
        self.news_sitemap = news_sitemap
        self.server_name = server_name
        self.validators = True  # False: no ETag/Last-Modified, no 304 (the full-fetch path)
        self._lock = threading.RLock()
        self._entries: dict[str, Entry] = {}
        self._by_path: dict[str, Entry] = {}
        for entry in content.entries(self.started):
            self._put(entry)
        self.log: list[RequestRecord] = []
        self._tally: Counter[str] = Counter()
        self.counter = itertools.count(1)  # page views of the whole site, for churn
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        # Extra behaviours by path, answered before anything else (tests add hostile
        # ones: a redirect to an internal address, a gzip bomb…). A route gets the
        # request handler and `head`, writes its own answer and returns the status.
        self.routes: dict[str, Callable[[BaseHTTPRequestHandler, bool], int]] = {}

    # -- lifecycle ---------------------------------------------------------------------

    def bind(self, port: int = 0, *, control: bool = False) -> _Server:
        """Listen on 127.0.0.1; `control`: answer a parent's `/_site/…` calls."""
        site = self

        class Handler(_Handler):
            pass

        Handler.site = site
        Handler.control = control
        Handler.server_version = self.server_name
        self._server = _Server(("127.0.0.1", port), Handler)
        return self._server

    def start(self, port: int = 0) -> Self:
        """Serve from a thread of this process."""
        server = self.bind(port)
        self._thread = threading.Thread(target=server.serve_forever, name="news-site", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:  # type: ignore[override]
        assert self._server is not None, "start() the site first"
        return int(self._server.server_address[1])

    # -- addressing --------------------------------------------------------------------

    def _put(self, entry: Entry) -> None:
        self._entries[entry.key] = entry
        self._by_path[entry.path] = entry

    def entry(self, key: str) -> Entry:
        return self._entries[key]

    def path_of(self, key: str) -> str:
        return self._entries[key].path

    def url_of(self, key: str) -> str:
        return self.base_url.rstrip("/") + self._entries[key].path

    def slugs(self) -> list[str]:
        return list(self._entries)

    def live(self) -> list[Entry]:
        """Articles the site still lists, newest first."""
        return sorted(
            (e for e in self._entries.values() if e.mode is not Mode.NOT_FOUND),
            key=lambda e: e.published,
            reverse=True,
        )

    # -- changes -----------------------------------------------------------------------

    def touch(self, key: str, *, keep_etag: bool = False, now: datetime | None = None) -> None:
        """The article changed: a new revision and Last-Modified, unless the CMS keeps
        serving the old validators (`keep_etag`: the ETag lies)."""
        with self._lock:
            entry = self._entries[key]
            entry.revision += 1
            if not keep_etag:
                entry.etag_revision = entry.revision
                now = (now or datetime.now(UTC)).replace(microsecond=0)
                entry.modified = max(now, entry.last_modified + timedelta(seconds=1))

    def set_mode(
        self, key: str, mode: Mode | str, *, target: str | None = None, delay_s: float = 0.0
    ) -> None:
        with self._lock:
            entry = self._entries[key]
            entry.mode = Mode(mode)
            entry.target = target
            entry.delay_s = delay_s

    def set_validators(self, on: bool) -> None:
        with self._lock:
            self.validators = on

    def requests_to(self, path: str) -> list[RequestRecord]:
        with self._lock:
            return [r for r in self.log if r.path.split("?", 1)[0] == path]

    def clear_log(self) -> None:
        with self._lock:
            self.log.clear()

    def stats(self) -> dict[str, Any]:
        """Requests, bytes and statuses by kind of URL, and this process's CPU time."""
        with self._lock:
            counts: dict[str, dict[str, int]] = {
                "requests": {},
                "sent": {},
                "received": {},
                "statuses": {},
            }
            for key, n in self._tally.items():
                group, _, name = key.partition("|")
                counts[group][name] = n
        return {**counts, "cpu_s": time.process_time()}

    def _record(self, record: RequestRecord) -> None:
        agent = (record.user_agent or "").split("/", 1)[0].split(" ", 1)[0] or "none"
        with self._lock:
            self.log.append(record)
            tally = self._tally
            tally[f"requests|{record.kind}"] += 1
            tally[f"sent|{record.kind}"] += record.bytes
            tally[f"received|{record.kind}"] += record.received_bytes
            tally[f"statuses|{record.kind}:{record.status}"] += 1
            tally[f"requests|agent:{agent}"] += 1

    # -- documents ---------------------------------------------------------------------

    def etag(self, entry: Entry) -> str:
        key = f"{entry.key}:{entry.etag_revision}"
        return '"' + hashlib.sha1(key.encode()).hexdigest()[:16] + '"'

    def robots_txt(self) -> str:
        lines = ["User-agent: *", "Disallow: /trap/"]
        if self.crawl_delay_s is not None:
            lines.append(f"Crawl-delay: {self.crawl_delay_s:g}")
        lines.append(f"Sitemap: {self.base_url}sitemap_index.xml")
        return "\n".join(lines) + "\n"

    def _sitemap_chunks(self) -> list[list[Entry]]:
        oldest_first = self.live()[::-1]
        return [
            oldest_first[k : k + SITEMAP_PAGE] for k in range(0, len(oldest_first), SITEMAP_PAGE)
        ] or [[]]

    def sitemap_index(self) -> str:
        newest = max((e.last_modified for e in self.live()), default=self.started)
        names = [f"sitemaps/posts-{k + 1}.xml" for k in range(len(self._sitemap_chunks()))]
        if self.news_sitemap:
            names.append("news-sitemap.xml")
        items = "".join(
            f"<sitemap><loc>{self.base_url}{name}</loc><lastmod>{newest.isoformat()}</lastmod>"
            "</sitemap>"
            for name in names
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{items}'
            "</sitemapindex>"
        )

    def sitemap(self, number: int) -> str | None:
        chunks = self._sitemap_chunks()
        if not 1 <= number <= len(chunks):
            return None
        base = self.base_url.rstrip("/")
        urls = "".join(
            f"<url><loc>{base}{e.path}</loc><lastmod>{e.last_modified.isoformat()}</lastmod></url>"
            for e in chunks[number - 1]
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
        )

    def news_sitemap_xml(self) -> str | None:
        if not self.news_sitemap:
            return None
        name = html.escape(self.content.outlet.name)
        base = self.base_url.rstrip("/")
        recent = [e for e in self.live() if self.started - e.published < timedelta(days=2)]
        urls = "".join(
            f"<url><loc>{base}{e.path}</loc><news:news><news:publication>"
            f"<news:name>{name}</news:name><news:language>{e.lang}</news:language>"
            f"</news:publication><news:publication_date>{e.published.isoformat()}"
            f"</news:publication_date><news:title>{html.escape(e.title)}</news:title>"
            "</news:news></url>"
            for e in recent
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?><urlset '
            'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
            f"{urls}</urlset>"
        )

    def _feed_entries(self) -> list[tuple[str, Entry]]:
        base = self.base_url.rstrip("/")
        return [(base + e.path, e) for e in self.live()[: self.feed_items]]

    def rss2(self) -> str:
        items = "".join(
            f"<item><title>{html.escape(e.title)}</title><link>{url}</link>"
            f"<guid>{url}</guid><pubDate>{format_datetime(e.published)}</pubDate></item>"
            for url, e in self._feed_entries()
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>{html.escape(self.content.outlet.name)}</title><link>{self.base_url}</link>"
            f"<description>News</description>{items}</channel></rss>"
        )

    def atom(self) -> str:
        entries = "".join(
            f"<entry><title>{html.escape(e.title)}</title>"
            f'<link rel="alternate" href="{url}"/><id>{url}</id>'
            f"<published>{e.published.isoformat()}</published>"
            f"<updated>{e.last_modified.isoformat()}</updated></entry>"
            for url, e in self._feed_entries()
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{html.escape(self.content.outlet.name)}</title><id>{self.base_url}</id>"
            f"<updated>{self.started.isoformat()}</updated>{entries}</feed>"
        )

    def rss1(self) -> str:
        feed = self._feed_entries()
        seq = "".join(f'<rdf:li rdf:resource="{url}"/>' for url, _ in feed)
        items = "".join(
            f'<item rdf:about="{url}"><title>{html.escape(e.title)}</title>'
            f"<link>{url}</link><dc:date>{e.published.isoformat()}</dc:date></item>"
            for url, e in feed
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rdf:RDF '
            'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f'<channel rdf:about="{self.base_url}"><title>'
            f"{html.escape(self.content.outlet.name)}</title>"
            f"<link>{self.base_url}</link><description>News</description>"
            f"<items><rdf:Seq>{seq}</rdf:Seq></items></channel>{items}</rdf:RDF>"
        )

    def listing(self, lang: str | None, number: int) -> str | None:
        items = [e for e in self.live() if lang is None or e.lang == lang]
        start = (number - 1) * self.listing_size
        chunk = items[start : start + self.listing_size]
        if number > 1 and not chunk:
            return None
        base = f"/{lang}/" if lang else "/en/"
        more = f"{base}page/{number + 1}/" if start + self.listing_size < len(items) else ""
        return pages.listing_page(
            self.content.outlet,
            [(e.path, e.title, f"{e.published:%d %b %Y}") for e in chunk],
            more=more,
            trap="/trap/calendar/2031/01/" if lang is None else "",
            chrome=self.content.chrome(self),
        )

    def not_found(self, lang: str = "en") -> str:
        return pages.not_found_page(self.content.outlet, lang, self.content.chrome(self))

    def languages(self) -> set[str]:
        return {e.lang for e in self._entries.values()}


class _Server(ThreadingHTTPServer):
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


class _Handler(BaseHTTPRequestHandler):
    site: LocalSite
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
        with site._lock:
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
        self.site._record(
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
            with site._lock:
                rendered = site.listing(*listing)
            if rendered is None:
                self._text(404, "no such page", "text/plain", head=head)
                return "discovery", 404
            self._text(200, rendered, head=head)
            return "discovery", 200
        with site._lock:
            entry = site._by_path.get(path)
            missing = site.not_found() if entry is None else None
        if entry is None or missing is not None:
            self._text(404, missing or "", head=head)
            return "other", 404
        self._article(entry, query, head=head)
        return "article", self._status

    def _document(self, path: str) -> tuple[str, str] | None:
        site = self.site
        with site._lock:
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
            with site._lock:
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
            with site._lock:
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
        with site._lock:
            etag = site.etag(entry)
            modified = entry.last_modified
            validators = site.validators
        headers = [("Content-Type", HTML)]
        if validators:
            headers += [("ETag", etag), ("Last-Modified", format_datetime(modified, usegmt=True))]
            if self._not_modified(etag, modified):
                self._send(304, b"", headers, head=head)
                return
        with site._lock:
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


# -- a site in a process of its own -----------------------------------------------------


def serve_child(site: LocalSite, port: int = 0) -> None:
    """Serve `site` until killed, for a parent that started this process with
    `SiteProcess`: prints one JSON line with the port when ready, and exits when the
    parent does, so a benchmark that dies never leaves its site serving."""
    server = site.bind(port, control=True)
    parent = os.getppid()
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    server.serve_forever()


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


class SiteProcess(_Serving):
    """Starts a site in a subprocess (`command` ends in `serve_child`) and drives it
    through its control endpoints."""

    def __init__(self, command: Sequence[str], cwd: Path | None = None) -> None:
        self.command = list(command)
        self.cwd = cwd
        self.process: subprocess.Popen[str] | None = None
        self.port = 0

    def start(self) -> Self:
        self.process = subprocess.Popen(
            self.command, cwd=self.cwd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
            text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.stop()
            raise RuntimeError("the site did not start (see its stderr above)")
        self.port = int(json.loads(line)["port"])
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def running(self) -> bool:
        return self.process is not None

    def call(self, name: str, payload: dict[str, Any] | None = None) -> bytes:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(
            f"{self.base_url.rstrip('/')}{CONTROL}{name}",
            data=data,
            headers={"Content-Type": "application/json"} if data else {},
        )
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
            return bytes(response.read())

    def stats(self) -> dict[str, Any]:
        return dict(json.loads(self.call("stats")))

    def set_validators(self, on: bool) -> None:
        self.call("validators", {"on": on})


def traffic(before: dict[str, Any], after: dict[str, Any], kind: str = "article") -> dict[str, Any]:
    """What a site served between two `stats()` snapshots, for one kind of URL."""

    def diff(key: str) -> int:
        return int(after[key].get(kind, 0)) - int(before[key].get(kind, 0))

    statuses = {
        k.split(":", 1)[1]: v - before["statuses"].get(k, 0)
        for k, v in after["statuses"].items()
        if k.startswith(f"{kind}:") and v - before["statuses"].get(k, 0)
    }
    return {
        "requests": diff("requests"),
        "bytes_sent": diff("sent"),
        "bytes_received": diff("received"),
        "statuses": statuses,
        "site_cpu_s": round(after["cpu_s"] - before["cpu_s"], 2),
    }
