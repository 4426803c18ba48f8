"""Search benchmark: index throughput and query latency on a synthetic archive.

    python -m benchmarks.search_bench --versions 100000
    MEILI_URL=http://127.0.0.1:7700 MEILI_MASTER_KEY=... python -m benchmarks.search_bench

By default both backends run on the same documents and queries, side by side: SQLite
FTS5 always, Meilisearch when MEILI_URL is set (otherwise one line says it was
skipped). `--backend sqlite|meilisearch` runs one.

Builds `--versions` search documents from the shared fixture pages (../shared/fixtures,
read in place: 31 pages in German, English, Spanish and French, and 20 Khmer news
articles; in a bare clone, the demo's own articles), indexes them in batches the size
the indexer uses, then runs a fixed set of queries (words common and rare, phrases,
OR, exclusions, Khmer, filters, sort by date, deep pages, every version) several times
each and reports p50/p95/p99 latency.
Results are printed and written as JSON to benchmarks/results/.

Synthetic, so read the figures with that in mind: every fixture text is reused about
versions/51 times (each varied by dropping a paragraph per version and adding a
paragraph of words drawn from the corpus), so every word of a fixture matches at
least ~2 % of the documents -- a heavier load per term than a real archive, whose
vocabulary is far larger. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from archive.content import extract_page, normalize_text
from benchmarks.report import write_figures
from search_api.backends.base import SearchBackend, SearchDocument, SearchQuery, SortOrder
from search_api.documents import parse_published

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "fixtures"
RESULTS = Path(__file__).resolve().parent / "results"
SOURCES = ("vod", "cambodianess", "kiripost", "rfa-km", "khmertimes", "camboja", "voa-km", "cnc")
BATCH = 400  # documents per upsert: about what one indexer batch of 200 articles yields
T_START = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class BaseText:
    title: str
    text: str
    lang: str | None


def load_fixtures(content: str = "auto") -> list[BaseText]:
    """The texts the synthetic archive varies: the fixture pages, or in a bare clone
    (or with `content="demo"`) the demo's own articles."""
    from benchmarks.site import choose_content

    if choose_content(content, FIXTURES) == "demo":
        from presswatch.demo.content import DEMO_ARTICLES

        return [BaseText(a.title, "\n".join(a.paragraphs), a.lang) for a in DEMO_ARTICLES]
    manifest = FIXTURES / "pages.json"
    out = []
    for entry in json.loads(manifest.read_text(encoding="utf-8"))["pages"]:
        body = (FIXTURES / entry["file"]).read_bytes()
        page = extract_page(body, url=entry["url"], content_type="text/html; charset=utf-8")
        if page.text:
            out.append(BaseText(page.title or "", page.text, page.lang))
    return out


def synthetic_documents(
    bases: list[BaseText], versions: int, seed: int
) -> Iterator[SearchDocument]:
    """`versions` documents: articles of 1 to 3 versions, each version a fixture text
    with one paragraph dropped and one paragraph of corpus words added."""
    rng = random.Random(seed)
    vocabulary = sorted(
        {w for b in bases for w in re.findall(r"[^\W\d_]{4,}", b.text) if len(w) < 20}
    )
    made = 0
    article = 0
    # Spread the articles over two years whatever their number (2 versions on average).
    step = timedelta(days=730) / max(1, versions // 2)
    while made < versions:
        article += 1
        base = bases[article % len(bases)]
        count = min(1 + article % 3, versions - made)
        first_seen = T_START + step * article
        status = "edited" if count > 1 else "live"
        roll = rng.random()
        if roll < 0.05:
            status = "removed"
        elif roll < 0.08:
            status = "unreachable"
        paragraphs = base.text.split("\n")
        date_ts = int(first_seen.timestamp())
        for n in range(1, count + 1):
            kept = list(paragraphs)
            if len(kept) > 2 and n > 1:
                kept.pop(rng.randrange(len(kept)))
            kept.append(" ".join(rng.choices(vocabulary, k=25)))
            seen = first_seen + timedelta(days=n - 1)
            published = (first_seen - timedelta(hours=3)).isoformat()
            yield SearchDocument(
                id=f"{article}-{n}",
                article_id=article,
                version=n,
                url=f"https://news{article % len(SOURCES)}.example/a/{article}/",
                source=SOURCES[article % len(SOURCES)],
                title=f"{base.title} {article}",
                byline=rng.choice(("Sok Chea", "Mao Sreyneang", "Staff", "")),
                text=normalize_text("\n".join(kept)),
                lang=base.lang,
                published=published,
                published_ts=parse_published(published),
                first_seen=seen,
                last_seen=seen + timedelta(hours=20),
                status=status,
                removed_at=seen + timedelta(days=1) if status == "removed" else None,
                topic="trafficking" if article % 5 == 0 else None,
                is_current=n == count,
                date_ts=date_ts,
            )
            made += 1


def queries() -> list[tuple[str, SearchQuery]]:
    two_months = (T_START + timedelta(days=60), T_START + timedelta(days=120))
    q = SearchQuery
    return [
        ("common word", q(text="parliament")),
        ("two common words", q(text="parliament MP")),
        ("very common word", q(text="the")),
        ("phrase", q(text='"Alaska Airlines"')),
        ("OR", q(text="Oneworld OR Cirium")),
        ("exclusion", q(text="lemon tree -seed")),
        ("German word", q(text="Ladensterben")),
        ("diacritics folded", q(text="Prasident")),
        ("Spanish phrase", q(text='"crimen organizado"')),
        ("no match", q(text="zzyzx quuxly")),
        ("Khmer: Phnom Penh", q(text="ភ្នំពេញ")),
        ("Khmer: traffic", q(text="ចរាចរណ៍")),
        ("Khmer: democracy", q(text="ប្រជាធិបតេយ្យ")),
        ("Khmer partial word", q(text="បាតុ")),
        ("Khmer two words", q(text="ម៉ូតូ ឆ្នាំ")),
        ("filter source", q(text="parliament", sources=("vod",))),
        ("filter status removed", q(text="trailer", statuses=("removed",))),
        (
            "filter lang + published range",
            q(
                text="trailer",
                langs=("en",),
                published_from=two_months[0],
                published_to=two_months[1],
            ),
        ),
        ("filter topic", q(text="Spell", topics=("trafficking",))),
        ("sort by date", q(text="parliament", sort=SortOrder.DATE)),
        ("deep page", q(text="parliament", page=20, per_page=20)),
        ("every version", q(text="Oneworld", versions="all")),
        ("browse newest", q()),
        ("browse one source", q(sources=("kiripost",))),
        ("captured range", q(text="Penny", captured_from=two_months[0], captured_to=two_months[1])),
    ]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def index_breakdown(path: Path) -> dict[str, int]:
    """Bytes of each table and index of an SQLite index file (its pages, `dbstat`), and
    `free` for the pages no table uses."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        out = {
            str(name): int(size)
            for name, size in conn.execute(
                "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC"
            )
        }
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        out["free"] = int(conn.execute("PRAGMA freelist_count").fetchone()[0]) * page_size
    finally:
        conn.close()
    return out


def text_bytes(document: SearchDocument) -> int:
    """The extracted text a document indexes, as UTF-8 bytes: title, byline and body."""
    return (
        len(document.title.encode()) + len(document.byline.encode()) + len(document.text.encode())
    )


def make(kind: str, workdir: Path) -> SearchBackend:
    if kind == "sqlite":
        from search_api.backends.sqlite_fts import SqliteFtsBackend

        return SqliteFtsBackend(workdir / "search.sqlite")
    import os

    from search_api.backends.meili import MeilisearchBackend

    url = os.environ.get("MEILI_URL")
    if not url:
        sys.exit("--backend meilisearch needs MEILI_URL (and MEILI_MASTER_KEY)")
    # A long client timeout: the benchmark measures slow queries rather than failing on
    # them (the API keeps the default, 10 s).
    return MeilisearchBackend(url, os.environ.get("MEILI_MASTER_KEY"), "pw_bench", timeout_s=300)


def run(args: argparse.Namespace) -> dict[str, Any]:
    bases = load_fixtures(getattr(args, "content", "auto"))
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="pw-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    backend = make(args.backend, workdir)
    backend.configure()
    backend.clear()

    upsert_s = 0.0
    started = time.perf_counter()
    batch: list[SearchDocument] = []
    indexed = 0
    chars = 0
    utf8_bytes = 0
    for document in synthetic_documents(bases, args.versions, args.seed):
        batch.append(document)
        chars += len(document.text)
        utf8_bytes += text_bytes(document)
        if len(batch) == BATCH:
            t = time.perf_counter()
            backend.upsert(batch)
            upsert_s += time.perf_counter() - t
            indexed += len(batch)
            batch = []
            if args.progress and indexed % 10_000 == 0:
                print(f"  {indexed} versions indexed", file=sys.stderr)
    if batch:
        t = time.perf_counter()
        backend.upsert(batch)
        upsert_s += time.perf_counter() - t
        indexed += len(batch)
    t = time.perf_counter()
    backend.optimize()
    optimize_s = time.perf_counter() - t
    wall_s = time.perf_counter() - started
    stats = backend.stats()

    per_query: list[dict[str, Any]] = []
    timings: list[float] = []
    for name, query in queries():
        result = backend.search(query)  # warm-up, and the totals we report
        runs = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            backend.search(query)
            runs.append((time.perf_counter() - t) * 1000)
        timings.extend(runs)
        per_query.append(
            {
                "name": name,
                "query": {k: str(v) for k, v in asdict(query).items() if v not in ("", (), None)},
                "total": result.total,
                "median_ms": round(statistics.median(runs), 2),
                "max_ms": round(max(runs), 2),
            }
        )
    backend.close()
    index_bytes = stats.detail.get("bytes", 0)
    breakdown = None
    if args.backend == "sqlite":
        # Measured after close: the last connection's close checkpoints the WAL.
        index_bytes = (workdir / "search.sqlite").stat().st_size
        breakdown = index_breakdown(workdir / "search.sqlite")
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)

    return {
        "benchmark": "search",
        "command": " ".join(["python -m benchmarks.search_bench", *sys.argv[1:]]),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "backend": args.backend,
        "versions": indexed,
        "articles": stats.articles,
        "text_mb": round(chars / 1e6, 1),
        "index_bytes": index_bytes,
        # What the index costs against the text it indexes (the figure of issue #27).
        "text_bytes": utf8_bytes,
        "index_bytes_per_version": round(index_bytes / max(1, indexed)),
        "text_bytes_per_version": round(utf8_bytes / max(1, indexed)),
        "index_breakdown_bytes": breakdown,
        "index": {
            "upsert_seconds": round(upsert_s, 2),
            "optimize_seconds": round(optimize_s, 2),
            "wall_seconds_incl_generation": round(wall_s, 2),
            "versions_per_second": round(indexed / upsert_s, 1),
            "versions_per_second_incl_optimize": round(indexed / (upsert_s + optimize_s), 1),
        },
        "latency_ms": {
            "queries": len(per_query),
            "runs_per_query": args.repeat,
            "p50": round(percentile(timings, 50), 2),
            "p95": round(percentile(timings, 95), 2),
            "p99": round(percentile(timings, 99), 2),
            "mean": round(statistics.fmean(timings), 2),
            "max": round(max(timings), 2),
        },
        "per_query": per_query,
        "machine": {
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
        },
        "workdir": str(workdir) if args.workdir else None,
    }


def _print_report(report: dict[str, Any], out: Path) -> None:
    index, latency = report["index"], report["latency_ms"]
    print(
        f"{report['backend']}: {report['versions']} versions ({report['articles']} articles, "
        f"{report['text_mb']} MB of text) indexed at {index['versions_per_second']} versions/s "
        f"({index['upsert_seconds']} s, + {index['optimize_seconds']} s optimize)"
    )
    print(
        f"search latency over {latency['queries']} queries x {latency['runs_per_query']}: "
        f"p50 {latency['p50']} ms, p95 {latency['p95']} ms, p99 {latency['p99']} ms, "
        f"max {latency['max']} ms"
    )
    for row in report["per_query"]:
        print(f"  {row['median_ms']:>8.2f} ms  {row['total']:>7}  {row['name']}")
    if report.get("index_breakdown_bytes"):
        versions = max(1, report["versions"])
        print(
            f"index {report['index_bytes_per_version']} B per version against "
            f"{report['text_bytes_per_version']} B of text; by table (B per version):"
        )
        for name, size in report["index_breakdown_bytes"].items():
            print(f"  {size / versions:>10.1f}  {name}")
    print(f"written to {out.relative_to(REPO)}")


def _print_side_by_side(reports: list[dict[str, Any]]) -> None:
    names = [r["backend"] for r in reports]
    print("\nside by side (median ms, total):")
    print("  " + "".join(f"{n:>24}" for n in names) + "  query")
    for rows in zip(*(r["per_query"] for r in reports), strict=True):
        cells = "".join(f"{row['median_ms']:>14.2f} {row['total']:>9}" for row in rows)
        print(f"  {cells}  {rows[0]['name']}")
    for key in ("p50", "p95", "p99"):
        print("  " + "".join(f"{r['latency_ms'][key]:>24}" for r in reports) + f"  {key}")
    print(
        "  "
        + "".join(f"{r['index']['versions_per_second']:>24}" for r in reports)
        + "  versions/s indexed"
    )


def main() -> None:
    import os

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", type=int, default=100_000)
    parser.add_argument(
        "--backend",
        choices=("both", "sqlite", "meilisearch"),
        default="both",
        help="both (default): SQLite FTS5, and Meilisearch when MEILI_URL is set",
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per query")
    parser.add_argument("--seed", type=int, default=20260301)
    parser.add_argument(
        "--workdir", help="build and keep the index here (default: a temp dir, removed)"
    )
    parser.add_argument("--progress", action="store_true", help="report indexing progress")
    args = parser.parse_args()
    kinds = [args.backend] if args.backend != "both" else ["sqlite"]
    if args.backend == "both":
        if os.environ.get("MEILI_URL"):
            kinds.append("meilisearch")
        else:
            print("meilisearch: skipped (MEILI_URL is not set)")
    reports = []
    for kind in kinds:
        report = run(argparse.Namespace(**{**vars(args), "backend": kind}))
        out = write_figures(RESULTS, f"search_{kind}_{report['versions']}", report)
        _print_report(report, out)
        reports.append(report)
    if len(reports) > 1:
        _print_side_by_side(reports)


if __name__ == "__main__":
    main()
