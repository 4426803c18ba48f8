"""`sitemap`: discover articles from sitemaps, sitemap indexes and Google News sitemaps.

Starts from each source's configured sitemaps and the `Sitemap:` lines of its
robots.txt. Children of an index are followed newest first (by `lastmod`) up to
`max_sitemaps` documents per source; entries keep `lastmod` and `news:publication_date`
as hints on the article (crawler.sitemaps explains why Scrapy's parser is not used).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

from protego import Protego
from scrapy import Request
from scrapy.http import Response

from crawler.context import SourceSpec
from crawler.items import HintItem
from crawler.sitemaps import SitemapEntry, parse_sitemap
from crawler.spiders.base import PresswatchSpider

_OLDEST = datetime.min.replace(tzinfo=UTC)


def _newest_first(entries: tuple[SitemapEntry, ...]) -> list[SitemapEntry]:
    return sorted(entries, key=lambda e: e.newest or _OLDEST, reverse=True)


class SitemapSpider(PresswatchSpider):
    name = "sitemap"

    def __init__(self, *args: Any, max_sitemaps: str | int = 50, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_sitemaps = int(max_sitemaps)
        self._sitemaps_seen: dict[str, set[str]] = {}

    async def start(self) -> AsyncIterator[Request]:
        for source in self.selected_sources():
            for url in source.sitemaps:
                request = self._sitemap_request(url, source)
                if request is not None:
                    yield request
            yield self.document_request(
                urljoin(source.base_url, "/robots.txt"),
                source,
                "parse_robots",
                dont_obey_robotstxt=True,
                pw_robots_discovery=True,
            )

    def _sitemap_request(self, url: str, source: SourceSpec) -> Request | None:
        seen = self._sitemaps_seen.setdefault(source.name, set())
        if url in seen or len(seen) >= self.max_sitemaps or self.refuse_scheme(source, url):
            return None
        seen.add(url)
        return self.document_request(url, source, "parse_sitemap", pw_doc_url=url)

    def parse_robots(self, response: Response, source: SourceSpec) -> Iterator[Request]:
        robots = Protego.parse(response.text[: 512 * 1024])
        for url in robots.sitemaps:
            request = self._sitemap_request(urljoin(response.url, url), source)
            if request is not None:
                yield request

    def parse_sitemap(self, response: Response, source: SourceSpec) -> Iterator[Request | HintItem]:
        sitemap = parse_sitemap(response.body)
        if sitemap.kind == "unknown":
            self.document_problem(source, f"{response.url}: not a sitemap ({sitemap.note})")
            return
        if sitemap.kind == "index":
            for entry in _newest_first(sitemap.entries):
                request = self._sitemap_request(urljoin(response.url, entry.loc), source)
                if request is not None:
                    yield request
            return
        self.ctx.counters.add("sitemap_entries", len(sitemap.entries))
        for entry in _newest_first(sitemap.entries):
            yield from self.candidate(
                urljoin(response.url, entry.loc), source, hints=entry.hints(), newest=entry.newest
            )
