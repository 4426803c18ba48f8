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
from presswatch.crawling.report import CrawlReport
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


def test_serve_without_public_url_links_to_the_address_it_listens_on(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TimeMaps, TimeGates and the feed gave relative links unless PRESSWATCH_PUBLIC_URL
    was set, so a Memento client could not follow them; the request's Host header is
    never used (tests/test_quiet.py), the address `serve` listens on is."""
    import uvicorn
    from fastapi.testclient import TestClient

    apps: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda web, **kw: apps.append(web))
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    data = str(runtime.settings.data_dir)
    result = invoke("--data-dir", data, "serve", "--port", str(port))
    assert result.exit_code == 0, result.output
    base = f"http://127.0.0.1:{port}"
    assert result.stderr == (
        f"presswatch serve: PRESSWATCH_PUBLIC_URL is unset: links in the feed and in "
        f"Memento answers start with {base}; set PRESSWATCH_PUBLIC_URL to the address "
        "readers use (e.g. behind a proxy)\n"
    )
    with TestClient(apps[0]) as client:
        feed = client.get("/feeds/changes.atom", headers={"Host": "evil.example"}).text
    assert f'href="{base}/feeds/changes.atom"' in feed and "evil.example" not in feed

    everywhere = invoke("--data-dir", data, "serve", "--host", "0.0.0.0", "--port", str(port))
    assert "links in the feed and in Memento answers stay relative" in everywhere.stderr


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


# -- start-up --------------------------------------------------------------------------------

# What a command imports when it runs, never when the CLI starts (docs/benchmarks.md).
HEAVY = (
    "alembic", "apprise", "cdxj_indexer", "fastapi", "htmldate", "lxml", "pydantic",
    "redis", "rich", "scrapy", "sqlalchemy", "trafilatura", "twisted", "uvicorn", "warcio",
    "archive.capture", "archive.content", "archive.formats", "archive.log", "archive.notify",
    "archive.store", "archive.warc", "crawler", "presswatch.runtime", "presswatch.settings",
    "search_api",
)  # fmt: skip


def test_help_imports_nothing_heavy() -> None:
    """`presswatch --help` builds every command (Typer reads their options), so each
    command module must import the archive, the ORM, Scrapy… inside its commands."""
    probe = (
        "import sys\n"
        "from presswatch.cli import app\n"
        "try:\n"
        "    app(['--help'], prog_name='presswatch')\n"
        "except SystemExit:\n"
        "    pass\n"
        f"heavy = {HEAVY!r}\n"
        "print(sorted(m for m in sys.modules if any(m == h or m.startswith(h + '.') "
        "for h in heavy)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=cli_env(), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"


def test_status_does_not_load_the_extractor(tmp_path: Path) -> None:
    """`status` reads the archive; the content wing gives the extractor (and
    trafilatura, a fifth of a second) only to a caller that asks for it."""
    data_dir = tmp_path / "data"
    init = [sys.executable, "-m", "presswatch.cli", "--data-dir", str(data_dir), "init"]
    made = subprocess.run(init, env=cli_env(), capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    probe = (
        "import sys\n"
        "from presswatch.cli import app\n"
        "try:\n"
        f"    app(['--data-dir', {str(data_dir)!r}, 'status'], prog_name='presswatch')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('archive.store' in sys.modules, 'trafilatura' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=cli_env(), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "True False"


def test_notify_add_help_names_the_default_kinds() -> None:
    """The help spells out DEFAULT_NOTIFY_KINDS, so that building it imports no archive."""
    from archive.notify import DEFAULT_NOTIFY_KINDS

    assert f"default {', '.join(DEFAULT_NOTIFY_KINDS)})" in " ".join(
        help_text("notify", "add").split()
    )


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


# -- a mistyped --source ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def outlet_archive(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """An archive holding one outlet, `mekong-ledger`, and a sources.toml naming it."""
    from datetime import UTC, datetime

    from presswatch.crawling.sources import sync_sources
    from presswatch.settings import Settings
    from presswatch.sources import load_sources

    root = tmp_path_factory.mktemp("typo")
    sources = root / "sources.toml"
    sources.write_text('[[source]]\nname = "mekong-ledger"\nbase_url = "https://ledger.example/"\n')
    rt = Runtime(Settings(data_dir=root / "data", sources=sources))
    rt.init()
    page = h.own_page(h.demo_article(h.EN_RAID).slug)
    at = datetime(2026, 3, 1, tzinfo=UTC)
    sync_sources(rt, load_sources(sources), at)
    h.record(rt, h.exchange(page.url, page.html, at=at, source="mekong-ledger"))
    yield rt
    rt.close()


TYPO_COMMANDS = [
    ["articles"],
    ["changes"],
    ["search", "raid"],
    ["report", "--since", "2026-01-01"],
    ["crawl"],
    ["recheck"],
    ["export", "wacz", "-o", "OUT"],
    ["notify", "add", "n1", "json://hooks.example/x"],
    ["import", "SAVED"],
]


@pytest.mark.parametrize("command", TYPO_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_every_command_refuses_a_mistyped_source_the_same_way(
    outlet_archive: Runtime, command: list[str], tmp_path: Path
) -> None:
    """`--source mekong-ledgr` once answered "nothing happened" (exit 0, an empty
    list, a report saying nothing was removed); every command now refuses it alike."""
    settings = outlet_archive.settings
    (tmp_path / "saved.html").write_text(PAGE, encoding="utf-8")
    args = [a.replace("OUT", str(tmp_path / "out.wacz")) for a in command]
    args = [a.replace("SAVED", str(tmp_path / "saved.html")) for a in args]
    result = invoke(
        "--data-dir", str(settings.data_dir), "--sources", str(settings.sources),
        *args, "--source", "mekong-ledgr",
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        "presswatch: --source: no source named 'mekong-ledgr' (did you mean "
        "'mekong-ledger'?); known sources: mekong-ledger\n"
    )
    assert result.stdout == ""


def test_backfill_report_refuses_a_mistyped_source(outlet_archive: Runtime) -> None:
    settings = outlet_archive.settings
    result = invoke(
        "--data-dir", str(settings.data_dir), "--sources", str(settings.sources),
        "backfill", "mekong-ledgr", "--report",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "no source named 'mekong-ledgr' (did you mean 'mekong-ledger'?)" in result.stderr


def test_the_right_source_still_answers(outlet_archive: Runtime) -> None:
    settings = outlet_archive.settings
    result = invoke(
        "--data-dir", str(settings.data_dir), "articles", "--source", "mekong-ledger", "--json"
    )
    assert result.exit_code == 0, result.output
    assert [a["source"] for a in json.loads(result.stdout)] == ["mekong-ledger"]


@pytest.mark.parametrize(
    "path", ["/api/articles", "/api/changes", "/api/search?q=raid", "/feeds/changes.atom"]
)
def test_the_api_refuses_a_mistyped_source_with_a_400_naming_the_known_ones(
    outlet_archive: Runtime, path: str
) -> None:
    from fastapi.testclient import TestClient

    from search_api.app import create_app

    app = create_app(outlet_archive.settings, sessions=outlet_archive.sessions)
    sep = "&" if "?" in path else "?"
    with TestClient(app) as client:
        response = client.get(f"{path}{sep}source=mekong-ledgr")
        assert response.status_code == 400
        assert response.json()["detail"] == (
            "no source named 'mekong-ledgr' (did you mean 'mekong-ledger'?); "
            "known sources: mekong-ledger"
        )
        assert client.get(f"{path}{sep}source=mekong-ledger").status_code == 200
        page = client.get("/changes?source=mekong-ledgr")
        assert "no source named &#39;mekong-ledgr&#39;" in page.text
