"""`python -m benchmarks diff [--sizes-kb 10,30,100,300,1000] [--rounds 3] [--out DIR]`:
how long a diff takes against the size of the text and how repetitive it is (issue 22).

Three kinds of text, each as an old version and a new one:

- ``prose``: sentences of distinct words, four to a paragraph; the new version changes
  every twentieth sentence and drops every fiftieth paragraph (what an outlet's edit
  of a long article looks like);
- ``repeated``: the attack of issue 22, one paragraph of the short sentence "Police
  came." over and over, every fifth changed in the new version;
- ``repeated_lines``: the same, one sentence a line;
- ``repeated_km``: the same in Khmer ("ប៉ូលិសបានមក។", police came), where every
  character goes through the grapheme-cluster tokenizer (sizes are UTF-8 bytes, about
  three to a Khmer character).

For each kind and size it times what capture does once per new version (the diff,
``archive.diff_versions``, and the edit's judgement, ``archive.judge_edit``, given the
body's diff where this code takes it) and what a page view renders from a stored diff
(``render_html``), in CPU seconds (the best of ``--rounds``), and says whether the work
budget ran out (``coarse``). Per kind it reports how the time grows: the factor per
doubling of the size between the two largest texts, 2 for linear.

Each case runs in a child process killed after ``--timeout-s``, so the command can also
measure code without a budget (checked out elsewhere: ``PYTHONPATH=that/checkout``),
where the repeated kinds take minutes. Writes ``diff-<UTC time>.json`` under DIR
(default benchmarks/results) and prints a Markdown table. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import multiprocessing
import platform
import random
import sys
import time
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from benchmarks.report import write_figures

RESULTS = Path(__file__).resolve().parent / "results"
KINDS = ("prose", "repeated", "repeated_lines", "repeated_km")
SEED = 20261207
GOAL_S = 1.0  # issue 22: a 1 MB text of the repeated kind in under a second


def _prose(size: int) -> tuple[str, str]:
    rng = random.Random(SEED)
    vocabulary = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
        for _ in range(5000)
    ]
    old: list[list[str]] = []
    new: list[list[str]] = []
    length = count = 0
    while length < size:
        if not old or len(old[-1]) == 4:
            old.append([])
            new.append([])
        words = rng.sample(vocabulary, rng.randint(8, 20))
        sentence = " ".join(words).capitalize() + "."
        old[-1].append(sentence)
        new[-1].append(sentence if count % 20 else f"Changed: {sentence.lower()}")
        length += len(sentence) + 1
        count += 1
    kept = [p for i, p in enumerate(new) if i % 50 != 49]
    return "\n".join(" ".join(p) for p in old), "\n".join(" ".join(p) for p in kept)


def _repeated(size: int, sep: str, sentence: str, changed: str) -> tuple[str, str]:
    count = size // len(f"{sentence}{sep}".encode())
    old = sep.join(sentence for _ in range(count))
    new = sep.join(sentence if i % 5 else changed.format(i) for i in range(count))
    return old, new


def texts(kind: str, size_kb: int) -> tuple[str, str]:
    size = size_kb * 1024
    if kind == "prose":
        return _prose(size)
    if kind == "repeated_km":  # "police came." / "freed {i}."
        return _repeated(size, " ", "ប៉ូលិសបានមក។", "ដោះលែង {}។")
    return _repeated(size, " " if kind == "repeated" else "\n", "Police came.", "Freed {}.")


def _best(rounds: int, work: Any) -> tuple[float, Any]:
    best, result = math.inf, None
    for _ in range(rounds):
        start = time.process_time()
        result = work()
        best = min(best, time.process_time() - start)
    return best, result


def measure(kind: str, size_kb: int, rounds: int) -> dict[str, Any]:
    """One case, in this process: the figures of the module docstring."""
    from archive.content import VersionSide, diff_versions, judge_edit, render_html

    old_text, new_text = texts(kind, size_kb)
    old = VersionSide("Title", None, None, None, old_text, "v1")
    new = VersionSide("Title", None, None, None, new_text, "v2")
    diff_s, d = _best(rounds, lambda: diff_versions(old, new))
    takes_body = "body" in inspect.signature(judge_edit).parameters
    judge_s, _ = _best(
        rounds,
        lambda: judge_edit(old, new, body=d.body) if takes_body else judge_edit(old, new),
    )
    html_s, _ = _best(rounds, lambda: render_html(d))
    return {
        "kind": kind,
        "size_kb": size_kb,
        "chars": len(old_text),
        "diff_s": round(diff_s, 4),
        "judge_s": round(judge_s, 4),
        "record_s": round(diff_s + judge_s, 4),
        "render_html_s": round(html_s, 4),
        "ops": len(d.body),
        "coarse": getattr(d, "coarse", None),
    }


def _child(conn: Connection, kind: str, size_kb: int, rounds: int) -> None:
    conn.send(measure(kind, size_kb, rounds))
    conn.close()


def run_case(kind: str, size_kb: int, rounds: int, timeout_s: float) -> dict[str, Any]:
    """``measure`` in a child process; past ``timeout_s`` the child is ended and the case
    is reported as timed out."""
    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(theirs, kind, size_kb, rounds), daemon=True)
    child.start()
    try:
        if ours.poll(timeout_s):
            result: dict[str, Any] = ours.recv()
            return result
        return {"kind": kind, "size_kb": size_kb, "timed_out_after_s": timeout_s}
    finally:
        if child.is_alive():
            child.terminate()
        child.join()


def growth(cases: list[dict[str, Any]], figure: str) -> float | None:
    """How ``figure`` grows per doubling of the size between the two largest cases that
    finished (2 is linear, 4 quadratic, 8 cubic). The largest, because a small text of
    the repeated kinds spends the whole work budget before the linear fallback, so it
    can take longer than a larger one."""
    done = [c for c in cases if figure in c and c[figure] > 0][-2:]
    if len(done) < 2 or done[-1]["size_kb"] == done[0]["size_kb"]:
        return None
    doublings = math.log2(done[-1]["size_kb"] / done[0]["size_kb"])
    return round((done[-1][figure] / done[0][figure]) ** (1 / doublings), 2)


def table(results: dict[str, Any]) -> str:
    lines = [
        "| kind | size | diff s | judge s | record s | render s | coarse |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for c in results["cases"]:
        if "timed_out_after_s" in c:
            lines.append(
                f"| {c['kind']} | {c['size_kb']} KB | > {c['timed_out_after_s']:g} | | | | |"
            )
            continue
        lines.append(
            f"| {c['kind']} | {c['size_kb']} KB | {c['diff_s']:.3f} | {c['judge_s']:.3f} | "
            f"{c['record_s']:.3f} | {c['render_html_s']:.3f} | {c['coarse']} |"
        )
    lines += ["", "| kind | diff ×/doubling | record ×/doubling |", "|---|---:|---:|"]
    for kind, g in results["growth"].items():
        lines.append(f"| {kind} | {g['diff_s']} | {g['record_s']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks diff", description=__doc__)
    parser.add_argument("--sizes-kb", default="10,30,100,300,1000")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout-s", type=float, default=120.0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes_kb.split(","))
    kinds = [k for k in args.kinds.split(",") if k]
    unknown = set(kinds) - set(KINDS)
    if unknown or not sizes or min(sizes) < 1:
        parser.error(f"--kinds from {', '.join(KINDS)}; --sizes-kb positive integers")
    cases: list[dict[str, Any]] = []
    for kind in kinds:
        for size_kb in sizes:
            case = run_case(kind, size_kb, args.rounds, args.timeout_s)
            cases.append(case)
            print(json.dumps(case), file=sys.stderr, flush=True)
            if "timed_out_after_s" in case:
                break  # a larger text of this kind would only take longer
    results: dict[str, Any] = {
        "benchmark": "diff",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "rounds": args.rounds,
        "goal": f"1 MB of the repeated kind recorded in under {GOAL_S:g} s",
        "cases": cases,
        "growth": {
            kind: {
                figure: growth([c for c in cases if c["kind"] == kind], figure)
                for figure in ("diff_s", "record_s")
            }
            for kind in kinds
        },
    }
    path = write_figures(args.out, "diff", results)
    print(table(results))
    print(f"\nwritten: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
