"""The WARC store: files other web-archive tools can read, rotation, revisits."""

from __future__ import annotations

import gzip
import hashlib
import io
import random
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders

from archive.capture import Exchange
from archive.log import verify_archive
from archive.store.models import Capture, CaptureOutcome, Version
from archive.warc.records import WarcStore, sha1_base32
from presswatch.runtime import Runtime
from tests import archive_helpers as h

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


def _write_one(store: WarcStore, url: str) -> str:
    return store.write_response(
        url=url,
        fetched_at=AT,
        status=200,
        reason="OK",
        headers=[],
        body=url.encode(),
        request_headers=[],
    ).file


def test_a_crawl_finishes_the_files_its_dead_writers_left_open_once_each(
    tmp_path: Path,
) -> None:
    """A writer process killed mid-crawl never closes its last file, so never indexes
    it: the crawl, sharing the writers' run name, hands those files to its indexer, but
    not the live writer's, nor another crawl's, nor any file twice."""
    dead = WarcStore(tmp_path, run="crawl1")  # killed: never closed
    dead_file = _write_one(dead, "https://x.example/dead/")
    live = WarcStore(tmp_path, run="crawl1")
    live.prefix = "presswatch-999999-crawl1"  # a second process of the run, still writing
    live_file = _write_one(live, "https://x.example/live/")
    other_crawl = _write_one(WarcStore(tmp_path, run="crawl2"), "https://x.example/other/")
    finished: list[str] = []
    crawl = WarcStore(tmp_path, run="crawl1", on_closed=lambda p: finished.append(p.name))

    assert [p.name for p in crawl.finish_files_of("crawl1", writing=live.prefix)] == [dead_file]
    assert crawl.finish_files_of("crawl1", writing=live.prefix) == []  # once each
    # The crawl ended with no writer alive: the last one's files too, still once each.
    assert [p.name for p in crawl.finish_files_of("crawl1")] == [live_file]
    assert finished == [dead_file, live_file]
    assert other_crawl not in finished


# -- the response as received ------------------------------------------------------------


def _gzip_exchange(page: h.Page, at: datetime) -> tuple[Exchange, bytes]:
    html = page.html.encode("utf-8")
    wire = gzip.compress(html, mtime=0)
    headers = (
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Encoding", "gzip"),
        ("Content-Length", str(len(wire))),
        ("Vary", "Accept-Encoding"),
    )
    ex = replace(h.exchange(page.url, html, at=at, headers=headers), transmitted=wire)
    return ex, wire


def _capture(rt: Runtime, capture_id: int) -> Capture:
    with rt.sessions() as session:
        capture = session.get(Capture, capture_id)
        assert capture is not None
        return capture


def _warc_headers(rt: Runtime, capture: Capture) -> StatusAndHeaders:
    raw = rt.warc.read_raw(capture.warc_file or "", capture.warc_offset or 0,
                           capture.warc_length or 0)  # fmt: skip
    record = next(iter(ArchiveIterator(io.BytesIO(raw))))
    headers: StatusAndHeaders = record.rec_headers
    return headers


def test_a_gzip_response_is_stored_as_sent_and_read_as_text(runtime: Runtime) -> None:
    page = h.km_story()
    ex, wire = _gzip_exchange(page, AT)
    result = h.record(runtime, ex)
    capture = _capture(runtime, result.capture_id)
    record = runtime.warc.read_record(capture.warc_file or "", capture.warc_offset or 0,
                                      capture.warc_length or 0)  # fmt: skip
    # The record: the headers as sent, the compressed bytes as transmitted.
    assert record.header("Content-Encoding") == "gzip"
    assert record.header("Content-Length") == str(len(wire))
    assert record.header("Vary") == "Accept-Encoding"
    assert record.payload == wire
    assert record.decoded(10_000_000).body == page.html.encode("utf-8")
    # One meaning of "payload": the bytes as transmitted, as WARC-Payload-Digest says.
    assert capture.payload_sha256 == hashlib.sha256(wire).hexdigest()
    assert capture.payload_length == len(wire)
    assert _warc_headers(runtime, capture).get_header("WARC-Payload-Digest") == sha1_base32(wire)
    # The version is the decoded article, Khmer text intact.
    with runtime.sessions() as session:
        version = session.scalars(select(Version)).one()
        assert h.KM_WORD in version.text and page.snippet in version.text
    assert verify_archive_ok(runtime)


def test_the_same_bytes_again_are_a_revisit_naming_the_first_record(runtime: Runtime) -> None:
    page = h.km_story()
    ex, wire = _gzip_exchange(page, AT)
    first = _capture(runtime, h.record(runtime, ex).capture_id)
    again, _ = _gzip_exchange(page, AT + timedelta(hours=6, microseconds=250))
    second = _capture(runtime, h.record(runtime, again).capture_id)
    assert (first.warc_type, second.warc_type) == ("response", "revisit")
    assert second.payload_sha256 == first.payload_sha256
    original, revisit = _warc_headers(runtime, first), _warc_headers(runtime, second)
    assert revisit.get_header("WARC-Date") == "2026-03-01T14:00:00.000250Z"
    assert revisit.get_header("WARC-Profile") == (
        "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
    )
    assert revisit.get_header("WARC-Refers-To") == original.get_header("WARC-Record-ID")
    assert revisit.get_header("WARC-Refers-To-Date") == original.get_header("WARC-Date")
    assert revisit.get_header("WARC-Refers-To-Target-URI") == page.url
    assert revisit.get_header("WARC-Payload-Digest") == sha1_base32(wire)
    # The same text decoded from other gzip bytes is a new payload, not a revisit.
    html = page.html.encode("utf-8")
    other = gzip.compress(html, compresslevel=1, mtime=0)
    third = replace(again, fetched_at=AT + timedelta(days=1), transmitted=other)
    assert _capture(runtime, h.record(runtime, third).capture_id).warc_type == "response"
    assert verify_archive_ok(runtime)


def test_an_extractor_upgrade_reads_the_gzip_record_decoded(runtime: Runtime) -> None:
    """Rule 8 re-extracts the version's original capture: from its decoded payload."""
    page = h.km_story()
    ex, _ = _gzip_exchange(page, AT)
    h.record(runtime, ex)
    with runtime.sessions.begin() as session:
        version = session.scalars(select(Version)).one()
        version.text_z = Version.compress(version.text + "\nShare this article")
        version.extractor = "trafilatura 1.0.0+pw0"
    later, _ = _gzip_exchange(page, AT + timedelta(hours=6))
    later = replace(later, transmitted=gzip.compress(page.html.encode(), compresslevel=1))
    assert h.record(runtime, later).outcome is CaptureOutcome.UNCHANGED


def test_a_bomb_is_stored_whole_and_not_marked_truncated(runtime: Runtime) -> None:
    """The decoded body was cut at the limit, the transmitted bytes were not: the
    record holds them all and does not claim WARC-Truncated."""
    wire = gzip.compress(b"<html>" + bytes(5_000_000), mtime=0)
    ex = replace(
        h.exchange("https://kh.example/bomb/", bytes(100_000), at=AT, error="too_large",
                   headers=(("Content-Type", "text/html"), ("Content-Encoding", "gzip"))),
        transmitted=wire,
    )  # fmt: skip
    capture = _capture(runtime, h.record(runtime, ex).capture_id)
    assert capture.payload_length == len(wire)
    assert _warc_headers(runtime, capture).get_header("WARC-Truncated") is None
    cut = replace(ex, fetched_at=AT + timedelta(hours=1), transmitted=wire[:1000],
                  transmitted_cut=True)  # fmt: skip
    capture = _capture(runtime, h.record(runtime, cut).capture_id)
    assert _warc_headers(runtime, capture).get_header("WARC-Truncated") == "length"


def test_a_transfer_encoding_header_is_kept_under_another_name(tmp_path: Path) -> None:
    """The payload is stored de-chunked (WARC 1.1, 6.3.2): a `Transfer-Encoding:
    chunked` header left in place would make replay tools de-chunk it again."""
    store = WarcStore(tmp_path)
    body = b"<html><body>de-chunked</body></html>"
    loc = store.write_response(
        url="https://kh.example/c/",
        fetched_at=AT,
        status=200,
        reason="OK",
        headers=[("Content-Type", "text/html"), ("Transfer-Encoding", "chunked")],
        body=body,
        request_headers=[],
    )
    record = store.read_record(loc.file, loc.offset, loc.length)
    assert record.header("Transfer-Encoding") is None
    assert record.header("X-Archive-Orig-Transfer-Encoding") == "chunked"
    with open(tmp_path / loc.file, "rb") as fh:
        [replayed] = [r.content_stream().read() for r in ArchiveIterator(fh)
                      if r.rec_type == "response"]  # fmt: skip
    assert replayed == body


def test_each_file_starts_with_its_warcinfo(tmp_path: Path) -> None:
    store = WarcStore(tmp_path, max_bytes=4096, info={"operator": "https://watch.example/"})
    for i in range(4):
        store.write_response(
            url=f"https://kh.example/{i}/",
            fetched_at=AT,
            status=200,
            reason="OK",
            headers=[],
            body=random.Random(i).randbytes(3000),
            request_headers=[],
        )
    store.close()
    files = sorted(tmp_path.glob("*.warc.gz"))
    assert len(files) >= 2
    for path in files:
        with open(path, "rb") as fh:
            records = [(r.rec_type, r.rec_headers, r.content_stream().read())
                       for r in ArchiveIterator(fh)]  # fmt: skip
        kind, headers, fields = records[0]
        assert kind == "warcinfo" and [r[0] for r in records].count("warcinfo") == 1
        assert headers.protocol == "WARC/1.1"
        assert headers.get_header("WARC-Filename") == path.name
        assert re.fullmatch(
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", headers.get_header("WARC-Date")
        )
        # A date with no fraction still has six digits of it.
        assert records[1][1].get_header("WARC-Date") == "2026-03-01T08:00:00.000000Z"
        text = fields.decode()
        assert "software: Presswatch/" in text and "warcio/" in text
        assert "operator: https://watch.example/" in text
        assert "format: WARC File Format 1.1" in text


def verify_archive_ok(rt: Runtime) -> bool:
    with rt.sessions() as session:
        report = verify_archive(session, rt.warc)
    assert report.ok, report.problems
    return True


def test_the_raw_download_is_the_payload_as_transmitted(runtime: Runtime) -> None:
    """`/raw` serves the bytes `payload_sha256` covers, and says how they are encoded."""
    from fastapi.testclient import TestClient

    from search_api.app import create_app

    ex, wire = _gzip_exchange(h.en_story(), AT)
    capture = _capture(runtime, h.record(runtime, ex).capture_id)
    app = create_app(runtime.settings, sessions=runtime.sessions, warc=runtime.warc)
    with TestClient(app) as client:
        response = client.get(f"/api/captures/{capture.id}/raw")
        shown = client.get(f"/api/captures/{capture.id}").json()
    assert response.status_code == 200 and response.content == wire
    assert response.headers["x-archived-content-encoding"] == "gzip"
    assert response.headers["x-payload-sha256"] == capture.payload_sha256
    assert response.headers["content-disposition"].endswith('.bin"')
    assert shown["headers"]["content-encoding"] == "gzip"
    assert shown["payload_sha256"] == hashlib.sha256(wire).hexdigest()


def test_a_request_record_has_a_block_digest_and_no_empty_payload_digest(
    runtime: Runtime,
) -> None:
    """A GET's payload is empty: its request record carries no WARC-Payload-Digest (the
    empty string's, on every capture), and warcio's digest check of the block passes."""
    page = h.km_story()
    result = h.record(runtime, h.exchange(page.url, page.html, at=AT))
    capture = _capture(runtime, result.capture_id)
    start = (capture.warc_offset or 0) + (capture.warc_length or 0)
    raw = runtime.warc.read_raw(capture.warc_file or "", start, capture.request_length or 0)
    assert hashlib.sha256(raw).hexdigest() == capture.request_sha256
    iterator = ArchiveIterator(io.BytesIO(raw), check_digests=True)
    record = next(iter(iterator))
    assert record.rec_type == "request"
    assert record.rec_headers.get_header("WARC-Payload-Digest") is None
    assert record.rec_headers.get_header("WARC-Block-Digest")
    record.content_stream().read()
    assert record.digest_checker.passed is True, record.digest_checker.problems
    response = _warc_headers(runtime, capture)
    assert response.get_header("WARC-Payload-Digest")  # the response keeps its own
