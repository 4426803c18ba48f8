"""`presswatch demo` end to end: it must work offline and show the edits, the confirmed
takedowns, the outage and a hit found only in removed text, in output a newcomer can
follow (links that work, counts that are right, a command that runs as printed). One run
of the demo serves every test. (The timeout only stops a hung demo; how long it takes is
the benchmarks' business, not a test's.)"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from archive.store.models import Article, Capture, ChangeEvent, Source, Version
from presswatch.demo import content
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from tests.site_server import cli_env

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Demo:
    result: subprocess.CompletedProcess[str]
    root: Path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """One run of the demo, read by every test here (it only reads what the demo did)."""
    root = tmp_path_factory.mktemp("demo")
    result = subprocess.run(
        [sys.executable, "-m", "presswatch.cli", "demo", "--dir", str(root)],
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return Demo(result, root)


def test_demo_detects_edits_takedowns_and_outage(demo: Demo) -> None:
    result, tmp_path = demo.result, demo.root
    assert result.stderr == ""
    out = result.stdout

    # What it prints: each detection, the diffs and the search hit in removed text.
    assert "edited      body" in out and "edited      title" in out
    assert "removed     http_404" in out and "removed     soft_404" in out
    assert "unreachable" in out
    assert "-Two inspectors who took part in an earlier campaign" in out
    assert "  - Police free 212 workers from Sihanoukville scam compound" in out
    assert "  + Authorities assist 212 foreigners at Sihanoukville site" in out
    assert "[tycoon]" in out and "removed_text" in out
    assert "304 Not Modified" in out

    # And what it recorded.
    runtime = Runtime(Settings(data_dir=tmp_path / "data"))
    with runtime.sessions() as session:
        statuses = {
            a.url.rstrip("/").rsplit("/", 1)[-1]: (a.status, a.removal)
            for a in session.scalars(select(Article))
        }
        kinds = Counter(session.scalars(select(ChangeEvent.kind)))
    runtime.close()
    assert statuses[content.EDIT_SLUG] == ("edited", None)
    assert statuses[content.HEADLINE_SLUG] == ("edited", None)
    assert statuses[content.REMOVED_SLUG] == ("removed", "http_404")
    assert statuses[content.SOFT404_SLUG] == ("removed", "soft_404")
    # One failing server is an outage, never a takedown (design rule 3).
    assert statuses[content.FAILING_SLUG] == ("unreachable", None)
    assert "mekong-water-levels-rise-early-this-year" not in statuses  # off-topic
    # The Ledger's 8 articles, then the vanished outlet's 2, backfilled from a web archive.
    assert kinds == {"discovered": 10, "edited": 3, "removed": 4, "unreachable": 1}


def test_demo_rebuilds_a_vanished_outlet_from_a_web_archive(demo: Demo) -> None:
    out = demo.result.stdout
    act = out[out.index("5. A vanished outlet") :]
    assert "recorded 7 snapshots" in act
    assert "2022-12-15  edited (per web archive)" in act
    assert "2023-03-01  removed (per web archive)    http_404" in act
    assert "removed (per web archive)    redirect_home" in act
    assert "4 snapshots 2022-11-01..2023-03-01, largest gap 66 days" in act
    runtime = Runtime(Settings(data_dir=demo.root / "data"))
    with runtime.sessions() as session:
        origins = Counter(session.scalars(select(Capture.origin)))
    runtime.close()
    assert origins["web_archive"] == 7


def test_demo_output_can_be_followed(demo: Demo) -> None:
    done, tmp_path = demo.result, demo.root
    lines = done.stdout.splitlines()

    # Diff headers link to the page as fetched (http), not the normalized key (https).
    diffs = lines[lines.index("3. Diffs of the edited articles:") + 1 :]
    headers = [line.strip() for line in diffs if line.startswith("  http")]
    assert headers and all(u.startswith("http://127.0.0.1:") for u in headers)
    assert not any("https://127.0.0.1" in line for line in lines)

    # The counts are what the archive holds.
    counted = re.search(r"\((\d+) articles, (\d+) versions indexed\)", done.stdout)
    assert counted is not None
    runtime = Runtime(Settings(data_dir=tmp_path / "data"))
    with runtime.sessions() as session:
        # The Ledger's (the search ran before the vanished outlet was backfilled).
        ledger = select(Article.id).join(Source).where(Source.name == "mekong-ledger")
        articles = session.scalar(select(func.count()).where(Article.id.in_(ledger)))
        versions = session.scalar(select(func.count()).where(Version.article_id.in_(ledger)))
    runtime.close()
    assert (int(counted[1]), int(counted[2])) == (articles, versions)


def test_every_command_the_demo_prints_runs_as_printed(demo: Demo) -> None:
    """The lines after "Explore the archive" run one by one as a newcomer pastes them:
    no virtualenv on PATH, and none of the tests' PRESSWATCH_* settings (the local
    site's loopback address once made `sources` exit 2)."""
    lines = demo.result.stdout.splitlines()
    start = next(i for i, x in enumerate(lines) if x.startswith("Done in ")) + 2
    commands = [line.strip() for line in lines[start:] if line.startswith("  ")]
    assert commands[0] == f"cd {shlex.quote(str(demo.root.resolve()))}"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PRESSWATCH_", "MEILI_"))
        and k not in ("PATH", "VIRTUAL_ENV", "DATABASE_URL", "REDIS_URL")
    }
    env["PATH"] = os.defpath
    cwd = Path(shlex.split(commands[0])[1])
    outputs = {}
    for command in commands[1:]:
        ran = subprocess.run(
            shlex.split(command), cwd=cwd, env=env, capture_output=True, text=True, timeout=60
        )
        assert ran.returncode == 0, (command, ran.stderr)
        outputs[shlex.split(command)[1]] = ran.stdout
    assert set(outputs) == {"changes", "articles", "history", "diff", "search", "report", "sources"}
    assert re.search(r"  removed +http_404 ", outputs["changes"])
    assert "-Two inspectors who took part in an earlier campaign" in outputs["diff"]
    assert "[tycoon]" in outputs["search"]
    assert "mekong-ledger" in outputs["sources"]
    assert "Survivors describe debt bondage" in outputs["report"]


def test_demo_serve_on_a_busy_port_says_so_before_running_the_demo(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        ran = subprocess.run(
            [sys.executable, "-m", "presswatch.cli", "demo", "--serve", "--port", str(port)]
            + ["--dir", str(tmp_path / "demo")],
            env=cli_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert ran.returncode == 1
    assert ran.stderr == f"presswatch: port {port} on 127.0.0.1 is in use: pass --port\n"
    assert ran.stdout == "" and not (tmp_path / "demo").exists()
