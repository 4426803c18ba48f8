"""Scale-out: K crawler processes sharing the real Redis frontier and PostgreSQL.

    python -m benchmarks.scale_bench --size 600 --processes 1,2,3

One archive on a fresh PostgreSQL database, filled by one first crawl of the benchmark
site; then, for each K, every article made due and `presswatch recheck` run by K
processes at once, each with
its own data dir (lock, logs, job state) and the same `DATABASE_URL`, `REDIS_URL` (one
key prefix per round) and WARC directory. Per round: wall time and articles/s, how
many articles got no capture (lost) and how many got more than one (duplicates), and
whether `presswatch verify` is clean. Writes `benchmarks/results/scale-<time>.json`.
Needs PostgreSQL (`PRESSWATCH_BENCH_PG`, default the test server's admin URL) and Redis
(`REDIS_URL`, default redis://127.0.0.1:6379/0).
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

from benchmarks.run import BENCH_SCRAPY

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get(
    "PRESSWATCH_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def _say(message: str) -> None:
    print(f"[scale {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _env(db_url: str, warc_dir: Path, prefix: str) -> dict[str, str]:
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
            "PRESSWATCH_CRAWL_CONCURRENCY_PER_HOST": "8",
            "PRESSWATCH_SCRAPY_SETTINGS": json.dumps(
                {**BENCH_SCRAPY, "PRESSWATCH_REDIS_PREFIX": prefix}
            ),
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
        # Stored as naive UTC (archive.models.UTCDateTime).
        conn.execute(text("UPDATE articles SET next_check = :t"), {"t": now.replace(tzinfo=None)})
    engine.dispose()


def _captures_since(db_url: str, since: datetime) -> tuple[int, Counter[int]]:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM articles")).scalar_one()
        rows = conn.execute(
            text(
                "SELECT article_id FROM captures WHERE recorded_at > :t AND article_id IS NOT NULL"
            ),
            {"t": since.replace(tzinfo=None)},
        )
        per = Counter(int(r[0]) for r in rows)
    engine.dispose()
    return int(total), per


def run(size: int, rounds: list[int], work: Path) -> dict[str, Any]:
    from benchmarks.run import write_sources
    from benchmarks.site import BenchSite

    work.mkdir(parents=True, exist_ok=True)
    name = f"pw_scale_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db_url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    warc_dir = work / "warc"
    results: dict[str, Any] = {
        "command": "python -m benchmarks.scale_bench " + " ".join(sys.argv[1:]),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "size": size,
        "cpus": os.cpu_count(),
        "load_before": [round(x, 2) for x in os.getloadavg()],
        "rounds": [],
    }
    try:
        with BenchSite(size) as site:
            sources = work / "sources.toml"
            write_sources(sources, site.base_url)
            first_env = _env(db_url, warc_dir, f"pwscale-{uuid.uuid4().hex[:8]}")
            seed_dir = work / "seed"
            _wait([_cli(seed_dir, sources, first_env, "init")])
            _say(f"first crawl of {size} articles, one process")
            started = time.perf_counter()
            _wait([_cli(seed_dir, sources, first_env, "crawl", "--json")])
            results["first_crawl_s"] = round(time.perf_counter() - started, 2)
            for k in rounds:
                prefix = f"pwscale-{uuid.uuid4().hex[:8]}"
                env = _env(db_url, warc_dir, prefix)
                since = datetime.now(UTC)
                _make_all_due(db_url, since)
                _say(f"recheck of {size} due articles by {k} process(es)")
                started = time.perf_counter()
                procs = [
                    _cli(work / f"k{k}-p{i}", sources, env, "recheck", "--json") for i in range(k)
                ]
                docs = _wait(procs)
                seconds = time.perf_counter() - started
                total, per = _captures_since(db_url, since)
                verify = subprocess.run(
                    [sys.executable, "-m", "presswatch.cli", "--data-dir", str(seed_dir), "verify"],
                    env=env,
                    cwd=REPO,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                results["rounds"].append(
                    {
                        "processes": k,
                        "seconds": round(seconds, 2),
                        "articles_per_s": round(total / seconds, 1),
                        "articles": total,
                        "captured": len(per),
                        "lost": total - len(per),
                        "duplicates": sum(n - 1 for n in per.values() if n > 1),
                        "fetched_per_process": [d.get("fetched") for d in docs],
                        "verify_ok": verify.returncode == 0,
                        "verify": (verify.stdout or verify.stderr).strip()[-300:],
                    }
                )
                _say(json.dumps(results["rounds"][-1]))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
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
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"scale-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))
    print(f"written: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
