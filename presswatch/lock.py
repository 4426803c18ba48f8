"""The lock that keeps two `presswatch run` from crawling the same data dir at once.

A lock file in the data dir, held with `flock`: the kernel drops the lock when its
holder dies, however it dies (SIGKILL, OOM, power loss of a container), so a stale
lock is taken over without guessing from timestamps. The file also records who holds
it (pid, host, start time) so the second `run` can say so in one line, and so a lock
left by a dead pid is reported as taken over.

The file is removed on release, while still locked; a waiter that had opened the old
file notices that the path now names another inode and starts over, so two holders can
never each lock a different file.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)

__all__ = ["LockHeld", "RunLock", "hold_lock"]


@dataclass(frozen=True, slots=True)
class Holder:
    pid: int | None
    host: str | None
    since: str | None
    command: str | None

    def describe(self) -> str:
        who = f"pid {self.pid}" if self.pid else "another process"
        if self.host and self.host != socket.gethostname():
            who += f" on {self.host}"
        when = f" since {self.since}" if self.since else ""
        what = f" ({self.command})" if self.command else ""
        return f"{who}{what}{when}"


class LockHeld(Exception):
    """Another live process holds the lock."""

    def __init__(self, path: Path, holder: Holder) -> None:
        super().__init__(f"{path} is held by {holder.describe()}")
        self.path = path
        self.holder = holder


def _read_holder(handle: IO[str]) -> Holder:
    handle.seek(0)
    try:
        data: dict[str, Any] = json.loads(handle.read() or "{}")
    except json.JSONDecodeError:
        data = {}
    pid = data.get("pid")
    return Holder(
        pid=pid if isinstance(pid, int) else None,
        host=data.get("host"),
        since=data.get("since"),
        command=data.get("command"),
    )


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


class RunLock:
    """`acquire()` or raise `LockHeld`; `release()` removes the file."""

    def __init__(self, path: Path | str, command: str = "run") -> None:
        self.path = Path(path)
        self.command = command
        self._handle: IO[str] | None = None
        self.took_over: Holder | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - kept open while held
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                holder = _read_holder(handle)
                handle.close()
                if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise LockHeld(self.path, holder) from None
                raise
            # The previous holder may have removed the file between our open and lock.
            try:
                same = os.fstat(handle.fileno()).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                handle.close()
                continue
            break
        previous = _read_holder(handle)
        if previous.pid is not None and previous.pid != os.getpid():
            # The kernel released the lock, so its holder is gone (or never unlocked
            # cleanly): say so, it explains a crawl that ended without a summary.
            self.took_over = previous
            state = "not running" if not pid_alive(previous.pid) else "lock released"
            log.warning(
                "took over a stale lock %s from pid %s (%s)", self.path, previous.pid, state
            )
        handle.seek(0)
        handle.truncate()
        handle.write(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "since": datetime.now(UTC).isoformat(timespec="seconds"),
                    "command": self.command,
                }
            )
        )
        handle.flush()
        os.fsync(handle.fileno())
        self._handle = handle

    def release(self) -> None:
        if self._handle is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        finally:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    @property
    def held(self) -> bool:
        return self._handle is not None


@contextmanager
def hold_lock(path: Path, command: str = "run") -> Iterator[RunLock]:
    """Hold the lock for the block; raises `LockHeld` when another process has it."""
    lock = RunLock(path, command)
    lock.acquire()
    try:
        yield lock
    finally:
        lock.release()
