"""`python -m benchmarks stories [--scales 1,5,20] [--versions 2000,5000,20000] [--out DIR]`:
how well story clustering finds the labelled stories, and what it costs (issue 25).

Quality: the labelled corpus of `benchmarks/story_corpus.py` (four outlets, English and
Khmer, wire stories under their own headlines and intros, raids of the outlets' own in
the same and other provinces) at each `--scales` multiple, each article's text (its
paragraphs, one a line, as extraction gives them) sketched with
`archive.stories.sketch_version` into a fresh SQLite archive in corpus order; scored on
article pairs (`pair_scores`): precision, recall, and every pair of different stories
joined. `tests/test_stories_e2e.py` checks the same at scale 1 through a real crawl.

Cost: the corpus generator at a large scale, its articles added one version at a time
into a fresh SQLite archive (a commit every 500, as the drain does), up to each size
of `--versions`; per version the time of the pure sketch (`sketch_text`) and of
lookup + indexing + joining (`sketch_version` minus the sketch), p50 and p95 (wall
clock), the mean CPU time of `sketch_version` (this process's, SQLite included), and the
bytes of the story tables and their indexes (SQLite's dbstat), per version. The
extrapolation to 1,000,000 versions is linear in bytes (one row per band and passage
per article, at most) and takes the lookup time of the largest size measured, since
each lookup is a B-tree probe (logarithmic): the growth between the sizes measured is
printed so a reader can judge it.

Writes `stories-<UTC time>.json` under DIR (default benchmarks/results) and prints
Markdown tables. Nothing here asserts a figure.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.report import write_figures
from benchmarks.story_corpus import CorpusArticle, pair_scores, story_corpus

RESULTS = Path(__file__).resolve().parent / "results"
NOW = datetime(2026, 12, 7, tzinfo=UTC)
STORY_TABLES = ("story_sketches", "story_bands", "story_passages", "stories", "story_members")
COMMIT_EVERY = 500


def _archive(path: Path) -> Any:
    from presswatch.runtime import Runtime
    from presswatch.settings import Settings

    runtime = Runtime(Settings(data_dir=path))
    runtime.init()
    return runtime


def bare_version(session: Any, source: str, url: str, text: str, *, tool: str) -> Any:
    """A version of a new article at `source` (made if missing) written as rows alone,
    without a capture: what sketching reads, at a cost that measures sketching only
    (tests/test_stories.py builds its cases the same way)."""
    from sqlalchemy import select

    from archive.store import Article, Source, Version

    src = session.scalar(select(Source).where(Source.name == source))
    if src is None:
        src = Source(name=source, base_url=f"http://{source}.test/", created_at=NOW)
        session.add(src)
        session.flush()
    article = Article(source_id=src.id, url=url, fetch_url=url, first_seen=NOW, last_checked=NOW)
    session.add(article)
    session.flush()
    version = Version(
        article_id=article.id,
        n=1,
        text_z=Version.compress(text),
        text_sha256="0" * 64,
        content_sha256="0" * 64,
        text_chars=len(text),
        text_words=len(text.split()),
        extractor=tool,
        normalizer=tool,
        first_capture_id=0,
        last_capture_id=0,
        first_seen=NOW,
        last_seen=NOW,
    )
    session.add(version)
    session.flush()
    article.current_version_id = version.id
    return version


def _add(session: Any, c: CorpusArticle, n: int) -> Any:
    url = f"http://{c.outlet}.test/{c.article.lang}/{n}/{c.article.slug}/"
    return bare_version(session, c.outlet, url, "\n".join(c.article.paragraphs), tool="bench")


def quality(scale: int) -> dict[str, Any]:
    from archive.stories import sketch_version, stories_of

    corpus = story_corpus(scale=scale)
    with tempfile.TemporaryDirectory() as tmp:
        runtime = _archive(Path(tmp) / "data")
        keys: dict[int, tuple[str, str]] = {}
        with runtime.sessions.begin() as session:
            for n, c in enumerate(corpus):
                version = _add(session, c, n)
                keys[version.article_id] = (f"{c.outlet}/{c.article.slug}/{n}", c.story)
                sketch_version(session, version, now=NOW)
            story = stories_of(session, list(keys))
        runtime.close()
    scores = pair_scores(
        {key: label for key, label in keys.values()},
        {key: story.get(aid) for aid, (key, _label) in keys.items()},
    )
    doc = scores.as_json()
    doc["missed"] = len(scores.missed)
    doc["wrong"] = [list(p) for p in scores.wrong]
    return {
        "scale": scale,
        "articles": len(corpus),
        "languages": sorted({c.article.lang for c in corpus}),
        **doc,
    }


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _table_bytes(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT s.name, m.tbl_name, SUM(s.pgsize) FROM dbstat s "
            "JOIN sqlite_master m ON m.name = s.name GROUP BY s.name"
        ).fetchall()
    out: dict[str, int] = {}
    for _name, table, size in rows:
        if table in STORY_TABLES:
            out[table] = out.get(table, 0) + int(size)
    return out


def cost(sizes: list[int]) -> dict[str, Any]:
    from archive.stories import sketch_text, sketch_version

    largest = max(sizes)
    corpus = story_corpus(scale=largest // 31 + 1)[:largest]
    points = []
    with tempfile.TemporaryDirectory() as tmp:
        runtime = _archive(Path(tmp) / "data")
        db = Path(runtime.settings.data_dir) / "presswatch.db"
        sketch_s: list[float] = []
        total_s: list[float] = []
        done = 0
        started = time.perf_counter()
        for size in sorted(sizes):
            window_sketch: list[float] = []
            window_total: list[float] = []
            window_cpu: list[float] = []
            while done < size:
                with runtime.sessions.begin() as session:
                    for n in range(done, min(size, done + COMMIT_EVERY)):
                        version = _add(session, corpus[n], n)
                        text = version.text
                        t0 = time.perf_counter()
                        sketch_text(text)
                        t1 = time.perf_counter()
                        c1 = time.process_time()
                        sketch_version(session, version, now=NOW)  # sketches again, then looks up
                        t2 = time.perf_counter()
                        window_cpu.append(time.process_time() - c1)
                        window_sketch.append(t1 - t0)
                        window_total.append(t2 - t1)
                        done += 1
            sketch_s += window_sketch
            total_s += window_total
            tables = _table_bytes(db)
            index_bytes = sum(tables.values())
            # The last window's figures: what one more version costs at this size.
            lookup = [t - s for t, s in zip(window_total, window_sketch, strict=True)]
            points.append(
                {
                    "versions": size,
                    "sketch_ms_p50": round(1000 * statistics.median(window_sketch), 3),
                    "sketch_ms_p95": round(1000 * _percentile(window_sketch, 0.95), 3),
                    "lookup_ms_p50": round(1000 * statistics.median(lookup), 3),
                    "lookup_ms_p95": round(1000 * _percentile(lookup, 0.95), 3),
                    "version_ms_p50": round(1000 * statistics.median(window_total), 3),
                    "version_ms_p95": round(1000 * _percentile(window_total, 0.95), 3),
                    # CPU time of this process (SQLite runs in it): less swayed by other
                    # work on the machine than the wall-clock figures above.
                    "version_cpu_ms_mean": round(1000 * statistics.fmean(window_cpu), 3),
                    "story_bytes": index_bytes,
                    "story_bytes_by_table": tables,
                    "bytes_per_version": round(index_bytes / size),
                }
            )
        elapsed = time.perf_counter() - started
        runtime.close()
    last = points[-1]
    return {
        "points": points,
        "elapsed_s": round(elapsed, 1),
        "load_average": os.getloadavg(),
        "at_1m": {
            "story_bytes": last["bytes_per_version"] * 1_000_000,
            "version_ms_p50": last["version_ms_p50"],
            "version_ms_p95": last["version_ms_p95"],
            "method": "bytes linear in versions; per-version time as at the largest size "
            "measured (B-tree probes grow with log n)",
        },
    }


def _markdown(figures: dict[str, Any]) -> str:
    lines = [
        "| scale | articles | story pairs | found | precision | recall "
        "| different stories joined |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for q in figures["quality"]:
        lines.append(
            f"| {q['scale']} | {q['articles']} | {q['true_pairs']} | {q['found_pairs']} | "
            f"{q['precision']:.3f} | {q['recall']:.3f} | {len(q['wrong'])} |"
        )
    if figures.get("cost"):
        lines += [
            "",
            "| versions | sketch p50 / p95 ms | lookup+index p50 / p95 ms | total p50 / p95 ms "
            "| CPU ms mean | story tables | bytes / version |",
            "|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for p in figures["cost"]["points"]:
            lines.append(
                f"| {p['versions']:,} | {p['sketch_ms_p50']} / {p['sketch_ms_p95']} | "
                f"{p['lookup_ms_p50']} / {p['lookup_ms_p95']} | "
                f"{p['version_ms_p50']} / {p['version_ms_p95']} | {p['version_cpu_ms_mean']} | "
                f"{p['story_bytes'] / 1e6:.1f} MB | {p['bytes_per_version']:,} |"
            )
        at = figures["cost"]["at_1m"]
        lines.append(
            f"\nAt 1,000,000 versions (extrapolated): story tables about "
            f"{at['story_bytes'] / 1e9:.2f} GB on disk; about {at['version_ms_p50']} ms "
            f"(p95 {at['version_ms_p95']} ms) per version."
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks stories", description=__doc__)
    parser.add_argument("--scales", default="1,5,20", help="corpus multiples to score")
    parser.add_argument(
        "--versions", default="2000,5000,20000", help="archive sizes to cost ('' to skip)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    scales = [int(s) for s in args.scales.split(",") if s]
    sizes = [int(s) for s in args.versions.split(",") if s]
    figures: dict[str, Any] = {
        "benchmark": "stories",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "quality": [quality(s) for s in scales],
        "cost": cost(sizes) if sizes else None,
    }
    path = write_figures(args.out, "stories", figures)
    print(_markdown(figures))
    print(f"\nwritten: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
