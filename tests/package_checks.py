"""Exported packages, read and checked as an outsider would: the `wacz validate` CLI
(py-wacz), the WARC records inside a WACZ, a package's files and its evidence
manifest, and a package written back after an alteration (rehashed as a forger
would); and the CLI on a runtime's data dir, as the export tests run it.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from typer.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator

from benchmarks.package_bench import rehash as rehash_package
from presswatch.cli import app
from presswatch.runtime import Runtime
from tests.conftest import skip_unless_ci

Files = dict[str, bytes]


def wacz_cli() -> Path:
    exe = Path(sys.executable).parent / "wacz"
    if not exe.exists():
        skip_unless_ci("the `wacz` CLI (py-wacz, test extra) is not installed")
    return exe


def wacz_validate(package: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(wacz_cli()), "validate", "-f", str(package)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def cli(rt: Runtime, *args: str) -> Any:
    return CliRunner().invoke(app, ["--data-dir", str(rt.settings.data_dir), *args])


def records_in(package: Path) -> dict[str, list[tuple[str, str, bytes]]]:
    """Per WARC file of the package: (type, target URI, gzip member bytes) of each record,
    read with warcio (which raises on any damaged record)."""
    out: dict[str, list[tuple[str, str, bytes]]] = {}
    with zipfile.ZipFile(package) as zf:
        for name in zf.namelist():
            if not name.startswith("archive/"):
                continue
            data = zf.read(name)
            it = ArchiveIterator(io.BytesIO(data))
            rows = []
            for record in it:
                record.content_stream().read()
                it.read_to_end(record)
                offset, length = it.get_record_offset(), it.get_record_length()
                rows.append(
                    (
                        record.rec_type,
                        record.rec_headers.get_header("WARC-Target-URI") or "",
                        data[offset : offset + length],
                    )
                )
            out[name] = rows
    return out


def read(package: Path) -> Files:
    with zipfile.ZipFile(package) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def write(files: Files, out: Path, *, rehash: bool = True) -> Path:
    """The package with `files`; with `rehash`, datapackage.json and its digest are
    recomputed, as a forger would, so only the evidence checks can catch the change."""
    files = rehash_package(dict(files)) if rehash else files
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return out


def manifest_of(files: Files) -> dict[str, Any]:
    return json.loads(files["evidence/manifest.json"])
