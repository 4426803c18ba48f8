"""The one item the spiders yield: a fetch to record, with what discovery learnt.

Spiders decide nothing about content; they hand the raw exchange to the pipeline, which
passes it to `archive.record_capture`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archive.capture import Exchange


@dataclass(frozen=True, slots=True)
class FetchItem:
    """One article fetch. `hints` are what a sitemap or feed said about the URL
    (lastmod, news publication date, feed date), kept on the Article row."""

    exchange: Exchange
    source: str
    kind: str  # "discover" or "recheck"
    article_id: int | None = None
    hints: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HintItem:
    """What discovery learnt about an article already in the archive (sitemap lastmod,
    feed dates); the pipeline keeps it and brings the next check forward when the
    outlet says the article changed since we last looked."""

    url: str  # normalized
    source: str
    hints: dict[str, Any]
