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
broken calls again, within a budget per crawl; for extraction it first makes each of
them alone, so that a page that kills whichever worker extracts it is found, recorded
as failed, and not extracted again (`KilledItsHelper`). `limit_memory` caps a helper's
memory, so that a page asking for too much fails there with MemoryError.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import resource
import select
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
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


class KilledItsHelper(PresswatchError, RuntimeError):
    """The call killed the helper process that ran it alone, in a pool of its own: the
    call itself is the cause (a page that crashes the parser or exhausts memory), not
    something outside. The caller records it as a failure of that call; making it again
    would only kill another helper."""


def limit_memory(limit_bytes: int) -> None:
    """Cap this process's data (heap and private mappings, `RLIMIT_DATA`) at
    `limit_bytes`, 0 for no cap: an allocation past it raises MemoryError here instead
    of growing until the OOM killer picks a process, maybe not this one. Address space
    (`RLIMIT_AS`) would also count the shared libraries and the memory every thread
    reserves without using it."""
    if limit_bytes <= 0:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    soft = limit_bytes if hard == resource.RLIM_INFINITY else min(limit_bytes, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


@dataclass(eq=False)
class _Call:
    """One call made through a `HelperPool`, and what became of it."""

    outer: Future[Any]
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    again: bool
    # The generation of the pool whose break made this call a suspect.
    broke: int | None = None


class HelperPool:
    """A `helper_pool` that outlives the death of its processes (the OOM killer, a
    SIGKILL): when one dies, the calls it broke are made again in a new pool, at most
    `restarts` times per crawl. Past that, something kills every helper (a limit set
    too low, the OOM killer again and again), and the calls fail with `HelperGone`
    rather than start helpers only to lose them.

    With `culprits` > 0 the pool also finds a call that kills whichever helper runs it
    (a hostile page): the calls a death broke are suspects, and each is made again
    alone, in a pool of one helper of its own, one suspect at a time, while new calls
    go on in the main pool. A suspect that kills its lone helper is proven the cause:
    its future fails with `KilledItsHelper`, and the break it caused is not charged to
    `restarts` (meant for deaths from outside). At most `culprits` calls are proven so
    per crawl; past that every call fails with `HelperGone(culprits_gone)`.

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
        culprits: int = 0,
        culprits_gone: str = "",
        preload: list[str] | None = None,
        initializer: Callable[..., Any] | None = None,
        initargs: tuple[Any, ...] = (),
    ) -> None:
        self.name = name  # for the log: "a writer process", "an extraction worker"
        self.restarts = restarts
        self.culprits = culprits
        self._gone = gone  # what to say, and to do, once the budget is spent
        self._culprits_gone = culprits_gone
        self._build = partial(
            helper_pool, workers, preload=preload, initializer=initializer, initargs=initargs
        )
        self._build_alone = partial(
            helper_pool, 1, preload=preload, initializer=initializer, initargs=initargs
        )
        self._lock = threading.Lock()
        self._pool = self._build()
        self._generation = 0
        self._restarted = 0
        # Breaks charged to `restarts` that a proven culprit may still explain.
        self._charged: set[int] = set()
        self._suspects: deque[_Call] = deque()
        self._alone: ProcessPoolExecutor | None = None  # the pool of the suspect running
        self._proven = 0
        self._given_up: HelperGone | None = None
        self._closed = False
        self._enders: list[threading.Thread] = []

    @property
    def proven(self) -> int:
        """Calls proven this crawl to kill the helper that ran them alone."""
        with self._lock:
            return self._proven

    @property
    def restarted(self) -> int:
        """Restarts charged to the budget this crawl."""
        with self._lock:
            return self._restarted

    def pids(self) -> list[int]:
        """Process ids of the helpers alive now, the lone suspect's included (what a
        benchmark reads their CPU time from)."""
        with self._lock:
            pools = [self._pool, self._alone]
        # ProcessPoolExecutor names its processes only in `_processes` (pid -> process).
        return [pid for pool in pools if pool is not None for pid in (pool._processes or {})]

    def submit(self, fn: Callable[..., T], *args: Any, again: bool = True) -> Future[T]:
        """`fn(*args)` in a helper; with `again`, a call whose helper died is made again
        (within the budget), so the future fails with `HelperGone` only once the budget
        is spent, or with `KilledItsHelper` once the call is proven to kill its helper.
        Without it, it fails with `BrokenProcessPool`."""
        outer: Future[T] = Future()
        self._attempt(_Call(outer, fn, args, again))
        return outer

    def _attempt(self, call: _Call) -> None:
        with self._lock:
            pool, generation, given_up = self._pool, self._generation, self._given_up
        if given_up is not None and call.again:
            _fail(call.outer, given_up)
            return
        try:
            inner = pool.submit(call.fn, *call.args)
        except BrokenProcessPool as exc:
            self._broken(call, generation, exc, ran=False)
            return

        def settle(done: Future[Any]) -> None:
            # Runs in the pool's own thread when a helper died: the pool it replaces
            # is left to wind itself down, never shut down from here.
            exc = None if done.cancelled() else done.exception()
            if isinstance(exc, BrokenProcessPool):
                self._broken(call, generation, exc, ran=True)
            else:
                _pass_on(done, call.outer)

        inner.add_done_callback(settle)

    def _broken(self, call: _Call, generation: int, exc: BrokenProcessPool, *, ran: bool) -> None:
        if not call.again:
            _fail(call.outer, exc)
            return
        try:
            self._replace(generation)
        except HelperGone as gone:
            _fail(call.outer, gone)
            return
        if self.culprits <= 0 or not ran:
            self._attempt(call)  # never ran (the pool was broken already): no suspect
            return
        call.broke = generation
        with self._lock:
            self._suspects.append(call)
        self._next_suspect()

    def _replace(self, generation: int) -> None:
        """A new pool for the one of `generation` (once, however many calls it broke)."""
        with self._lock:
            if generation != self._generation:
                return  # another broken call replaced it already
            if self._given_up is not None:
                raise self._given_up
            if self._restarted >= self.restarts:
                raise HelperGone(self._gone)
            self._restarted += 1
            self._charged.add(generation)
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

    # -- suspects, one at a time, each alone in a pool of its own ------------------------

    def _next_suspect(self) -> None:
        with self._lock:
            if self._alone is not None or not self._suspects or self._closed:
                return
            call = self._suspects.popleft()
            if self._given_up is not None:
                gone: HelperGone | None = self._given_up
            else:
                gone = None
                # A pool of its own for each suspect: the only helper that can break it
                # is the one running the suspect (an idle helper killed from outside
                # between two suspects cannot convict the next one).
                alone = self._alone = self._build_alone()
        if gone is not None:
            _fail(call.outer, gone)
            self._next_suspect()
            return
        try:
            inner = alone.submit(call.fn, *call.args)
        except RuntimeError as exc:  # BrokenProcessPool included: the suspect never ran
            self._alone_ended(alone)
            _fail(call.outer, exc)
            self._next_suspect()
            return
        inner.add_done_callback(lambda done: self._alone_done(call, alone, done))

    def _alone_done(self, call: _Call, alone: ProcessPoolExecutor, done: Future[Any]) -> None:
        exc = None if done.cancelled() else done.exception()
        if isinstance(exc, BrokenProcessPool):
            self._convict(call)
        else:
            _pass_on(done, call.outer)  # innocent: it ran alone and came back
        self._alone_ended(alone)
        self._next_suspect()

    def _alone_ended(self, alone: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._alone is alone:
                self._alone = None
            # Shut down from a thread of its own: this may be the pool's own thread.
            ender = threading.Thread(target=alone.shutdown, name="end-alone-pool", daemon=True)
            ender.start()  # before `shutdown` can see it
            self._enders.append(ender)

    def _convict(self, call: _Call) -> None:
        with self._lock:
            self._proven += 1
            proven = self._proven
            if call.broke in self._charged:
                # The break that made it a suspect is explained: not a death from
                # outside, so the restart budget gets it back.
                self._charged.discard(call.broke)
                self._restarted -= 1
            if proven > self.culprits and self._given_up is None:
                self._given_up = HelperGone(self._culprits_gone)
            given_up = self._given_up
        if given_up is not None:
            _fail(call.outer, given_up)
            return
        log.warning(
            "%s died running one call alone: that call killed it (%d of at most %d this "
            "crawl), and is not made again",
            self.name,
            proven,
            self.culprits,
        )
        _fail(
            call.outer,
            KilledItsHelper(f"{self.name} died running this call alone, in a pool of its own"),
        )

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            pool, alone = self._pool, self._alone
            left = list(self._suspects)
            self._suspects.clear()
        for call in left:
            call.outer.cancel()
        if alone is not None:
            alone.shutdown(wait=True, cancel_futures=True)
        pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            enders, self._enders = self._enders, []
        for ender in enders:
            ender.join()


def _pass_on(done: Future[Any], outer: Future[Any]) -> None:
    """Give `outer` the result, exception or cancellation of `done`."""
    if done.cancelled():
        outer.cancel()
        return
    exc = done.exception()
    if exc is not None:
        _fail(outer, exc)
        return
    with contextlib.suppress(InvalidStateError):  # its caller cancelled it meanwhile
        outer.set_result(done.result())


def _fail(outer: Future[Any], exc: BaseException) -> None:
    with contextlib.suppress(InvalidStateError):  # its caller cancelled it meanwhile
        outer.set_exception(exc)
