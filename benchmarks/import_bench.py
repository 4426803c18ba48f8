"""`python -m benchmarks.import_bench [--record-mb 400] [--out DIR] [--work DIR]`: the peak
memory of `presswatch import` on one huge WARC record, plain and gzipped, against a tiny
record (the fixed cost of Python and our imports), each in its own process.

The issue this answers: a 400 MB record took 924 MB. The importer streams a record in
pieces and keeps at most `max_body_bytes` of it (default 20 MB), so the peak should not
follow the record's size. Peak RSS is the kernel's (`wait4` of the child), not an
estimate; figures go to `DIR/import-<date>.json` and are printed as a table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

REPO = Path(__file__).resolve().parents[1]
URL = "https://ledger.example/news/huge-record/"
LINE = b"<p>" + b"Sihanoukville compound " * 40 + b"</p>\n"


def write_record(path: Path, body: Path, *, gzip: bool) -> None:
    """One response record whose payload is the file `body`, streamed (digests by warcio)."""
    headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
    with open(path, "wb") as out, open(body, "rb") as payload:
        writer = WARCWriter(out, gzip=gzip)
        writer.write_record(
            writer.create_warc_record(
                URL,
                "response",
                payload=payload,
                length=body.stat().st_size,
                http_headers=headers,
                warc_headers_dict={"WARC-Date": "2026-01-01T10:00:00Z"},
            )
        )


def peak_rss_of_import(warc: Path, data_dir: Path) -> tuple[int, float, int]:
    """(peak RSS in bytes, seconds, exit code) of `presswatch import` in a fresh archive."""
    cli = [sys.executable, "-m", "presswatch.cli", "--data-dir", str(data_dir)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSWATCH_")}
    subprocess.run([*cli, "init"], check=True, env=env, cwd=REPO)
    started = time.monotonic()
    proc = subprocess.Popen(
        [*cli, "import", str(warc), "--json"],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss * 1024, time.monotonic() - started, proc.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.import_bench")
    parser.add_argument("--record-mb", type=int, default=400)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks" / "work" / "import")
    args = parser.parse_args(argv)
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    tiny, body = work / "tiny.html", work / "body.html"
    tiny.write_bytes(LINE)
    with open(body, "wb") as fh:
        for _ in range(args.record_mb * 1024 * 1024 // len(LINE)):
            fh.write(LINE)
    cases = {
        "tiny record": (tiny, False),
        "plain .warc": (body, False),
        "gzipped .warc.gz": (body, True),
    }
    rows = []
    for name, (source, gzip) in cases.items():
        warc = work / f"{name.split()[0]}.warc{'.gz' if gzip else ''}"
        write_record(warc, source, gzip=gzip)
        data_dir = work / f"data-{name.split()[0]}"
        if data_dir.exists():
            subprocess.run(["rm", "-rf", str(data_dir)], check=True)
        rss, seconds, code = peak_rss_of_import(warc, data_dir)
        rows.append(
            {
                "case": name,
                "record_bytes": source.stat().st_size,
                "file_bytes": warc.stat().st_size,
                "peak_rss_bytes": rss,
                "seconds": round(seconds, 2),
                "exit_code": code,
            }
        )
        warc.unlink()
    body.unlink()
    tiny.unlink()
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    result = {"measured_at": datetime.now(UTC).isoformat(), "rows": rows}
    (args.out / f"import-{stamp}.json").write_text(json.dumps(result, indent=2) + "\n")
    print("| case | record | file | peak RSS | time |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['case']} | {r['record_bytes'] / 1e6:.0f} MB | {r['file_bytes'] / 1e6:.1f} MB "
            f"| {r['peak_rss_bytes'] / 1e6:.0f} MB | {r['seconds']} s |"
        )
    return 0 if all(r["exit_code"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
