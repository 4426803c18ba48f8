"""Which element of a page holds the article's title, publication and modified dates,
language and canonical URL (the byline has its own module, `archive.content.byline`).

Machine-readable markup first, then what the page writes near the article; the page's
furniture (`archive.content.markup.in_page_chrome`) never counts: its dates and titles
belong to the site or to other articles. Parsing a date string is
`archive.content.dates`'s business. Pure apart from CPU.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html

from archive.content.dates import iso_date
from archive.content.markup import article_scope, in_page_chrome, one_line, text_of
from archive.content.normalize import script_of
from archive.content.structured_data import json_ld_value, meta_content

__all__ = [
    "canonical_of",
    "lang_of",
    "modified_of",
    "published_of",
    "title_of",
    "written_date",
]


def _first_date(values: Iterable[str | None]) -> str | None:
    """The first of the candidates that reads as a date, as `iso_date` gives it."""
    for value in values:
        iso = iso_date(value)
        if iso:
            return iso
    return None


def published_of(
    root: lxml.html.HtmlElement, metas: dict[str, str], nodes: list[dict[str, Any]]
) -> str | None:
    """Machine-readable markup first; written dates near the article only after it."""
    return _first_date(
        (
            meta_content(
                metas,
                "article:published_time",
                "og:published_time",
                "datePublished",
                "pubdate",
                "publishdate",
                "publish-date",
                "dc.date.issued",
                "dc.date",
                "date",
                "sailthru.date",
                "parsely-pub-date",
            ),
            json_ld_value(nodes, "datePublished"),
            json_ld_value(nodes, "dateCreated"),
            *_time_values(root, updated=False),
        )
    )


def modified_of(
    root: lxml.html.HtmlElement, metas: dict[str, str], nodes: list[dict[str, Any]]
) -> str | None:
    return _first_date(
        (
            meta_content(
                metas,
                "article:modified_time",
                "og:updated_time",
                "dateModified",
                "last-modified",
                "dc.date.modified",
            ),
            json_ld_value(nodes, "dateModified"),
            *_time_values(root, updated=True),
        )
    )


# One walk of the document each (a union of two paths walked it twice), compiled once.
_ITEMPROP_PUBLISHED = lxml.etree.XPath(
    "//*[@itemprop='datePublished']/@*[name()='datetime' or name()='content']"
)
_ITEMPROP_MODIFIED = lxml.etree.XPath(
    "//*[@itemprop='dateModified']/@*[name()='datetime' or name()='content']"
)


def _time_values(root: lxml.html.HtmlElement, *, updated: bool) -> Iterator[str]:
    """`datetime` of <time> elements (and itemprop dates) that belong to the article.

    A <time> in the page chrome (see `in_page_chrome`) is the site's clock or another
    article's date, never this article's.
    """
    yield from (_ITEMPROP_MODIFIED if updated else _ITEMPROP_PUBLISHED)(root)
    for el in root.iter("time"):
        value = el.get("datetime")
        if not value:
            continue
        if in_page_chrome(el):
            continue
        is_updated = (
            "updated" in (el.get("class") or "").lower()
            or "modif" in (el.get("class") or "").lower()
        )
        if is_updated == updated:
            yield value


def written_date(root: lxml.html.HtmlElement) -> str | None:
    """A date written as text next to the article (Khmer pages rarely have markup)."""
    scope = article_scope(root)
    xpath = (
        ".//*[self::time or contains(translate(@class, 'DATEMPUBLISH', 'datempublish'), 'date')"
        " or contains(translate(@class, 'DATEMPUBLISH', 'datempublish'), 'publish')"
        " or contains(@class, 'meta') or contains(@class, 'byline')]"
    )
    for el in scope.xpath(xpath):
        if in_page_chrome(el):
            continue
        text = text_of(el)
        if len(text) > 300:
            continue
        iso = iso_date(text)
        if iso:
            return iso
    return None


_TITLE_SEPARATORS = re.compile(r"\s+[|\-–—:·•]\s+|\s*[|｜]\s*")


def title_of(
    root: lxml.html.HtmlElement, metas: dict[str, str], page_title: str | None
) -> str | None:
    og = one_line(meta_content(metas, "og:title", "twitter:title"))
    if og:
        return og
    for h1 in root.iter("h1"):
        if not in_page_chrome(h1):  # many themes put the logo in an <h1> in the header
            text = one_line(text_of(h1))
            if text:
                return text
    if page_title:
        return _strip_site_name(page_title, one_line(meta_content(metas, "og:site_name")))
    return None


def _strip_site_name(title: str, site_name: str | None) -> str:
    """Turn "Story - Site" into "Story": drop a known site name, else a short last segment."""
    if site_name and title.endswith(site_name) and len(title) > len(site_name):
        head = title[: -len(site_name)]
        stripped = re.sub(r"[\s|\-–—:·•｜]+$", "", head)
        if stripped:
            return stripped
    parts = _TITLE_SEPARATORS.split(title)
    if len(parts) > 1 and len(parts[-1]) <= 40 and len(parts[-1]) < len(title) / 2:
        head = title[: title.rfind(parts[-1])]
        stripped = re.sub(r"[\s|\-–—:·•｜]+$", "", head)
        if stripped:
            return stripped
    return title


_LANG_TAG = re.compile(r"[a-z]{2,3}")


def lang_of(
    root: lxml.html.HtmlElement, metas: dict[str, str], text: str, title: str | None
) -> str | None:
    # Script first: Khmer sites often keep a theme's lang="en".
    if script_of(text or title or "") == "km":
        return "km"
    for value in (
        root.get("lang"),
        root.get("{http://www.w3.org/XML/1998/namespace}lang"),
        meta_content(metas, "content-language", "language", "dc.language", "og:locale"),
        *root.xpath(
            "//meta[translate(@http-equiv, 'CONTENTLAG', 'contentlag')='content-language']/@content"
        ),
    ):
        if value:
            primary = re.split(r"[-_,;\s]", value.strip().lower(), maxsplit=1)[0]
            if _LANG_TAG.fullmatch(primary):
                return primary
    return None


def canonical_of(root: lxml.html.HtmlElement, metas: dict[str, str], url: str) -> str | None:
    hrefs = root.xpath(
        "//link[contains(concat(' ', translate(@rel, 'CANONIL', 'canonil'), ' '),"
        " ' canonical ')]/@href"
    )
    for href in [*hrefs, meta_content(metas, "og:url")]:
        if not href or not str(href).strip():
            continue
        absolute = urljoin(url, str(href).strip())
        if urlsplit(absolute).scheme in ("http", "https") and urlsplit(absolute).netloc:
            return absolute
    return None
