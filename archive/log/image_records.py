"""Re-reading the WARC records of a capture's images (`Capture.detail["images"]`, which
the capture's leaf commits to): each entry names its record's file, offset, length and
SHA-256, and a 200's payload SHA-256. `verify` checks the bytes against both, so an
altered photo in a WARC file is named like an altered page.

A 304's entry names the earlier record that holds the bytes it stands for: that record
is read again for it (a 304 comes at most once an image interval, and remembering every
record read would grow with the archive).

Must not: write anything, or trust an entry's length beyond what an image record can be.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from archive.errors import StorageError
from archive.warc.records import WarcStore

# The crawler keeps at most 10 MB of an image; a record longer than this is no image's.
MAX_IMAGE_RECORD_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ImageRecordCheck:
    """Checks the image records of captures for one `verify` run."""

    store: WarcStore

    def problems(self, detail: Any) -> Iterator[tuple[str, str]]:
        """(field, problem) for each image record of a capture's `detail` that is not
        the bytes its entry names."""
        entries = detail.get("images") if isinstance(detail, dict) else None
        if not isinstance(entries, list):
            return
        for n, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("warc"), dict):
                continue
            problem = self._check(entry)
            if problem is not None:
                yield f"detail.images[{n}].warc", f"image {entry.get('src')}: {problem}"

    def _check(self, entry: dict[str, Any]) -> str | None:
        where = entry["warc"]
        file, offset, length = where.get("file"), where.get("offset"), where.get("length")
        if (
            not isinstance(file, str)
            or not isinstance(offset, int)
            or not isinstance(length, int)
            or offset < 0
            or not 0 < length <= MAX_IMAGE_RECORD_BYTES
        ):
            return "its WARC record's file, offset or length is not one a record can have"
        return self._read(file, offset, length, where, entry)

    def _read(
        self, file: str, offset: int, length: int, where: dict[str, Any], entry: dict[str, Any]
    ) -> str | None:
        try:
            raw = self.store.read_raw(file, offset, length)
        except StorageError as exc:
            return str(exc)
        if len(raw) != length:
            return f"WARC record {file}@{offset} is truncated"
        if hashlib.sha256(raw).hexdigest() != where.get("record_sha256"):
            return (
                f"WARC record {file}@{offset} does not match its SHA-256 "
                "(bytes changed in the WARC file)"
            )
        try:
            record = self.store.parse_record(raw, file, offset)
        except StorageError as exc:
            return str(exc)
        sha = entry.get("sha256")
        if (
            record.warc_type == "response"
            and record.http_status == 200
            and isinstance(sha, str)
            and hashlib.sha256(record.payload).hexdigest() != sha
        ):
            return f"WARC payload of {file}@{offset} does not match the image's SHA-256"
        return None
