"""Helpers for archive tests: exchanges, recording, pages of our own, and the mutations
real outlets make.

The pages are the project's own (`own_page`): the demo outlet's English and Khmer
articles (`presswatch.demo.content`) in the outlet templates of `tests.search_pages`,
so every archive test runs in a bare clone. The mutations work on raw HTML, ours or
the shared real pages' (read in place from ../shared/fixtures by the quality gates,
never copied): noise that must not count as an edit, and edits, takedowns and failures
that must.
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from archive.capture import CaptureResult, Exchange, RedirectHop, record_capture
from archive.store.models import Capture, ChangeEvent, Version
from presswatch.demo.content import DEMO_ARTICLES, DemoArticle
from presswatch.runtime import Runtime
from tests.search_pages import english_page, khmer_page

HTML = (("Content-Type", "text/html; charset=utf-8"),)


def exchange(
    url: str,
    body: bytes | str = b"",
    *,
    at: datetime,
    status: int | None = 200,
    final: str | None = None,
    redirects: tuple[RedirectHop, ...] = (),
    error: str | None = None,
    headers: tuple[tuple[str, str], ...] = HTML,
    source: str | None = None,
) -> Exchange:
    if isinstance(body, str):
        body = body.encode("utf-8")
    return Exchange(
        requested_url=url,
        final_url=final or url,
        fetched_at=at,
        status=status,
        headers=headers if status is not None else (),
        body=body,
        redirects=redirects,
        error=error,
        source=source,
    )


def record(rt: Runtime, ex: Exchange) -> CaptureResult:
    with rt.sessions.begin() as session:
        return record_capture(session, ex, warc=rt.warc, options=rt.record_options())


def counts(rt: Runtime) -> tuple[int, int, int]:
    """(captures, versions, events) in the archive."""
    with rt.sessions() as s:
        return (
            s.scalar(select(func.count()).select_from(Capture)) or 0,
            s.scalar(select(func.count()).select_from(Version)) or 0,
            s.scalar(select(func.count()).select_from(ChangeEvent)) or 0,
        )


def events(rt: Runtime, article_id: int) -> list[tuple[str, list[str]]]:
    with rt.sessions() as s:
        rows = s.scalars(
            select(ChangeEvent).where(ChangeEvent.article_id == article_id).order_by(ChangeEvent.id)
        )
        return [(e.kind, list(e.how)) for e in rows]


# -- noise: bytes change, the article does not ------------------------------------------


def _before(html: str, tag: str, insert: str) -> str:
    idx = html.lower().rfind(tag)
    if idx < 0:
        return html + insert
    return html[:idx] + insert + html[idx:]


def _after_open(html: str, tag: str, insert: str) -> str:
    m = re.search(rf"<{tag}\b[^>]*>", html, re.I)
    if not m:
        return insert + html
    return html[: m.end()] + insert + html[m.end() :]


def noise_ad(html: str, n: int) -> str:
    return _after_open(
        html,
        "body",
        f'<div class="advert" id="ad-{n}"><a href="https://ads.example/c?id={n}">'
        f"<img src='/ads/banner-{n}.png' alt='Sponsored'> Sponsored offer {n}</a></div>",
    )


def noise_script(html: str, n: int) -> str:
    return _before(
        html,
        "</head>",
        f"<script>window.__pw_ts={n};var cache='{n * 7919}';</script>"
        f'<meta name="build" content="{n}">',
    )


def noise_counter(html: str, n: int) -> str:
    return _before(
        html,
        "</body>",
        f'<aside class="widget stats"><span class="views">{n} views</span>'
        f'<span class="clock">Updated 0{n % 10}:{n % 60:02d}</span></aside>',
    )


def noise_related(html: str, n: int) -> str:
    items = "".join(
        f'<li><a href="/news/other-story-{n + i}/">Other headline number {n + i}</a></li>'
        for i in range(4)
    )
    return _before(
        html,
        "</body>",
        f'<aside class="related-posts"><h3>Related</h3><ul>{items}</ul></aside>',
    )


NOISES = (noise_ad, noise_script, noise_counter, noise_related)


def all_noise(html: str, n: int) -> str:
    for fn in NOISES:
        html = fn(html, n)
    return html


# -- edits ------------------------------------------------------------------------------


def edit_one_word(html: str, snippet: str) -> str:
    """Change one word inside a snippet of the article body."""
    assert snippet in html, f"snippet not verbatim in page: {snippet[:40]!r}"
    words = snippet.split(" ")
    if len(words) > 1:
        i = len(words) // 2
        words[i] = "REDACTED" if words[i] != "REDACTED" else "CHANGED"
        changed = " ".join(words)
    else:
        # Unspaced scripts (Khmer): replace a stretch in the middle.
        mid = len(snippet) // 2
        changed = snippet[:mid] + "ការកែប្រែ" + snippet[mid + 3 :]
    return html.replace(snippet, changed, 1)


def add_sentence(html: str, snippet: str) -> str:
    assert snippet in html
    return html.replace(snippet, snippet + " Officials later denied any involvement.", 1)


def remove_paragraph(html: str, snippet: str) -> str:
    """Drop the <p> that holds the snippet."""
    idx = html.index(snippet)
    start = html.lower().rfind("<p", 0, idx)
    end = html.lower().find("</p>", idx)
    assert start >= 0 and end > idx, "snippet is not inside a <p>"
    return html[:start] + html[end + 4 :]


# -- pages that are not the article -------------------------------------------------------

NOT_FOUND_EN = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Page not found - The Daily</title></head><body>
<header><nav><a href="/">Home</a> <a href="/politics/">Politics</a> <a href="/world/">World</a></nav></header>
<main><h1>Oops! That page can't be found.</h1>
<p>It looks like nothing was found at this location. Maybe try a search?</p>
<form action="/"><input name="s"></form></main>
<footer>© 2026 The Daily. All rights reserved.</footer></body></html>"""

NOT_FOUND_KM = """<!DOCTYPE html><html lang="km"><head><meta charset="utf-8">
<title>រកមិនឃើញ - ព័ត៌មានខ្មែរ</title></head><body>
<header><nav><a href="/">ទំព័រដើម</a> | <a href="/category/news/">ព័ត៌មាន</a></nav></header>
<main><h1>ទំព័រមិនមាន</h1><p>សូមអភ័យទោស ទំព័រដែលអ្នកកំពុងស្វែងរកមិនមាន។</p></main>
<footer>រក្សាសិទ្ធិ © ២០២៦</footer></body></html>"""

ERROR_503 = "<html><body><h1>503 Service Unavailable</h1><p>Back soon.</p></body></html>"

CHALLENGE = """<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>
<div id="challenge-platform"><noscript>Enable JavaScript and cookies to continue</noscript>
</div></body></html>"""


def home_page(base: str) -> str:
    links = "".join(
        f'<li><a href="{base}news/story-{i}/">Headline of story {i} about the courts</a>'
        f"<p>Teaser for story {i}: a short summary of the report.</p></li>"
        for i in range(12)
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>The Daily - Home'
        f'</title></head><body><header><nav><a href="{base}">Home</a></nav></header>'
        f"<main><h2>Latest news</h2><ul>{links}</ul></main></body></html>"
    )


def emptied(html: str) -> str:
    """The page shell with the article gone: every text block outside the header,
    navigation and footer is dropped (the outlet blanked the story)."""
    import lxml.html

    doc = lxml.html.document_fromstring(html)
    keep = {"nav", "header", "footer"}
    blocks = (
        "article",
        "main",
        "p",
        "table",
        "ul",
        "ol",
        "blockquote",
        "figure",
        "pre",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "dl",
    )
    for el in list(doc.iter(*blocks)):
        if el.getparent() is None or any(a.tag in keep for a in el.iterancestors()):
            continue
        el.drop_tree()
    return lxml.html.tostring(doc, encoding="unicode")


# -- pages of our own ---------------------------------------------------------------------

PUBLISHED = "2026-02-20T09:00:00+07:00"

# A paragraph of our own for the Khmer story, written with the ZERO WIDTH SPACE word-break
# hints Khmer sites put between words (archived text drops them; a search must not care).
# "The victims' families asked the authorities to investigate the building owners
# without favour, and to publish what they find."
KM_ZWSP_PARAGRAPH = (
    "ក្រុម\u200bគ្រួសារ\u200bរបស់\u200bជនរងគ្រោះ\u200bបាន\u200bស្នើ\u200bសុំ\u200bឲ្យ"
    "\u200bអាជ្ញាធរ\u200bស៊ើបអង្កេត\u200bលើ\u200bម្ចាស់\u200bអគារ\u200bទាំងនោះ "
    "ដោយ\u200bមិន\u200bរើស\u200bមុខ ហើយ\u200bផ្សព្វផ្សាយ\u200bលទ្ធផល\u200bជា\u200bសាធារណៈ។"
)
# A word found only in KM_ZWSP_PARAGRAPH, which the ZWSP hints cut in two ("ask for").
KM_SEARCH_WORD = "ស្នើសុំ"
# A word of KM_STORY's text ("committee"), for tests that tamper with archived text.
KM_WORD = "គណៈកម្មការ"


@dataclass(frozen=True, slots=True)
class Page:
    """An article page: `snippet` is a stretch of its body that stands verbatim inside
    one <p> of `html` (so edits can be made to it)."""

    url: str
    html: str
    snippet: str
    lang: str


def demo_article(slug: str) -> DemoArticle:
    return next(a for a in DEMO_ARTICLES if a.slug == slug)


def own_page(
    slug: str,
    *,
    url: str | None = None,
    published: str = PUBLISHED,
    extra: tuple[str, ...] = (),
) -> Page:
    """A demo article as an outlet serves it (English or Khmer template), with `extra`
    paragraphs after its own."""
    article = demo_article(slug)
    paragraphs = [*article.paragraphs, *extra]
    if article.lang == "km":
        html = khmer_page(title=article.title, published=published, paragraphs=paragraphs)
    else:
        html = english_page(
            site="The Mekong Ledger",
            title=article.title,
            byline=article.byline.removeprefix("By "),
            published=published,
            paragraphs=paragraphs,
        )
    # A body paragraph (not the first) that HTML escaping leaves alone, so that it
    # reads the same in the page and in the extracted text.
    snippet = next(p for p in paragraphs[1:] if html_lib.escape(p) == p)
    assert snippet in html, slug
    host = "khmer.example" if article.lang == "km" else "ledger.example"
    return Page(url or f"https://{host}/news/{slug}/", html, snippet, article.lang)


# The pages most tests use: two English and two Khmer articles of the demo outlet.
EN_RAID = "police-free-212-workers-from-sihanoukville-scam-compound"
EN_TASK_FORCE = "task-force-announces-nationwide-inspections-of-online-scam-sites"
KM_COMMITTEE = "government-forms-special-committee-against-human-trafficking"
KM_TORTURE = "victims-describe-torture-inside-scam-building"


def km_story(url: str | None = None) -> Page:
    """The Khmer story of the archive tests: byline "ដោយ អ្នកយកព័ត៌មាន" (tests edit it),
    KM_WORD in its text, KM_SEARCH_WORD split by a ZWSP in its HTML."""
    return own_page(KM_COMMITTEE, url=url, extra=(KM_ZWSP_PARAGRAPH,))


def km_other(url: str | None = None) -> Page:
    """A second Khmer story, from another day."""
    return own_page(KM_TORTURE, url=url, published="2026-02-18T16:30:00+07:00")


def en_story(url: str | None = None) -> Page:
    return own_page(EN_RAID, url=url)


KM_BYLINE = "ដោយ អ្នកយកព័ត៌មាន"
KM_NEW_BYLINE = "ដោយ សុខ ដារ៉ា"


def khmer_byline_changed(html: str) -> str:
    """The Khmer page with its reporter's name put in place of "reporter"."""
    assert KM_BYLINE in html
    return html.replace(KM_BYLINE, KM_NEW_BYLINE)
