"""CPU per page of our extraction against trafilatura's own, on the benchmark's pages.

    python -m benchmarks.extract_bench [--size 400] [--rounds 5] [--profile] [--out DIR]

The pages are the benchmark site's (`benchmarks/site.py`: articles made from the real
pages of ../shared/fixtures, or from the demo articles in a bare clone), rendered in
this process, no server. Two contenders, on the same bytes, in one process, rounds
interleaved so that the machine's other load falls on both alike:

- `trafilatura`: `trafilatura.bare_extraction` on the raw bytes with our options and
  `with_metadata=True`, which is trafilatura's own extraction of what we deliver (the
  text, the title, the author and the date);
- `extract_page`: our whole `archive.content.extract.extract_page` (decoding, trafilatura's
  text, our title, byline, dates, language, canonical URL, normalization).

Each figure is CPU time (`time.process_time`) over all pages divided by their number;
the best round counts, the median is kept beside it. `--profile` adds the functions
where our extraction spends its time (cProfile, own time) to the results. Writes
`<out>/extract-<UTC time>.json` and prints the ratio. No figure is compared with a
target here; docs/benchmarks.md records the runs.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trafilatura

from archive.content import TRAFILATURA_OPTIONS, extract_page
from benchmarks.report import write_figures
from benchmarks.site import build_site

RESULTS = Path(__file__).resolve().parent / "results"
CONTENT_TYPE = "text/html; charset=utf-8"  # what the benchmark site sends


def site_pages(size: int, seed: int, content: str) -> tuple[list[tuple[str, bytes]], str]:
    """(url, body) of the site's first `size` articles, and which content they are."""
    site = build_site(size, seed, content)
    server = site.bind(0)  # an address for the URLs in the pages; nothing is served
    try:
        bench = site.content
        pages = [(site.url_of(key), bench.render(site, site.entry(key))) for key in bench.keys]
        return pages, bench.content
    finally:
        server.server_close()


def _trafilatura(pages: list[tuple[str, bytes]]) -> int:
    options = {**TRAFILATURA_OPTIONS.as_kwargs(), "with_metadata": True}
    chars = 0
    for url, body in pages:
        document = trafilatura.bare_extraction(body, url=url, **options)
        chars += len(getattr(document, "text", None) or "")
    return chars


def _ours(pages: list[tuple[str, bytes]]) -> int:
    return sum(
        len(extract_page(body, url=url, content_type=CONTENT_TYPE).text) for url, body in pages
    )


def _cpu_ms_per_page(fn: Callable[[list[tuple[str, bytes]]], int], pages: list[Any]) -> float:
    started = time.process_time()
    fn(pages)
    return (time.process_time() - started) * 1000 / len(pages)


def _profile(pages: list[tuple[str, bytes]], top: int = 25) -> list[dict[str, Any]]:
    profiler = cProfile.Profile()
    profiler.runcall(_ours, pages)
    stats = pstats.Stats(profiler, stream=io.StringIO())
    rows = []
    for (path, line, name), (_, calls, own, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append(
            {
                "function": f"{Path(path).name}:{line}({name})",
                "calls": calls,
                "own_ms_per_page": round(own * 1000 / len(pages), 3),
                "cumulative_ms_per_page": round(cumulative * 1000 / len(pages), 3),
            }
        )
    rows.sort(key=lambda row: row["own_ms_per_page"], reverse=True)
    return rows[:top]


def run(size: int, rounds: int, seed: int, content: str, profile: bool) -> dict[str, Any]:
    pages, used = site_pages(size, seed, content)
    chars = {"trafilatura": _trafilatura(pages), "extract_page": _ours(pages)}  # warm-up
    figures: dict[str, list[float]] = {"trafilatura": [], "extract_page": []}
    for _ in range(rounds):
        figures["trafilatura"].append(_cpu_ms_per_page(_trafilatura, pages))
        figures["extract_page"].append(_cpu_ms_per_page(_ours, pages))
    best = {name: min(values) for name, values in figures.items()}
    result: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "extractor": extract_page(
            pages[0][1], url=pages[0][0], content_type=CONTENT_TYPE
        ).extractor,
        "trafilatura_options": {**TRAFILATURA_OPTIONS.as_kwargs(), "with_metadata": True},
        "content": used,
        "pages": len(pages),
        "rounds": rounds,
        "cpu_ms_per_page": {
            name: {
                "best": round(best[name], 2),
                "median": round(statistics.median(values), 2),
                "rounds": [round(v, 2) for v in values],
            }
            for name, values in figures.items()
        },
        "text_chars": chars,
        # Below 1.0: our extraction costs less CPU per page than trafilatura's own.
        "ratio": round(best["extract_page"] / best["trafilatura"], 3),
        "ratio_median": round(
            statistics.median(figures["extract_page"]) / statistics.median(figures["trafilatura"]),
            3,
        ),
    }
    if profile:
        result["profile_extract_page"] = _profile(pages)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.extract_bench",
        description="CPU per page of extract_page against trafilatura's own extraction.",
    )
    parser.add_argument("--size", type=int, default=400, help="articles of the benchmark site")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds of each contender")
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--content", choices=("auto", "fixtures", "demo"), default="auto")
    parser.add_argument("--profile", action="store_true", help="add our extraction's profile")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.size < 1 or args.rounds < 1:
        parser.error("--size and --rounds must be at least 1")
    result = run(args.size, args.rounds, args.seed, args.content, args.profile)
    path = write_figures(args.out, "extract", result)
    ms = result["cpu_ms_per_page"]
    print(
        f"{result['pages']} pages ({result['content']}): trafilatura "
        f"{ms['trafilatura']['best']} ms, extract_page {ms['extract_page']['best']} ms CPU "
        f"per page; ratio {result['ratio']} (median {result['ratio_median']}); {path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
