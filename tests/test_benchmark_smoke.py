"""The benchmark command must keep working: `python -m benchmarks run --size 50` end to
end (site, extraction limit, the real crawler, detection scoring, search, report), plus
the pure parts of the scoring and of reading news-please's log.

It runs in a bare clone too: without ../shared/fixtures the site is made of our own
demo articles, and the results say so. Under CI (where ../shared is present) it must
use the real pages.

No figure is compared with a time or a rate here: the benchmark reports them, the
tests only check that it can. The crawl runs in a subprocess because Twisted's reactor
cannot be restarted in one test process. news-please is skipped (installing it needs
PyPI); its log reading is tested on a sample log instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.peer import _per_url, _scrapy_stats, describe_recheck
from benchmarks.quality import KINDS, Mutation, Seen, plan_mutations, score

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "fixtures"


@pytest.mark.slow
def test_benchmark_runs_at_size_50(tmp_path: Path) -> None:
    out = tmp_path / "results"
    done = subprocess.run(
        [
            sys.executable, "-m", "benchmarks", "run", "--size", "50", "--skip-peer",
            "--search-versions", "500", "--out", str(out), "--work", str(tmp_path / "work"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    results_files = sorted(out.glob("*-50.json"))
    assert len(results_files) == 1, list(out.iterdir())
    results = json.loads(results_files[0].read_text(encoding="utf-8"))
    table = results_files[0].with_suffix(".md").read_text(encoding="utf-8")

    assert results["size"] == 50
    # The real pages when they are there (and always under CI), else our own articles.
    fixtures = (FIXTURES / "pages.json").exists() or bool(os.environ.get("CI"))
    assert results["site"]["content"] == ("fixtures" if fixtures else "demo")
    assert results["site"]["content_note"] in done.stdout
    assert results["discovered"] == 50  # every article went through the real crawler
    for phase in ("first_crawl", "recheck_conditional", "recheck_full", "quality_1"):
        assert results["phases"][phase]["fetched"] >= 50, phase
    # The conditional recheck really was conditional, the full-fetch one really full.
    assert results["phases"]["recheck_conditional"]["articles"]["statuses"] == {"304": 50}
    assert results["phases"]["recheck_full"]["articles"]["statuses"] == {"200": 50}
    quality = results["quality"]
    assert quality["mutated"] == len(KINDS)
    assert quality["false_takedowns"] == []
    assert quality["false_edits"] == []
    assert results["search"]["at_n"]["versions"] >= 50
    assert results["search"]["synthetic"]["versions"] == 500
    for heading in ("First crawl", "Unchanged recheck", "Detection", "Search", "Storage"):
        assert heading in table
        assert heading in done.stdout


def _article(i: int) -> dict[str, object]:
    return {"index": i, "url": f"http://127.0.0.1:8000/news/2026/01/story-{i:05d}/"}


def test_plan_is_seeded_and_covers_every_kind() -> None:
    articles = [_article(i) for i in range(200)]
    plan = plan_mutations(articles, seed=7)
    assert plan == plan_mutations(articles, seed=7)
    assert len(plan) == 20
    assert {m.kind for m in plan} == set(KINDS)
    assert len({m.index for m in plan}) == len(plan)


def test_score_counts_false_takedowns_edits_and_premature_removals() -> None:
    urls = [f"https://s/a{i}/" for i in range(6)]
    plan = [
        Mutation(0, "edit_small", urls[0]),
        Mutation(1, "http_404", urls[1]),
        Mutation(2, "noise", urls[2]),
        Mutation(3, "503_burst", urls[3]),
    ]
    first = [
        Seen(urls[0], "edited", ("body",), 1),
        Seen(urls[2], "edited", ("body",), 2),  # noise read as an edit
        Seen(urls[3], "unreachable", (), 3),
        Seen(urls[4], "removed", ("http_404",), 4),  # an unchanged article taken down
    ]
    second = [Seen(urls[1], "removed", ("soft_404",), 5), Seen(urls[3], "reachable", (), 6)]
    result = score(plan, urls, first, second)
    assert [x["url"] for x in result["false_edits"]] == [urls[2]]
    assert [x["url"] for x in result["false_takedowns"]] == [urls[4]]
    assert result["removed_on_first_sighting"] == [urls[4]]
    assert result["per_event_kind"]["removed"]["precision"] == 0.5
    assert result["per_event_kind"]["edited"]["recall"] == 1.0
    assert result["wrong_how"] == [
        {"url": urls[1], "mutation": "http_404", "kind": "removed",
         "expected": "http_404", "reported": ["soft_404"]}
    ]  # fmt: skip


LOG = """\
[scrapy.core.engine:1|DEBUG] Crawled (200) <GET http://127.0.0.1:9/a/> (referer: None)
[scrapy.core.scraper:1|DEBUG] Scraped from <200 http://127.0.0.1:9/a/>
{'title': 'x'}
[scrapy.downloadermiddlewares.redirect:1|DEBUG] Redirecting (301) to <GET http://127.0.0.1:9/> from <GET http://127.0.0.1:9/b/>
[scrapy.core.engine:1|DEBUG] Crawled (200) <GET http://127.0.0.1:9/> (referer: None)
[scrapy.core.scraper:1|DEBUG] Scraped from <200 http://127.0.0.1:9/>
[scrapy.core.engine:1|DEBUG] Crawled (404) <GET http://127.0.0.1:9/c/> (referer: None)
[scrapy.statscollectors:1|INFO] Dumping Scrapy stats:
{'downloader/response_status_count/200': 2,
 'elapsed_time_seconds': 1.5,
 'item_scraped_count': 2,
 'start_time': datetime.datetime(2026, 1, 1, 0, 0)}
"""


def test_peer_log_reading() -> None:
    urls = [f"http://127.0.0.1:9/{x}/" for x in "abc"]
    per_url = _per_url(LOG, urls)
    assert per_url == {
        urls[0]: "stored a full copy",
        urls[1]: "redirected (301) to /: stored the target as this article",
        urls[2]: "HTTP 404: stored nothing",
    }
    stats = _scrapy_stats(LOG)
    assert stats["item_scraped_count"] == 2
    assert stats["elapsed_time_seconds"] == 1.5
    summary = describe_recheck(per_url, {urls[2]: "http_404"})
    assert summary == {
        "http_404": {"HTTP 404: stored nothing": 1},
        "unchanged": {"stored a full copy": 1,
                      "redirected (301) to /: stored the target as this article": 1},
    }  # fmt: skip


def test_extract_bench_runs(tmp_path: Path) -> None:
    # The command behind the extraction figures in docs/benchmarks.md, on the demo
    # articles; it must produce both contenders' figures and the same pages for both.
    from benchmarks.extract_bench import main

    assert main(["--size", "6", "--rounds", "1", "--content", "demo", "--out", str(tmp_path)]) == 0
    (written,) = tmp_path.glob("extract-*.json")
    result = json.loads(written.read_text(encoding="utf-8"))
    assert result["pages"] == 6 and result["content"] == "demo"
    assert set(result["cpu_ms_per_page"]) == {"trafilatura", "extract_page"}
    assert all(chars > 0 for chars in result["text_chars"].values())
    assert result["ratio"] > 0


def test_schedule_bench_runs_on_sqlite(tmp_path: Path) -> None:
    # The planner benchmark at a tiny size: every due article comes back, in both the
    # raw SQL and through due_articles, and each statement has its plan.
    from benchmarks.schedule_bench import main

    assert main(["--articles", "2000", "--due", "200", "--out", str(tmp_path)]) == 0
    (written,) = tmp_path.glob("schedule-*.json")
    (run,) = json.loads(written.read_text(encoding="utf-8"))["runs"]
    assert run["database"] == "sqlite"
    assert run["pass"]["sql"]["rows"] == run["pass"]["orm"]["rows"] == 200
    assert run["first_1000"]["orm"]["rows"] == 200
    assert all(statement["plan"] for statement in run["pass"]["statements"])
