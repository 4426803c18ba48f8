"""Which element of a page holds the article's byline, and the name in it.

Structured sources first (<meta>, JSON-LD, itemprop, rel=author), then trafilatura's
author for Latin script (it strips the vowel signs out of Khmer names), then bylines
found by their class or their "By"/"ដោយ" prefix near the article. Pure apart from CPU.
"""

from __future__ import annotations

import re
from typing import Any

import lxml.html

from archive.content.markup import article_scope, in_page_chrome, line_start, one_line, text_of
from archive.content.normalize import normalize_text
from archive.content.structured_data import is_url, json_ld_author, meta_content
from archive.content.trafilatura_metadata import TrafilaturaMetadata

__all__ = [
    "byline_of",
]

# "By Jane Doe", "Written by Jane Doe", "ដោយ សុខ ស៊ីណា". The Khmer "ដោយ" must stand apart
# from what follows: joined to a word it begins "ដោយសារ" ("because of"), not a byline.
_BYLINE_PREFIX = re.compile(
    r"^(?:(?:written|posted|story|reported)\s+)?(?:by\b|ដោយ(?=[\s:៖]))\s*[:：៖]?\s*",
    re.IGNORECASE,
)
_BYLINE_CUT = re.compile(r"\s*[·•|｜]\s*|\s+[-–—]\s+|\n")
_MAX_BYLINE = 120
# A byline found only by its "By"/"ដោយ" prefix is a few names, not a sentence.
_MAX_PREFIXED_BYLINE = 60
_MAX_PREFIXED_BYLINE_WORDS = 6


def _clean_byline(value: str | None) -> str | None:
    """The name in a byline: first line, without "By"/"ដោយ", cut before a date or a
    "5 min read" that shares its line."""
    if not value:
        return None
    lines = normalize_text(value).split("\n")
    line = _BYLINE_PREFIX.sub("", lines[0])
    if not line and len(lines) > 1:  # "By" alone on its line, the name on the next
        line = lines[1]
    line = _BYLINE_CUT.split(line, maxsplit=1)[0].strip(" ,;:")
    if not line or len(line) > _MAX_BYLINE or is_url(line):
        return None
    return line


def _looks_like_name(byline: str) -> bool:
    # "By the numbers:" is a heading, not a byline: in scripts with case, names are
    # capitalized. Khmer has no case, so a Khmer byline passes.
    if len(byline) > _MAX_PREFIXED_BYLINE or len(byline.split()) > _MAX_PREFIXED_BYLINE_WORDS:
        return False
    first = byline[0]
    return _has_khmer(first) or not first.isalpha() or first.isupper()


def _has_khmer(value: str) -> bool:
    return bool(re.search("[\u1780-\u17ff]", value))


def byline_of(
    root: lxml.html.HtmlElement,
    metas: dict[str, str],
    nodes: list[dict[str, Any]],
    fallback: TrafilaturaMetadata,
) -> str | None:
    # Structured sources first: they do not move when the layout does.
    for value in (
        meta_content(
            metas,
            "author",
            "article:author",
            "byl",
            "sailthru.author",
            "parsely-author",
            "dc.creator",
        ),
        json_ld_author(nodes),
        *(
            el.get("content") or text_of(el)
            for el in root.xpath("//*[@itemprop='author']")
            if not in_page_chrome(el)
        ),
        *(
            text_of(el)
            for el in root.xpath("//a[contains(concat(' ', @rel, ' '), ' author ')]")
            if not in_page_chrome(el)
        ),
    ):
        byline = _clean_byline(value)
        if byline:
            return byline
    # trafilatura's heuristics are good for Latin script, but it strips the vowel signs
    # out of Khmer names, so a Khmer author has to come from the page itself.
    trafilatura_author = fallback.author
    if trafilatura_author and not _has_khmer(trafilatura_author):
        byline = _clean_byline(trafilatura_author)
        if byline:
            return byline
    scope = article_scope(root)
    class_xpath = (
        ".//*[contains(translate(@class, 'BYLINEAUTHOR', 'bylineauthor'), 'byline')"
        " or contains(translate(@class, 'BYLINEAUTHOR', 'bylineauthor'), 'author')]"
    )
    for el in scope.xpath(class_xpath):
        if not in_page_chrome(el):
            byline = _clean_byline(text_of(el))
            if byline:
                return byline
    for el in scope.iter("p", "div", "span", "li", "address"):
        text, complete = line_start(el)
        if not complete:
            if text is None or not _BYLINE_PREFIX.match(text):
                continue
            text = one_line(text_of(el))
        if text and len(text) <= 200 and _BYLINE_PREFIX.match(text) and not in_page_chrome(el):
            byline = _clean_byline(text)
            if byline and _looks_like_name(byline):
                return byline
    return None
