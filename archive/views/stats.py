"""Counts and spans over the archive that the charts draw: one article's life (versions,
status changes, unreachable spells, edits with their significance), a source's
captures per day by outcome and changes per week by kind, and the whole archive's
changes per day.

Functions take a Session and never open, commit or roll it back. Counting happens in
the database, grouped by UTC day (`date()` reads the stored naive UTC time the same
way on SQLite and PostgreSQL), so a month of busy crawling returns a few hundred rows;
weeks are folded from days here, since the two databases name weeks differently.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.store.models import Article, Capture, CaptureOutcome, ChangeEvent, Source, Version
from archive.views.export import event_detail

# Events that change what a reader can see of the article, as opposed to edits.
STATUS_KINDS = ("discovered", "removed", "restored", "moved", "unreachable", "reachable")


@dataclass(frozen=True)
class VersionSpan:
    """A version and how long it was the article's current one: from when it was first
    seen `until` the next version's first sighting, the removal, or the last check."""

    n: int
    title: str | None
    lang: str | None
    first_seen: datetime
    last_seen: datetime
    until: datetime


@dataclass(frozen=True)
class EditMark:
    at: datetime
    from_n: int | None
    to_n: int | None
    significance: float | None
    classes: list[str]


@dataclass(frozen=True)
class StatusMark:
    at: datetime
    kind: str
    how: list[str]


@dataclass(frozen=True)
class Spell:
    """Consecutive captures that could not reach the article: from the first of them
    to the next capture that did (or to the last failed one, if it still fails)."""

    start: datetime
    end: datetime
    captures: int
    ongoing: bool


@dataclass
class ArticleLife:
    article_id: int
    title: str | None
    lang: str | None
    status: str
    first_seen: datetime
    last_checked: datetime
    versions: list[VersionSpan] = field(default_factory=list)
    edits: list[EditMark] = field(default_factory=list)
    statuses: list[StatusMark] = field(default_factory=list)
    unreachable: list[Spell] = field(default_factory=list)


def article_life(session: Session, article: Article) -> ArticleLife:
    """Everything the article timeline draws, from its versions, events and captures."""
    versions = list(
        session.execute(
            select(
                Version.id,
                Version.n,
                Version.title,
                Version.lang,
                Version.first_seen,
                Version.last_seen,
            )
            .where(Version.article_id == article.id)
            .order_by(Version.n)
        )
    )
    n_of = {row.id: row.n for row in versions}
    current = versions[-1] if versions else None
    life = ArticleLife(
        article_id=article.id,
        title=current.title if current else None,
        lang=current.lang if current else None,
        status=str(article.status),
        first_seen=article.first_seen,
        last_checked=article.last_checked,
    )
    end = article.removed_at or article.last_checked
    for v, after in zip(versions, [*versions[1:], None], strict=True):
        until = after.first_seen if after is not None else max(end, v.last_seen)
        life.versions.append(VersionSpan(v.n, v.title, v.lang, v.first_seen, v.last_seen, until))
    events = session.scalars(
        select(ChangeEvent)
        .where(ChangeEvent.article_id == article.id)
        .order_by(ChangeEvent.at, ChangeEvent.id)
    )
    for event in events:
        if event.kind == "edited":
            detail = event_detail(event)
            score = detail.get("significance", event.significance)
            life.edits.append(
                EditMark(
                    at=event.at,
                    from_n=n_of.get(event.from_version_id or 0),
                    to_n=n_of.get(event.to_version_id or 0),
                    significance=float(score) if isinstance(score, int | float) else None,
                    classes=[
                        str(c.get("class", c)) if isinstance(c, dict) else str(c)
                        for c in detail.get("classes") or []
                    ],
                )
            )
        elif event.kind in STATUS_KINDS:
            life.statuses.append(StatusMark(event.at, event.kind, [str(h) for h in event.how]))
    life.unreachable = _spells(
        session.execute(
            select(Capture.fetched_at, Capture.outcome)
            .where(Capture.article_id == article.id)
            .order_by(Capture.fetched_at, Capture.id)
        )
    )
    return life


def _spells(rows: Any) -> list[Spell]:
    spells: list[Spell] = []
    start: datetime | None = None
    last: datetime | None = None
    count = 0
    for at, outcome in rows:
        if outcome == CaptureOutcome.UNREACHABLE:
            if start is None:
                start, count = at, 0
            last = at
            count += 1
        elif start is not None:
            spells.append(Spell(start, at, count, ongoing=False))
            start = None
    if start is not None and last is not None:
        spells.append(Spell(start, last, count, ongoing=True))
    return spells


@dataclass(frozen=True)
class DayCounts:
    """Counts per UTC day and per key (an outcome or a change kind), days first to
    last with empty days present, so a chart's bars line up with the calendar."""

    days: list[date]
    counts: dict[str, list[int]]

    def total(self, key: str) -> int:
        return sum(self.counts.get(key, []))


def _day_range(since: date, until: date) -> list[date]:
    return [since + timedelta(days=i) for i in range((until - since).days + 1)]


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _bounds(since: date, until: date) -> tuple[datetime, datetime]:
    return (
        datetime.combine(since, time(), tzinfo=UTC),
        datetime.combine(until + timedelta(days=1), time(), tzinfo=UTC),
    )


def _fold(rows: Any, days: list[date], keys: list[str]) -> DayCounts:
    index = {d: i for i, d in enumerate(days)}
    counts: dict[str, list[int]] = {k: [0] * len(days) for k in keys}
    for day, key, n in rows:
        i = index.get(_as_date(day))
        if i is None:
            continue
        counts.setdefault(str(key), [0] * len(days))[i] += int(n)
    return DayCounts(days, counts)


def last_capture_at(session: Session, source: Source) -> datetime | None:
    """When the source's newest capture was fetched (for a backfilled outlet, the
    newest snapshot's date), or None before any."""
    at = session.scalar(select(func.max(Capture.fetched_at)).where(Capture.source_id == source.id))
    if at is None:
        return None
    if isinstance(at, str):  # SQLite hands an aggregate back as text
        at = datetime.fromisoformat(at)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def captures_per_day(session: Session, source: Source, since: date, until: date) -> DayCounts:
    """The source's captures per UTC day from `since` to `until` (inclusive), by outcome."""
    start, end = _bounds(since, until)
    day = func.date(Capture.fetched_at)
    rows = session.execute(
        select(day, Capture.outcome, func.count())
        .where(
            Capture.source_id == source.id,
            Capture.fetched_at >= start,
            Capture.fetched_at < end,
        )
        .group_by(day, Capture.outcome)
    )
    return _fold(rows, _day_range(since, until), [])


def changes_per_day(
    session: Session, since: date, until: date, *, source: Source | None = None
) -> DayCounts:
    """Change events per UTC day from `since` to `until` (inclusive), by kind; of one
    source, or of the whole archive."""
    start, end = _bounds(since, until)
    day = func.date(ChangeEvent.at)
    stmt = (
        select(day, ChangeEvent.kind, func.count())
        .where(ChangeEvent.at >= start, ChangeEvent.at < end)
        .group_by(day, ChangeEvent.kind)
    )
    if source is not None:
        stmt = stmt.join(Article, Article.id == ChangeEvent.article_id).where(
            Article.source_id == source.id
        )
    return _fold(session.execute(stmt), _day_range(since, until), [])


@dataclass(frozen=True)
class WeekCounts:
    """Counts per ISO week (keyed by its Monday), weeks first to last."""

    weeks: list[date]
    counts: dict[str, list[int]]

    def total(self, key: str) -> int:
        return sum(self.counts.get(key, []))


def per_week(days: DayCounts) -> WeekCounts:
    """Day counts folded into ISO weeks (Monday to Sunday)."""
    mondays = sorted({d - timedelta(days=d.weekday()) for d in days.days})
    index = {m: i for i, m in enumerate(mondays)}
    counts: dict[str, list[int]] = {}
    for key, values in days.counts.items():
        row = [0] * len(mondays)
        for d, n in zip(days.days, values, strict=True):
            row[index[d - timedelta(days=d.weekday())]] += n
        counts[key] = row
    return WeekCounts(mondays, counts)


def totals(days: DayCounts) -> Counter[str]:
    return Counter({k: sum(v) for k, v in days.counts.items() if sum(v)})
