"""What a newcomer meets on the command line: a `verify` that says it passed, read-only
commands that leave no files behind before `init`, a busy port named as such, help that
fits 80 columns, and a crawl summary that says what it counts (the demo's output is
checked in test_demo.py, on the same run of the demo as its detections)."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from presswatch.cli import app
from presswatch.crawling import CrawlReport
from presswatch.runtime import Runtime
from tests import archive_helpers as h
from tests.site_server import cli_env

REPO = Path(__file__).resolve().parents[1]
PAGE = (
    "<html><head><title>Port workers strike</title></head><body><article>"
    "<h1>Port workers strike</h1>"
    + "<p>Dock workers stopped work on Monday over unpaid wages, union leaders said.</p>" * 6
    + "</article></body></html>"
)


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


# -- verify ------------------------------------------------------------------------------


def test_verify_says_ok_in_one_line_on_stdout(runtime: Runtime, at: Any) -> None:
    h.record(runtime, h.exchange("https://news.example/a/1/", PAGE, at=at(0)))
    h.record(runtime, h.exchange("https://news.example/a/1/", PAGE, at=at(1)))
    data = str(runtime.settings.data_dir)
    result = invoke("--data-dir", data, "verify")
    assert result.exit_code == 0, result.output
    assert result.stdout == "ok: 2 captures, 1 versions checked\n"
    assert result.stderr == ""

    as_json = invoke("--data-dir", data, "verify", "--json")
    assert as_json.exit_code == 0
    doc = json.loads(as_json.stdout)
    assert (doc["ok"], doc["captures_checked"], doc["versions_checked"], doc["problems"]) == (
        True,
        2,
        1,
        [],
    )


def test_cron_keeps_the_daily_verify_quiet_on_success(tmp_path: Path) -> None:
    result = invoke("--data-dir", str(tmp_path / "d"), "cron")
    verify_line = next(line for line in result.stdout.splitlines() if " verify" in line)
    # Only problems reach stderr (and so cron's mail); a checkpoint is signed after a
    # clean verify, its note kept in the archive for publishing.
    assert " verify >/dev/null && " in verify_line
    assert verify_line.endswith(" checkpoint >/dev/null")


# -- read-only commands before init ------------------------------------------------------


def test_reading_commands_before_init_create_nothing(tmp_path: Path) -> None:
    data = tmp_path / "presswatch-data"
    sources = tmp_path / "sources.toml"
    sources.write_text('[[source]]\nname = "vod"\nbase_url = "https://vod.example/"\n')

    listed = invoke("--data-dir", str(data), "--sources", str(sources), "sources", "--json")
    assert listed.exit_code == 0, listed.output
    assert [(r["name"], r["articles"]) for r in json.loads(listed.stdout)] == [("vod", 0)]

    for command in (["search", "strike"], ["articles"], ["changes"], ["verify"]):
        result = invoke("--data-dir", str(data), *command)
        assert result.exit_code == 2, (command, result.output)
        assert "run `presswatch init` first" in result.stderr, command
    assert not data.exists()


# -- serve ---------------------------------------------------------------------------------


def test_serve_on_a_busy_port_says_so_and_exits_1(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    started: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: started.append(a))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = invoke("--data-dir", str(runtime.settings.data_dir), "serve", "--port", str(port))
    assert result.exit_code == 1
    assert result.stderr == f"presswatch: port {port} on 127.0.0.1 is in use: pass --port\n"
    assert started == []


# -- help ------------------------------------------------------------------------------------


def help_text(*command: str) -> str:
    env = {**cli_env(), "COLUMNS": "80"}
    done = subprocess.run(
        [sys.executable, "-m", "presswatch.cli", *command, "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_serve_help_shows_every_option_whole_at_80_columns() -> None:
    text = help_text("serve")
    for option in ("--host ADDRESS", "--port PORT", "--proxy-headers", "--workers N", "--help"):
        assert option in text
    assert "…" not in text and not re.search(r"<[a-z]", text)  # no `<bool>`, `<int>`…
    assert max(len(line) for line in text.splitlines()) <= 80


@pytest.mark.parametrize(
    "command", [[], ["articles"], ["changes"], ["search"], ["crawl"], ["demo"], ["verify"]]
)
def test_help_names_values_not_python_types(command: list[str]) -> None:
    options = [line for line in help_text(*command).splitlines() if line.lstrip().startswith("-")]
    assert options
    for line in options:
        assert not re.search(r"<(bool|str|int|list|path)", line), line


# -- crawl summary ----------------------------------------------------------------------------


def test_crawl_summary_separates_failed_fetches_from_unreachable_articles() -> None:
    problems = [
        f"[s{i}] https://s{i}.example/robots.txt: dns (DNS lookup failed: s{i}.example.)"
        for i in range(28)
    ] + [
        "[s0] https://s0.example/feed/: HTTP 404",
        "[s1] https://s1.example/feed/: timeout (took longer than 30s)",
        "[s2] https://s2.example/sitemap.xml: not a sitemap (no urlset)",
    ]
    report = CrawlReport(counts={"fetched": 5, "fetch_errors": 2}, problems=problems)
    line = report.summary("crawl")
    assert line.startswith("crawl: 5 fetched, 0 new, 0 edited, 0 removed, ")
    assert "0 articles became unreachable" in line
    assert "32 fetches failed (dns: 28, article_pages: 2, http_404: 1, timeout: 1)" in line
    assert "31 problem(s)" in line
    assert report.as_json()["failed_fetches"]["dns"] == 28

    quiet = CrawlReport(counts={"fetched": 3, "discovered": 3}).summary("run")
    assert quiet.startswith("run: 3 fetched, 3 new") and "0 fetches failed; 0 problem(s)" in quiet


def test_a_date_utc_cannot_hold_is_bad_usage_not_a_crash(runtime: Runtime) -> None:
    """9999-12-31T23:59:59-01:00 is past the largest UTC time: exit 2 naming the option."""
    story = h.en_story()
    h.record(runtime, h.exchange(story.url, story.html, at=datetime(2026, 3, 1, tzinfo=UTC)))
    data = str(runtime.settings.data_dir)
    for command in (["changes"], ["report"]):
        result = CliRunner().invoke(
            app, ["--data-dir", data, *command, "--since", "9999-12-31T23:59:59-01:00"]
        )
        assert result.exit_code == 2, (command, result.output)
        assert "--since" in result.stderr


def test_an_outlets_control_characters_reach_no_terminal_line(runtime: Runtime) -> None:
    """A title carrying an escape sequence and a line break would forge or hide lines in
    `search`, `history` and `report`: shown escaped."""
    story = h.en_story()
    title = "Police free 212 workers from Sihanoukville scam compound"
    forged = "Police raid\x1b[2K\u202e\r[voice] removed: https://voice.example/"
    html = story.html.replace(title, forged)
    h.record(runtime, h.exchange(story.url, html, at=datetime(2026, 3, 1, tzinfo=UTC)))
    data = str(runtime.settings.data_dir)

    def run(*args: str) -> str:
        result = CliRunner().invoke(app, ["--data-dir", data, *args])
        assert result.exit_code == 0, result.output
        return result.output

    assert run("reindex") is not None
    shown = [run("search", "voice"), run("history", story.url)]
    shown.append(run("report", "--since", "2026-01-01", "--format", "md"))
    assert "voice" in shown[0]  # the title is listed…
    for text in shown:
        assert "\x1b" not in text and "\u202e" not in text  # …without its controls
        assert not any(line.startswith("[voice]") for line in text.splitlines())
