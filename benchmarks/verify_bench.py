"""How fast `presswatch verify` checks an archive, and its peak memory.

    python -m benchmarks verify [--captures 100000] [--articles 1000] [--database-url URL]

Builds an archive of `--captures` captures through `record_capture` (the real write
path: WARC records and revisits, versions, events, leaves sealed into the log): the
articles of `presswatch.demo.content.bulk_articles`, rechecked round after round; each
round 5% of them get one more appended "Update k" line, new bytes (a new WARC response
record) that detection mostly judges boilerplate, since the same line appears in many
articles, so few become new versions. Each distinct page is extracted once and its
extraction reused for identical bytes (extraction is benchmarked elsewhere). Then signs a
checkpoint, times `presswatch verify --json --against` that checkpoint in a fresh
process (captures/s, peak RSS of that process) and one inclusion proof. Writes
benchmarks/results/verify-<date>-<captures>.json.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from archive.capture import Exchange, extract_exchange, record_capture
from archive.content import Extracted
from archive.log import capture_proof, issue_checkpoint
from archive.store import Capture
from presswatch.demo.content import DemoArticle, bulk_articles
from presswatch.runtime import Runtime
from presswatch.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def page(article: DemoArticle, edits: int) -> bytes:
    paragraphs = list(article.paragraphs) + [
        f"Update {k}: officials commented." for k in range(edits)
    ]
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (
        f"<!doctype html><html lang=en><head><title>{html.escape(article.title)}</title>"
        f'<meta property="og:title" content="{html.escape(article.title)}"></head><body>'
        f"<main><article><h1>{html.escape(article.title)}</h1>"
        f'<p class="byline">{html.escape(article.byline)}</p>{body}</article></main>'
        "</body></html>"
    ).encode()


def build(runtime: Runtime, captures: int, n_articles: int, batch: int = 100) -> dict[str, float]:
    articles = bulk_articles(n_articles)
    options = runtime.record_options()
    edits = [0] * n_articles
    cache: dict[tuple[int, int], Extracted | None] = {}
    started = time.perf_counter()
    done = 0
    round_no = 0
    while done < captures:
        pending: list[tuple[Exchange, Extracted | None]] = []
        for i, article in enumerate(articles):
            if done + len(pending) >= captures:
                break
            if round_no and (i + round_no) % 20 == 0:
                edits[i] += 1
            url = f"https://bench.example/{article.slug}/"
            exchange = Exchange(
                requested_url=url,
                final_url=url,
                fetched_at=T0 + timedelta(hours=round_no, seconds=i),
                status=200,
                headers=(("Content-Type", "text/html; charset=utf-8"),),
                body=page(article, edits[i]),
            )
            key = (i, edits[i])
            if key not in cache:
                cache[key] = extract_exchange(exchange, options.max_body_bytes)
            pending.append((exchange, cache[key]))
        for start in range(0, len(pending), batch):
            with runtime.sessions.begin() as session:
                for exchange, extracted in pending[start : start + batch]:
                    record_capture(
                        session, exchange, warc=runtime.warc, options=options, extracted=extracted
                    )
        done += len(pending)
        round_no += 1
        print(f"  built {done:,} captures", file=sys.stderr)
    elapsed = time.perf_counter() - started
    return {"build_s": round(elapsed, 1), "record_per_s": round(captures / elapsed, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks verify", description=__doc__)
    parser.add_argument("--captures", type=int, default=100_000)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--work", type=Path, default=None, help="scratch dir (default: a temp dir)")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="verify the archive an earlier run built in --work (no build, no new checkpoint)",
    )
    args = parser.parse_args(argv)
    if args.reuse and args.work is None:
        parser.error("--reuse needs --work DIR")

    work = args.work or Path(tempfile.mkdtemp(prefix="pw-verify-bench-"))
    data = work / "data"
    runtime = Runtime(Settings(data_dir=data, database_url=args.database_url))
    runtime.init()
    figures: dict[str, object] = {
        "captures": args.captures,
        "articles": args.articles,
        "database": "postgresql" if args.database_url else "sqlite",
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
    }
    published = work / "published.checkpoint"
    if args.reuse:
        figures["build"] = "reused"  # built and signed by an earlier run
    else:
        figures["build"] = build(runtime, args.captures, args.articles)
        t = time.perf_counter()
        note = issue_checkpoint(runtime.sessions, runtime.log_signer()).note
        figures["checkpoint_s"] = round(time.perf_counter() - t, 3)
        published.write_text(note, encoding="utf-8")
    with runtime.read_sessions() as session:
        middle = session.scalars(select(Capture).where(Capture.seq == args.captures // 2)).one()
        t = time.perf_counter()
        proof = capture_proof(session, middle)
        figures["inclusion_proof_s"] = round(time.perf_counter() - t, 3)
        figures["inclusion_proof_hashes"] = len(proof.hashes)
        stored = session.scalar(select(func.count()).select_from(Capture.__table__)) or 0
    figures["warc_bytes"] = sum(p.stat().st_size for p in runtime.settings.warc_dir.rglob("*"))
    runtime.close()

    command = [sys.executable, "-m", "presswatch.cli", "--data-dir", str(data)]
    if args.database_url:
        command += ["--database-url", args.database_url]
    command += ["verify", "--json", "--against", str(published)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSWATCH_")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    report = json.loads(result.stdout)
    if result.returncode != 0 or report["captures_checked"] != stored:
        print(result.stderr, file=sys.stderr)
        return 1
    figures["load_average"] = os.getloadavg()
    figures["verify"] = {
        "wall_s": round(elapsed, 1),
        "captures_per_s": round(report["captures_checked"] / elapsed, 1),
        "cpu_s": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 1),
        # ru_maxrss of the verify process (the largest child so far: the only one).
        "peak_rss_mb": round(after.ru_maxrss / 1024, 1),
        "versions_checked": report["versions_checked"],
        "tree_size": report["tree_size"],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"verify-{datetime.now(UTC):%Y-%m-%d}-{args.captures}.json"
    out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(figures, indent=2))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
