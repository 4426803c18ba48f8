"""`listing`: discover articles from the links of listing pages (home, sections).

Links matching the source's `article_url_pattern` are candidate articles. Other links on
the same site are followed as further listing pages only when they sit under one of the
listing URLs (pagination such as `/news/page/2/`), up to `listing_depth` levels and
`listing_max_pages` pages per source, so a listing crawl can never wander the whole site.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

from scrapy import Request
from scrapy.http import Response

from archive.egress import ALLOWED_SCHEMES
from crawler.context import SourceSpec
from crawler.items import HintItem
from crawler.spiders.base import PresswatchSpider, host_of

_SKIP_SUFFIXES = (
    ".jpg",
    ".jpeg",
    ".png",
    ".gif",
    ".webp",
    ".svg",
    ".pdf",
    ".zip",
    ".mp3",
    ".mp4",
    ".css",
    ".js",
    ".xml",
    ".rss",
    ".ico",
)


class ListingSpider(PresswatchSpider):
    name = "listing"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: dict[str, set[str]] = {}

    async def start(self) -> AsyncIterator[Request]:
        for source in self.selected_sources():
            for url in source.listings:
                request = self._listing_request(url, source, depth=0)
                if request is not None:
                    yield request

    def _listing_request(self, url: str, source: SourceSpec, depth: int) -> Request | None:
        pages = self._pages.setdefault(source.name, set())
        key = url.split("#", 1)[0]
        if key in pages or len(pages) >= source.listing_max_pages:
            return None
        if urlsplit(key).scheme.lower() not in ALLOWED_SCHEMES:
            return None  # a same-host ftp: or similar link is not a listing page
        pages.add(key)
        return self.document_request(key, source, "parse_listing", pw_depth=depth)

    def parse_listing(self, response: Response, source: SourceSpec) -> Iterator[Request | HintItem]:
        if not hasattr(response, "xpath"):
            self.document_problem(source, f"{response.url}: not an HTML listing page")
            return
        depth = int(response.meta.get("pw_depth", 0))
        prefixes = [urlsplit(u).path for u in source.listings]
        for href in response.xpath("//a/@href").getall():
            url = urljoin(response.url, href.strip()).split("#", 1)[0]
            parts = urlsplit(url)
            if parts.scheme not in ALLOWED_SCHEMES or parts.path.lower().endswith(_SKIP_SUFFIXES):
                continue
            is_article = (
                self.ctx.article_regex(source).search(url)
                if source.article_url_pattern
                else host_of(url) == host_of(source.base_url) and len(parts.path.strip("/")) > 0
            )
            if is_article:
                yield from self.candidate(url, source)
                continue
            if (
                depth < source.listing_depth
                and host_of(url) == host_of(source.base_url)
                and any(parts.path.startswith(p) and p != "/" or parts.path == p for p in prefixes)
            ):
                request = self._listing_request(url, source, depth + 1)
                if request is not None:
                    yield request
