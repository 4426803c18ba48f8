"""Shared services and the crawl's own processes failing under several crawls at once.

    python -m benchmarks faults [--size 100] [--processes 2] [--only NAME,...]
                                [--at-s 4] [--meili-bin PATH]

For each fault: a PostgreSQL cluster and a redis-server of the benchmark's own
(benchmarks/fault_harness.py; with a Meilisearch binary, `--meili-bin` or `MEILI_BIN`, a
Meilisearch server of its own too), a local newsroom of `--size` articles that answers
each article after 0.1 s, and K processes (`--processes`) running `presswatch run`
together on them, as K machines would. `--at-s` seconds in, the fault; then the service
is brought back and the same K commands run again. Per fault: each process's exit code,
how long it ran after the fault, the lines it wrote on stderr; after the rerun, articles
that got no capture (lost), fetches recorded twice (duplicates), whether `presswatch
verify` is clean and, with Meilisearch, whether the index holds one document per version.
Writes `benchmarks/results/faults-<time>.json` (docs/benchmarks.md, docs/operations.md).

The budgets are set short (`redis_outage_s` and `database_outage_s` 5 s) so that "ends
within a bounded time" is measured in seconds; the defaults are 30 and 60 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.api_bench import free_port
from benchmarks.fault_harness import (
    OwnMeilisearch,
    OwnPostgres,
    OwnRedis,
    extraction_workers_of,
    meilisearch_binary,
    writer_of,
)
from benchmarks.report import write_figures
from benchmarks.scale_bench import meili_documents

REPO = Path(__file__).resolve().parent.parent
OUTAGE_S = 5.0
# A hang guard: every command must end well before this (its budget plus work in flight).
COMMAND_TIMEOUT_S = 300


def _say(message: str) -> None:
    print(f"[faults {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Services:
    postgres: OwnPostgres
    redis: OwnRedis
    meili: OwnMeilisearch | None
    database: str

    @property
    def database_url(self) -> str:
        return self.postgres.url.rsplit("/", 1)[0] + "/" + self.database


@dataclass
class Round:
    """K processes of one command, and what they did."""

    procs: list[subprocess.Popen[str]]
    started: float
    ended: list[float] = field(default_factory=list)
    results: list[tuple[int, str]] = field(default_factory=list)

    def finish(self) -> None:
        for proc in self.procs:
            try:
                _, err = proc.communicate(timeout=COMMAND_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                _, err = proc.communicate()
                err += f"\n[benchmark: killed after {COMMAND_TIMEOUT_S} s]"
            self.ended.append(time.monotonic())
            self.results.append((proc.returncode, err))


class Crawls:
    """K data dirs sharing one WARC directory and the services, as K machines would."""

    def __init__(self, work: Path, sources: Path, services: Services, k: int) -> None:
        self.work, self.sources, self.services, self.k = work, sources, services, k
        self.warc = work / "warc"
        self.warc.mkdir(parents=True, exist_ok=True)
        self.prefix = f"pwfaults-{uuid.uuid4().hex[:8]}"

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("PRESSWATCH_")
            and k not in ("DATABASE_URL", "REDIS_URL", "MEILI_URL")
        }
        scrapy = {"AUTOTHROTTLE_START_DELAY": 0.0, "AUTOTHROTTLE_MAX_DELAY": 2.0,
                  "RETRY_TIMES": 1, "PRESSWATCH_REDIS_PREFIX": self.prefix}  # fmt: skip
        env.update(
            {
                "DATABASE_URL": self.services.database_url,
                "REDIS_URL": self.services.redis.url,
                "PRESSWATCH_ALLOW_NETWORKS": "127.0.0.1/32",
                "PRESSWATCH_CRAWL_CONCURRENCY_PER_HOST": "2",
                "PRESSWATCH_EXTRACT_WORKERS": "1",
                "PRESSWATCH_REDIS_OUTAGE_S": str(OUTAGE_S),
                "PRESSWATCH_DATABASE_OUTAGE_S": str(OUTAGE_S),
                # The services' faults are measured here; rendering every new version in
                # Chromium would be most of the time (its cost has a benchmark of its own).
                "PRESSWATCH_BROWSER": "false",
                "PRESSWATCH_SCRAPY_SETTINGS": json.dumps(scrapy),
            }
        )
        if self.services.meili is not None:
            env["MEILI_URL"] = self.services.meili.url
            env["MEILI_MASTER_KEY"] = self.services.meili.key
        return env

    def data_dir(self, i: int) -> Path:
        data = self.work / f"p{i}"
        data.mkdir(parents=True, exist_ok=True)
        if not (data / "warc").exists():
            (data / "warc").symlink_to(self.warc, target_is_directory=True)
        return data

    def command(self, i: int, *args: str) -> subprocess.Popen[str]:
        argv = [sys.executable, "-m", "presswatch.cli", "--data-dir", str(self.data_dir(i))]
        argv += ["--sources", str(self.sources), *args]
        return subprocess.Popen(
            argv, env=self.env(), cwd=REPO, text=True, start_new_session=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip

    def start(self, *args: str) -> Round:
        return Round([self.command(i, *args) for i in range(self.k)], time.monotonic())

    def run(self, *args: str) -> Round:
        done = self.start(*args)
        done.finish()
        return done


# -- the faults --------------------------------------------------------------------------
# Each is (inject, heal): inject runs `--at-s` into the first round, with the round's
# processes; heal runs once they have all ended, before the rerun.

Inject = Callable[[Services, Round, Crawls], None]
Heal = Callable[[Services], None]


def _restart_postgres(s: Services, _: Round, __: Crawls) -> None:
    s.postgres.stop()
    time.sleep(2)  # within the budget
    s.postgres.start()


def _stop_postgres(s: Services, _: Round, __: Crawls) -> None:
    s.postgres.stop()


def _start_postgres(s: Services) -> None:
    if not s.postgres.running:
        s.postgres.start()


def _restart_redis(s: Services, _: Round, __: Crawls) -> None:
    s.redis.stop()
    time.sleep(1)  # within the budget; it comes back empty (no persistence)
    s.redis.start()


def _stop_redis(s: Services, _: Round, __: Crawls) -> None:
    s.redis.stop()


def _start_redis(s: Services) -> None:
    if s.redis.proc is None:
        s.redis.start()


def _flush_redis(s: Services, _: Round, __: Crawls) -> None:
    import redis

    client = redis.Redis.from_url(s.redis.url)
    client.flushall()
    client.close()


def _stop_meili(s: Services, _: Round, __: Crawls) -> None:
    assert s.meili is not None
    s.meili.stop()


def _start_meili(s: Services) -> None:
    if s.meili is not None and s.meili.proc is None:
        s.meili.start()


def _kill_writers(_: Services, r: Round, c: Crawls) -> None:
    for proc in r.procs:
        pid = _wait_for(lambda p=proc: writer_of(p.pid, c.warc))
        if pid is not None:
            os.kill(pid, signal.SIGKILL)


def _kill_extraction_workers(_: Services, r: Round, c: Crawls) -> None:
    for proc in r.procs:
        workers = _wait_for(lambda p=proc: extraction_workers_of(p.pid, c.warc) or None)
        if workers:
            os.kill(workers[0], signal.SIGKILL)


def _nothing(_: Services) -> None:
    return None


def _wait_for(find: Callable[[], Any], timeout_s: float = 10) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = find()
        if found:
            return found
        time.sleep(0.05)  # polling the processes, not timing the crawl
    return None


FAULTS: dict[str, tuple[str, Inject, Heal]] = {
    "postgres-restarted": (
        "PostgreSQL crashed and restarted 2 s later", _restart_postgres, _nothing),
    "postgres-down": (
        "PostgreSQL crashed, back after the crawls ended", _stop_postgres, _start_postgres),
    "redis-restarted": (
        "Redis killed and restarted empty 1 s later", _restart_redis, _nothing),
    "redis-down": (
        "Redis killed, back (empty) after the crawls ended", _stop_redis, _start_redis),
    "redis-flushed": (
        "Redis FLUSHALL: the shared queue and duplicate filter gone", _flush_redis, _nothing),
    "meilisearch-down": (
        "Meilisearch killed, back after the runs ended", _stop_meili, _start_meili),
    "writer-killed": (
        "each process's writer process SIGKILLed", _kill_writers, _nothing),
    "extraction-killed": (
        "one extraction worker of each process SIGKILLed", _kill_extraction_workers, _nothing),
}  # fmt: skip


# -- one fault, measured -----------------------------------------------------------------


@contextmanager
def _services(work: Path, meili_bin: Path | None) -> Iterator[Services]:
    bin_dir = OwnPostgres.find_binaries()
    if bin_dir is None:
        raise SystemExit("no PostgreSQL server binaries under /usr/lib/postgresql")
    with ExitStack() as stack:
        postgres = OwnPostgres.make(free_port(), bin_dir)
        stack.callback(postgres.remove)
        redis_dir = work / "redis"
        redis_dir.mkdir(parents=True, exist_ok=True)
        redis = OwnRedis(free_port(), redis_dir)
        redis.start()
        stack.callback(redis.stop)
        meili = None
        if meili_bin is not None:
            meili = OwnMeilisearch(meili_bin, free_port(), work / "meili")
            meili.workdir.mkdir(parents=True, exist_ok=True)
            meili.start()
            stack.callback(meili.stop)
        yield Services(postgres, redis, meili, "postgres")


def _counts(database_url: str) -> dict[str, Any]:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            articles = conn.execute(text("SELECT count(*) FROM articles")).scalar_one()
            versions = conn.execute(text("SELECT count(*) FROM versions")).scalar_one()
            captured = conn.execute(
                text("SELECT count(DISTINCT article_id) FROM captures WHERE article_id IS NOT NULL")
            ).scalar_one()
            twice = conn.execute(
                text(
                    "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM captures "
                    "GROUP BY requested_url HAVING count(*) > 1) AS d"
                )
            ).scalar_one()
            # Each fetch recorded twice, as evidence of what happened: when, by which
            # process (its WARC file names the writer's pid), with what outcome.
            twice_rows = conn.execute(
                text(
                    "SELECT requested_url, fetched_at, outcome, warc_file FROM captures "
                    "WHERE requested_url IN (SELECT requested_url FROM captures "
                    "GROUP BY requested_url HAVING count(*) > 1) ORDER BY requested_url, id"
                )
            ).all()
    finally:
        engine.dispose()
    return {"articles": int(articles), "versions": int(versions),
            "captured": int(captured), "duplicates": int(twice),
            "twice": [[str(v) for v in row] for row in twice_rows[:40]]}  # fmt: skip


def _lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip()]


def measure(name: str, size: int, k: int, at_s: float, meili_bin: Path | None) -> dict[str, Any]:
    from presswatch.demo.content import bulk_articles
    from presswatch.demo.outlet import NewsSite
    from presswatch.demo.site import Mode

    what, inject, heal = FAULTS[name]
    work = Path(tempfile.mkdtemp(prefix=f"pw-faults-{name}-"))
    articles = bulk_articles(size)
    with _services(work, meili_bin) as services, NewsSite(articles=articles) as site:
        for article in articles:
            site.set_mode(article.slug, Mode.SLOW, delay_s=0.1)
        sources = work / "sources.toml"
        sources.write_text(
            "[[source]]\n"
            'name = "ledger"\n'
            f'base_url = "{site.base_url}"\n'
            'languages = ["en", "km"]\n'
            f'sitemaps = ["{site.base_url}sitemap_index.xml"]\n'
            f"article_url_pattern = '{NewsSite.ARTICLE_PATTERN}'\n",
            encoding="utf-8",
        )
        crawls = Crawls(work, sources, services, k)
        init = crawls.command(0, "init")
        init.communicate(timeout=COMMAND_TIMEOUT_S)
        _say(f"{name}: {what}; {k} x `presswatch run` on {size} articles")
        first = crawls.start("run")
        time.sleep(at_s)
        fault_at = time.monotonic()
        running_at_fault = sum(p.poll() is None for p in first.procs)
        inject(services, first, crawls)
        first.finish()
        heal(services)
        _say(f"{name}: first round exits {[code for code, _ in first.results]}; rerun")
        rerun = crawls.run("run")
        counts = _counts(services.database_url)
        verify = subprocess.run(
            [sys.executable, "-m", "presswatch.cli", "--data-dir", str(crawls.data_dir(0)),
             "--sources", str(sources), "verify"],
            env=crawls.env(), cwd=REPO, capture_output=True, text=True, check=False,
            timeout=COMMAND_TIMEOUT_S,
        )  # fmt: skip
        out: dict[str, Any] = {
            "fault": what,
            "processes": k,
            "running_at_fault": running_at_fault,
            "first": [
                {"exit": code, "s_after_fault": round(ended - fault_at, 1), "stderr": _lines(err)}
                for (code, err), ended in zip(first.results, first.ended, strict=True)
            ],
            "rerun": [{"exit": code, "stderr": _lines(err)} for code, err in rerun.results],
            "expected": size,
            "lost": size - counts["captured"],
            "duplicates": counts["duplicates"],
            "recorded_twice": counts["twice"],
            "versions": counts["versions"],
            "verify_ok": verify.returncode == 0,
        }
        if not out["verify_ok"]:
            out["verify"] = (verify.stdout + verify.stderr).strip()[-500:]
        if services.meili is not None:
            # `run` indexes into the default index of Settings.meili_index.
            out["meili_documents"] = meili_documents(
                services.meili.url, services.meili.key, "presswatch", wait_ms=120_000
            )
    shutil.rmtree(work, ignore_errors=True)
    _say(f"{name}: {json.dumps({k: v for k, v in out.items() if k not in ('first', 'rerun')})}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--at-s", type=float, default=4.0, help="seconds into the run")
    parser.add_argument("--only", default="", help="comma-separated faults: " + ",".join(FAULTS))
    parser.add_argument("--meili-bin", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args(argv)
    meili_bin = args.meili_bin or meilisearch_binary()
    names = [n for n in args.only.split(",") if n] or list(FAULTS)
    unknown = [n for n in names if n not in FAULTS]
    if unknown:
        parser.error(f"unknown fault {unknown[0]!r} (known: {', '.join(FAULTS)})")
    if meili_bin is None and "meilisearch-down" in names:
        names.remove("meilisearch-down")
        _say("no Meilisearch binary (--meili-bin or MEILI_BIN): meilisearch-down left out")
    shown = argv if argv is not None else sys.argv[1:]
    results: dict[str, Any] = {
        "command": "python -m benchmarks faults " + " ".join(shown),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "outage_budget_s": OUTAGE_S,
        "meilisearch": meili_bin is not None,
        "load_before": [round(x, 2) for x in os.getloadavg()],
    }
    results["faults"] = {
        name: measure(name, args.size, args.processes, args.at_s, meili_bin) for name in names
    }
    results["load_after"] = [round(x, 2) for x in os.getloadavg()]
    path = write_figures(args.out, "faults", results)
    print(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"written: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
