"""Which change events go to which subscription: pure rules over an event as a message
tells it (`NotifyEvent`) and a subscription's filters (`SubscriptionFilter`).

A subscription matches an event when every filter it sets holds: `kinds` (default:
edited, removed, restored, removed_together), `sources` (names; a `removed_together`
event matches any outlet that removed a copy), `keywords` (the topic: any keyword in the
title or text of the version the event concerns, matched like sources.toml topics:
whole words, plurals, Khmer as substrings) and `min_significance`, which applies to
`edited` events only (their `detail["significance"]`, 0 when absent; other kinds carry
no score and pass). Events a subscription predates (`after_event_id`) never match.

Reading events and queueing matches is `presswatch.notify`'s; nothing here touches the
database, the network or the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from archive.store.models import ChangeKind, NotifySubscription

__all__ = ["NotifyEvent", "SubscriptionFilter", "TopicMatch", "significance"]


@dataclass
class NotifyEvent:
    """What a message says about one event."""

    id: int
    kind: str
    how: list[Any]
    at: datetime
    detail: dict[str, Any]
    article_id: int
    url: str
    source: str
    title: str | None
    version_id: int | None = None
    text: str | None = field(default=None, repr=False)
    # The kind as people read it ("removed (per web archive)") and the snapshot behind
    # it: a message never presents a third party's snapshot as our own observation.
    label: str = ""
    via: dict[str, Any] | None = None


def significance(detail: dict[str, Any]) -> float:
    """An event's edit significance (`detail["significance"]`), 0 when absent or unreadable."""
    value = detail.get("significance")
    try:
        return float(value) if value is not None else 0.0
    except (TypeError, ValueError):
        return 0.0


def _sources_of(event: NotifyEvent) -> set[str]:
    """The outlets an event concerns: its own, and for `removed_together` every outlet
    that removed a copy."""
    named = event.detail.get("sources") if event.kind == ChangeKind.REMOVED_TOGETHER else None
    return {event.source, *(str(s) for s in named)} if isinstance(named, list) else {event.source}


class TopicMatch(Protocol):
    """A subscription's keywords as a matcher (sources.toml topics' `TopicMatcher`)."""

    def matches(self, *texts: str | None) -> bool: ...


class SubscriptionFilter:
    """One subscription's filters, applied to events in id order. `topic` matches its
    keywords (None: it sets none)."""

    def __init__(self, sub: NotifySubscription, topic: TopicMatch | None) -> None:
        self.id = sub.id
        self.after = sub.after_event_id
        self.kinds = set(sub.kinds or ())
        self.sources = set(sub.sources or ())
        self.min_significance = sub.min_significance or 0.0
        self.topic = topic
        self._on_topic: dict[int, bool] = {}  # by version: a burst on one story matches once

    def wants(self, event: NotifyEvent) -> bool:
        # A story event (negative id) is matched once, when it is found, against the
        # subscriptions of that moment: `after` counts change events only.
        if 0 <= event.id <= self.after:
            return False
        if self.kinds and event.kind not in self.kinds:
            return False
        if self.sources and not self.sources & _sources_of(event):
            return False
        if (
            event.kind == ChangeKind.EDITED
            and self.min_significance > 0
            and significance(event.detail) < self.min_significance
        ):
            return False
        if self.topic is None:
            return True
        if event.version_id is None:
            return self.topic.matches(event.title, event.text)
        if event.version_id not in self._on_topic:
            self._on_topic[event.version_id] = self.topic.matches(event.title, event.text)
        return self._on_topic[event.version_id]
