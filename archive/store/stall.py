"""A bound on a PostgreSQL round trip that gets no answer: the half-open connection.

A server (or a NAT, firewall or proxy between) that stops answering without closing
the connection leaves the client in recv forever: connect timeouts do not apply once
connected, and TCP keepalives and `tcp_user_timeout` (db.py sets them) end the
connection only when nothing ACKs; a proxy or a hung machine whose kernel still ACKs
defeats them. So each round trip the engine makes outside a connect (a statement, a
commit, a rollback, the pool's ping) is watched: one `StallGuard` per engine, and one
thread while anything is watched.

A round trip without an answer for `stall_s` is not cut blindly: legitimate long
statements (a migration's index build, `verify`, `reindex`) look the same from the
client. The guard asks the server on a connection of its own, bounded in time,
whether the backend behind the silent connection is running a statement
(`pg_stat_activity`). Running: it is left alone and asked about again `stall_s` later.
Not running (the answer was lost, or the statement never arrived), or no answer in
time: the connection's socket is shut down, so the blocked recv returns and the driver
raises `OperationalError` with the connection marked broken; callers handle it as a
lost connection (a crawl's recorder holds its group and retries within
`database_outage_s`). A server that answers the question with an error (too many
connections) is alive: nothing is cut.

A streamed result (`yield_per`, a server-side cursor: `verify` reads captures in
batches) fetches outside those methods: on psycopg its connections' server-side
cursors are watched too (`watch_server_cursors`).
This module must not read settings; the engine's maker hands it its bound."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

# The dialect's methods that wait for the server, and how each finds its DBAPI connection.
_ROUND_TRIPS: dict[str, Callable[[Any], Any]] = {
    "do_execute": lambda cursor: cursor.connection,
    "do_executemany": lambda cursor: cursor.connection,
    "do_execute_no_params": lambda cursor: cursor.connection,
    "do_commit": lambda conn: conn,
    "do_rollback": lambda conn: conn,
    "do_ping": lambda conn: conn,
}

# What the guard's question may take at most (connect and answer), whatever `stall_s` is.
PROBE_MAX_S = 10.0

# The answer to "is the backend with this pid running a statement?": True (running, or
# the server answered and cannot tell), False (not running), None (no answer in time).
Probe = Callable[[int, float], bool | None]


@dataclass(eq=False, slots=True)
class _Watch:
    conn: Any
    deadline: float
    asking: bool = False


class StallGuard:
    """Watches round trips on one engine's connections (module docstring)."""

    def __init__(self, stall_s: float, probe: Probe, where: str) -> None:
        self.stall_s = stall_s
        self.probe_s = min(PROBE_MAX_S, max(2.0, stall_s))  # libpq's shortest connect is 2 s
        self._probe = probe
        self._where = where
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._watches: set[_Watch] = set()
        self._running = False

    def install(self, dialect: Any) -> None:
        """Wrap the dialect's round trips (this engine's own dialect object)."""
        for name, conn_of in _ROUND_TRIPS.items():
            setattr(dialect, name, self._watched(getattr(dialect, name), conn_of))

    def watch_server_cursors(self, dbapi_conn: Any) -> None:
        """Watch the fetches of a psycopg connection's server-side cursors (a pool
        `connect` listener calls this); other drivers' connections are left as they are."""
        base = getattr(dbapi_conn, "server_cursor_factory", None)
        if base is None:
            return
        guard = self

        class WatchedServerCursor(base):  # type: ignore[misc, valid-type]
            def fetchone(self) -> Any:
                with guard.watching(self.connection):
                    return super().fetchone()

            def fetchmany(self, size: int = 0) -> Any:
                with guard.watching(self.connection):
                    return super().fetchmany(size)

            def fetchall(self) -> Any:
                with guard.watching(self.connection):
                    return super().fetchall()

        dbapi_conn.server_cursor_factory = WatchedServerCursor

    @contextmanager
    def watching(self, conn: Any) -> Iterator[None]:
        """Bound the wait for an answer on DBAPI connection `conn` inside the block."""
        watch = self._arm(conn)
        try:
            yield
        finally:
            self._disarm(watch)

    def _watched(self, call: Callable[..., Any], conn_of: Callable[[Any], Any]) -> Any:
        def watched(first: Any, *args: Any, **kwargs: Any) -> Any:
            with self.watching(conn_of(first)):
                return call(first, *args, **kwargs)

        return watched

    def _arm(self, conn: Any) -> _Watch:
        if self._pid != os.getpid():  # a forked child: the parent's thread is not here
            self._reset()
        watch = _Watch(conn, time.monotonic() + self.stall_s)
        with self._lock:
            self._watches.add(watch)
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="pg-stall-guard", daemon=True).start()
        return watch

    def _disarm(self, watch: _Watch) -> None:
        with self._lock:
            self._watches.discard(watch)

    def _run(self) -> None:
        """Wake at the earliest deadline; ask about each round trip past its own. Ends
        when it wakes to nothing watched (the next round trip starts it again)."""
        with self._lock:
            while True:
                now = time.monotonic()
                if not self._watches:
                    self._running = False
                    return
                for watch in self._watches:
                    if not watch.asking and watch.deadline <= now:
                        watch.asking = True
                        threading.Thread(target=self._judge, args=(watch,), daemon=True).start()
                pending = [w.deadline for w in self._watches if not w.asking]
                self._wake.wait(timeout=(min(pending) - now) if pending else self.stall_s)

    def _judge(self, watch: _Watch) -> None:
        try:
            pid = int(watch.conn.info.backend_pid)
        except Exception:  # noqa: BLE001 - a connection closed meanwhile: nothing to ask
            pid = 0
        running = self._probe(pid, self.probe_s) if pid else False
        with self._lock:
            if watch not in self._watches:
                return  # answered meanwhile
            if running:
                watch.asking = False
                watch.deadline = time.monotonic() + self.stall_s
                self._wake.notify()
                return
            self._watches.discard(watch)
            cut(watch.conn)
        # INFO: the caller reports the failure (one line); this says why, in the log file.
        log.info(
            "%s: a statement got no answer for %.0f s and the server %s: its connection "
            "was cut (setting database_stall_s)",
            self._where,
            self.stall_s,
            "did not answer either" if running is None else "is not running it",
        )


def cut(conn: Any) -> None:
    """Shut down a DBAPI connection's socket under whoever waits on it: the wait returns
    at once and the driver finds the connection closed. The descriptor stays the
    driver's (a duplicate is shut down and closed)."""
    try:
        fd = os.dup(conn.fileno())
    except Exception:  # noqa: BLE001 - already closed: nothing waits on it
        return
    sock = socket.socket(fileno=fd)
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # not connected any more: the wait has ended already
    finally:
        sock.close()


def pg_probe(connect: Callable[[float], Any]) -> Probe:
    """The guard's question for PostgreSQL, asked on a connection that `connect(timeout_s)`
    opens (autocommit, bounded connect), its answer bounded by a timer that cuts it."""

    def probe(pid: int, timeout_s: float) -> bool | None:
        started = time.monotonic()
        try:
            conn = connect(timeout_s)
        except Exception as exc:  # noqa: BLE001 - any failure to reach it is an answer
            return True if getattr(exc, "sqlstate", None) else None
        left = max(0.1, timeout_s - (time.monotonic() - started))
        timer = threading.Timer(left, cut, args=(conn,))
        timer.start()
        try:
            row = conn.execute(
                "SELECT state FROM pg_stat_activity WHERE pid = %s", (pid,)
            ).fetchone()
        except Exception as exc:  # noqa: BLE001 - cut by the timer, or refused
            return True if getattr(exc, "sqlstate", None) else None
        finally:
            timer.cancel()
            conn.close()
        if row is None:
            return False  # the backend is gone
        state = row[0]
        # NULL: not ours to see (another role); the server is alive, so do not cut.
        return state is None or state in ("active", "fastpath function call")

    return probe
