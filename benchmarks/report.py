"""Results of one benchmark run: the JSON document and the markdown table.

Owns: the targets (one table, `TARGETS`, so the README and the results say the same),
deriving every ratio from the raw measurements run.py collected, and writing
benchmarks/results/<date>-<size>.json and .md. Every figure sits next to its target and
a verdict; figures without a target say so.

Must not: measure anything, or round a missed target into a met one (verdicts are
computed from the unrounded values).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

TARGETS = {
    "crawl_vs_limit": 0.8,  # first crawl pages/s >= 0.8 x trafilatura alone
    "recheck_speedup": 20.0,  # unchanged recheck >= 20x faster per article
    "recheck_bytes": 1024,  # < 1 KB per article on the wire with conditional requests
}


def _per(total: float | int | None, count: int | None) -> float | None:
    if total is None or not count:
        return None
    return total / count


def _fmt(value: float | None, digits: int = 1, unit: str = "") -> str:
    if value is None:
        return "n/a"
    text = f"{value:,.0f}" if abs(value) >= 1000 and digits <= 1 else f"{value:,.{digits}f}"
    return f"{text}{unit}"


def _verdict(ok: bool | None) -> str:
    if ok is None:
        return ""
    return "met" if ok else "**missed**"


def derive(results: dict[str, Any]) -> dict[str, Any]:
    """The figures the table shows, computed from the raw measurements."""
    size = int(results["size"])
    phases = results.get("phases", {})
    figures: dict[str, Any] = {}
    limit = results["extraction"]["trafilatura_only"]["pages_per_s"]
    first = phases["first_crawl"]
    first_s = first["seconds"] + first["index_s"]
    figures["first_crawl_pages_per_s"] = size / first_s
    figures["first_crawl_crawl_only_pages_per_s"] = size / first["seconds"]
    figures["crawl_vs_limit"] = figures["first_crawl_pages_per_s"] / limit
    cpu = first["cpu_with_index"]
    writer_s = cpu.get("cpu_writer_s", 0.0)  # absent from runs before the writer process
    crawl_cpu_ms = (cpu["cpu_main_s"] + cpu["cpu_workers_s"] + writer_s) * 1000 / size
    figures["first_crawl_cpu_ms_per_page"] = {
        "total": crawl_cpu_ms,
        "crawler_process": cpu["cpu_main_s"] * 1000 / size,
        "extraction_workers": cpu["cpu_workers_s"] * 1000 / size,
        "writer_process": writer_s * 1000 / size,
    }
    figures["crawl_vs_limit_cpu"] = (
        results["extraction"]["trafilatura_only"]["cpu_ms_per_page"] / crawl_cpu_ms
        if crawl_cpu_ms
        else None
    )
    for name in ("recheck_conditional", "recheck_full"):
        phase = phases[name]
        seconds = phase["seconds"] + phase["index_s"]
        wire = phase["articles"]["bytes_sent"] + phase["articles"]["bytes_received"]
        figures[name] = {
            "seconds": seconds,
            "speedup": first_s / seconds if seconds else None,
            "bytes_per_article": wire / size,
            "sent_per_article": phase["articles"]["bytes_sent"] / size,
            "statuses": phase["articles"]["statuses"],
            "outcomes": phase["outcomes"],
        }
    first_wire = first["articles"]["bytes_sent"] + first["articles"]["bytes_received"]
    figures["first_crawl_bytes_per_article"] = first_wire / size
    storage = results.get("storage", {})
    versions_first = size  # the first crawl makes one version per article
    figures["storage"] = {
        "per_version": {k: v / versions_first for k, v in storage["first_crawl"].items()},
        "per_unchanged_conditional": {
            k: (storage["recheck_conditional"][k] - storage["first_crawl"][k]) / size
            for k in storage["first_crawl"]
        },
        "per_unchanged_full": {
            k: (storage["recheck_full"][k] - storage["recheck_conditional"][k]) / size
            for k in storage["first_crawl"]
        },
        "raw_html_mean": results["site"]["raw_html_bytes_mean"],
    }
    return figures


def table(results: dict[str, Any]) -> str:
    f = derive(results)
    size = results["size"]
    workers = results["workers"]
    ext = results["extraction"]
    rows: list[tuple[str, str, str, str]] = []

    def row(what: str, value: str, target: str = "—", verdict: str = "") -> None:
        rows.append((what, value, target, verdict))

    site = results.get("site", {})
    if "content_note" in site:
        row("Site content", f"{site['articles']} articles made from {site['content_note']}")
    limit = ext["trafilatura_only"]["pages_per_s"]
    row(
        f"Extraction limit: trafilatura alone, {workers} processes",
        _fmt(limit, unit=" pages/s"),
        "the limit",
    )
    row(
        f"Our extraction (`extract_page`), {workers} processes",
        f"{_fmt(ext['extract_page']['pages_per_s'], unit=' pages/s')}; CPU "
        f"{_fmt(ext['extract_page']['cpu_ms_per_page'])} vs "
        f"{_fmt(ext['trafilatura_only']['cpu_ms_per_page'])} ms per page",
        "—",
    )
    ratio = f["crawl_vs_limit"]
    row(
        "**First crawl**, end to end (fetch, WARC, extract, detect, store, index)",
        f"{_fmt(f['first_crawl_pages_per_s'])} pages/s = {ratio:.2f}× the limit",
        f"≥ {TARGETS['crawl_vs_limit']}× the limit",
        _verdict(ratio >= TARGETS["crawl_vs_limit"]),
    )
    cpu = f["first_crawl_cpu_ms_per_page"]
    row(
        "  CPU per page, all processes: crawler process + extraction workers + writer",
        f"{_fmt(cpu['total'])} ms = {_fmt(cpu['crawler_process'])} + "
        f"{_fmt(cpu['extraction_workers'])} + {_fmt(cpu.get('writer_process', 0.0))} ms "
        "vs trafilatura alone "
        f"{_fmt(ext['trafilatura_only']['cpu_ms_per_page'])} ms "
        f"(= {_fmt(f['crawl_vs_limit_cpu'], 2)}× by CPU)",
    )
    row(
        "  first crawl without the index drain",
        _fmt(f["first_crawl_crawl_only_pages_per_s"], unit=" pages/s"),
    )
    row(
        "  bytes on the wire per article, first crawl",
        _fmt(f["first_crawl_bytes_per_article"], 0, " B"),
    )
    cond = f["recheck_conditional"]
    speed = cond["speedup"]
    row(
        "**Unchanged recheck, conditional requests**: speed-up per article vs first crawl",
        f"{_fmt(speed)}× ({_fmt(cond['seconds'], 1, ' s')})",
        f"≥ {TARGETS['recheck_speedup']:.0f}×",
        _verdict(speed is not None and speed >= TARGETS["recheck_speedup"]),
    )
    row(
        "  bytes on the wire per article (request + response)",
        _fmt(cond["bytes_per_article"], 0, " B"),
        "< 1 KB",
        _verdict(cond["bytes_per_article"] < TARGETS["recheck_bytes"]),
    )
    row("  answers", ", ".join(f"{k}: {v}" for k, v in sorted(cond["statuses"].items())))
    full = f["recheck_full"]
    row(
        "Unchanged recheck, full fetch (site without ETag/Last-Modified): speed-up",
        f"{_fmt(full['speedup'])}× ({_fmt(full['seconds'], 1, ' s')})",
        "reported",
    )
    row("  bytes on the wire per article", _fmt(full["bytes_per_article"], 0, " B"), "reported")

    q = results["quality"]
    row(f"**Detection** ({q['mutated']} of {q['articles']} articles mutated, 2 rechecks)", "")
    row(
        "  false takedowns", str(len(q["false_takedowns"])), "0", _verdict(not q["false_takedowns"])
    )
    row("  false edits", str(len(q["false_edits"])), "0", _verdict(not q["false_edits"]))
    row(
        "  recall, edits (small, medium, large, headline)",
        _fmt(q["recall_edits"], 3),
        "1.0",
        _verdict(q["recall_edits"] == 1.0),
    )
    row(
        "  recall, removals after confirmation (404, 410, redirect home, soft-404)",
        _fmt(q["recall_removals_after_confirmation"], 3),
        "1.0",
        _verdict(q["recall_removals_after_confirmation"] == 1.0),
    )
    row(
        "  removals reported on the first sighting (rule 3)",
        str(len(q["removed_on_first_sighting"])),
        "0",
        _verdict(not q["removed_on_first_sighting"]),
    )
    row(
        "  events on the two unchanged rechecks",
        str(len(results["unchanged_recheck_events"])),
        "0",
        _verdict(not results["unchanged_recheck_events"]),
    )
    row(
        "  wrong `how` (edit part or removal reason)",
        str(len(q["wrong_how"])),
        "0",
        _verdict(not q["wrong_how"]),
    )
    for kind, s in q["per_event_kind"].items():
        row(
            f"  `{kind}`: precision / recall",
            f"{_fmt(s['precision'], 3)} / {_fmt(s['recall'], 3)} "
            f"({s['true_positives']} of {s['expected']} expected, {s['reported']} reported)",
        )

    search = results["search"]
    at_n = search["at_n"]
    lat = at_n["latency_ms"]
    row(
        f"**Search** at N = {at_n['versions']:,} versions: index rebuild",
        _fmt(at_n["versions_per_s"], unit=" versions/s"),
    )
    row(
        f"  query latency p50 / p95 / p99 ({lat['queries']} queries × {lat['runs_per_query']})",
        f"{lat['p50']} / {lat['p95']} / {lat['p99']} ms",
    )
    row(
        "  unique-word recall (200 articles' own made-up word)",
        _fmt(at_n["unique_word_recall"], 3),
        "1.0",
        _verdict(at_n["unique_word_recall"] == 1.0),
    )
    km = at_n["khmer"]
    row(
        f"  Khmer recall ({km['words']} fixture words × their articles, {km['pairs']} pairs)",
        _fmt(km["recall"], 3),
        "1.0",
        _verdict(km["recall"] == 1.0),
    )
    if "synthetic" in search:
        syn = search["synthetic"]
        sl = syn["latency_ms"]
        row(
            f"  at {syn['versions']:,} versions (search_bench): index throughput",
            _fmt(syn["index"]["versions_per_second"], unit=" versions/s"),
        )
        row(
            f"  at {syn['versions']:,} versions: latency p50 / p95 / p99",
            f"{sl['p50']} / {sl['p95']} / {sl['p99']} ms",
        )
        if syn.get("text_bytes_per_version"):  # runs before 2026-12-07 lack it
            per, text = syn["index_bytes_per_version"], syn["text_bytes_per_version"]
            row(
                f"  at {syn['versions']:,} versions: index bytes per version",
                f"{_fmt(per, 0, ' B')} = {per / text:.2f}× the text it indexes "
                f"({_fmt(text, 0, ' B')})",
                "≤ 1.0×",
                _verdict(per <= text),
            )

    st = f["storage"]
    pv, pc, pf = st["per_version"], st["per_unchanged_conditional"], st["per_unchanged_full"]
    row(
        "**Storage** per version (DB + WARC + index), first crawl",
        f"{_fmt(pv['total'], 0, ' B')} = {pv['total'] / st['raw_html_mean']:.2f}× the raw HTML "
        f"({_fmt(st['raw_html_mean'], 0, ' B')})",
        "reported",
    )
    row(
        "  of which DB / WARC / index",
        f"{_fmt(pv['db'], 0)} / {_fmt(pv['warc'], 0)} / {_fmt(pv['index'], 0)} B",
    )
    row(
        "  per unchanged capture, conditional (304): DB / WARC",
        f"{_fmt(pc['total'], 0, ' B')}: {_fmt(pc['db'], 0)} / {_fmt(pc['warc'], 0)} B",
        "reported",
    )
    row(
        "  per unchanged capture, full fetch (WARC revisit)", _fmt(pf["total"], 0, " B"), "reported"
    )

    peer = results.get("peer", {})
    if peer.get("skipped"):
        row("**news-please**", "skipped (--skip-peer)")
    elif "error" in peer:
        row("**news-please**", f"could not run here: {peer['error'][:300]}")
    elif "first" in peer:
        p1 = peer["first"]
        ours = f["first_crawl_pages_per_s"]
        theirs = p1["pages_per_s"]
        row(
            f"**news-please {peer.get('version', '')}** first crawl ({p1['urls']} of {size} "
            "articles, 1 process)",
            f"{_fmt(theirs, 2)} pages/s; Presswatch {_fmt(ours)} = {ours / theirs:.1f}× faster"
            if theirs
            else "n/a",
        )
        kept = p1["json_records_written"]
        row(
            "  storage per article kept (HTML + JSON)",
            f"{_fmt(_per(p1['bytes_written'], kept), 0, ' B')} vs Presswatch "
            f"{_fmt(pv['total'], 0, ' B')}",
        )
        row(
            "  articles kept of those scraped",
            f"{kept} of {p1['items_scraped']} (files named by URL directory + second: "
            "same-second downloads overwrite each other)",
        )
        if "recheck" in peer:
            p2 = peer["recheck"]
            wire = p2["site"]["bytes_sent"] + p2["site"]["bytes_received"]
            row(
                "  recheck: bytes on the wire per article",
                f"{_fmt(wire / p2['urls'], 0, ' B')} (no conditional requests) vs Presswatch "
                f"{_fmt(cond['bytes_per_article'], 0, ' B')}",
            )
            copy = _per(p2["bytes_written"], p2["json_records_written"])
            row(
                "  recheck: what an unchanged article costs in storage",
                f"a full copy, {_fmt(copy, 0, ' B')} (HTML + JSON), for each of "
                f"{p2['items_scraped']} pages answered 200 vs Presswatch "
                f"{_fmt(pc['total'], 0, ' B')} per 304 capture",
            )
            for kind, what in peer.get("what_recheck_recorded", {}).items():
                row(f"  recheck recorded, `{kind}`", _describe(what))
        elif "recheck_error" in peer:
            row("  recheck", f"failed: {peer['recheck_error'][:300]}")

    header = "| figure | measured | target | verdict |\n|---|---|---|---|\n"
    body = "\n".join(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows)
    return header + body + "\n"


def _describe(what: dict[str, int]) -> str:
    return "; ".join(f"{n}× {label}" for label, n in sorted(what.items(), key=lambda x: -x[1]))


def markdown(results: dict[str, Any]) -> str:
    phases = results.get("phases", {})
    lines = [
        f"# Benchmark: {results['size']} articles, {results['at']}",
        "",
        f"Command: `{results['command'].strip()}` — {results['machine']['cpus']} CPUs, "
        f"Python {results['machine']['python']}, SQLite {results['machine']['sqlite']}; "
        f"{results['workers']} extraction processes, {results['concurrency']} parallel "
        f"requests; whole run {results['wall_s']} s; commit "
        f"{results.get('code', {}).get('commit', '?')[:10]}"
        f"{' (with uncommitted changes)' if results.get('code', {}).get('dirty') else ''}; "
        f"load average before/after {results['machine'].get('load_before')} / "
        f"{results['machine'].get('load_after')}.",
        "",
        table(results),
        "Phase times (crawl + index drain):",
        "",
    ]
    for name, phase in phases.items():
        lines.append(
            f"- {name}: {phase['seconds']} s + {phase['index_s']} s; outcomes "
            + ", ".join(f"{k} {v}" for k, v in sorted(phase["outcomes"].items()))
            + f"; site CPU {phase['articles']['site_cpu_s']} s"
        )
    if results.get("crawl_problems"):
        lines += ["", "Crawl problems reported:", ""]
        lines += [f"- {p}" for p in results["crawl_problems"][:20]]
    q = results["quality"]
    for key, title in (
        ("false_takedowns", "False takedowns"),
        ("false_edits", "False edits"),
        ("missed", "Missed"),
        ("wrong_how", "Wrong how"),
    ):
        if q[key]:
            lines += ["", f"{title}:", ""]
            lines += [f"- {json.dumps(item, ensure_ascii=False)}" for item in q[key][:20]]
    return "\n".join(lines) + "\n"


def write_figures(out: Path, name: str, figures: Any) -> Path:
    """One benchmark's figures as `out/<name>-<UTC time>.json` (the other benchmarks'
    results; `write` below is the main run's, named by date and size)."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def write(results: dict[str, Any], out: Path) -> tuple[Path, Path, str]:
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{datetime.now(UTC):%Y-%m-%d}-{results['size']}"
    results["derived"] = derive(results)
    json_path = out / f"{stem}.json"
    json_path.write_text(
        json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    md = markdown(results)
    md_path = out / f"{stem}.md"
    md_path.write_text(md, encoding="utf-8")
    return json_path, md_path, table(results)
