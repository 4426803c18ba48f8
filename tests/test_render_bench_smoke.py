"""`python -m benchmarks render` must keep working (docs/benchmarks.md): both crawls
fetch the same pages, the browser's renders each article, and the memory sampled from
/proc takes in the browser's processes. No figure is compared with a time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import skip_unless_ci
from tests.render_site import chromium_missing

REPO = Path(__file__).resolve().parents[1]


def test_render_benchmark_crawls_with_and_without_the_browser(tmp_path: Path) -> None:
    reason = chromium_missing()
    if reason:
        skip_unless_ci(f"render benchmark: {reason}")
    out = tmp_path / "results"
    # Two articles: the browser renders a page, then another in the same browser; each
    # more is one more render, of seconds, through the same code.
    command = [sys.executable, "-m", "benchmarks", "render", "--size", "2", "--content", "demo"]
    command += ["--workers", "1", "--out", str(out)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    (written,) = out.glob("render-*.json")
    arms = json.loads(written.read_text(encoding="utf-8"))["arms"]
    plain, browser = arms["plain"], arms["browser"]
    assert plain["captures"] == browser["captures"] > 0
    assert plain["browser"] is None
    # A first crawl: every page is a new version, and each new version is rendered.
    assert browser["browser"]["rendered"] == browser["captures"], browser
    # Chromium's processes are children of the crawl: their memory is in the peak.
    assert browser["peak_pss_mib"] > plain["peak_pss_mib"] > 0
    assert "| browser |" in done.stdout and str(written) in done.stdout
