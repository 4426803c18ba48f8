"""API latency under a bounded local load: p50/p95 of `GET /api/search` as served by
`presswatch serve` (uvicorn) on 127.0.0.1.

    python -m benchmarks.api_bench [--clients 20] [--seconds 20] [--max-requests 200000]
                                   [--copies 2] [--extra-versions 20000] [--data-dir DIR]
                                   [--baseline-seconds 5] [--workers 1]

Builds an archive in a temporary data dir from the shared fixture pages
(../shared/fixtures: English and Khmer), each page recorded under `--copies` URLs and
then edited once, through `archive.record_capture` and the outbox indexer, as a crawl
would. `--extra-versions` more search documents, made from those versions with their
paragraphs reordered and new ids, are added to the index so the engine works on a
realistic size (they exist only in the index; /api/search never reads the archive).
`--data-dir` benchmarks an existing archive instead and builds nothing.

Then `presswatch serve` starts in a subprocess on a free port, and `--clients`
concurrent clients (one asyncio task each, one connection each) send searches back
to back for `--seconds`, stopping early at `--max-requests` in all: bounded in time
and count. Each client cycles through a fixed mix of queries (English words and
phrases, Khmer words from the fixtures, filters and facets, date sort, page 2, the
empty query). Before that, one client alone for `--baseline-seconds` measures what a
request costs without queueing behind the others. Only 127.0.0.1 is contacted.
Reports p50/p95/p99/max latency, requests/s and errors, and writes JSON to
benchmarks/results/api-<UTC time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from archive.capture import Exchange, record_capture
from benchmarks.report import write_figures
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from search_api.backends.base import SearchDocument
from search_api.documents import iter_documents
from search_api.factory import make_backend
from search_api.indexer import drain_outbox

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
RESULTS = Path(__file__).resolve().parent / "results"
T0 = datetime(2026, 1, 1, tzinfo=UTC)

QUERIES: list[dict[str, Any]] = [
    {"q": "police"},
    {"q": "government"},
    {"q": '"human rights"'},
    {"q": "court OR judge"},
    {"q": "minister -football"},
    {"q": "the"},
    {"q": "ភ្នំពេញ"},
    {"q": "ប្រជាធិបតេយ្យ"},
    {"q": "រដ្ឋមន្ត្រី"},
    {"q": "election", "status": "edited"},
    {"q": "report", "lang": "en", "sort": "date"},
    {"q": "police", "page": 2},
    {"q": "company", "versions": "all"},
    {"q": ""},
    {"q": "", "status": "removed"},
]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _edit(body: bytes) -> bytes:
    """Change the first paragraph a little, as an outlet's correction would."""
    return body.replace(b"</p>", b" (Updated with a correction.)</p>", 1)


def build_archive(data_dir: Path, copies: int) -> dict[str, Any]:
    manifest = json.loads((FIXTURES / "pages.json").read_text(encoding="utf-8"))
    pages = [(FIXTURES / p["file"]).read_bytes() for p in manifest["pages"]]
    runtime = Runtime(Settings(data_dir=data_dir))
    runtime.init()
    options = runtime.record_options()
    started = time.perf_counter()
    recorded = 0
    for round_no, edit in ((0, False), (1, True)):
        for i, body in enumerate(pages):
            for copy in range(copies):
                url = f"https://bench{copy}.example/news/{i}/"
                at = T0 + timedelta(hours=round_no, seconds=i * 10 + copy)
                exchange = Exchange(
                    requested_url=url,
                    final_url=url,
                    fetched_at=at,
                    status=200,
                    headers=(("Content-Type", "text/html; charset=utf-8"),),
                    body=_edit(body) if edit else body,
                )
                with runtime.sessions.begin() as session:
                    record_capture(session, exchange, warc=runtime.warc, options=options)
                recorded += 1
    record_s = time.perf_counter() - started
    backend = make_backend(runtime.settings)
    backend.configure()
    drained = drain_outbox(runtime.sessions, backend)
    out = {"captures_recorded": recorded, "record_seconds": round(record_s, 1)}
    out["outbox_rows_indexed"] = drained
    backend.close()
    runtime.close()
    return out


def _reordered(doc: SearchDocument, n: int, article_id: int) -> SearchDocument:
    paragraphs = doc.text.split("\n")
    shift = n % max(len(paragraphs), 1)
    text = "\n".join(paragraphs[shift:] + paragraphs[:shift])
    return replace(
        doc,
        id=f"{article_id}-{doc.version}",
        article_id=article_id,
        url=f"https://synthetic{n}.example/{doc.article_id}/",
        text=text,
    )


def add_extra_versions(data_dir: Path, wanted: int) -> int:
    """Index `wanted` more documents made from the archive's own versions."""
    if wanted <= 0:
        return 0
    runtime = Runtime(Settings(data_dir=data_dir))
    backend = make_backend(runtime.settings)
    originals = [doc for batch in iter_documents(runtime.sessions) for doc in batch]
    next_article = 10_000_000  # far above the archive's own ids
    added = 0
    n = 0
    batch: list[SearchDocument] = []
    while added < wanted:
        n += 1
        by_article: dict[int, int] = {}
        for doc in originals:
            if added >= wanted:
                break
            if doc.article_id not in by_article:
                by_article[doc.article_id] = next_article
                next_article += 1
            batch.append(_reordered(doc, n, by_article[doc.article_id]))
            added += 1
            if len(batch) >= 500:
                backend.upsert(batch)
                batch = []
    if batch:
        backend.upsert(batch)
    backend.optimize()
    backend.close()
    runtime.close()
    return added


def start_server(data_dir: Path, port: int, log: Path, workers: int) -> subprocess.Popen[bytes]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PRESSWATCH_", "MEILI_")) and k != "DATABASE_URL"
    }
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "presswatch.cli",
                "--data-dir",
                str(data_dir),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit("presswatch serve did not become ready:\n" + log.read_text())


# One request of a client: what it is counted under, the path, the query parameters.
Request = tuple[Any, str, dict[str, Any]]
# For client number `index`, its requests: the `i`-th request it sends (benchmarks.load
# uses it too, with its own mix of routes).
RequestsOf = Callable[[int], Callable[[int], Request]]


def search_requests(index: int) -> Callable[[int], Request]:
    """`/api/search` with the queries in turn (each client starts at its own)."""

    def request(i: int) -> Request:
        which = i % len(QUERIES)
        return which, "/api/search", {k: v for k, v in QUERIES[which].items() if v != ""}

    return request


async def client(
    base: str,
    index: int,
    requests: Callable[[int], Request],
    stop_at: float,
    budget: list[int],
    latencies: list[tuple[Any, float]],
    errors: list[tuple[Any, str]],
) -> None:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http:
        i = index  # clients start at different requests
        while time.monotonic() < stop_at and budget[0] > 0:
            budget[0] -= 1
            key, path, params = requests(i)
            i += 1
            started = time.perf_counter()
            try:
                response = await http.get(path, params=params)
                elapsed = time.perf_counter() - started
                if response.status_code != 200:
                    errors.append((key, f"{response.status_code} {path} {params}"))
                else:
                    latencies.append((key, elapsed))
            except httpx.HTTPError as exc:
                errors.append((key, f"{exc.__class__.__name__} {path} {params}"))


async def load(
    base: str,
    clients: int,
    seconds: float,
    max_requests: int,
    requests_of: RequestsOf = search_requests,
) -> dict[str, Any]:
    """`clients` closed-loop clients for `seconds`, at most `max_requests` in all:
    latencies (seconds) and errors, each with what the request is counted under."""
    latencies: list[tuple[Any, float]] = []
    errors: list[tuple[Any, str]] = []
    budget = [max_requests]
    started = time.monotonic()
    stop_at = started + seconds
    await asyncio.gather(
        *(
            client(base, i, requests_of(i), stop_at, budget, latencies, errors)
            for i in range(clients)
        )
    )
    wall = time.monotonic() - started
    return {"latencies": latencies, "errors": errors, "wall_seconds": wall}


def report_head(benchmark: str, command: str, args: argparse.Namespace) -> dict[str, Any]:
    """What a load report starts with: the run, the machine and the load's bounds
    (`args.clients`, `seconds`, `max_requests`, `workers`)."""
    return {
        "benchmark": benchmark,
        "command": command,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            # Other work on the machine skews every figure; say how busy it was.
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "clients": args.clients,
        "seconds": args.seconds,
        "max_requests": args.max_requests,
        "server_workers": args.workers,
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--copies", type=int, default=2, help="URLs per fixture page")
    parser.add_argument("--extra-versions", type=int, default=20_000)
    parser.add_argument("--data-dir", type=Path, default=None, help="bench this archive")
    parser.add_argument("--workers", type=int, default=1, help="presswatch serve --workers")
    parser.add_argument(
        "--baseline-seconds", type=float, default=5.0, help="one client alone first"
    )
    args = parser.parse_args()
    if not 1 <= args.clients <= 200 or not 0 < args.seconds <= 600:
        raise SystemExit("use 1-200 clients and 0-600 seconds")

    work = Path(tempfile.mkdtemp(prefix="pw-api-bench-"))
    report = report_head("api", "python -m benchmarks.api_bench " + " ".join(sys.argv[1:]), args)
    try:
        if args.data_dir is None:
            data_dir = work / "data"
            print(f"building the archive in {data_dir} …", file=sys.stderr)
            report["archive"] = build_archive(data_dir, args.copies)
            report["archive"]["extra_versions_indexed"] = add_extra_versions(
                data_dir, args.extra_versions
            )
        else:
            data_dir = args.data_dir
        backend = make_backend(Settings(data_dir=data_dir))
        stats = backend.stats()
        backend.close()
        report["index"] = {
            "backend": stats.backend,
            "versions": stats.documents,
            "articles": stats.articles,
        }
        port = free_port()
        server = start_server(data_dir, port, work / "server.log", args.workers)
        try:
            base = f"http://127.0.0.1:{port}"
            # A short warm-up fills the page cache and the server's connections.
            asyncio.run(load(base, args.clients, min(2.0, args.seconds), 2_000))
            # One client alone: the time a request costs, without waiting for others.
            alone = asyncio.run(load(base, 1, args.baseline_seconds, args.max_requests))
            print(
                f"load: {args.clients} clients for {args.seconds:g} s on {base} …",
                file=sys.stderr,
            )
            result = asyncio.run(load(base, args.clients, args.seconds, args.max_requests))
        finally:
            server.terminate()
            server.wait(timeout=20)
        alone_ms = [v * 1000 for _q, v in alone["latencies"]]
        report["single_client"] = {
            "seconds": args.baseline_seconds,
            "requests": len(alone_ms),
            "p50_ms": round(percentile(alone_ms, 50), 2),
            "p95_ms": round(percentile(alone_ms, 95), 2),
            "median_ms_per_query": [
                {
                    "query": QUERIES[q],
                    "ms": round(
                        percentile([v * 1000 for w, v in alone["latencies"] if w == q], 50), 2
                    ),
                }
                for q in range(len(QUERIES))
            ],
        }
        lat_ms = [v * 1000 for _q, v in result["latencies"]]
        report["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        report["requests"] = len(lat_ms) + len(result["errors"])
        report["errors"] = len(result["errors"])
        report["error_samples"] = [text for _key, text in result["errors"][:10]]
        report["requests_per_second"] = round(report["requests"] / result["wall_seconds"], 1)
        report["latency_ms"] = {
            "p50": round(percentile(lat_ms, 50), 2),
            "p95": round(percentile(lat_ms, 95), 2),
            "p99": round(percentile(lat_ms, 99), 2),
            "mean": round(statistics.fmean(lat_ms), 2) if lat_ms else None,
            "max": round(max(lat_ms), 2) if lat_ms else None,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out = write_figures(RESULTS, "api", report)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
