"""`feed`: discover articles from RSS 1.0, RSS 2.0 and Atom feeds (feedparser).

Each entry's link becomes a candidate article; its published and updated dates are kept
as hints. feedparser is given the bytes and the response headers, so it picks the
charset the server declared, and never fetches anything itself.
"""

from __future__ import annotations

import calendar
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser
from scrapy import Request
from scrapy.http import Response

from crawler.context import SourceSpec
from crawler.items import HintItem
from crawler.spiders.base import PresswatchSpider


def _when(entry: Any, key: str) -> datetime | None:
    parsed = entry.get(f"{key}_parsed")
    if not parsed:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)


class FeedSpider(PresswatchSpider):
    name = "feed"

    async def start(self) -> AsyncIterator[Request]:
        for source in self.selected_sources():
            for url in source.feeds:
                yield self.document_request(url, source, "parse_feed")

    def parse_feed(self, response: Response, source: SourceSpec) -> Iterator[Request | HintItem]:
        headers = {
            k.decode("latin-1").lower(): v[0].decode("latin-1")
            for k, v in response.headers.items()
            if v
        }
        parsed = feedparser.parse(
            response.body, response_headers={**headers, "content-location": response.url}
        )
        if not parsed.entries and parsed.get("bozo"):
            self.document_problem(
                source, f"{response.url}: not a feed ({parsed.get('bozo_exception')})"
            )
            return
        self.ctx.counters.add("feed_entries", len(parsed.entries))
        for entry in parsed.entries:
            link = entry.get("link")
            if not link:
                continue
            published = _when(entry, "published")
            updated = _when(entry, "updated")
            hints: dict[str, Any] = {}
            if published:
                hints["feed_published"] = published.isoformat()
            if updated:
                hints["feed_updated"] = updated.isoformat()
            dates = [d for d in (published, updated) if d]
            yield from self.candidate(
                urljoin(response.url, link),
                source,
                hints=hints,
                newest=max(dates) if dates else None,
            )
