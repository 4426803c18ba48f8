"""The HTML of the local news site: one renderer for the demo site, the benchmark's
bare-clone content and the search tests' article pages.

Owns how a page looks the way a regional outlet's CMS writes it: head metadata
(canonical, `og:title`, author, published time), a header with navigation and an ad
slot, optional page furniture (mega-menu, inline config), the article (section, headline,
byline, date, view counter, body, share line), related links, comments, a trending
list and a footer; plus a not-found notice and a listing page inside the same chrome.

Must not: serve, keep state, read a clock or draw random numbers. Everything that
changes from one request to the next (the ad, the counter, "rendered at") comes in as
`Chrome`, so a page is a pure function of its inputs and a test's page is the same on
every run.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Outlet:
    """What every page of one outlet shares."""

    name: str
    nav: tuple[tuple[str, str], ...] = ()  # (href, label)
    footer: tuple[str, ...] = ()  # footer lines, plain text
    footer_links: tuple[tuple[str, str], ...] = ()
    title_separator: str = " | "
    head_script: str = ""  # an inline <script> body in <head> (analytics, data layer)


@dataclass(frozen=True, slots=True)
class Chrome:
    """What changes between two requests for the same page: churn that must never read
    as an edit."""

    ad: str = ""
    ad_href: str = ""
    trending: Sequence[str] = ()
    rendered_note: str = ""  # e.g. "Page rendered at 10:01:02 UTC."
    page_script: str = ""  # an inline <script> body, e.g. a page-view nonce
    furniture: str = ""  # see `furniture()`


@dataclass(frozen=True, slots=True)
class ArticlePage:
    title: str
    paragraphs: Sequence[str]
    lang: str = "en"
    byline: str = ""  # as printed: "By …", "ដោយ …"
    author: str = ""  # for <meta name="author">
    published: str = ""  # ISO 8601, for metadata and <time datetime>
    published_label: str = ""  # the date as the page shows it
    section: str = ""
    canonical: str = ""
    views: int | None = None
    share: str = ""
    related: Sequence[tuple[str, str]] = ()  # (href, title)
    related_heading: str = "Related"
    comments: Sequence[tuple[str, str]] = ()  # (who, what)
    raw_html: bool = False  # paragraphs are HTML already (tests of escaping)
    # CMS themes name the story's elements differently, and extractors notice.
    article_class: str = ""
    body_class: str = "article-body"


def _e(text: str) -> str:
    return html.escape(text)


def page(outlet: Outlet, *, title: str, main: str, lang: str = "en", head: str = "",
         chrome: Chrome = Chrome()) -> str:  # fmt: skip
    """A whole page of `outlet` around `main`."""
    nav = " ".join(f'<a href="{href}">{_e(label)}</a>' for href, label in outlet.nav)
    scripts = ""
    if outlet.head_script:
        scripts += f"<script>{outlet.head_script}</script>"
    if chrome.page_script:
        scripts += f"<script>{chrome.page_script}</script>"
    ad = ""
    if chrome.ad:
        text = f"Advertisement: {_e(chrome.ad)}"
        if chrome.ad_href:
            text = f'<a href="{_e(chrome.ad_href)}">{text}</a>'
        ad = f'<div class="ad">{text}</div>'
    trending = ""
    if chrome.trending:
        items = "".join(f"<li>{_e(t)}</li>" for t in chrome.trending)
        trending = f"<aside><h3>Trending</h3><ul>{items}</ul></aside>"
    lines = (chrome.rendered_note, *outlet.footer)
    footer = "".join(f"<p>{_e(line)}</p>" for line in lines if line)
    footer += " ".join(f'<a href="{href}">{_e(label)}</a>' for href, label in outlet.footer_links)
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{_e(title)}{outlet.title_separator}{_e(outlet.name)}</title>{head}{scripts}"
        f'</head><body>\n<header><a class="logo" href="/">{_e(outlet.name)}</a>'
        f"<nav>{nav}</nav>{ad}</header>{chrome.furniture}\n{main}\n{trending}"
        f"<footer>{footer}</footer>\n</body></html>"
    )


def article_page(outlet: Outlet, article: ArticlePage, chrome: Chrome = Chrome()) -> str:
    """An article page: metadata in the head, the story in <main><article>."""
    a = article
    head = ""
    if a.canonical:
        head += f'<link rel="canonical" href="{_e(a.canonical)}">'
    head += f'<meta property="og:title" content="{_e(a.title)}">'
    if a.author:
        head += f'<meta name="author" content="{_e(a.author)}">'
    if a.published:
        head += f'<meta property="article:published_time" content="{a.published}">'
    body = "\n".join(f"<p>{p if a.raw_html else _e(p)}</p>" for p in a.paragraphs)
    parts = [f'<main><article class="{a.article_class}">' if a.article_class else "<main><article>"]
    if a.section:
        parts.append(f'<p class="section">{_e(a.section)}</p>')
    parts.append(f"<h1>{_e(a.title)}</h1>")
    if a.byline:
        parts.append(f'<p class="byline">{_e(a.byline)}</p>')
    if a.published:
        label = a.published_label or a.published[:10]
        parts.append(f'<time datetime="{a.published}">{_e(label)}</time>')
    if a.views is not None:
        parts.append(f'<div class="views">{a.views} views</div>')
    parts.append(f'<div class="{a.body_class}">\n{body}\n</div>')
    if a.share:
        parts.append(f'<div class="share">{_e(a.share)}</div>')
    parts.append("</article>")
    if a.related:
        links = "".join(f'<li><a href="{href}">{_e(t)}</a></li>' for href, t in a.related)
        parts.append(
            f'<section class="related"><h3>{_e(a.related_heading)}</h3><ul>{links}</ul></section>'
        )
    if a.comments:
        comments = "".join(
            f'<div class="comment"><b>{_e(who)}</b>: {_e(what)}</div>' for who, what in a.comments
        )
        parts.append(
            f'<section class="comments"><h3>Comments ({len(a.comments)})</h3>{comments}</section>'
        )
    parts.append("</main>")
    return page(outlet, title=a.title, main="".join(parts), lang=a.lang, head=head, chrome=chrome)


NOT_FOUND_TEXT = {
    "en": (
        "Page not found",
        "Sorry, the page you are looking for could not be found. It may have been moved or "
        "deleted.",
        "Back to the front page",
    ),
    "km": ("រកមិនឃើញទំព័រ", "សូមអភ័យទោស ទំព័រដែលអ្នកកំពុងស្វែងរកមិនមាន។", "ទំព័រដើម"),
}


def not_found_page(outlet: Outlet, lang: str = "en", chrome: Chrome = Chrome()) -> str:
    """The CMS's not-found notice (served with 404, or with 200 as a soft-404)."""
    heading, text, back = NOT_FOUND_TEXT.get(lang, NOT_FOUND_TEXT["en"])
    main = f'<main><h1>{heading}</h1><p>{text}</p><p><a href="/">{back}</a></p></main>'
    return page(outlet, title=heading, main=main, lang=lang, chrome=chrome)


def listing_page(outlet: Outlet, links: Sequence[tuple[str, str, str]], *, more: str = "",
                 trap: str = "", chrome: Chrome = Chrome()) -> str:  # fmt: skip
    """A list of stories: (href, title, date label); `more` links the next page."""
    items = "".join(
        f'<li><a href="{href}">{_e(title)}</a> <small>{_e(label)}</small></li>'
        for href, title, label in links
    )
    older = f' <a class="next" href="{more}">Older stories</a>' if more else ""
    bait = f' <a href="{trap}">Event calendar</a>' if trap else ""
    main = f"<main><h1>Latest</h1><ul>{items}</ul>{older}{bait}</main>"
    return page(outlet, title="Latest news", main=main, chrome=chrome)


def furniture(size: int) -> str:
    """Menus, an inline config blob and link lists of about `size` bytes: what
    surrounds an article on a real news page and what an extractor must wade through."""
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
