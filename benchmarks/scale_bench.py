"""Scale-out: K crawler processes sharing the real Redis frontier and PostgreSQL.

    python -m benchmarks.scale_bench --size 600 --processes 1,2,3

For each K, a fresh PostgreSQL database (and, when `MEILI_URL` is set, a fresh
Meilisearch index): K processes run `presswatch run` at once, each with its own data
dir (lock, logs, job state) and the same `DATABASE_URL`, `REDIS_URL` (one key prefix
per round), search index and WARC directory: the first crawl of the site, split
between them by the shared frontier, each then draining the search outbox. Then every
article is made due and K processes run `presswatch recheck` at once. Per phase: wall
time and articles/s, articles that got no capture (lost) and more than one
(duplicates), whether `presswatch verify` is clean, and with Meilisearch whether the
index holds one document per version. Writes `benchmarks/results/scale-<time>.json`.
Needs PostgreSQL (`PRESSWATCH_BENCH_PG`, default the test server's admin URL) and Redis
(`REDIS_URL`, default redis://127.0.0.1:6379/0); Meilisearch is optional (`MEILI_URL`,
`MEILI_MASTER_KEY`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from benchmarks.report import write_figures
from benchmarks.run import BENCH_SCRAPY

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get(
    "PRESSWATCH_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
MEILI = os.environ.get("MEILI_URL")
MEILI_KEY = os.environ.get("MEILI_MASTER_KEY", "")


def _say(message: str) -> None:
    print(f"[scale {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _env(
    db_url: str, warc_dir: Path, prefix: str, meili_index: str | None, processes: int
) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PRESSWATCH_") and k not in ("DATABASE_URL", "REDIS_URL", "MEILI_URL")
    }
    env.update(
        {
            "DATABASE_URL": db_url,
            "REDIS_URL": REDIS,
            "PW_SHARED_WARC": str(warc_dir),
            "PRESSWATCH_ALLOW_NETWORKS": "127.0.0.1/32",
            # The frontier's throughput is measured here; rendering has its own benchmark
            # (`render`), and its captures would count as a second capture an article.
            "PRESSWATCH_BROWSER": "false",
            "PRESSWATCH_CRAWL_CONCURRENCY_PER_HOST": "8",
            # K crawls on one machine share its cores, as an operator would set them.
            "PRESSWATCH_EXTRACT_WORKERS": str(max(1, (os.cpu_count() or 1) // processes)),
            "PRESSWATCH_SCRAPY_SETTINGS": json.dumps(
                {**BENCH_SCRAPY, "PRESSWATCH_REDIS_PREFIX": prefix}
            ),
        }
    )
    if MEILI and meili_index:
        env.update(
            {
                "MEILI_URL": MEILI,
                "MEILI_MASTER_KEY": MEILI_KEY,
                "PRESSWATCH_MEILI_INDEX": meili_index,
            }
        )
    return env


def _cli(data_dir: Path, sources: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    # Each process has its own data dir; their WARC files meet in one directory (the
    # archive's WARC store is `DATA_DIR/warc`), so `verify` anywhere reads them all.
    shared = Path(env["PW_SHARED_WARC"])
    shared.mkdir(parents=True, exist_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    if not (data_dir / "warc").exists():
        (data_dir / "warc").symlink_to(shared, target_is_directory=True)
    command = [sys.executable, "-m", "presswatch.cli", "--data-dir", str(data_dir)]
    command += ["--sources", str(sources), *args]
    return subprocess.Popen(
        command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _wait(procs: list[subprocess.Popen[str]]) -> list[dict[str, Any]]:
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=1800)
        if proc.returncode != 0:
            raise RuntimeError(f"crawler exited {proc.returncode}: {stderr[-2000:]}")
        out.append(json.loads(stdout) if stdout.strip().startswith("{") else {})
    return out


def _make_all_due(db_url: str, now: datetime) -> None:
    """Every article due now: each process's due list is the whole archive, and a
    capture committed by one process takes its article off the others' lists (with
    `--all` it would not: the shared dupefilter's recheck fingerprint names the due time,
    which the first capture moves)."""
    engine = create_engine(db_url)
    with engine.begin() as conn:
        # Stored as naive UTC (archive.store.models.UTCDateTime).
        conn.execute(text("UPDATE articles SET next_check = :t"), {"t": now.replace(tzinfo=None)})
    engine.dispose()


def _captures_since(db_url: str, since: datetime) -> tuple[int, int, Counter[int]]:
    """(articles, versions, captures per article recorded after `since`)."""
    engine = create_engine(db_url)
    with engine.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM articles")).scalar_one()
        versions = conn.execute(text("SELECT count(*) FROM versions")).scalar_one()
        rows = conn.execute(
            text(
                "SELECT article_id FROM captures WHERE recorded_at > :t AND article_id IS NOT NULL"
            ),
            {"t": since.replace(tzinfo=None)},
        )
        per = Counter(int(r[0]) for r in rows)
    engine.dispose()
    return int(total), int(versions), per


def meili_documents(url: str, key: str | None, index: str, *, wait_ms: int = 600_000) -> int:
    """Documents in a Meilisearch index once the tasks queued on it are done (each
    awaited up to `wait_ms`); 0 when the index was never made. Used by the scale and
    fault benchmarks and the Meilisearch fault tests."""
    import meilisearch
    from meilisearch.errors import MeilisearchApiError

    client = meilisearch.Client(url, key)
    for task in client.get_tasks(
        {"indexUids": [index], "statuses": ["enqueued", "processing"]}
    ).results:
        client.wait_for_task(task.uid, timeout_in_ms=wait_ms)
    try:
        return int(client.index(index).get_stats().number_of_documents)
    except MeilisearchApiError as exc:
        if exc.code == "index_not_found":
            return 0
        raise


def _meili_drop(index: str) -> None:
    if MEILI:
        import meilisearch

        client = meilisearch.Client(MEILI, MEILI_KEY or None)
        client.wait_for_task(client.delete_index(index).task_uid, timeout_in_ms=600_000)


def _verify(seed_dir: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "presswatch.cli", "--data-dir", str(seed_dir), "verify"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )


def _phase(
    k: int,
    work: Path,
    sources: Path,
    env: dict[str, str],
    db_url: str,
    seed_dir: Path,
    command: str,
    expected: int,
    meili_index: str | None,
) -> dict[str, Any]:
    """K processes run `command` at once; what they recorded, checked."""
    since = datetime.now(UTC)
    started = time.perf_counter()
    procs = [_cli(work / f"p{i}", sources, env, command, "--json") for i in range(k)]
    docs = _wait(procs)
    seconds = time.perf_counter() - started
    total, versions, per = _captures_since(db_url, since)
    verify = _verify(seed_dir, env)
    out: dict[str, Any] = {
        "seconds": round(seconds, 2),
        "articles_per_s": round(len(per) / seconds, 1),
        "articles": total,
        "expected": expected,
        "captured": len(per),
        "lost": expected - len(per),
        "duplicates": sum(n - 1 for n in per.values() if n > 1),
        "fetched_per_process": [d.get("fetched") for d in docs],
        "verify_ok": verify.returncode == 0,
        "verify": (verify.stdout or verify.stderr).strip()[-300:],
    }
    documents = (
        meili_documents(MEILI, MEILI_KEY or None, meili_index) if MEILI and meili_index else None
    )
    if documents is not None:
        out["meili_documents"] = documents
        out["versions"] = versions
    return out


def run(size: int, rounds: list[int], work: Path) -> dict[str, Any]:
    from benchmarks.run import write_sources
    from benchmarks.site import BenchSite

    work.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:8]
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    results: dict[str, Any] = {
        "command": "python -m benchmarks.scale_bench " + " ".join(sys.argv[1:]),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "size": size,
        "cpus": os.cpu_count(),
        "meilisearch": bool(MEILI),
        "load_before": [round(x, 2) for x in os.getloadavg()],
        "rounds": [],
    }
    made: list[tuple[str, str]] = []
    try:
        with BenchSite(size) as site:
            sources = work / "sources.toml"
            write_sources(sources, site.base_url)
            for k in rounds:
                name = f"pw_scale_{tag}_k{k}"
                with admin.connect() as conn:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
                made.append((name, name))
                db_url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
                round_dir = work / f"k{k}"
                env = _env(db_url, round_dir / "warc", f"pwscale-{uuid.uuid4().hex[:8]}", name, k)
                seed_dir = round_dir / "p0"
                _wait([_cli(seed_dir, sources, env, "init")])
                _say(f"first crawl of {size} articles by {k} process(es)")
                first = _phase(k, round_dir, sources, env, db_url, seed_dir, "run", size, name)
                _say(json.dumps(first))
                _make_all_due(db_url, datetime.now(UTC))
                env = _env(db_url, round_dir / "warc", f"pwscale-{uuid.uuid4().hex[:8]}", name, k)
                _say(f"recheck of {size} due articles by {k} process(es)")
                again = _phase(k, round_dir, sources, env, db_url, seed_dir, "recheck", size, name)
                _say(json.dumps(again))
                results["rounds"].append({"processes": k, "first_crawl": first, "recheck": again})
    finally:
        with admin.connect() as conn:
            for name, index in made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                _meili_drop(index)
        admin.dispose()
    results["load_after"] = [round(x, 2) for x in os.getloadavg()]
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=600)
    parser.add_argument("--processes", default="1,2,3", help="comma-separated K per round")
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks" / "work" / "scale")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args(argv)
    rounds = [int(k) for k in args.processes.split(",") if k.strip()]
    results = run(args.size, rounds, args.work / uuid.uuid4().hex[:8])
    path = write_figures(args.out, "scale", results)
    print(json.dumps(results, indent=2))
    print(f"written: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
