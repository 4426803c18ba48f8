"""Images in the archive, without the crawler: `record_capture` given the article's
image fetches (as the crawler hands them) keeps them with the version, writes their
exchanges to the WARC under the capture's leaf, judges a swapped photo an edit on the
unchanged-by-digest path and on a 304, never against a version whose images are
unknown, and the diff page and the API show them."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator

from archive.capture import (
    CaptureResult,
    Exchange,
    ImageFetch,
    current_images,
    images_due,
    record_capture,
)
from archive.log import verify_archive
from archive.store.models import Capture, ChangeEvent, Version
from presswatch.runtime import Runtime
from presswatch.verify_package import verify_package
from search_api.app import create_app
from tests.archive_helpers import exchange, own_page
from tests.package_checks import cli as package_cli
from tests.package_checks import manifest_of, read, wacz_validate, write

URL = "https://ledger.example/en/2026/02/police-free-212-workers/"
PHOTO = "https://ledger.example/img/raid.jpg"
T0 = datetime(2026, 3, 1, 8, tzinfo=UTC)
HASH_1 = "c3a5e1f00f1e5a3c"
HASH_1_RECOMPRESSED = "c3a5e1f00f1e5a3f"
HASH_2 = "3c5a1e0ff0e1a5c3"


def page(at: datetime) -> Exchange:
    html = own_page("police-free-212-workers-from-sihanoukville-scam-compound").html.replace(
        "<p>", f"<figure><img src='{PHOTO}' alt='Police at the gate'></figure><p>", 1
    )
    return exchange(URL, html, at=at, headers=(("Content-Type", "text/html"), ("ETag", '"p1"')))


def photo(at: datetime, status: int, phash: str | None, body: bytes = b"JPEG") -> ImageFetch:
    ex = Exchange(
        requested_url=PHOTO,
        final_url=PHOTO,
        fetched_at=at,
        status=status,
        headers=(("Content-Type", "image/jpeg"), ("ETag", f'"{phash}"')),
        body=body if status == 200 else b"",
    )
    return ImageFetch(PHOTO, "Police at the gate", "", ex, phash)


def record(
    rt: Runtime, ex: Exchange, images: tuple[ImageFetch, ...] | None, *, known: bool = False
) -> CaptureResult:
    with rt.sessions.begin() as session:
        return record_capture(
            session,
            ex,
            warc=rt.warc,
            options=rt.record_options(),
            payload_known=known,
            images=images,
        )


def versions(rt: Runtime) -> list[Version]:
    with rt.sessions() as session:
        rows = list(session.scalars(select(Version).order_by(Version.id)))
        session.expunge_all()
        return rows


def test_a_photo_swap_is_an_edit_on_every_path_and_a_recompression_is_not(
    runtime: Runtime, tmp_path: Path
) -> None:
    at = [T0 + timedelta(hours=h) for h in range(6)]
    first = record(runtime, page(at[0]), (photo(at[0], 200, HASH_1),))
    assert first.events == ("discovered",)
    (v1,) = versions(runtime)
    assert v1.images == [
        {
            "src": PHOTO,
            "alt": "Police at the gate",
            "caption": "",
            "phash": HASH_1,
            "reason": None,
        }
    ]
    # Unchanged page bytes (known path), photo 304: nothing; recompressed: nothing.
    assert record(runtime, page(at[1]), (photo(at[1], 304, None),), known=True).events == ()
    again = record(runtime, page(at[2]), (photo(at[2], 200, HASH_1_RECOMPRESSED, b"J2"),))
    assert again.events == () and len(versions(runtime)) == 1
    # Another photo under the address, page bytes the same: an edit, no extraction needed.
    swapped = record(runtime, page(at[3]), (photo(at[3], 200, HASH_2, b"J3"),), known=True)
    assert swapped.events == ("edited",)
    # The page answers 304 and the photo is the first one again: an edit too.
    not_modified = exchange(URL, b"", at=at[4], status=304, headers=())
    back = record(runtime, not_modified, (photo(at[4], 200, HASH_1, b"JPEG"),))
    assert back.events == ("edited",)
    # A 304 with the same photo bytes sent again (its server ignores validators):
    # nothing, and the WARC gets a revisit of the photo's last record, not a copy.
    quiet = exchange(URL, b"", at=at[5], status=304, headers=())
    assert record(runtime, quiet, (photo(at[5], 200, HASH_1, b"JPEG"),)).events == ()

    v = versions(runtime)
    assert [x.images[0]["phash"] for x in v if x.images] == [HASH_1, HASH_2, HASH_1]
    assert v[0].text == v[1].text == v[2].text
    with runtime.sessions() as session:
        edits = list(session.scalars(select(ChangeEvent).where(ChangeEvent.kind == "edited")))
        assert [e.how for e in edits] == [["images"], ["images"]]
        (cls,) = edits[0].detail["classes"]
        assert cls["class"] == "images_changed"
        assert cls["replaced"][0]["old_phash"] == HASH_1
        # The image's exchanges are in the WARC, listed in the capture the leaf commits to;
        # the same bytes fetched again are a revisit of the first record.
        caps = list(session.scalars(select(Capture).order_by(Capture.id)))
        kinds = [c.detail["images"][0]["warc"]["type"] for c in caps]
        assert kinds == ["response", "response", "response", "response", "response", "revisit"]
        # A 304 writes no record: its entry names the record of the bytes it stands for.
        assert caps[1].detail["images"][0]["warc"] == caps[0].detail["images"][0]["warc"]
        assert caps[1].detail["images"][0]["sha256"] == caps[0].detail["images"][0]["sha256"]
        record_bytes = runtime.warc.read_record(
            caps[0].detail["images"][0]["warc"]["file"],
            caps[0].detail["images"][0]["warc"]["offset"],
            caps[0].detail["images"][0]["warc"]["length"],
        )
        assert record_bytes.decoded(100).body == b"JPEG"
        report = verify_archive(session, runtime.warc)
        assert report.ok, report.problems

    app = create_app(runtime.settings, sessions=runtime.sessions, warc=runtime.warc)
    with TestClient(app) as client:
        article_id = v[0].article_id
        diff = client.get(f"/articles/{article_id}/diff?from=1&to=2")
        assert diff.status_code == 200
        assert "Pictures" in diff.text and "replaced" in diff.text and PHOTO in diff.text
        assert f"<img src='{PHOTO}'" not in diff.text  # never loaded from the outlet
        api = client.get(f"/api/articles/{article_id}").json()
        assert api["versions"][1]["images"][0]["phash"] == HASH_2

    # The evidence package shows each version's images, proven against the leaf: a
    # forged hash in its manifest fails the standalone verifier.
    out = tmp_path / "story.wacz"
    result = package_cli(runtime, "export", "evidence", URL, "-o", str(out))
    assert result.exit_code == 0, result.output
    key = runtime.log_signer().verifier_key
    assert verify_package(out, key).ok
    files = read(out)
    manifest = manifest_of(files)
    assert manifest["versions"][1]["images"][0]["phash"] == HASH_2
    manifest["versions"][1]["images"][0]["phash"] = HASH_1
    files["evidence/manifest.json"] = json.dumps(manifest).encode()
    forged = verify_package(write(files, tmp_path / "forged.wacz"), key)
    assert not forged.ok
    assert any("images" in str(f) for f in forged.failures), forged.failures


def test_a_version_with_unknown_images_is_never_compared(runtime: Runtime) -> None:
    """Rule 8: versions recorded before images were kept (or imported) have none
    known; the first check after the upgrade, which fetches the photo, is no edit."""
    record(runtime, page(T0), None)
    (v1,) = versions(runtime)
    assert v1.images is None
    later = T0 + timedelta(hours=1)
    assert record(runtime, page(later), (photo(later, 200, HASH_2),), known=True).events == ()
    not_modified = exchange(URL, b"", at=later + timedelta(hours=1), status=304, headers=())
    photo_304 = photo(later + timedelta(hours=1), 200, HASH_1)
    assert record(runtime, not_modified, (photo_304,)).events == ()
    assert len(versions(runtime)) == 1


def test_an_unchanged_check_that_leaves_the_images_alone_names_the_capture_that_fetched_them(
    runtime: Runtime,
) -> None:
    """The crawler fetches an unchanged page's images only when they are due again
    (`image_recheck_interval`); the captures in between name the capture whose entries
    still stand, so the next fetch asks with its validators and compares with its hash,
    and a photo swapped meanwhile is an edit when it is fetched."""
    at = [T0 + timedelta(days=d) for d in range(4)]
    first = record(runtime, page(at[0]), (photo(at[0], 200, HASH_1),))
    not_modified = exchange(URL, b"", at=at[1], status=304, headers=())
    quiet = record(runtime, not_modified, None)
    again = record(runtime, page(at[2]), None, known=True)
    assert quiet.events == again.events == ()
    with runtime.sessions() as session:
        for cid in (quiet.capture_id, again.capture_id):
            detail = session.get(Capture, cid).detail
            assert "images" not in detail and detail["images_from"] == first.capture_id
        refs = current_images(session, [first.article_id])[first.article_id]
        assert [(r["src"], r["etag"], r["fetched_at"]) for r in refs] == [
            (PHOTO, f'"{HASH_1}"', at[0])
        ]
        assert not images_due(refs, at[2], timedelta(days=7))
        assert images_due(refs, at[0] + timedelta(days=7), timedelta(days=7))
        assert images_due([{**refs[0], "fetched_at": None}], at[2], timedelta(days=7))
    # Due again: a 304 for the photo keeps its hash (no edit); the swap is an edit.
    later = record(runtime, page(at[3]), (photo(at[3], 304, None),), known=True)
    assert later.events == ()
    swapped_at = at[3] + timedelta(hours=1)
    swapped = record(runtime, page(swapped_at), (photo(swapped_at, 200, HASH_2, b"J2"),))
    assert swapped.events == ("edited",)
    with runtime.sessions() as session:
        entry = session.get(Capture, later.capture_id).detail["images"][0]
        assert entry["status"] == 304 and entry["ref"]
        assert verify_archive(session, runtime.warc).ok


def test_verify_names_an_image_record_whose_bytes_were_altered(runtime: Runtime) -> None:
    """Forgery: a photo's record rewritten in the WARC file (its leaf untouched) is named
    by `presswatch verify`, as an altered page is; so is one a later 304 stands on."""
    body = bytes(range(256)) * 40
    first = record(runtime, page(T0), (photo(T0, 200, HASH_1, body),))
    later = T0 + timedelta(days=8)
    record(runtime, page(later), (photo(later, 304, None),), known=True)
    clean = package_cli(runtime, "verify", "--json")
    assert clean.exit_code == 0, clean.output
    with runtime.sessions() as session:
        where = session.get(Capture, first.capture_id).detail["images"][0]["warc"]
    path = runtime.warc.directory / where["file"]
    data = bytearray(path.read_bytes())
    middle = where["offset"] + where["length"] // 2
    data[middle] ^= 0xFF
    path.write_bytes(bytes(data))

    result = package_cli(runtime, "verify", "--json")
    assert result.exit_code == 1, result.output
    problems = json.loads(result.stdout)["problems"]
    named = [p for p in problems if p["field"] == "detail.images[0].warc"]
    assert {p["capture_id"] for p in named} == {first.capture_id, first.capture_id + 1}
    assert all(PHOTO in p["problem"] and "SHA-256" in p["problem"] for p in named), named


def test_an_evidence_package_carries_the_image_records_and_its_verifier_checks_them(
    runtime: Runtime, tmp_path: Path
) -> None:
    """The package holds each capture's image records (a 304's entry naming the earlier
    record, packed once); the standalone verifier hashes them against the leaf, so a
    photo record altered in the package (its digests in datapackage.json redone, as a
    forger would) fails it, and so does one left out."""
    body = bytes(range(256)) * 40
    record(runtime, page(T0), (photo(T0, 200, HASH_1, body),))
    later = T0 + timedelta(days=8)
    record(runtime, page(later), (photo(later, 304, None),), known=True)
    out = tmp_path / "story.wacz"
    result = package_cli(runtime, "export", "evidence", URL, "-o", str(out))
    assert result.exit_code == 0, result.output
    key = runtime.log_signer().verifier_key
    checked = verify_package(out, key)
    assert checked.ok, checked.failures
    validated = wacz_validate(out)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    files = read(out)
    manifest = manifest_of(files)
    first, second = manifest["captures"][:2]
    assert first["images"][0]["index"] == 0
    assert {k: v for k, v in second["images"][0].items() if k != "index"} == {
        k: v for k, v in first["images"][0].items() if k != "index"
    }
    where = first["images"][0]
    member = bytearray(files[where["path"]])
    member[where["offset"] + where["length"] // 2] ^= 0xFF
    forged = verify_package(
        write({**files, where["path"]: bytes(member)}, tmp_path / "f.wacz"), key
    )
    assert not forged.ok
    assert any("image record" in str(f) and "altered" in str(f) for f in forged.failures), (
        forged.failures
    )

    del manifest["captures"][0]["images"][0]
    files["evidence/manifest.json"] = json.dumps(manifest).encode()
    stripped = verify_package(write(files, tmp_path / "s.wacz"), key)
    assert not stripped.ok
    assert any("image entry 0" in str(f) for f in stripped.failures), stripped.failures


def test_an_image_record_is_concurrent_to_the_page_record(runtime: Runtime) -> None:
    """Each image record names the page's record of the same capture in
    `WARC-Concurrent-To` (a replay tool or a reader of the WARC ties them together),
    a revisit of the photo too."""
    first = record(runtime, page(T0), (photo(T0, 200, HASH_1),))
    later = T0 + timedelta(days=8)
    again = record(runtime, page(later), (photo(later, 200, HASH_1),), known=True)
    with runtime.sessions() as session:
        for result, kind in ((first, "response"), (again, "revisit")):
            capture = session.get(Capture, result.capture_id)
            assert capture.warc_file and capture.warc_offset is not None and capture.warc_length
            page_id, _ = runtime.warc.read_head(
                capture.warc_file, capture.warc_offset, capture.warc_length
            )
            where = capture.detail["images"][0]["warc"]
            raw = runtime.warc.read_raw(where["file"], where["offset"], where["length"])
            (image,) = list(ArchiveIterator(io.BytesIO(raw)))
            assert image.rec_type == kind
            assert image.rec_headers.get_header("WARC-Target-URI") == PHOTO
            assert page_id and image.rec_headers.get_header("WARC-Concurrent-To") == page_id
