"""The archive's lock: one holder at a time; a lock left by a killed process is taken
over; writers wait for it (with a timeout) or, for `run` from cron, say why they did not
start, in one line, with the exit code the docs give."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from sqlalchemy import select

from archive.store import Capture
from presswatch.demo.content import DEMO_ARTICLES
from presswatch.lock import (
    Holder,
    LockHeld,
    RunLock,
    blocked_marker,
    clear_blocked_run,
    hold_lock,
    judge_busy_run,
    note_blocked_run,
)
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from tests.site_server import NewsSite, cli, cli_env, popen_cli, write_sources


def test_second_holder_is_refused_with_who_holds_it(tmp_path: Path) -> None:
    path = tmp_path / "data" / "presswatch.lock"
    with hold_lock(path, "run") as first:
        assert first.held and path.exists()
        holder = json.loads(path.read_text())
        assert holder["pid"] == os.getpid()
        with pytest.raises(LockHeld) as info:
            RunLock(path).acquire()
        assert info.value.holder.pid == os.getpid()
        assert f"pid {os.getpid()}" in str(info.value)
    assert not path.exists()
    with hold_lock(path) as again:  # released: free again
        assert again.took_over is None


def test_lock_of_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "presswatch.lock"
    script = textwrap.dedent(
        f"""
        import sys, time
        from presswatch.lock import RunLock
        lock = RunLock({str(path)!r})
        lock.acquire()
        print("held", flush=True)
        time.sleep(60)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        with pytest.raises(LockHeld):
            RunLock(path).acquire()
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    lock = RunLock(path)
    lock.acquire()
    try:
        assert lock.took_over is not None and lock.took_over.pid == child.pid
        assert json.loads(path.read_text())["pid"] == os.getpid()
    finally:
        lock.release()


def test_stale_file_without_a_lock_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "presswatch.lock"
    path.write_text(json.dumps({"pid": 999_999_999, "host": "h", "since": "x"}))
    with hold_lock(path) as lock:
        assert lock.took_over is not None and lock.took_over.pid == 999_999_999


def test_garbage_lock_file_is_harmless(tmp_path: Path) -> None:
    path = tmp_path / "presswatch.lock"
    path.write_text("not json")
    with hold_lock(path) as lock:
        assert lock.took_over is None


# -- waiting, and what a busy `run` says ---------------------------------------------


class FakeClock:
    """monotonic() and sleep() for `RunLock.wait`: sleeping advances the clock."""

    def __init__(self, on_sleep: Callable[[int], None] | None = None) -> None:
        self.t = 1000.0
        self.sleeps = 0
        self.on_sleep = on_sleep

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.t += seconds
        self.sleeps += 1
        if self.on_sleep is not None:
            self.on_sleep(self.sleeps)


def test_wait_gives_up_after_its_timeout_naming_the_holder(tmp_path: Path) -> None:
    path = tmp_path / "presswatch.lock"
    clock = FakeClock()
    told: list[Holder] = []
    with hold_lock(path, "presswatch run"), pytest.raises(LockHeld) as info:
        RunLock(path, "presswatch crawl").wait(
            10, monotonic=clock.monotonic, sleep=clock.sleep, poll_s=0.5, on_wait=told.append
        )
    assert clock.t == pytest.approx(1010.0) and clock.sleeps == 20
    assert [h.command for h in told] == ["presswatch run"]  # told once, not every poll
    assert info.value.holder.pid == os.getpid() and info.value.holder.command == "presswatch run"


def test_wait_takes_the_lock_once_the_holder_is_done(tmp_path: Path) -> None:
    path = tmp_path / "presswatch.lock"
    holder = RunLock(path, "presswatch run")
    holder.acquire()
    clock = FakeClock(on_sleep=lambda n: holder.release() if n == 3 else None)
    waiter = RunLock(path, "presswatch crawl")
    waiter.wait(60, monotonic=clock.monotonic, sleep=clock.sleep, poll_s=1)
    try:
        assert clock.sleeps == 3
        assert json.loads(path.read_text())["command"] == "presswatch crawl"
    finally:
        waiter.release()


def test_zero_wait_tries_once(tmp_path: Path) -> None:
    path = tmp_path / "presswatch.lock"
    clock = FakeClock()
    with hold_lock(path), pytest.raises(LockHeld):
        RunLock(path).wait(0, monotonic=clock.monotonic, sleep=clock.sleep)
    assert clock.sleeps == 0


NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _held_since(since: datetime) -> LockHeld:
    holder = Holder(pid=4242, host="box", since=since.isoformat(), command="presswatch run")
    return LockHeld(Path("/data/presswatch.lock"), holder)


@pytest.mark.parametrize(
    ("held_for", "blocked_for", "code", "says"),
    [
        (timedelta(minutes=20), timedelta(0), 0, "another run holds"),
        (timedelta(minutes=119), timedelta(minutes=119), 0, "nothing to do"),
        (timedelta(hours=3), timedelta(minutes=15), 1, "longer than max_run_duration 2h"),
        (timedelta(minutes=30), timedelta(hours=7), 1, "no run could start for 7h00m"),
    ],
)
def test_busy_run_is_quiet_only_while_the_holder_is_expected_to_run(
    held_for: timedelta, blocked_for: timedelta, code: int, says: str
) -> None:
    verdict = judge_busy_run(
        _held_since(NOW - held_for),
        now=NOW,
        blocked_since=NOW - blocked_for,
        max_duration=timedelta(hours=2),
        stale_after=timedelta(hours=6),
        max_duration_text="2h",
        stale_after_text="6h",
    )
    assert verdict.exit_code == code
    assert says in verdict.message and "\n" not in verdict.message
    assert "pid 4242 on box (presswatch run) since 2026-03-01" in verdict.message


def test_blocked_marker_keeps_the_first_refusal_until_a_run_starts(tmp_path: Path) -> None:
    path = tmp_path / "presswatch.lock"
    first = note_blocked_run(path, NOW)
    assert note_blocked_run(path, NOW + timedelta(hours=1)) == first == NOW
    clear_blocked_run(path)
    assert note_blocked_run(path, NOW + timedelta(hours=2)) == NOW + timedelta(hours=2)


# -- the real CLI --------------------------------------------------------------------


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr


@pytest.fixture
def archive_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    Runtime(Settings(data_dir=data)).init()
    return data


@pytest.fixture
def sources_file(tmp_path: Path) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(
        '[[source]]\nname = "outlet"\nbase_url = "http://127.0.0.1:9/"\n'
        'languages = ["en"]\nfeeds = ["http://127.0.0.1:9/feed/"]\n',
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    "command",
    [["crawl"], ["recheck"], ["reindex"], ["init"], ["import", "sources.toml"]],
)
def test_writers_wait_for_the_lock_then_exit_1_naming_the_holder(
    archive_dir: Path, sources_file: Path, command: list[str]
) -> None:
    args = [str(sources_file) if a == "sources.toml" else a for a in command]
    with hold_lock(archive_dir / "presswatch.lock", "presswatch run"):
        result = cli(archive_dir, sources_file, *args, env=cli_env(lock_wait_s=0))
    assert result.returncode == 1 and result.stdout == ""
    line = _one_line(result)
    assert f"presswatch: {command[0]}: the archive is busy" in line
    assert f"pid {os.getpid()} on {socket.gethostname()} (presswatch run) since " in line
    assert "lock_wait_s" in line


def test_run_reports_a_holder_past_its_max_duration(archive_dir: Path, sources_file: Path) -> None:
    three_hours_ago = datetime.now(UTC) - timedelta(hours=3)
    lock = RunLock(archive_dir / "presswatch.lock", "presswatch run", now=lambda: three_hours_ago)
    lock.acquire()
    try:
        stuck = cli(archive_dir, sources_file, "run")
        patient = cli(archive_dir, sources_file, "run", "--max-duration", "4h")
        by_setting = cli(archive_dir, sources_file, "run", env=cli_env(max_run_duration="5h"))
    finally:
        lock.release()
    assert stuck.returncode == 1 and stuck.stdout == ""
    line = _one_line(stuck)
    assert "has been held for 3h00m" in line and "longer than max_run_duration 2h" in line
    assert f"pid {os.getpid()}" in line
    assert patient.returncode == 0 and "another run holds" in _one_line(patient)
    assert by_setting.returncode == 0 and "another run holds" in _one_line(by_setting)


def test_run_that_could_not_start_for_too_long_exits_1(
    archive_dir: Path, sources_file: Path
) -> None:
    lock_path = archive_dir / "presswatch.lock"
    with hold_lock(lock_path, "presswatch crawl"):
        first = cli(archive_dir, sources_file, "run")
        # Runs have been turned away since seven hours ago (by other holders before).
        blocked_marker(lock_path).write_text(
            (datetime.now(UTC) - timedelta(hours=7)).isoformat(), encoding="utf-8"
        )
        late = cli(archive_dir, sources_file, "run")
        shorter = cli(archive_dir, sources_file, "run", env=cli_env(lock_stale_after="8h"))
    assert first.returncode == 0 and "another command holds" in _one_line(first)
    assert late.returncode == 1
    line = _one_line(late)
    assert "no run could start for 7h00m" in line and "lock_stale_after 6h" in line
    assert f"pid {os.getpid()}" in line and "(presswatch crawl)" in line
    assert shorter.returncode == 0


@pytest.mark.e2e
def test_crawl_during_a_run_waits_its_turn_and_shares_no_crawl_state(tmp_path: Path) -> None:
    """The issue: `crawl` during a `run` made 76 captures for 40 URLs and crashed in
    Scrapy's queue. Now it exits 1 at once (no wait) or waits for the run to finish."""
    data = tmp_path / "data"
    Runtime(Settings(data_dir=data)).init()
    arrived, release = threading.Event(), threading.Event()

    def gate(handler: BaseHTTPRequestHandler, head: bool) -> int:
        """A feed that answers only when the test says so: the run holds the lock."""
        arrived.set()
        release.wait(60)
        body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>g</title></channel></rss>'
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if not head:
            handler.wfile.write(body)
        return 200

    with NewsSite(articles=DEMO_ARTICLES) as site:
        site.routes["/gate.xml"] = gate
        sources = write_sources(tmp_path / "sources.toml", site, feeds=[f"{site.base_url}gate.xml"])
        run = popen_cli(data, sources, "run", env=cli_env())
        waiting: subprocess.Popen[str] | None = None
        try:
            seen = [r.path for r in site.log]
            assert arrived.wait(60), f"the run (exit {run.poll()}) never reached the gate: {seen}"
            busy = cli(data, sources, "crawl", env=cli_env(lock_wait_s=0))
            waiting = popen_cli(data, sources, "-v", "crawl", env=cli_env(lock_wait_s=120))
            assert waiting.stderr is not None
            for _ in range(500):  # bounded: the crawl says it waits before anything else
                line = waiting.stderr.readline()
                if not line or "waiting up to 120s for the archive's lock" in line:
                    break
            assert f"held by pid {run.pid}" in line and "(presswatch run)" in line, line
            assert run.poll() is None  # the run still holds the lock while the crawl waits
        finally:
            release.set()
            run_out, run_err = run.communicate(timeout=120)
            waited_out, waited_err = waiting.communicate(timeout=120) if waiting else ("", "")
        assert run.returncode == 0, run_err
        assert waiting is not None and waiting.returncode == 0, waited_err
    assert busy.returncode == 1
    line = _one_line(busy)
    assert f"pid {run.pid} on {socket.gethostname()} (presswatch run) since" in line
    rt = Runtime(Settings(data_dir=data))
    try:
        with rt.sessions() as session:
            per_url = Counter(session.scalars(select(Capture.requested_url)))
            assert per_url and set(per_url.values()) == {1}, per_url.most_common(3)
    finally:
        rt.close()
