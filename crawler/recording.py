"""Where captures are recorded: a `Recorder` commits a group of fetches (one transaction,
one WARC fsync: `archive.record_captures`), each with its article's hints and next
check in the capture's own savepoint (`archive.store.schedule_after_capture`), so the
schedule commits with the capture or not at all.

The recorder runs on the crawl context's writer thread, or, when the composition root
names a factory for it, in a writer process of its own (`RecorderProcess`): there its
Python (the ORM, the leaf, the WARC gzip) no longer shares a GIL with Scrapy's reactor,
which was held to about one core (issue #14). Either way there is one recorder per
crawl, so SQLite sees one capture writer and the transparency log stays one order.

The writer process dies with the crawl (crawler.processes): a SIGKILL of the crawl
loses the uncommitted group exactly as it would on the thread, and never leaves a
writer behind holding the database. A writer killed alone (the OOM killer) is replaced
and the group it was recording is recorded again, at most `WRITER_RESTARTS` times per
crawl; past that the group fails with `HelperGone` and the pipeline stops the crawl.
"""

from __future__ import annotations

import logging
import os
import pickle
import time
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from scrapy.utils.misc import load_object
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, PendingRollbackError
from sqlalchemy.orm import Session, sessionmaker

from archive.capture import (
    CaptureJob,
    CaptureResult,
    Exchange,
    ImageFetch,
    RecordOptions,
    Rendering,
    record_captures,
)
from archive.content import Extracted
from archive.errors import StorageError
from archive.store import Article, PlanNextCheck, describe_database, schedule_after_capture
from archive.warc import WarcStore
from crawler.processes import HelperGone, HelperPool

log = logging.getLogger(__name__)

# Writers one crawl may lose and replace: enough for an OOM kill or two on a busy
# machine; a writer killed on every group (a memory limit too low for it) stops the
# crawl after a few groups instead of losing each one.
WRITER_RESTARTS = 3


@dataclass(frozen=True, slots=True)
class CaptureTask:
    """One fetch to record, as data (it crosses to the writer process): the source
    names its record options, `hints` are merged into the article's."""

    exchange: Exchange
    source: str | None
    extracted: Extracted | None = None
    payload_known: bool = False
    hints: dict[str, Any] = field(default_factory=dict)
    # The article's images fetched with it (crawler.images); None: not looked at.
    images: tuple[ImageFetch, ...] | None = None
    # The page rendered before it is judged (a `render = true` source); recorded with it.
    rendering: Rendering | None = None


class DatabaseGone(StorageError, RuntimeError):
    """The database did not answer for the whole outage budget: no capture can be kept
    until it is back. The message names it and what to do; the crawl stops on it."""


# What a database that went away raises: its driver's errors, and SQLAlchemy's refusal
# to go on in a transaction whose connection was cut.
_DATABASE_ERRORS = (DBAPIError, PendingRollbackError)


def _connection_lost(exc: Exception) -> bool:
    return isinstance(exc, PendingRollbackError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


T = TypeVar("T")


def database_answers(sessions: sessionmaker[Session]) -> bool:
    try:
        with sessions() as session:
            session.execute(text("SELECT 1"))
    except DBAPIError:
        return False
    return True


def database_named(sessions: sessionmaker[Session]) -> str:
    """The database, named for the operator, without its password."""
    url = getattr(sessions.kw.get("bind"), "url", None)
    return "the database" if url is None else describe_database(url)


def database_gone(sessions: sessionmaker[Session], outage_s: float, exc: Exception) -> DatabaseGone:
    return DatabaseGone(
        f"{database_named(sessions)} did not answer for {outage_s:.0f} s "
        f"({type(exc).__name__}): crawl stopped; what was captured is "
        "kept, run again once it is back (setting database_outage_s)"
    )


class OutageSpell:
    """One spell of the database not answering, for the recorder's groups and the
    crawl's reads alike: its first failure is logged once (what is being done about
    it), and a failure `outage_s` after that ends it with `DatabaseGone`."""

    def __init__(self, sessions: sessionmaker[Session], outage_s: float) -> None:
        self.sessions = sessions
        self.outage_s = outage_s
        self.began: float | None = None

    def failed(self, exc: Exception, doing: str) -> None:
        """`doing` ends where the budget's seconds follow ("…, for up to")."""
        now = time.monotonic()
        if self.began is None:
            self.began = now
            log.warning(
                "%s does not answer (%s): %s %.0f s",
                database_named(self.sessions),
                type(exc).__name__,
                doing,
                self.outage_s,
            )
        elif now - self.began >= self.outage_s:
            raise database_gone(self.sessions, self.outage_s, exc) from exc


def read_through_outage(
    sessions: sessionmaker[Session], outage_s: float, read: Callable[[Session], T]
) -> T:
    """`read(session)`, made again while the database does not answer, for up to
    `outage_s` (as `Recorder` holds a group); past that, `DatabaseGone`. For the crawl's
    own reads of the archive (what discovery already knows, what is due): without it, a
    database gone during discovery ended the crawl as merely "interrupted", unnamed."""
    spell = OutageSpell(sessions, outage_s)
    while True:
        try:
            with sessions() as session:
                return read(session)
        except _DATABASE_ERRORS as exc:
            if not _connection_lost(exc) and database_answers(sessions):
                raise  # the database is there: this read failed, not the connection
            spell.failed(exc, "reading the archive again, for up to")
            time.sleep(OUTAGE_PROBE_S)


# While the database does not answer, it is asked again this often.
OUTAGE_PROBE_S = 1.0
DEFAULT_DATABASE_OUTAGE_S = 60.0


class Recorder:
    """Records groups of fetches into one archive (database and WARC store).

    A group that meets a database that does not answer (PostgreSQL stopped, restarted,
    out of reach) is held and recorded again once it answers, for up to `outage_s`;
    past that, this group and every later one fail with `DatabaseGone` at once. Again
    is safe: a transaction cut off is rolled back whole, and one whose commit got
    through before the connection went comes back as already recorded (fetch keys)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        warc: WarcStore,
        record_options: Callable[[str | None], RecordOptions],
        plan_next_check: PlanNextCheck,
        *,
        outage_s: float = DEFAULT_DATABASE_OUTAGE_S,
    ) -> None:
        self.sessions = sessions
        self.warc = warc
        self.record_options = record_options
        self.plan_next_check = plan_next_check
        self.outage_s = outage_s
        self._gone: DatabaseGone | None = None

    def record(self, tasks: Sequence[CaptureTask]) -> list[CaptureResult | Exception]:
        """Commit the group; a fetch that failed has its exception in its place. Raises
        only when the group's transaction itself failed (then none was recorded), or
        `DatabaseGone`."""
        spell = OutageSpell(self.sessions, self.outage_s)
        while True:
            if self._gone is not None:
                raise self._gone
            results: list[CaptureResult | Exception] | None = None
            try:
                results = self._record_once(tasks)
            except _DATABASE_ERRORS as exc:
                failures: list[Exception] = [exc]
            else:
                failures = [r for r in results if isinstance(r, _DATABASE_ERRORS)]
            if not failures:
                assert results is not None
                return results
            lost = any(_connection_lost(exc) for exc in failures)
            answers = self._answers()
            if answers and not lost:
                # The database is there: a failure of these captures, not an outage.
                if results is None:
                    raise failures[0]
                return results
            # Its connection was cut, or it does not answer: the group is recorded again
            # (at once if it answers already), within the budget.
            try:
                spell.failed(failures[0], f"holding {len(tasks)} capture(s), waiting up to")
            except DatabaseGone as gone:
                self._gone = gone
                raise
            if not answers:
                time.sleep(OUTAGE_PROBE_S)

    def _answers(self) -> bool:
        return database_answers(self.sessions)

    def _record_once(self, tasks: Sequence[CaptureTask]) -> list[CaptureResult | Exception]:
        jobs = [
            CaptureJob(
                task.exchange,
                options=self.record_options(task.source),
                extracted=task.extracted,
                payload_known=task.payload_known,
                then=partial(self._schedule, task),
                images=task.images,
                rendering=task.rendering,
            )
            for task in tasks
        ]
        with self.sessions.begin() as session:
            return record_captures(session, jobs, warc=self.warc)

    def _schedule(self, task: CaptureTask, session: Session, result: CaptureResult) -> None:
        if result.article_id is None or result.duplicate:
            return
        article = session.get(Article, result.article_id)
        assert article is not None
        schedule_after_capture(
            session,
            article,
            hints=task.hints,
            plan=self.plan_next_check,
            checked_at=task.exchange.fetched_at,
        )


# A Recorder factory for the writer process: a dotted path and picklable arguments; it
# is also given `warc_run=`, the name every writer of one crawl gives its WARC files.
RecorderFactory = tuple[str, tuple[Any, ...]]

_PROCESS_RECORDER: Recorder | None = None


def _start(factory: RecorderFactory, warc_run: str) -> None:
    global _PROCESS_RECORDER
    path, args = factory
    _PROCESS_RECORDER = load_object(path)(*args, warc_run=warc_run)


def _record_here(tasks: Sequence[CaptureTask]) -> list[CaptureResult | Exception]:
    assert _PROCESS_RECORDER is not None
    results = _PROCESS_RECORDER.record(tasks)
    return [_portable(task, result) for task, result in zip(tasks, results, strict=True)]


def _portable(task: CaptureTask, result: CaptureResult | Exception) -> CaptureResult | Exception:
    """A failed fetch's exception, fit to cross back to the crawl: its traceback is
    logged here (the crawl's log file), and one that cannot be pickled (some database
    errors) goes back as its type and message, so a group that committed is never
    reported as failed for want of pickling one of its errors."""
    if not isinstance(result, Exception):
        return result
    log.error("recording %s failed", task.exchange.requested_url, exc_info=result)
    try:
        pickle.dumps(result)
    except Exception:  # boundary: any object may fail to pickle, in any way
        return RuntimeError(f"{type(result).__name__}: {result}")
    return result


def _close_here() -> None:
    # The process's own WARC store: its last file is closed (and indexed) here.
    if _PROCESS_RECORDER is not None:
        _PROCESS_RECORDER.warc.close()


def _ready() -> tuple[int, str]:
    """The writer's pid, and the prefix of the WARC files it writes."""
    assert _PROCESS_RECORDER is not None
    return os.getpid(), _PROCESS_RECORDER.warc.prefix


class RecorderProcess:
    """A `Recorder` in a process of its own, built there by `factory`. `warc` is the
    crawl's own WARC store (same directory, same indexer): through it the crawl finishes
    the last file of a writer that died, which that writer could not close."""

    def __init__(
        self, factory: RecorderFactory, warc: WarcStore, *, restarts: int = WRITER_RESTARTS
    ) -> None:
        self._warc = warc
        self._pool = HelperPool(
            "a writer process",
            1,
            restarts=restarts,
            gone=(
                f"the writer process was killed {restarts + 1} times in this crawl (the "
                "OOM killer? see the system log): crawl stopped, what was captured is "
                "kept; give the machine more memory, or lower extract_workers, and run "
                "again"
            ),
            initializer=_start,
            initargs=(factory, warc.run),
        )
        # Started now, from the caller's thread, and built before the first group: a
        # factory that fails (a bad setting) fails here, once, never retried.
        self.pid, self._writing = self._pool.submit(_ready, again=False).result()
        self._generation = self._pool.generation

    def record(self, tasks: Sequence[CaptureTask]) -> list[CaptureResult | Exception]:
        """Commit the group (`Recorder.record`); a writer that dies on it is replaced
        and the group recorded again: what the dead one committed comes back as
        duplicates (`CaptureResult.duplicate`), the rest is recorded now."""
        try:
            return self._pool.submit(_record_here, list(tasks)).result()
        finally:
            if self._pool.generation != self._generation:
                self._after_deaths()

    def _after_deaths(self) -> None:
        """A writer died (one or more, since the last group): learn the new one's files,
        then index the dead ones' last files, which they never closed."""
        self._generation = self._pool.generation
        try:
            self.pid, self._writing = self._pool.submit(_ready, again=False).result()
        except (BrokenProcessPool, HelperGone):
            self._writing = None  # none alive: every file of the run is left to finish
        self._warc.finish_files_of(self._warc.run, writing=self._writing)

    def close(self) -> None:
        try:
            self._pool.submit(_close_here, again=False).result()
        except (BrokenProcessPool, HelperGone):
            # Nothing to close: every group it committed is in the archive, and its last
            # WARC file is finished (indexed) from here.
            log.warning("the writer process had died when the crawl ended")
            self._warc.finish_files_of(self._warc.run)
        finally:
            self._pool.shutdown()
