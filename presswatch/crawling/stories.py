"""Story sketches after a crawl: the archive's story outbox drained (archive.stories),
in short transactions of one batch each so the crawl's writer is never held up long.
Runs where the search outbox is drained (`run`, `crawl`, `backfill`, the demo) and in
`reindex`; a failure is reported to the caller, never raised: the captures are kept
either way, and the rows stay for the next drain."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from presswatch.runtime import Runtime

log = logging.getLogger(__name__)


def sketch_stories(
    runtime: Runtime,
    *,
    batch_size: int = 200,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> tuple[int, str | None]:
    """Sketch every version waiting in the story outbox: (versions taken, the problem
    or None)."""
    from archive.stories import sketch_pending

    done = 0
    try:
        while True:
            with runtime.sessions.begin() as session:
                taken = sketch_pending(session, now=now(), limit=batch_size)
            if not taken:
                return done, None
            done += taken
    except Exception as exc:  # boundary: stories are derived, a failure waits for the next run
        log.exception("story sketching failed")
        return done, f"stories not updated: {type(exc).__name__}: {exc}"
