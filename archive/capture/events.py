"""The change events of one capture: one row per event of its verdict (discovered,
edited, moved, removed, restored…), linked to the versions it concerns and carrying its
evidence: an edit's size and kind, a move's new address, a removal's first sighting."""

from __future__ import annotations

from typing import Any

from archive.capture.detect import Observation, Verdict
from archive.capture.exchange import Exchange
from archive.capture.inflight import InFlight
from archive.capture.persist import add_alias
from archive.content.diff import VersionDiff
from archive.content.editclass import judge_edit
from archive.store.models import Article, Capture, ChangeEvent, ChangeKind, Version
from archive.store.story_events import StoryEventOutbox
from archive.views.export import version_side


def add_events(
    flight: InFlight,
    article: Article,
    verdict: Verdict,
    capture: Capture,
    versions: tuple[Version | None, Version | None, VersionDiff | None],
) -> list[ChangeEvent]:
    """One ChangeEvent row per event of the verdict, linked to the versions it
    concerns and carrying its detail. ``versions``: the article's version before this
    capture, the one it saw, and their stored diff when the capture made a new one."""
    session, place, exchange = flight.session, flight.place, flight.exchange
    previous, version, pair = versions
    at = exchange.fetched_at
    rows = []
    for spec in verdict.events:
        detail = dict(spec.detail)
        from_id: int | None = None
        to_id: int | None = None
        if spec.kind is ChangeKind.MOVED:
            added = add_alias(session, article, place.final, "moved_to", at)
            detail.update({"from": article.url, "to": place.final, "alias_added": added})
        if spec.kind in (ChangeKind.EDITED, ChangeKind.RESTORED) and verdict.new_version:
            from_id = previous.id if previous is not None else None
            to_id = version.id if version is not None else None
            if previous is not None and version is not None and pair is not None:
                detail.update(_edit_size(pair))
                if spec.kind is ChangeKind.EDITED:  # what kind of edit, and how much it matters
                    sides = version_side(previous), version_side(version)
                    detail.update(judge_edit(*sides, body=pair.body))
        elif spec.kind is ChangeKind.DISCOVERED:
            to_id = version.id if version is not None else None
        elif spec.kind is ChangeKind.REMOVED:
            from_id = version.id if version is not None else None
            detail.update(_removal_detail(article, exchange, flight.observation))
            # Its story is looked at after the crawl: removed at several outlets?
            session.add(StoryEventOutbox(article_id=article.id, created_at=at))
        row = ChangeEvent(
            article_id=article.id,
            capture_id=capture.id,
            kind=spec.kind.value,
            how=list(spec.how),
            at=at,
            from_version_id=from_id,
            to_version_id=to_id,
            detail=detail,
            significance=detail.get("significance"),
        )
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def _edit_size(pair: VersionDiff) -> dict[str, int]:
    stats = pair.stats
    return {
        "chars_added": stats.chars_added,
        "chars_removed": stats.chars_removed,
        "words_added": stats.words_added,
        "words_removed": stats.words_removed,
    }


def _removal_detail(
    article: Article, exchange: Exchange, observation: Observation
) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "first_seen_missing": article.removed_at.isoformat() if article.removed_at else None,
        "status": exchange.status,
    }
    if observation.note:
        detail["note"] = observation.note
    return detail
