"""What a page states about itself in machine-readable form: its <meta> elements and its
JSON-LD objects, each read once per page and asked many times.

Pure apart from CPU; a malformed JSON-LD block is skipped (logged at debug level).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import lxml.html

__all__ = [
    "is_url",
    "json_ld_author",
    "json_ld_nodes",
    "json_ld_value",
    "meta_content",
    "meta_index",
]

LOGGER = logging.getLogger(__name__)


def meta_index(root: lxml.html.HtmlElement) -> dict[str, str]:
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


def meta_content(metas: dict[str, str], *keys: str) -> str | None:
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


def json_ld_nodes(root: lxml.html.HtmlElement) -> list[dict[str, Any]]:
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


def json_ld_value(nodes: list[dict[str, Any]], key: str) -> str | None:
    for node in nodes:
        value = node.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def json_ld_author(nodes: list[dict[str, Any]]) -> str | None:
    for node in nodes:
        author = node.get("author")
        people = author if isinstance(author, list) else [author]
        names: list[str] = []
        for person in people:
            if isinstance(person, dict):
                person = person.get("name")
            if isinstance(person, str) and person.strip() and not is_url(person):
                names.append(person.strip())
        if names:
            return ", ".join(names)
    return None


def is_url(value: str) -> bool:
    return bool(re.match(r"\s*(https?:)?//", value))
