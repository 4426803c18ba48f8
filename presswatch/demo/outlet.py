"""The demo outlet, "The Mekong Ledger": presswatch.demo.content's articles as its CMS
serves them on the local site (presswatch.demo.site), for `presswatch demo` and the
crawl tests. Must not: decide what the crawler should detect (the tests and the demo's
script say that)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from presswatch.demo import pages
from presswatch.demo.content import DEMO_ARTICLES, DemoArticle
from presswatch.demo.site import Entry, LocalSite

OUTLET = pages.Outlet(
    name="The Mekong Ledger",
    nav=(("/en/", "News"), ("/km/", "ព័ត៌មាន"), ("/about/", "About")),
)
_ADS = (
    "Bank with Mekong Trust: 4.5% on savings",
    "Fly Phnom Penh to Bangkok from $59",
    "New condos in BKK1: book a viewing",
    "Learn English online: first month free",
)


class OutletContent:
    """The demo's articles (presswatch.demo.content) as the Ledger's CMS serves them:
    pages full of churn that must not read as edits (rotating ads, a view counter, a
    "rendered at" clock, trending links, comments)."""

    outlet = OUTLET
    article_pattern = r"^https?://127\.0\.0\.1(:\d+)?/(en|km)/\d{4}/\d{2}/[a-z0-9-]+/$"

    def __init__(self, articles: Sequence[DemoArticle], chrome_kb: int = 0) -> None:
        self.articles = articles
        # Extra page furniture in KiB, so pages weigh what real news pages weigh
        # (100-300 KiB) when a benchmark needs it.
        self.furniture = pages.furniture(chrome_kb * 1024)

    @staticmethod
    def entry_of(article: DemoArticle, now: datetime) -> Entry:
        published = now - timedelta(hours=article.age_hours)
        path = f"/{article.lang}/{published:%Y/%m}/{article.slug}/"
        return Entry(article.slug, path, article.lang, article.title, published, article)

    def entries(self, started: datetime) -> list[Entry]:
        notice = f"© {started.year} {OUTLET.name}. Demo site of Presswatch."
        self.outlet = replace(OUTLET, footer=(notice,))
        return [self.entry_of(a, started) for a in self.articles]

    def chrome(self, site: LocalSite) -> pages.Chrome:
        n = next(site.counter)
        return pages.Chrome(
            ad=f"{_ADS[n % len(_ADS)]} (ref {n * 7919 % 10007})",
            trending=[e.title for e in site.live()[: 4 + n % 3]],
            rendered_note=f"Page rendered at {datetime.now(UTC):%H:%M:%S} UTC.",
            page_script=f"window.__pv={n};",
            furniture=self.furniture,
        )

    def render(self, site: LocalSite, entry: Entry) -> str:
        a: DemoArticle = entry.item
        entry.views += 1
        related = [e for e in site.live() if e.key != entry.key and e.lang == entry.lang][:3]
        page = pages.ArticlePage(
            title=a.title,
            paragraphs=a.paragraphs,
            lang=a.lang,
            byline=a.byline,
            author=a.byline.removeprefix("By ").removeprefix("ដោយ "),
            published=entry.published.isoformat(),
            published_label=f"{entry.published:%d %B %Y %H:%M}",
            section=a.section,
            canonical=site.url_of(entry.key),
            views=1000 + entry.views * 13,
            related=[(e.path, e.title) for e in related],
            comments=a.comments,
        )
        return pages.article_page(self.outlet, page, self.chrome(site))

    def control(self, site: LocalSite, name: str, payload: dict[str, Any]) -> Any:
        return None


class NewsSite(LocalSite):
    """The demo outlet, "The Mekong Ledger", served from a thread of this process: what
    `presswatch demo` and the crawl tests run against."""

    ARTICLE_PATTERN = OutletContent.article_pattern

    def __init__(
        self,
        articles: Sequence[DemoArticle] = DEMO_ARTICLES,
        *,
        chrome_kb: int = 0,
        **options: Any,
    ) -> None:
        super().__init__(
            OutletContent(articles, chrome_kb), server_name="MekongLedger/1.0", **options
        )

    def article(self, slug: str) -> DemoArticle:
        item: DemoArticle = self.entry(slug).item
        return item

    def replace(self, slug: str, article: DemoArticle, *, keep_etag: bool = False) -> None:
        """Edit an article (new revision, new Last-Modified; the ETag lies if asked)."""
        with self.lock:
            entry = self.entry(slug)
            entry.item = article
            entry.title = article.title
            self.touch(slug, keep_etag=keep_etag)
