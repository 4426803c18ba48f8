"""`python -m benchmarks load` end to end at a tiny size: a real `presswatch serve` on
127.0.0.1, a few clients for two seconds, and every route answered without error."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.__main__ import main


def test_load_bench_reports_every_route_without_error(tmp_path: Path) -> None:
    out = tmp_path / "results"
    argv = [
        "load",
        "--versions",
        "300",
        "--copies",
        "1",
        "--clients",
        "4",
        "--seconds",
        "2",
        "--baseline-seconds",
        "1",
    ]
    argv += ["--cache", str(tmp_path / "cache"), "--out", str(out)]

    assert main(argv) == 0

    (result,) = out.glob("load-*.json")
    report = json.loads(result.read_text(encoding="utf-8"))
    assert report["index"]["versions"] == 300
    assert set(report["routes"]) == {"article_page", "search_page", "api_changes"}
    for route, figures in report["routes"].items():
        assert figures["requests"] > 0, route
        assert figures["errors"] == 0, (route, figures["error_samples"])
        assert figures["p50_ms"] <= figures["p95_ms"] <= figures["p99_ms"], route
    assert report["errors"] == 0
