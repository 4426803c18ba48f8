"""`presswatch demo` end to end: it must work offline and show the edits, the confirmed
takedowns, the outage and a hit found only in removed text. (The timeout only stops a
hung demo; how long it takes is the benchmarks' business, not a test's.)"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from archive.models import Article, ChangeEvent
from presswatch.demo import content
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from tests.site_server import cli_env

pytestmark = pytest.mark.e2e


def test_demo_detects_edits_takedowns_and_outage(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "presswatch.cli", "demo", "--dir", str(tmp_path)],
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout + result.stderr
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
    assert kinds == {"discovered": 8, "edited": 2, "removed": 2, "unreachable": 1}
