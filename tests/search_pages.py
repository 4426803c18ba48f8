"""Article pages and a small archive for the search tests.

The pages come from the local news site's renderer (presswatch.demo.pages: navigation,
ads, related links, footers around the article, as outlets lay them out) and are
recorded through `archive.capture.record_capture` like any crawl, so the search tests index what the archive really stores: extracted,
normalized text, versions, removals. Fixture pages from ../shared/fixtures are read in
place by the tests that use them, never copied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from archive.capture import CaptureResult, Exchange, record_capture
from archive.store import SourceOptions
from archive.store.models import Article
from archive.store.queries import upsert_source
from presswatch.demo import pages
from presswatch.runtime import Runtime

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
HTML_HEADERS = (("Content-Type", "text/html; charset=utf-8"),)

SOURCES = {
    "daily": ("https://daily.example/", ["en"], SourceOptions(topic="trafficking")),
    "wire": ("https://wire.example/", ["en"], SourceOptions()),
    "khnews": ("https://khnews.example/", ["km"], SourceOptions()),
}


def english_page(
    *,
    site: str,
    title: str,
    byline: str,
    published: str,
    paragraphs: list[str],
    raw_html: bool = False,
) -> str:
    """An article page as English-language outlets in the region lay them out (the local
    news site's renderer). Paragraphs are HTML-escaped unless `raw_html`."""
    outlet = pages.Outlet(
        name=site,
        nav=tuple((f"/{s.lower()}/", s) for s in ("Politics", "Business", "World", "Opinion")),
        footer=(f"© 2026 {site}. All rights reserved.",),
        footer_links=(("/about/", "About us"), ("/contact/", "Contact")),
        title_separator=" - ",
        head_script="window.dataLayer = window.dataLayer || []; dataLayer.push({'page': 'article'});",
    )
    article = pages.ArticlePage(
        title=title,
        paragraphs=paragraphs,
        byline=f"By {byline}",
        published=published,
        share="Share this story: Facebook Twitter Telegram",
        related=[
            (f"/news/related-{i}/", f"Related: regional court hears case {i}") for i in range(4)
        ],
        related_heading="Related stories",
        raw_html=raw_html,
        article_class="post",
        body_class="entry-content",
    )
    chrome = pages.Chrome(
        ad="Best rates on condos in Phnom Penh, call now",
        ad_href="https://ads.example/click?id=77",
    )
    return pages.article_page(outlet, article, chrome)


def khmer_page(*, title: str, published: str, paragraphs: list[str]) -> str:
    """A Khmer news page (site chrome in Khmer too)."""
    outlet = pages.Outlet(
        name="ព័ត៌មានខ្មែរ",
        nav=(("/", "ទំព័រដើម"), ("/category/news/", "ព័ត៌មាន"), ("/category/sport/", "កីឡា")),
        footer=("រក្សាសិទ្ធិ © ២០២៦ ព័ត៌មានខ្មែរ",),
        title_separator=" - ",
    )
    article = pages.ArticlePage(
        title=title,
        paragraphs=paragraphs,
        lang="km",
        byline="ដោយ អ្នកយកព័ត៌មាន",
        published=published,
        published_label=published[:10],
        article_class="post",
        body_class="entry-content",
    )
    return pages.article_page(outlet, article, pages.Chrome(trending=["ផ្សាយពាណិជ្ជកម្ម"]))


NOT_FOUND = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Page not found - Wire</title></head><body>
<header><nav><a href="/">Home</a> <a href="/world/">World</a></nav></header>
<main><h1>Oops! That page can't be found.</h1>
<p>It looks like nothing was found at this location. Maybe try a search?</p></main>
<footer>© 2026 Wire.</footer></body></html>"""


def exchange(url: str, body: str, at: datetime, *, status: int = 200, source: str) -> Exchange:
    return Exchange(
        requested_url=url,
        final_url=url,
        fetched_at=at,
        status=status,
        headers=HTML_HEADERS,
        body=body.encode("utf-8"),
        source=source,
    )


def add_sources(rt: Runtime) -> None:
    with rt.sessions.begin() as session:
        for name, (base, langs, config) in SOURCES.items():
            upsert_source(session, name=name, base_url=base, languages=langs, config=config, now=T0)


def record(rt: Runtime, ex: Exchange) -> CaptureResult:
    with rt.sessions.begin() as session:
        return record_capture(session, ex, warc=rt.warc, options=rt.record_options())


def article_id(rt: Runtime, url: str) -> int:
    with rt.sessions() as session:
        found = session.scalars(select(Article.id).where(Article.url == url)).first()
    assert found is not None, f"no article at {url}"
    return found


# -- the contract archive ---------------------------------------------------------------

RAID_V1 = [
    "Police raided a scam compound in Sihanoukville on Tuesday and freed dozens of workers "
    "who said they had been trafficked from neighbouring countries and forced to work.",
    "Workers told reporters the compound was owned by the tycoon Ly Yong Phat, and that "
    "guards beat anyone who failed to meet daily targets for online fraud.",
    "A provincial police spokesman said the investigation would continue and that everyone "
    "responsible for the forced labour would be prosecuted under the law.",
    "Rights groups welcomed the raid but said thousands more people remain trapped in "
    "similar compounds along the coast and near the border.",
]
# The edit drops the paragraph naming the owner: that text is only in version 1.
RAID_V2 = [RAID_V1[0], RAID_V1[2], RAID_V1[3]]

KHMER_PARAGRAPHS = [
    "ប៉ូលិសបានរំដោះជនរងគ្រោះពីការជួញដូរមនុស្សចំនួនហាសិបនាក់ពីមជ្ឈមណ្ឌលបោកប្រាស់តាមអ៊ីនធឺណិតនៅខេត្តព្រះសីហនុ។",
    "ជនរងគ្រោះទាំងនោះបានប្រាប់អ្នកសារព័ត៌មានថា ពួកគេត្រូវបានបង្ខំឲ្យធ្វើការរាល់ថ្ងៃ ហើយត្រូវបានវាយដំ។",
    "អាជ្ញាធរបាននិយាយថា ការស៊ើបអង្កេតនឹងបន្តទៅមុខទៀត ដើម្បីស្វែងរកអ្នកពាក់ព័ន្ធទាំងអស់។",
]


@dataclass
class ContractArchive:
    """Article ids of the contract archive, by role."""

    raid: int = 0  # daily, edited: v1 names the owner, v2 does not
    rescue: int = 0  # daily, live
    takedown: int = 0  # wire, removed after two 404s
    khmer: int = 0  # khnews, live, Khmer
    escaping: int = 0  # wire, text with markup characters
    bulletins: list[int] = field(default_factory=list)  # wire, 12 dated bulletins


def build_contract_archive(rt: Runtime) -> ContractArchive:
    """Record the contract archive; the last capture is at T0 + 3 days."""
    add_sources(rt)
    ids = ContractArchive()

    raid_url = "https://daily.example/news/police-raid-scam-compound/"
    raid: dict[str, Any] = dict(
        site="The Daily",
        title="Police raid scam compound in Sihanoukville",
        byline="Sok Chea",
        published="2026-02-20T09:00:00+07:00",
    )
    record(rt, exchange(raid_url, english_page(**raid, paragraphs=RAID_V1), T0, source="daily"))
    edited = record(
        rt,
        exchange(
            raid_url,
            english_page(**raid, paragraphs=RAID_V2),
            T0 + timedelta(days=1),
            source="daily",
        ),
    )
    assert edited.events == ("edited",), edited
    ids.raid = article_id(rt, raid_url)

    rescue_url = "https://daily.example/news/rescued-workers-return-home/"
    record(
        rt,
        exchange(
            rescue_url,
            english_page(
                site="The Daily",
                title="Rescued workers return home after months in compound",
                byline="Mao Sreyneang",
                published="2026-01-10T10:00:00+07:00",
                paragraphs=[
                    "Forty rescued workers returned home on Friday, weeks after a raid freed them "
                    "from a compound where they say they were held as trafficking victims.",
                    "Families gathered at the border checkpoint, some of them waiting since dawn "
                    "to see relatives they had not heard from for almost a year.",
                    "Officials promised support, but several of the workers said they still owed "
                    "recruiters money and feared they would be pressured to go back.",
                ],
            ),
            T0,
            source="daily",
        ),
    )
    ids.rescue = article_id(rt, rescue_url)

    takedown_url = "https://wire.example/2026/02/casino-licence-revoked/"
    record(
        rt,
        exchange(
            takedown_url,
            english_page(
                site="Wire",
                title="Casino licence revoked after Prince Group inquiry",
                byline="Wire staff",
                published="2026-02-05T08:00:00+07:00",
                paragraphs=[
                    "Regulators revoked the licence of a coastal casino on Monday after an "
                    "inquiry linked it to companies controlled by the Prince Group.",
                    "The inquiry found that the casino's accounts had been used to move money "
                    "from online scams, according to documents seen by reporters.",
                    "The company did not respond to repeated requests for comment before "
                    "this story was published.",
                ],
            ),
            T0,
            source="wire",
        ),
    )
    for hours in (24, 48):
        record(
            rt,
            exchange(
                takedown_url, NOT_FOUND, T0 + timedelta(hours=hours), status=404, source="wire"
            ),
        )
    ids.takedown = article_id(rt, takedown_url)

    khmer_url = "https://khnews.example/news/4412/"
    record(
        rt,
        exchange(
            khmer_url,
            khmer_page(
                title="ប៉ូលិសរំដោះជនរងគ្រោះពីការជួញដូរមនុស្ស",
                published="2026-02-25T09:00:00+07:00",
                paragraphs=KHMER_PARAGRAPHS,
            ),
            T0,
            source="khnews",
        ),
    )
    ids.khmer = article_id(rt, khmer_url)

    escaping_url = "https://wire.example/2026/02/ministry-statement/"
    record(
        rt,
        exchange(
            escaping_url,
            english_page(
                site="Wire",
                title="Ministry statement on <b>bold</b> claims & rumours",
                byline="Wire staff",
                published="2026-02-12T08:00:00+07:00",
                paragraphs=[
                    "The ministry rejected what it called &lt;b&gt;bold claims&lt;/b&gt; &amp; "
                    "rumours about officials protecting compound owners.",
                    "Its statement, posted with a &lt;script&gt;alert(1)&lt;/script&gt; tag left "
                    "in by mistake, said every complaint would be &quot;examined fully&quot;.",
                    "Opposition lawmakers said the statement avoided the specific allegations "
                    "made by workers who had escaped from the compounds.",
                ],
                raw_html=True,
            ),
            T0,
            source="wire",
        ),
    )
    ids.escaping = article_id(rt, escaping_url)

    for i in range(12):
        url = f"https://wire.example/2026/01/bulletin-{i:02d}/"
        record(
            rt,
            exchange(
                url,
                english_page(
                    site="Wire",
                    title=f"Morning bulletin number {i}",
                    byline="Wire desk",
                    published=f"2026-01-{i + 1:02d}T06:00:00+07:00",
                    paragraphs=[
                        f"Bulletin {i}: the main headlines from courts, parliament and the "
                        "provinces, gathered by the overnight desk for early readers.",
                        "Weather across the country stays hot and dry, with storms expected "
                        "along the coast later in the week according to forecasters.",
                        f"Market prices for rice and fuel were stable in bulletin {i}, traders "
                        "in the capital said on the phone before the markets opened.",
                    ],
                ),
                T0 + timedelta(days=2, minutes=i),
                source="wire",
            ),
        )
        ids.bulletins.append(article_id(rt, url))
    return ids
