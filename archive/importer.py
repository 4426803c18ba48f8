"""Turns saved pages and WARC files into Exchanges for `record_capture`, so the archive
is usable before (or beside) the crawler: `presswatch import PATH`.

Owns reading those inputs only; recording is the caller's. A file that cannot be read
yields a problem naming the file and what to fix, and the import goes on. Bodies are
read in pieces and kept only up to the size limit (as the crawler keeps them): a record
of any size costs about `max_body_bytes` of memory, and a larger one is imported as a
`too_large` Exchange with its first bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator

from archive.bodies import decode_stream
from archive.capture import Exchange

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
    )
    return ImportItem(str(file), exchange=exchange)


def _pieces_of(stream: Any) -> Iterator[bytes]:
    while piece := stream.read(READ_PIECE):
        yield piece


def _payload(record: Any, limit: int) -> tuple[bytes, tuple[tuple[str, str], ...], str, str]:
    """A response record's payload, de-chunked and decoded within `limit` (warcio's
    `content_stream()` would inflate without bound), the HTTP headers that still
    describe it, and the Exchange error and detail (`too_large`, `bad_encoding`)."""
    http = record.http_headers
    headers = tuple(http.headers) if http is not None else ()
    chunked = any(
        k.lower() == "transfer-encoding" and v.strip().lower() == "chunked" for k, v in headers
    )
    encodings = [
        v.encode("latin-1", "replace") for k, v in headers if k.lower() == "content-encoding"
    ]
    result = decode_stream(_pieces_of(record.raw_stream), encodings, limit, chunked=chunked)
    # The payload is stored decoded: drop the headers that described the old framing.
    dropped = {"transfer-encoding"} if chunked else set()
    if result.decoded_encodings:
        dropped.add("content-encoding")
    kept = tuple((k, v) for k, v in headers if k.lower() not in dropped)
    if result.kept_encodings:
        kept += (("Content-Encoding", ", ".join(result.kept_encodings)),)
    if result.over:
        how = "+".join(result.decoded_encodings) or "identity"
        return (
            result.body,
            kept,
            "too_large",
            f"body larger than {limit} bytes: truncated at {len(result.body)} bytes of "
            f"{result.decoded}+ decoded ({how}); the rest of the record was not read",
        )
    if result.error is not None:
        return result.body, kept, "bad_encoding", result.error
    return result.body, kept, "", ""


def _from_warc(file: Path, source: str | None, limit: int) -> Iterator[ImportItem]:
    try:
        with open(file, "rb") as fh:
            iterator = ArchiveIterator(fh, block_size=WARC_BLOCK)
            for record in iterator:
                if record.rec_type != "response":
                    continue
                # Read the payload before asking for the offset: warcio's offset
                # lookup consumes (in bounded blocks) the rest of the record.
                body, headers, error, detail = _payload(record, limit)
                origin = f"{file}#{iterator.get_record_offset()}"
                url = record.rec_headers.get_header("WARC-Target-URI") or ""
                date = record.rec_headers.get_header("WARC-Date") or ""
                if not url.startswith(("http://", "https://")):
                    continue  # dns:, whois: and other non-HTTP records
                try:
                    fetched_at = datetime.fromisoformat(date.replace("Z", "+00:00"))
                except ValueError:
                    yield ImportItem(origin, problem=f"{origin}: bad WARC-Date {date!r}")
                    continue
                if fetched_at.tzinfo is None:
                    fetched_at = fetched_at.replace(tzinfo=UTC)
                http = record.http_headers
                code = http.get_statuscode() if http is not None else None
                if not code or not code.isdigit():
                    yield ImportItem(origin, problem=f"{origin}: response without HTTP status")
                    continue
                yield ImportItem(
                    origin,
                    exchange=Exchange(
                        requested_url=url,
                        final_url=url,
                        fetched_at=fetched_at,
                        status=int(code),
                        headers=headers,
                        body=body,
                        reason=http.statusline.split(" ", 1)[-1] if http is not None else "",
                        error=error or None,
                        error_detail=detail,
                        source=source,
                    ),
                )
    except Exception as exc:  # boundary: a damaged WARC is reported, not fatal
        yield ImportItem(str(file), problem=f"{file}: unreadable WARC ({exc}); is it truncated?")
