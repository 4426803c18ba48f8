"""A local news site on 127.0.0.1 for the demo, the tests and the benchmark.

It serves "The Mekong Ledger" (presswatch.demo.content) the way a real outlet's CMS
does: pages full of churn that must not read as edits (rotating ads, a view counter, a
"rendered at" clock, trending links, comments), a robots.txt with a crawler trap and an
optional Crawl-delay, a sitemap index with a plain and a Google News sitemap, RSS 2.0,
RSS 1.0 and Atom feeds, listing pages with pagination, and conditional requests (ETag /
If-None-Match, Last-Modified / If-Modified-Since).

Every request is logged server-side (`NewsSite.log`), so tests can assert what the
crawler really sent: validators, User-Agent, spacing, bytes transferred.

Articles switch between modes to play every way an article disappears or fails: edited,
404, 410, redirect home, redirect to another article, soft-404, 503, slow, redirect
loop, huge body, binary body, and an ETag that lies (content changed, ETag kept).

Standard library only; one thread per connection (`ThreadingHTTPServer`).
"""

from __future__ import annotations

import hashlib
import html
import itertools
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from presswatch.demo.content import DEMO_ARTICLES, DemoArticle

SITE_NAME = "The Mekong Ledger"
PAGE_SIZE = 10


class Mode(StrEnum):
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
    header_bytes: int
    body_bytes: int
    at: float  # time.monotonic() when the request arrived
    user_agent: str | None
    if_none_match: str | None
    if_modified_since: str | None

    @property
    def bytes(self) -> int:
        return self.header_bytes + self.body_bytes


@dataclass
class _Entry:
    article: DemoArticle
    published: datetime
    modified: datetime
    revision: int = 1
    etag_revision: int = 1  # stays behind `revision` when the ETag lies
    mode: Mode = Mode.OK
    target: str | None = None  # slug for REDIRECT_ARTICLE
    delay_s: float = 0.0
    views: int = 0


@dataclass
class NewsSite:
    articles: Sequence[DemoArticle] = DEMO_ARTICLES
    crawl_delay_s: float | None = None
    started: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    robots_status: int = 200
    huge_bytes: int = 3_000_000
    # Extra page furniture (mega-menu, inline config, link-heavy footer) in KiB, so
    # pages weigh what real news pages weigh (100-300 KiB) when a benchmark needs it.
    chrome_kb: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        for article in self.articles:
            published = self.started - timedelta(hours=article.age_hours)
            self._entries[article.slug] = _Entry(article, published, published)
        self.log: list[RequestRecord] = []
        self._furniture = _furniture(self.chrome_kb * 1024)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._counter = itertools.count(1)

    # -- lifecycle -------------------------------------------------------------------

    def start(self, port: int = 0) -> NewsSite:
        site = self

        class Handler(_Handler):
            pass

        Handler.site = site
        self._server = _Server(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="news-site", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> NewsSite:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the site first"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    ARTICLE_PATTERN = r"^https?://127\.0\.0\.1(:\d+)?/(en|km)/\d{4}/\d{2}/[a-z0-9-]+/$"

    # -- addressing ------------------------------------------------------------------

    def path_of(self, slug: str) -> str:
        entry = self._entries[slug]
        return f"/{entry.article.lang}/{entry.published:%Y/%m}/{slug}/"

    def url_of(self, slug: str) -> str:
        return self.base_url.rstrip("/") + self.path_of(slug)

    def slugs(self) -> list[str]:
        return list(self._entries)

    def article(self, slug: str) -> DemoArticle:
        return self._entries[slug].article

    def _by_path(self, path: str) -> _Entry | None:
        parts = [p for p in path.split("/") if p]
        if len(parts) == 4 and parts[0] in ("en", "km"):
            entry = self._entries.get(parts[3])
            if entry is not None and self.path_of(parts[3]) == path:
                return entry
        return None

    # -- mutations -------------------------------------------------------------------

    def replace(self, slug: str, article: DemoArticle, *, keep_etag: bool = False) -> None:
        """Edit an article (new revision, new Last-Modified; the ETag lies if asked)."""
        with self._lock:
            entry = self._entries[slug]
            entry.article = article
            entry.revision += 1
            if not keep_etag:
                entry.etag_revision = entry.revision
                entry.modified = max(datetime.now(UTC).replace(microsecond=0), entry.modified)

    def add(self, article: DemoArticle) -> None:
        with self._lock:
            published = datetime.now(UTC).replace(microsecond=0) - timedelta(
                hours=article.age_hours
            )
            self._entries[article.slug] = _Entry(article, published, published)

    def set_mode(
        self, slug: str, mode: Mode | str, *, target: str | None = None, delay_s: float = 0.0
    ) -> None:
        with self._lock:
            entry = self._entries[slug]
            entry.mode = Mode(mode)
            entry.target = target
            entry.delay_s = delay_s

    def requests_to(self, path: str) -> list[RequestRecord]:
        with self._lock:
            return [r for r in self.log if r.path.split("?", 1)[0] == path]

    def clear_log(self) -> None:
        with self._lock:
            self.log.clear()

    # -- rendering -------------------------------------------------------------------

    def _etag(self, entry: _Entry) -> str:
        key = f"{entry.article.slug}:{entry.etag_revision}"
        return '"' + hashlib.sha1(key.encode()).hexdigest()[:16] + '"'

    def _live(self) -> list[tuple[str, _Entry]]:
        return sorted(
            ((s, e) for s, e in self._entries.items() if e.mode is not Mode.NOT_FOUND),
            key=lambda se: se[1].published,
            reverse=True,
        )

    def _chrome(self, title: str, main: str, lang: str = "en", head: str = "") -> str:
        n = next(self._counter)
        ads = (
            "Bank with Mekong Trust: 4.5% on savings",
            "Fly Phnom Penh to Bangkok from $59",
            "New condos in BKK1: book a viewing",
            "Learn English online: first month free",
        )
        trending = [e.article.title for _, e in self._live()[: 4 + n % 3]]
        trend_html = "".join(f"<li>{html.escape(t)}</li>" for t in trending)
        now = datetime.now(UTC).strftime("%H:%M:%S")
        return (
            f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)} | {SITE_NAME}</title>{head}"
            f"<script>window.__pv={n};</script></head><body>"
            f'<header><a href="/">{SITE_NAME}</a><nav><a href="/en/">News</a> '
            f'<a href="/km/">ព័ត៌មាន</a> <a href="/about/">About</a></nav>'
            f'<div class="ad">Advertisement: {ads[n % len(ads)]} (ref {n * 7919 % 10007})</div>'
            f"</header>{self._furniture}{main}"
            f"<aside><h3>Trending</h3><ul>{trend_html}</ul></aside>"
            f"<footer><p>Page rendered at {now} UTC.</p>"
            f"<p>&copy; {self.started.year} {SITE_NAME}. Demo site of Presswatch.</p></footer>"
            "</body></html>"
        )

    def render_article(self, entry: _Entry) -> str:
        a = entry.article
        entry.views += 1
        paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in a.paragraphs)
        related = [(s, e) for s, e in self._live() if s != a.slug and e.article.lang == a.lang][:3]
        related_html = "".join(
            f'<li><a href="{self.path_of(s)}">{html.escape(e.article.title)}</a></li>'
            for s, e in related
        )
        comments = "".join(
            f'<div class="comment"><b>{html.escape(who)}</b>: {html.escape(what)}</div>'
            for who, what in a.comments
        )
        canonical = self.base_url.rstrip("/") + self.path_of(a.slug)
        author = a.byline.removeprefix("By ").removeprefix("ដោយ ")
        head = (
            f'<link rel="canonical" href="{canonical}">'
            f'<meta property="og:title" content="{html.escape(a.title)}">'
            f'<meta name="author" content="{html.escape(author)}">'
            f'<meta property="article:published_time" content="{entry.published.isoformat()}">'
        )
        main = (
            f'<main><article><p class="section">{html.escape(a.section)}</p>'
            f"<h1>{html.escape(a.title)}</h1>"
            f'<p class="byline">{html.escape(a.byline)}</p>'
            f'<time datetime="{entry.published.isoformat()}">'
            f"{entry.published:%d %B %Y %H:%M}</time>"
            f'<div class="views">{1000 + entry.views * 13} views</div>'
            f'<div class="article-body">{paragraphs}</div></article>'
            f'<section class="related"><h3>Related</h3><ul>{related_html}</ul></section>'
            f'<section class="comments"><h3>Comments ({len(a.comments)})</h3>{comments}'
            "</section></main>"
        )
        return self._chrome(a.title, main, lang=a.lang, head=head)

    def render_soft_404(self) -> str:
        main = (
            "<main><h1>Page not found</h1><p>Sorry, the page you are looking for could not "
            'be found. It may have been moved or deleted.</p><p><a href="/">Back to the '
            "front page</a></p></main>"
        )
        return self._chrome("Page not found", main)

    def render_listing(self, lang: str | None, page: int) -> str | None:
        items = [(s, e) for s, e in self._live() if lang is None or e.article.lang == lang]
        start = (page - 1) * PAGE_SIZE
        chunk = items[start : start + PAGE_SIZE]
        if page > 1 and not chunk:
            return None
        links = "".join(
            f'<li><a href="{self.path_of(s)}">{html.escape(e.article.title)}</a> '
            f"<small>{e.published:%d %b %Y}</small></li>"
            for s, e in chunk
        )
        base = f"/{lang}/" if lang else "/en/"
        more = ""
        if start + PAGE_SIZE < len(items):
            more = f'<a class="next" href="{base}page/{page + 1}/">Older stories</a>'
        trap = '<a href="/trap/calendar/2031/01/">Event calendar</a>' if lang is None else ""
        return self._chrome(
            "Latest news", f"<main><h1>Latest</h1><ul>{links}</ul>{more} {trap}</main>"
        )

    def robots_txt(self) -> str:
        lines = ["User-agent: *", "Disallow: /trap/"]
        if self.crawl_delay_s is not None:
            lines.append(f"Crawl-delay: {self.crawl_delay_s:g}")
        lines.append(f"Sitemap: {self.base_url}sitemap_index.xml")
        return "\n".join(lines) + "\n"

    def sitemap_index(self) -> str:
        newest = max((e.modified for _, e in self._live()), default=self.started)
        items = "".join(
            f"<sitemap><loc>{self.base_url}{name}</loc><lastmod>{newest.isoformat()}</lastmod>"
            "</sitemap>"
            for name in ("sitemap-posts.xml", "news-sitemap.xml")
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{items}'
            "</sitemapindex>"
        )

    def sitemap_posts(self) -> str:
        urls = "".join(
            f"<url><loc>{self.url_of(s)}</loc><lastmod>{e.modified.isoformat()}</lastmod></url>"
            for s, e in self._live()
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
        )

    def news_sitemap(self) -> str:
        recent = [(s, e) for s, e in self._live() if self.started - e.published < timedelta(days=2)]
        urls = "".join(
            f"<url><loc>{self.url_of(s)}</loc><news:news><news:publication>"
            f"<news:name>{SITE_NAME}</news:name><news:language>{e.article.lang}</news:language>"
            f"</news:publication><news:publication_date>{e.published.isoformat()}"
            f"</news:publication_date><news:title>{html.escape(e.article.title)}</news:title>"
            "</news:news></url>"
            for s, e in recent
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?><urlset '
            'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
            f"{urls}</urlset>"
        )

    def rss2(self) -> str:
        items = "".join(
            f"<item><title>{html.escape(e.article.title)}</title><link>{self.url_of(s)}</link>"
            f"<guid>{self.url_of(s)}</guid><pubDate>{format_datetime(e.published)}</pubDate>"
            "</item>"
            for s, e in self._live()[:20]
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>{SITE_NAME}</title><link>{self.base_url}</link>"
            f"<description>News</description>{items}</channel></rss>"
        )

    def atom(self) -> str:
        entries = "".join(
            f"<entry><title>{html.escape(e.article.title)}</title>"
            f'<link rel="alternate" href="{self.url_of(s)}"/><id>{self.url_of(s)}</id>'
            f"<published>{e.published.isoformat()}</published>"
            f"<updated>{e.modified.isoformat()}</updated></entry>"
            for s, e in self._live()[:20]
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{SITE_NAME}</title><id>{self.base_url}</id>"
            f"<updated>{self.started.isoformat()}</updated>{entries}</feed>"
        )

    def rss1(self) -> str:
        live = self._live()[:20]
        seq = "".join(f'<rdf:li rdf:resource="{self.url_of(s)}"/>' for s, _ in live)
        items = "".join(
            f'<item rdf:about="{self.url_of(s)}"><title>{html.escape(e.article.title)}</title>'
            f"<link>{self.url_of(s)}</link><dc:date>{e.published.isoformat()}</dc:date></item>"
            for s, e in live
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rdf:RDF '
            'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f'<channel rdf:about="{self.base_url}"><title>{SITE_NAME}</title>'
            f"<link>{self.base_url}</link><description>News</description>"
            f"<items><rdf:Seq>{seq}</rdf:Seq></items></channel>{items}</rdf:RDF>"
        )


def _furniture(size: int) -> str:
    """Menus, an inline config blob and a footer of links: what surrounds an article
    on a real news page and what an extractor must wade through."""
    if size <= 0:
        return ""
    sections = ("Politics", "Business", "Courts", "Provinces", "World", "Opinion", "Sport")
    parts: list[str] = []
    total = 0
    i = 0
    while total < size:
        section = sections[i % len(sections)]
        block = (
            f'<div class="menu-col"><h4>{section} {i}</h4><ul>'
            + "".join(
                f'<li><a href="/en/section/{section.lower()}/{i}-{j}/">{section} topic {i}-{j}'
                "</a></li>"
                for j in range(12)
            )
            + "</ul></div>"
            + f'<script>window.__cfg_{i}={{"slot":"{section}-{i}","sizes":[[300,250],[728,90]],'
            f'"targeting":{{"section":"{section.lower()}","page":{i}}}}};</script>'
        )
        parts.append(block)
        total += len(block)
        i += 1
    return '<nav class="mega-menu">' + "".join(parts) + "</nav>"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        # A crawler that gives up on a slow page hangs up mid-answer; that is the
        # test, not a server problem worth a traceback.
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    site: NewsSite
    protocol_version = "HTTP/1.1"
    server_version = "MekongLedger/1.0"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return  # the site keeps its own log

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self._serve(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self._serve(head=False)

    def _send(
        self,
        status: int,
        body: bytes = b"",
        headers: Iterable[tuple[str, str]] = (),
        *,
        head: bool = False,
        arrived: float,
    ) -> None:
        headers = list(headers)
        if status != 304:
            headers.append(("Content-Length", str(len(body))))
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.end_headers()
        sent = b"" if head or status == 304 else body
        if sent:
            self.wfile.write(sent)
        header_bytes = len(f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}\r\n") + sum(
            len(f"{k}: {v}\r\n") for k, v in headers
        )
        header_bytes += len(
            f"Server: {self.version_string()}\r\nDate: {self.date_time_string()}\r\n\r\n"
        )
        with self.site._lock:
            self.site.log.append(
                RequestRecord(
                    method=self.command,
                    path=self.path,
                    status=status,
                    header_bytes=header_bytes,
                    body_bytes=len(sent),
                    at=arrived,
                    user_agent=self.headers.get("User-Agent"),
                    if_none_match=self.headers.get("If-None-Match"),
                    if_modified_since=self.headers.get("If-Modified-Since"),
                )
            )

    def _text(self, status: int, text: str, ctype: str, *, head: bool, arrived: float,
              extra: Iterable[tuple[str, str]] = ()) -> None:  # fmt: skip
        self._send(
            status,
            text.encode("utf-8"),
            [("Content-Type", ctype), *extra],
            head=head,
            arrived=arrived,
        )

    def _serve(self, *, head: bool) -> None:
        arrived = time.monotonic()
        site = self.site
        parts = urlsplit(self.path)
        path, query = parts.path, parts.query
        html_type = "text/html; charset=utf-8"
        xml_type = "application/xml; charset=utf-8"
        if path == "/robots.txt":
            if site.robots_status != 200:
                self._text(
                    site.robots_status, "unavailable", "text/plain", head=head, arrived=arrived
                )
                return
            self._text(
                200, site.robots_txt(), "text/plain; charset=utf-8", head=head, arrived=arrived
            )
            return
        documents = {
            "/sitemap_index.xml": (site.sitemap_index, xml_type),
            "/sitemap-posts.xml": (site.sitemap_posts, xml_type),
            "/news-sitemap.xml": (site.news_sitemap, xml_type),
            "/feed/": (site.rss2, "application/rss+xml; charset=utf-8"),
            "/atom.xml": (site.atom, "application/atom+xml; charset=utf-8"),
            "/rss1.xml": (site.rss1, "application/rdf+xml; charset=utf-8"),
        }
        if path in documents:
            render, ctype = documents[path]
            with site._lock:
                text = render()
            self._text(200, text, ctype, head=head, arrived=arrived)
            return
        if path.startswith("/trap/"):
            depth = path.count("/")
            trap = f'<a href="{path}next-{depth}/">next</a>'
            self._text(200, trap, html_type, head=head, arrived=arrived)
            return
        listing = self._listing_of(path)
        if listing is not None:
            lang, number = listing
            with site._lock:
                rendered = site.render_listing(lang, number)
            if rendered is None:
                self._text(404, "no such page", "text/plain", head=head, arrived=arrived)
            else:
                self._text(200, rendered, html_type, head=head, arrived=arrived)
            return
        with site._lock:
            entry = site._by_path(path)
        if entry is None:
            self._text(404, site.render_soft_404(), html_type, head=head, arrived=arrived)
            return
        self._serve_article(entry, query, head=head, arrived=arrived)

    def _listing_of(self, path: str) -> tuple[str | None, int] | None:
        if path in ("/", ""):
            return None, 1
        parts = [p for p in path.split("/") if p]
        if parts and parts[0] in ("en", "km"):
            if len(parts) == 1:
                return parts[0], 1
            if len(parts) == 3 and parts[1] == "page" and parts[2].isdigit():
                return parts[0], int(parts[2])
        return None

    def _serve_article(self, entry: _Entry, query: str, *, head: bool, arrived: float) -> None:
        site = self.site
        html_type = "text/html; charset=utf-8"
        mode = entry.mode
        path = site.path_of(entry.article.slug)
        if mode is Mode.NOT_FOUND:
            self._text(404, site.render_soft_404(), html_type, head=head, arrived=arrived)
            return
        if mode is Mode.GONE:
            self._text(410, "<h1>Gone</h1>", html_type, head=head, arrived=arrived)
            return
        if mode is Mode.UNAVAILABLE:
            self._text(503, "<h1>Service Unavailable</h1>", html_type, head=head,
                       arrived=arrived, extra=[("Retry-After", "0")])  # fmt: skip
            return
        if mode is Mode.REDIRECT_HOME:
            self._send(301, b"", [("Location", site.base_url)], head=head, arrived=arrived)
            return
        if mode is Mode.REDIRECT_ARTICLE and entry.target:
            location = site.url_of(entry.target)
            self._send(301, b"", [("Location", location)], head=head, arrived=arrived)
            return
        if mode is Mode.LOOP:
            location = path if query else path + "?loop=1"
            self._send(302, b"", [("Location", location)], head=head, arrived=arrived)
            return
        if mode is Mode.SOFT_404:
            self._text(200, site.render_soft_404(), html_type, head=head, arrived=arrived)
            return
        if mode is Mode.BINARY:
            body = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)) * 64 + b"\n%%EOF\n"
            self._send(200, body, [("Content-Type", "application/pdf")], head=head, arrived=arrived)
            return
        if mode is Mode.HUGE:
            filler = ("<p>" + "lorem ipsum dolor sit amet " * 40 + "</p>\n").encode()
            body = (
                b"<html><body>" + filler * (site.huge_bytes // len(filler) + 1) + b"</body></html>"
            )
            self._send(200, body, [("Content-Type", html_type)], head=head, arrived=arrived)
            return
        if mode is Mode.SLOW and entry.delay_s:
            time.sleep(entry.delay_s)  # the server is slow; the client must time out
        with site._lock:
            etag = site._etag(entry)
            modified = entry.modified
        validators = [("ETag", etag), ("Last-Modified", format_datetime(modified, usegmt=True))]
        if self._not_modified(etag, modified):
            self._send(304, b"", validators, head=head, arrived=arrived)
            return
        with site._lock:
            text = site.render_article(entry)
        self._text(200, text, html_type, head=head, arrived=arrived,
                   extra=[*validators, ("Cache-Control", "max-age=60")])  # fmt: skip

    def _not_modified(self, etag: str, modified: datetime) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            return etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*"
        ims = self.headers.get("If-Modified-Since")
        if ims:
            try:
                since = parsedate_to_datetime(ims)
            except (TypeError, ValueError):
                return False
            return modified <= since
        return False
