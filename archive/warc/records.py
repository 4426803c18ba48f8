"""Raw exchanges in gzip WARC/1.1 files (warcio), so any web-archive tool can replay them.

Owns writing and reading records; knows nothing of articles or the database. A
`response` record holds the HTTP response as received: status line, headers as sent
(`Content-Encoding`, `Content-Length`…) and the body as transmitted, still
content-encoded; its payload is that body with any transfer coding removed (WARC 1.1,
6.3.2), so a `Transfer-Encoding` header is kept under the name
`X-Archive-Orig-Transfer-Encoding`: replay tools would otherwise try to de-chunk a body
that is no longer chunked. `WARC-Date` has microseconds; every file starts with a
`warcinfo` record; identical payloads are `revisit` records of the WARC 1.1
identical-payload-digest profile, pointing at the record that holds the bytes. Each
writer opens its own file (time, pid and a counter in the name), so several processes
or machines can share one directory, and rotates past a size limit. A record is built
in memory and appended with one `write()`: a killed process leaves either a whole
record or none, and an orphan record (written, never committed to the DB) is harmless.

On a full disk (crash-only, no hand cleanup): a file is created only when its first
record is written; before each record the `SpaceFloor` is checked, so below the floor
nothing is written at all (`DiskFull`); a write that fails anyway (ENOSPC, a quota,
a file size limit) is truncated back to the last whole record, and a file left with no
record is removed, so no reader ever meets a torn record or an empty file. A directory
that refuses writes (read-only, permissions) raises `WarcUnwritable` the same way.
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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archive.content.bodies import DecodedBody, decode_stream
from archive.errors import DiskFull, StorageError, WarcUnwritable
from archive.warc.diskspace import SpaceFloor

WARC_VERSION = "1.1"
# WARC 1.1 allows fractions of a second: microseconds, always six digits.
WARC_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# Headers about one hop of the transfer, not the resource: the payload is stored with
# the transfer coding removed, so the header is kept under a name replay ignores.
_TRANSFER_HEADERS = frozenset({"transfer-encoding"})
RENAMED_HEADER_PREFIX = "X-Archive-Orig-"


class _Writer(WARCWriter):  # type: ignore[misc]
    """warcio's writer, except that a `request` record gets no WARC-Payload-Digest: our
    requests are GETs, whose payload is empty, so the digest (optional in WARC 1.1,
    5.9) would be the empty string's on every one; the WARC-Block-Digest, which covers
    the request line and headers, stays (issue #27: the bytes of an unchanged capture)."""

    NO_PAYLOAD_DIGEST_TYPES = (*WARCWriter.NO_PAYLOAD_DIGEST_TYPES, "request")


# Builds records only (never writes through its stream): `_render` serializes them.
_BUILDER = _Writer(io.BytesIO(), gzip=True, warc_version=WARC_VERSION)
# Write failures that mean "no room": the disk, a quota, RLIMIT_FSIZE.
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
# Write failures that mean "not allowed": a read-only mount, the directory's owner or mode.
_REFUSED = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})


@dataclass(frozen=True, slots=True)
class WarcLocation:
    """Where one record lives and the SHA-256 of its stored (gzipped) bytes."""

    file: str  # name relative to the WARC directory
    offset: int
    length: int
    record_sha256: str
    warc_type: str
    # The `request` record written right after it (same write): its length and SHA-256,
    # so tampering with what we say we asked for is caught too.
    request_length: int | None = None
    request_sha256: str | None = None
    # Its WARC-Record-ID, for records written with it (`WARC-Concurrent-To`); "" when
    # not known (a location read back from a row).
    record_id: str = ""


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """One record read back from a WARC file. `payload` is the payload as stored: the
    body as transmitted (content-encoded, transfer coding removed), which
    `Capture.payload_sha256` and `WARC-Payload-Digest` cover; `decoded()` gives the
    body a reader or the extractor wants."""

    warc_type: str
    target_uri: str
    headers: dict[str, str]
    http_status: int | None
    payload: bytes
    raw_sha256: str
    record_id: str = ""
    date: str = ""

    def header(self, name: str) -> str | None:
        lname = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lname), None)

    def decoded(self, limit: int) -> DecodedBody:
        """The payload with its Content-Encoding undone, at most `limit` bytes of it
        (a stored gzip bomb stays a bounded read). Records written before Presswatch
        kept transmitted bytes hold decoded bodies without the header: unchanged."""
        encodings = [
            v.encode("latin-1", "replace")
            for k, v in self.headers.items()
            if k.lower() == "content-encoding"
        ]
        return decode_stream([self.payload], encodings, limit)


def warc_date(at: datetime) -> str:
    """A WARC 1.1 date: UTC, microseconds."""
    # A naive datetime (SQLite gives them back) is UTC, never local time.
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return at.strftime(WARC_DATE_FORMAT)


def software_version() -> str:
    try:
        ours = version("presswatch")
    except PackageNotFoundError:
        ours = "0"
    return f"Presswatch/{ours} warcio/{version('warcio')}"


def default_warcinfo() -> dict[str, str]:
    """The warcinfo fields every file carries; the caller adds operator and robots."""
    return {
        "software": software_version(),
        "format": f"WARC File Format {WARC_VERSION}",
        "conformsTo": "https://iipc.github.io/warc-specifications/specifications/"
        f"warc-format/warc-{WARC_VERSION}/",
    }


class WarcStore:
    """Appends records to rotating gzip WARC files under `directory`; `floor` (if
    given) is checked before every record. `info` adds warcinfo fields (operator,
    robots, http-header-user-agent…) to the defaults of `default_warcinfo()`;
    `on_closed` (if given) is called, outside the store's lock, with each file that
    holds records once it is closed or rotated (the CDXJ indexer, archive/warc/cdxj.py).
    `run` names the files (`presswatch-<pid>-<run>-NNNNN.warc.gz`, a random name by
    default): the processes of one crawl share it, so the crawl finds, and finishes, the
    files of one that died (`finish_files_of`)."""

    def __init__(
        self,
        directory: Path,
        *,
        max_bytes: int = 1_000_000_000,
        floor: SpaceFloor | None = None,
        info: Mapping[str, str] | None = None,
        on_closed: Callable[[Path], None] | None = None,
        run: str | None = None,
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.floor = floor
        self.info = {**default_warcinfo(), **(info or {})}
        self.on_closed = on_closed
        self._finished: list[Path] = []
        self._lock = threading.Lock()
        self._current: Path | None = None
        self._fh: BinaryIO | None = None
        self._size = 0
        self._serial = 0
        self.run = run or uuid.uuid4().hex[:8]
        self.prefix = f"presswatch-{os.getpid()}-{self.run}"
        self._finished_for_others: set[str] = set()
        # Inside `group()`: appends skip their fsync; the group syncs once at its end.
        self._grouped = 0
        self._unsynced = False

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
        self._current = self.directory / f"{self.prefix}-{self._serial:05d}.warc.gz"
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
        if fh is not None and self._unsynced:
            # A rotation inside a group: the closed file's records are synced now.
            self._unsynced = False
            with contextlib.suppress(OSError):
                os.fsync(fh.fileno())
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

    def finish_files_of(self, run: str, *, writing: str | None = None) -> list[Path]:
        """Hand to `on_closed` the files that the processes of `run` left open when they
        died (a writer process killed mid-crawl never closes, so never indexes, its last
        file), once each; `writing` is the prefix of the one still alive, whose files
        are its own to finish. Call it only once the others are known dead: a file
        still growing would be indexed short."""
        if self.on_closed is None:
            return []
        names = sorted(
            path
            for path in self.directory.glob(f"presswatch-*-{run}-*.warc.gz")
            if path.name not in self._finished_for_others
            and not (writing and path.name.startswith(writing + "-"))
        )
        for path in names:
            self._finished_for_others.add(path.name)
            self.on_closed(path)
        return names

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
            head = b""
            try:
                path, fh = self._target(incoming)
                offset = self._size
                if offset == 0:  # a new file: its warcinfo goes in the same write
                    head = self._render([self._warcinfo(path.name)])
                self._write_all(fh, head + blob + trailer)
                if self._grouped:
                    self._unsynced = True
                else:
                    os.fsync(fh.fileno())
                self._size += len(head) + incoming
            except OSError as exc:
                self._undo_partial(offset)
                if exc.errno in _NO_SPACE:
                    raise DiskFull(
                        f"disk full: cannot write WARC file in {self.directory}: {exc}; "
                        "nothing half-written was kept. Free some space and run again: "
                        "the next run continues where this one stopped"
                    ) from exc
                if exc.errno in _REFUSED:
                    raise WarcUnwritable(
                        f"cannot write WARC files in {self.directory}: {exc.strerror}; "
                        "nothing half-written was kept. Make the directory writable "
                        "(remount it read-write, or fix its owner and mode) and run again: "
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
            offset=offset + len(head),
            length=len(blob),
            record_sha256=hashlib.sha256(blob).hexdigest(),
            warc_type=warc_type,
            request_length=len(trailer) if trailer else None,
            request_sha256=hashlib.sha256(trailer).hexdigest() if trailer else None,
        )

    @contextlib.contextmanager
    def group(self) -> Iterator[None]:
        """Appends inside share one fsync, made when the group ends; a caller commits
        the rows naming those records only after that (group commit: a crash before it
        leaves unreferenced records, never a row pointing at unsynced bytes)."""
        with self._lock:
            self._grouped += 1
        try:
            yield
        finally:
            with self._lock:
                self._grouped -= 1
                if not self._grouped:
                    self._sync_locked()

    def _sync_locked(self) -> None:
        if not self._unsynced or self._fh is None:
            self._unsynced = False
            return
        try:
            os.fsync(self._fh.fileno())
        except OSError as exc:
            raise StorageError(f"cannot sync WARC file {self._current}: {exc}") from exc
        self._unsynced = False

    def _warcinfo(self, filename: str) -> Any:
        record = _BUILDER.create_warcinfo_record(filename, self.info)
        # warcio drops the fraction when it is zero: every date here has six digits.
        record.rec_headers.replace_header("WARC-Date", warc_date(datetime.now(UTC)))
        return record

    @staticmethod
    def _render(records: list[object]) -> bytes:
        buf = io.BytesIO()
        writer = _Writer(buf, gzip=True, warc_version=WARC_VERSION)
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
        concurrent_to: str | None = None,
    ) -> WarcLocation:
        """Write a `response` record (and its `request`); return the response's place.
        `headers` are the response headers as sent and `body` the body as transmitted
        (still content-encoded, transfer coding removed). `truncated` is the
        WARC-Truncated reason (`length`: the body was cut at the size limit) so a replay
        tool knows the payload is not the whole response. `concurrent_to`: the
        WARC-Record-ID of the record this one was fetched with (an image's, the page's)."""
        warc_headers = {"WARC-Date": warc_date(fetched_at)}
        if truncated:
            warc_headers["WARC-Truncated"] = truncated
        if concurrent_to:
            warc_headers["WARC-Concurrent-To"] = concurrent_to
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
        refers_to_date: datetime | str,
        payload_digest: str,
        request_headers: list[tuple[str, str]],
        refers_to_record: str | None = None,
        concurrent_to: str | None = None,
    ) -> WarcLocation:
        """Write an identical-payload `revisit` record (WARC 1.1 profile): headers
        only, body by reference to the record at `refers_to_uri` / `refers_to_date`
        (its WARC-Date, as written there), and `refers_to_record` (its WARC-Record-ID)
        when known; `concurrent_to` as for `write_response`."""
        warc_headers = {"WARC-Date": warc_date(fetched_at)}
        if refers_to_record:
            warc_headers["WARC-Refers-To"] = refers_to_record
        if concurrent_to:
            warc_headers["WARC-Concurrent-To"] = concurrent_to
        revisit = _BUILDER.create_revisit_record(
            url,
            digest=payload_digest,
            refers_to_uri=refers_to_uri,
            refers_to_date=(
                refers_to_date if isinstance(refers_to_date, str) else warc_date(refers_to_date)
            ),
            http_headers=_status_and_headers(status, reason, headers),
            warc_headers_dict=warc_headers,
        )
        return self._append_with_request(revisit, "revisit", url, request_headers)

    def _append_with_request(
        self, record: Any, warc_type: str, url: str, request_headers: list[tuple[str, str]]
    ) -> WarcLocation:
        date = record.rec_headers.get_header("WARC-Date")
        request = self._request_record(url, date, request_headers, record.rec_headers)
        location = self._append(self._render([record]), warc_type, self._render([request]))
        return replace(location, record_id=record.rec_headers.get_header("WARC-Record-ID") or "")

    def _request_record(
        self, url: str, date: str, request_headers: list[tuple[str, str]], concurrent: Any
    ) -> Any:
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = [("Host", parts.netloc), *_http_safe(request_headers)]
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
    def path_of(self, file: str) -> Path:
        """Where a record's file is (a row names the file, never a directory)."""
        return self.directory / Path(file).name

    def read_raw(self, file: str, offset: int, length: int) -> bytes:
        path = self.path_of(file)
        try:
            with open(path, "rb") as fh:
                fh.seek(offset)
                return fh.read(length)
        except OSError as exc:
            raise StorageError(f"cannot read WARC file {path}: {exc}") from exc

    @contextlib.contextmanager
    def reader(self) -> Iterator[Callable[[str, int, int], bytes]]:
        """`read_raw` for reading many records in file order (verify): the last file
        stays open between reads, since opening one per record cost as much as
        hashing it."""
        open_file: list[tuple[str, BinaryIO]] = []

        def read(file: str, offset: int, length: int) -> bytes:
            try:
                if not open_file or open_file[0][0] != file:
                    while open_file:
                        open_file.pop()[1].close()
                    opened = open(self.path_of(file), "rb")  # noqa: SIM115 - closed below
                    open_file.append((file, opened))
                fh = open_file[0][1]
                fh.seek(offset)
                return fh.read(length)
            except OSError as exc:
                raise StorageError(f"cannot read WARC file {self.path_of(file)}: {exc}") from exc

        try:
            yield read
        finally:
            while open_file:
                open_file.pop()[1].close()

    def read_head(self, file: str, offset: int, length: int) -> tuple[str, str]:
        """(WARC-Record-ID, WARC-Date) of one record, without reading its payload."""
        raw = self.read_raw(file, offset, length)
        try:
            for record in ArchiveIterator(io.BytesIO(raw)):
                headers = record.rec_headers
                return headers.get_header("WARC-Record-ID") or "", headers.get_header(
                    "WARC-Date"
                ) or ""
        except Exception as exc:  # boundary: any parse failure means a damaged record
            raise StorageError(f"WARC record {file}@{offset} is unreadable: {exc}") from exc
        raise StorageError(f"no WARC record at {file}@{offset}")

    def read_record(self, file: str, offset: int, length: int) -> StoredRecord:
        """Read one record back; raises StorageError if it does not parse."""
        return self.parse_record(self.read_raw(file, offset, length), file, offset)

    @staticmethod
    def parse_record(raw: bytes, file: str, offset: int) -> StoredRecord:
        """One record from its stored bytes (read from `file` at `offset`); raises
        StorageError if they do not parse."""
        length = len(raw)
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
                    # As stored: content_stream() would undo Content-Encoding, unbounded.
                    payload=record.raw_stream.read(),
                    raw_sha256=hashlib.sha256(raw).hexdigest(),
                    record_id=record.rec_headers.get_header("WARC-Record-ID") or "",
                    date=record.rec_headers.get_header("WARC-Date") or "",
                )
        except Exception as exc:  # boundary: any parse failure means a damaged record
            raise StorageError(
                f"WARC record {file}@{offset} (+{length} bytes) is unreadable: {exc}"
            ) from exc
        raise StorageError(f"no WARC record at {file}@{offset}")


def _status_and_headers(
    status: int, reason: str, headers: list[tuple[str, str]]
) -> StatusAndHeaders:
    kept = [
        (RENAMED_HEADER_PREFIX + name if name.lower() in _TRANSFER_HEADERS else name, value)
        for name, value in _http_safe(headers)
    ]
    return StatusAndHeaders(f"{status} {reason or 'Status'}", kept, protocol="HTTP/1.1")


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
