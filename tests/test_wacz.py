"""Whole-archive exchange: a CDXJ index per WARC file, and `presswatch export wacz`
checked with the real `wacz validate` and warcio."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator

from archive.store.models import Capture
from archive.warc.cdxj import index_missing, index_path
from presswatch.runtime import Runtime
from tests import archive_helpers as h
from tests.package_checks import cli, records_in, wacz_validate

KM = "https://khmer.example/news/4412/"
EN = "https://daily.example/news/raid/"


def build(rt: Runtime, at: Any) -> None:
    """Two sources: a Khmer story (response, identical revisit, edit) and an English one."""
    km = h.km_story(KM).html
    h.record(rt, h.exchange(KM, km, at=at(0)))
    h.record(rt, h.exchange(KM, km, at=at(24)))  # revisit of capture 1's payload
    h.record(rt, h.exchange(KM, h.khmer_byline_changed(km), at=at(48)))
    h.record(rt, h.exchange(EN, h.en_story(EN).html, at=at(1)))
    h.record(rt, h.exchange(EN, h.en_story(EN).html + "<!-- ad 2 -->", at=at(49)))
    rt.warc.close()


def captures(rt: Runtime) -> list[Capture]:
    with rt.sessions() as s:
        return list(s.scalars(select(Capture).order_by(Capture.seq)))


# -- CDXJ ----------------------------------------------------------------------------


def cdxj_lines(path: Path) -> list[tuple[str, str, dict[str, Any]]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        key, ts, blob = line.split(" ", 2)
        rows.append((key, ts, json.loads(blob)))
    return rows


def test_each_rotated_and_closed_warc_file_gets_a_cdxj_index(runtime: Runtime, at: Any) -> None:
    rt = runtime
    # The runtime's own store, with a size limit below one capture: every capture
    # rotates to a new file, so rotation and close both have to write indexes.
    rt.warc.max_bytes = 2_000
    build(rt, at)
    warcs = sorted(rt.settings.warc_dir.glob("*.warc.gz"))
    assert len(warcs) == len(captures(rt))
    by_offset = {(c.warc_file, c.warc_offset): c for c in captures(rt)}
    indexed = 0
    for warc in warcs:
        index = index_path(warc, rt.settings.indexes_dir)
        assert index.exists(), f"no index for {warc.name}"
        lines = cdxj_lines(index)
        assert [line[:2] for line in lines] == sorted(line[:2] for line in lines)
        for _key, ts, entry in lines:
            assert entry["filename"] == warc.name
            cap = by_offset[(warc.name, int(entry["offset"]))]
            assert int(entry["length"]) == cap.warc_length
            assert entry["url"] == cap.final_url
            assert ts == cap.fetched_at.strftime("%Y%m%d%H%M%S")
            expected = "warc/revisit" if cap.warc_type == "revisit" else "text/html"
            assert entry["mime"] == expected
            indexed += 1
    assert indexed == len(by_offset)


def test_index_warcs_builds_missing_and_stale_indexes_and_names_a_damaged_file(
    runtime: Runtime, at: Any
) -> None:
    build(runtime, at)
    warc_dir, index_dir = runtime.settings.warc_dir, runtime.settings.indexes_dir
    (warc,) = sorted(warc_dir.glob("*.warc.gz"))
    index = index_path(warc, index_dir)
    before = cdxj_lines(index)

    result = cli(runtime, "index-warcs")
    assert result.exit_code == 0, result.output
    assert "0 built, 1 already fresh" in result.stdout

    index.unlink()
    result = cli(runtime, "index-warcs")
    assert result.exit_code == 0, result.output
    assert "1 built" in result.stdout
    assert cdxj_lines(index) == before

    # The file grows (another writer appended a record): its index is stale and rebuilt.
    extra = h.exchange("https://khmer.example/news/9/", h.km_other().html, at=at(72))
    other = Runtime(runtime.settings)
    try:
        h.record(other, extra)
        other.warc.close()
    finally:
        other.close()
    (new,) = [p for p in warc_dir.glob("*.warc.gz") if p != warc]  # each store has its own
    with open(warc, "ab") as out:
        out.write(new.read_bytes())
    new.unlink()
    index_path(new, index_dir).unlink()
    result = cli(runtime, "index-warcs")
    assert result.exit_code == 0, result.output
    assert "1 built" in result.stdout
    assert len(cdxj_lines(index)) == len(before) + 1

    # A damaged WARC file: exit 1, the file named; the healthy one is still indexed.
    broken = warc_dir / "presswatch-broken-00001.warc.gz"
    broken.write_bytes(gzip.compress(b"WARC/1.1\r\nWARC-Type: response\r\n")[:-9])
    index.unlink()
    result = cli(runtime, "index-warcs")
    assert result.exit_code == 1
    assert "presswatch-broken-00001.warc.gz" in result.stderr
    assert index.exists()
    report = index_missing(warc_dir, index_dir)
    assert report.fresh == [warc.name] and list(report.failed) == [broken.name]


# -- export wacz ---------------------------------------------------------------------


def test_exported_wacz_validates_and_holds_every_record_byte_for_byte(
    runtime: Runtime, at: Any, tmp_path: Path
) -> None:
    build(runtime, at)
    out = tmp_path / "all.wacz"
    result = cli(runtime, "export", "wacz", "-o", str(out))
    assert result.exit_code == 0, result.output
    check = wacz_validate(out)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "Validation succeeded" in check.stdout

    packaged = records_in(out)
    digests = {hashlib.sha256(raw).hexdigest() for rows in packaged.values() for *_, raw in rows}
    caps = captures(runtime)
    assert {c.record_sha256 for c in caps} <= digests
    types = [kind for rows in packaged.values() for kind, _, _ in rows]
    # Every capture's record, and the request written with each.
    assert types.count("request") == len(caps)
    assert types.count("response") + types.count("revisit") == len(caps)

    with zipfile.ZipFile(out) as zf:
        assert zf.getinfo(next(iter(packaged))).compress_type == zipfile.ZIP_STORED
        pages = [json.loads(x) for x in zf.read("pages/pages.jsonl").splitlines()]
        index = zf.read("indexes/index.cdx").decode().splitlines()
        package = json.loads(zf.read("datapackage.json"))
    assert pages[0]["format"] == "json-pages-1.0"
    assert sorted(p["ts"] for p in pages[1:]) == sorted(
        c.fetched_at.strftime("%Y-%m-%dT%H:%M:%SZ") for c in caps
    )
    assert len(index) == len(caps)
    assert package["wacz_version"] == "1.1.1"


def test_wacz_validate_fails_on_an_altered_package(
    runtime: Runtime, at: Any, tmp_path: Path
) -> None:
    """The check above can fail: a package whose WARC bytes changed is refused."""
    build(runtime, at)
    out = tmp_path / "all.wacz"
    assert cli(runtime, "export", "wacz", "-o", str(out)).exit_code == 0
    altered = tmp_path / "altered.wacz"
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(altered, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.startswith("archive/"):
                data = data[:-1] + bytes([data[-1] ^ 1])
            dst.writestr(info, data)
    check = wacz_validate(altered)
    assert check.returncode == 1, check.stdout


def test_export_selects_by_source_and_dates(runtime: Runtime, at: Any, tmp_path: Path) -> None:
    build(runtime, at)
    caps = {c.id: c for c in captures(runtime)}

    def exported(*args: str) -> list[tuple[str, str]]:
        out = tmp_path / f"x{len(list(tmp_path.iterdir()))}.wacz"
        result = cli(runtime, "export", "wacz", "-o", str(out), *args)
        assert result.exit_code == 0, result.output
        assert wacz_validate(out).returncode == 0
        with zipfile.ZipFile(out) as zf:
            lines = [json.loads(x) for x in zf.read("pages/pages.jsonl").splitlines()[1:]]
        return sorted((p["url"], p["ts"]) for p in lines)

    def pages_of(*ids: int) -> list[tuple[str, str]]:
        return sorted(
            (caps[i].final_url, caps[i].fetched_at.strftime("%Y-%m-%dT%H:%M:%SZ")) for i in ids
        )

    km_ids = [c.id for c in caps.values() if c.final_url == KM]
    en_ids = [c.id for c in caps.values() if c.final_url == EN]
    assert exported("--source", "daily.example") == pages_of(*en_ids)
    assert exported("--source", "khmer.example") == pages_of(*km_ids)
    since, until = at(2).isoformat(), at(48).isoformat()
    # Only the Khmer revisit (hour 24) falls in [hour 2, hour 48).
    (revisit,) = [i for i in km_ids if caps[i].warc_type == "revisit"]
    assert exported("--since", since, "--until", until) == pages_of(revisit)


def test_a_revisit_exported_alone_brings_the_response_it_refers_to(
    runtime: Runtime, at: Any, tmp_path: Path
) -> None:
    build(runtime, at)
    out = tmp_path / "revisit.wacz"
    args = ("--since", at(2).isoformat(), "--until", at(48).isoformat())
    assert cli(runtime, "export", "wacz", "-o", str(out), *args).exit_code == 0
    kinds = [k for rows in records_in(out).values() for k, _, _ in rows if k != "warcinfo"]
    assert sorted(kinds) == ["request", "request", "response", "revisit"]


def test_a_package_file_starts_with_the_warcinfo_of_its_source(tmp_path: Path) -> None:
    """Records are copied byte for byte, and a source file's warcinfo record leads the
    package's copy of it (a file of our own made with warcio)."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    from archive.formats.wacz import RecordSpan, pack_records

    source = tmp_path / "src" / "one.warc.gz"
    source.parent.mkdir()
    spans = []
    with open(source, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        writer.write_record(writer.create_warcinfo_record("one.warc.gz", {"software": "t"}))
        for n in range(3):
            start = fh.tell()
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/plain")], protocol="HTTP/1.1")
            body = f"body {n}".encode()
            writer.write_record(
                writer.create_warc_record(
                    f"https://a.example/{n}", "response", payload=io.BytesIO(body),
                    length=len(body), http_headers=http,
                )
            )  # fmt: skip
            spans.append(RecordSpan("one.warc.gz", start, fh.tell() - start))
    work = tmp_path / "work"
    work.mkdir()
    packed = pack_records(source.parent, [spans[2], spans[0]], work)
    data = packed.files["one.warc.gz"].read_bytes()
    original = source.read_bytes()
    info = packed.warcinfo["one.warc.gz"]
    assert info.offset == 0 and data[: info.length] == original[: spans[0].offset]
    for span in (spans[0], spans[2]):
        moved = packed.spans[span]
        assert (
            data[moved.offset : moved.offset + moved.length]
            == original[span.offset : span.offset + span.length]
        )
    kinds = [r.rec_type for r in ArchiveIterator(io.BytesIO(data))]
    assert kinds == ["warcinfo", "response", "response"]


def test_export_refuses_unknown_sources_empty_selections_and_bad_dates(
    runtime: Runtime, at: Any, tmp_path: Path
) -> None:
    build(runtime, at)
    out = tmp_path / "x.wacz"
    result = cli(runtime, "export", "wacz", "-o", str(out), "--source", "nope")
    assert result.exit_code == 2 and "no source named 'nope'; known sources:" in result.stderr
    assert "khmer.example" in result.stderr
    result = cli(runtime, "export", "wacz", "-o", str(out), "--since", "2030-01-01")
    assert result.exit_code == 1 and "no capture matches" in result.stderr
    result = cli(runtime, "export", "wacz", "-o", str(out), "--since", "yesterday")
    assert result.exit_code == 2 and "ISO 8601" in result.stderr
    result = cli(runtime, "export", "wacz", "-o", str(tmp_path / "no" / "x.wacz"))
    assert result.exit_code == 2 and f"no directory {tmp_path / 'no'}" in result.stderr
    result = cli(runtime, "export", "evidence", "1", "-o", str(tmp_path))
    assert result.exit_code == 2 and "is a directory" in result.stderr
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".x.wacz")] == []


def test_export_fails_cleanly_when_a_warc_file_is_truncated(
    runtime: Runtime, at: Any, tmp_path: Path
) -> None:
    build(runtime, at)
    (warc,) = runtime.settings.warc_dir.glob("*.warc.gz")
    data = warc.read_bytes()
    warc.write_bytes(data[: len(data) // 2])
    out = tmp_path / "x.wacz"
    result = cli(runtime, "export", "wacz", "-o", str(out))
    assert result.exit_code == 1
    assert warc.name in result.stderr and "truncated" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("flag", ["--since", "--until"])
def test_dates_are_iso(runtime: Runtime, flag: str, tmp_path: Path) -> None:
    result = cli(runtime, "export", "wacz", "-o", str(tmp_path / "x.wacz"), flag, "3 days")
    assert result.exit_code == 2


def test_a_page_not_found_capture_is_not_listed_under_the_deleted_storys_headline(
    runtime: Runtime, at: Any, tmp_path: Path
) -> None:
    """A soft-404 ("page not found" with status 200) points at the article's last
    version for bookkeeping; the page list once showed it under that headline, as if the
    story had still been there."""
    raid = h.demo_article(h.EN_RAID)
    story = h.own_page(raid.slug)
    h.record(runtime, h.exchange(story.url, story.html, at=at(0)))
    for hours in (1, 2):  # seen, then confirmed
        h.record(runtime, h.exchange(story.url, h.NOT_FOUND_EN, at=at(hours)))
    outcomes = [c.outcome for c in captures(runtime)]
    assert outcomes == ["new", "removal_pending", "removed"]
    out = tmp_path / "gone.wacz"
    assert cli(runtime, "export", "wacz", "-o", str(out)).exit_code == 0
    with zipfile.ZipFile(out) as zf:
        pages = [json.loads(x) for x in zf.read("pages/pages.jsonl").splitlines()[1:]]
    titles = [p.get("title") for p in sorted(pages, key=lambda p: p["ts"])]
    assert titles == [
        raid.title,
        "Removal sign: the article was not on this page",
        "Removal confirmed: the article was not on this page",
    ]


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_exports_and_indexes_get_the_umasks_permissions(
    runtime: Runtime, at: Any, tmp_path: Path, umask: int
) -> None:
    """Exports and CDXJ indexes were 0600 whatever the umask (mkstemp's mode), so a
    group sharing the archive could not read a package made for it."""
    import os
    import stat

    build(runtime, at)
    old = os.umask(umask)
    try:
        out = tmp_path / "all.wacz"
        assert cli(runtime, "export", "wacz", "-o", str(out)).exit_code == 0
        assert cli(runtime, "index-warcs", "--rebuild").exit_code == 0
    finally:
        os.umask(old)
    indexes = list((runtime.settings.data_dir / "indexes").glob("*"))
    assert indexes
    for path in [out, *indexes]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path
