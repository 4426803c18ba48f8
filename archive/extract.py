"""From the raw body of one response to the normalized article: text and metadata.

This module owns what an article *is* on a page: its body text (trafilatura), and the
title, byline, dates, language and canonical URL, which we read from the HTML ourselves
where trafilatura is wrong for Khmer (it strips vowel signs from Khmer bylines and does
not parse Khmer dates). Everything returned is normalized with `archive.normalize`, so
two captures of an unchanged article give equal `Extracted` values however the page
around it (ads, counters, scripts, timestamps) changed.

It is pure apart from CPU: no database, files, network, clock or environment. It never
raises for bad input; a body that cannot be extracted comes back as an `Extracted` whose
`kind` and `note` say why, and an unexpected failure of trafilatura or lxml is logged
with its traceback and returned as an empty extraction (one page must never stop a
crawl). It imports nothing of ours except `archive.errors` and `archive.normalize`.
"""

from __future__ import annotations

import codecs
import functools
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urljoin, urlsplit

import charset_normalizer
import lxml.etree
import lxml.html
import trafilatura

from archive.errors import ExtractionError
from archive.normalize import normalize_khmer, normalize_text, script_of

__all__ = [
    "EXTRACTOR_VERSION",
    "TRAFILATURA_OPTIONS",
    "Extracted",
    "PageKind",
    "TrafilaturaOptions",
    "decode_body",
    "extract_page",
]

LOGGER = logging.getLogger(__name__)

# Bump the `pw` number whenever our own part of the output changes (design rule 8).
EXTRACTOR_VERSION = f"trafilatura {trafilatura.__version__}+pw1"


class PageKind(StrEnum):
    """What the body turned out to be. Only `HTML` carries an article."""

    HTML = "html"
    NOT_HTML = "not_html"
    EMPTY = "empty"
    TOO_LARGE = "too_large"
    BINARY = "binary"
    UNDECODABLE = "undecodable"


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
    """

    fast: bool = True
    favor_recall: bool = True
    favor_precision: bool = False
    include_comments: bool = False
    include_tables: bool = True
    include_images: bool = False
    include_links: bool = False
    deduplicate: bool = False
    with_metadata: bool = True
    extensive_date_search: bool = False

    def as_kwargs(self) -> dict[str, Any]:
        kwargs = asdict(self)
        extensive = kwargs.pop("extensive_date_search")
        kwargs["date_extraction_params"] = {
            "extensive_search": extensive,
            "original_date": True,
            "outputformat": "%Y-%m-%d",
        }
        return kwargs


TRAFILATURA_OPTIONS = TrafilaturaOptions()


# --------------------------------------------------------------------- decoding

# Labels browsers treat as another encoding (WHATWG Encoding Standard): a page that says
# "iso-8859-1" is decoded as windows-1252 by every browser, so its author saw cp1252.
_CHARSET_ALIASES = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "windows-874": "cp874",
    "tis-620": "cp874",
    "x-sjis": "shift_jis",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "euc-kr": "cp949",
    "x-mac-roman": "mac_roman",
    # A bare "utf-16" means little-endian on the web.
    "utf-16": "utf-16-le",
}
# A page cannot declare UTF-16 in an ASCII-compatible <meta>; browsers read it as UTF-8.
_META_WIDE = re.compile(r"utf-?(16|32)", re.IGNORECASE)
# Refused as declarations: UTF-7 decodes '+' runs into garbage and no browser honours it.
_CHARSET_REFUSED = frozenset({"utf-7", "utf_7", "x-user-defined"})
_SINGLE_BYTE_LEGACY = frozenset({"cp1252", "iso8859-1", "ascii", "cp874", "cp1250", "cp1251"})
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([^"';,\s]+)""", re.IGNORECASE)
_META_CHARSET = re.compile(
    rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.IGNORECASE
)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9_.:\-]+)""")
_PRESCAN_BYTES = 4096
# Share of U+FFFD and control characters above which a decoded body is not text.
_GARBAGE_LIMIT = 0.05
# How much more "chaos" (charset_normalizer's mess score, 0..1) cp1252 may have than the
# detector's best guess and still be preferred.
_CP1252_TIE = 0.1


def _codec_for(label: str | None) -> str | None:
    """The Python codec for a charset label, or None when it is unknown or refused."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    if label in _CHARSET_REFUSED:
        return None
    label = _CHARSET_ALIASES.get(label, label)
    try:
        name = codecs.lookup(label).name
        # bytes.decode refuses codecs that are not text encodings (base64, rot13, zlib).
        b"x".decode(name)
    except LookupError:
        return None
    except UnicodeDecodeError:
        pass
    if name in _CHARSET_REFUSED:
        return None
    return name


def _header_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = _HEADER_CHARSET.search(content_type)
    return match.group(1) if match else None


def _meta_charset(body: bytes) -> str | None:
    head = body[:_PRESCAN_BYTES]
    match = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
    return match.group(1).decode("ascii") if match else None


def decode_body(body: bytes, content_type: str | None) -> tuple[str, str]:
    """Decode an HTML body; return the text and the codec used.

    Order: a byte-order mark; the Content-Type charset; a `<meta charset>` or
    http-equiv (or XML declaration) in the first 4 KB; strict UTF-8; charset_normalizer's
    guess; finally the declared charset or cp1252 with replacement characters. A
    declaration is only believed when the body decodes under it without error, so a
    cp1252 page that claims UTF-8 is still read. One departure from browsers: a body
    declared as a single-byte legacy charset that is valid UTF-8 with non-ASCII bytes is
    read as UTF-8 (servers default to iso-8859-1; valid multi-byte UTF-8 by chance in
    legacy text is vanishingly rare, and mojibake would be archived as the article).

    Raises `ExtractionError` when even the last resort is mostly garbage.
    """
    for bom, bom_codec in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(bom_codec, errors="replace"), bom_codec

    declared: list[str] = []
    meta_label = _meta_charset(body)
    if meta_label and _META_WIDE.match(meta_label):
        meta_label = "utf-8"
    for label in (_header_charset(content_type), meta_label):
        codec = _codec_for(label)
        if codec is None or codec in declared:
            continue
        declared.append(codec)
        if codec in _SINGLE_BYTE_LEGACY and not body.isascii():
            utf8 = _try_decode(body, "utf-8")
            if utf8 is not None:
                return utf8, "utf-8"
        text = _try_decode(body, codec)
        if text is not None:
            return text, codec

    text = _try_decode(body, "utf-8")
    if text is not None:
        return text, "utf-8"

    guessed = _guess_charset(body)
    if guessed is not None:
        text = _try_decode(body, guessed)
        if text is not None and not _is_garbage(text):
            return text, guessed

    last_resort = declared[0] if declared else "cp1252"
    replaced = body.decode(last_resort, errors="replace")
    if _is_garbage(replaced):
        raise ExtractionError(
            f"body of {len(body)} bytes is not text in {last_resort} or any detected charset"
        )
    return replaced, last_resort


def _guess_charset(body: bytes) -> str | None:
    """charset_normalizer's guess, except that windows-1252 wins a near tie.

    On short Western European text the detector ranks cp1250, cp1252 and cp1257 about
    equal and may pick any (measured: a French latin-1 page came out as cp1250,
    "crème" as "crčme"). windows-1252 is what browsers fall back to for an undeclared
    page, so it is what the outlet's own readers saw.
    """
    matches = charset_normalizer.from_bytes(body)
    best = matches.best()
    if best is None:
        return None
    for match in matches:
        if _codec_for(match.encoding) == "cp1252" and match.chaos <= best.chaos + _CP1252_TIE:
            return "cp1252"
    return _codec_for(best.encoding)


def _try_decode(body: bytes, codec: str) -> str | None:
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


_GARBAGE_CHARS = re.compile("[\ufffd\x00-\x08\x0b\x0e-\x1f\x7f]")


def _is_garbage(text: str) -> bool:
    if not text:
        return False
    return len(_GARBAGE_CHARS.findall(text)) / len(text) > _GARBAGE_LIMIT


# -------------------------------------------------------------------- sniffing

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"%PDF-", "PDF document"),
    (b"PK\x03\x04", "ZIP archive"),
    (b"PK\x05\x06", "ZIP archive"),
    (b"\x1f\x8b", "gzip data; the fetcher did not decompress it"),
)
_HTML_MEDIA = frozenset({"", "text/html", "application/xhtml+xml"})
_BINARY_MEDIA_PREFIXES = ("image/", "audio/", "video/", "font/")
_BINARY_MEDIA = frozenset(
    {
        "application/pdf",
        "application/zip",
        "application/gzip",
        "application/x-gzip",
        "application/msword",
        "application/wasm",
    }
)
# Servers send HTML under these too often to believe them without looking.
_SNIFF_MEDIA = frozenset(
    {"application/octet-stream", "binary/octet-stream", "application/xml", "text/xml"}
)
_LOOKS_LIKE_HTML = re.compile(rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]", re.IGNORECASE)


def _magic_of(body: bytes) -> str | None:
    if body[8:12] == b"WEBP" and body.startswith(b"RIFF"):
        return "WebP image"
    for magic, what in _MAGIC:
        if body.startswith(magic):
            return what
    if body[:1024].lstrip()[:5] == b"%PDF-":
        return "PDF document"
    return None


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _not_article(body: bytes, content_type: str | None) -> tuple[PageKind, str] | None:
    """Why this body is not an HTML page, or None when it should be extracted."""
    what = _magic_of(body)
    if what is not None:
        return PageKind.BINARY, f"binary body ({what}); not extracted"
    media = _media_type(content_type)
    if media.startswith(_BINARY_MEDIA_PREFIXES) or media in _BINARY_MEDIA:
        return PageKind.BINARY, f"content type {media} is not a page; not extracted"
    looks_html = bool(_LOOKS_LIKE_HTML.search(body[:_PRESCAN_BYTES]))
    if media in _SNIFF_MEDIA and not looks_html:
        kind = PageKind.NOT_HTML if "xml" in media else PageKind.BINARY
        return kind, f"content type {media} and no HTML markup; not extracted"
    if media not in _HTML_MEDIA and media not in _SNIFF_MEDIA:
        return PageKind.NOT_HTML, f"content type {media} is not HTML; not extracted"
    # UTF-16 text is full of NULs; it is binary only when nothing says it is UTF-16.
    wide = any(body.startswith(bom) for bom, _ in _BOMS[1:]) or bool(
        _META_WIDE.match(_header_charset(content_type) or "")
    )
    if b"\x00" in body[:1024] and not wide:
        return PageKind.BINARY, "binary body (NUL bytes near the start); not extracted"
    return None


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


def _meta(root: lxml.html.HtmlElement, *keys: str) -> str | None:
    """The first non-empty <meta> content whose property, name or itemprop is a key."""
    wanted = {key.lower() for key in keys}
    found: dict[str, str] = {}
    for el in root.iter("meta"):
        content = el.get("content")
        if not content or not content.strip():
            continue
        for attr in ("property", "name", "itemprop"):
            key = (el.get(attr) or "").strip().lower()
            if key in wanted and key not in found:
                found[key] = content.strip()
    for key in keys:
        if key.lower() in found:
            return found[key.lower()]
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
    parts: list[str] = []
    for event, node in lxml.etree.iterwalk(el, events=("start", "end")):
        if not isinstance(node.tag, str):
            continue
        block = node.tag in _BLOCK_TAGS
        if event == "start":
            if block:
                parts.append("\n")
            parts.append(node.text or "")
        else:
            if block:
                parts.append("\n")
            if node is not el:
                parts.append(node.tail or "")
    return "".join(parts)


# ------------------------------------------------------------------------ dates

_KHMER_DIGITS = str.maketrans("០១២៣៤៥៦៧៨៩", "0123456789")
_KHMER_MONTHS = {
    normalize_khmer(name): number
    for number, name in enumerate(
        [
            "មករា",
            "កុម្ភៈ",
            "មីនា",
            "មេសា",
            "ឧសភា",
            "មិថុនា",
            "កក្កដា",
            "សីហា",
            "កញ្ញា",
            "តុលា",
            "វិច្ឆិកា",
            "ធ្នូ",
        ],
        start=1,
    )
}
# "ថ្ងៃទី៥ ខែកញ្ញា ឆ្នាំ២០២២", "៥ កញ្ញា ២០២២", "ទី05 ខែ កុម្ភះ 2022": the day, an optional
# "month" word, the month name (the final visarga of កុម្ភៈ is often left off or typed
# as a colon), an optional "year" word, the year.
_KHMER_DATE = re.compile(
    r"(?<!\d)(\d{1,2})\s*(?:ខែ\s*)?("
    + "|".join(sorted((re.escape(m.rstrip("ៈ")) for m in _KHMER_MONTHS), key=len, reverse=True))
    + r")[ៈះ:]?\s*(?:,\s*)?(?:ឆ្នាំ\s*)?(\d{4})(?!\d)"
)
_KHMER_MONTH_BY_STEM = {name.rstrip("ៈ"): number for name, number in _KHMER_MONTHS.items()}
# Date-shaped pieces of free text that dateparser is then asked to read.
_DATE_CHUNKS = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?"
    r"|\d{1,2}\.? [^\W\d_]{3,10}\.? \d{4}"
    r"|[^\W\d_]{3,10}\.? \d{1,2}(?:st|nd|rd|th)?,? \d{4}"
    r"|\d{1,2}[/.]\d{1,2}[/.]\d{4}"
)
_DATEPARSER_SETTINGS = {
    # Only absolute dates: "3 hours ago" would read the clock and break purity, and
    # a date missing its day or year would be completed from today.
    "PARSERS": ["custom-formats", "absolute-time"],
    "REQUIRE_PARTS": ["day", "month", "year"],
    "RETURN_AS_TIMEZONE_AWARE": False,
}


# Cached: a site repeats the same date strings (its clock, related-story dates) on
# every page, and dateparser is a tenth of extraction time when it runs.
@functools.lru_cache(maxsize=8192)
def _iso_date(value: str | None) -> str | None:
    """A machine-readable or written date as "YYYY-MM-DD", or as a datetime with offset
    when the source gives both a time and an offset (a time without an offset is dropped:
    we cannot say which instant it was)."""
    if not value or not value.strip():
        return None
    raw = value.strip()
    parsed = _parse_iso(raw)
    if parsed is None:
        parsed = _parse_khmer_date(raw)
    if parsed is None:
        parsed = _parse_with_dateparser(raw)
    if parsed is None:
        return None
    if isinstance(parsed, datetime):
        if parsed.tzinfo is not None and parsed.utcoffset() is not None:
            return parsed.isoformat()
        parsed = parsed.date()
    # Web news postdates 1990; earlier dates in article markup are placeholders
    # (0001-01-01, the Unix epoch), and far-future ones are Buddhist Era years (the
    # Khmer calendar's ២៥៦៦ is 2022-23) or typos.
    if not 1990 <= parsed.year <= 2200:
        return None
    return parsed.isoformat()


def _parse_iso(raw: str) -> date | datetime | None:
    candidate = raw.replace(" ", "T", 1) if re.match(r"\d{4}-\d{2}-\d{2} \d", raw) else raw
    try:
        if len(candidate) == 10:
            return date.fromisoformat(candidate)
        return datetime.fromisoformat(candidate)
    except ValueError:
        return None


def _parse_khmer_date(raw: str) -> date | None:
    text = normalize_khmer(raw).translate(_KHMER_DIGITS)
    match = _KHMER_DATE.search(text)
    if match is None:
        return None
    day, month_name, year = match.groups()
    try:
        return date(int(year), _KHMER_MONTH_BY_STEM[month_name], int(day))
    except ValueError:
        return None


def _parse_with_dateparser(raw: str) -> date | datetime | None:
    # Imported here: dateparser loads its language data on first use, and most pages
    # carry a machine-readable date and never need it.
    import dateparser

    text = raw.translate(_KHMER_DIGITS)
    for candidate in (text, *(m.group(0) for m in _DATE_CHUNKS.finditer(text))):
        if len(candidate) > 80:
            continue
        try:
            parsed = dateparser.parse(
                candidate, languages=["km", "en"], settings=_DATEPARSER_SETTINGS
            )
        except (ValueError, TypeError, OverflowError, LookupError):
            continue
        if isinstance(parsed, datetime):
            return parsed
    return None


# ------------------------------------------------------------- article fields


def _published_of(root: lxml.html.HtmlElement, nodes: list[dict[str, Any]]) -> str | None:
    """Machine-readable markup first; written dates near the article only after it."""
    for value in (
        _meta(
            root,
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
    ):
        iso = _iso_date(value)
        if iso:
            return iso
    return None


def _modified_of(root: lxml.html.HtmlElement, nodes: list[dict[str, Any]]) -> str | None:
    for value in (
        _meta(
            root,
            "article:modified_time",
            "og:updated_time",
            "dateModified",
            "last-modified",
            "dc.date.modified",
        ),
        _json_ld_value(nodes, "dateModified"),
        *_time_values(root, updated=True),
    ):
        iso = _iso_date(value)
        if iso:
            return iso
    return None


def _time_values(root: lxml.html.HtmlElement, *, updated: bool) -> Iterator[str]:
    """`datetime` of <time> elements (and itemprop dates) that belong to the article.

    A <time> in the page chrome (see `_in_page_chrome`) is the site's clock or another
    article's date, never this article's.
    """
    prop = "dateModified" if updated else "datePublished"
    yield from root.xpath(f"//*[@itemprop='{prop}']/@datetime | //*[@itemprop='{prop}']/@content")
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
        iso = _iso_date(text)
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


def _title_of(root: lxml.html.HtmlElement, page_title: str | None) -> str | None:
    og = _one_line(_meta(root, "og:title", "twitter:title"))
    if og:
        return og
    for h1 in root.iter("h1"):
        if not _in_page_chrome(h1):  # many themes put the logo in an <h1> in the header
            text = _one_line(_text_of(h1))
            if text:
                return text
    if page_title:
        return _strip_site_name(page_title, _one_line(_meta(root, "og:site_name")))
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
    root: lxml.html.HtmlElement, nodes: list[dict[str, Any]], trafilatura_author: str | None
) -> str | None:
    # Structured sources first: they do not move when the layout does.
    for value in (
        _meta(
            root,
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
        text = _one_line(_text_of(el))
        if text and len(text) <= 200 and _BYLINE_PREFIX.match(text) and not _in_page_chrome(el):
            byline = _clean_byline(text)
            if byline and _looks_like_name(byline):
                return byline
    return None


_LANG_TAG = re.compile(r"[a-z]{2,3}")


def _lang_of(root: lxml.html.HtmlElement, text: str, title: str | None) -> str | None:
    # Script first: Khmer sites often keep a theme's lang="en".
    if script_of(text or title or "") == "km":
        return "km"
    for value in (
        root.get("lang"),
        root.get("{http://www.w3.org/XML/1998/namespace}lang"),
        _meta(root, "content-language", "language", "dc.language", "og:locale"),
        *root.xpath(
            "//meta[translate(@http-equiv, 'CONTENTLAG', 'contentlag')='content-language']/@content"
        ),
    ):
        if value:
            primary = re.split(r"[-_,;\s]", value.strip().lower(), maxsplit=1)[0]
            if _LANG_TAG.fullmatch(primary):
                return primary
    return None


def _canonical_of(root: lxml.html.HtmlElement, url: str) -> str | None:
    hrefs = root.xpath(
        "//link[contains(concat(' ', translate(@rel, 'CANONIL', 'canonil'), ' '),"
        " ' canonical ')]/@href"
    )
    for href in [*hrefs, _meta(root, "og:url")]:
        if not href or not str(href).strip():
            continue
        absolute = urljoin(url, str(href).strip())
        if urlsplit(absolute).scheme in ("http", "https") and urlsplit(absolute).netloc:
            return absolute
    return None


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
    # The size check comes first: it is the one check that touches no byte of the body.
    if len(body) > max_bytes:
        return _empty(
            PageKind.TOO_LARGE,
            f"body of {len(body):,} bytes is over the {max_bytes:,}-byte limit; not parsed",
        )
    if not body.strip():
        return _empty(PageKind.EMPTY, "empty body; nothing to extract")
    rejected = _not_article(body, content_type)
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
    title = _title_of(root, page_title)
    published = _published_of(root, nodes)
    modified = _modified_of(root, nodes)
    canonical = _canonical_of(root, url)

    note = ""
    document = None
    try:
        document = trafilatura.bare_extraction(root, url=url, **TRAFILATURA_OPTIONS.as_kwargs())
    except Exception as exc:  # trafilatura's failure is this page's, not the crawl's
        LOGGER.exception("trafilatura failed on %s", url)
        note = f"trafilatura failed ({type(exc).__name__}: {exc}); text left empty"
    text = normalize_text(getattr(document, "text", None) or "")
    author = getattr(document, "author", None)

    byline = _byline_of(root, nodes, author if isinstance(author, str) else None)
    if title is None:
        title = _one_line(getattr(document, "title", None))
    if published is None:
        published = _iso_date(getattr(document, "date", None)) or _written_date(root)
    if not text and not note:
        note = "no article text found"
    return Extracted(
        kind=PageKind.HTML,
        title=title,
        byline=byline,
        text=text,
        published=published,
        modified=modified,
        lang=_lang_of(root, text, title),
        page_title=page_title,
        charset=charset,
        canonical_url=canonical,
        extractor=EXTRACTOR_VERSION,
        note=note,
    )
