"""The archive's lock: one writer at a time in a data dir (`run`, `crawl`, `recheck`,
`import`, `reindex`, `init`), so two crawls never share the crawl-state folder (`jobs/`),
the WARC files being written or a migration.

A lock file in the data dir, held with `flock`: the kernel drops the lock when its
holder dies, however it dies (SIGKILL, OOM, power loss of a container), so a stale
lock is taken over without guessing from timestamps. The file also records who holds
it (pid, host, start time) so the second `run` can say so in one line, and so a lock
left by a dead pid is reported as taken over.

The file is removed on release, while still locked; a waiter that had opened the old
file notices that the path now names another inode and starts over, so two holders can
never each lock a different file.

Waiting: `RunLock.wait` polls for up to a timeout (interactive commands); its clock and
sleep are injected so tests never sleep. `judge_busy_run` decides what a `run` from cron
says when the lock is held: one line and exit 0 while the holder is within its expected
duration; exit 1 when the holder has held it past `max_run_duration`, or when runs have
not been able to start for longer than `lock_stale_after` (a marker file beside the lock
remembers when the first of them was turned away).
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from archive.errors import PresswatchError

log = logging.getLogger(__name__)

__all__ = [
    "BusyRun",
    "Holder",
    "LockHeld",
    "RunLock",
    "blocked_marker",
    "clear_blocked_run",
    "hold_lock",
    "judge_busy_run",
    "note_blocked_run",
]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Holder:
    pid: int | None
    host: str | None
    since: str | None
    command: str | None

    def describe(self) -> str:
        """`pid 42 on host (presswatch run) since 2026-03-01T08:00:00+00:00`."""
        who = f"pid {self.pid}" if self.pid else "another process"
        if self.host:
            who += f" on {self.host}"
        when = f" since {self.since}" if self.since else ""
        what = f" ({self.command})" if self.command else ""
        return f"{who}{what}{when}"

    def started_at(self) -> datetime | None:
        if not self.since:
            return None
        try:
            when = datetime.fromisoformat(self.since)
        except ValueError:
            return None
        return when if when.tzinfo else when.replace(tzinfo=UTC)

    def held_for(self, now: datetime) -> timedelta | None:
        """How long the holder has had the lock; None when the file does not say."""
        started = self.started_at()
        return None if started is None else max(now - started, timedelta(0))


class LockHeld(PresswatchError):
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

    def __init__(
        self, path: Path | str, command: str = "run", *, now: Callable[[], datetime] = utc_now
    ) -> None:
        self.path = Path(path)
        self.command = command
        self.now = now
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
                    "since": self.now().isoformat(timespec="seconds"),
                    "command": self.command,
                }
            )
        )
        handle.flush()
        os.fsync(handle.fileno())
        self._handle = handle

    def wait(
        self,
        timeout_s: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        poll_s: float = 0.25,
        on_wait: Callable[[Holder], None] | None = None,
    ) -> None:
        """`acquire()`, retrying for up to `timeout_s` seconds while another process
        holds the lock; then `LockHeld` naming the holder. `on_wait` is told once, when
        the first attempt finds the lock held. (Polling, because `flock` has no timeout
        and a blocking `flock` could not be interrupted cleanly by a signal handler.)"""
        deadline = monotonic() + timeout_s
        told = False
        while True:
            try:
                self.acquire()
                return
            except LockHeld as exc:
                left = deadline - monotonic()
                if left <= 0:
                    raise
                if not told and on_wait is not None:
                    on_wait(exc.holder)
                    told = True
                sleep(min(poll_s, left))

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


# -- a `run` that finds the lock held (cron) ------------------------------------------


def blocked_marker(lock_path: Path) -> Path:
    """Beside the lock: when the first `run` that could not start was turned away."""
    return lock_path.with_name(lock_path.name + ".blocked")


def note_blocked_run(lock_path: Path, now: datetime) -> datetime:
    """Remember that a run could not start; returns when the first such run was
    (this one, or an earlier one that no run has started since)."""
    marker = blocked_marker(lock_path)
    try:
        first = datetime.fromisoformat(marker.read_text(encoding="utf-8").strip())
        return first if first.tzinfo else first.replace(tzinfo=UTC)
    except (OSError, ValueError):
        pass
    partial = marker.with_name(marker.name + ".partial")
    try:
        partial.write_text(now.isoformat(timespec="seconds"), encoding="utf-8")
        partial.replace(marker)
    except OSError as exc:  # a full disk must not turn "busy" into a crash
        log.warning("could not write %s: %s", marker, exc)
    return now


def clear_blocked_run(lock_path: Path) -> None:
    """A run started: the count of runs turned away starts over."""
    try:
        blocked_marker(lock_path).unlink(missing_ok=True)
    except OSError as exc:
        log.warning("could not remove %s: %s", blocked_marker(lock_path), exc)


@dataclass(frozen=True, slots=True)
class BusyRun:
    """What a `run` that found the lock held says (one line) and its exit code."""

    exit_code: int
    message: str


def _human(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"


def judge_busy_run(
    held: LockHeld,
    *,
    now: datetime,
    blocked_since: datetime,
    max_duration: timedelta,
    stale_after: timedelta,
    max_duration_text: str,
    stale_after_text: str,
) -> BusyRun:
    """Exit 0 with one line while the holder is within `max_duration` and runs have been
    turned away for no longer than `stale_after`; otherwise exit 1 with one line naming
    the holder, so cron mails the operator."""
    holder = held.holder.describe()
    held_for = held.holder.held_for(now)
    if held_for is not None and held_for > max_duration:
        return BusyRun(
            1,
            f"presswatch run: {held.path} has been held for {_human(held_for)} by {holder}, "
            f"longer than max_run_duration {max_duration_text}: check whether that process "
            "is stuck (a dead holder's lock is taken over by the next run)",
        )
    blocked_for = now - blocked_since
    if blocked_for > stale_after:
        return BusyRun(
            1,
            f"presswatch run: no run could start for {_human(blocked_for)} (since "
            f"{blocked_since.isoformat(timespec='seconds')}, longer than lock_stale_after "
            f"{stale_after_text}): {held.path} is held by {holder}",
        )
    other = "run" if "run" in (held.holder.command or "run").split() else "command"
    return BusyRun(
        0, f"presswatch run: another {other} holds {held.path} ({holder}); nothing to do"
    )
