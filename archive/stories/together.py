"""Removals that happen together: copies of one story removed at `outlets` or more
outlets (sources) within `days` days make one `removed_together` story event per story
and episode (tables and why they are not change events: archive.store.story_events).

An episode: the removals of a story's copies, ordered by removal date (the date the
archive records as `removed_at`, the first check that found the copy gone, else the
removal event's own time), grouped from the earliest removal not yet in an episode over
a window of `days` days. When the window holds removals at `outlets` distinct sources,
the episode is an event: every removal in the window belongs to it, and the next
episode starts at the first removal after the window. When it does not, the window
slides to the next removal. A removal recorded later that falls inside an existing
event's window joins that event (its `detail.removals` grows, `updated_at` moves; its
`at` and id stay): never a second event for the same episode. Removals from imports and
web-archive backfills count like our own crawl's and are marked by their `origin` and
`via`. A removal that was later restored still happened and still counts.

Work is bounded: a story is looked at only when one of its copies was removed or joined
it (`StoryEventOutbox`), and reads its members (at most MAX_MEMBERS) and their removal
events by index. Takes a Session, never commits; `now` is handed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from archive.store import (
    Article,
    Capture,
    ChangeEvent,
    ChangeKind,
    Source,
    StoryEvent,
    StoryEventOutbox,
    StoryEventRemoval,
    StoryMember,
)

__all__ = [
    "DEFAULT_TOGETHER_DAYS",
    "DEFAULT_TOGETHER_OUTLETS",
    "Removal",
    "episodes_of",
    "find_removed_together",
    "story_events_of",
]

DEFAULT_TOGETHER_OUTLETS = 2
DEFAULT_TOGETHER_DAYS = 7
MAX_MEMBERS = 500  # copies of one story read when judging its episodes
_WEB_ARCHIVE = "web_archive"


@dataclass(frozen=True, slots=True)
class Removal:
    """One copy's removal, as an event names it."""

    event_id: int
    article_id: int
    url: str
    source: str
    removed_at: datetime  # the first check that found it gone (the window's date)
    confirmed_at: datetime  # the removal event's time: the check that confirmed it
    how: str | None
    origin: str | None  # crawl, import, web_archive
    via: dict[str, Any] | None

    def as_json(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "article_id": self.article_id,
            "url": self.url,
            "source": self.source,
            "removed_at": self.removed_at.isoformat(),
            "confirmed_at": self.confirmed_at.isoformat(),
            "how": self.how,
            "origin": self.origin,
            "via": self.via,
        }


def episodes_of(removals: list[Removal], *, outlets: int, days: int) -> list[list[Removal]]:
    """Pure: the episodes of a story's removals that reach `outlets` distinct sources
    within `days` days of the episode's first removal (module docstring)."""
    ordered = sorted(removals, key=lambda r: (r.removed_at, r.event_id))
    window = timedelta(days=days)
    out: list[list[Removal]] = []
    i = 0
    while i < len(ordered):
        start = ordered[i].removed_at
        inside = [r for r in ordered[i:] if r.removed_at <= start + window]
        if len({r.source for r in inside}) >= outlets:
            out.append(inside)
            i += len(inside)
        else:
            i += 1
    return out


def _removals(session: Session, article_ids: list[int]) -> list[Removal]:
    rows = session.execute(
        select(ChangeEvent, Article.fetch_url, Source.name, Capture.origin, Capture.provenance)
        .join(Article, Article.id == ChangeEvent.article_id)
        .join(Source, Source.id == Article.source_id)
        .join(Capture, Capture.id == ChangeEvent.capture_id)
        .where(
            ChangeEvent.article_id.in_(article_ids),
            ChangeEvent.kind == ChangeKind.REMOVED.value,
        )
        .order_by(ChangeEvent.id)
    ).all()
    out = []
    for event, url, source, origin, provenance in rows:
        first = (event.detail or {}).get("first_seen_missing")
        removed_at = datetime.fromisoformat(first) if isinstance(first, str) else event.at
        if removed_at.tzinfo is None:
            removed_at = removed_at.replace(tzinfo=UTC)
        via = None
        if origin == _WEB_ARCHIVE:
            prov = provenance or {}
            via = {
                "archive": prov.get("archive"),
                "snapshot": prov.get("snapshot_url"),
                "timestamp": prov.get("timestamp"),
            }
        how = list(event.how or [])
        out.append(
            Removal(
                event_id=event.id,
                article_id=event.article_id,
                url=url,
                source=source,
                removed_at=min(removed_at, event.at),
                confirmed_at=event.at,
                how=str(how[0]) if how else None,
                origin=origin,
                via=via,
            )
        )
    return out


def _detail(story_id: int, removals: list[Removal], days: int) -> dict[str, Any]:
    ordered = sorted(removals, key=lambda r: (r.removed_at, r.event_id))
    return {
        "story_id": story_id,
        "outlets": len({r.source for r in ordered}),
        "sources": sorted({r.source for r in ordered}),
        "window_days": days,
        "removals": [r.as_json() for r in ordered],
    }


def _judge_story(
    session: Session, story_id: int, *, outlets: int, days: int, now: datetime
) -> list[StoryEvent]:
    """Create or extend the story's events; the events created."""
    members = list(
        session.scalars(
            select(StoryMember.article_id)
            .where(StoryMember.story_id == story_id)
            .order_by(StoryMember.article_id)
            .limit(MAX_MEMBERS)
        )
    )
    if len(members) < 2:
        return []
    removals = _removals(session, members)
    if not removals:
        return []
    owner = dict(
        session.execute(
            select(StoryEventRemoval.change_event_id, StoryEventRemoval.story_event_id).where(
                StoryEventRemoval.change_event_id.in_([r.event_id for r in removals])
            )
        ).all()
    )
    events = {
        e.id: e
        for e in session.scalars(select(StoryEvent).where(StoryEvent.id.in_(set(owner.values()))))
    }
    live = _merge_overlapping(session, events, owner, now)
    window = timedelta(days=days)
    by_event: dict[int, list[Removal]] = {eid: [] for eid in live}
    free: list[Removal] = []
    for r in removals:
        eid = owner.get(r.event_id)
        if eid is not None:
            if eid in by_event:
                by_event[eid].append(r)
            continue
        home = next(
            (
                e
                for e in sorted(live.values(), key=lambda e: e.first_removed_at)
                if e.first_removed_at <= r.removed_at <= e.window_ends_at
            ),
            None,
        )
        if home is None:
            free.append(r)
        else:  # a later removal of an episode already reported: the event grows
            by_event[home.id].append(r)
            session.add(
                StoryEventRemoval(
                    change_event_id=r.event_id, story_event_id=home.id, article_id=r.article_id
                )
            )
    for eid, rs in by_event.items():
        event = live[eid]
        detail = _detail(story_id, rs, days)
        if event.story_id != story_id or detail != event.detail:
            event.story_id = story_id
            event.detail = detail
            event.outlets = detail["outlets"]
            event.updated_at = now
    created = []
    for episode in episodes_of(free, outlets=outlets, days=days):
        # `at`: when the archive knew of N outlets, the confirmation that made it N.
        seen: set[str] = set()
        reached = episode[0]
        for r in sorted(episode, key=lambda r: (r.confirmed_at, r.event_id)):
            seen.add(r.source)
            reached = r
            if len(seen) >= outlets:
                break
        first = min(r.removed_at for r in episode)
        detail = _detail(story_id, episode, days)
        event = StoryEvent(
            story_id=story_id,
            kind=ChangeKind.REMOVED_TOGETHER.value,
            at=reached.confirmed_at,
            article_id=reached.article_id,
            first_removed_at=first,
            window_ends_at=first + window,
            outlets=detail["outlets"],
            detail=detail,
            created_at=now,
            updated_at=now,
        )
        session.add(event)
        session.flush()
        session.add_all(
            StoryEventRemoval(
                change_event_id=r.event_id, story_event_id=event.id, article_id=r.article_id
            )
            for r in episode
        )
        created.append(event)
    session.flush()
    return created


def _merge_overlapping(
    session: Session, events: dict[int, StoryEvent], owner: dict[int, int], now: datetime
) -> dict[int, StoryEvent]:
    """Two stories that merged may each have reported one episode of what is now one
    story: events whose windows overlap become one (the older keeps its id; the younger
    records `merged_into` and hands over its removals). The events left standing."""
    live: dict[int, StoryEvent] = {}
    for event in sorted(events.values(), key=lambda e: (e.first_removed_at, e.id)):
        if event.merged_into is not None:
            continue
        into = next(
            (
                e
                for e in live.values()
                if e.first_removed_at <= event.first_removed_at <= e.window_ends_at
            ),
            None,
        )
        if into is None:
            live[event.id] = event
            continue
        event.merged_into = into.id
        event.updated_at = now
        session.execute(
            update(StoryEventRemoval)
            .where(StoryEventRemoval.story_event_id == event.id)
            .values(story_event_id=into.id)
        )
        for change_id, eid in list(owner.items()):
            if eid == event.id:
                owner[change_id] = into.id
    return live


def find_removed_together(
    session: Session, *, outlets: int, days: int, now: datetime, limit: int = 200
) -> tuple[int, list[StoryEvent]]:
    """Drain up to `limit` rows of the story-event outbox: the stories of those articles
    judged again (each once). Returns (rows taken, events created); (0, []) when empty.
    Taken FOR UPDATE, so machines draining at once take turns and never judge a story
    twice into two events (as `sketch_pending`)."""
    rows = list(
        session.scalars(
            select(StoryEventOutbox).order_by(StoryEventOutbox.id).limit(limit).with_for_update()
        )
    )
    if not rows:
        return 0, []
    article_ids = sorted({r.article_id for r in rows})
    stories = sorted(
        set(
            session.scalars(
                select(StoryMember.story_id).where(StoryMember.article_id.in_(article_ids))
            )
        )
    )
    created: list[StoryEvent] = []
    for story_id in stories:
        created += _judge_story(session, story_id, outlets=outlets, days=days, now=now)
    session.execute(delete(StoryEventOutbox).where(StoryEventOutbox.id.in_([r.id for r in rows])))
    return len(rows), created


def story_events_of(session: Session, article_id: int) -> list[StoryEvent]:
    """The `removed_together` events that name one of the article's removals."""
    naming = select(StoryEventRemoval.story_event_id).where(
        StoryEventRemoval.article_id == article_id
    )
    return list(
        session.scalars(
            select(StoryEvent)
            .where(StoryEvent.id.in_(naming), StoryEvent.merged_into.is_(None))
            .order_by(StoryEvent.at, StoryEvent.id)
        )
    )
