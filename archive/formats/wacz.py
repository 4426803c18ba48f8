"""WACZ 1.1.1 packages (https://specs.webrecorder.net/wacz/1.1.1/) of archived records.

Owns the package layout; knows which records a capture has, not what they mean:

    archive/<name>.warc.gz   the selected records, copied byte for byte (each is its own
                             gzip member, so a copy is a valid .warc.gz); one file per
                             WARC file of ours they come from, records in their order,
                             with that file's `warcinfo` record first when it has one
    indexes/index.cdx        CDXJ of those files (cdxj-indexer), for replay tools
    pages/pages.jsonl        entry points: one line per capture of an article page
    <folder>/<file>          extra files of the caller (the evidence manifest…)
    datapackage.json         every file above with its sha256 and size
    datapackage-digest.json  the sha256 of datapackage.json

WARC files are stored in the zip uncompressed (they are gzip already, and a replay
tool reads them by offset), the rest deflated. The package is written to a temporary
file beside the target and renamed into place: a failed export leaves no half package.
We assemble the zip ourselves rather than calling `wacz create`, because it would
re-detect pages and cannot carry our extra files; `wacz validate` checks the result.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator

from archive.errors import StorageError
from archive.warc.cdxj import cdxj_text
from archive.warc.files import temp_beside

WACZ_VERSION = "1.1.1"
PAGES_PATH = "pages/pages.jsonl"
INDEX_PATH = "indexes/index.cdx"
_CHUNK = 1 << 20
# A request record is headers only; anything longer after a response is not ours.
_MAX_REQUEST_BYTES = 1 << 20


@dataclass(frozen=True, slots=True, order=True)
class RecordSpan:
    """One record's bytes: a WARC file name, offset and length."""

    file: str
    offset: int
    length: int


@dataclass(frozen=True, slots=True)
class Page:
    """An entry point of the package: what a replay tool lists."""

    id: str
    url: str
    ts: datetime
    title: str | None = None


@dataclass
class Packed:
    """Where each source span landed in the package's WARC files (`archive/<file>`)."""

    files: dict[str, Path] = field(default_factory=dict)  # package name -> temp file
    spans: dict[RecordSpan, RecordSpan] = field(default_factory=dict)
    warcinfo: dict[str, RecordSpan] = field(default_factory=dict)  # file -> its warcinfo


@dataclass(frozen=True, slots=True)
class WaczSummary:
    path: Path
    records: int
    warc_files: int
    pages: int
    bytes: int


def iso_z(at: datetime) -> str:
    """A UTC timestamp as WACZ writes them (`2026-03-01T08:00:00.123456Z`)."""
    at = at.astimezone(UTC)
    spec = "microseconds" if at.microsecond else "seconds"
    return at.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def _record_after(warc_dir: Path, span: RecordSpan) -> tuple[str, str | None, int] | None:
    """(type, WARC-Concurrent-To, length) of the record right after `span`, or None."""
    path = warc_dir / Path(span.file).name
    try:
        with open(path, "rb") as fh:
            fh.seek(span.offset + span.length)
            it = ArchiveIterator(fh)
            for record in it:
                if record.rec_type != "request":
                    return None
                if record.length > _MAX_REQUEST_BYTES:
                    return None
                record.content_stream().read()
                concurrent = record.rec_headers.get_header("WARC-Concurrent-To")
                it.read_to_end(record)
                return record.rec_type, concurrent, it.get_record_length()
    except OSError as exc:
        raise StorageError(f"cannot read WARC file {path}: {exc}") from exc
    except Exception:  # boundary: a damaged tail is "no request record", not a crash
        return None
    return None


def _record_id(warc_dir: Path, span: RecordSpan) -> str | None:
    """The WARC-Record-ID of the record at `span` (its headers only are read)."""
    path = warc_dir / Path(span.file).name
    # boundary: an unreadable record has no id (and gets no request record)
    with contextlib.suppress(Exception), open(path, "rb") as fh:
        fh.seek(span.offset)
        for record in ArchiveIterator(fh):
            value = record.rec_headers.get_header("WARC-Record-ID")
            return str(value) if value else None
    return None


def request_span(warc_dir: Path, span: RecordSpan) -> RecordSpan | None:
    """The `request` record the WARC store writes right after a response or revisit
    (WARC-Concurrent-To its id), or None when there is none."""
    after = _record_after(warc_dir, span)
    if after is None:
        return None
    _, concurrent, length = after
    if concurrent is None or concurrent != _record_id(warc_dir, span):
        return None
    return RecordSpan(span.file, span.offset + span.length, length)


def warcinfo_span(warc_dir: Path, file: str) -> RecordSpan | None:
    """The file's first record when it is a `warcinfo` record."""
    path = warc_dir / Path(file).name
    # boundary: an unreadable first record means no warcinfo to copy
    with contextlib.suppress(Exception), open(path, "rb") as fh:
        it = ArchiveIterator(fh)
        for record in it:
            if record.rec_type != "warcinfo":
                return None
            it.read_to_end(record)
            return RecordSpan(Path(file).name, 0, it.get_record_length())
    return None


def read_span(warc_dir: Path, span: RecordSpan) -> bytes:
    path = warc_dir / Path(span.file).name
    try:
        with open(path, "rb") as fh:
            fh.seek(span.offset)
            data = fh.read(span.length)
    except OSError as exc:
        raise StorageError(f"cannot read WARC file {path}: {exc}") from exc
    if len(data) != span.length:
        raise StorageError(
            f"WARC file {path} ends before record {span.file}@{span.offset} "
            f"(+{span.length} bytes): the file was truncated; `presswatch verify` names "
            "the captures affected"
        )
    return data


def _copy_span(warc_dir: Path, span: RecordSpan, out: Any, digest: Any) -> None:
    """Stream one record into `out` (bounded memory for any record size)."""
    path = warc_dir / Path(span.file).name
    try:
        with open(path, "rb") as fh:
            fh.seek(span.offset)
            left = span.length
            while left:
                chunk = fh.read(min(_CHUNK, left))
                if not chunk:
                    raise StorageError(
                        f"WARC file {path} ends before record {span.file}@{span.offset} "
                        f"(+{span.length} bytes): the file was truncated"
                    )
                out.write(chunk)
                digest.update(chunk)
                left -= len(chunk)
    except OSError as exc:
        raise StorageError(f"cannot read WARC file {path}: {exc}") from exc


def pack_records(warc_dir: Path, spans: Iterable[RecordSpan], workdir: Path) -> Packed:
    """Copy `spans` (deduplicated, in file order) into one package WARC per source
    file under `workdir`, each starting with its source's warcinfo record if any."""
    packed = Packed()
    by_file: dict[str, list[RecordSpan]] = {}
    for span in sorted(set(spans)):
        by_file.setdefault(Path(span.file).name, []).append(span)
    for name, file_spans in by_file.items():
        target = workdir / name
        info = warcinfo_span(warc_dir, name)
        ordered = ([info] if info is not None and info not in file_spans else []) + file_spans
        position = 0
        with open(target, "wb") as out:
            for span in ordered:
                _copy_span(warc_dir, span, out, hashlib.sha256())
                packed.spans[span] = RecordSpan(name, position, span.length)
                position += span.length
        if info is not None:
            packed.warcinfo[name] = packed.spans[info]
        packed.files[name] = target
    return packed


def pages_jsonl(pages: Sequence[Page], *, title: str = "Pages") -> bytes:
    lines = [{"format": "json-pages-1.0", "id": "pages", "title": title}]
    for page in pages:
        line: dict[str, Any] = {"id": page.id, "url": page.url, "ts": iso_z(page.ts)}
        if page.title:
            line["title"] = page.title
        lines.append(line)
    return "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines).encode("utf-8")


def _software() -> str:
    try:
        return f"Presswatch {metadata.version('presswatch')}"
    except metadata.PackageNotFoundError:
        return "Presswatch"


def _hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return "sha256:" + digest.hexdigest(), size


def write_wacz(
    out: Path,
    packed: Packed,
    *,
    pages: Sequence[Page],
    extra: dict[str, bytes] | None = None,
    title: str,
    description: str = "",
    main_page: Page | None = None,
    created: datetime | None = None,
) -> WaczSummary:
    """Zip `packed` WARC files, their CDXJ index, the pages and `extra` files (paths one
    folder deep, e.g. `evidence/manifest.json`) into a WACZ at `out`."""
    if not packed.files:
        raise StorageError("nothing to package: no WARC record was selected")
    extra = dict(extra or {})
    for name in extra:
        parts = name.split("/")
        if len(parts) != 2 or not all(parts) or parts[0] in ("archive", "indexes", "pages"):
            raise ValueError(f"extra package file {name!r}: use one folder of its own, e.g. x/y")
    index = cdxj_text(packed.files[name] for name in sorted(packed.files)).encode("utf-8")
    members: list[tuple[str, bytes | Path]] = [
        *((f"archive/{name}", packed.files[name]) for name in sorted(packed.files)),
        (INDEX_PATH, index),
        (PAGES_PATH, pages_jsonl(pages)),
        *sorted(extra.items()),
    ]
    resources = []
    for path, content in members:
        if isinstance(content, Path):
            digest, size = _hash_file(content)
        else:
            digest, size = "sha256:" + hashlib.sha256(content).hexdigest(), len(content)
        resources.append(
            {"name": path.rsplit("/", 1)[1].lower(), "path": path, "hash": digest, "bytes": size}
        )
    package: dict[str, Any] = {
        "profile": "data-package",
        "resources": resources,
        "wacz_version": WACZ_VERSION,
        "software": _software(),
        "created": iso_z((created or datetime.now(UTC)).replace(microsecond=0)),
        "title": title,
    }
    if description:
        package["description"] = description
    if main_page is not None:
        package["mainPageURL"] = main_page.url
        package["mainPageDate"] = iso_z(main_page.ts)
    datapackage = json.dumps(package, indent=2, ensure_ascii=False).encode("utf-8")
    package_digest = {
        "path": "datapackage.json",
        "hash": "sha256:" + hashlib.sha256(datapackage).hexdigest(),
    }

    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = temp_beside(out, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp_name, "w", allowZip64=True) as zf:
            for path, content in members:
                if isinstance(content, Path):
                    zf.write(content, path, compress_type=zipfile.ZIP_STORED)
                else:
                    zf.writestr(path, content, compress_type=zipfile.ZIP_DEFLATED)
            zf.writestr("datapackage.json", datapackage, compress_type=zipfile.ZIP_DEFLATED)
            zf.writestr(
                "datapackage-digest.json",
                json.dumps(package_digest, indent=2).encode("utf-8"),
                compress_type=zipfile.ZIP_DEFLATED,
            )
        os.replace(tmp_name, out)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    return WaczSummary(
        path=out,
        records=len(packed.spans),
        warc_files=len(packed.files),
        pages=len(pages),
        bytes=out.stat().st_size,
    )
