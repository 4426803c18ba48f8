"""The bookkeeping around captures: an article's discovery hints and its next check, a
source's last crawl and last error. The crawler (its pipeline, its recorder) and the
admin API write these through here, so each rule has one place.

Functions take a Session (or rows of it) and never open, commit or roll it back: the
caller owns the transaction. When to check an article next is the caller's schedule
(`plan`); this module only says how the result is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from archive.store.models import Article
from archive.store.queries import article_by_url, current_version_of, sources_named

# (article, published of its current version, checked at) -> next check
PlanNextCheck = Callable[[Article, "str | None", datetime], "datetime | None"]

# Hints in which discovery says when the outlet last changed an article.
_CHANGE_HINTS = ("sitemap_lastmod", "feed_updated")

# A source's last error is kept to this many characters.
LAST_ERROR_CHARS = 2000


def merge_hints(article: Article, hints: Mapping[str, Any]) -> None:
    """Keep discovery's hints (sitemap lastmod, news date…) on the article: newer keys
    win, keys not given stay."""
    merged = {**(article.hints or {}), **hints}
    if merged != article.hints:
        article.hints = merged


def bring_check_forward(article: Article, at: datetime) -> bool:
    """Check the article no later than `at` (never later than it was due already);
    True when that moved its check."""
    if article.next_check is None or article.next_check > at:
        article.next_check = at
        return True
    return False


def outlet_changed_at(hints: Mapping[str, Any]) -> datetime | None:
    """When discovery says the outlet last changed the article (the newest of the
    sitemap's lastmod and the feed's updated; a date without a zone says nothing)."""
    newest = None
    for key in _CHANGE_HINTS:
        raw = hints.get(key)
        if not raw:
            continue
        try:
            when = datetime.fromisoformat(str(raw))
        except ValueError:
            continue
        if when.tzinfo is not None and (newest is None or when > newest):
            newest = when
    return newest


def apply_discovery_hints(session: Session, url: str, hints: Mapping[str, Any]) -> bool:
    """Keep discovery's hints on a known article, and bring its check forward when the
    outlet says it changed after our last check. True when its check moved; nothing
    happens for a URL the archive does not know."""
    article = article_by_url(session, url)
    if article is None:
        return False
    merge_hints(article, hints)
    changed_at = outlet_changed_at(hints)
    if changed_at is None or changed_at <= article.last_checked:
        return False
    return bring_check_forward(article, changed_at)


def schedule_after_capture(
    session: Session,
    article: Article,
    *,
    hints: Mapping[str, Any],
    plan: PlanNextCheck,
    checked_at: datetime,
) -> None:
    """After a capture of the article: its hints merged, its next check planned from
    its current version's publication date."""
    if hints:
        merge_hints(article, hints)
    version = current_version_of(session, article)
    published = version.published if version is not None else None
    article.next_check = plan(article, published, checked_at)


def stamp_sources_crawled(
    session: Session,
    names: Sequence[str],
    problems: Mapping[str, Sequence[str]],
    at: datetime,
) -> None:
    """Each named source was crawled at `at`: its last error becomes its problems of
    this crawl (joined, cut to `LAST_ERROR_CHARS`), or None when it had none."""
    for source in sources_named(session, names):
        source.last_crawl_at = at
        found = problems.get(source.name)
        source.last_error = "; ".join(found)[:LAST_ERROR_CHARS] if found else None
