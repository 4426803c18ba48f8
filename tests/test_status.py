"""`presswatch status`, `presswatch outbox retry` and the outbox in `/readyz`: what an
operator sees of the lock, the search outbox and its dead letters, the search backend
and the sources, on a real archive and a real SQLite index."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from presswatch.lock import RunLock
from presswatch.runtime import Runtime
from search_api.app import create_app
from search_api.backends.base import SearchQuery
from search_api.backends.sqlite_fts import SqliteFtsBackend
from search_api.indexer import drain_outbox
from tests.search_backends import RefusingArticle
from tests.search_pages import build_contract_archive


def cli(data_dir: Path, *args: str) -> tuple[int, str, str]:
    from presswatch.cli import app

    result = CliRunner().invoke(app, ["--data-dir", str(data_dir), *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_status_of_a_quiet_archive(runtime: Runtime) -> None:
    code, out, err = cli(runtime.settings.data_dir, "status")
    assert code == 0, err
    assert "lock: free" in out
    assert "outbox: 0 row(s)" in out and "dead letters: 0" in out
    assert "search: sqlite ok" in out
    assert err == ""


def test_dead_letters_are_shown_and_one_command_retries_them(runtime: Runtime) -> None:
    ids = build_contract_archive(runtime)
    settings = runtime.settings
    index = SqliteFtsBackend(settings.search_index_path)
    # The real index refuses the rescue story's documents (invalid ids) once: with
    # max_attempts=1 they go straight to the dead letters; everything else is indexed.
    refusing = RefusingArticle(index, ids.rescue)
    drain_outbox(runtime.sessions, refusing, max_attempts=1)  # type: ignore[arg-type]
    assert index.search(SearchQuery(text="rescued")).total == 0

    code, out, err = cli(settings.data_dir, "status")
    assert code == 1  # something needs the operator
    assert "dead letters: 1" in out
    assert f"article {ids.rescue}: refused 1 time(s)" in out and "invalid" in out
    assert "presswatch outbox retry" in err
    code, out, _err = cli(settings.data_dir, "status", "--json")
    report = json.loads(out)
    assert code == 1
    assert report["outbox"]["dead_letters"] == 1 and report["outbox"]["pending"] == 0
    assert report["outbox"]["dead_letter_articles"][0]["article_id"] == ids.rescue
    assert report["search"]["articles"] == 16
    assert {s["name"] for s in report["sources"]} == {"daily", "khnews", "wire"}
    assert len(report["problems"]) == 1

    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200  # it serves everything else
        assert ready.json()["outbox"] == {"pending": 0, "oldest_pending": None, "dead_letters": 1}

    # The cause is gone (the configured backend takes the documents): one command.
    code, out, err = cli(settings.data_dir, "outbox", "retry")
    assert code == 0, err
    assert out.strip() == (
        "retried 1 dead letter(s): 1 outbox row(s) indexed; 0 dead letter(s), "
        "0 row(s) still waiting"
    )
    assert index.search(SearchQuery(text="rescued")).total == 1
    assert cli(settings.data_dir, "status")[0] == 0
    with TestClient(create_app(settings)) as client:
        assert client.get("/readyz").json()["outbox"]["dead_letters"] == 0


def test_status_names_the_lock_holder_and_a_stale_lock(runtime: Runtime) -> None:
    data_dir = runtime.settings.data_dir
    lock = RunLock(runtime.settings.lock_path, "presswatch run")
    lock.acquire()
    try:
        code, out, _err = cli(data_dir, "status", "--json")
        held = json.loads(out)["lock"]
        assert code == 0
        assert (held["held"], held["stale"], held["pid"], held["command"]) == (
            True,
            False,
            os.getpid(),
            "presswatch run",
        )
        # Reading the holder never takes the lock: the holder still has it.
        assert lock.held and runtime.settings.lock_path.exists()
    finally:
        lock.release()
    assert "lock: free" in cli(data_dir, "status")[1]

    # A lock file left by a process that is gone (killed before it could remove it).
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    runtime.settings.lock_path.write_text(
        json.dumps(
            {
                "pid": int(gone.stdout),
                "since": "2026-03-01T08:00:00+00:00",
                "command": "presswatch run",
            }
        ),
        encoding="utf-8",
    )
    code, out, err = cli(data_dir, "status")
    assert code == 1
    assert "lock: stale, holder gone" in out and "not running" in err


def test_status_says_whether_screenshots_are_on_and_why_not(runtime: Runtime) -> None:
    code, out, _err = cli(runtime.settings.data_dir, "status")
    assert code == 0
    assert "browser: screenshots on: " in out or "browser: screenshots are off: " in out
    env_off = {"PRESSWATCH_BROWSER_EXECUTABLE": "/nonexistent/chromium"}
    os.environ.update(env_off)
    try:
        code, out, _err = cli(runtime.settings.data_dir, "status", "--json")
    finally:
        for name in env_off:
            os.environ.pop(name, None)
    assert code == 0
    browser = json.loads(out)["browser"]
    assert browser["screenshots"] is False
    assert "/nonexistent/chromium" in browser["detail"] and "not found" in browser["detail"]
