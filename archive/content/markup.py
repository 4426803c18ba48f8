"""Reading a parsed HTML page: parsing it, telling the site's furniture (nav, sidebars,
footers, comment and related boxes) from the article, an element's text with its line
breaks, and the part of the page that holds the article.

Pure apart from CPU. Which element holds which field is decided by
`archive.content.article_fields` and `archive.content.byline`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import lxml.etree
import lxml.html

from archive.content.normalize import normalize_text
from archive.errors import ExtractionError

__all__ = [
    "article_scope",
    "in_page_chrome",
    "line_start",
    "one_line",
    "parse_html",
    "text_of",
]

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SKIP_ANCESTORS = (
    "ancestor-or-self::aside or ancestor-or-self::nav or ancestor-or-self::footer"
    " or ancestor-or-self::*[contains(translate(@class, 'COMENTRLADSIBW', 'comentrladsibw'),"
    " 'comment') or contains(translate(@class, 'COMENTRLADSIBW', 'comentrladsibw'), 'related')"
    " or contains(translate(@class, 'COMENTRLADSIBW', 'comentrladsibw'), 'sidebar')]"
)


def in_page_chrome(el: lxml.html.HtmlElement) -> bool:
    """True for elements in the site's furniture: nav, sidebars, footers, comment and
    related-article boxes, and a site header outside the article. Their dates, titles
    and names belong to the site or to other articles, and they change without the
    article changing."""
    if el.xpath(_SKIP_ANCESTORS):
        return True
    return bool(
        el.xpath("ancestor::header") and not el.xpath("ancestor::article or ancestor::main")
    )


def parse_html(text: str) -> lxml.html.HtmlElement:
    # Bytes with an explicit parser encoding: lxml refuses str input that carries an
    # XML encoding declaration, and a <meta charset> must not re-decode what we decoded.
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
    root = lxml.html.document_fromstring(_XML_INVALID.sub("", text).encode("utf-8"), parser=parser)
    if not isinstance(root, lxml.html.HtmlElement):
        raise ExtractionError("the page did not parse to an HTML element")
    return root


def one_line(value: str | None) -> str | None:
    if not value:
        return None
    line = normalize_text(value).replace("\n", " ")
    return line or None


_BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "section",
        "table",
        "td",
        "th",
        "tr",
        "ul",
    }
)


def text_of(el: lxml.html.HtmlElement) -> str:
    """The element's text with a line break at each block boundary, so that a byline
    box's name and its "5 min read" stay on separate lines (text_content() glues them).
    Iterative, because malformed pages nest deeper than Python's recursion limit."""
    return "".join(_text_pieces(el))


def _text_pieces(el: lxml.html.HtmlElement) -> Iterator[str]:
    for event, node in lxml.etree.iterwalk(el, events=("start", "end")):
        if not isinstance(node.tag, str):
            continue
        block = node.tag in _BLOCK_TAGS
        if event == "start":
            if block:
                yield "\n"
            yield node.text or ""
        else:
            if block:
                yield "\n"
            if node is not el:
                yield node.tail or ""


# Enough of an element's text to tell whether it opens with a byline prefix: the
# prefix is decided by its first 14 characters, and normalization changes a character
# only through its neighbours, so 40 normalized characters leave a wide margin.
_START_CHARS = 40


def line_start(el: lxml.html.HtmlElement) -> tuple[str | None, bool]:
    """The element's text as one normalized line, or only its start when the text is
    long: (line, complete). A <div> holding the whole article is read up to its first
    few words instead of to its end, once for every <p>/<div>/<span> around it."""
    parts: list[str] = []
    visible = 0
    enough = 4 * _START_CHARS
    for piece in _text_pieces(el):
        parts.append(piece)
        visible += len(piece) - piece.count(" ")
        if visible >= enough:
            start = one_line("".join(parts))
            if start is not None and len(start) >= _START_CHARS:
                return start, False
            enough *= 2  # mostly invisible characters: look again only after twice as many
    return one_line("".join(parts)), True


def article_scope(root: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    for xpath in ("//article", "//main", "//body"):
        found = root.xpath(xpath)
        if found and isinstance(found[0], lxml.html.HtmlElement):
            return found[0]
    return root
