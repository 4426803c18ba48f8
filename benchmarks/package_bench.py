"""How long and how much memory `python -m presswatch.verify_package` takes, on a
genuine evidence package and on hostile ones built to stall it.

    python -m benchmarks verify-package [--captures 2000] [--out DIR]

Builds one article of `--captures` captures through the real write path (an edit every
20 checks: versions, diffs, revisits), exports its evidence package, then runs the
verifier in a fresh process on each case below and reports its exit code, wall time and
peak RSS (from wait4):

- genuine: the package as exported, with the published key file;
- zip bomb: a WARC member of 512 MiB of zeros deflated into about 0.5 MiB;
- stored giant: a 256 MiB stored WARC member whose record reference is widened over it;
- deep JSON: 200,000 nested `[` as the manifest;
- small values: a manifest of 5 million empty objects;
- many entries: the manifest listing its captures 20,000 times.

Writes benchmarks/results/verify-package-<date>-<captures>.json. Goal (issue #21):
every case answered within 10 s and 200 MB.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from archive.formats import export_evidence
from benchmarks.verify_bench import build
from presswatch.runtime import Runtime
from presswatch.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"
Files = dict[str, bytes]


def rehash(files: Files) -> Files:
    """datapackage.json and its digest recomputed over `files`, as a forger would (the
    forgery tests use it too), so only the evidence checks can catch a change."""
    package = json.loads(files["datapackage.json"])
    package["resources"] = [
        {
            "name": name.rsplit("/", 1)[-1],
            "path": name,
            "hash": "sha256:" + hashlib.sha256(data).hexdigest(),
            "bytes": len(data),
        }
        for name, data in files.items()
        if name not in ("datapackage.json", "datapackage-digest.json")
    ]
    files["datapackage.json"] = json.dumps(package).encode()
    digest = hashlib.sha256(files["datapackage.json"]).hexdigest()
    files["datapackage-digest.json"] = json.dumps(
        {"path": "datapackage.json", "hash": f"sha256:{digest}"}
    ).encode()
    return files


def _write(files: Files, out: Path, big: tuple[str, int, int] | None = None) -> Path:
    """The package; `big` is (member name, MiB of zeros, compression) written streaming."""
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        if big is not None:
            info = zipfile.ZipInfo(big[0])
            info.compress_type = big[2]
            with zf.open(info, "w", force_zip64=True) as fh:
                zeros = bytes(1 << 20)
                for _ in range(big[1]):
                    fh.write(zeros)
    return out


def _warc_name(files: Files) -> str:
    return next(n for n in files if n.startswith("archive/"))


def zip_bomb(files: Files, out: Path) -> Path:
    name = _warc_name(files)
    rest = {n: d for n, d in files.items() if n != name}
    return _write(rest, out, (name, 512, zipfile.ZIP_DEFLATED))


def stored_giant(files: Files, out: Path) -> Path:
    name = _warc_name(files)
    manifest = json.loads(files["evidence/manifest.json"])
    first = manifest["captures"][0]
    first["record"]["length"] = 256 << 20
    files["evidence/manifest.json"] = json.dumps(manifest).encode()
    rest = {n: d for n, d in files.items() if n != name}
    return _write(rest, out, (name, 256, zipfile.ZIP_STORED))


def deep_json(files: Files, out: Path) -> Path:
    files["evidence/manifest.json"] = b"[" * 200_000
    return _write(rehash(files), out)


def many_entries(files: Files, out: Path) -> Path:
    manifest = json.loads(files["evidence/manifest.json"])
    captures = manifest["captures"]
    manifest["captures"] = (captures * (20_000 // len(captures) + 1))[:20_000]
    files["evidence/manifest.json"] = json.dumps(manifest).encode()
    return _write(rehash(files), out)


def small_values(files: Files, out: Path) -> Path:
    files["evidence/manifest.json"] = b"[" + b"{}," * (5 << 20) + b"{}]"
    return _write(rehash(files), out)


def genuine(files: Files, out: Path) -> Path:
    return _write(files, out)


CASES: dict[str, Callable[[Files, Path], Path]] = {
    "genuine": genuine,
    "zip bomb (512 MiB deflated)": zip_bomb,
    "stored giant (256 MiB, reference widened)": stored_giant,
    "deep JSON (200,000 levels)": deep_json,
    "15 MiB of empty objects": small_values,
    "many entries (20,000 captures listed)": many_entries,
}


# The verifier run through runpy, reporting its own VmHWM at exit: ru_maxrss from wait4
# would count the pages this (large) process had when it forked the child.
_MEASURED = (
    "import runpy, sys\n"
    "sys.argv = ['verify_package', *sys.argv[1:]]\n"
    "try:\n"
    "    runpy.run_module('presswatch.verify_package', run_name='__main__')\n"
    "finally:\n"
    "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
    "    sys.stderr.write('\\n' + hwm)\n"
)


@dataclass(frozen=True, slots=True)
class Measured:
    exit: int
    wall_s: float
    peak_rss_bytes: int
    stderr: str  # what the verifier printed there (the VmHWM line taken off)

    def figures(self) -> dict[str, object]:
        return {
            "exit": self.exit,
            "wall_s": round(self.wall_s, 2),
            "peak_rss_mb": round(self.peak_rss_bytes / (1 << 20), 1),
        }


def run_measured(package: Path, key: Path) -> Measured:
    """The verifier on `package` in a new process: exit code, wall time, peak RSS."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSWATCH_")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-c", _MEASURED, str(package), "--public-key", str(key), "--json"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, check=False, timeout=600,
    )  # fmt: skip
    wall = time.perf_counter() - started
    err, _, hwm = run.stderr.decode().rpartition("\nVmHWM:")
    return Measured(run.returncode, wall, int(hwm.split()[0]) * 1024, err)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks verify-package", description=__doc__
    )
    parser.add_argument("--captures", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="pw-package-bench-"))
    runtime = Runtime(Settings(data_dir=work / "data"))
    runtime.init()
    figures: dict[str, object] = {
        "captures": args.captures,
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
    }
    figures["build"] = build(runtime, args.captures, 1)
    runtime.warc.close()
    signer = runtime.log_signer()
    package = work / "story.wacz"
    summary = export_evidence(
        runtime.sessions,
        runtime.settings.warc_dir,
        package,
        url_or_id="1",
        signer=signer,
    )
    key = work / "presswatch-log.pub"
    key.write_text(signer.verifier_key + "\n" + signer.public_pem(), encoding="utf-8")
    runtime.close()
    figures["package"] = {
        "bytes": package.stat().st_size,
        "captures": summary.captures,
        "versions": summary.versions,
        "events": summary.events,
    }
    with zipfile.ZipFile(package) as zf:
        original = {name: zf.read(name) for name in zf.namelist()}
    results = {}
    for name, make in CASES.items():
        path = make(dict(original), work / "case.wacz")
        results[name] = {"package_bytes": path.stat().st_size, **run_measured(path, key).figures()}
        path.unlink()
        print(f"  {name}: {results[name]}", file=sys.stderr)
    figures["cases"] = results
    shutil.rmtree(work, ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"verify-package-{datetime.now(UTC):%Y-%m-%d}-{args.captures}.json"
    out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(figures, indent=2))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
