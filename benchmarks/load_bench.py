"""Web pages and API under concurrent clients: per-route p50/p95/p99, throughput and
errors of `presswatch serve` on 127.0.0.1 (issue #27: 20 clients, 100,000 versions,
p95 < 100 ms, no error).

    python -m benchmarks load [--versions 100000] [--clients 20] [--seconds 30]
                              [--max-requests 100000] [--baseline-seconds 5]
                              [--copies 2] [--cache DIR]
                              [--workers 1] [--out DIR]

The archive is api_bench's: the shared fixture pages (English and Khmer) recorded
under `--copies` URLs each and edited once, through `archive.record_capture` and the
outbox indexer as a crawl would. The search index is then padded to `--versions`
documents with reordered copies of those versions (api_bench.add_extra_versions):
recording 100,000 versions one capture at a time takes far longer than a benchmark
should, so the article pages and `/api/changes` read the recorded archive
(~4 versions per fixture page) while the search page works on an index of the full
size. The built data dir is kept under `--cache` (one per versions/copies pair) and
reused by the next run.

Then `presswatch serve` starts in a subprocess on a free port of 127.0.0.1 and
`--clients` clients (one asyncio task and one connection each) send requests back to
back for `--seconds`, stopping early at `--max-requests` in all: bounded in time and
count. The client is api_bench's (our own: httpx is already a test dependency and one
asyncio task per client is all a closed-loop load of 20 needs; locust would add gevent
and its own process model for the same figure), with a mix of its own: an article page
of a random article (`/articles/{id}`), the search page (`/?q=...`) with a set of
queries, and `/api/changes` (plain, by kind, a bigger page). Before that, one client
alone for `--baseline-seconds` measures what each route costs without queueing
(`single_client` in the results). Writes
benchmarks/results/load-<UTC time>.json with the load average at start and end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text

from benchmarks.api_bench import (
    Request,
    add_extra_versions,
    build_archive,
    free_port,
    load,
    percentile,
    report_head,
    start_server,
)
from benchmarks.report import write_figures
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from search_api.factory import make_backend

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
ROUTES = ("article_page", "search_page", "api_changes")

SEARCH_QUERIES: list[dict[str, str]] = [
    {"q": "police"},
    {"q": "government"},
    {"q": '"human rights"'},
    {"q": "court OR judge"},
    {"q": "ភ្នំពេញ"},
    {"q": "រដ្ឋមន្ត្រី"},
    {"q": "election", "status": "edited"},
    {"q": "report", "lang": "en"},
    {"q": ""},
]
CHANGES_QUERIES: list[dict[str, str]] = [
    {},
    {"kind": "edited"},
    {"kind": "discovered", "limit": "100"},
]


def _say(message: str) -> None:
    print(f"[load {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def prepare(cache: Path, versions: int, copies: int) -> tuple[Path, dict[str, Any]]:
    """The data dir for (versions, copies): built once, then reused."""
    data_dir = cache / f"v{versions}-c{copies}"
    marker = data_dir / "load-bench.json"
    if marker.exists():
        built = json.loads(marker.read_text(encoding="utf-8"))
        return data_dir, {**built, "reused": True}
    shutil.rmtree(data_dir, ignore_errors=True)
    started = time.perf_counter()
    _say(f"building the archive in {data_dir} …")
    built = build_archive(data_dir, copies)
    backend = make_backend(Settings(data_dir=data_dir))
    indexed = backend.stats().documents
    backend.close()
    _say(f"padding the search index from {indexed} to {versions} documents …")
    built["extra_versions_indexed"] = add_extra_versions(data_dir, versions - indexed)
    built["build_seconds"] = round(time.perf_counter() - started, 1)
    marker.write_text(json.dumps(built) + "\n", encoding="utf-8")
    return data_dir, {**built, "reused": False}


def article_ids(data_dir: Path) -> list[int]:
    runtime = Runtime(Settings(data_dir=data_dir))
    with runtime.sessions.begin() as session:
        ids = [int(row[0]) for row in session.execute(text("SELECT id FROM articles"))]
    runtime.close()
    return ids


def archive_counts(data_dir: Path) -> dict[str, int]:
    runtime = Runtime(Settings(data_dir=data_dir))
    with runtime.sessions.begin() as session:
        counts = {
            table: int(session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in ("articles", "versions", "change_events")
        }
    runtime.close()
    return counts


def _requests(index: int, ids: list[int]) -> Callable[[int], Request]:
    """Client `index`'s requests: the routes in turn, a random article (its own seed)."""
    rng = random.Random(index)

    def request(i: int) -> Request:
        route = ROUTES[i % len(ROUTES)]
        if route == "article_page":
            return route, f"/articles/{rng.choice(ids)}", {}
        if route == "search_page":
            params = SEARCH_QUERIES[(i // len(ROUTES)) % len(SEARCH_QUERIES)]
            return route, "/", {k: v for k, v in params.items() if v}
        return route, "/api/changes", CHANGES_QUERIES[(i // len(ROUTES)) % len(CHANGES_QUERIES)]

    return request


async def run_load(
    base: str, ids: list[int], clients: int, seconds: float, max_requests: int
) -> dict[str, Any]:
    """api_bench's closed-loop clients on this mix, latencies (ms) and errors by route."""
    done = await load(
        base, clients, seconds, max_requests, requests_of=lambda index: _requests(index, ids)
    )
    latencies: dict[str, list[float]] = {r: [] for r in ROUTES}
    errors: dict[str, list[str]] = {r: [] for r in ROUTES}
    for route, elapsed in done["latencies"]:
        latencies[route].append(elapsed * 1000)
    for route, said in done["errors"]:
        errors[route].append(said)
    return {"latencies": latencies, "errors": errors, "wall_seconds": done["wall_seconds"]}


def _ms(values: list[float], q: float) -> float | None:
    return round(percentile(values, q), 2) if values else None


def summarize(result: dict[str, Any]) -> dict[str, Any]:
    wall = result["wall_seconds"]
    routes: dict[str, Any] = {}
    for route in ROUTES:
        ms = result["latencies"][route]
        errs = result["errors"][route]
        routes[route] = {
            "requests": len(ms) + len(errs),
            "errors": len(errs),
            "error_samples": errs[:5],
            "requests_per_second": round((len(ms) + len(errs)) / wall, 1),
            "p50_ms": _ms(ms, 50),
            "p95_ms": _ms(ms, 95),
            "p99_ms": _ms(ms, 99),
            "mean_ms": round(statistics.fmean(ms), 2) if ms else None,
            "max_ms": round(max(ms), 2) if ms else None,
        }
    total = sum(r["requests"] for r in routes.values())
    return {
        "wall_seconds": round(wall, 2),
        "requests": total,
        "errors": sum(r["errors"] for r in routes.values()),
        "requests_per_second": round(total / wall, 1),
        "routes": routes,
    }


def bench(args: argparse.Namespace) -> dict[str, Any]:
    report = report_head("load", "python -m benchmarks load " + " ".join(args.argv), args)
    data_dir, built = prepare(args.cache, args.versions, args.copies)
    report["archive"] = {**built, **archive_counts(data_dir)}
    backend = make_backend(Settings(data_dir=data_dir))
    report["index"] = {"backend": backend.stats().backend, "versions": backend.stats().documents}
    backend.close()
    ids = article_ids(data_dir)
    if not ids:
        raise SystemExit(f"{data_dir} holds no article: remove it and run again")
    port = free_port()
    log = args.cache / f"server-{port}.log"
    server = start_server(data_dir, port, log, args.workers)
    try:
        base = f"http://127.0.0.1:{port}"
        # A short warm-up fills the page cache and the server's connections.
        asyncio.run(run_load(base, ids, args.clients, min(2.0, args.seconds), 500))
        # One client alone: what a request costs without queueing behind the others.
        alone = asyncio.run(run_load(base, ids, 1, args.baseline_seconds, args.max_requests))
        _say(f"{args.clients} clients for {args.seconds:g} s on {base} …")
        result = asyncio.run(run_load(base, ids, args.clients, args.seconds, args.max_requests))
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.unlink(missing_ok=True)
    report["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report["single_client"] = summarize(alone)
    report.update(summarize(result))
    return report


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks load", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--versions", type=int, default=100_000, help="search index size")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--max-requests", type=int, default=100_000)
    parser.add_argument(
        "--baseline-seconds", type=float, default=5.0, help="one client alone first"
    )
    parser.add_argument("--copies", type=int, default=2, help="URLs per fixture page")
    parser.add_argument("--workers", type=int, default=1, help="presswatch serve --workers")
    parser.add_argument(
        "--cache", type=Path, default=REPO / "benchmarks" / "work" / "load", help="data dirs"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= 200 or not 0 < args.seconds <= 600:
        raise SystemExit("use 1-200 clients and 0-600 seconds")
    if not 0 < args.baseline_seconds <= 600:
        raise SystemExit("use 0-600 baseline seconds")
    if not 1 <= args.copies <= 50 or not 0 <= args.versions <= 1_000_000:
        raise SystemExit("use 1-50 copies and 0-1,000,000 versions")
    args.argv = argv
    args.cache.mkdir(parents=True, exist_ok=True)
    report = bench(args)
    out = write_figures(args.out, "load", report)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    _say(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
