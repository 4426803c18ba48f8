"""Sitemap parsing that keeps what news sitemaps say about each article.

Scrapy's `SitemapSpider` yields bare URLs and drops `lastmod` and the Google News
fields; we keep them: `lastmod` tells a recheck that an article changed, and
`news:publication_date` is the outlet's own claim of when it published, evidence worth
keeping beside our first sighting.

Handles sitemap indexes, `urlset`s with or without the news and image extensions, the
plain-text form (one URL a line) and gzip bodies. Hostile input is expected: entities
are not resolved, the network is never touched, and decompression is capped.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import lxml.etree

from archive.content import parse_iso_utc

__all__ = ["Sitemap", "SitemapEntry", "parse_sitemap"]

MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemaps.org limit, uncompressed


@dataclass(frozen=True, slots=True)
class SitemapEntry:
    loc: str
    lastmod: datetime | None = None
    publication_date: datetime | None = None
    news_title: str | None = None
    news_language: str | None = None

    @property
    def newest(self) -> datetime | None:
        dates = [d for d in (self.lastmod, self.publication_date) if d is not None]
        return max(dates) if dates else None

    def hints(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.lastmod:
            out["sitemap_lastmod"] = self.lastmod.isoformat()
        if self.publication_date:
            out["news_publication_date"] = self.publication_date.isoformat()
        if self.news_title:
            out["news_title"] = self.news_title
        if self.news_language:
            out["news_language"] = self.news_language
        return out


@dataclass(frozen=True, slots=True)
class Sitemap:
    kind: Literal["index", "urlset", "unknown"]
    entries: tuple[SitemapEntry, ...]
    note: str = ""


def _gunzip(body: bytes, limit: int) -> bytes | None:
    out = io.BytesIO()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(body)) as stream:
            while chunk := stream.read(65536):
                out.write(chunk)
                if out.tell() > limit:
                    return None
    except (OSError, EOFError, zlib.error):
        return None
    return out.getvalue()


def _local(tag: object) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].lower()


def _text(el: lxml.etree._Element) -> str | None:
    value = (el.text or "").strip()
    return value or None


def _entries(root: lxml.etree._Element, child: str) -> Iterator[SitemapEntry]:
    for node in root:
        if _local(node.tag) != child:
            continue
        loc = lastmod = pub = title = lang = None
        for sub in node.iter():
            name = _local(sub.tag)
            if name == "loc" and loc is None and sub.getparent() is node:
                loc = _text(sub)
            elif name == "lastmod" and sub.getparent() is node:
                lastmod = _text(sub)
            elif name == "publication_date":
                pub = _text(sub)
            elif name == "title" and _local(sub.getparent().tag) == "news":
                title = _text(sub)
            elif name == "language" and _local(sub.getparent().tag) == "publication":
                lang = _text(sub)
        if loc:
            yield SitemapEntry(
                loc=loc,
                lastmod=parse_iso_utc(lastmod),
                publication_date=parse_iso_utc(pub),
                news_title=title,
                news_language=lang,
            )


def parse_sitemap(body: bytes, *, max_bytes: int = MAX_SITEMAP_BYTES) -> Sitemap:
    """Parse one sitemap document (XML or text, possibly gzipped)."""
    if body[:2] == b"\x1f\x8b":
        unpacked = _gunzip(body, max_bytes)
        if unpacked is None:
            return Sitemap("unknown", (), note="bad gzip or larger than the sitemap limit")
        body = unpacked
    if len(body) > max_bytes:
        return Sitemap("unknown", (), note=f"larger than {max_bytes} bytes")
    stripped = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped.startswith(b"<"):
        return _text_sitemap(stripped)
    parser = lxml.etree.XMLParser(
        resolve_entities=False, no_network=True, recover=True, huge_tree=False, remove_comments=True
    )
    try:
        root = lxml.etree.fromstring(stripped, parser=parser)
    except lxml.etree.XMLSyntaxError as exc:
        return Sitemap("unknown", (), note=f"not XML: {exc}")
    if root is None:
        return Sitemap("unknown", (), note="empty document")
    kind = _local(root.tag)
    if kind == "sitemapindex":
        return Sitemap("index", tuple(_entries(root, "sitemap")))
    if kind == "urlset":
        return Sitemap("urlset", tuple(_entries(root, "url")))
    return Sitemap("unknown", (), note=f"root element <{kind}> is not a sitemap")


def _text_sitemap(body: bytes) -> Sitemap:
    urls = []
    for line in body.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if line.startswith(("http://", "https://")) and " " not in line:
            urls.append(SitemapEntry(loc=line))
    if not urls:
        return Sitemap("unknown", (), note="neither XML nor a list of URLs")
    return Sitemap("urlset", tuple(urls))
