"""`python -m benchmarks render [--size N] [--workers W] [--out DIR]`: what rendering
in the browser costs a crawl (issue 24).

One benchmark site (benchmarks/site.py, `--size` articles) is started once; then the
same first crawl (sitemap and feed discovery, fetch, WARC, extract, detect, store)
runs twice on it, each into a fresh archive and in a fresh process (Twisted's reactor
cannot be restarted): `plain` with `browser = false`, then `browser` with
`browser = true` and `browser_workers = W` (default 1, the setting's), where every
new version is rendered in headless Chromium (screenshot, rendered DOM and requisites
into the WARC) before the crawl returns. For each: the wall time, pages (captures of
origin `crawl`) per second, the renderings' outcomes, and the peak memory of the
crawl's process and everything it started (Chromium included), sampled every 0.2 s
from /proc as the sum of each process's PSS (proportional set size: a page shared by
Chromium's processes counts once, split among them), with the sum of RSS beside it.
The site runs outside the measured tree.

Writes ``render-<UTC time>.json`` under DIR (default benchmarks/results) and prints a
Markdown table. Nothing here asserts a time or a size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.report import write_figures
from benchmarks.run import BENCH_SCRAPY, REPO, RESULTS, SOURCE, _code_version, write_sources

ARMS = ("plain", "browser")
SAMPLE_S = 0.2


def _say(message: str) -> None:
    print(f"[render {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- memory of a process tree, from /proc ------------------------------------------------


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # gone since the scan
        # The command name may hold spaces and parentheses: the fields follow the last ")".
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _memory_kib(pid: int) -> tuple[int, int]:
    """(PSS, RSS) in KiB of one process; zeros when it is gone."""
    values = {"Pss:": 0, "Rss:": 0}
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
            for line in rollup:
                name, _, rest = line.partition(" ")
                if name in values:
                    values[name] = int(rest.split()[0])
    except (OSError, ValueError):
        pass
    return values["Pss:"], values["Rss:"]


def tree_memory_kib(root: int) -> tuple[int, int]:
    """(PSS, RSS) in KiB of `root` and all its descendants, summed."""
    tree = _children()
    pss = rss = 0
    todo = [root]
    while todo:
        pid = todo.pop()
        p, r = _memory_kib(pid)
        pss, rss = pss + p, rss + r
        todo.extend(tree.get(pid, ()))
    return pss, rss


def run_arm(arm: str, base_url: str, work: Path, workers: int) -> dict[str, Any]:
    """One crawl in a child process, its tree's memory sampled until it ends."""
    command = [sys.executable, "-m", "benchmarks.render_bench", "--arm", arm]
    command += ["--base-url", base_url, "--work", str(work), "--workers", str(workers)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRESSWATCH_", "MEILI_"))}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    peak = [0, 0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            pss, rss = tree_memory_kib(child.pid)
            peak[0], peak[1] = max(peak[0], pss), max(peak[1], rss)
            done.wait(SAMPLE_S)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = child.communicate()
    done.set()
    sampler.join()
    took = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"the {arm} crawl exited {child.returncode}")
    figures = dict(json.loads(out.strip().splitlines()[-1]))
    figures["process_s"] = round(took, 2)
    figures["peak_pss_mib"] = round(peak[0] / 1024, 1)
    figures["peak_rss_sum_mib"] = round(peak[1] / 1024, 1)
    pages = figures["captures"]
    figures["pages_per_s"] = round(pages / figures["crawl_s"], 2) if figures["crawl_s"] else 0.0
    return figures


def crawl(arm: str, base_url: str, work: Path, workers: int) -> dict[str, Any]:
    """The child: one first crawl of the site into a fresh archive."""
    from sqlalchemy import func, select

    from archive.store import Capture
    from presswatch.crawling.context import start_crawl
    from presswatch.crawling.local import local_archive
    from presswatch.crawling.runner import CrawlJob, Phase, run_phases
    from presswatch.sources import load_sources

    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    sources_path = work / "sources.toml"
    write_sources(sources_path, base_url)
    runtime = local_archive(work, sources_path, browser=arm == "browser", browser_workers=workers)
    context = start_crawl(runtime, load_sources(sources_path))
    phases = [Phase([CrawlJob("sitemap", (SOURCE,)), CrawlJob("feed", (SOURCE,))])]
    started = time.perf_counter()
    report = run_phases(runtime, context, phases, overrides={**BENCH_SCRAPY}, use_jobdir=False)
    took = time.perf_counter() - started
    with runtime.sessions() as session:
        # Fetched pages only: each rendering is a capture of its own (origin
        # "rendering"), not a page more.
        fetched = select(func.count(Capture.id)).where(Capture.origin == "crawl")
        captures = int(session.execute(fetched).scalar_one())
    runtime.close()
    if report.interrupted:
        raise SystemExit(f"the {arm} crawl was interrupted: {report.problems[:3]}")
    return {
        "crawl_s": round(took, 2),
        "captures": captures,
        "browser": report.stats.get("browser"),
        "problems": report.problems[:10],
    }


def table(results: dict[str, Any]) -> str:
    rows = [
        "| crawl | pages | seconds | pages/s | peak PSS (MiB) | peak RSS sum (MiB) | renderings |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for arm in ARMS:
        f = results["arms"][arm]
        rendered = ", ".join(f"{k} {v}" for k, v in (f["browser"] or {}).items()) or "-"
        rows.append(
            f"| {arm} | {f['captures']} | {f['crawl_s']} | {f['pages_per_s']} | "
            f"{f['peak_pss_mib']} | {f['peak_rss_sum_mib']} | {rendered} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks render", description=__doc__)
    parser.add_argument("--size", type=int, default=30, help="articles on the site")
    parser.add_argument(
        "--workers", type=int, default=1, help="browser_workers (the setting's default)"
    )
    parser.add_argument("--content", default="auto", help="the site's templates (site.py)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    # The child's side: one crawl, its figures as one JSON line on stdout.
    parser.add_argument("--arm", choices=ARMS, help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.arm:
        print(json.dumps(crawl(args.arm, args.base_url, args.work, args.workers)))
        return 0

    from benchmarks.site import BenchSite

    results: dict[str, Any] = {
        "size": args.size,
        "browser_workers": args.workers,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "code": _code_version(),
        "arms": {},
    }
    with (
        tempfile.TemporaryDirectory(prefix="presswatch-render-bench-") as work,
        BenchSite(args.size, content=args.content) as site,
    ):
        results["content"] = site.manifest().get("content")
        for arm in ARMS:
            _say(f"{arm}: crawling {args.size} articles at {site.base_url}")
            results["arms"][arm] = run_arm(arm, site.base_url, Path(work) / arm, args.workers)
    plain, browser = results["arms"]["plain"], results["arms"]["browser"]
    results["derived"] = {
        "slowdown": round(browser["crawl_s"] / plain["crawl_s"], 2) if plain["crawl_s"] else None,
        "extra_peak_pss_mib": round(browser["peak_pss_mib"] - plain["peak_pss_mib"], 1),
    }
    path = write_figures(args.out, "render", results)
    print(table(results))
    print(f"\nwritten: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
