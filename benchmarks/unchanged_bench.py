"""Bytes stored per unchanged capture (a 304), database and WARC apart (issue #14).

    python -m benchmarks.unchanged_bench [--size 200] [--rounds 3] [--content auto]
                                         [--database-url postgresql+psycopg://...]

Starts the benchmark site (benchmarks/site.py) with `--size` articles, crawls it once
with the real crawler (`presswatch.crawling.runner.run_phases`, what `presswatch crawl` runs),
then rechecks every article `--rounds` times with conditional requests: the site
answers each recheck with a 304. After each phase the SQLite WAL is folded into the
database file; the growth of the database (file + WAL) and of the WARC directory over
the rechecks, divided by the number of 304 captures they recorded, is the figure. The
database's growth is also split by table and index (SQLite's `dbstat`), and the mean
bytes of the stored log leaf of a 304 is reported next to its canonical size. With
`--database-url` (an empty PostgreSQL database) the database figure is the growth of
`pg_total_relation_size` of its tables (indexes and TOAST included) after a VACUUM.
Writes benchmarks/results/unchanged-<database>-<stamp>.json.

The recheck phases are the only writers during the measured span, and each of them
records only 304s (the site's articles do not change), so every byte the database and
the WARC directory grew by belongs to a 304 capture.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.report import write_figures
from benchmarks.run import (
    BENCH_SCRAPY,
    RESULTS,
    SOURCE,
    _code_version,
    storage_of,
    write_sources,
)

NOT_MODIFIED = "not_modified"


def _say(message: str) -> None:
    print(f"[unchanged {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def sqlite_objects(db: Path) -> dict[str, int]:
    """Bytes of pages each table and index of the SQLite file takes (dbstat)."""
    connection = sqlite3.connect(db)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        rows = connection.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")
        return {name: int(size) for name, size in rows}
    finally:
        connection.close()


def postgres_objects(runtime: Any) -> dict[str, int]:
    """Bytes each table of the archive's schema takes on PostgreSQL (heap, indexes,
    TOAST), after a VACUUM so that the dead row versions the 304s leave on `articles`
    count as the free space they become, not as growth."""
    from sqlalchemy import text

    with runtime.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        connection.execute(text("VACUUM"))
        rows = connection.execute(
            text(
                "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
            )
        )
        return {name: int(size) for name, size in rows}


def capture_counts(runtime: Any) -> dict[str, int]:
    from sqlalchemy import func, select

    from archive.store import Capture

    with runtime.sessions() as session:
        rows = session.execute(select(Capture.outcome, func.count()).group_by(Capture.outcome))
        return {outcome: int(n) for outcome, n in rows}


def leaf_sizes(runtime: Any) -> dict[str, float]:
    """Mean bytes of a 304's leaf: as stored, and canonical (what the log hashes)."""
    from sqlalchemy import select

    from archive.log import read_leaf
    from archive.store import Capture, CaptureLeaf

    stored = canonical = n = 0
    with runtime.sessions() as session:
        rows = session.execute(
            select(Capture.id, CaptureLeaf.leaf_z)
            .join(CaptureLeaf, CaptureLeaf.capture_id == Capture.id)
            .where(Capture.outcome == NOT_MODIFIED)
        )
        for capture_id, blob in rows.all():
            stored += len(blob)
            canonical += len(read_leaf(session, capture_id))
            n += 1
    return {
        "stored": round(stored / n, 1) if n else 0.0,
        "canonical": round(canonical / n, 1) if n else 0.0,
    }


def _growth(before: dict[str, int], after: dict[str, int], per: int) -> dict[str, float]:
    out = {
        name: round((after.get(name, 0) - before.get(name, 0)) / per, 1)
        for name in sorted(set(before) | set(after))
    }
    return {k: v for k, v in sorted(out.items(), key=lambda kv: -kv[1]) if v}


def measure(
    size: int, rounds: int, content: str, database_url: str | None, work: Path
) -> dict[str, Any]:
    from benchmarks.site import BenchSite
    from presswatch.crawling.context import start_crawl
    from presswatch.crawling.local import local_archive
    from presswatch.crawling.runner import CrawlJob, Phase, run_phases
    from presswatch.runtime import Runtime
    from presswatch.settings import Settings
    from presswatch.sources import load_sources

    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    sources_path = work / "sources.toml"
    marks: dict[str, dict[str, Any]] = {}
    failures: list[Exception] = []
    with BenchSite(size, content=content) as site:
        write_sources(sources_path, site.base_url)
        if database_url is None:
            runtime = local_archive(work, sources_path)
        else:
            runtime = Runtime(
                Settings(
                    data_dir=work / "data",
                    sources=sources_path,
                    database_url=database_url,
                    meili_url=None,
                    redis_url=None,
                    scrapy_settings={},
                    allow_networks=["127.0.0.1/32"],
                )
            )
            runtime.init()
        if capture_counts(runtime):
            raise RuntimeError(
                f"{database_url}: the database already holds captures; give an empty one"
            )
        db = Path(runtime.settings.data_dir) / "presswatch.db"

        def mark(name: str) -> None:
            try:
                measure_at(name)
            except Exception as exc:
                # run_phases logs a failed hook and stops; keep it to raise afterwards.
                failures.append(exc)
                raise

        def measure_at(name: str) -> None:
            sizes = storage_of(runtime.settings)
            objects = postgres_objects(runtime) if database_url else sqlite_objects(db)
            if database_url:
                sizes["db"] = sum(objects.values())
                sizes["total"] = sizes["db"] + sizes["warc"] + sizes["index"]
            marks[name] = {
                "storage": sizes,
                "objects": objects,
                "outcomes": capture_counts(runtime),
            }
            _say(f"{name}: {sizes['db']:,} B database, {sizes['warc']:,} B WARC")

        context = start_crawl(runtime, load_sources(sources_path))
        recheck = [CrawlJob("recheck", (SOURCE,), None, True)]
        phases = [Phase([CrawlJob("sitemap", (SOURCE,)), CrawlJob("feed", (SOURCE,))])]
        phases += [
            Phase(recheck, before=lambda n=n: mark(f"before_round{n}"))
            for n in range(1, rounds + 1)
        ]
        phases.append(Phase([], before=lambda: mark("end")))
        report = run_phases(runtime, context, phases, overrides={**BENCH_SCRAPY}, use_jobdir=False)
        if failures:
            raise RuntimeError("measuring between phases failed") from failures[0]
        if report.interrupted:
            raise RuntimeError("the crawl was interrupted; no figures written")
        leaves = leaf_sizes(runtime)
        runtime.close()

    first, last = marks["before_round1"], marks["end"]
    added = {
        k: last["outcomes"].get(k, 0) - first["outcomes"].get(k, 0)
        for k in set(first["outcomes"]) | set(last["outcomes"])
    }
    added = {k: v for k, v in added.items() if v}
    not_modified = added.get(NOT_MODIFIED, 0)
    if not not_modified or set(added) != {NOT_MODIFIED}:
        raise RuntimeError(f"the rechecks recorded {added}, not only 304s: no figure")
    db_b = (last["storage"]["db"] - first["storage"]["db"]) / not_modified
    warc_b = (last["storage"]["warc"] - first["storage"]["warc"]) / not_modified
    return {
        "articles": size,
        "rounds": rounds,
        "database": "postgresql" if database_url else "sqlite",
        "captures_304": not_modified,
        "bytes_per_304": {
            "db": round(db_b, 1),
            "warc": round(warc_b, 1),
            "total": round(db_b + warc_b, 1),
        },
        "db_growth_per_304_by_object": _growth(first["objects"], last["objects"], not_modified),
        "leaf_bytes_per_304": leaves,
        "storage": {name: m["storage"] for name, m in marks.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.unchanged_bench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--size", type=int, default=200, help="articles on the local site")
    parser.add_argument("--rounds", type=int, default=3, help="rechecks of every article")
    parser.add_argument("--content", choices=("auto", "fixtures", "demo"), default="auto")
    parser.add_argument("--database-url", default=None, help="PostgreSQL instead of SQLite")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--work", type=Path, default=None, help="scratch dir (default: a temp dir)")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="pw-unchanged-"))
    started = time.perf_counter()
    figures = measure(args.size, args.rounds, args.content, args.database_url, work / "run")
    figures["command"] = "python -m benchmarks.unchanged_bench " + " ".join(
        a for a in (argv if argv is not None else sys.argv[1:]) if "://" not in a
    )
    figures["at"] = datetime.now(UTC).isoformat(timespec="seconds")
    figures["code"] = _code_version()
    figures["sqlite"] = sqlite3.sqlite_version
    figures["load_after"] = [round(x, 2) for x in os.getloadavg()]
    figures["wall_s"] = round(time.perf_counter() - started, 1)
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    out = write_figures(args.out, f"unchanged-{figures['database']}", figures)
    print(json.dumps(figures, indent=2))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
