"""Raw exchanges in gzip WARC files (warcio), so any web-archive tool can replay them.

Owns writing and reading records; knows nothing of articles or the database. Each
writer opens its own file (time, pid and a counter in the name), so several processes
or machines can share one directory, and rotates past a size limit. A record is built
in memory and appended with one `write()`: a killed process leaves either a whole
record or none, and an orphan record (written, never committed to the DB) is harmless.

On a full disk (crash-only, no hand cleanup): a file is created only when its first
record is written; before each record the `SpaceFloor` is checked, so below the floor
nothing is written at all (`DiskFull`); a write that fails anyway (ENOSPC, a quota,
a file size limit) is truncated back to the last whole record, and a file left with no
record is removed, so no reader ever meets a torn record or an empty file.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import io
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archive.diskspace import SpaceFloor
from archive.errors import DiskFull, StorageError

WARC_DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# Builds records only (never writes through its stream): `_render` serializes them.
_BUILDER = WARCWriter(io.BytesIO(), gzip=True)
# Write failures that mean "no room": the disk, a quota, RLIMIT_FSIZE.
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


@dataclass(frozen=True, slots=True)
class WarcLocation:
    """Where one record lives and the SHA-256 of its stored (gzipped) bytes."""

    file: str  # name relative to the WARC directory
    offset: int
    length: int
    record_sha256: str
    warc_type: str


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """One record read back from a WARC file."""

    warc_type: str
    target_uri: str
    headers: dict[str, str]
    http_status: int | None
    payload: bytes
    raw_sha256: str


def _warc_date(at: datetime) -> str:
    return at.strftime(WARC_DATE_FORMAT)


class WarcStore:
    """Appends records to rotating gzip WARC files under `directory`; `floor` (if
    given) is checked before every record; `on_closed` (if given) is called, outside
    the store's lock, with each file that holds records once it is closed or rotated
    (the CDXJ indexer, archive/cdxj.py)."""

    def __init__(
        self,
        directory: Path,
        *,
        max_bytes: int = 1_000_000_000,
        floor: SpaceFloor | None = None,
        on_closed: Callable[[Path], None] | None = None,
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.floor = floor
        self.on_closed = on_closed
        self._finished: list[Path] = []
        self._lock = threading.Lock()
        self._current: Path | None = None
        self._fh: BinaryIO | None = None
        self._size = 0
        self._serial = 0
        self._prefix = f"presswatch-{os.getpid()}-{uuid.uuid4().hex[:8]}"

    # -- writing -------------------------------------------------------------------
    def _target(self, incoming: int) -> tuple[Path, BinaryIO]:
        """The open file to append to, rotated past `max_bytes`. The handle stays open
        between records: opening and closing per capture cost a fifth of the writer's
        time in the crawl benchmark."""
        if self._current is not None and self._fh is not None:
            if self._size == 0 or self._size + incoming <= self.max_bytes:
                return self._current, self._fh
            self._close_file()
        self._serial += 1
        self.directory.mkdir(parents=True, exist_ok=True)
        self._current = self.directory / f"{self._prefix}-{self._serial:05d}.warc.gz"
        # Unbuffered: a failed write leaves nothing queued in a buffer for a later flush.
        self._fh = open(self._current, "ab", buffering=0)  # noqa: SIM115 - see _close_file
        self._size = self._fh.tell()
        return self._current, self._fh

    def _close_file(self) -> None:
        """Close the current file; remove it if it holds no record."""
        fh, path, size = self._fh, self._current, self._size
        self._fh = None
        self._current = None
        self._size = 0
        if fh is not None:
            with contextlib.suppress(OSError):
                fh.close()
        if path is not None and size == 0:
            with contextlib.suppress(OSError):
                path.unlink()
        elif path is not None:
            self._finished.append(path)

    def _announce_finished(self) -> None:
        """Hand closed files to `on_closed`; called without the lock held."""
        with self._lock:
            finished, self._finished = self._finished, []
        if self.on_closed is not None:
            for path in finished:
                self.on_closed(path)

    def close(self) -> None:
        with self._lock:
            self._close_file()
        self._announce_finished()

    def _write_all(self, fh: BinaryIO, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = fh.write(view)
            if not written:
                raise OSError(errno.EIO, "short write")
            view = view[written:]

    def _undo_partial(self, offset: int) -> None:
        """After a failed write: cut the file back to its last whole record (offset) so
        no torn record stays behind, then drop the file (removed if now empty); the
        next record starts a new file."""
        if self._fh is not None:
            try:
                os.ftruncate(self._fh.fileno(), offset)
            except OSError:
                # Cannot cut back: leave the partial tail but never write after it.
                offset = max(offset, 1)
        self._size = offset
        self._close_file()

    def _append(self, blob: bytes, warc_type: str, trailer: bytes = b"") -> WarcLocation:
        """Append `blob` (the record we locate) and `trailer` (its request record) in one
        write and one fsync."""
        incoming = len(blob) + len(trailer)
        with self._lock:
            if self.floor is not None:
                self.floor.check(incoming)  # DiskFull before a byte is written
            offset = self._size
            try:
                path, fh = self._target(incoming)
                offset = self._size
                self._write_all(fh, blob + trailer)
                os.fsync(fh.fileno())
                self._size += incoming
            except OSError as exc:
                self._undo_partial(offset)
                if exc.errno in _NO_SPACE:
                    raise DiskFull(
                        f"disk full: cannot write WARC file in {self.directory}: {exc}; "
                        "nothing half-written was kept. Free some space and run again: "
                        "the next run continues where this one stopped"
                    ) from exc
                raise StorageError(
                    f"cannot write WARC file {self.directory}: {exc}; check the data dir is "
                    "writable and the disk has space"
                ) from exc
        if self._finished:
            self._announce_finished()  # a rotation closed the previous file
        return WarcLocation(
            file=path.name,
            offset=offset,
            length=len(blob),
            record_sha256=hashlib.sha256(blob).hexdigest(),
            warc_type=warc_type,
        )

    @staticmethod
    def _render(records: list[object]) -> bytes:
        buf = io.BytesIO()
        writer = WARCWriter(buf, gzip=True)
        for record in records:
            writer.write_record(record)
        return buf.getvalue()

    def write_response(
        self,
        *,
        url: str,
        fetched_at: datetime,
        status: int,
        reason: str,
        headers: list[tuple[str, str]],
        body: bytes,
        request_headers: list[tuple[str, str]],
        truncated: str | None = None,
    ) -> WarcLocation:
        """Write a `response` record (and its `request`); return the response's place.
        `truncated` is the WARC-Truncated reason (`length`: the body was cut at the size
        limit) so a replay tool knows the payload is not the whole response."""
        warc_headers = {"WARC-Date": _warc_date(fetched_at)}
        if truncated:
            warc_headers["WARC-Truncated"] = truncated
        response = _BUILDER.create_warc_record(
            url,
            "response",
            payload=io.BytesIO(body),
            length=len(body),
            http_headers=_status_and_headers(status, reason, headers),
            warc_headers_dict=warc_headers,
        )
        return self._append_with_request(response, "response", url, request_headers)

    def write_revisit(
        self,
        *,
        url: str,
        fetched_at: datetime,
        status: int,
        reason: str,
        headers: list[tuple[str, str]],
        refers_to_uri: str,
        refers_to_date: datetime,
        payload_digest: str,
        request_headers: list[tuple[str, str]],
    ) -> WarcLocation:
        """Write an identical-payload `revisit` record: headers only, body by reference."""
        revisit = _BUILDER.create_revisit_record(
            url,
            digest=payload_digest,
            refers_to_uri=refers_to_uri,
            refers_to_date=_warc_date(refers_to_date),
            http_headers=_status_and_headers(status, reason, headers),
            warc_headers_dict={"WARC-Date": _warc_date(fetched_at)},
        )
        return self._append_with_request(revisit, "revisit", url, request_headers)

    def _append_with_request(
        self, record: Any, warc_type: str, url: str, request_headers: list[tuple[str, str]]
    ) -> WarcLocation:
        date = record.rec_headers.get_header("WARC-Date")
        request = self._request_record(url, date, request_headers, record.rec_headers)
        return self._append(self._render([record]), warc_type, self._render([request]))

    def _request_record(
        self, url: str, date: str, request_headers: list[tuple[str, str]], concurrent: Any
    ) -> Any:
        path = "/" + url.split("://", 1)[-1].split("/", 1)[-1] if "://" in url else url
        host = url.split("://", 1)[-1].split("/", 1)[0]
        headers = [("Host", host), *_http_safe(request_headers)]
        request = _BUILDER.create_warc_record(
            url,
            "request",
            payload=io.BytesIO(b""),
            length=0,
            http_headers=StatusAndHeaders(f"GET {path} HTTP/1.1", headers, is_http_request=True),
            warc_headers_dict={
                "WARC-Date": date,
                "WARC-Concurrent-To": concurrent.get_header("WARC-Record-ID"),
            },
        )
        return request

    # -- reading -------------------------------------------------------------------
    def read_raw(self, file: str, offset: int, length: int) -> bytes:
        path = self.directory / Path(file).name
        try:
            with open(path, "rb") as fh:
                fh.seek(offset)
                return fh.read(length)
        except OSError as exc:
            raise StorageError(f"cannot read WARC file {path}: {exc}") from exc

    def read_record(self, file: str, offset: int, length: int) -> StoredRecord:
        """Read one record back; raises StorageError if it does not parse."""
        raw = self.read_raw(file, offset, length)
        try:
            gzip.decompress(raw)  # fails fast on a truncated or flipped member
            for record in ArchiveIterator(io.BytesIO(raw)):
                status = None
                if record.http_headers is not None and record.rec_type in ("response", "revisit"):
                    code = record.http_headers.get_statuscode()
                    status = int(code) if code and code.isdigit() else None
                return StoredRecord(
                    warc_type=record.rec_type,
                    target_uri=record.rec_headers.get_header("WARC-Target-URI") or "",
                    headers=dict(record.http_headers.headers) if record.http_headers else {},
                    http_status=status,
                    payload=record.content_stream().read(),
                    raw_sha256=hashlib.sha256(raw).hexdigest(),
                )
        except Exception as exc:  # boundary: any parse failure means a damaged record
            raise StorageError(
                f"WARC record {file}@{offset} (+{length} bytes) is unreadable: {exc}"
            ) from exc
        raise StorageError(f"no WARC record at {file}@{offset}")


def _status_and_headers(
    status: int, reason: str, headers: list[tuple[str, str]]
) -> StatusAndHeaders:
    return StatusAndHeaders(
        f"{status} {reason or 'Status'}", _http_safe(headers), protocol="HTTP/1.1"
    )


def _http_safe(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Header values as latin-1-safe text; hostile servers send anything."""
    safe = []
    for name, value in headers:
        value = value.replace("\r", " ").replace("\n", " ")
        safe.append((name, value.encode("latin-1", "replace").decode("latin-1")))
    return safe


def sha1_base32(payload: bytes) -> str:
    """The WARC-Payload-Digest form warcio writes, used to refer to a stored payload."""
    import base64

    return "sha1:" + base64.b32encode(hashlib.sha1(payload).digest()).decode("ascii")
