"""Crawler memory with many known URLs: peak RSS of `presswatch crawl` and `recheck`.

    python -m benchmarks crawl-memory [--known 1000000] [--new 300] [--due 1000]
        [--database-url URL] [--out DIR]

Builds an archive whose one source already knows `--known` article URLs on a local
site (benchmarks.schedule_bench's bulk fill, with each article's canonical URL row:
`--due` of them due now, the rest later), and serves that site from a process of its
own on 127.0.0.1: a sitemap index, sitemaps of 50,000 URLs (the protocol's limit)
listing every known URL and `--new` new ones, and an article page for any of them.
The articles the fill makes due are taken out of it again and crawled for real first
(`seed_crawl`, a recheck needs their versions and captures), then made due. Then runs
the real command line as subprocesses, one after the other, Chromium off (the browser's
memory is bounded apart and measured by `python -m benchmarks render`):

1. `presswatch crawl --spider sitemap`: reads every sitemap, recognises the known
   URLs, fetches the new ones;
2. `presswatch recheck`: fetches the due articles.

For each: wall time, the command's own report, and peak RSS, of the command's process
(`ru_maxrss` from `os.wait4`) and of each helper process it starts (extraction,
writer: `VmHWM` read from /proc while they run). Writes
`<out>/crawl-memory-<UTC time>.json`. `--database-url` names a PostgreSQL server: a
database `pw_crawl_memory_bench` is created there and dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update

from archive.store import Article, ArticleUrl, Capture, make_engine, migrate
from benchmarks.report import write_figures
from benchmarks.schedule_bench import Fill, fill_postgres, fill_sqlite, postgres_database

RESULTS = Path(__file__).resolve().parent / "results"
PER_SITEMAP = 50_000  # sitemaps.org: at most 50,000 URLs in one sitemap
BENCH_DB = "pw_crawl_memory_bench"
ARTICLE_PATTERN = r"/news/\d+/$"
FAST = {"AUTOTHROTTLE_ENABLED": False, "CONCURRENT_REQUESTS_PER_DOMAIN": 16}


# -- the site ---------------------------------------------------------------------------


def _sitemap_index(base: str, sitemaps: int) -> bytes:
    rows = "".join(f"<sitemap><loc>{base}sitemaps/{n}.xml</loc></sitemap>" for n in range(sitemaps))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{rows}</sitemapindex>'
    ).encode()


def _sitemap(base: str, first: int, last: int) -> bytes:
    rows = "".join(f"<url><loc>{base}news/{i}/</loc></url>" for i in range(first, last + 1))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{rows}</urlset>'
    ).encode()


def _article(i: int) -> bytes:
    paragraphs = "".join(
        f"<p>Report {i}, part {p}: the outlet's correspondent describes event {i * 7 + p} in"
        f" detail, with names, places and the dates on which each thing happened.</p>"
        for p in range(6)
    )
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>Report {i}</title>"
        f"</head><body><article><h1>Report {i}</h1>{paragraphs}</article></body></html>"
    ).encode()


def _serve(listed: Any, ready: Any) -> None:
    """The site, in a process of its own: pages are made from their number, so serving
    a million URLs holds none of them. Its sitemaps list articles 1 to `listed.value`."""

    made: dict[tuple[str, int, int], bytes] = {}

    def sitemap(base: str, first: int, last: int) -> bytes:
        # Made once: on a busy machine, making a 50,000-URL sitemap for each of several
        # requests at once took the crawler past its 30 s timeout.
        key = (base, first, last)
        if key not in made:
            made[key] = _sitemap(base, first, last)
        return made[key]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            total = listed.value
            sitemaps = -(-total // PER_SITEMAP)
            base = f"http://{self.headers['Host']}/"
            path = self.path
            body: bytes | None = None
            kind = "text/html; charset=utf-8"
            if path == "/sitemap_index.xml":
                body, kind = _sitemap_index(base, sitemaps), "application/xml"
            elif path.startswith("/sitemaps/") and path.endswith(".xml"):
                n = int(path[len("/sitemaps/") : -len(".xml")])
                if 0 <= n < sitemaps:
                    first = 1 + n * PER_SITEMAP
                    last = min(total, first + PER_SITEMAP - 1)
                    body, kind = sitemap(base, first, last), "application/xml"
            elif path.startswith("/news/") and path.endswith("/"):
                number = path[len("/news/") : -1]
                if number.isdigit() and 1 <= int(number) <= total:
                    body = _article(int(number))
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # the crawler opens 16 at once; the default backlog is 5

    server = Server(("127.0.0.1", 0), Handler)
    ready.send(server.server_address[1])
    server.serve_forever()


@contextmanager
def _site(listed: Any) -> Iterator[str]:
    ctx = multiprocessing.get_context("fork")
    ours, theirs = ctx.Pipe()
    process = ctx.Process(target=_serve, args=(listed, theirs), daemon=True)
    process.start()
    try:
        port = ours.recv()
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        process.join(5)


# -- peak memory ------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    try:
        path = Path(f"/proc/{pid}/task/{pid}/children")
        return [int(p) for p in path.read_text().split()]
    except (OSError, ValueError):
        return []


def _status(pid: int) -> dict[str, str]:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return {k: v.strip() for k, _, v in (line.partition(":") for line in lines)}


class HelperPeaks(threading.Thread):
    """Polls the descendants of a process for their peak RSS (VmHWM, which only grows:
    the last reading before a helper exits is its peak)."""

    def __init__(self, root: int, every_s: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.every_s = every_s
        self.peaks: dict[int, dict[str, Any]] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.every_s):
            stack = _children(self.root)
            while stack:
                pid = stack.pop()
                stack.extend(_children(pid))
                status = _status(pid)
                if "VmHWM" not in status:  # exited (a zombie has no memory left to read)
                    continue
                try:
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                except OSError:
                    continue
                self.peaks[pid] = {
                    "name": status.get("Name", "?"),
                    "command": cmd.decode(errors="replace").strip()[:120],
                    "peak_rss_mb": round(int(status["VmHWM"].split()[0]) / 1024, 1),
                }


def _run(command: list[str], env: dict[str, str]) -> dict[str, Any]:
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err)
        helpers = HelperPeaks(process.pid)
        helpers.start()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        helpers.done.set()
        helpers.join()
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    try:
        report = json.loads(stdout)
    except ValueError:
        raise SystemExit(
            f"{' '.join(command[3:])} failed ({process.returncode}):\n{stderr}"
        ) from None
    main_mb = usage.ru_maxrss / 1024  # kilobytes on Linux
    helper_list = sorted(helpers.peaks.values(), key=lambda h: -h["peak_rss_mb"])
    return {
        # 1 when some fetches failed (timeouts on a busy machine): in `problems`.
        "exit_code": process.returncode,
        "wall_s": round(wall, 1),
        "peak_rss_mb": round(main_mb, 1),
        "helpers": helper_list,
        # Every process at its own peak at once: an upper bound for the crawl's total.
        "sum_of_peaks_mb": round(main_mb + sum(h["peak_rss_mb"] for h in helper_list), 1),
        "report": {k: report.get(k) for k in ("fetched", "discovered", "outcomes", "duration_s")},
        "counters": report,
    }


# -- the benchmark ----------------------------------------------------------------------


@contextmanager
def _database(work: Path, server: str | None) -> Iterator[str]:
    if server is None:
        yield f"sqlite:///{work / 'archive.sqlite3'}"
        return
    with postgres_database(server, BENCH_DB) as url:
        yield url


def _env(data: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSWATCH_")}
    for name in ("DATABASE_URL", "REDIS_URL", "MEILI_URL"):
        env.pop(name, None)
    env["PRESSWATCH_SCRAPY_SETTINGS"] = json.dumps(FAST)
    env["PRESSWATCH_DATA_DIR"] = str(data)
    env["PRESSWATCH_DATABASE_URL"] = url
    env["PRESSWATCH_ALLOW_NETWORKS"] = "127.0.0.1/32"
    # The crawler's own memory: Chromium's is bounded apart (browser_memory_mb) and
    # measured by `python -m benchmarks render`; it would also take seconds a page.
    env["PRESSWATCH_BROWSER"] = "false"
    return env


def _due_ids(known: int, due: int) -> list[int]:
    # The articles schedule_bench's fill makes due now (`Fill.rows`).
    step = known // due
    return [step * k for k in range(1, due + 1)]


def _fill(url: str, path: Path, base: str, known: int, due: int, seed: int) -> list[int]:
    """The known articles, none of them due: the ones the fill makes due are taken out
    again, to be crawled for real (a recheck needs their versions). Returns their ids."""
    # A day ahead: none of the fill's articles falls due while the benchmark runs (they
    # have no version for a recheck to compare with).
    now = datetime.now(UTC) + timedelta(days=1)
    engine = make_engine(url)
    try:
        migrate(engine)
        fill = Fill(known, due, seed, 1, lambda _: base, with_urls=True, now=now)
        if engine.dialect.name == "sqlite":
            engine.dispose()
            fill_sqlite(path, fill)
        else:
            fill_postgres(engine, fill)
        ids = _due_ids(known, due)
        with engine.begin() as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                conn.execute(delete(ArticleUrl).where(ArticleUrl.article_id.in_(chunk)))
                conn.execute(delete(Article).where(Article.id.in_(chunk)))
        return ids
    finally:
        engine.dispose()


def _make_due(url: str) -> int:
    """Every article crawled for real (the fill's have no capture) due an hour ago."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            past = datetime.now(UTC) - timedelta(hours=1)
            crawled = Article.id.in_(select(Capture.article_id))
            done = conn.execute(update(Article).where(crawled).values(next_check=past))
            return done.rowcount
    finally:
        engine.dispose()


def bench(known: int, new: int, due: int, seed: int, server: str | None) -> dict[str, Any]:
    listed = multiprocessing.get_context("fork").Value("q", known)
    with (
        tempfile.TemporaryDirectory(prefix="pw-crawl-memory-") as tmp,
        _site(listed) as base,
        _database(Path(tmp), server) as url,
    ):
        work = Path(tmp)
        data = work / "data"
        sources = work / "sources.toml"
        sources.write_text(
            f'[[source]]\nname = "outlet0"\nbase_url = "{base}"\n'
            f'sitemaps = ["{base}sitemap_index.xml"]\n'
            f"article_url_pattern = '{ARTICLE_PATTERN}'\n",
            encoding="utf-8",
        )
        env = _env(data, url)
        cli = [sys.executable, "-m", "presswatch.cli", "--data-dir", str(data)]
        cli += ["--sources", str(sources)]
        subprocess.run([*cli, "init"], env=env, check=True, capture_output=True)
        started = time.perf_counter()
        _fill(url, work / "archive.sqlite3", base, known, due, seed)
        fill_s = time.perf_counter() - started
        crawl = [*cli, "crawl", "--spider", "sitemap", "--json"]
        # 1. the due articles, fetched for real (versions, captures) and then made due
        seed_crawl = _run(crawl, env)
        made_due = _make_due(url)
        # 2. the measured crawl: every known URL listed again, `new` of them new
        listed.value = known + new
        measured = _run(crawl, env)
        recheck = _run([*cli, "recheck", "--json"], env)
    return {
        "database": "sqlite" if server is None else "postgresql",
        "fill_s": round(fill_s, 1),
        "made_due": made_due,
        "seed_crawl": seed_crawl,
        "crawl": measured,
        "recheck": recheck,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks crawl-memory", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--known", type=int, default=1_000_000)
    parser.add_argument("--new", type=int, default=300)
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261208)
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL server instead of SQLite, e.g. "
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not 0 < args.due <= args.known:
        parser.error("--due must be between 1 and --known")
    load_before = round(os.getloadavg()[0], 2)
    run = bench(args.known, args.new, args.due, args.seed, args.database_url)
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "load_average_1m_before_after": [load_before, round(os.getloadavg()[0], 2)],
        "known": args.known,
        "new": args.new,
        "due": args.due,
        "sitemaps": -(-(args.known + args.new) // PER_SITEMAP),
        **run,
    }
    path = write_figures(args.out, "crawl-memory", result)
    for phase in ("seed_crawl", "crawl", "recheck"):
        figures = run[phase]
        print(
            f"{phase}: {figures['report']['fetched']} fetched in {figures['wall_s']} s, "
            f"peak RSS {figures['peak_rss_mb']} MB (helpers: "
            f"{', '.join(str(h['peak_rss_mb']) for h in figures['helpers']) or 'none'}; "
            f"sum {figures['sum_of_peaks_mb']} MB)"
        )
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
