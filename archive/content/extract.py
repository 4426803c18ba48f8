"""From the raw body of one response to the normalized article: text and metadata.

This module owns what an article *is* on a page: its body text (trafilatura), and the
title, byline, dates, language and canonical URL, which we read from the HTML ourselves
where trafilatura is wrong for Khmer (it strips vowel signs from Khmer bylines and does
not parse Khmer dates). Everything returned is normalized with `archive.content.normalize`, so
two captures of an unchanged article give equal `Extracted` values however the page
around it (ads, counters, scripts, timestamps) changed.

It calls trafilatura and puts the fields together; which element holds each field is
decided next to it (`archive.content.article_fields`, `archive.content.byline`, reading
the page through `archive.content.markup` and `archive.content.structured_data`, falling
back on `archive.content.trafilatura_metadata`), with the options of
`archive.content.trafilatura_options`. It does not decode bytes or judge whether a body
is a page (`archive.content.decode` does), nor parse date strings
(`archive.content.dates` does). It is pure apart from CPU: no database, files, network,
clock or environment. It never raises for bad input; a body that cannot be extracted
comes back as an `Extracted` whose `kind` and `note` say why; trafilatura failing on
the text alone leaves the fields we read ourselves, and any other failure (lxml, running
out of memory) is logged with its traceback and returned as kind `failed`
(`failed_extraction`: one page must never stop a crawl, nor read as a takedown). It
imports nothing of ours outside this wing except `archive.errors`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import lxml.etree
import trafilatura

from archive.content.article_fields import (
    canonical_of,
    lang_of,
    modified_of,
    published_of,
    title_of,
    written_date,
)
from archive.content.byline import byline_of
from archive.content.dates import iso_date
from archive.content.decode import PageKind, decode_body, screen_body
from archive.content.images import ImageRef, find_images
from archive.content.markup import one_line, parse_html
from archive.content.normalize import normalize_text
from archive.content.structured_data import json_ld_nodes, meta_index
from archive.content.trafilatura_metadata import TrafilaturaMetadata
from archive.content.trafilatura_options import TRAFILATURA_OPTIONS
from archive.errors import ExtractionError

__all__ = [
    "EXTRACTOR_VERSION",
    "Extracted",
    "PageKind",
    "article_body",
    "extract_page",
    "failed_extraction",
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
    # The article's images in page order (archive.content.images), for the crawler to
    # fetch and hash; not part of the text, so not part of EXTRACTOR_VERSION.
    images: tuple[ImageRef, ...] = ()


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


def failed_extraction(note: str) -> Extracted:
    """What a page whose extraction failed is recorded as: kind `failed`, no text, and
    `note` saying why (the capture's `detail.extract_note`). Judged like a body that is
    not a page (outcome `not_article`, the article's state kept), never as an emptied
    article: a failure of ours is not a takedown (design rule 7)."""
    return _empty(PageKind.FAILED, note)


def extract_page(
    body: bytes, *, url: str, content_type: str | None, max_bytes: int = 20_000_000
) -> Extracted:
    """Extract the article from one response body. Never raises for bad input."""
    try:
        rejected = screen_body(body, content_type, max_bytes=max_bytes)
        if rejected is not None:
            return _empty(*rejected)
        try:
            html, charset = decode_body(body, content_type)
        except ExtractionError as exc:
            return _empty(PageKind.UNDECODABLE, f"{exc}; not extracted")
        return _extract_html(html, charset, url)
    except Exception as exc:  # the boundary: one page must never stop a crawl
        # MemoryError lands here too (a page that exhausts the worker's memory limit,
        # crawler.processes.limit_memory): a failure, not an emptied page.
        LOGGER.exception("extraction of %s failed", url)
        return failed_extraction(f"extraction failed ({type(exc).__name__}: {exc}); not read")


def _extract_html(html: str, charset: str, url: str) -> Extracted:
    try:
        root = parse_html(html)
    except (lxml.etree.ParserError, ExtractionError, ValueError) as exc:
        return _empty(PageKind.HTML, f"no HTML element could be parsed ({exc})", charset)

    page_title = one_line(root.findtext(".//title"))
    nodes = json_ld_nodes(root)
    # trafilatura cleans a copy of the tree, so the order does not matter for
    # correctness; ours come first so a trafilatura failure still leaves them.
    metas = meta_index(root)
    title = title_of(root, metas, page_title)
    published = published_of(root, metas, nodes)
    modified = modified_of(root, metas, nodes)
    canonical = canonical_of(root, metas, url)

    note = ""
    document = None
    try:
        document = trafilatura.bare_extraction(root, url=url, **TRAFILATURA_OPTIONS.as_kwargs())
    except MemoryError:
        raise  # out of memory: the whole extraction failed (extract_page), not just the text
    except Exception as exc:  # trafilatura's failure is this page's, not the crawl's
        LOGGER.exception("trafilatura failed on %s", url)
        note = f"trafilatura failed ({type(exc).__name__}: {exc}); text left empty"
    text = normalize_text(getattr(document, "text", None) or "")

    fallback = TrafilaturaMetadata(root, url)
    byline = byline_of(root, metas, nodes, fallback)
    if title is None:
        title = one_line(fallback.title)
    if published is None:
        published = iso_date(fallback.date) or written_date(root)
    if not text and not note:
        note = "no article text found"
    return Extracted(
        kind=PageKind.HTML,
        title=title,
        byline=byline,
        text=text,
        published=published,
        modified=modified,
        lang=lang_of(root, metas, text, title),
        page_title=page_title,
        charset=charset,
        canonical_url=canonical,
        extractor=EXTRACTOR_VERSION,
        note=note,
        images=find_images(root, url),
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
