"""The bytes a package replays: each capture's WARC records, matched to the length and
digest its leaf commits to, streamed once per file so nothing uncommitted hides
between them; and the CDXJ index and pages list, which must name only those records."""

from __future__ import annotations

import hashlib
import io
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from warcio.statusandheaders import StatusAndHeadersParser

from archive.formats import not_the_article_title
from presswatch.verify_package.reading import (
    INDEX,
    MAX_DOCUMENT_BYTES,
    PAGES,
    WARC_PREFIX,
    PackageFiles,
    Unreadable,
    parse_json,
)
from presswatch.verify_package.result import (
    MAX_ENTRIES,
    WARC_HEAD_BYTES,
    Result,
    obj,
    same_time,
    short,
    when,
)

# -- 5. the records of the captures (step numbers: __init__.py) ----------------------------


@dataclass(frozen=True, slots=True)
class Ref:
    """Where a record sits in the package, and what its leaf says it must be."""

    path: str
    offset: int
    length: int
    sha256: str | None  # committed by the leaf (None: an old request, not committed)
    capture_id: int
    kind: str  # "record", "request" or "image" (one of its images' records: images.py)


_RECORD_NAMES = {"record": "WARC record", "request": "request record", "image": "image record"}


@dataclass(slots=True)
class Read:
    """What streaming a record's bytes gave."""

    sha256: str = ""
    head: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    http_status: str | None = None  # of the HTTP message the record holds, if any


def _ref(capture: dict[str, Any], key: str, cid: int, result: Result) -> Ref | None | str:
    """The capture's record reference, None when it has none, "bad" when malformed."""
    ref = capture.get(key)
    if ref is None:
        return None
    if not isinstance(ref, dict):
        result.fail("record-reference", f"capture {cid}", f"its {key} reference is not an object")
        return "bad"
    path, offset, length = ref.get("path"), ref.get("offset"), ref.get("length")
    if (
        not isinstance(path, str)
        or not isinstance(offset, int)
        or not isinstance(length, int)
        or offset < 0
        or length <= 0
    ):
        result.fail(
            "record-reference",
            f"capture {cid}",
            f"its {key} reference has no path, offset and length",
        )
        return "bad"
    return Ref(path, offset, length, None, cid, key)


def capture_refs(
    capture: dict[str, Any], cid: int, warc: dict[str, Any] | None, result: Result
) -> list[Ref]:
    """The record and request references of a capture, each matched to its leaf's
    file, length and digest: a reference can point at no other bytes."""
    where = f"capture {cid}"
    record, request = _ref(capture, "record", cid, result), _ref(capture, "request", cid, result)
    if warc is None:
        if record is not None or request is not None:
            result.fail(
                "record-reference", where, "the manifest gives a WARC record, its leaf has none"
            )
        return []
    if record is None:
        result.fail(
            "record-reference", where, "its leaf commits to a WARC record the package does not give"
        )
    if not isinstance(record, Ref):
        return []
    path = WARC_PREFIX + str(warc.get("file"))
    out = []
    if record.path != path or record.length != warc.get("length"):
        result.fail(
            "record-reference",
            where,
            f"its record reference is {record.path}+{record.length} bytes; its leaf commits "
            f"to {warc.get('length')} bytes of {path}",
        )
        return []
    out.append(
        Ref(record.path, record.offset, record.length, warc.get("record_sha256"), cid, "record")
    )
    committed_request = warc.get("request_sha256")
    if request is None:
        if committed_request is not None:
            result.fail(
                "request-record",
                where,
                "its leaf commits to a request record the package does not give",
            )
        return out
    if not isinstance(request, Ref):
        return out
    if request.path != record.path or request.offset != record.offset + record.length:
        result.fail("request-record", where, "its request record does not follow its record")
        return out
    if committed_request is not None and request.length != warc.get("request_length"):
        result.fail(
            "request-record",
            where,
            f"its request record is {request.length} bytes, its leaf commits to "
            f"{warc.get('request_length')}",
        )
        return out
    out.append(Ref(request.path, request.offset, request.length, committed_request, cid, "request"))
    return out


def check_records(
    files: PackageFiles, refs: list[Ref], result: Result
) -> dict[tuple[str, int], tuple[Ref, Read]]:
    """Stream each WARC member once: the referenced records (each hashed before it is
    parsed) and an optional leading warcinfo record must cover it exactly, so no byte
    of a WARC file is there that no verified capture accounts for."""
    verified: dict[tuple[str, int], tuple[Ref, Read]] = {}
    by_path: dict[str, list[Ref]] = {}
    for ref in refs:
        by_path.setdefault(ref.path, []).append(ref)
    for path in sorted(files.names):
        if path.startswith(WARC_PREFIX) and path not in by_path:
            result.fail("unverified-record", path, "a WARC file no verified capture refers to")
    for path, group in sorted(by_path.items()):
        if path not in files.names:
            for ref in group:
                result.fail(
                    "record-reference", f"capture {ref.capture_id}", f"{path} is not in the package"
                )
            continue
        group.sort(key=lambda r: r.offset)
        spans, ok = _tile(path, group, files.size(path), result)
        if not ok:
            continue
        reads = _stream(files, path, spans, result)
        if reads is None:
            continue
        for (start, length, span_ref), read in zip(spans, reads, strict=True):
            if span_ref is None:
                if read.headers.get("warc-type") != "warcinfo":
                    result.fail(
                        "unverified-record",
                        f"{path}@0",
                        f"{start + length} bytes before the first record that are not a "
                        "warcinfo record: no verified capture accounts for them",
                    )
                continue
            if span_ref.sha256 is not None and read.sha256 != span_ref.sha256:
                result.fail(
                    "record-digest",
                    f"capture {span_ref.capture_id}",
                    f"{_RECORD_NAMES[span_ref.kind]} {path}@{start}: its sha256 is not the "
                    "one its leaf commits to (the record was altered)",
                )
                continue
            verified[(path, start)] = (span_ref, read)
    return verified


def _tile(
    path: str, group: list[Ref], size: int, result: Result
) -> tuple[list[tuple[int, int, Ref | None]], bool]:
    spans: list[tuple[int, int, Ref | None]] = []
    position = 0
    if group and group[0].offset > 0:
        if group[0].offset > 1 << 20:
            result.fail(
                "unverified-record", f"{path}@0", "over 1 MiB before the first verified record"
            )
            return [], False
        spans.append((0, group[0].offset, None))
        position = group[0].offset
    for ref in group:
        if ref.offset != position:
            result.fail(
                "unverified-record" if ref.offset > position else "record-reference",
                f"capture {ref.capture_id}",
                f"{path}: bytes {position}..{ref.offset} are no verified capture's record"
                if ref.offset > position
                else f"its {ref.kind} at {path}@{ref.offset} overlaps another record",
            )
            return [], False
        spans.append((ref.offset, ref.length, ref))
        position += ref.length
    if position != size:
        result.fail(
            "unverified-record",
            f"{path}@{position}",
            f"{size - position} bytes after the last verified record"
            if size > position
            else f"the file ends {position - size} bytes before its last record",
        )
        return [], False
    return spans, True


def _stream(
    files: PackageFiles, path: str, spans: list[tuple[int, int, Ref | None]], result: Result
) -> list[Read] | None:
    """Hash each span of the member as it streams by, keeping its first bytes for the
    WARC header block (bounded memory whatever the record sizes)."""
    reads = [Read() for _ in spans]
    index, left = 0, spans[0][1] if spans else 0
    sha = hashlib.sha256()
    head = bytearray()
    try:
        for chunk in files.iter_member(path):
            view = memoryview(chunk)
            while view:
                if index >= len(spans):
                    return None  # longer than its size: the digest pass reported it
                take = min(left, len(view))
                part = view[:take]
                sha.update(part)
                if len(head) < WARC_HEAD_BYTES:
                    head += part[: WARC_HEAD_BYTES - len(head)]
                view, left = view[take:], left - take
                if left == 0 and index < len(spans):
                    reads[index].sha256 = sha.hexdigest()
                    reads[index].head = bytes(head)
                    index += 1
                    sha, head = hashlib.sha256(), bytearray()
                    left = spans[index][1] if index < len(spans) else 0
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        result.fail("member-digest", path, f"unreadable in the zip: {exc}")
        return None
    for read in reads:
        read.headers, read.http_status = _warc_headers(read.head)
    return reads


def _warc_headers(head: bytes) -> tuple[dict[str, str], str | None]:
    """The WARC header block of a (gzip member) record from its first bytes, names in
    lower case, and the status of the HTTP message after it; ({}, None) when it does
    not read as a record."""
    try:
        data = zlib.decompressobj(wbits=47).decompress(head, WARC_HEAD_BYTES)
    except zlib.error:
        return {}, None
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return {}, None
    try:
        parsed = StatusAndHeadersParser(["WARC/1.0", "WARC/1.1"]).parse(io.BytesIO(data[: end + 4]))
    except Exception:  # noqa: BLE001 - warcio raises bare errors on a malformed block
        return {}, None
    status_line = data[end + 4 :].split(b"\r\n", 1)[0].split()
    status = (
        status_line[1].decode("ascii", "replace")
        if len(status_line) > 1 and status_line[0].startswith(b"HTTP/")
        else None
    )
    return {name.lower(): value for name, value in parsed.headers}, status


def check_record_headers(
    verified: dict[tuple[str, int], tuple[Ref, Read]],
    leaves: dict[int, dict[str, Any]],
    result: Result,
) -> None:
    records = {(ref.capture_id, ref.kind): read for ref, read in verified.values()}
    for (cid, kind), read in records.items():
        if kind != "record":
            continue
        leaf_type = (leaves[cid].get("warc") or {}).get("type")
        if read.headers.get("warc-type") != leaf_type:
            result.fail(
                "record-type",
                f"capture {cid}",
                f"its WARC record is a {short(read.headers.get('warc-type'))}, its leaf "
                f"says {leaf_type}",
            )
        request = records.get((cid, "request"))
        if request is not None and request.headers.get("warc-concurrent-to") != read.headers.get(
            "warc-record-id"
        ):
            result.fail(
                "request-record",
                f"capture {cid}",
                "its request record is not concurrent to its record",
            )


def check_index(
    files: PackageFiles, verified: dict[tuple[str, int], tuple[Ref, Read]], result: Result
) -> None:
    """Each CDXJ line names a verified response or revisit record, under the URL, time
    and status that record has; and each such record has its line (a replay tool shows
    exactly the verified records)."""
    data = files.read_small(INDEX, MAX_DOCUMENT_BYTES)
    if data is None:
        result.fail("index-line", INDEX, "missing: replay tools cannot find the records")
        return
    wanted = {
        (ref.path, ref.offset): (ref, read)
        for ref, read in verified.values()
        if ref.kind in ("record", "image")
    }
    seen: set[tuple[str, int]] = set()
    inner: list[tuple[str, str, dict[str, Any], tuple[str, int], Ref]] = []
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines()[:MAX_ENTRIES], 1):
        where = f"{INDEX} line {number}"
        parts = line.split(" ", 2)
        try:
            fields = parse_json(parts[2].encode("utf-8"), where) if len(parts) == 3 else None
        except Unreadable:
            fields = None
        if not isinstance(fields, dict):
            result.fail("index-line", where, "not a CDXJ line (key, timestamp, JSON)")
            continue
        try:
            place = (WARC_PREFIX + str(fields.get("filename")), int(fields.get("offset", "")))
            length = int(fields.get("length", ""))
        except (TypeError, ValueError):
            result.fail("index-line", where, "no filename, offset and length")
            continue
        target = wanted.get(place)
        if target is None:
            enclosing = _enclosing(verified, place, length)
            if enclosing is not None:
                # A record inside bytes the log commits to as one (a rendering's page
                # requisites): its own header is read and checked below, after one pass.
                inner.append((where, parts[1], fields, place, enclosing))
                continue
        if target is None or target[0].length != length:
            result.fail(
                "index-line",
                where,
                f"points at {place[0]}@{place[1]}, no verified capture's record",
            )
            continue
        ref, read = target
        record_date = when(read.headers.get("warc-date", ""))
        stamp = record_date.astimezone(UTC).strftime("%Y%m%d%H%M%S") if record_date else None
        problems = []
        if fields.get("url") != read.headers.get("warc-target-uri"):
            problems.append(f"url {short(fields.get('url'))}")
        if parts[1] != stamp:
            problems.append(f"time {short(parts[1])}")
        if read.http_status is not None and str(fields.get("status")) != read.http_status:
            problems.append(f"status {short(fields.get('status'))}")
        if problems:
            result.fail(
                "index-line",
                where,
                f"names capture {ref.capture_id}'s record with {', '.join(problems)}, not "
                "what the record and its leaf say",
            )
        seen.add(place)
    _check_inner_lines(files, inner, result)
    for place, (ref, _) in sorted(wanted.items()):
        if place not in seen:
            result.fail(
                "index-line",
                f"capture {ref.capture_id}",
                f"its record {place[0]}@{place[1]} has no line in {INDEX}",
            )


def _enclosing(
    verified: dict[tuple[str, int], tuple[Ref, Read]], place: tuple[str, int], length: int
) -> Ref | None:
    """The verified record group that holds `length` bytes at `place` past its start."""
    path, offset = place
    for ref, _read in verified.values():
        if ref.path == path and ref.offset <= offset and offset + length <= ref.offset + ref.length:
            return ref
    return None


def _heads_at(files: PackageFiles, path: str, offsets: list[int]) -> dict[int, bytes]:
    """The first WARC_HEAD_BYTES bytes at each of `offsets` in member `path`, one pass."""
    wanted = sorted(set(offsets))
    heads: dict[int, bytearray] = {o: bytearray() for o in wanted}
    position = 0
    for chunk in files.iter_member(path):
        end = position + len(chunk)
        for offset in wanted:
            head = heads[offset]
            if len(head) >= WARC_HEAD_BYTES or offset >= end:
                continue
            start = max(offset, position) - position
            head += chunk[start : start + WARC_HEAD_BYTES - len(head)]
        position = end
        if wanted and position >= wanted[-1] + WARC_HEAD_BYTES:
            break
    return {o: bytes(h) for o, h in heads.items()}


def _check_inner_lines(
    files: PackageFiles,
    inner: list[tuple[str, str, dict[str, Any], tuple[str, int], Ref]],
    result: Result,
) -> None:
    """Index lines naming records inside a verified group: each must start a record
    there whose URL, time and status are the line's."""
    by_path: dict[str, list[int]] = {}
    for _where, _stamp, _fields, (path, offset), _ref in inner:
        by_path.setdefault(path, []).append(offset)
    heads: dict[tuple[str, int], bytes] = {}
    for path, offsets in by_path.items():
        try:
            for offset, head in _heads_at(files, path, offsets).items():
                heads[(path, offset)] = head
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            result.fail("member-digest", path, f"unreadable in the zip: {exc}")
            return
    for where, stamp, fields, place, ref in inner:
        headers, status = _warc_headers(heads.get(place, b""))
        if not headers:
            result.fail(
                "index-line",
                where,
                f"points inside capture {ref.capture_id}'s records at "
                f"{place[0]}@{place[1]}, where no record starts",
            )
            continue
        record_date = when(headers.get("warc-date", ""))
        expected = record_date.astimezone(UTC).strftime("%Y%m%d%H%M%S") if record_date else None
        problems = []
        if fields.get("url") != headers.get("warc-target-uri"):
            problems.append(f"url {short(fields.get('url'))}")
        if stamp != expected:
            problems.append(f"time {short(stamp)}")
        if status is not None and str(fields.get("status")) != status:
            problems.append(f"status {short(fields.get('status'))}")
        if problems:
            result.fail(
                "index-line",
                where,
                f"names a record of capture {ref.capture_id} with {', '.join(problems)}, not "
                "what the record says",
            )


def check_pages(
    files: PackageFiles,
    ours: list[tuple[int, dict[str, Any]]],
    result: Result,
) -> None:
    """Each page is one of the article's verified captures (2xx, with a record), at its
    URL and time, titled with that capture's version title or untitled."""
    data = files.read_small(PAGES, MAX_DOCUMENT_BYTES)
    if data is None:
        result.fail("page-entry", PAGES, "missing")
        return
    by_page = {f"capture-{cid}": leaf for cid, leaf in ours}
    lines = data.decode("utf-8", "replace").splitlines()
    for number, line in enumerate(lines[:MAX_ENTRIES], 1):
        where = f"{PAGES} line {number}"
        try:
            page = parse_json(line.encode("utf-8"), where)
        except Unreadable:
            page = None
        if not isinstance(page, dict):
            result.fail("page-entry", where, "not a JSON object")
            continue
        if number == 1:
            if page.get("format") != "json-pages-1.0":
                result.fail("page-entry", where, "the header line is not json-pages-1.0")
            continue
        leaf = by_page.get(str(page.get("id")))
        if leaf is None:
            result.fail(
                "page-entry",
                where,
                f"page {short(page.get('id'))} is no verified capture of the article",
            )
            continue
        logged = leaf["capture"]
        status = logged.get("status")
        version = obj(leaf.get("version"))
        problems = []
        if not (isinstance(status, int) and 200 <= status < 300 and leaf.get("warc")):
            problems.append(f"a capture of status {status} is no page")
        if page.get("url") != logged.get("final_url"):
            problems.append(f"url {short(page.get('url'))}")
        if not same_time(page.get("ts"), logged.get("fetched_at")):
            problems.append(f"ts {short(page.get('ts'))}")
        # A "page not found" or bot-block capture keeps the article's version without
        # showing it: only a capture that saw its version may carry that title; any
        # other is untitled or named for what its outcome says it was.
        shown_title = (
            version.get("title")
            if version.get("seen")
            else not_the_article_title(str(logged.get("outcome")))
        )
        if page.get("title") not in (None, shown_title):
            problems.append(f"title {short(page.get('title'))}")
        if problems:
            result.fail(
                "page-entry",
                where,
                f"page of capture {logged.get('id')}: {', '.join(problems)}, not what its "
                "leaf says",
            )
