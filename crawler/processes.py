"""The crawl's helper processes (extraction workers, the writer): started from a fork
server, since forking the crawl itself would copy a running reactor and its threads'
locks into each child, and ended when the crawl ends, however it ends.

A crawl killed alone (SIGKILL, the OOM killer) would otherwise leave them behind for
good: each pool worker waits on a queue whose other end it holds itself, and keeps the
fork server alive through the fork server's own lifeline, which every child it forks
inherits; they would keep the crawl's stdout and stderr and, for the writer, the
database open. So each helper watches the crawl's pid (a pidfd, Linux 5.3+; polling
elsewhere) and exits the moment it is gone: a crash loses the uncommitted work exactly
as a SIGKILL of the whole group would, and nothing else.

The other way round, a helper killed alone (the OOM killer picks the biggest process,
often the writer) breaks its whole pool: `HelperPool` starts a new one and makes the
broken calls again, within a budget per crawl.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import select
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Any, TypeVar

from archive.errors import PresswatchError

log = logging.getLogger(__name__)
T = TypeVar("T")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def exit_with(pid: int) -> None:
    """End this process as soon as process `pid` ends (a daemon thread waits for it)."""
    try:
        fd: int | None = os.pidfd_open(pid)
    except (AttributeError, OSError):
        fd = None

    def watch() -> None:
        if fd is not None:
            select.select([fd], [], [])
        else:
            while _alive(pid):
                time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-crawl", daemon=True).start()


def _start(crawl: int, initializer: Callable[..., Any] | None, args: tuple[Any, ...]) -> None:
    exit_with(crawl)
    if initializer is not None:
        initializer(*args)


def helper_pool(
    workers: int,
    *,
    preload: list[str] | None = None,
    initializer: Callable[..., Any] | None = None,
    initargs: tuple[Any, ...] = (),
) -> ProcessPoolExecutor:
    """A process pool of the crawl's helpers; `preload` is imported by the fork server
    once (it takes effect only if the fork server is not running yet)."""
    mp = multiprocessing.get_context("forkserver")
    if preload:
        mp.set_forkserver_preload(preload)
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=mp,
        initializer=_start,
        initargs=(os.getpid(), initializer, initargs),
    )


class HelperGone(PresswatchError, RuntimeError):
    """A helper process of the crawl died more often than its budget allows; the message
    names the helper and what to do. The crawl stops on it (`CrawlContext.stop_crawl`)."""


class HelperPool:
    """A `helper_pool` that outlives the death of its processes (the OOM killer, a
    SIGKILL): when one dies, the calls it broke are made again in a new pool, at most
    `restarts` times per crawl. Past that, something kills every helper (a page that
    exhausts memory, a limit set too low), and the calls fail with `HelperGone` rather
    than start helpers only to lose them.

    A call made again must be safe to repeat: extraction is pure, and recording a
    capture is idempotent (`archive.record_capture`: a group the dead writer committed
    comes back as duplicates, never as second captures)."""

    def __init__(
        self,
        name: str,
        workers: int,
        *,
        restarts: int,
        gone: str,
        preload: list[str] | None = None,
        initializer: Callable[..., Any] | None = None,
        initargs: tuple[Any, ...] = (),
    ) -> None:
        self.name = name  # for the log: "a writer process", "an extraction worker"
        self.restarts = restarts
        self._gone = gone  # what to say, and to do, once the budget is spent
        self._build = partial(
            helper_pool, workers, preload=preload, initializer=initializer, initargs=initargs
        )
        self._lock = threading.Lock()
        self._pool = self._build()
        self._generation = 0
        self._restarted = 0

    def submit(self, fn: Callable[..., T], *args: Any, again: bool = True) -> Future[T]:
        """`fn(*args)` in a helper; with `again`, a call whose helper died is made again
        in a new pool (within the budget), so the future fails with `HelperGone` only
        once the budget is spent. Without it, it fails with `BrokenProcessPool`."""
        outer: Future[T] = Future()
        self._attempt(outer, fn, args, again)
        return outer

    def _attempt(
        self, outer: Future[T], fn: Callable[..., T], args: tuple[Any, ...], again: bool
    ) -> None:
        with self._lock:
            pool, generation = self._pool, self._generation
        try:
            inner = pool.submit(fn, *args)
        except BrokenProcessPool as exc:
            self._broken(outer, fn, args, again, generation, exc)
            return

        def settle(done: Future[T]) -> None:
            # Runs in the pool's own thread when a helper died: the pool it replaces
            # is left to wind itself down, never shut down from here.
            if done.cancelled():
                outer.cancel()
                return
            exc = done.exception()
            if isinstance(exc, BrokenProcessPool):
                self._broken(outer, fn, args, again, generation, exc)
            elif exc is not None:
                outer.set_exception(exc)
            else:
                outer.set_result(done.result())

        inner.add_done_callback(settle)

    def _broken(
        self,
        outer: Future[T],
        fn: Callable[..., T],
        args: tuple[Any, ...],
        again: bool,
        generation: int,
        exc: BrokenProcessPool,
    ) -> None:
        if not again:
            outer.set_exception(exc)
            return
        try:
            self._replace(generation)
        except HelperGone as gone:
            outer.set_exception(gone)
            return
        self._attempt(outer, fn, args, again)

    def _replace(self, generation: int) -> None:
        """A new pool for the one of `generation` (once, however many calls it broke)."""
        with self._lock:
            if generation != self._generation:
                return  # another broken call replaced it already
            if self._restarted >= self.restarts:
                raise HelperGone(self._gone)
            self._restarted += 1
            self._pool = self._build()
            self._generation += 1
            log.warning(
                "%s died; started a new one (%d of %d this crawl), its work is done again",
                self.name,
                self._restarted,
                self.restarts,
            )

    @property
    def generation(self) -> int:
        """How many times the pool was replaced (its helpers died) in this crawl."""
        with self._lock:
            return self._generation

    def shutdown(self) -> None:
        with self._lock:
            pool = self._pool
        pool.shutdown(wait=True, cancel_futures=True)
