"""Story events read as changes: `removed_together` rows (archive.store.story_events)
in the order and with the filters of `queries.list_changes`, which merges them with the
change events. Takes a Session, never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from archive.store.models import Article, ChangeEvent, ChangeKind, Source
from archive.store.story_events import StoryEvent, StoryEventRemoval


def wants_story_events(kinds: Sequence[str], min_significance: float | None) -> bool:
    """Whether a change listing with these filters shows story events: they are not
    edits and carry no significance, so a significance floor leaves them out."""
    return min_significance is None and (not kinds or ChangeKind.REMOVED_TOGETHER in kinds)


def story_events_page(
    session: Session,
    *,
    since: datetime | None,
    sources: Sequence[str],
    before: tuple[datetime, int] | None,
    limit: int | None,
    inclusive: bool = False,
) -> list[tuple[StoryEvent, Article, str]]:
    """Story events newest first, with the article each is listed under and its
    source. `sources` keeps events that name a removal at one of them. `before` is a
    keyset cursor; `inclusive` keeps an event with exactly its `(at, id)` (the cursor's
    row was a change event, which comes first on a tie)."""
    stmt = (
        select(StoryEvent, Article, Source.name)
        .join(Article, Article.id == StoryEvent.article_id)
        .join(Source, Source.id == Article.source_id)
        .where(StoryEvent.merged_into.is_(None))
        .order_by(StoryEvent.at.desc(), StoryEvent.id.desc())
    )
    if since is not None:
        stmt = stmt.where(StoryEvent.at >= since)
    if before is not None:
        at, event_id = before
        same = StoryEvent.id <= event_id if inclusive else StoryEvent.id < event_id
        stmt = stmt.where(or_(StoryEvent.at < at, (StoryEvent.at == at) & same))
    if sources:
        named = (
            select(StoryEventRemoval.change_event_id)
            .join(Article, Article.id == StoryEventRemoval.article_id)
            .join(Source, Source.id == Article.source_id)
            .where(
                StoryEventRemoval.story_event_id == StoryEvent.id,
                Source.name.in_(list(sources)),
            )
        )
        stmt = stmt.where(exists(named))
    if limit is not None:
        stmt = stmt.limit(limit)
    return [(e, a, name) for e, a, name in session.execute(stmt)]


def as_change_event(event: StoryEvent) -> ChangeEvent:
    """A story event in the shape every change reader takes (a transient ChangeEvent,
    never added to a session: it belongs to no capture, `capture_id` 0)."""
    return ChangeEvent(
        id=event.id,
        article_id=event.article_id,
        capture_id=0,
        kind=event.kind,
        how=[],
        at=event.at,
        from_version_id=None,
        to_version_id=None,
        detail=dict(event.detail or {}),
        significance=None,
    )
