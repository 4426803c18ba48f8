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
"""

from __future__ import annotations

import multiprocessing
import os
import select
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any


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
