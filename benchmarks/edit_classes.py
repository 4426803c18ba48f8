"""`python -m benchmarks.edit_classes [--out DIR]`: precision and recall of each edit
class (archive.content.editclass) on the labelled set of benchmarks.edit_cases, English and
Khmer apart and together, with every miss and false alarm named.

Writes `edit-classes-<UTC time>.json` under DIR (default benchmarks/results) and prints
a Markdown table. The headline's tone counts as two more classes,
``headline_softened`` and ``headline_sharpened``, read from the headline's evidence.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from archive.content import CLASS_NAMES, VersionSide, judge_edit
from benchmarks.edit_cases import CASES, Case
from benchmarks.report import write_figures
from presswatch.demo.content import bulk_articles

TONES = ("headline_softened", "headline_sharpened")
RESULTS = Path(__file__).resolve().parent / "results"


def predicted(case: Case) -> tuple[frozenset[str], float]:
    judged = judge_edit(case.old, case.new)
    names = {c["class"] for c in judged["classes"]}
    for c in judged["classes"]:
        if c["class"] == "headline_changed" and c.get("tone") in ("softened", "sharpened"):
            names.add(f"headline_{c['tone']}")
    return frozenset(names), judged["significance"]


def score(cases: Iterable[Case]) -> dict[str, Any]:
    """Per class: true and false positives, false negatives, precision and recall
    (null where undefined), and the cases behind each error."""
    per: dict[str, dict[str, Any]] = {
        name: {"tp": 0, "fp": 0, "fn": 0, "false_alarms": [], "misses": []}
        for name in (*CLASS_NAMES, *TONES)
    }
    for case in cases:
        got, _ = predicted(case)
        for name, row in per.items():
            if name in got and name in case.labels:
                row["tp"] += 1
            elif name in got:
                row["fp"] += 1
                row["false_alarms"].append(case.name)
            elif name in case.labels:
                row["fn"] += 1
                row["misses"].append(case.name)
    for row in per.values():
        found, labelled = row["tp"] + row["fp"], row["tp"] + row["fn"]
        row["precision"] = round(row["tp"] / found, 3) if found else None
        row["recall"] = round(row["tp"] / labelled, 3) if labelled else None
    return per


def run() -> dict[str, Any]:
    by_lang = {lang: [c for c in CASES if c.lang == lang] for lang in ("en", "km")}
    return {
        "benchmark": "edit_classes",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cases": {
            "all": len(CASES),
            **{k: len(v) for k, v in by_lang.items()},
            "held_out": sum(c.held_out for c in CASES),
        },
        "all": score(CASES),
        **{lang: score(cases) for lang, cases in by_lang.items()},
        "held_out": score(c for c in CASES if c.held_out),
        "significance": {c.name: predicted(c)[1] for c in CASES},
        "timing": timing(),
    }


def timing() -> dict[str, float]:
    """What judging costs at capture time: the labelled edits (news-length articles),
    and a 300-paragraph article rewritten from top to bottom (the slow case)."""
    start = time.perf_counter()
    for case in CASES:
        judge_edit(case.old, case.new)
    labelled_ms = (time.perf_counter() - start) / len(CASES) * 1000
    paragraphs = [p for a in bulk_articles(80) for p in a.paragraphs]
    old = VersionSide("t", None, None, None, "\n".join(paragraphs[:300]), "")
    new = VersionSide("t", None, None, None, "\n".join(paragraphs[300:600]), "")
    start = time.perf_counter()
    judge_edit(old, new)
    rewrite_s = time.perf_counter() - start
    # Hostile text: one 200 KB line of unclosed quotes, Khmer organisation prefixes and
    # capitalised words, removed whole.
    line = " ".join(["'Unclosed Quote ក្រសួងមហាផ្ទៃបាន “opening"] * 5000)
    start = time.perf_counter()
    judge_edit(
        VersionSide("t", None, None, None, line, ""),
        VersionSide("t", None, None, None, "Short.", ""),
    )
    return {
        "labelled_mean_ms": round(labelled_ms, 2),
        "rewrite_300_paragraphs_s": round(rewrite_s, 3),
        "hostile_200kb_line_s": round(time.perf_counter() - start, 3),
    }


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"Edit classes on {result['cases']['all']} labelled edits "
        f"({result['cases']['en']} English, {result['cases']['km']} Khmer; "
        f"{result['cases']['held_out']} held out)",
        "",
        "| class | precision | recall | en P/R | km P/R | held-out P/R | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in result["all"].items():
        en, km, held = result["en"][name], result["km"][name], result["held_out"][name]
        errors = [f"missed {m}" for m in row["misses"]] + [
            f"false {f}" for f in row["false_alarms"]
        ]
        lines.append(
            f"| {name} | {_pct(row['precision'])} | {_pct(row['recall'])} | "
            f"{_pct(en['precision'])}/{_pct(en['recall'])} | "
            f"{_pct(km['precision'])}/{_pct(km['recall'])} | "
            f"{_pct(held['precision'])}/{_pct(held['recall'])} | {', '.join(errors)} |"
        )
    t = result["timing"]
    lines += [
        "",
        f"Judging one edit: {t['labelled_mean_ms']} ms on average over the labelled set; "
        f"{t['rewrite_300_paragraphs_s']} s for a 300-paragraph article rewritten whole; "
        f"{t['hostile_200kb_line_s']} s for a hostile 200 KB line.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.edit_classes")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    args = parser.parse_args(argv)
    result = run()
    path = write_figures(args.out, "edit-classes", result)
    sys.stdout.write(markdown(result))
    sys.stdout.write(f"\nwritten: {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
