"""The WARC store: files other web-archive tools can read, rotation, revisits."""

from __future__ import annotations

import gzip
import random
from datetime import UTC, datetime
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from archive.warc import WarcStore, sha1_base32

AT = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def test_records_round_trip_and_files_are_plain_warcs(tmp_path: Path) -> None:
    store = WarcStore(tmp_path, max_bytes=10_000_000)
    body = "<html><body><p>ការជួញដូរមនុស្ស</p></body></html>".encode()
    loc = store.write_response(
        url="https://kh.example/a/",
        fetched_at=AT,
        status=200,
        reason="OK",
        headers=[("Content-Type", "text/html; charset=utf-8")],
        body=body,
        request_headers=[("User-Agent", "Presswatch/test")],
    )
    rec = store.read_record(loc.file, loc.offset, loc.length)
    assert (rec.warc_type, rec.http_status, rec.payload) == ("response", 200, body)
    revisit = store.write_revisit(
        url="https://kh.example/a/",
        fetched_at=AT,
        status=200,
        reason="OK",
        headers=[("Content-Type", "text/html")],
        refers_to_uri="https://kh.example/a/",
        refers_to_date=AT,
        payload_digest=sha1_base32(body),
        request_headers=[],
    )
    assert store.read_record(revisit.file, revisit.offset, revisit.length).warc_type == "revisit"
    # The whole file reads with warcio, as pywb or any other WARC tool would read it.
    with open(tmp_path / loc.file, "rb") as fh:
        kinds = [r.rec_type for r in ArchiveIterator(fh)]
    assert kinds == ["warcinfo", "response", "request", "revisit", "request"]
    gzip.decompress((tmp_path / loc.file).read_bytes())  # valid multi-member gzip


def test_files_rotate_past_the_size_limit(tmp_path: Path) -> None:
    store = WarcStore(tmp_path, max_bytes=4096)
    for i in range(6):
        store.write_response(
            url=f"https://kh.example/{i}/",
            fetched_at=AT,
            status=200,
            reason="OK",
            headers=[],
            body=random.Random(i).randbytes(3000),
            request_headers=[],
        )
    files = sorted(tmp_path.glob("*.warc.gz"))
    assert len(files) >= 3
    assert all(f.stat().st_size <= 4096 * 2 for f in files)


def test_two_stores_never_share_a_file(tmp_path: Path) -> None:
    a, b = WarcStore(tmp_path), WarcStore(tmp_path)
    la = a.write_response(
        url="https://x.example/",
        fetched_at=AT,
        status=200,
        reason="OK",
        headers=[],
        body=b"a",
        request_headers=[],
    )
    lb = b.write_response(
        url="https://x.example/",
        fetched_at=AT,
        status=200,
        reason="OK",
        headers=[],
        body=b"b",
        request_headers=[],
    )
    assert la.file != lb.file
