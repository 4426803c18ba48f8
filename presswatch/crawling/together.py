"""Removals that happen together, after a crawl: the story-event outbox drained
(archive.stories.find_removed_together) once the story sketches are up to date, so a
story formed by this crawl's versions still finds removals seen before it formed. Each
batch is one short transaction; the events it creates are queued for the
subscriptions that want them in the same transaction (presswatch.notify). A failure is
reported to the caller, never raised: the rows stay for the next drain."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from presswatch.runtime import Runtime

log = logging.getLogger(__name__)


def find_together(
    runtime: Runtime,
    *,
    batch_size: int = 200,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> tuple[int, str | None]:
    """Judge the stories waiting in the story-event outbox: (events created, the problem
    or None)."""
    from archive.stories import find_removed_together
    from presswatch.notify import queue_story_events

    settings = runtime.settings
    created = 0
    try:
        while True:
            with runtime.sessions.begin() as session:
                at = now()
                taken, events = find_removed_together(
                    session,
                    outlets=settings.together_outlets,
                    days=settings.together_days,
                    now=at,
                    limit=batch_size,
                )
                queue_story_events(session, events, now=at)
            if not taken:
                return created, None
            created += len(events)
    except Exception as exc:  # boundary: derived events wait for the next run
        log.exception("removals together not judged")
        return created, f"removals together not judged: {type(exc).__name__}: {exc}"
