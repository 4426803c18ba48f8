"""Keeps the search index in step with the archive.

`drain_outbox` is the incremental path: `record_capture` writes a `SearchOutbox` row in
the same transaction as every change, and this rebuilds the documents of those
articles (all their versions) and hands them to the backend. Outbox rows are deleted
only after the backend confirmed the batch, and the call never raises a search error:
indexing must never stop or fail a crawl, and nothing is lost.

Two kinds of failure, told apart by the backend's error:

- the engine is down, locked or refuses our key (`BackendUnavailable`): the rows stay,
  their `attempts` counted, and the drain stops until the next run;
- the engine refuses documents (any other `SearchError`, e.g. Meilisearch failing a
  task over an invalid document): the batch is split in halves until the refused
  articles are alone, so every other article in it is indexed; each refused article's
  rows count a rejection and stay, and the drain goes on past them. After
  `max_attempts` rejections an article's rows move to `SearchDeadLetter`
  (`presswatch status` and `/readyz` show them; `retry_dead_letters` puts them back).
  An article indexed later (a newer capture) loses its dead letter.

`reindex` is the full path (`presswatch reindex`): every version rebuilt from the
archive, the single source of truth, into a fresh index that replaces the live one
only when complete (`SearchBackend.rebuild`), so searches meanwhile see the old index
whole. Refused articles are isolated and dead-lettered there too, so one bad article
never stops a rebuild. A drain must not run during a rebuild (its writes would go to
the index being replaced): both run under the archive's lock in the commands.

Owns no engine and no schema: sessions come from the caller's factory, and each batch
reads in its own short transaction so the archive's writer is never held up for long.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from archive.errors import BackendUnavailable, SearchError
from archive.store import SearchDeadLetter, SearchOutbox, Version
from search_api.backends.base import SearchBackend, SearchDocument
from search_api.documents import article_batches, build_documents

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "DeadLetterInfo",
    "OutboxState",
    "drain_outbox",
    "index_isolating",
    "outbox_state",
    "reindex",
    "retry_dead_letters",
]

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
Clock = Callable[[], datetime]
DEFAULT_MAX_ATTEMPTS = 5  # Settings.outbox_max_attempts
_MAX_ERROR_CHARS = 2000


class _Target(Protocol):
    def upsert(self, documents: Sequence[SearchDocument]) -> None: ...


def _utc_now() -> datetime:
    return datetime.now(UTC)


def index_isolating(
    target: _Target, article_ids: Sequence[int], documents: Sequence[SearchDocument]
) -> dict[int, str]:
    """Upsert the documents of these articles; when the engine refuses the batch, split
    it in halves until each refused article is alone. Returns the refused articles with
    the engine's reason; everything else was indexed. `BackendUnavailable` propagates
    (the engine is down: splitting would not help)."""
    try:
        target.upsert(documents)
        return {}
    except BackendUnavailable:
        raise
    except SearchError as exc:
        if len(article_ids) <= 1:
            return {a: str(exc)[:_MAX_ERROR_CHARS] for a in article_ids}
        log.info("search backend refused %d articles; splitting the batch", len(article_ids))
    middle = len(article_ids) // 2
    refused: dict[int, str] = {}
    for half in (article_ids[:middle], article_ids[middle:]):
        wanted = set(half)
        refused.update(
            index_isolating(target, half, [d for d in documents if d.article_id in wanted])
        )
    return refused


def _count_attempt(session_factory: sessionmaker[Session], row_ids: list[int]) -> None:
    with session_factory.begin() as session:
        session.execute(
            update(SearchOutbox)
            .where(SearchOutbox.id.in_(row_ids))
            .values(attempts=SearchOutbox.attempts + 1)
        )


def _dead_letter(
    session: Session, article_id: int, error: str, attempts: int, queued_at: datetime, now: datetime
) -> None:
    """Record (or refresh) the article's dead letter."""
    held = session.scalars(
        select(SearchDeadLetter).where(SearchDeadLetter.article_id == article_id)
    ).all()
    if held:
        first, *extra = held
        first.failed_at, first.error = now, error
        first.attempts = max(first.attempts, attempts)
        first.queued_at = min(first.queued_at, queued_at)
        for row in extra:  # two drains at once on PostgreSQL may each have added one
            session.delete(row)
        return
    session.add(
        SearchDeadLetter(
            article_id=article_id,
            queued_at=queued_at,
            failed_at=now,
            attempts=attempts,
            error=error,
        )
    )


def _record_rejections(
    session_factory: sessionmaker[Session],
    refused: dict[int, str],
    rows: Sequence[tuple[int, int]],
    *,
    max_attempts: int,
    now: datetime,
) -> int:
    """Count a rejection on the refused articles' rows in this batch; move those that
    reached `max_attempts` to the dead letters. Returns how many articles moved."""
    row_ids = [row_id for row_id, article_id in rows if article_id in refused]
    moved = 0
    with session_factory.begin() as session:
        session.execute(
            update(SearchOutbox)
            .where(SearchOutbox.id.in_(row_ids))
            .values(attempts=SearchOutbox.attempts + 1, rejections=SearchOutbox.rejections + 1)
        )
        for article_id, error in sorted(refused.items()):
            rejections, queued_at = session.execute(
                select(func.max(SearchOutbox.rejections), func.min(SearchOutbox.created_at)).where(
                    SearchOutbox.article_id == article_id
                )
            ).one()
            if rejections is None or rejections < max_attempts:
                log.error(
                    "search backend refused article %d (%d of %d times; kept in the outbox): %s",
                    article_id,
                    rejections or 0,
                    max_attempts,
                    error,
                )
                continue
            # Every outbox row of the article goes: they all ask for the same documents.
            session.execute(delete(SearchOutbox).where(SearchOutbox.article_id == article_id))
            _dead_letter(session, article_id, error, int(rejections), queued_at or now, now)
            moved += 1
            log.error(
                "search backend refused article %d %d times; moved to the dead letters "
                "(presswatch status; retry with presswatch outbox retry): %s",
                article_id,
                rejections,
                error,
            )
    return moved


def drain_outbox(
    session_factory: sessionmaker[Session],
    backend: SearchBackend,
    *,
    batch_size: int = 200,
    max_batches: int | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    now: Clock = _utc_now,
) -> int:
    """Index the articles waiting in the outbox, oldest first, in one pass. Returns how
    many outbox rows were indexed. Never raises a search error: an engine that is down
    keeps every row for the next call (attempts + 1); refused articles are set aside
    (see the module docstring) and the rest of the outbox still flows."""
    drained = 0
    batches = 0
    after = 0  # one pass: rows refused in this call are not retried in it
    while max_batches is None or batches < max_batches:
        with session_factory() as session:
            rows = [
                (row.id, row.article_id)
                for row in session.execute(
                    select(SearchOutbox.id, SearchOutbox.article_id)
                    .where(SearchOutbox.id > after)
                    .order_by(SearchOutbox.id)
                    .limit(batch_size)
                )
            ]
            if not rows:
                break
            after = rows[-1][0]
            article_ids = sorted({article_id for _row, article_id in rows})
            documents = build_documents(session, article_ids)
        # Articles are never deleted from the archive; if one is gone anyway, its
        # documents must not outlive it.
        present = {doc.article_id for doc in documents}
        missing = [a for a in article_ids if a not in present]
        try:
            refused = index_isolating(backend, article_ids, documents)
            if missing:
                backend.delete_articles(missing)
        except BackendUnavailable as exc:
            log.warning(
                "search index not updated, %d outbox rows kept for the next run: %s",
                len(rows),
                exc,
            )
            _count_attempt(session_factory, [row_id for row_id, _a in rows])
            return drained
        except SearchError as exc:  # deleting a vanished article was refused: keep all
            log.error("search backend refused deleting articles %s: %s", missing[:10], exc)
            _count_attempt(session_factory, [row_id for row_id, _a in rows])
            return drained
        indexed = sorted(set(article_ids) - set(refused))
        done = [row_id for row_id, article_id in rows if article_id not in refused]
        with session_factory.begin() as session:
            session.execute(delete(SearchOutbox).where(SearchOutbox.id.in_(done)))
            if indexed:
                session.execute(
                    delete(SearchDeadLetter).where(SearchDeadLetter.article_id.in_(indexed))
                )
        if refused:
            _record_rejections(session_factory, refused, rows, max_attempts=max_attempts, now=now())
        drained += len(done)
        batches += 1
    return drained


def retry_dead_letters(
    session_factory: sessionmaker[Session],
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    now: Clock = _utc_now,
) -> int:
    """Put every dead letter back in the outbox, for the next drain. Returns how many
    articles were re-queued. They come back one refusal short of `max_attempts`, so a
    backend that still refuses them sends them straight back to the dead letters."""
    with session_factory.begin() as session:
        letters = session.scalars(select(SearchDeadLetter).order_by(SearchDeadLetter.id)).all()
        articles = sorted({letter.article_id for letter in letters})
        queued = {
            a: min(letter.queued_at for letter in letters if letter.article_id == a)
            for a in articles
        }
        for article_id in articles:
            session.add(
                SearchOutbox(
                    article_id=article_id,
                    created_at=queued[article_id],
                    attempts=0,
                    rejections=max_attempts - 1,
                )
            )
        session.execute(delete(SearchDeadLetter))
    if articles:
        log.info("re-queued %d dead-lettered articles at %s", len(articles), now().isoformat())
    return len(articles)


def reindex(
    session_factory: sessionmaker[Session],
    backend: SearchBackend,
    *,
    progress: Progress | None = None,
    batch_size: int = 200,
    now: Clock = _utc_now,
) -> int:
    """Rebuild the whole index from the archive into a fresh index, then swap it in.
    Returns the number of versions indexed; `progress(done, total)` is called after
    each batch. An engine that is down raises (this is an operator's command, and the
    live index is left as it was); refused articles are dead-lettered and the rebuild
    goes on."""
    backend.configure()
    with session_factory() as session:
        total = session.scalar(select(func.count()).select_from(Version)) or 0
        # Outbox rows written before we start are covered by this rebuild; later ones
        # (a crawl running meanwhile) must stay for the next drain.
        high_water = session.scalar(select(func.max(SearchOutbox.id)))
    build = backend.rebuild()
    done = 0
    refused: dict[int, str] = {}
    indexed: list[int] = []
    try:
        if progress is not None:
            progress(0, total)
        for ids in article_batches(session_factory, batch_size):
            with session_factory() as session:
                documents = build_documents(session, ids)
            # Written outside the archive session: an open archive transaction (BEGIN
            # IMMEDIATE on SQLite) would block the crawler meanwhile.
            present = sorted({d.article_id for d in documents})
            batch_refused = index_isolating(build, present, documents)
            refused.update(batch_refused)
            indexed.extend(a for a in present if a not in batch_refused)
            done += sum(1 for d in documents if d.article_id not in batch_refused)
            if progress is not None:
                progress(done, max(total, done))
        build.publish()
    except BaseException:
        build.discard()
        raise
    when = now()
    with session_factory.begin() as session:
        if high_water is not None:
            session.execute(delete(SearchOutbox).where(SearchOutbox.id <= high_water))
        for chunk in range(0, len(indexed), 500):
            session.execute(
                delete(SearchDeadLetter).where(
                    SearchDeadLetter.article_id.in_(indexed[chunk : chunk + 500])
                )
            )
        for article_id, error in sorted(refused.items()):
            _dead_letter(session, article_id, error, 1, when, when)
    for article_id, error in sorted(refused.items()):
        log.error(
            "reindex: search backend refused article %d (dead-lettered): %s", article_id, error
        )
    return done


@dataclass(frozen=True, slots=True)
class DeadLetterInfo:
    article_id: int
    attempts: int
    queued_at: datetime
    failed_at: datetime
    error: str


@dataclass(frozen=True, slots=True)
class OutboxState:
    """What waits for the search index: outbox rows (and their articles), the oldest
    one's time, the most refusals any row has had, and the dead letters (newest first,
    at most `limit` listed; `dead_letters` counts them all)."""

    pending: int
    pending_articles: int
    oldest_pending: datetime | None
    most_rejections: int
    dead_letters: int
    listed: tuple[DeadLetterInfo, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "pending": self.pending,
            "pending_articles": self.pending_articles,
            "oldest_pending": self.oldest_pending.isoformat() if self.oldest_pending else None,
            "most_rejections": self.most_rejections,
            "dead_letters": self.dead_letters,
            "dead_letter_articles": [
                {
                    "article_id": d.article_id,
                    "attempts": d.attempts,
                    "queued_at": d.queued_at.isoformat(),
                    "failed_at": d.failed_at.isoformat(),
                    "error": d.error,
                }
                for d in self.listed
            ],
        }


def outbox_state(session: Session, *, limit: int = 20) -> OutboxState:
    """Read the outbox and the dead letters (plain reads; commits nothing)."""
    pending, articles, oldest, most = session.execute(
        select(
            func.count(SearchOutbox.id),
            func.count(func.distinct(SearchOutbox.article_id)),
            func.min(SearchOutbox.created_at),
            func.max(SearchOutbox.rejections),
        )
    ).one()
    dead = session.scalar(select(func.count(SearchDeadLetter.id))) or 0
    listed = tuple(
        DeadLetterInfo(d.article_id, d.attempts, d.queued_at, d.failed_at, d.error)
        for d in session.scalars(
            select(SearchDeadLetter)
            .order_by(SearchDeadLetter.failed_at.desc(), SearchDeadLetter.id.desc())
            .limit(limit)
        )
    )
    return OutboxState(
        pending=int(pending or 0),
        pending_articles=int(articles or 0),
        oldest_pending=oldest,
        most_rejections=int(most or 0),
        dead_letters=int(dead),
        listed=listed,
    )
