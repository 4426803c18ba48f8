"""`save`: fetch one address now, asked for by a person (`presswatch save URL`).

The request is an ordinary article request: the same egress policy, robots.txt rules,
size caps, redirect handling and recording as a crawl, so a saved page is archived and
then watched like any other. Two differences, both so that nothing is recorded for a
save that was never sent: a robots.txt disallow is counted (`robots_forbidden`) as
everywhere, and an address the egress policy refuses before the first byte is sent
(`AddressRefused` on the address asked for, not on a redirect hop the outlet chose) is
counted as `save_refused` with its reason instead of becoming a capture. The command
checks the address before starting (`presswatch.saving`); this covers a name whose
DNS answer changed in between.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from scrapy import Request
from twisted.python.failure import Failure

from crawler.egress import AddressRefused
from crawler.items import FetchItem
from crawler.spiders.base import PresswatchSpider


class SaveSpider(PresswatchSpider):
    """Spider arguments: `url=URL` (the address), `source=NAME` (exactly one)."""

    name = "save"

    def __init__(self, *args: Any, url: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.url = url.strip()

    async def start(self) -> AsyncIterator[Request]:
        sources = self.selected_sources()
        if not self.url or len(sources) != 1:
            self.ctx.counters.problem("save: one url and one source are needed")
            return
        yield self.article_request(self.url, sources[0], kind="discover")

    def on_article_error(self, failure: Failure) -> Iterable[FetchItem]:
        request: Request = failure.request  # type: ignore[attr-defined]
        if isinstance(failure.value, AddressRefused) and not request.meta.get("pw_hops"):
            self.ctx.counters.add("save_refused")
            self.ctx.counters.problem(str(failure.value))
            return []
        return super().on_article_error(failure)

    def closed(self, reason: str) -> None:
        # One address saved is not a crawl of its source: its "last crawl" stays as is.
        return None
