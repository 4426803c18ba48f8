"""`python -m benchmarks cli [--rounds 15] [--out DIR]`: how fast the command line starts
(issue 23: "a CLI that starts at once").

In one run, each in a fresh process, `--rounds` times, the rounds interleaved so that
a change of load on a shared machine falls on every command alike:

- ``bare``: `python -c pass`, the interpreter alone: the yardstick;
- ``help``: `python -m presswatch.cli --help`;
- ``status``: `python -m presswatch.cli --data-dir D status` on a small archive made by
  `presswatch init` in a temporary directory (SQLite, the SQLite search index, no
  Redis: the settings of the environment that name other services are left out);
- ``import``: the cumulative import time of `presswatch.cli` as `python -X importtime
  -c "import presswatch.cli"` reports it.

The console script `presswatch` runs the same `main()` as `python -m presswatch.cli`.
Each command's bytecode is compiled once, by an untimed first run, into a temporary
cache (`PYTHONPYCACHEPREFIX`), as an installed Presswatch has its .pyc files: a
`PYTHONDONTWRITEBYTECODE` in the environment would otherwise make every start compile
our modules again.

Reports the minimum and the median of each, in seconds, and against the bare
interpreter: the difference of the medians (what Presswatch adds) and their ratio. For
the commands also the CPU time of the process (user + system): on a machine other jobs
load, the wall time grows with the queue for a core, the CPU time much less, so it is
the closer estimate of the wall time on an idle machine. Goals: `--help` under 0.3 s,
`status` under 0.5 s on an idle 2-core machine, the import under 0.4 s. Writes
``cli-<UTC time>.json`` under DIR (default benchmarks/results) and prints a Markdown
table. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.report import write_figures

RESULTS = Path(__file__).resolve().parent / "results"
GOALS_S = {"help": 0.3, "status": 0.5, "import": 0.4}
# Settings that would point `status` at other services (a server database, Meilisearch,
# Redis) or another data dir: the benchmark measures the start, not those services.
_LEFT_OUT = ("PRESSWATCH_", "DATABASE_URL", "MEILI_", "REDIS_URL", "PYTHONDONTWRITEBYTECODE")


def child_env(pycache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_LEFT_OUT)}
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run; a failing command stops the benchmark, saying
    why."""
    cpu = _cpu_of_children()
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}: {done.stderr[-2000:]}")
    return took, _cpu_of_children() - cpu


def _import_s(env: dict[str, str]) -> tuple[float, None]:
    """The cumulative import time of presswatch.cli, in seconds, from -X importtime (no
    CPU time: the process runs the import only)."""
    command = [sys.executable, "-X", "importtime", "-c", "import presswatch.cli"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    for line in reversed(done.stderr.splitlines()):
        fields = [f.strip() for f in line.split("|")]
        if len(fields) == 3 and fields[2] == "presswatch.cli":
            return int(fields[1]) / 1e6, None
    raise SystemExit(f"no import time of presswatch.cli in: {done.stderr[-2000:]}")


def _summary(
    samples: list[tuple[float, float | None]], bare: list[tuple[float, float | None]] | None
) -> dict[str, Any]:
    walls = [wall for wall, _cpu in samples]
    out: dict[str, Any] = {
        "min_s": round(min(walls), 4),
        "median_s": round(statistics.median(walls), 4),
        "samples_s": [round(s, 4) for s in walls],
    }
    cpus = [cpu for _wall, cpu in samples if cpu is not None]
    if cpus:
        out["cpu_min_s"] = round(min(cpus), 4)
        out["cpu_median_s"] = round(statistics.median(cpus), 4)
    if bare is not None:
        base = statistics.median(wall for wall, _cpu in bare)
        out["over_bare_s"] = round(out["median_s"] - base, 4)
        out["times_bare"] = round(out["median_s"] / base, 2)
    return out


def measure(rounds: int, work: Path) -> dict[str, Any]:
    """Every figure of one run (see the module's docstring)."""
    env = child_env(work / "pycache")
    cli = [sys.executable, "-m", "presswatch.cli"]
    data = work / "data"
    init = [*cli, "--data-dir", str(data), "init"]
    subprocess.run(init, env=env, capture_output=True, check=True)
    runs: dict[str, Callable[[], tuple[float, float | None]]] = {
        "bare": lambda: _timed([sys.executable, "-c", "pass"], env),
        "help": lambda: _timed([*cli, "--help"], env),
        "status": lambda: _timed([*cli, "--data-dir", str(data), "status"], env),
        "import": lambda: _import_s(env),
    }
    for run in runs.values():
        run()  # untimed: compiles the bytecode into the cache
    samples: dict[str, list[tuple[float, float | None]]] = {name: [] for name in runs}
    load_before = os.getloadavg()
    for _ in range(rounds):
        for name, run in runs.items():
            samples[name].append(run())
    load_after = os.getloadavg()
    bare = samples["bare"]
    figures = {
        name: _summary(values, None if name in ("bare", "import") else bare)
        for name, values in samples.items()
    }
    for name, goal in GOALS_S.items():
        figures[name]["goal_s"] = goal
    return {
        "benchmark": "cli",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "load_average_1m": {"before": round(load_before[0], 2), "after": round(load_after[0], 2)},
        "rounds": rounds,
        "figures": figures,
    }


def table(results: dict[str, Any]) -> str:
    figures = results["figures"]
    load = results["load_average_1m"]
    lines = [
        f"CLI start-up, {results['rounds']} rounds, {results['machine']['cpus']} CPUs, "
        f"1-minute load average {load['before']} → {load['after']}",
        "",
        "| figure | min | median | median over bare python | × bare | CPU median | goal |",
        "|---|---|---|---|---|---|---|",
    ]
    names = {
        "bare": "`python -c pass`",
        "help": "`presswatch --help`",
        "status": "`presswatch status`",
        "import": "import of presswatch.cli (cumulative, -X importtime)",
    }
    for name, label in names.items():
        f = figures[name]
        over = f"{f['over_bare_s']:.3f} s" if "over_bare_s" in f else ""
        times = f"{f['times_bare']:.1f}×" if "times_bare" in f else ""
        cpu = f"{f['cpu_median_s']:.3f} s" if "cpu_median_s" in f else ""
        goal = f"< {f['goal_s']} s" if "goal_s" in f else ""
        lines.append(
            f"| {label} | {f['min_s']:.3f} s | {f['median_s']:.3f} s | {over} | {times} "
            f"| {cpu} | {goal} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks cli", description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="presswatch-cli-bench-") as work:
        results = measure(max(1, args.rounds), Path(work))
    path = write_figures(args.out, "cli", results)
    print(table(results))
    print(f"\nwritten: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
