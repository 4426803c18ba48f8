"""The run lock: one holder at a time; a lock left by a killed process is taken over."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from presswatch.lock import LockHeld, RunLock, hold_lock


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
