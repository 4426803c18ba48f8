"""Keeps the search index in step with the archive.

`drain_outbox` is the incremental path: `record_capture` writes a `SearchOutbox` row in
the same transaction as every change, and this rebuilds the documents of those
articles (all their versions) and hands them to the backend. Outbox rows are deleted
only after the backend confirmed the batch. When the backend is down or rejects the
batch, the rows stay (their `attempts` counted), the error is logged, and the call
returns normally: indexing must never stop or fail a crawl, and nothing is lost.

`reindex` is the full path (`presswatch reindex`): every version rebuilt from the
archive, which is the single source of truth. After it, the index holds exactly what
draining every outbox row would have produced.

Owns no engine and no schema: sessions come from the caller's factory, and each batch
reads in its own short transaction so the archive's writer is never held up for long.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from archive import BackendUnavailable, SearchError, SearchOutbox, Version
from search_api.backends.base import SearchBackend
from search_api.documents import build_documents, iter_documents

__all__ = ["drain_outbox", "reindex"]

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


def _count_attempt(session_factory: sessionmaker[Session], row_ids: list[int]) -> None:
    with session_factory.begin() as session:
        session.execute(
            update(SearchOutbox)
            .where(SearchOutbox.id.in_(row_ids))
            .values(attempts=SearchOutbox.attempts + 1)
        )


def drain_outbox(
    session_factory: sessionmaker[Session],
    backend: SearchBackend,
    *,
    batch_size: int = 200,
    max_batches: int | None = None,
) -> int:
    """Index the articles waiting in the outbox, oldest first. Returns how many outbox
    rows were drained. Never raises a search error: on one, the batch's rows stay for
    the next call (attempts + 1) and the count so far is returned."""
    drained = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        with session_factory() as session:
            rows = session.execute(
                select(SearchOutbox.id, SearchOutbox.article_id)
                .order_by(SearchOutbox.id)
                .limit(batch_size)
            ).all()
            if not rows:
                break
            row_ids = [row.id for row in rows]
            article_ids = sorted({row.article_id for row in rows})
            documents = build_documents(session, article_ids)
        # Articles are never deleted from the archive; if one is gone anyway, its
        # documents must not outlive it.
        present = {doc.article_id for doc in documents}
        missing = [a for a in article_ids if a not in present]
        try:
            backend.upsert(documents)
            if missing:
                backend.delete_articles(missing)
        except SearchError as exc:
            if isinstance(exc, BackendUnavailable):  # down: expected now and then
                log.warning(
                    "search index not updated, %d outbox rows kept for the next run: %s",
                    len(row_ids),
                    exc,
                )
            else:
                log.error(
                    "search backend rejected articles %s; %d outbox rows kept: %s",
                    article_ids[:10],
                    len(row_ids),
                    exc,
                )
            _count_attempt(session_factory, row_ids)
            return drained
        with session_factory.begin() as session:
            session.execute(delete(SearchOutbox).where(SearchOutbox.id.in_(row_ids)))
        drained += len(row_ids)
        batches += 1
    return drained


def reindex(
    session_factory: sessionmaker[Session],
    backend: SearchBackend,
    *,
    progress: Progress | None = None,
) -> int:
    """Rebuild the whole index from the archive. Returns the number of versions
    indexed; `progress(done, total)` is called after each batch. Backend errors are
    raised: this is an operator's command, not the crawl path."""
    backend.configure()
    with session_factory() as session:
        total = session.scalar(select(func.count()).select_from(Version)) or 0
        # Outbox rows written before we start are covered by this rebuild; later ones
        # (a crawl running meanwhile) must stay for the next drain.
        high_water = session.scalar(select(func.max(SearchOutbox.id)))
    backend.clear()
    done = 0
    if progress is not None:
        progress(0, total)
    for documents in iter_documents(session_factory):
        backend.upsert(documents)
        done += len(documents)
        if progress is not None:
            progress(done, max(total, done))
    backend.optimize()
    if high_water is not None:
        with session_factory.begin() as session:
            session.execute(delete(SearchOutbox).where(SearchOutbox.id <= high_water))
    return done
