"""`recheck`: fetch archived articles whose next check is due (`-a all=1`: every one).

Each request carries the article's validators (If-None-Match / If-Modified-Since) unless
its source is `render = true` (its text is the rendered page's, which a 304 for the
server's bytes says nothing of) or a full fetch is due (presswatch.schedule decides; at
least daily, because ETags lie).
Rechecks are never dropped by the dupefilter: they are `dont_filter`, except with the
shared Redis dupefilter, where a fingerprint naming the article, its due time and the
hour lets several machines share the queue without checking one article twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC
from typing import Any

from scrapy import Request

from crawler.spiders.base import PresswatchSpider


class RecheckSpider(PresswatchSpider):
    name = "recheck"

    def __init__(self, *args: Any, all: str | bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.all_articles = str(all).lower() in ("1", "true", "yes")

    async def start(self) -> AsyncIterator[Request]:
        now = self._now()
        names = [s.name for s in self.selected_sources()]
        # The query runs on the writer thread: it keeps the reactor free and reads
        # after every capture already queued has been written.
        targets = await asyncio.wrap_future(
            self.ctx.writer().submit(
                self.ctx.due_targets,
                names,
                all_articles=self.all_articles,
                limit=self.limit,
                now=now,
            )
        )
        shared = bool(self.crawler.settings.get("PRESSWATCH_REDIS"))
        self.ctx.counters.add("due", len(targets))
        hour = now.astimezone(UTC).strftime("%Y%m%d%H")
        for target in targets:
            source = self.ctx.sources[target.source]
            fingerprint = None
            if shared:
                due = target.due.isoformat() if target.due else "never"
                fingerprint = f"recheck:{target.article_id}:{due}:{hour}"
            yield self.article_request(
                target.url,
                source,
                kind="recheck",
                article_id=target.article_id,
                # A rendered page's text depends on more than the server's bytes: a
                # 304 for them would say nothing of it, so it is fetched whole.
                headers=None if source.render else target.headers,
                fingerprint=fingerprint,
            )
