"""Forged evidence packages: each built from a genuine package the way a forger would
(the WACZ hashes recomputed, records repacked, offsets fixed), each refused by
`python -m presswatch.verify_package` with its own named reason. And the converse:
what a genuine package proves is exactly the statement the verifier prints."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from typer.testing import CliRunner

from archive.log.timestamp import timestamp_request
from presswatch.cli import app
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from presswatch.verify_package import Result, Unreadable, main, verify_package
from tests import archive_helpers as h
from tests.conftest import T0
from tests.local_tsa import LocalTsa
from tests.package_checks import Files, manifest_of, read, write
from tests.stories import URL, record_evidence_story

OTHER_URL = "https://khmer.example/other/"
REPO = Path(__file__).resolve().parents[1]


def export(rt: Runtime, url: str, out: Path) -> Path:
    result = CliRunner().invoke(
        app, ["--data-dir", str(rt.settings.data_dir), "export", "evidence", url, "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out


@dataclass(frozen=True)
class Built:
    """One archive and its two genuine packages, shared by the module's tests (they
    only read them): building it for each forgery was most of this file's time."""

    runtime: Runtime
    removed: Path
    live: Path
    key_text: str


def published_key(rt: Runtime) -> str:
    """The key file exactly as the README says to publish it."""
    result = CliRunner().invoke(
        app, ["--data-dir", str(rt.settings.data_dir), "checkpoint", "--public-key"]
    )
    assert result.exit_code == 0
    return result.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    base = tmp_path_factory.mktemp("forgery")
    rt = Runtime(Settings(data_dir=base / "data"))
    rt.init()
    record_evidence_story(rt, lambda hours=0: T0 + timedelta(hours=hours))
    # The removed article: discovered, revisited, timed out, edited, 404 twice; and a
    # live article of the same archive, under the same checkpoint.
    removed = export(rt, URL, base / "removed.wacz")
    live = export(rt, OTHER_URL, base / "live.wacz")
    yield Built(rt, removed, live, published_key(rt))
    rt.close()


@pytest.fixture
def archive_rt(built: Built) -> Runtime:
    return built.runtime


@pytest.fixture
def removed_pkg(built: Built) -> Path:
    return built.removed


@pytest.fixture
def live_pkg(built: Built) -> Path:
    return built.live


@pytest.fixture
def key_text(built: Built) -> str:
    return built.key_text


@pytest.fixture
def key_text_of() -> Callable[[Runtime], str]:
    return published_key


def verify(path: Path, key_text: str, **kwargs: Any) -> Result:
    return verify_package(path, key_text, **kwargs)


def reasons(result: Result) -> set[str]:
    return {f.reason for f in result.failures}


# -- the forger's tools ----------------------------------------------------------------


def _json(files: Files, name: str) -> Any:
    return json.loads(files[name])


def _put(files: Files, name: str, value: Any) -> None:
    files[name] = json.dumps(value, ensure_ascii=False).encode("utf-8")


def repack(files: Files, keep: Callable[[dict[str, Any]], bool]) -> Files:
    """The package cut to the captures `keep` accepts, made consistent as a forger
    would: their proofs, events, versions (sightings recomputed), diffs, WARC records
    (re-laid with new offsets), CDXJ lines and pages, and the article's state set to
    what the newest kept leaf says."""
    files = dict(files)
    manifest = manifest_of(files)
    proofs = _json(files, "evidence/proofs.json")
    kept = [c for c in manifest["captures"] if keep(c)]
    ids = {c["id"] for c in kept}
    leaves = {p["capture_id"]: json.loads(p["leaf"]) for p in proofs["proofs"]}
    proofs["proofs"] = [p for p in proofs["proofs"] if p["capture_id"] in ids]
    manifest["events"] = [e for e in manifest["events"] if e["capture_id"] in ids]
    sightings: dict[int, list[int]] = {}
    for c in sorted(kept, key=lambda c: c["leaf_index"]):
        v = leaves[c["id"]]["version"]
        if v and v["seen"] and c["role"] == "article":
            sightings.setdefault(v["id"], []).append(c["id"])
    times = {c["id"]: c["fetched_at"] for c in kept}
    versions = []
    for v in manifest["versions"]:
        if v["id"] in sightings:
            seen = sightings[v["id"]]
            v["first_capture_id"], v["last_capture_id"] = seen[0], seen[-1]
            v["first_seen"], v["last_seen"] = times[seen[0]], times[seen[-1]]
            versions.append(v)
    manifest["versions"] = versions
    pairs = {(a["n"], b["n"]) for a, b in zip(versions, versions[1:], strict=False)}
    manifest["diffs"] = [d for d in manifest["diffs"] if (d["from"], d["to"]) in pairs]
    newest = max((c for c in kept if c["role"] == "article"), key=lambda c: c["leaf_index"])
    state = leaves[newest["id"]]["article"]
    manifest["article"].update(
        status=state["status"], removal=state["removal"], removed_at=state["removed_at"]
    )
    # Re-lay the WARC file: its warcinfo, then the kept records in order.
    moved: dict[tuple[str, int], int] = {}
    for path in [n for n in files if n.startswith("archive/")]:
        data = files[path]
        refs = sorted(
            (r for c in manifest["captures"] for r in (c["record"], c["request"]) if r),
            key=lambda r: r["offset"],
        )
        out = bytearray(data[: refs[0]["offset"]])
        for c in kept:
            for r in (c["record"], c["request"]):
                if r and r["path"] == path:
                    moved[(path, r["offset"])] = len(out)
                    out += data[r["offset"] : r["offset"] + r["length"]]
                    r["offset"] = moved[(path, r["offset"])]
        files[path] = bytes(out)
    lines = []
    for line in files["indexes/index.cdx"].decode().splitlines():
        key, ts, body = line.split(" ", 2)
        fields = json.loads(body)
        place = ("archive/" + fields["filename"], int(fields["offset"]))
        if place in moved:
            fields["offset"] = str(moved[place])
            lines.append(f"{key} {ts} {json.dumps(fields)}")
    files["indexes/index.cdx"] = ("\n".join(lines) + "\n").encode()
    pages = files["pages/pages.jsonl"].decode().splitlines()
    files["pages/pages.jsonl"] = (
        "\n".join(
            [pages[0]] + [p for p in pages[1:] if int(json.loads(p)["id"].split("-")[1]) in ids]
        )
        + "\n"
    ).encode()
    manifest["captures"] = kept
    _put(files, "evidence/manifest.json", manifest)
    _put(files, "evidence/proofs.json", proofs)
    return files


def zip_members(out: Path, members: list[tuple[str, bytes]]) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate names we want
        with zipfile.ZipFile(out, "w") as zf:
            for name, data in members:
                zf.writestr(name, data)
    return out


# -- the statement a genuine package proves ------------------------------------------


def test_the_published_key_file_verifies_the_genuine_package(
    archive_rt: Runtime, removed_pkg: Path, key_text: str, tmp_path: Path
) -> None:
    """Run literally as the README says: `checkpoint --public-key > FILE`, then the
    verifier with that file (the key line and the PEM block)."""
    key_file = tmp_path / "presswatch-log.pub"
    key_file.write_text(key_text)
    assert "BEGIN PUBLIC KEY" in key_text
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSWATCH_")}
    env["PYTHONPATH"] = str(REPO)
    run = subprocess.run(
        [sys.executable, "-m", "presswatch.verify_package", str(removed_pkg),
         "--public-key", str(key_file), "--json"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    doc = json.loads(run.stdout)
    statement = doc["statement"]
    manifest = manifest_of(read(removed_pkg))
    last = max(manifest["captures"], key=lambda c: c["leaf_index"])
    assert statement["article"]["key"] == URL
    assert statement["state"]["status"] == "removed"
    assert statement["state"]["removal"] == "http_404"
    assert statement["as_of"]["capture_id"] == last["id"]
    assert statement["key"].startswith("presswatch-log+") and statement["key_given"]
    assert statement["checkpoint"]["tree_size"] == manifest["log"]["tree_size"]
    # Every form `checkpoint --public-key` prints is accepted: the JSON too.
    as_json = CliRunner().invoke(
        app,
        ["--data-dir", str(archive_rt.settings.data_dir), "checkpoint", "--public-key", "--json"],
    )
    assert verify(removed_pkg, as_json.stdout).ok
    pem_only = key_text[key_text.index("-----BEGIN") :]
    assert verify(removed_pkg, pem_only).ok


def test_a_genuine_package_of_another_article_names_that_article(
    live_pkg: Path, key_text: str
) -> None:
    """A genuine package of one story cannot pass as another's: the verdict names it."""
    result = verify(live_pkg, key_text)
    assert result.ok, result.failures
    assert result.statement is not None
    assert result.statement["article"]["key"] == OTHER_URL
    assert result.statement["state"]["status"] == "live"


def test_a_history_cut_short_proves_only_the_state_as_of_its_last_capture(
    removed_pkg: Path, key_text: str, tmp_path: Path
) -> None:
    """Both directions of "as of": the removed article's package cut to its first
    capture verifies, but only as "live as of capture 1 at its time", never as the
    article's latest state; the genuine package says removed as of its last capture."""
    genuine = verify(removed_pkg, key_text)
    assert genuine.ok and genuine.statement is not None
    files = read(removed_pkg)
    first = min(manifest_of(files)["captures"], key=lambda c: c["leaf_index"])
    cut = write(repack(files, lambda c: c["id"] == first["id"]), tmp_path / "cut.wacz")
    result = verify(cut, key_text)
    assert result.ok, result.failures
    assert result.statement is not None
    assert result.statement["state"]["status"] == "live"
    assert result.statement["as_of"]["capture_id"] == first["id"]
    assert result.statement["as_of"]["fetched_at"] == first["fetched_at"].replace("Z", "+00:00")
    assert genuine.statement["as_of"]["fetched_at"] > result.statement["as_of"]["fetched_at"]
    assert genuine.statement["state"]["status"] == "removed"


# -- forgeries: each refused with its own reason ---------------------------------------

Forge = Callable[[Files, Files], Files]  # (the removed article's files, the live one's)


def relabel_as_originals(files: Files, live: Files) -> Files:
    """The live article's captures relabelled revisit_original, its versions and events
    dropped, the article claimed removed by a 404 (the review's forgery 2)."""
    manifest = manifest_of(live)
    for c in manifest["captures"]:
        c["role"] = "revisit_original"
    manifest["versions"], manifest["events"], manifest["diffs"] = [], [], []
    manifest["article"].update(status="removed", removal="http_404")
    _put(live, "evidence/manifest.json", manifest)
    return live


def empty_claims(files: Files, live: Files) -> Files:
    manifest = manifest_of(files)
    manifest.update(captures=[], versions=[], events=[], diffs=[])
    manifest["article"].update(id=999, status="removed", removal="http_404")
    _put(files, "evidence/manifest.json", manifest)
    proofs = _json(files, "evidence/proofs.json")
    proofs["proofs"] = []
    _put(files, "evidence/proofs.json", proofs)
    return files


def another_articles_captures(files: Files, live: Files) -> Files:
    """The live article's package claiming to be the removed article's."""
    manifest = manifest_of(live)
    manifest["article"]["id"] = manifest_of(files)["article"]["id"]
    _put(live, "evidence/manifest.json", manifest)
    return live


def middle_capture_dropped(files: Files, live: Files) -> Files:
    """The edit's capture cut out of the middle, sightings made consistent."""
    edited = next(e for e in manifest_of(files)["events"] if e["kind"] == "edited")
    return repack(files, lambda c: c["id"] != edited["capture_id"])


def extra_record(files: Files, live: Files) -> Files:
    """A forged response appended to the WARC file, with a CDXJ line and a page."""
    manifest = manifest_of(files)
    ref = next(c for c in manifest["captures"] if c["status"] == 200)["record"]
    path = ref["path"]
    body = b"<html><body><h1>Forged: the ministry denies everything</h1></body></html>"
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + body
    warc = (
        b"WARC/1.1\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:forged>\r\n"
        b"WARC-Target-URI: https://khmer.example/forged/\r\nWARC-Date: 2026-03-09T00:00:00Z\r\n"
        b"Content-Type: application/http; msgtype=response\r\n"
        + f"Content-Length: {len(http)}\r\n\r\n".encode()
        + http
        + b"\r\n\r\n"
    )
    record = zlib.compress(warc, wbits=31)
    offset = len(files[path])
    files[path] += record
    line = json.dumps(
        {"url": "https://khmer.example/forged/", "mime": "text/html", "status": "200",
         "length": str(len(record)), "offset": str(offset), "filename": path.split("/", 1)[1]}
    )  # fmt: skip
    files["indexes/index.cdx"] += f"example,khmer)/forged 20260309000000 {line}\n".encode()
    page = {"id": "capture-99", "url": "https://khmer.example/forged/",
            "ts": "2026-03-09T00:00:00Z", "title": "Forged"}  # fmt: skip
    files["pages/pages.jsonl"] += (json.dumps(page) + "\n").encode()
    return files


def reference_widened(files: Files, live: Files) -> Files:
    """A record reference stretched over the next record."""
    manifest = manifest_of(files)
    capture = next(c for c in manifest["captures"] if c["status"] == 200)
    capture["record"]["length"] += capture["request"]["length"]
    _put(files, "evidence/manifest.json", manifest)
    return files


def request_moved(files: Files, live: Files) -> Files:
    manifest = manifest_of(files)
    captures = [c for c in manifest["captures"] if c["request"]]
    captures[0]["request"], captures[1]["request"] = captures[1]["request"], captures[0]["request"]
    _put(files, "evidence/manifest.json", manifest)
    return files


def index_url_changed(files: Files, live: Files) -> Files:
    """The CDXJ line of a verified record moved to another address (replay would show
    the genuine page under the forged address)."""
    lines = files["indexes/index.cdx"].decode().splitlines()
    key, ts, body = lines[0].split(" ", 2)
    fields = json.loads(body)
    fields["url"] = "https://khmer.example/ministry-statement/"
    lines[0] = f"{key} {ts} {json.dumps(fields)}"
    files["indexes/index.cdx"] = ("\n".join(lines) + "\n").encode()
    return files


def index_line_dropped(files: Files, live: Files) -> Files:
    """The 404's line taken out of the index, so replay never shows the takedown."""
    lines = files["indexes/index.cdx"].decode().splitlines()
    files["indexes/index.cdx"] = (
        "\n".join(ln for ln in lines if '"404"' not in ln) + "\n"
    ).encode()
    return files


def page_title_forged(files: Files, live: Files) -> Files:
    lines = files["pages/pages.jsonl"].decode().splitlines()
    page = json.loads(lines[1])
    page["title"] = "Government praised for ending trafficking"
    lines[1] = json.dumps(page, ensure_ascii=False)
    files["pages/pages.jsonl"] = ("\n".join(lines) + "\n").encode()
    return files


def foreign_proof(files: Files, live: Files) -> Files:
    """A valid proof (same checkpoint) of a capture the manifest does not list."""
    proofs = _json(files, "evidence/proofs.json")
    proofs["proofs"].append(_json(live, "evidence/proofs.json")["proofs"][0])
    _put(files, "evidence/proofs.json", proofs)
    return files


def capture_listed_twice(files: Files, live: Files) -> Files:
    manifest = manifest_of(files)
    manifest["captures"].append(dict(manifest["captures"][0]))
    _put(files, "evidence/manifest.json", manifest)
    return files


def unknown_role(files: Files, live: Files) -> Files:
    manifest = manifest_of(files)
    manifest["captures"][1]["role"] = "witness"
    _put(files, "evidence/manifest.json", manifest)
    return files


def tree_size_claimed(files: Files, live: Files) -> Files:
    manifest = manifest_of(files)
    manifest["log"]["tree_size"] += 1000
    _put(files, "evidence/manifest.json", manifest)
    return files


def version_hidden(files: Files, live: Files) -> Files:
    manifest = manifest_of(files)
    manifest["versions"] = manifest["versions"][:1]
    manifest["diffs"] = []
    _put(files, "evidence/manifest.json", manifest)
    return files


def event_hidden(files: Files, live: Files) -> Files:
    manifest = manifest_of(files)
    manifest["events"] = [e for e in manifest["events"] if e["kind"] != "removed"]
    _put(files, "evidence/manifest.json", manifest)
    return files


def event_invented(files: Files, live: Files) -> Files:
    manifest = manifest_of(files)
    manifest["events"].append(dict(manifest["events"][-1], id=424242, kind="restored"))
    _put(files, "evidence/manifest.json", manifest)
    return files


def text_rewritten(files: Files, live: Files) -> Files:
    manifest = manifest_of(files)
    manifest["versions"][0]["text"] = manifest["versions"][0]["text"][::-1]
    _put(files, "evidence/manifest.json", manifest)
    return files


def diff_rewritten(files: Files, live: Files) -> Files:
    manifest = manifest_of(files)
    manifest["diffs"][0]["diff"]["fields"] = []
    _put(files, "evidence/manifest.json", manifest)
    return files


def status_rewritten(files: Files, live: Files) -> Files:
    manifest = manifest_of(files)
    next(c for c in manifest["captures"] if c["status"] == 404)["status"] = 200
    _put(files, "evidence/manifest.json", manifest)
    return files


def article_unremoved(files: Files, live: Files) -> Files:
    manifest = manifest_of(files)
    manifest["article"].update(status="live", removal=None, removed_at=None)
    _put(files, "evidence/manifest.json", manifest)
    return files


def warc_byte(files: Files, live: Files) -> Files:
    ref = next(c for c in manifest_of(files)["captures"] if c["status"] == 200)["record"]
    data = bytearray(files[ref["path"]])
    data[ref["offset"] + ref["length"] // 2] ^= 1
    files[ref["path"]] = bytes(data)
    return files


def leaf_rewritten(files: Files, live: Files) -> Files:
    proofs = _json(files, "evidence/proofs.json")
    entry = proofs["proofs"][-1]
    entry["leaf"] = entry["leaf"].replace('"status":404', '"status":200', 1)
    entry["leaf_hash"] = hashlib.sha256(b"\x00" + entry["leaf"].encode()).hexdigest()
    _put(files, "evidence/proofs.json", proofs)
    return files


def proof_hash(files: Files, live: Files) -> Files:
    proofs = _json(files, "evidence/proofs.json")
    proofs["proofs"][0]["hashes"][0] = hashlib.sha256(b"forged").hexdigest()
    _put(files, "evidence/proofs.json", proofs)
    return files


def signature_flipped(files: Files, live: Files) -> Files:
    note = files["evidence/checkpoint.txt"].decode()
    body, _, sig = note.partition("\n\n")
    name, _, encoded = sig.strip().removeprefix("\u2014 ").rpartition(" ")
    import base64

    raw = bytearray(base64.b64decode(encoded))
    raw[-1] ^= 1
    files["evidence/checkpoint.txt"] = (
        f"{body}\n\n\u2014 {name} {base64.b64encode(bytes(raw)).decode()}\n".encode()
    )
    return files


def packaged_key_swapped(files: Files, live: Files) -> Files:
    """The package's own key file replaced (the checkpoint still the log's)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from archive.log.signing import Signer

    other = Signer("presswatch-log", Ed25519PrivateKey.generate())
    files["evidence/log-key.txt"] = (other.verifier_key + "\n").encode()
    return files


FORGERIES: dict[str, tuple[Forge, str]] = {
    "a live article's captures relabelled originals, claimed removed": (
        relabel_as_originals, "no-article-capture"),
    "empty claims": (empty_claims, "no-article-capture"),
    "another article's captures": (another_articles_captures, "foreign-capture"),
    "a capture cut from the middle of the history": (middle_capture_dropped, "hidden-version"),
    "an extra record, indexed and paged": (extra_record, "unverified-record"),
    "a record reference widened": (reference_widened, "record-reference"),
    "request records swapped": (request_moved, "request-record"),
    "an index line pointed at another address": (index_url_changed, "index-line"),
    "the takedown's index line dropped": (index_line_dropped, "index-line"),
    "a page's title forged": (page_title_forged, "page-entry"),
    "a proof of a capture not listed": (foreign_proof, "unused-proof"),
    "a capture listed twice": (capture_listed_twice, "duplicate-capture"),
    "a role of the forger's": (unknown_role, "unknown-role"),
    "a larger tree claimed": (tree_size_claimed, "checkpoint-mismatch"),
    "a version hidden": (version_hidden, "hidden-version"),
    "the removal hidden": (event_hidden, "hidden-event"),
    "an event invented": (event_invented, "unlogged-event"),
    "a version's text rewritten": (text_rewritten, "version-text"),
    "a diff rewritten": (diff_rewritten, "diff-mismatch"),
    "a capture's status rewritten": (status_rewritten, "capture-field"),
    "the article claimed live": (article_unremoved, "article-state"),
    "a WARC byte": (warc_byte, "record-digest"),
    "a leaf rewritten and rehashed": (leaf_rewritten, "inclusion-proof"),
    "a proof hash": (proof_hash, "inclusion-proof"),
    "the checkpoint's signature": (signature_flipped, "bad-signature"),
    "the package's key file swapped": (packaged_key_swapped, "packaged-key"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(FORGERIES))
def test_each_forgery_is_refused_with_its_own_reason(
    name: str, removed_pkg: Path, live_pkg: Path, key_text: str, tmp_path: Path
) -> None:
    forge, reason = FORGERIES[name]
    forged = write(forge(read(removed_pkg), read(live_pkg)), tmp_path / "forged.wacz")
    result = verify(forged, key_text)
    assert reason in reasons(result), (reason, [str(f) for f in result.failures])
    assert result.exit_code == 1 and result.statement is None


def test_a_forged_package_proves_nothing_on_the_command_line(
    removed_pkg: Path, live_pkg: Path, key_text: str, tmp_path: Path, capsys: Any
) -> None:
    forged = write(relabel_as_originals(read(removed_pkg), read(live_pkg)), tmp_path / "f.wacz")
    key = tmp_path / "key.pub"
    key.write_text(key_text)
    assert main([str(forged), "--public-key", str(key)]) == 1
    out = capsys.readouterr().out
    assert "FAIL [no-article-capture]" in out
    assert out.rstrip().splitlines()[-1].startswith("NOT PROVEN: ")
    assert "ok:" not in out


def test_an_edit_cut_from_a_history_that_saw_the_new_version_again_is_caught(
    runtime: Runtime, at: Any, tmp_path: Path, key_text_of: Callable[[Runtime], str]
) -> None:
    """Discovered, edited, the edited version seen again: the edit's capture and its
    event cut out, the new version's first sighting moved to the later capture. Every
    remaining leaf is genuine, but no event introduces version 2."""
    html = h.km_story(URL).html
    h.record(runtime, h.exchange(URL, html, at=at(0)))
    h.record(runtime, h.exchange(URL, h.khmer_byline_changed(html), at=at(1)))
    h.record(runtime, h.exchange(URL, h.khmer_byline_changed(html), at=at(2)))
    runtime.warc.close()
    package = export(runtime, URL, tmp_path / "edited.wacz")
    key = key_text_of(runtime)
    assert verify(package, key).ok
    files = read(package)
    edited = next(e for e in manifest_of(files)["events"] if e["kind"] == "edited")
    cut = write(repack(files, lambda c: c["id"] != edited["capture_id"]), tmp_path / "cut.wacz")
    result = verify(cut, key)
    assert reasons(result) == {"version-without-event"}, result.failures


# -- how the package is read --------------------------------------------------------------


def test_duplicate_member_names_are_refused(
    removed_pkg: Path, key_text: str, tmp_path: Path
) -> None:
    """A forged manifest first and the genuine one last under the same name: Python
    reads the last, `unzip -p` the first. Neither is trusted."""
    files = read(removed_pkg)
    forged = article_unremoved(dict(files), {})["evidence/manifest.json"]
    members = [("evidence/manifest.json", forged), *files.items()]
    result = verify(zip_members(tmp_path / "dup.wacz", members), key_text)
    assert reasons(result) == {"duplicate-member"}
    assert result.failures[0].where == "evidence/manifest.json"


@pytest.mark.parametrize(
    "name", ["../../etc/cron.d/evil", "/etc/passwd", "archive\\x.warc.gz", "archive/./x.warc.gz"]
)
def test_unsafe_member_names_are_refused(
    name: str, removed_pkg: Path, key_text: str, tmp_path: Path
) -> None:
    files = read(removed_pkg)
    files[name] = b"payload"
    result = verify(write(files, tmp_path / "unsafe.wacz"), key_text)
    assert reasons(result) == {"unsafe-name"}, result.failures


def test_unsafe_names_listed_only_in_datapackage_are_refused(
    removed_pkg: Path, key_text: str, tmp_path: Path
) -> None:
    files = read(removed_pkg)
    package = json.loads(files["datapackage.json"])
    package["resources"].append({"path": "../../evil", "hash": "sha256:00", "bytes": 1})
    files["datapackage.json"] = json.dumps(package).encode()
    digest = hashlib.sha256(files["datapackage.json"]).hexdigest()
    files["datapackage-digest.json"] = json.dumps(
        {"path": "datapackage.json", "hash": f"sha256:{digest}"}
    ).encode()
    result = verify(write(files, tmp_path / "listed.wacz", rehash=False), key_text)
    assert "unsafe-name" in reasons(result)


@pytest.mark.parametrize("member", ["evidence/manifest.json", "datapackage.json"])
def test_deeply_nested_json_is_unreadable_not_a_crash(
    member: str, removed_pkg: Path, key_text: str, tmp_path: Path
) -> None:
    files = read(removed_pkg)
    files[member] = b"[" * 200_000 + b"]" * 200_000
    with pytest.raises(Unreadable, match="nested deeper than 64"):
        verify(write(files, tmp_path / "deep.wacz", rehash=member != "datapackage.json"), key_text)


def test_a_repeated_json_key_is_unreadable(
    removed_pkg: Path, key_text: str, tmp_path: Path
) -> None:
    """Readers disagree on which of two equal keys wins: neither is taken."""
    files = read(removed_pkg)
    text = files["evidence/manifest.json"].decode()
    files["evidence/manifest.json"] = text.replace(
        '"status": "removed"', '"status": "live", "status": "removed"', 1
    ).encode()
    with pytest.raises(Unreadable, match="appears twice"):
        verify(write(files, tmp_path / "twice.wacz"), key_text)


def test_control_characters_cannot_spoof_the_verdict(
    removed_pkg: Path, key_text: str, tmp_path: Path, capsys: Any
) -> None:
    """A capture id carrying escape sequences that would erase the FAIL line and print
    a fake `ok:` is printed escaped, and the verdict stays NOT PROVEN."""
    files = read(removed_pkg)
    manifest = manifest_of(files)
    manifest["captures"][0]["id"] = "\x1b[2K\r\x1b[1Aok: 6 captures verified\u202e"
    manifest["events"][0]["kind"] = "\x1b]0;owned\x07"
    _put(files, "evidence/manifest.json", manifest)
    key = tmp_path / "key.pub"
    key.write_text(key_text)
    assert main([str(write(files, tmp_path / "esc.wacz")), "--public-key", str(key)]) == 1
    captured = capsys.readouterr()
    for text in (captured.out, captured.err):
        assert (
            "\x1b" not in text and "\u202e" not in text and "\r" not in text and "\x07" not in text
        )
    assert "\\u{001b}" in captured.out
    assert captured.out.rstrip().splitlines()[-1].startswith("NOT PROVEN")
    assert main([str(write(files, tmp_path / "esc.wacz")), "--public-key", str(key), "--json"]) == 1
    assert "\x1b" not in capsys.readouterr().out


def test_a_different_key_is_its_own_verdict(removed_pkg: Path, tmp_path: Path, capsys: Any) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from archive.log.signing import Signer

    other = tmp_path / "other.pub"
    other.write_text(Signer("presswatch-log", Ed25519PrivateKey.generate()).verifier_key)
    assert main([str(removed_pkg), "--public-key", str(other)]) == 3
    out = capsys.readouterr().out
    assert "FAIL [other-key] evidence/checkpoint.txt: signed by another key" in out
    assert "self-consistent under its own key, but its checkpoint is not signed" in out


def test_an_unreadable_key_file_is_exit_2(removed_pkg: Path, tmp_path: Path, capsys: Any) -> None:
    bad = tmp_path / "bad.pub"
    bad.write_text("not a key at all\n")
    assert main([str(removed_pkg), "--public-key", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no verifier key" in err[0]


# -- bounded work -----------------------------------------------------------------------


def _run_bounded(package: Path, key: Path) -> tuple[int, str, int]:
    """The verifier in a process of its own: exit code, stderr and peak RSS in bytes
    (its VmHWM: wait4's ru_maxrss would count the test process it forked from)."""
    from benchmarks.package_bench import run_measured

    measured = run_measured(package, key)
    return measured.exit, measured.stderr, measured.peak_rss_bytes


def test_a_zip_bomb_member_is_refused_in_bounded_memory(
    removed_pkg: Path, key_text: str, tmp_path: Path
) -> None:
    """The review's package: 535 KB whose record reference covers a 512 MiB member (it
    ran past 10 minutes at about 900 MB). Refused by its inflation, nothing inflated."""
    files = read(removed_pkg)
    ref_path = next(n for n in files if n.startswith("archive/"))
    out = tmp_path / "bomb.wacz"
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in files.items():
            if name != ref_path:
                zf.writestr(name, data)
        info = zipfile.ZipInfo(ref_path)
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as fh:
            zeros = bytes(1 << 20)
            for _ in range(512):
                fh.write(zeros)
    assert out.stat().st_size < 1 << 20
    key = tmp_path / "key.pub"
    key.write_text(key_text)
    code, _, peak = _run_bounded(out, key)
    assert code == 1
    result = verify(out, key_text)
    assert reasons(result) == {"oversized-member"}, result.failures
    assert peak < 200 << 20, f"peak RSS {peak >> 20} MiB"


def test_deep_json_fails_in_one_line_in_bounded_memory(
    removed_pkg: Path, key_text: str, tmp_path: Path
) -> None:
    files = read(removed_pkg)
    files["evidence/manifest.json"] = b"[" * 200_000
    key = tmp_path / "key.pub"
    key.write_text(key_text)
    code, err, peak = _run_bounded(write(files, tmp_path / "deep.wacz"), key)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert peak < 200 << 20


# -- RFC 3161: a timestamp is shown for what it is -------------------------------------


def _ca(name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=3650))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _tsa_cert(
    ca: tuple[ec.EllipticCurvePrivateKey, x509.Certificate], name: str, *, years_ago: int = 10
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca[1].subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=365 * years_ago))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(ca[0], hashes.SHA256())
    )
    return key, cert


def _stamped(
    files: Files, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate, at: datetime
) -> Files:
    """The package with a timestamp token over its checkpoint from this TSA at `at`."""
    authority = LocalTsa(key, cert, gen_time=at)
    answer = authority.answer(timestamp_request(files["evidence/checkpoint.txt"], 7))
    token = tsp.TimeStampResp.load(answer)["time_stamp_token"].dump()
    files["evidence/checkpoint.tsr"] = token
    manifest = manifest_of(files)
    manifest["log"]["timestamp"] = "evidence/checkpoint.tsr"
    _put(files, "evidence/manifest.json", manifest)
    return files


def test_a_self_made_timestamp_authority_is_not_shown_as_fact(
    removed_pkg: Path, key_text: str, tmp_path: Path
) -> None:
    """A token from a self-signed certificate named like a commercial TSA, dated 2020:
    unverified without --tsa-ca (with its issuer and fingerprint), refused against the
    reader's real root, accepted against the root that issued it."""
    fake_root = _ca("DigiCert Trusted Root G4")
    tsa_key, tsa_cert = _tsa_cert(fake_root, "DigiCert Timestamp 2023")
    stamped = write(
        _stamped(read(removed_pkg), tsa_key, tsa_cert, datetime(2020, 3, 1, tzinfo=UTC)),
        tmp_path / "stamped.wacz",
    )
    plain = verify(stamped, key_text)
    assert plain.ok, plain.failures
    assert plain.timestamp is not None and plain.timestamp["trusted"] is False
    assert plain.timestamp["issuer"] == "CN=DigiCert Trusted Root G4"
    assert plain.timestamp["fingerprint_sha256"] == tsa_cert.fingerprint(hashes.SHA256()).hex()
    assert any("not checked against a trusted TSA root" in w for w in plain.warnings)

    real_root = _ca("A root the reader trusts")[1]
    refused = verify(stamped, key_text, tsa_roots=[real_root])
    assert reasons(refused) == {"timestamp-untrusted"}

    trusted = verify(stamped, key_text, tsa_roots=[fake_root[1]])
    assert trusted.ok and trusted.timestamp is not None and trusted.timestamp["trusted"]

    # The CLI: --tsa-ca with a PEM file.
    pem = tmp_path / "ca.pem"
    pem.write_bytes(real_root.public_bytes(serialization.Encoding.PEM))
    key = tmp_path / "key.pub"
    key.write_text(key_text)
    assert main([str(stamped), "--public-key", str(key), "--tsa-ca", str(pem)]) == 1


def test_a_timestamp_outside_its_certificates_validity_fails(
    removed_pkg: Path, key_text: str, tmp_path: Path
) -> None:
    root = _ca("Test root")
    tsa_key, tsa_cert = _tsa_cert(root, "Test TSA", years_ago=1)
    stamped = write(
        _stamped(read(removed_pkg), tsa_key, tsa_cert, datetime(2020, 3, 1, tzinfo=UTC)),
        tmp_path / "early.wacz",
    )
    result = verify(stamped, key_text)
    assert reasons(result) == {"timestamp"}
    assert "was not valid at the token's time" in str(result.failures[0])


def test_a_not_found_page_is_never_titled_with_the_deleted_story(
    runtime: Runtime, at: Any, tmp_path: Path, key_text_of: Callable[[Runtime], str]
) -> None:
    """A soft 404 (status 200, a "page not found" notice) keeps the article's version
    without showing it: the package's page for it is untitled, and a forger's page list
    naming it with the deleted story's headline is refused."""
    story = h.km_story(URL)
    h.record(runtime, h.exchange(URL, story.html, at=at(0)))
    h.record(runtime, h.exchange(URL, h.NOT_FOUND_KM, at=at(1)))
    h.record(runtime, h.exchange(URL, h.NOT_FOUND_KM, at=at(2)))
    runtime.warc.close()
    package = export(runtime, URL, tmp_path / "soft404.wacz")
    key = key_text_of(runtime)
    genuine = verify(package, key)
    assert genuine.ok and genuine.statement is not None, genuine.failures
    assert genuine.statement["state"]["status"] == "removed"
    files = read(package)
    lines = files["pages/pages.jsonl"].decode().splitlines()
    pages = [json.loads(line) for line in lines[1:]]
    titles = [p.get("title") for p in pages]
    assert titles[0] and not titles[0].startswith("Remov"), titles
    assert all(t and t.startswith("Remov") for t in titles[1:]), titles

    pages[-1]["title"] = titles[0]
    forged_lines = [lines[0], *(json.dumps(p, ensure_ascii=False) for p in pages)]
    files["pages/pages.jsonl"] = ("\n".join(forged_lines) + "\n").encode()
    result = verify(write(files, tmp_path / "titled.wacz"), key)
    assert reasons(result) == {"page-entry"}, result.failures


def test_diffs_of_packages_made_before_the_word_count_fix_still_verify() -> None:
    """Until 2026-12-07 a diff's word counts joined adjacent changes before counting:
    a package made then carries those counts and still verifies; any other count fails."""
    from dataclasses import asdict

    from archive.content import VersionSide, diff_versions, joined_diff_stats, render_json
    from presswatch.verify_package.claims import check_diffs

    texts = [
        "The ministry denied the report on Sunday.",
        "The police confirmed the raid on Sunday.",
    ]
    versions = [
        {"id": n, "n": n, "title": "T", "byline": None, "published": None, "modified": None,
         "text": text}
        for n, text in enumerate(texts, 1)
    ]  # fmt: skip
    sides = [VersionSide("T", None, None, None, text, f"v{n}") for n, text in enumerate(texts, 1)]
    diff = diff_versions(*sides)
    now = json.loads(json.dumps(render_json(diff)))
    before = {**now, "stats": asdict(joined_diff_stats(diff.body))}
    assert before != now
    for packaged, ok in ((now, True), (before, True), ({**now, "stats": {}}, False)):
        result = Result()
        check_diffs(versions, [{"from": 1, "to": 2, "diff": packaged}], {1, 2}, result)
        assert result.ok is ok, result.failures
