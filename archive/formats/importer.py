"""Turns saved pages and WARC files into Exchanges for `record_capture`, so the archive
is usable before (or beside) the crawler: `presswatch import PATH`.

Owns reading those inputs only; recording is the caller's. A file that cannot be read
yields a problem naming the file and what to fix, and the import goes on. Bodies are
read in pieces and kept only up to the size limit (as the crawler keeps them): a record
of any size costs about `max_body_bytes` of memory, and a larger one is imported as a
`too_large` Exchange with its first bytes.

Every Exchange is marked `origin="import"` with its provenance (file, offset, WARC-Record-ID,
WARC-Date, and what warcio found checking the record's digests: `ok`, `mismatch` or
`absent`); `record_capture` applies the import rules to them (dates, digests). A WARC
that ends inside a record, or in bytes that are not a record, yields the records before
it and then a problem naming the file and the offset.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator

from archive.capture.exchange import Exchange
from archive.clock import EARLIEST_CAPTURE
from archive.content.bodies import decode_stream
from archive.content.normalize import uri_of_iri
from archive.errors import BadInput

DEFAULT_MAX_BODY_BYTES = 20_000_000  # Settings.max_body_bytes
READ_PIECE = 64 * 1024
# warcio inflates a .warc.gz one compressed block at a time without an output bound
# (deflate: up to ~1,032 times the block): 4 KiB blocks cap that at ~4 MB, where its
# default 16 KiB allowed ~16 MB on a highly compressible record.
WARC_BLOCK = 4096
SAVED_PAGE_SUFFIXES = (".html", ".htm", ".xhtml")
WARC_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz")
_SAVED_FROM = re.compile(rb"<!--\s*saved from url=\(\d+\)(\S+?)\s*-->", re.I)
_CANONICAL = re.compile(
    rb"<link[^>]+rel=[\"']?canonical[\"']?[^>]*href=[\"']([^\"'>\s]+)|"
    rb"<link[^>]+href=[\"']([^\"'>\s]+)[\"'][^>]*rel=[\"']?canonical",
    re.I,
)
_OG_URL = re.compile(
    rb"<meta[^>]+property=[\"']og:url[\"'][^>]*content=[\"']([^\"'>\s]+)|"
    rb"<meta[^>]+content=[\"']([^\"'>\s]+)[\"'][^>]*property=[\"']og:url",
    re.I,
)


@dataclass(frozen=True, slots=True)
class ImportItem:
    origin: str  # file, or file#record offset
    exchange: Exchange | None = None
    problem: str | None = None


def exchanges_from_path(
    path: Path, *, source: str | None = None, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
) -> Iterator[ImportItem]:
    """Every importable exchange under `path` (a file or a directory, recursively).
    A body is read (and decoded) only up to `max_body_bytes`: a larger one becomes an
    Exchange with error `too_large` holding the first `max_body_bytes` bytes."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        name = file.name.lower()
        if name.endswith(WARC_SUFFIXES):
            yield from _from_warc(file, source, max_body_bytes)
        elif name.endswith(SAVED_PAGE_SUFFIXES):
            yield _from_saved_page(file, source, max_body_bytes)
        elif not path.is_dir():
            yield ImportItem(
                str(file),
                problem=f"{file}: not a WARC (.warc, .warc.gz) or saved page (.html, .htm)",
            )


def page_url(body: bytes) -> str | None:
    """The URL a saved page came from, as the page itself says."""
    head = body[:200_000]
    for pattern in (_SAVED_FROM, _CANONICAL, _OG_URL):
        match = pattern.search(head)
        if match:
            url = next(g for g in match.groups() if g).decode("utf-8", "replace")
            if url.startswith(("http://", "https://")):
                return url
    return None


def _from_saved_page(file: Path, source: str | None, limit: int) -> ImportItem:
    try:
        with open(file, "rb") as fh:
            body = fh.read(limit + 1)
        size = file.stat().st_size
    except OSError as exc:
        return ImportItem(str(file), problem=f"{file}: cannot read: {exc}")
    error, detail = None, ""
    if len(body) > limit:
        body = body[:limit]
        error = "too_large"
        detail = f"body larger than {limit} bytes: truncated at {limit} bytes of {size}"
    url = page_url(body)
    if url is None:
        return ImportItem(
            str(file),
            problem=(
                f"{file}: no URL found in the page (looked for a 'saved from url' comment, "
                "<link rel=canonical> and og:url); save it with its URL or import a WARC"
            ),
        )
    saved_at = datetime.fromtimestamp(file.stat().st_mtime, tz=UTC)
    exchange = Exchange(
        requested_url=url,
        final_url=url,
        fetched_at=saved_at,
        status=200,
        headers=(("Content-Type", "text/html"),),
        body=body,
        reason="OK (imported saved page; time is the file's modification time)",
        error=error,
        error_detail=detail,
        source=source,
        origin="import",
        provenance={
            "file": str(file),
            "kind": "saved_page",
            "time_from": "file modification time",
            "digest": "absent",
        },
    )
    return ImportItem(str(file), exchange=exchange)


class _Tee:
    """The raw pieces of a record as they are read, keeping the first `limit` bytes: the
    payload as transmitted, which the archive stores as it was (`Exchange.transmitted`)."""

    def __init__(self, stream: Any, limit: int) -> None:
        self.stream = stream
        self.limit = limit
        self.kept = bytearray()
        self.cut = False

    def pieces(self) -> Iterator[bytes]:
        while piece := self.stream.read(READ_PIECE):
            room = self.limit - len(self.kept)
            if len(piece) > room:
                self.cut = True
            self.kept += piece[: max(room, 0)]
            yield piece


@dataclass(frozen=True, slots=True)
class _Payload:
    body: bytes  # decoded, for extraction
    headers: tuple[tuple[str, str], ...]
    error: str
    detail: str
    transmitted: bytes | None = None  # as the record holds it, when it differs from body
    transmitted_cut: bool = False


def _payload(record: Any, limit: int) -> _Payload:
    """A response record's payload: decoded within `limit` (warcio's `content_stream()`
    would inflate without bound) for extraction, and, unless the record was stored
    chunked, as transmitted (also within `limit`) with the headers as they were, so the
    archive keeps what the record holds; the Exchange error and detail (`too_large`,
    `bad_encoding`)."""
    http = record.http_headers
    headers = tuple(http.headers) if http is not None else ()
    chunked = any(
        k.lower() == "transfer-encoding" and v.strip().lower() == "chunked" for k, v in headers
    )
    encodings = [
        v.encode("latin-1", "replace") for k, v in headers if k.lower() == "content-encoding"
    ]
    tee = _Tee(record.raw_stream, limit)
    result = decode_stream(tee.pieces(), encodings, limit, chunked=chunked)
    if not chunked and result.decoded_encodings:
        # Decoding may stop early (a bomb): the transmitted bytes are kept to the limit.
        for _ in tee.pieces():
            pass
        # Faithful: the encoded bytes under the headers that describe them.
        return _Payload(
            result.body,
            headers,
            "too_large" if result.over else ("bad_encoding" if result.error else ""),
            _too_large_detail(result, limit) if result.over else (result.error or ""),
            transmitted=bytes(tee.kept),
            transmitted_cut=tee.cut,
        )
    # A chunked record is stored de-chunked and decoded: drop the headers that described
    # the old framing.
    dropped = {"transfer-encoding"} if chunked else set()
    if result.decoded_encodings:
        dropped.add("content-encoding")
    kept = tuple((k, v) for k, v in headers if k.lower() not in dropped)
    if result.kept_encodings:
        kept += (("Content-Encoding", ", ".join(result.kept_encodings)),)
    if result.over:
        return _Payload(result.body, kept, "too_large", _too_large_detail(result, limit))
    if result.error is not None:
        return _Payload(result.body, kept, "bad_encoding", result.error)
    return _Payload(result.body, kept, "", "")


def _too_large_detail(result: Any, limit: int) -> str:
    how = "+".join(result.decoded_encodings) or "identity"
    return (
        f"body larger than {limit} bytes: truncated at {len(result.body)} bytes of "
        f"{result.decoded}+ decoded ({how}); the rest of the record was not read"
    )


def _from_warc(file: Path, source: str | None, limit: int) -> Iterator[ImportItem]:
    """The response records of one WARC file, in order. Each record is read to its end
    (in pieces) so that warcio checks its digests; a record cut short, or bytes after the
    last whole record, end the file with a problem naming the file and the offset, after
    the records read before it."""
    iterator: ArchiveIterator | None = None
    try:
        size = file.stat().st_size
        with open(file, "rb") as fh:
            iterator = ArchiveIterator(fh, block_size=WARC_BLOCK, check_digests=True)
            for record in iterator:
                offset = iterator.offset  # the start of this record
                if record.rec_type is None or record.length is None:
                    yield ImportItem(
                        f"{file}#{offset}",
                        problem=(
                            f"{file}: truncated or corrupt at offset {offset}: the record "
                            "header there is incomplete (no type or Content-Length); the "
                            "records before it were imported"
                        ),
                    )
                    return
                response = record.rec_type == "response"
                if response:
                    payload = _payload(record, limit)
                _drain(record.raw_stream)
                missing = getattr(record.raw_stream, "limit", 0)
                if missing > 0:  # the file ended inside this record
                    yield ImportItem(
                        f"{file}#{offset}",
                        problem=(
                            f"{file}: truncated at offset {offset}: the record there lacks "
                            f"its last {missing} bytes; the records before it were imported"
                        ),
                    )
                    return
                if response:
                    item = _response_item(file, offset, record, payload, source)
                    if item is not None:
                        yield item
            end = iterator.offset
    except Exception as exc:  # boundary: a damaged WARC is reported, not fatal
        # Where the record being read (or the one after the last read) starts.
        offset = iterator.offset if iterator is not None else 0
        yield ImportItem(
            f"{file}#{offset}",
            problem=(
                f"{file}: unreadable WARC at offset {offset} ({exc}); is it truncated or "
                "corrupt? The records before that offset were imported"
            ),
        )
        return
    if end < size:
        yield ImportItem(
            f"{file}#{end}",
            problem=(
                f"{file}: truncated or corrupt at offset {end}: {size - end} bytes after the "
                "last whole record are not a WARC record; the records before it were imported"
            ),
        )


def _drain(stream: Any) -> None:
    """Read the rest of a record in bounded pieces: warcio checks a digest at the end."""
    while stream.read(READ_PIECE):
        pass


def _digest_check(record: Any) -> dict[str, Any]:
    """What warcio found checking the record's WARC-Block-Digest and WARC-Payload-Digest
    (sha1 or sha256, base32 or hex): `ok`, `mismatch` (with its problems) or `absent`."""
    checker = record.digest_checker
    if checker.passed is False:
        return {"digest": "mismatch", "digest_problems": [str(p) for p in checker.problems]}
    if checker.passed is True:
        return {"digest": "ok"}
    return {"digest": "absent"}


def _response_item(
    file: Path,
    offset: int,
    record: Any,
    payload: _Payload,
    source: str | None,
) -> ImportItem | None:
    origin = f"{file}#{offset}"
    url = record.rec_headers.get_header("WARC-Target-URI") or ""
    date = record.rec_headers.get_header("WARC-Date") or ""
    if not url.startswith(("http://", "https://")):
        return None  # dns:, whois: and other non-HTTP records
    try:
        # Some tools write an IRI; the archive (and every WARC we write) keeps the URI.
        url = uri_of_iri(url)
    except BadInput as exc:
        return ImportItem(origin, problem=f"{origin}: bad WARC-Target-URI: {exc}")
    try:
        fetched_at = datetime.fromisoformat(date.replace("Z", "+00:00"))
    except ValueError:
        return ImportItem(origin, problem=f"{origin}: bad WARC-Date {date[:80]!r}")
    if fetched_at.tzinfo is None:
        fetched_at = fetched_at.replace(tzinfo=UTC)
    if fetched_at < EARLIEST_CAPTURE:
        return ImportItem(
            origin,
            problem=f"{origin}: WARC-Date {date[:40]!r} is before the web existed (1990); "
            "fix the record's WARC-Date",
        )
    http = record.http_headers
    code = http.get_statuscode() if http is not None else None
    if not code or not code.isdigit():
        return ImportItem(origin, problem=f"{origin}: response without HTTP status")
    if not (len(code) == 3 and 100 <= int(code) <= 599):
        return ImportItem(
            origin, problem=f"{origin}: {code[:20]!r} is not an HTTP status (100 to 599)"
        )
    provenance = {
        "file": str(file),
        "offset": offset,
        "record_id": record.rec_headers.get_header("WARC-Record-ID"),
        "warc_date": date,
        **_digest_check(record),
    }
    return ImportItem(
        origin,
        exchange=Exchange(
            requested_url=url,
            final_url=url,
            fetched_at=fetched_at,
            status=int(code),
            headers=payload.headers,
            body=payload.body,
            transmitted=payload.transmitted,
            transmitted_cut=payload.transmitted_cut,
            reason=http.statusline.split(" ", 1)[-1] if http is not None else "",
            error=payload.error or None,
            error_detail=payload.detail,
            source=source,
            origin="import",
            provenance=provenance,
        ),
    )
