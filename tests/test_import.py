"""`presswatch import` with provenance: imported captures say where they came from,
digests are checked, dates follow the one import rule (archive.capture.judge.import_hold), and
a truncated or corrupt file exits 1 naming the file and offset, keeping what came before."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tracemalloc
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archive.capture import Exchange
from archive.errors import BadInput
from archive.formats import exchanges_from_path
from archive.store import Capture
from presswatch.cli import app
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from search_api.app import create_app
from tests import archive_helpers as h
from tests.site_server import cli as site_cli

EN = h.en_story()
URL = EN.url
EDITED = h.edit_one_word(EN.html, EN.snippet)


def cli(data_dir: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--data-dir", str(data_dir), *args])


def write_warc(path: Path, records: list[tuple[str, str, bytes]], *, gzip: bool = True) -> None:
    """A WARC of response records (url, WARC-Date, HTML body), digests set by warcio."""
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=gzip)
        for url, date, body in records:
            headers = StatusAndHeaders(
                "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
            )
            writer.write_record(
                writer.create_warc_record(
                    url,
                    "response",
                    payload=io.BytesIO(body),
                    length=len(body),
                    http_headers=headers,
                    warc_headers_dict={"WARC-Date": date},
                )
            )


def captures(rt: Runtime) -> list[Capture]:
    with rt.sessions() as s:
        return list(s.scalars(select(Capture).order_by(Capture.id)))


def history(rt: Runtime, url: str = URL) -> dict[str, Any]:
    result = cli(rt.settings.data_dir, "history", url, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_imported_captures_carry_origin_and_provenance(runtime: Runtime, tmp_path: Path) -> None:
    warc = tmp_path / "saved.warc.gz"
    write_warc(
        warc,
        [
            (URL, "2026-01-01T10:00:00Z", EN.html.encode()),
            (URL, "2026-01-02T10:00:00.250000Z", EDITED.encode()),
        ],
    )
    result = cli(runtime.settings.data_dir, "import", str(warc), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc == {"recorded": {"new": 1, "edited": 1}, "held": [], "problems": []}

    shown = history(runtime)["captures"]
    assert [c["origin"] for c in shown] == ["import", "import"]
    first, second = (c["provenance"] for c in shown)
    assert first["file"] == str(warc) and second["file"] == str(warc)
    assert first["offset"] == 0 and second["offset"] > 0
    assert first["record_id"].startswith("<urn:uuid:") and first["record_id"] != second["record_id"]
    assert second["warc_date"] == "2026-01-02T10:00:00.250000Z"
    assert first["digest"] == second["digest"] == "ok"
    assert shown[1]["fetched_at"].startswith("2026-01-02T10:00:00.25")
    # The API shows the same, and a crawled capture says it was crawled.
    h.record(runtime, h.exchange(URL, EDITED, at=datetime(2026, 3, 1, tzinfo=UTC)))
    app_ = create_app(runtime.settings, sessions=runtime.sessions, warc=runtime.warc)
    with TestClient(app_) as client:
        api = [client.get(f"/api/captures/{c.id}").json() for c in captures(runtime)]
        page = client.get(f"/articles/{api[0]['article_id']}").text
    assert page.count(">imported</span>") == 2  # the two imports, not the crawl
    assert [c["origin"] for c in api] == ["import", "import", "crawl"]
    assert api[1]["provenance"]["record_id"] == second["record_id"]
    assert api[2]["provenance"] == {}


def _flip_in_payload(path: Path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    assert len(old) == len(new) and data.count(old) == 1
    path.write_bytes(data.replace(old, new))


def test_digest_mismatch_is_kept_flagged_never_trusted(runtime: Runtime, tmp_path: Path) -> None:
    h.record(runtime, h.exchange(URL, EN.html, at=datetime(2026, 1, 1, tzinfo=UTC)))
    warc = tmp_path / "forged.warc"
    write_warc(warc, [(URL, "2026-02-01T10:00:00Z", EDITED.encode())], gzip=False)
    # Same length, different bytes: the record's recorded digests no longer match.
    _flip_in_payload(warc, EN.snippet[:20].encode(), EN.snippet[:19].encode() + b"X")
    result = cli(runtime.settings.data_dir, "import", str(warc), "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["recorded"] == {"evidence": 1}
    assert len(doc["problems"]) == 1 and "digest" in doc["problems"][0]
    assert str(warc) in doc["problems"][0]
    # Stored as evidence, flagged, and it moved nothing: one version, one event.
    held = captures(runtime)[-1]
    assert held.origin == "import" and held.outcome == "evidence"
    assert held.provenance["digest"] == "mismatch" and held.provenance["digest_problems"]
    assert held.detail["evidence_only"].startswith("digest_mismatch")
    doc = history(runtime)
    assert doc["article"]["versions"] == 1 and doc["article"]["status"] == "live"
    assert [e["kind"] for e in doc["events"]] == ["discovered"]
    assert cli(runtime.settings.data_dir, "verify").exit_code == 0


def test_a_wrong_sha256_digest_is_caught_too(runtime: Runtime, tmp_path: Path) -> None:
    warc = tmp_path / "sha256.warc"
    body = EN.html.encode()
    with open(warc, "wb") as fh:
        writer = WARCWriter(fh, gzip=False)
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        writer.write_record(
            writer.create_warc_record(
                URL,
                "response",
                payload=io.BytesIO(body),
                length=len(body),
                http_headers=headers,
                warc_headers_dict={
                    "WARC-Date": "2026-01-01T10:00:00Z",
                    "WARC-Payload-Digest": "sha256:" + "0" * 64,
                },
            )
        )
    result = cli(runtime.settings.data_dir, "import", str(warc), "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    # Never trusted: no article is made from it, yet the capture and its bytes are kept.
    assert doc["recorded"] == {"evidence": 1}
    assert cli(runtime.settings.data_dir, "articles", "--json").stdout.strip() == "[]"
    [held] = captures(runtime)
    assert held.article_id is None and held.warc_file is not None


def test_an_older_import_is_held_never_an_edit_out_of_order(
    runtime: Runtime, tmp_path: Path
) -> None:
    """The issue's case: a 2001 record over an article discovered in 2026."""
    discovered = datetime(2026, 3, 1, 8, tzinfo=UTC)
    h.record(runtime, h.exchange(URL, EN.html, at=discovered))
    warc = tmp_path / "old.warc.gz"
    write_warc(warc, [(URL, "2001-09-09T01:46:40Z", EDITED.encode())])
    result = cli(runtime.settings.data_dir, "import", str(warc), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["recorded"] == {"evidence": 1} and doc["problems"] == []
    assert doc["held"][0]["why"].startswith("out_of_order")

    after = history(runtime)
    assert after["article"]["versions"] == 1
    assert after["article"]["first_seen"].startswith("2026-03-01T08:00")
    assert after["article"]["last_checked"].startswith("2026-03-01T08:00")
    assert [e["kind"] for e in after["events"]] == ["discovered"]
    assert after["versions"][0]["first_seen"].startswith("2026-03-01T08:00")
    old = after["captures"][0]  # oldest first
    assert old["fetched_at"].startswith("2001-09-09") and old["outcome"] == "evidence"
    assert old["origin"] == "import" and old["version"] is None
    # The bytes are kept: the raw record is served like any capture's.
    raw = runtime.warc.read_record(*_location(runtime, old["id"]))
    assert raw.payload == EDITED.encode()
    assert cli(runtime.settings.data_dir, "verify").exit_code == 0

    # A newer import is judged as usual: an edit, in order.
    newer = tmp_path / "newer.warc.gz"
    write_warc(newer, [(URL, "2026-03-02T08:00:00Z", EDITED.encode())])
    result = cli(runtime.settings.data_dir, "import", str(newer), "--json")
    assert json.loads(result.stdout)["recorded"] == {"edited": 1}
    events = history(runtime)["events"]
    assert [e["kind"] for e in events] == ["discovered", "edited"]
    assert events[0]["at"] < events[1]["at"]


def test_records_out_of_order_within_one_file_follow_the_same_rule(
    runtime: Runtime, tmp_path: Path
) -> None:
    warc = tmp_path / "mixed.warc.gz"
    write_warc(
        warc,
        [
            (URL, "2026-01-02T10:00:00Z", EN.html.encode()),
            (URL, "2026-01-01T10:00:00Z", EDITED.encode()),
        ],
    )
    result = cli(runtime.settings.data_dir, "import", str(warc), "--json")
    assert json.loads(result.stdout)["recorded"] == {"new": 1, "evidence": 1}
    assert history(runtime)["article"]["versions"] == 1


def _location(rt: Runtime, capture_id: int) -> tuple[str, int, int]:
    with rt.sessions() as s:
        c = s.get(Capture, capture_id)
        assert c is not None and c.warc_file and c.warc_offset is not None and c.warc_length
        return c.warc_file, c.warc_offset, c.warc_length


def test_a_future_date_is_refused(runtime: Runtime, tmp_path: Path) -> None:
    soon = datetime.now(UTC) + timedelta(minutes=1)  # within the clock-skew allowance
    warc = tmp_path / "future.warc.gz"
    write_warc(
        warc,
        [
            (URL, "2099-01-01T00:00:00Z", EN.html.encode()),
            (URL, soon.strftime("%Y-%m-%dT%H:%M:%SZ"), EN.html.encode()),
        ],
    )
    result = cli(runtime.settings.data_dir, "import", str(warc))
    assert result.exit_code == 1
    assert "2099-01-01" in result.output and "refused" in result.output
    assert f"{warc}#0" in result.output
    [kept] = captures(runtime)
    assert kept.fetched_at < datetime(2099, 1, 1, tzinfo=UTC)


def _three_records(tmp_path: Path, gzip: bool) -> Path:
    warc = tmp_path / ("three.warc.gz" if gzip else "three.warc")
    write_warc(
        warc,
        [
            (f"https://ledger.example/news/{slug}/", f"2026-01-0{i + 1}T10:00:00Z", page)
            for i, (slug, page) in enumerate(
                (
                    (h.EN_RAID, h.own_page(h.EN_RAID).html.encode()),
                    (h.EN_TASK_FORCE, h.own_page(h.EN_TASK_FORCE).html.encode()),
                    (h.EN_RAID + "-2", h.own_page(h.EN_RAID, published="2026-01-03").html.encode()),
                )
            )
        ],
        gzip=gzip,
    )
    return warc


def _record_starts(path: Path) -> list[int]:
    with open(path, "rb") as fh:
        it = ArchiveIterator(fh)
        return [it.offset for _ in it]


@pytest.mark.parametrize("gzip", [True, False], ids=["warc.gz", "warc"])
@pytest.mark.parametrize("cut", ["body", "header", "garbage"])
def test_a_truncated_or_corrupt_file_exits_1_naming_file_and_offset(
    runtime: Runtime, tmp_path: Path, gzip: bool, cut: str
) -> None:
    warc = _three_records(tmp_path, gzip)
    data = warc.read_bytes()
    last = _record_starts(warc)[2]
    if cut == "body":  # the file ends inside the last record's payload
        damaged = data[: len(data) - 200]
    elif cut == "header":  # the file ends inside the last record's WARC header
        damaged = data[: last + 30]
    else:  # the last record is replaced by bytes that are no record at all
        damaged = data[:last] + b"\x00not a warc record\x00" * 5
    warc.write_bytes(damaged)

    result = cli(runtime.settings.data_dir, "import", str(warc), "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["recorded"] == {"new": 2}  # the records before the damage are kept
    [problem] = doc["problems"]
    assert str(warc) in problem and f"offset {last}" in problem
    assert len(captures(runtime)) == 2


def test_a_complete_file_of_three_records_imports_all(runtime: Runtime, tmp_path: Path) -> None:
    for gzip in (True, False):
        warc = _three_records(tmp_path, gzip)
        result = cli(runtime.settings.data_dir, "import", str(warc), "--json")
        assert result.exit_code == 0, result.output
    assert len(captures(runtime)) == 3  # the second file is the same records: duplicates


@pytest.mark.parametrize("gzip", [False, True], ids=["warc", "warc.gz"])
def test_memory_stays_bounded_on_a_huge_record(tmp_path: Path, gzip: bool) -> None:
    """A 96 MB record with a 1 MB body limit: the importer keeps the first MB, still reads
    the record to its end (its digest is checked) and never holds it whole. Compressed
    (`.warc.gz`, ~1:450 here) warcio inflates each 4 KiB block whole (importer.WARC_BLOCK:
    up to ~4 MB), so the bound is wider there; both stay far below the record's size."""
    size, limit = 96 * 1024 * 1024, 1024 * 1024
    body = tmp_path / "body.html"
    line = b"<p>" + b"x" * 1020 + b"</p>\n"
    with open(body, "wb") as fh:
        fh.write(b"<html><body>")
        for _ in range(size // len(line)):
            fh.write(line)
    warc = tmp_path / ("huge.warc.gz" if gzip else "huge.warc")
    with open(warc, "wb") as out, open(body, "rb") as payload:
        writer = WARCWriter(out, gzip=gzip)
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        writer.write_record(
            writer.create_warc_record(
                URL,
                "response",
                payload=payload,
                length=body.stat().st_size,
                http_headers=headers,
                warc_headers_dict={"WARC-Date": "2026-01-01T10:00:00Z"},
            )
        )
    tracemalloc.start()
    try:
        items = list(exchanges_from_path(warc, max_body_bytes=limit))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    [item] = items
    assert item.exchange is not None
    assert item.exchange.error == "too_large" and len(item.exchange.body) == limit
    assert item.exchange.provenance["digest"] == "ok"  # read to the end, checked
    bound = 24 * limit if gzip else 8 * limit  # measured: ~10.5 MB and ~1.3 MB
    assert peak < bound, f"peak {peak / 1e6:.1f} MB for a {size / 1e6:.0f} MB record"


@pytest.mark.slow
def test_the_import_memory_benchmark_runs(tmp_path: Path) -> None:
    out = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.import_bench", "--record-mb", "2"]
        + ["--out", str(out), "--work", str(tmp_path / "work")],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    [figures] = out.glob("import-*.json")
    rows = json.loads(figures.read_text())["rows"]
    assert [r["case"] for r in rows] == ["tiny record", "plain .warc", "gzipped .warc.gz"]
    assert all(r["peak_rss_bytes"] > 0 and r["exit_code"] == 0 for r in rows)
    assert "| plain .warc |" in done.stdout


def test_the_import_rule_on_both_databases(any_runtime: Runtime) -> None:
    """import_hold's query on SQLite and PostgreSQL: an older import is evidence, a
    newer one is judged, a future one is refused and leaves nothing."""
    rt = any_runtime
    now = datetime.now(UTC)
    crawled = h.record(rt, h.exchange(URL, EN.html, at=now - timedelta(days=2)))

    def imported(at: datetime, body: str) -> Exchange:
        return replace(h.exchange(URL, body, at=at), origin="import", provenance={"digest": "ok"})

    older = h.record(rt, imported(now - timedelta(days=30), EDITED))
    assert older.outcome.value == "evidence" and older.events == ()
    assert older.article_id == crawled.article_id and older.version_n is None
    newer = h.record(rt, imported(now - timedelta(days=1), EDITED))
    assert newer.outcome.value == "edited" and newer.version_n == 2
    before = h.counts(rt)
    with pytest.raises(BadInput, match="refused"):
        h.record(rt, imported(now + timedelta(days=1), EN.html))
    assert h.counts(rt) == before


def test_our_own_warc_files_import_with_their_digests_checked(
    runtime: Runtime, tmp_path: Path
) -> None:
    """A Presswatch archive's WARC files, imported into another archive: every record's
    digests check out, and the text arrives the same."""
    h.record(runtime, h.exchange(URL, EN.html, at=datetime(2026, 1, 1, tzinfo=UTC)))
    h.record(runtime, h.exchange(URL, EDITED, at=datetime(2026, 1, 2, tzinfo=UTC)))
    other = tmp_path / "other"
    assert cli(other, "init").exit_code == 0
    result = cli(other, "import", str(runtime.settings.data_dir / "warc"), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["recorded"] == {"new": 1, "edited": 1}
    doc = json.loads(cli(other, "history", URL, "--json").stdout)
    assert [c["provenance"]["digest"] for c in doc["captures"]] == ["ok", "ok"]
    mine = history(runtime)
    assert [v["text_sha256"] for v in doc["versions"]] == [
        v["text_sha256"] for v in mine["versions"]
    ]


def test_an_encoded_response_is_imported_as_it_was_sent(runtime: Runtime, tmp_path: Path) -> None:
    """A gzip response in a WARC keeps its Content-Encoding and compressed bytes when
    imported (the other archive's record is byte for byte the same payload), while the
    version is the decoded text."""
    import gzip as gz

    wire = gz.compress(EN.html.encode("utf-8"), mtime=0)
    sent = Exchange(
        requested_url=URL,
        final_url=URL,
        fetched_at=datetime(2026, 1, 1, tzinfo=UTC),
        status=200,
        headers=(
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Encoding", "gzip"),
            ("Content-Length", str(len(wire))),
        ),
        body=EN.html.encode("utf-8"),
        transmitted=wire,
    )
    h.record(runtime, sent)
    other = tmp_path / "other"
    assert cli(other, "init").exit_code == 0
    result = cli(other, "import", str(runtime.settings.data_dir / "warc"), "--json")
    assert result.exit_code == 0, result.output
    theirs = Runtime(Settings(data_dir=other))
    try:
        with runtime.sessions() as mine_s, theirs.sessions() as their_s:
            mine = mine_s.scalars(select(Capture)).one()
            imported = their_s.scalars(select(Capture)).one()
            assert imported.origin == "import"
            assert imported.payload_sha256 == mine.payload_sha256
            assert imported.payload_length == len(wire)
            assert imported.headers.get("content-encoding") == "gzip"
            assert imported.warc_file is not None
            assert imported.warc_offset is not None and imported.warc_length is not None
            record = theirs.warc.read_record(
                imported.warc_file, imported.warc_offset, imported.warc_length
            )
            assert record.payload == wire
            assert record.headers.get("Content-Encoding") == "gzip"
    finally:
        theirs.close()
    doc = json.loads(cli(other, "history", URL, "--json").stdout)
    assert doc["versions"][0]["text_sha256"] == history(runtime)["versions"][0]["text_sha256"]


# -- records no honest tool writes (issue 22, item 4) ---------------------------------


def _write_raw(path: Path, records: list[tuple[str, str, str, bytes]]) -> None:
    """Response records (target URI, WARC-Date, HTTP status line, body) written as
    given: warcio's writer would not let some of them through."""
    with open(path, "wb") as fh:
        for url, date, status, body in records:
            http = f"HTTP/1.1 {status}\r\nContent-Type: text/html\r\n\r\n".encode() + body
            head = (
                "WARC/1.1\r\nWARC-Type: response\r\n"
                f"WARC-Record-ID: <urn:uuid:{uuid.uuid4()}>\r\n"
                f"WARC-Target-URI: {url}\r\nWARC-Date: {date}\r\n"
                "Content-Type: application/http; msgtype=response\r\n"
                f"Content-Length: {len(http)}\r\n\r\n"
            ).encode()
            fh.write(head + http + b"\r\n\r\n")


def test_hostile_records_are_one_line_each_and_lose_nothing_else(
    runtime: Runtime, tmp_path: Path
) -> None:
    warc = tmp_path / "hostile.warc"
    good = EN.html.encode()
    _write_raw(
        warc,
        [
            ("https://ledger.example/news/ការជួញដូរ/", "2026-03-01T00:00:00Z", "200 OK", good),
            (URL, "2026-03-01T00:00:00Z", "9" * 40 + " OK", good),
            (URL, "0001-01-01T00:00:00Z", "200 OK", good),
            (URL, "2026-03-01T00:00:00Z", "200 OK", good),  # the one honest record
        ],
    )
    result = site_cli(runtime.settings.data_dir, tmp_path / "none.toml", "import", str(warc))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    problems = [line for line in result.stderr.splitlines() if "hostile.warc#" in line]
    assert len(problems) == 2, result.stderr  # the status and the date
    assert "not an HTTP status" in problems[0] and "9999" in problems[0]
    assert "0001-01-01" in problems[1] and "before" in problems[1]
    urls = sorted(c.requested_url for c in captures(runtime))
    # The IRI is kept in its URI form (percent-encoded), the honest record too.
    assert urls == sorted(
        [
            URL,
            "https://ledger.example/news/%E1%9E%80%E1%9E%B6%E1%9E%9A%E1%9E%87%E1%9E%BD%E1%9E%89%E1%9E%8A%E1%9E%BC%E1%9E%9A/",
        ]
    )
