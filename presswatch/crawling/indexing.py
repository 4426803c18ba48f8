"""The search index after a crawl: the archive's search outbox drained into the
configured backend. A failure is reported to the caller, never raised: the crawl's
captures are kept either way, and the next drain catches up."""

from __future__ import annotations

import logging

from presswatch.crawling.stories import sketch_stories
from presswatch.crawling.together import find_together
from presswatch.runtime import Runtime

# The package's logger, as when this was one module: log lines name it unchanged.
log = logging.getLogger(__package__)


def index_outbox(runtime: Runtime) -> tuple[int, str | None]:
    """Sketch new versions into stories (presswatch.crawling.stories), judge removals
    that happened together (presswatch.crawling.together), then drain the
    archive's search outbox into the configured backend: (outbox rows drained, the
    problem or None). A failure is reported, never raised. Stories first, so a search
    right after the run can group hits by story."""
    _sketched, story_problem = sketch_stories(runtime)
    if story_problem is None:  # removals together are judged on up-to-date stories
        _found, story_problem = find_together(runtime)
    drained, problem = _drain_search(runtime)
    return drained, problem or story_problem


def _drain_search(runtime: Runtime) -> tuple[int, str | None]:
    try:
        from search_api.factory import make_backend
        from search_api.indexer import drain_outbox
    except ImportError as exc:
        return 0, f"search index not updated: {exc}"
    try:
        backend = make_backend(runtime.settings)
    except Exception as exc:  # boundary: indexing failure is reported, not fatal
        log.exception("search backend unavailable")
        return 0, f"search index not updated: {exc}"
    try:
        backend.configure()
        drained = drain_outbox(
            runtime.sessions, backend, max_attempts=runtime.settings.outbox_max_attempts
        )
        return drained, None
    except Exception as exc:  # boundary, as above
        log.exception("indexing failed")
        return 0, f"search index not updated: {type(exc).__name__}: {exc}"
    finally:
        backend.close()
