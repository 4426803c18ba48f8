"""From the raw body of one response to the normalized article: text and metadata.

This module owns what an article *is* on a page: its body text (trafilatura), and the
title, byline, dates, language and canonical URL, which we read from the HTML ourselves
where trafilatura is wrong for Khmer (it strips vowel signs from Khmer bylines and does
not parse Khmer dates). Everything returned is normalized with `archive.content.normalize`, so
two captures of an unchanged article give equal `Extracted` values however the page
around it (ads, counters, scripts, timestamps) changed.

It does not decode bytes or judge whether a body is a page (`archive.content.decode` does), nor
parse date strings (`archive.content.dates` does): it decides which element of the page holds
each field. It is pure apart from CPU: no database, files, network, clock or
environment. It never raises for bad input; a body that cannot be extracted comes back
as an `Extracted` whose `kind` and `note` say why, and an unexpected failure of
trafilatura or lxml is logged with its traceback and returned as an empty extraction
(one page must never stop a crawl). It imports nothing of ours except `archive.errors`,
`archive.content.normalize`, `archive.content.decode` and `archive.content.dates`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html
import trafilatura
import trafilatura.metadata as trafilatura_metadata
import trafilatura.settings as trafilatura_settings
from htmldate import find_date

from archive.content.dates import iso_date
from archive.content.decode import PageKind, decode_body, screen_body
from archive.content.normalize import normalize_text, script_of
from archive.errors import ExtractionError

__all__ = [
    "EXTRACTOR_VERSION",
    "TRAFILATURA_OPTIONS",
    "Extracted",
    "PageKind",
    "TrafilaturaOptions",
    "article_body",
    "extract_page",
]

LOGGER = logging.getLogger(__name__)

# Bump the `pw` number whenever our own part of the output changes (design rule 8).
EXTRACTOR_VERSION = f"trafilatura {trafilatura.__version__}+pw1"


@dataclass(frozen=True, slots=True)
class Extracted:
    """The article on one page, every text field normalized (`normalize_text`)."""

    kind: PageKind
    title: str | None
    byline: str | None
    text: str
    published: str | None  # "YYYY-MM-DD", or a datetime with its UTC offset
    modified: str | None  # the page's own modified date, same format
    lang: str | None  # "en", "km", ...
    page_title: str | None  # the <title>, for soft-404 detection
    charset: str | None  # the encoding actually used to decode the body
    canonical_url: str | None  # <link rel=canonical> or og:url, made absolute, not normalized
    extractor: str
    note: str = ""  # why a non-HTML kind has no text, or what went wrong


@dataclass(frozen=True, slots=True)
class TrafilaturaOptions:
    """Every option we pass to trafilatura, in one place.

    Measured on the shared fixtures (tests/test_extract.py prints the figures):
    `fast` (no readability/jusText fallback) with `favor_recall` keeps as many article
    snippets and drops as much boilerplate as the default, and it is the deterministic
    choice: the fallback picks between three algorithms by comparing text lengths, so
    a changed ad or counter could flip the winner and read as an edit (design rule 2).
    Comments are not the article; tables often are. trafilatura's date search stays in
    the markup (no `extensive_search`), because the free-text search finds the clock
    in a page header as readily as the publication date.

    `with_metadata` is off for the text pass: trafilatura's metadata pass (author
    heuristics, htmldate, categories, tags, licence) costs more CPU than its text
    extraction, and we read title, byline and dates from the markup ourselves. The
    few fields we fall back on are asked of trafilatura's metadata only on the pages
    that need them (`_TrafilaturaMetadata`), with the same date options.
    """

    fast: bool = True
    favor_recall: bool = True
    favor_precision: bool = False
    include_comments: bool = False
    include_tables: bool = True
    include_images: bool = False
    include_links: bool = False
    deduplicate: bool = False
    with_metadata: bool = False
    extensive_date_search: bool = False

    def date_params(self) -> dict[str, Any]:
        """htmldate's options, as trafilatura passes them on."""
        return {
            "extensive_search": self.extensive_date_search,
            "original_date": True,
            "outputformat": "%Y-%m-%d",
        }

    def as_kwargs(self) -> dict[str, Any]:
        kwargs = asdict(self)
        kwargs.pop("extensive_date_search")
        kwargs["date_extraction_params"] = self.date_params()
        return kwargs


TRAFILATURA_OPTIONS = TrafilaturaOptions()


# ------------------------------------------------------------------- metadata

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SKIP_ANCESTORS = (
    "ancestor-or-self::aside or ancestor-or-self::nav or ancestor-or-self::footer"
    " or ancestor-or-self::*[contains(translate(@class, 'COMENTRLADSIBW', 'comentrladsibw'),"
    " 'comment') or contains(translate(@class, 'COMENTRLADSIBW', 'comentrladsibw'), 'related')"
    " or contains(translate(@class, 'COMENTRLADSIBW', 'comentrladsibw'), 'sidebar')]"
)


def _in_page_chrome(el: lxml.html.HtmlElement) -> bool:
    """True for elements in the site's furniture: nav, sidebars, footers, comment and
    related-article boxes, and a site header outside the article. Their dates, titles
    and names belong to the site or to other articles, and they change without the
    article changing."""
    if el.xpath(_SKIP_ANCESTORS):
        return True
    return bool(
        el.xpath("ancestor::header") and not el.xpath("ancestor::article or ancestor::main")
    )


def _parse_html(text: str) -> lxml.html.HtmlElement:
    # Bytes with an explicit parser encoding: lxml refuses str input that carries an
    # XML encoding declaration, and a <meta charset> must not re-decode what we decoded.
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
    root = lxml.html.document_fromstring(_XML_INVALID.sub("", text).encode("utf-8"), parser=parser)
    if not isinstance(root, lxml.html.HtmlElement):
        raise ExtractionError("the page did not parse to an HTML element")
    return root


def _one_line(value: str | None) -> str | None:
    if not value:
        return None
    line = normalize_text(value).replace("\n", " ")
    return line or None


def _meta_index(root: lxml.html.HtmlElement) -> dict[str, str]:
    """Every <meta> key (its property, name or itemprop, lowercased) to the first
    non-empty content given for it: read once per page, asked many times."""
    found: dict[str, str] = {}
    for el in root.iter("meta"):
        content = el.get("content")
        if not content or not content.strip():
            continue
        for attr in ("property", "name", "itemprop"):
            key = (el.get(attr) or "").strip().lower()
            if key and key not in found:
                found[key] = content.strip()
    return found


def _meta(metas: dict[str, str], *keys: str) -> str | None:
    """The content of the first of `keys` the page's <meta> elements give."""
    for key in keys:
        if key.lower() in metas:
            return metas[key.lower()]
    return None


_ARTICLE_TYPES = frozenset(
    {
        "article",
        "newsarticle",
        "blogposting",
        "reportagenews",
        "analysisnewsarticle",
        "opinionnewsarticle",
        "backgroundnewsarticle",
        "report",
        "webpage",
    }
)


def _json_ld_nodes(root: lxml.html.HtmlElement) -> list[dict[str, Any]]:
    """JSON-LD objects of the page, articles first."""
    nodes: list[dict[str, Any]] = []

    def walk(value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            nodes.append(value)
            walk(value.get("@graph"))

    for script in root.xpath("//script[contains(translate(@type, 'LDJSON', 'ldjson'), 'ld+json')]"):
        raw = script.text or ""
        try:
            walk(json.loads(raw, strict=False))
        except ValueError:
            LOGGER.debug("skipping malformed JSON-LD block of %d chars", len(raw))

    def is_article(node: dict[str, Any]) -> bool:
        types = node.get("@type")
        names = types if isinstance(types, list) else [types]
        return any(isinstance(t, str) and t.lower() in _ARTICLE_TYPES for t in names)

    return sorted(nodes, key=lambda node: not is_article(node))


def _json_ld_value(nodes: list[dict[str, Any]], key: str) -> str | None:
    for node in nodes:
        value = node.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _json_ld_author(nodes: list[dict[str, Any]]) -> str | None:
    for node in nodes:
        author = node.get("author")
        people = author if isinstance(author, list) else [author]
        names: list[str] = []
        for person in people:
            if isinstance(person, dict):
                person = person.get("name")
            if isinstance(person, str) and person.strip() and not _is_url(person):
                names.append(person.strip())
        if names:
            return ", ".join(names)
    return None


def _is_url(value: str) -> bool:
    return bool(re.match(r"\s*(https?:)?//", value))


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


def _text_of(el: lxml.html.HtmlElement) -> str:
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


def _line_start(el: lxml.html.HtmlElement) -> tuple[str | None, bool]:
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
            start = _one_line("".join(parts))
            if start is not None and len(start) >= _START_CHARS:
                return start, False
            enough *= 2  # mostly invisible characters: look again only after twice as many
    return _one_line("".join(parts)), True


# ------------------------------------------------------------- article fields


def _first_date(values: Iterable[str | None]) -> str | None:
    """The first of the candidates that reads as a date, as `iso_date` gives it."""
    for value in values:
        iso = iso_date(value)
        if iso:
            return iso
    return None


def _published_of(
    root: lxml.html.HtmlElement, metas: dict[str, str], nodes: list[dict[str, Any]]
) -> str | None:
    """Machine-readable markup first; written dates near the article only after it."""
    return _first_date(
        (
            _meta(
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
            _json_ld_value(nodes, "datePublished"),
            _json_ld_value(nodes, "dateCreated"),
            *_time_values(root, updated=False),
        )
    )


def _modified_of(
    root: lxml.html.HtmlElement, metas: dict[str, str], nodes: list[dict[str, Any]]
) -> str | None:
    return _first_date(
        (
            _meta(
                metas,
                "article:modified_time",
                "og:updated_time",
                "dateModified",
                "last-modified",
                "dc.date.modified",
            ),
            _json_ld_value(nodes, "dateModified"),
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

    A <time> in the page chrome (see `_in_page_chrome`) is the site's clock or another
    article's date, never this article's.
    """
    yield from (_ITEMPROP_MODIFIED if updated else _ITEMPROP_PUBLISHED)(root)
    for el in root.iter("time"):
        value = el.get("datetime")
        if not value:
            continue
        if _in_page_chrome(el):
            continue
        is_updated = (
            "updated" in (el.get("class") or "").lower()
            or "modif" in (el.get("class") or "").lower()
        )
        if is_updated == updated:
            yield value


def _written_date(root: lxml.html.HtmlElement) -> str | None:
    """A date written as text next to the article (Khmer pages rarely have markup)."""
    scope = _article_scope(root)
    xpath = (
        ".//*[self::time or contains(translate(@class, 'DATEMPUBLISH', 'datempublish'), 'date')"
        " or contains(translate(@class, 'DATEMPUBLISH', 'datempublish'), 'publish')"
        " or contains(@class, 'meta') or contains(@class, 'byline')]"
    )
    for el in scope.xpath(xpath):
        if _in_page_chrome(el):
            continue
        text = _text_of(el)
        if len(text) > 300:
            continue
        iso = iso_date(text)
        if iso:
            return iso
    return None


def _article_scope(root: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    for xpath in ("//article", "//main", "//body"):
        found = root.xpath(xpath)
        if found and isinstance(found[0], lxml.html.HtmlElement):
            return found[0]
    return root


_TITLE_SEPARATORS = re.compile(r"\s+[|\-–—:·•]\s+|\s*[|｜]\s*")


def _title_of(
    root: lxml.html.HtmlElement, metas: dict[str, str], page_title: str | None
) -> str | None:
    og = _one_line(_meta(metas, "og:title", "twitter:title"))
    if og:
        return og
    for h1 in root.iter("h1"):
        if not _in_page_chrome(h1):  # many themes put the logo in an <h1> in the header
            text = _one_line(_text_of(h1))
            if text:
                return text
    if page_title:
        return _strip_site_name(page_title, _one_line(_meta(metas, "og:site_name")))
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
    if not line or len(line) > _MAX_BYLINE or _is_url(line):
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


def _byline_of(
    root: lxml.html.HtmlElement,
    metas: dict[str, str],
    nodes: list[dict[str, Any]],
    fallback: _TrafilaturaMetadata,
) -> str | None:
    # Structured sources first: they do not move when the layout does.
    for value in (
        _meta(
            metas,
            "author",
            "article:author",
            "byl",
            "sailthru.author",
            "parsely-author",
            "dc.creator",
        ),
        _json_ld_author(nodes),
        *(
            el.get("content") or _text_of(el)
            for el in root.xpath("//*[@itemprop='author']")
            if not _in_page_chrome(el)
        ),
        *(
            _text_of(el)
            for el in root.xpath("//a[contains(concat(' ', @rel, ' '), ' author ')]")
            if not _in_page_chrome(el)
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
    scope = _article_scope(root)
    class_xpath = (
        ".//*[contains(translate(@class, 'BYLINEAUTHOR', 'bylineauthor'), 'byline')"
        " or contains(translate(@class, 'BYLINEAUTHOR', 'bylineauthor'), 'author')]"
    )
    for el in scope.xpath(class_xpath):
        if not _in_page_chrome(el):
            byline = _clean_byline(_text_of(el))
            if byline:
                return byline
    for el in scope.iter("p", "div", "span", "li", "address"):
        text, complete = _line_start(el)
        if not complete:
            if text is None or not _BYLINE_PREFIX.match(text):
                continue
            text = _one_line(_text_of(el))
        if text and len(text) <= 200 and _BYLINE_PREFIX.match(text) and not _in_page_chrome(el):
            byline = _clean_byline(text)
            if byline and _looks_like_name(byline):
                return byline
    return None


_LANG_TAG = re.compile(r"[a-z]{2,3}")


def _lang_of(
    root: lxml.html.HtmlElement, metas: dict[str, str], text: str, title: str | None
) -> str | None:
    # Script first: Khmer sites often keep a theme's lang="en".
    if script_of(text or title or "") == "km":
        return "km"
    for value in (
        root.get("lang"),
        root.get("{http://www.w3.org/XML/1998/namespace}lang"),
        _meta(metas, "content-language", "language", "dc.language", "og:locale"),
        *root.xpath(
            "//meta[translate(@http-equiv, 'CONTENTLAG', 'contentlag')='content-language']/@content"
        ),
    ):
        if value:
            primary = re.split(r"[-_,;\s]", value.strip().lower(), maxsplit=1)[0]
            if _LANG_TAG.fullmatch(primary):
                return primary
    return None


def _canonical_of(root: lxml.html.HtmlElement, metas: dict[str, str], url: str) -> str | None:
    hrefs = root.xpath(
        "//link[contains(concat(' ', translate(@rel, 'CANONIL', 'canonil'), ' '),"
        " ' canonical ')]/@href"
    )
    for href in [*hrefs, _meta(metas, "og:url")]:
        if not href or not str(href).strip():
            continue
        absolute = urljoin(url, str(href).strip())
        if urlsplit(absolute).scheme in ("http", "https") and urlsplit(absolute).netloc:
            return absolute
    return None


# ------------------------------------------------- trafilatura's metadata, on demand


class _TrafilaturaMetadata:
    """The fields of trafilatura's own metadata (`extract_metadata`) that we fall back
    on, each computed the first time it is asked for: most pages never need them.

    Author and date follow `extract_metadata`'s own sequence for those fields (meta
    tags and JSON-LD, then its markup heuristics or htmldate), without its categories,
    tags, licence and site name, which we never read; tests/test_extract.py checks
    both against `extract_metadata` so a trafilatura upgrade cannot change them unseen.
    """

    def __init__(self, root: lxml.html.HtmlElement, url: str) -> None:
        self._root = root
        self._url = url
        self._head: Any = None

    def _meta_and_json(self) -> Any:
        if self._head is None:
            found = trafilatura_metadata.examine_meta(self._root)
            if found.author and " " not in found.author:
                found.author = None  # as extract_metadata does: one word is no name
            try:
                found = trafilatura_metadata.extract_meta_json(self._root, found)
            except Exception:  # trafilatura's JSON-LD reader has bugs; it skips them too
                LOGGER.debug("trafilatura's JSON-LD metadata failed", exc_info=True)
            self._head = found
        return self._head

    @property
    def title(self) -> str | None:
        # Our own search has found a title on every page seen so far: no shortcut.
        document = trafilatura_metadata.extract_metadata(
            self._root, self._url, TRAFILATURA_OPTIONS.date_params(), TRAFILATURA_OPTIONS.fast
        )
        return _trimmed(document.title)

    @property
    def date(self) -> str | None:
        found = self._meta_and_json()
        url = found.url or trafilatura_metadata.extract_url(self._root, self._url)
        return _trimmed(find_date(self._root, url=url, **TRAFILATURA_OPTIONS.date_params()))

    @property
    def author(self) -> str | None:
        author = self._meta_and_json().author
        if not author and _may_name_author(self._root):
            author = trafilatura_metadata.extract_author(self._root)
        return _trimmed(author)


# Every element trafilatura's author XPaths (trafilatura.xpaths.AUTHOR_XPATHS) can
# match has one of these attributes holding one of these words, or is an <author> (or
# has a <rel> child). Those XPaths test only an element's own attributes, so a page
# without any such element gets no author from them, and we skip the copy and pruning
# of the whole tree that extract_author does first: about half of the benchmark pages.
_AUTHOR_ATTRIBUTES = lxml.etree.XPath(
    "//@rel | //@id | //@class | //@itemprop | //@data-testid | //@data-component"
)
_AUTHOR_ELEMENTS = lxml.etree.XPath("boolean(//author | //rel)")
_AUTHOR_HINT = re.compile(
    "author|byl|bbl|username|zuozhe|bianji|xiaobian|channel-name|submitted-by|posted-by"
    "|journalist-name|screenname|writer"
)


def _may_name_author(root: lxml.html.HtmlElement) -> bool:
    if _AUTHOR_ELEMENTS(root):
        return True
    values = _AUTHOR_ATTRIBUTES(root)
    return bool(_AUTHOR_HINT.search("\n".join(map(str, values)).lower()))


def _trimmed(value: Any) -> str | None:
    """A metadata value as extract_metadata's final `clean_and_trim` leaves it."""
    if not isinstance(value, str):
        return None
    holder = trafilatura_settings.Document()
    holder.author = value
    holder.clean_and_trim()
    return holder.author or None


# ------------------------------------------------------------------ the entry


def _empty(kind: PageKind, note: str, charset: str | None = None) -> Extracted:
    return Extracted(
        kind=kind,
        title=None,
        byline=None,
        text="",
        published=None,
        modified=None,
        lang=None,
        page_title=None,
        charset=charset,
        canonical_url=None,
        extractor=EXTRACTOR_VERSION,
        note=note,
    )


def extract_page(
    body: bytes, *, url: str, content_type: str | None, max_bytes: int = 20_000_000
) -> Extracted:
    """Extract the article from one response body. Never raises for bad input."""
    rejected = screen_body(body, content_type, max_bytes=max_bytes)
    if rejected is not None:
        return _empty(*rejected)
    try:
        html, charset = decode_body(body, content_type)
    except ExtractionError as exc:
        return _empty(PageKind.UNDECODABLE, f"{exc}; not extracted")
    try:
        return _extract_html(html, charset, url)
    except Exception as exc:  # the boundary: one page must never stop a crawl
        LOGGER.exception("extraction of %s failed", url)
        return _empty(
            PageKind.HTML,
            f"extraction failed ({type(exc).__name__}: {exc}); text left empty",
            charset,
        )


def _extract_html(html: str, charset: str, url: str) -> Extracted:
    try:
        root = _parse_html(html)
    except (lxml.etree.ParserError, ExtractionError, ValueError) as exc:
        return _empty(PageKind.HTML, f"no HTML element could be parsed ({exc})", charset)

    page_title = _one_line(root.findtext(".//title"))
    nodes = _json_ld_nodes(root)
    # trafilatura cleans a copy of the tree, so the order does not matter for
    # correctness; ours come first so a trafilatura failure still leaves them.
    metas = _meta_index(root)
    title = _title_of(root, metas, page_title)
    published = _published_of(root, metas, nodes)
    modified = _modified_of(root, metas, nodes)
    canonical = _canonical_of(root, metas, url)

    note = ""
    document = None
    try:
        document = trafilatura.bare_extraction(root, url=url, **TRAFILATURA_OPTIONS.as_kwargs())
    except Exception as exc:  # trafilatura's failure is this page's, not the crawl's
        LOGGER.exception("trafilatura failed on %s", url)
        note = f"trafilatura failed ({type(exc).__name__}: {exc}); text left empty"
    text = normalize_text(getattr(document, "text", None) or "")

    fallback = _TrafilaturaMetadata(root, url)
    byline = _byline_of(root, metas, nodes, fallback)
    if title is None:
        title = _one_line(fallback.title)
    if published is None:
        published = iso_date(fallback.date) or _written_date(root)
    if not text and not note:
        note = "no article text found"
    return Extracted(
        kind=PageKind.HTML,
        title=title,
        byline=byline,
        text=text,
        published=published,
        modified=modified,
        lang=_lang_of(root, metas, text, title),
        page_title=page_title,
        charset=charset,
        canonical_url=canonical,
        extractor=EXTRACTOR_VERSION,
        note=note,
    )


def article_body(ex: Extracted) -> str:
    """The body without the headline and byline lines that open it. Extraction often
    keeps them as the first lines; left in, a headline or byline change would also
    read as a body edit."""
    lines = ex.text.split("\n")
    title = (ex.title or "").casefold()
    byline = (ex.byline or "").casefold()
    drop = 0
    for line in lines[:3]:
        folded = line.casefold().strip()
        is_title = bool(title) and bool(folded) and (folded == title or title.startswith(folded))
        is_byline = bool(byline) and byline in folded and len(folded) <= len(byline) + 80
        if not (is_title or is_byline):
            break
        drop += 1
    return "\n".join(lines[drop:])
