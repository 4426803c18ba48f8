"""Turns saved pages and WARC files into Exchanges for `record_capture`, so the archive
is usable before (or beside) the crawler: `presswatch import PATH`.

Owns reading those inputs only; recording is the caller's. A file that cannot be read
yields a problem naming the file and what to fix, and the import goes on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from archive.capture import Exchange

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


def exchanges_from_path(path: Path, *, source: str | None = None) -> Iterator[ImportItem]:
    """Every importable exchange under `path` (a file or a directory, recursively)."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        name = file.name.lower()
        if name.endswith(WARC_SUFFIXES):
            yield from _from_warc(file, source)
        elif name.endswith(SAVED_PAGE_SUFFIXES):
            yield _from_saved_page(file, source)
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


def _from_saved_page(file: Path, source: str | None) -> ImportItem:
    try:
        body = file.read_bytes()
    except OSError as exc:
        return ImportItem(str(file), problem=f"{file}: cannot read: {exc}")
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
        source=source,
    )
    return ImportItem(str(file), exchange=exchange)


def _from_warc(file: Path, source: str | None) -> Iterator[ImportItem]:
    try:
        with open(file, "rb") as fh:
            iterator = ArchiveIterator(fh)
            for record in iterator:
                if record.rec_type != "response":
                    continue
                # Read the payload before asking for the offset: warcio's offset
                # lookup consumes the rest of the record.
                body = record.content_stream().read()
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
                headers = tuple(http.headers) if http is not None else ()
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
                        source=source,
                    ),
                )
    except Exception as exc:  # boundary: a damaged WARC is reported, not fatal
        yield ImportItem(str(file), problem=f"{file}: unreadable WARC ({exc}); is it truncated?")
