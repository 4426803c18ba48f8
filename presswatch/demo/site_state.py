"""What the local news site (presswatch.demo.site) holds and serves, without HTTP: its
articles (`Entry`, answering in a `Mode`), the changes the demo and tests make to them,
the log and tallies of every request, and the documents around the articles the way a
real outlet's CMS serves them: robots.txt (with a crawler trap and an optional
Crawl-delay), a sitemap index with sitemaps paged at 1,000 URLs and an optional Google
News sitemap, RSS 2.0, RSS 1.0 and Atom feeds, listing pages with pagination.

How it answers over HTTP is presswatch.demo.site_http's; serving it (a thread, a child
process) is presswatch.demo.site's. Standard library only.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from enum import StrEnum
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol, Self

from presswatch.demo import pages

__all__ = [
    "CONTROL",
    "SITEMAP_PAGE",
    "Content",
    "Entry",
    "Mode",
    "RequestRecord",
    "Serving",
    "SiteState",
]

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
    kind: str = "other"  # article | discovery | media (a page's images) | other
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

    def render(self, site: SiteState, entry: Entry) -> str | bytes:
        """The article page of a live article (called under the site's lock)."""
        ...

    def chrome(self, site: SiteState) -> pages.Chrome:
        """The churn around a listing or a not-found page."""
        ...

    def control(self, site: SiteState, name: str, payload: dict[str, Any]) -> Any:
        """Answer the parent's `/_site/<name>` call (child sites only); None: unknown."""
        ...


class Serving:
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


class SiteState(Serving):
    """One configurable news site, all but its HTTP server (`LocalSite` adds that).
    `content` decides the articles and their pages."""

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
        self.lock = threading.RLock()  # held while the site's state is read or changed
        self._entries: dict[str, Entry] = {}
        self._by_path: dict[str, Entry] = {}
        for entry in content.entries(self.started):
            self._put(entry)
        self.log: list[RequestRecord] = []
        self._tally: Counter[str] = Counter()
        self.counter = itertools.count(1)  # page views of the whole site, for churn
        # Extra behaviours by path, answered before anything else (tests add hostile
        # ones: a redirect to an internal address, a gzip bomb…). A route gets the
        # request handler and `head`, writes its own answer and returns the status.
        self.routes: dict[str, Callable[[BaseHTTPRequestHandler, bool], int]] = {}

    # -- addressing --------------------------------------------------------------------

    def _put(self, entry: Entry) -> None:
        self._entries[entry.key] = entry
        self._by_path[entry.path] = entry

    def entry(self, key: str) -> Entry:
        return self._entries[key]

    def entry_at(self, path: str) -> Entry | None:
        return self._by_path.get(path)

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
        with self.lock:
            entry = self._entries[key]
            entry.revision += 1
            if not keep_etag:
                entry.etag_revision = entry.revision
                now = (now or datetime.now(UTC)).replace(microsecond=0)
                entry.modified = max(now, entry.last_modified + timedelta(seconds=1))

    def set_mode(
        self, key: str, mode: Mode | str, *, target: str | None = None, delay_s: float = 0.0
    ) -> None:
        with self.lock:
            entry = self._entries[key]
            entry.mode = Mode(mode)
            entry.target = target
            entry.delay_s = delay_s

    def set_validators(self, on: bool) -> None:
        with self.lock:
            self.validators = on

    def requests_to(self, path: str) -> list[RequestRecord]:
        with self.lock:
            return [r for r in self.log if r.path.split("?", 1)[0] == path]

    def clear_log(self) -> None:
        with self.lock:
            self.log.clear()

    def stats(self) -> dict[str, Any]:
        """Requests, bytes and statuses by kind of URL, and this process's CPU time."""
        with self.lock:
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

    def record(self, record: RequestRecord) -> None:
        """Log one request and count it in `stats()`."""
        agent = (record.user_agent or "").split("/", 1)[0].split(" ", 1)[0] or "none"
        with self.lock:
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
