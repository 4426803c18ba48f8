"""Where one fetch belongs: the archived article it is about (by the requested URL, else
the final one) and its source (named by the crawler, else found by host, else created).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.capture.exchange import Exchange
from archive.content.normalize import normalize_url
from archive.errors import BadInput
from archive.store.models import Article, Source
from archive.store.queries import article_by_url, source_by_name
from archive.store.source_options import SourceOptions


@dataclass(frozen=True, slots=True)
class Place:
    """Which archived article one fetch is about, and its URLs as detection sees them."""

    article: Article | None
    requested: str  # the requested URL, normalized
    final: str  # the URL the fetch ended at, normalized
    # `final`, or `requested` when the fetch never left the article's own URLs: a
    # redirect between two URLs the article is already known under is not a move.
    observed_final: str
    # The article was found only under the final URL: the requested one becomes an alias.
    via_final: bool
    # The fetch was redirected to a different archived article.
    into_other: Article | None


def locate(session: Session, exchange: Exchange) -> Place:
    """Find the article by the requested URL, else by the final one."""
    requested = normalize_url(exchange.requested_url)
    final = normalize_url(exchange.final_url)
    article = article_by_url(session, requested)
    via_final = False
    if article is None and not _same_url(final, requested):
        article = article_by_url(session, final)
        via_final = article is not None

    observed_final = final
    into_other: Article | None = None
    if via_final or _same_url(final, requested):
        observed_final = requested
    elif article is not None:
        target = article_by_url(session, final)
        if target is not None and target.id == article.id:
            observed_final = requested
        elif target is not None:
            into_other = target
    return Place(
        article=article,
        requested=requested,
        final=final,
        observed_final=observed_final,
        via_final=via_final,
        into_other=into_other,
    )


def resolve_source(session: Session, exchange: Exchange, now: datetime) -> Source:
    """The source the exchange names, else the one on its host (ignoring ``www.``),
    else one created for that host at `now`: a fetch is never dropped for want of one."""
    if exchange.source:
        source = source_by_name(session, exchange.source)
        if source is None:
            raise BadInput(
                f"source {exchange.source!r} is not in the archive; add it to sources.toml "
                "and run `presswatch sources --check`"
            )
        return source
    host = (urlsplit(exchange.requested_url).hostname or "").lower().removeprefix("www.")
    for source in session.scalars(select(Source)):
        source_host = (urlsplit(source.base_url).hostname or "").lower().removeprefix("www.")
        if source_host == host:
            return source
    parts = urlsplit(exchange.requested_url)
    source = Source(
        name=re.sub(r"[^a-z0-9.-]", "-", host) or "unknown",
        base_url=f"{parts.scheme}://{parts.netloc}/",
        languages=[],
        config=SourceOptions(),
        enabled=True,
        created_at=now,
    )
    session.add(source)
    session.flush()
    return source


def _same_url(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")
