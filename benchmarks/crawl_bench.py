"""Crawl figures: pages/s of a first crawl against trafilatura alone, and bytes per
unchanged article on recheck.

    python -m benchmarks.crawl_bench [--pages 500] [--workers 0]

Serves `--pages` generated articles (presswatch.demo.content.bulk_articles, our own
text in the demo site's page template, padded with `--page-kb` KiB of menus, inline
scripts and link lists so pages weigh what real news pages weigh) on 127.0.0.1, then in
the same run:

1. trafilatura alone: `trafilatura.extract()` on every page's HTML, in this process,
   one core, no I/O — the ceiling a single-core extractor allows;
2. our extraction alone (`archive.content.extract.extract_page`, one core);
3. a first crawl through `presswatch crawl --spider sitemap` (subprocess: the real CLI,
   Scrapy engine, extraction pool, writer thread, WARC, SQLite) with `--workers`
   extraction processes (0: one per core) and again with 1 worker;
4. `presswatch recheck --all` right after: every article unchanged, asked with its
   validators; bytes the server sent per article (status line, headers, body).

Writes JSON to benchmarks/results/crawl-<date>.json and prints it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trafilatura

from archive.content import extract_page
from presswatch.demo.content import bulk_articles
from presswatch.demo.outlet import NewsSite

RESULTS = Path(__file__).parent / "results"
FAST = {"AUTOTHROTTLE_ENABLED": False, "CONCURRENT_REQUESTS_PER_DOMAIN": 16}


def _env(**settings: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSWATCH_")}
    for name in ("DATABASE_URL", "REDIS_URL", "MEILI_URL"):
        env.pop(name, None)
    env["PRESSWATCH_SCRAPY_SETTINGS"] = json.dumps(FAST)
    for key, value in settings.items():
        env[f"PRESSWATCH_{key.upper()}"] = str(value)
    return env


def _cli(data: Path, sources: Path, *args: str, env: dict[str, str]) -> dict[str, Any]:
    command = [sys.executable, "-m", "presswatch.cli", "--data-dir", str(data)]
    command += ["--sources", str(sources), *args, "--json"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{result.stderr}")
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def _sources(path: Path, site: NewsSite) -> Path:
    base = site.base_url
    path.write_text(
        f'[[source]]\nname = "bench"\nbase_url = "{base}"\n'
        f'sitemaps = ["{base}sitemap_index.xml"]\n'
        f"article_url_pattern = '{NewsSite.ARTICLE_PATTERN}'\n",
        encoding="utf-8",
    )
    return path


def _crawl(site: NewsSite, work: Path, workers: int, pages: int) -> dict[str, Any]:
    data = work / f"data-w{workers}"
    sources = _sources(work / "sources.toml", site)
    env = _env(extract_workers=workers, data_dir=data)
    subprocess.run(
        [sys.executable, "-m", "presswatch.cli", "--data-dir", str(data), "init"],
        env=env,
        check=True,
    )
    site.clear_log()
    started = time.perf_counter()
    doc = _cli(data, sources, "crawl", "--spider", "sitemap", env=env)
    wall = time.perf_counter() - started
    assert doc["discovered"] == pages, doc
    fetched = doc["fetched"]
    return {
        "workers": workers or os.cpu_count(),
        "pages": fetched,
        "crawl_s": doc["duration_s"],
        "pages_per_s": round(fetched / doc["duration_s"], 1),
        "wall_s_with_startup": round(wall, 2),
        "pages_per_s_with_startup": round(fetched / wall, 1),
        "data": data,
        "sources": sources,
        "env": env,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--workers", type=int, default=0, help="0: one per core")
    parser.add_argument(
        "--page-kb",
        type=int,
        default=120,
        help="page furniture per page, KiB (real pages: 100-300)",
    )
    args = parser.parse_args()
    load_before = round(os.getloadavg()[0], 2)

    site_ = NewsSite(articles=bulk_articles(args.pages), chrome_kb=args.page_kb)
    with site_ as site, tempfile.TemporaryDirectory(prefix="pw-crawl-bench-") as tmp:
        work = Path(tmp)
        urls = [site.url_of(slug) for slug in site.slugs()]
        pages = []
        for url in urls:
            with urllib.request.urlopen(url) as response:  # noqa: S310 - our own server
                pages.append(response.read())
        html_bytes = sum(len(p) for p in pages) / len(pages)

        started = time.perf_counter()
        for page in pages:
            trafilatura.extract(page.decode("utf-8"), with_metadata=True)
        trafilatura_s = time.perf_counter() - started

        started = time.perf_counter()
        for url, page in zip(urls, pages, strict=True):
            extract_page(page, url=url, content_type="text/html; charset=utf-8", max_bytes=10**8)
        ours_s = time.perf_counter() - started

        crawl = _crawl(site, work, args.workers, args.pages)
        single = _crawl(site, work, 1, args.pages)

        full_fetch = [r.bytes for r in site.log if r.path.startswith("/en/20")]
        site.clear_log()
        recheck = _cli(crawl["data"], crawl["sources"], "recheck", "--all", env=crawl["env"])
        rechecked = [r for r in site.log if r.path.startswith("/en/20")]
        not_modified = [r for r in rechecked if r.status == 304]

    for run in (crawl, single):
        for key in ("data", "sources", "env"):
            run.pop(key)
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        # Other work on the machine skews every figure here: look at this first.
        "load_average_1m_before_after": [load_before, round(os.getloadavg()[0], 2)],
        "pages": args.pages,
        "mean_html_bytes": round(html_bytes),
        "trafilatura_alone": {
            "seconds": round(trafilatura_s, 2),
            "pages_per_s": round(len(pages) / trafilatura_s, 1),
        },
        "presswatch_extract_alone": {
            "seconds": round(ours_s, 2),
            "pages_per_s": round(len(pages) / ours_s, 1),
        },
        "first_crawl": crawl,
        "first_crawl_one_worker": single,
        "recheck_unchanged": {
            "articles": len(rechecked),
            "answered_304": len(not_modified),
            "outcomes": recheck["outcomes"],
            "bytes_per_article": round(sum(r.bytes for r in rechecked) / max(len(rechecked), 1)),
            "full_fetch_bytes_per_article": round(sum(full_fetch) / max(len(full_fetch), 1)),
            "recheck_s": recheck["duration_s"],
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"crawl-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    print(f"written to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
