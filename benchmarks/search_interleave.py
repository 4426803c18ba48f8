"""Query latency of two builds of the SQLite index, interleaved so both see the same load.

    python -m benchmarks.search_interleave BEFORE_CODE BEFORE_INDEX AFTER_CODE AFTER_INDEX \\
        [--rounds 6] [--repeat 5]

Each side is a checkout (its `search_api` answers) and an index file it built
(`python -m benchmarks.search_bench --workdir DIR` keeps `DIR/search.sqlite`). Rounds
alternate between the sides (before, after, then after, before, ...), each round a fresh
process running search_bench's 25 queries `--repeat` times after one warm-up; prints
p50/p95/p99 of each side, the per-query medians and after/before ratios as JSON. On a
shared machine only the ratios mean much.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

_ROUND = """
import json, sys, time
from pathlib import Path
from benchmarks.search_bench import queries
from search_api.backends.sqlite_fts import SqliteFtsBackend
backend = SqliteFtsBackend(Path(sys.argv[1]))
out = {}
for name, query in queries():
    backend.search(query)
    runs = []
    for _ in range(int(sys.argv[2])):
        t = time.perf_counter()
        backend.search(query)
        runs.append((time.perf_counter() - t) * 1000)
    out[name] = runs
backend.close()
print(json.dumps(out))
"""


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name in ("before_code", "before_index", "after_code", "after_index"):
        parser.add_argument(name, type=Path)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    sides = {
        "before": (args.before_code, args.before_index),
        "after": (args.after_code, args.after_index),
    }
    runs: dict[str, dict[str, list[float]]] = {side: {} for side in sides}
    for r in range(args.rounds):
        for side in ("before", "after") if r % 2 == 0 else ("after", "before"):
            code, index = sides[side]
            done = subprocess.run(
                [sys.executable, "-c", _ROUND, str(index), str(args.repeat)],
                cwd=code,
                env={"PYTHONPATH": str(code), "PATH": "/usr/bin:/bin"},
                capture_output=True,
                text=True,
                check=True,
            )
            for name, ms in json.loads(done.stdout).items():
                runs[side].setdefault(name, []).extend(ms)
    report = {
        "benchmark": "search_interleave",
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rounds": args.rounds,
        "runs_per_query_per_round": args.repeat,
        "latency_ms": {
            side: {
                f"p{p}": round(_percentile([x for ms in per.values() for x in ms], p), 2)
                for p in (50, 95, 99)
            }
            for side, per in runs.items()
        },
        "median_ms": {
            side: {name: round(statistics.median(ms), 2) for name, ms in per.items()}
            for side, per in runs.items()
        },
        "after_over_before": {
            name: round(
                statistics.median(runs["after"][name])
                / max(1e-6, statistics.median(runs["before"][name])),
                2,
            )
            for name in runs["before"]
        },
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
