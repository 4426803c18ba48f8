"""The records of a capture's images in a package: the manifest's `images` of a capture
(`[{index, path, offset, length}]`, `index` the entry of the leaf's
`capture.detail.images`) each matched to the file, length and record SHA-256 that
entry commits to, so they are hashed and tiled with the capture's own records
(`records.check_records`).

A capture listed without `images` carries no image bytes and claims nothing about them
(packages made before images were packed); one that lists them must list exactly the
entries its leaf gives a record. An entry of a 304 names the earlier record of the bytes
it stands for, so one record may be named by several captures: it is checked once.
"""

from __future__ import annotations

from typing import Any

from presswatch.verify_package.reading import WARC_PREFIX
from presswatch.verify_package.records import Ref
from presswatch.verify_package.result import MAX_ENTRIES, Result, short

# Entries a version keeps (archive.content.images finds at most 20).
MAX_IMAGE_ENTRIES = 100


def image_refs(
    capture: dict[str, Any],
    cid: int,
    logged: dict[str, Any],
    seen: dict[tuple[str, int], Ref],
    result: Result,
) -> list[Ref]:
    """The image record references of one capture, each matched to its leaf entry;
    a record another capture already named (`seen`) is not named again."""
    given = capture.get("images")
    if given is None:
        return []
    where = f"capture {cid}"
    detail = logged.get("detail")
    entries = detail.get("images") if isinstance(detail, dict) else None
    committed = {
        n: entry["warc"]
        for n, entry in enumerate(entries if isinstance(entries, list) else [])
        if n < MAX_IMAGE_ENTRIES and isinstance(entry, dict) and isinstance(entry.get("warc"), dict)
    }
    if not isinstance(given, list) or len(given) > min(MAX_ENTRIES, MAX_IMAGE_ENTRIES):
        result.fail("image-record", where, "its images are not a short list")
        return []
    out: list[Ref] = []
    listed: set[int] = set()
    for item in given:
        index = item.get("index") if isinstance(item, dict) else None
        if not isinstance(index, int) or isinstance(index, bool) or index not in committed:
            result.fail(
                "image-record",
                where,
                f"an image record for entry {short(index)}, which its leaf gives none",
            )
            continue
        if index in listed:
            result.fail("image-record", where, f"image entry {index} is listed twice")
            continue
        listed.add(index)
        warc = committed[index]
        path, offset, length = item.get("path"), item.get("offset"), item.get("length")
        if (
            path != WARC_PREFIX + str(warc.get("file"))
            or length != warc.get("length")
            or not isinstance(offset, int)
            or isinstance(offset, bool)
            or offset < 0
        ):
            result.fail(
                "image-record",
                where,
                f"image entry {index}: its record is {short(path)}+{short(length)} bytes; its "
                f"leaf commits to {short(warc.get('length'))} bytes of "
                f"{WARC_PREFIX}{short(warc.get('file'))}",
            )
            continue
        sha = warc.get("record_sha256")
        ref = Ref(path, offset, length, sha if isinstance(sha, str) else "", cid, "image")
        before = seen.get((path, offset))
        if before is not None:
            if (before.length, before.sha256) != (ref.length, ref.sha256):
                result.fail(
                    "image-record",
                    where,
                    f"image entry {index}: {path}@{offset} is named with another length or "
                    "digest by another capture",
                )
            continue
        seen[(path, offset)] = ref
        out.append(ref)
    for index in sorted(set(committed) - listed):
        result.fail(
            "image-record",
            where,
            f"its leaf commits to a record of image entry {index} the package does not give",
        )
    return out
