"""Archive-core figures: record_capture throughput and storage per version.

    python -m benchmarks.archive_bench [--rounds 4] [--database-url URL]

Records every shared fixture page (../shared/fixtures) under distinct URLs for
`--rounds` rounds: round 1 makes new articles, the others re-record identical bytes
(unchanged: a Capture and a WARC revisit only), and one round edits each page. Reports
captures/s per kind, with extraction timed apart, and bytes per version and per
unchanged capture (DB + WARC) next to the raw HTML size. Writes JSON to
benchmarks/results/archive-<date>.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from archive.capture import Exchange, extract_exchange, record_capture
from presswatch.runtime import Runtime
from presswatch.settings import Settings

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
RESULTS = Path(__file__).resolve().parent / "results"


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--copies", type=int, default=4, help="URLs per fixture page")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    manifest = json.loads((FIXTURES / "pages.json").read_text(encoding="utf-8"))
    pages = [(FIXTURES / p["file"]).read_bytes() for p in manifest["pages"]]
    raw_bytes = sum(len(b) for b in pages) * args.copies
    work = Path(tempfile.mkdtemp(prefix="pw-archive-bench-"))
    runtime = Runtime(Settings(data_dir=work / "data", database_url=args.database_url))
    runtime.init()
    options = runtime.record_options()
    t0 = datetime(2026, 1, 1, tzinfo=UTC)

    def exchanges(round_no: int, edit: bool) -> list[Exchange]:
        out = []
        for i, body in enumerate(pages):
            for copy in range(args.copies):
                if edit:
                    body = body.replace(b"</p>", b" Updated.</p>", 1)
                out.append(
                    Exchange(
                        requested_url=f"https://bench.example/a/{i}-{copy}/",
                        final_url=f"https://bench.example/a/{i}-{copy}/",
                        fetched_at=t0 + timedelta(hours=round_no, seconds=i * 10 + copy),
                        status=200,
                        headers=(("Content-Type", "text/html"),),
                        body=body,
                    )
                )
        return out

    figures: dict[str, object] = {"pages": len(pages) * args.copies, "rounds": args.rounds}
    db_before = 0
    added: dict[str, int] = {}
    for round_no in range(args.rounds):
        kind = "unchanged"
        if round_no == 0:
            kind = "new"
        elif round_no == args.rounds - 1:
            kind = "edited"
        batch = exchanges(round_no, edit=kind == "edited")
        t_extract = time.perf_counter()
        extracted = [extract_exchange(ex, options.max_body_bytes) for ex in batch]
        extract_s = time.perf_counter() - t_extract
        t_record = time.perf_counter()
        for ex, ext in zip(batch, extracted, strict=True):
            with runtime.sessions.begin() as session:
                record_capture(session, ex, warc=runtime.warc, options=options, extracted=ext)
        record_s = time.perf_counter() - t_record
        key = f"round{round_no + 1}_{kind}"
        figures[key] = {
            "captures": len(batch),
            "extract_per_s": round(len(batch) / extract_s, 1),
            "record_per_s_after_extraction": round(len(batch) / record_s, 1),
            "end_to_end_per_s": round(len(batch) / (extract_s + record_s), 1),
        }
        size = dir_size(work / "data")
        added[key] = size - db_before
        figures[key]["storage_added_bytes"] = added[key]  # type: ignore[index]
        db_before = size

    with runtime.sessions() as session:
        from sqlalchemy import func, select

        from archive.store import Capture, Version

        versions = session.scalar(select(func.count()).select_from(Version)) or 0
        captures = session.scalar(select(func.count()).select_from(Capture)) or 0
    n_pages = len(pages) * args.copies
    figures["versions"] = versions
    figures["captures"] = captures
    figures["raw_html_bytes_per_page"] = raw_bytes // n_pages
    figures["bytes_per_new_version"] = added["round1_new"] // n_pages
    if "round2_unchanged" in added:
        figures["bytes_per_unchanged_capture"] = added["round2_unchanged"] // n_pages
    figures["database"] = "postgresql" if args.database_url else "sqlite"
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"archive-{datetime.now(UTC):%Y-%m-%d}-{figures['database']}.json"
    out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(figures, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
