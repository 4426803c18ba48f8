"""`python -m benchmarks crawl-memory` end to end at a tiny size: the archive knows 500
URLs, the site's sitemaps list them and 5 new ones, and the real `presswatch crawl`
fetches only the new ones, `presswatch recheck` only the due ones, each with its peak
memory reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.__main__ import main


@pytest.mark.slow
def test_crawl_memory_bench_fetches_only_new_and_due_and_reports_memory(tmp_path: Path) -> None:
    out = tmp_path / "results"
    argv = ["crawl-memory", "--known", "500", "--new", "5", "--due", "5", "--out", str(out)]

    assert main(argv) == 0

    (result,) = out.glob("crawl-memory-*.json")
    report = json.loads(result.read_text(encoding="utf-8"))
    assert report["known"] == 500
    assert report["made_due"] == 5
    # The known URLs are recognised: the crawl fetches the new ones and nothing else.
    assert report["crawl"]["report"]["fetched"] == 5
    assert report["crawl"]["report"]["outcomes"] == {"new": 5}
    assert report["recheck"]["report"]["fetched"] == 5
    for phase in ("seed_crawl", "crawl", "recheck"):
        figures = report[phase]
        assert figures["peak_rss_mb"] > 0, phase
        assert figures["sum_of_peaks_mb"] >= figures["peak_rss_mb"], phase
        assert all(helper["peak_rss_mb"] >= 0 for helper in figures["helpers"]), phase
