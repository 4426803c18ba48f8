"""Check a Presswatch evidence package with nothing but the package and the log's
public key: `python -m presswatch.verify_package story.wacz [--public-key FILE]`.

No database, no data dir, no network. It checks, and names each failure:

1. the WACZ: datapackage-digest.json against datapackage.json, every file against its
   sha256 and size there, no file unlisted;
2. the checkpoint's Ed25519 signature (C2SP signed note) by the given key (or, without
   `--public-key`, the key the package carries, with a warning: that proves only that
   the package is self-consistent), and its RFC 3161 timestamp token when it has one;
3. each capture's leaf: its RFC 9162 leaf hash, and its inclusion proof up to the
   checkpoint's root;
4. each WARC record against the digest its leaf commits to (and that warcio reads it);
5. the manifest against the leaves: captures, events (none added, none hidden),
   versions (fields, text hash, first and last sighting), the article's status, and
   the diffs recomputed from the verified texts.

The format is in docs/evidence.md. Exit 0 when everything holds, 1 when anything
fails, 2 when the package or key cannot be read at all.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator

from archive import (
    NoteError,
    ProofError,
    TimestampError,
    VersionSide,
    diff_versions,
    leaf_hash,
    parse_checkpoint,
    render_json,
    verify_inclusion,
    verify_note,
    verify_token,
)

MANIFEST = "evidence/manifest.json"
PROOFS = "evidence/proofs.json"
CHECKPOINT = "evidence/checkpoint.txt"
KEY = "evidence/log-key.txt"
TIMESTAMP = "evidence/checkpoint.tsr"
PACKAGE_FILES = ("datapackage.json", "datapackage-digest.json")


@dataclass(frozen=True, slots=True)
class Failure:
    where: str  # the file, capture, version, event… that fails
    problem: str

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"


@dataclass
class Result:
    failures: list[Failure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    captures: int = 0
    versions: int = 0
    events: int = 0
    tree_size: int | None = None
    key: str | None = None
    timestamp: dict[str, Any] | None = None  # the RFC 3161 token's time and TSA

    @property
    def ok(self) -> bool:
        return not self.failures

    def fail(self, where: str, problem: str) -> None:
        self.failures.append(Failure(where, problem))

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "captures": self.captures,
            "versions": self.versions,
            "events": self.events,
            "tree_size": self.tree_size,
            "key": self.key,
            "timestamp": self.timestamp,
            "warnings": self.warnings,
            "failures": [{"where": f.where, "problem": f.problem} for f in self.failures],
        }


class Unreadable(Exception):
    """The package cannot be opened as an evidence package at all."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


# -- 1. the WACZ -------------------------------------------------------------------------

# Memory stays bounded on any package: members are hashed as streams, records read by
# offset; only the JSON documents are read whole, up to this size each.
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024
_CHUNK = 1 << 20


class Package:
    """The members of the package's ZIP, read lazily."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf
        self.names = {i.filename for i in zf.infolist() if not i.is_dir()}

    def get(self, name: str, default: bytes | None = None) -> bytes | None:
        """A small member whole (a JSON document, the checkpoint, the key)."""
        if name not in self.names:
            return default
        if self.zf.getinfo(name).file_size > MAX_DOCUMENT_BYTES:
            raise Unreadable(f"{name} is larger than {MAX_DOCUMENT_BYTES} bytes")
        try:
            return self.zf.read(name)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            return default  # the digest pass has reported it

    def digest(self, name: str) -> tuple[str, int]:
        """sha256:<hex> and size of a member, read as a stream (the ZIP's CRC is
        checked at its end: a BadZipFile names an altered member)."""
        sha = hashlib.sha256()
        size = 0
        with self.zf.open(name) as fh:
            while chunk := fh.read(_CHUNK):
                sha.update(chunk)
                size += len(chunk)
        return "sha256:" + sha.hexdigest(), size

    def slice(self, name: str, offset: int, length: int) -> bytes:
        with self.zf.open(name) as fh:
            fh.seek(offset)
            return fh.read(length)


def _check_wacz(package: Package, result: Result) -> None:
    """Every member against datapackage.json, and datapackage.json against its digest."""
    datapackage_bytes = package.get("datapackage.json")
    if datapackage_bytes is None:
        raise Unreadable("no datapackage.json: not a WACZ package")
    try:
        digest = json.loads(package.get("datapackage-digest.json", b"null") or b"null")
        ok = isinstance(digest, dict) and digest.get("path") == "datapackage.json"
        expected = digest["hash"] if ok else None
    except (ValueError, KeyError):
        expected = None
    if expected is None:
        result.fail(
            "datapackage-digest.json",
            'missing, or not {"path": "datapackage.json", "hash": …}',
        )
    elif expected != "sha256:" + _sha256(datapackage_bytes):
        result.fail("datapackage.json", "its sha256 differs from datapackage-digest.json")
    try:
        resources = json.loads(datapackage_bytes)["resources"]
        iter(resources)
    except (ValueError, KeyError, TypeError) as exc:
        result.fail("datapackage.json", f"not a data package (altered?): {exc}")
        return
    listed = set()
    for res in resources:
        path = res.get("path") if isinstance(res, dict) else None
        if not isinstance(path, str):
            result.fail("datapackage.json", f"a resource without a path: {str(res)[:80]}")
            continue
        listed.add(path)
        if path not in package.names:
            result.fail(path, "listed in datapackage.json but not in the package")
            continue
        try:
            sha, size = package.digest(path)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            result.fail(path, f"unreadable in the zip (altered?): {exc}")
            continue
        if res.get("hash") != sha:
            result.fail(path, "its sha256 differs from the one in datapackage.json")
        if res.get("bytes") != size:
            result.fail(path, f"{size} bytes, datapackage.json says {res.get('bytes')}")
    for path in sorted(package.names - listed - set(PACKAGE_FILES)):
        result.fail(path, "in the package but not listed in datapackage.json")


# -- 2. checkpoint and key -----------------------------------------------------------------


def _check_checkpoint(
    files: Package, public_key: str | None, result: Result
) -> tuple[int, bytes] | None:
    packaged_key = (files.get(KEY) or b"").decode("utf-8", "replace").strip() or None
    key = public_key.strip() if public_key else packaged_key
    if key is None:
        result.fail(KEY, "no public key in the package and none given (--public-key)")
        return None
    if public_key is None:
        result.warnings.append(
            "no --public-key given: the checkpoint was checked with the key inside the "
            "package, which proves only that the package is self-consistent; compare "
            f"{key.split('+')[0]}+{_key_id_of(key)} with the key the operator published"
        )
    elif packaged_key is not None and packaged_key != key:
        result.fail(KEY, "the package's public key is not the key given with --public-key")
    result.key = key
    note = files.get(CHECKPOINT)
    if note is None:
        result.fail(CHECKPOINT, "missing")
        return None
    try:
        checkpoint = verify_note(note.decode("utf-8", "replace"), key)
    except NoteError as exc:
        result.fail(CHECKPOINT, f"signature check failed: {exc}")
        try:
            checkpoint = parse_checkpoint(note.decode("utf-8", "replace"))
        except NoteError:
            return None
    result.tree_size = checkpoint.tree_size
    token = files.get(TIMESTAMP)
    if token is not None:
        try:
            info = verify_token(token, note)
        except TimestampError as exc:
            result.fail(TIMESTAMP, f"RFC 3161 timestamp of the checkpoint: {exc}")
        else:
            # Whether to trust this TSA is the reader's call: name it and its time.
            result.timestamp = {"time": info.gen_time.isoformat(), "tsa": info.tsa_subject}
    return checkpoint.tree_size, checkpoint.root_hash


# -- 3. leaves and proofs --------------------------------------------------------------


def _check_proofs(
    proofs_doc: Any, head: tuple[int, bytes] | None, result: Result
) -> dict[int, dict[str, Any]]:
    """Each capture's parsed leaf; a leaf whose hash or inclusion proof does not hold
    is reported (the package fails) and still compared with the manifest below."""
    leaves: dict[int, dict[str, Any]] = {}
    if not isinstance(proofs_doc, dict) or not isinstance(proofs_doc.get("proofs"), list):
        result.fail(PROOFS, "not a JSON object with a list of proofs")
        return leaves
    if head is not None:
        size, root = head
        if proofs_doc.get("tree_size") != size or proofs_doc.get("root_hash") != root.hex():
            result.fail(PROOFS, "its tree size or root hash is not the checkpoint's")
    for entry in proofs_doc["proofs"]:
        cid = entry.get("capture_id") if isinstance(entry, dict) else None
        where = f"capture {cid}"
        if not isinstance(cid, int) or not isinstance(entry.get("leaf"), str):
            result.fail(PROOFS, f"malformed proof entry {str(entry)[:80]}")
            continue
        data = entry["leaf"].encode("utf-8")
        digest = leaf_hash(data)
        if digest.hex() != entry.get("leaf_hash"):
            result.fail(where, "its leaf does not hash to the leaf hash given for it")
        index = entry.get("leaf_index")
        try:
            hashes = [bytes.fromhex(h) for h in entry.get("hashes", [])]
        except (TypeError, ValueError):
            result.fail(where, "its inclusion proof holds a hash that is not hex")
            hashes = []
        if not isinstance(index, int):
            result.fail(where, "its proof has no leaf index")
        elif head is not None:
            try:
                verify_inclusion(digest, index, head[0], hashes, head[1])
            except ProofError as exc:
                result.fail(where, f"inclusion proof of leaf {index}: {exc}")
        try:
            leaf = json.loads(data)
        except ValueError:
            result.fail(where, "its leaf is not JSON")
            continue
        if not isinstance(leaf, dict) or not isinstance(leaf.get("capture"), dict):
            result.fail(where, "its leaf has no capture object")
            continue
        if leaf.get("index") != index:
            result.fail(where, f"its leaf says index {leaf.get('index')}, the proof {index}")
        if leaf["capture"].get("id") != cid:
            result.fail(where, f"its leaf is the leaf of capture {leaf['capture'].get('id')}")
        leaves[cid] = leaf
    return leaves


# -- 4. WARC records -------------------------------------------------------------------


def _record(files: Package, ref: Any) -> tuple[bytes, Any] | str:
    """The bytes of a record reference and its parsed headers, or what is wrong."""
    if not isinstance(ref, dict):
        return "no record reference"
    path = str(ref.get("path"))
    if path not in files.names:
        return f"{path} is not in the package"
    offset, length = ref.get("offset"), ref.get("length")
    if not isinstance(offset, int) or not isinstance(length, int) or offset < 0 or length < 0:
        return "its record reference has no offset and length"
    try:
        raw = files.slice(path, offset, length)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        return f"{path} is unreadable: {exc}"
    if len(raw) != length:
        return f"{path} ends before {offset}+{length}"
    try:
        for record in ArchiveIterator(io.BytesIO(raw)):
            record.content_stream().read()
            return raw, record.rec_headers
    except Exception as exc:  # noqa: BLE001 - warcio raises many kinds on damaged bytes
        return f"warcio cannot read the record at {path}@{offset}: {exc}"
    return f"no WARC record at {path}@{offset}"


def _check_records(
    files: Package, capture: dict[str, Any], leaf: dict[str, Any], result: Result
) -> None:
    where = f"capture {capture.get('id')}"
    warc = leaf.get("warc")
    ref = capture.get("record")
    if warc is None:
        if ref is not None:
            result.fail(where, "the manifest gives a WARC record, its leaf has none")
        return
    got = _record(files, ref)
    if isinstance(got, str):
        result.fail(where, f"WARC record: {got}")
        return
    raw, headers = got
    assert isinstance(ref, dict)  # _record refuses anything else
    if _sha256(raw) != warc.get("record_sha256"):
        result.fail(
            where,
            f"WARC record {ref['path']}@{ref['offset']}: its sha256 is not the "
            "record_sha256 its leaf commits to (the record was altered)",
        )
    if headers.get_header("WARC-Type") != warc.get("type"):
        result.fail(
            where,
            f"WARC record is a {headers.get_header('WARC-Type')}, leaf says {warc.get('type')}",
        )
    request = capture.get("request")
    if request is not None:
        got_req = _record(files, request)
        if isinstance(got_req, str):
            result.fail(where, f"request record: {got_req}")
            return
        req_raw, req_headers = got_req
        committed = warc.get("request_sha256")
        if committed is not None and _sha256(req_raw) != committed:
            result.fail(where, "request record: its sha256 is not the one its leaf commits to")
        if req_headers.get_header("WARC-Concurrent-To") != headers.get_header("WARC-Record-ID"):
            result.fail(where, "request record is not concurrent to the capture's record")


# -- 5. the manifest against the leaves ----------------------------------------------------


def _same_time(a: Any, b: Any) -> bool:
    return a == b if a is None or b is None else _when(a) == _when(b) and _when(a) is not None


def _check_captures(
    manifest: dict[str, Any],
    leaves: dict[int, dict[str, Any]],
    files: Package,
    result: Result,
) -> list[tuple[int, dict[str, Any]]]:
    """The article's captures as (capture id, leaf), in log order."""
    article_id = manifest.get("article", {}).get("id")
    ours: list[tuple[int, dict[str, Any]]] = []
    for capture in manifest.get("captures", []):
        cid = capture.get("id")
        where = f"capture {cid}"
        leaf = leaves.get(cid) if isinstance(cid, int) else None
        if leaf is None:
            result.fail(where, "no verified leaf for it in evidence/proofs.json")
            continue
        logged = leaf["capture"]
        if capture.get("leaf_index") != leaf.get("index"):
            result.fail(where, f"leaf_index {capture.get('leaf_index')}, leaf {leaf.get('index')}")
        for key in ("requested_url", "final_url", "status", "outcome"):
            if capture.get(key) != logged.get(key):
                result.fail(
                    where, f"{key} is {capture.get(key)!r}, its leaf says {logged.get(key)!r}"
                )
        if not _same_time(capture.get("fetched_at"), logged.get("fetched_at")):
            result.fail(
                where, f"fetched_at is {capture.get('fetched_at')}, leaf {logged.get('fetched_at')}"
            )
        if capture.get("warc_type") != (leaf.get("warc") or {}).get("type"):
            result.fail(where, "warc_type differs from its leaf")
        _check_records(files, capture, leaf, result)
        if capture.get("role") == "article":
            if logged.get("article_id") != article_id:
                result.fail(where, f"its leaf is of article {logged.get('article_id')}")
            ours.append((cid, leaf))
    result.captures = len(manifest.get("captures", []))
    ours.sort(key=lambda item: item[1].get("index", -1))
    return ours


def _check_events(
    manifest: dict[str, Any], ours: list[tuple[int, dict[str, Any]]], result: Result
) -> None:
    numbers = {v.get("id"): v.get("n") for v in manifest.get("versions", [])}
    logged: dict[Any, tuple[int, dict[str, Any]]] = {}
    for cid, leaf in ours:
        for event in leaf.get("events") or []:
            logged[event.get("id")] = (cid, event)
    listed = set()
    for event in manifest.get("events", []):
        eid = event.get("id")
        where = f"event {eid} ({event.get('kind')})"
        listed.add(eid)
        if eid not in logged:
            result.fail(where, "in the manifest but in no capture's leaf")
            continue
        cid, leaf_event = logged[eid]
        if event.get("capture_id") != cid:
            result.fail(where, f"capture_id {event.get('capture_id')}, the log says {cid}")
        for key in ("kind", "how", "detail"):
            if event.get(key) != leaf_event.get(key):
                result.fail(
                    where, f"{key} is {event.get(key)!r}, the log says {leaf_event.get(key)!r}"
                )
        if not _same_time(event.get("at"), leaf_event.get("at")):
            result.fail(where, f"at is {event.get('at')}, the log says {leaf_event.get('at')}")
        for key in ("from_version", "to_version"):
            vid = leaf_event.get(f"{key}_id")
            if event.get(key) != (numbers.get(vid) if vid is not None else None):
                result.fail(where, f"{key} is {event.get(key)}, the log says version id {vid}")
    for eid in sorted(set(logged) - listed, key=str):
        cid, leaf_event = logged[eid]
        result.fail(
            f"event {eid} ({leaf_event.get('kind')})",
            f"in the leaf of capture {cid} but missing from the manifest",
        )
    result.events = len(manifest.get("events", []))


# Manifest key -> leaf key of a version.
_VERSION_FIELDS = {
    "n": "n",
    "title": "title",
    "byline": "byline",
    "published": "published",
    "modified": "modified",
    "lang": "lang",
    "text_sha256": "text_sha256",
    "chars": "text_chars",
    "words": "text_words",
    "extractor": "extractor",
    "normalizer": "normalizer",
}


def _check_versions(
    manifest: dict[str, Any], ours: list[tuple[int, dict[str, Any]]], result: Result
) -> None:
    logged: dict[Any, dict[str, Any]] = {}
    sightings: dict[Any, list[tuple[int, Any]]] = {}
    for cid, leaf in ours:
        part = leaf.get("version")
        if isinstance(part, dict):
            logged.setdefault(part.get("id"), part)
            if part.get("seen"):
                sightings.setdefault(part.get("id"), []).append((cid, leaf["capture"]))
    listed = set()
    for version in manifest.get("versions", []):
        vid = version.get("id")
        where = f"version {version.get('n')} (id {vid})"
        listed.add(vid)
        part = logged.get(vid)
        if part is None:
            result.fail(where, "in the manifest but in no capture's leaf")
            continue
        for key, logged_key in _VERSION_FIELDS.items():
            if version.get(key) != part.get(logged_key):
                result.fail(
                    where, f"{key} is {version.get(key)!r}, the log says {part.get(logged_key)!r}"
                )
        text = version.get("text")
        if not isinstance(text, str) or _sha256(text.encode("utf-8")) != part.get("text_sha256"):
            result.fail(where, "its text does not hash to the text_sha256 the log commits to")
        seen = sightings.get(vid, [])
        if not seen:
            result.fail(where, "no capture of the package saw it")
            continue
        for label, (cid, cap) in (("first", seen[0]), ("last", seen[-1])):
            if version.get(f"{label}_capture_id") != cid:
                result.fail(
                    where,
                    f"{label}_capture_id is {version.get(f'{label}_capture_id')}, the log's "
                    f"{label} sighting is capture {cid}",
                )
            if not _same_time(version.get(f"{label}_seen"), cap.get("fetched_at")):
                result.fail(
                    where,
                    f"{label}_seen is {version.get(f'{label}_seen')}, the log's {label} "
                    f"sighting was at {cap.get('fetched_at')}",
                )
    for vid in sorted(set(logged) - listed, key=str):
        result.fail(f"version id {vid}", "in a capture's leaf but missing from the manifest")
    result.versions = len(manifest.get("versions", []))


def _check_article(
    manifest: dict[str, Any], ours: list[tuple[int, dict[str, Any]]], result: Result
) -> None:
    article = manifest.get("article", {})
    states: list[tuple[int, dict[str, Any]]] = [
        (cid, leaf["article"]) for cid, leaf in ours if isinstance(leaf.get("article"), dict)
    ]
    if not states:
        return  # sealed from an archive made before the log kept article states
    cid, state = states[-1]
    # Manifest key -> key of the article state in the leaf (`key` is the normalized URL).
    pairs = (("id", "id"), ("key", "url"), ("status", "status"), ("removal", "removal"))
    for key, logged_key in pairs:
        if article.get(key) != state.get(logged_key):
            result.fail(
                f"article {article.get('id')}",
                f"{key} is {article.get(key)!r}, the newest capture's leaf ({cid}) says "
                f"{state.get(logged_key)!r}",
            )
    for key in ("removed_at", "first_seen"):
        if not _same_time(article.get(key), state.get(key)):
            result.fail(
                f"article {article.get('id')}",
                f"{key} is {article.get(key)}, the newest capture's leaf ({cid}) says "
                f"{state.get(key)}",
            )


def _check_diffs(manifest: dict[str, Any], result: Result) -> None:
    versions = sorted(manifest.get("versions", []), key=lambda v: v.get("n", 0))
    by_pair = {(d.get("from"), d.get("to")): d.get("diff") for d in manifest.get("diffs", [])}
    for old, new in zip(versions, versions[1:], strict=False):
        pair = (old.get("n"), new.get("n"))
        where = f"diff v{pair[0]}→v{pair[1]}"
        if pair not in by_pair:
            result.fail(where, "missing from the manifest")
            continue
        try:
            sides = [
                VersionSide(
                    title=v.get("title"),
                    byline=v.get("byline"),
                    published=v.get("published"),
                    modified=v.get("modified"),
                    text=str(v.get("text") or ""),
                    label=f"v{v.get('n')}",
                )
                for v in (old, new)
            ]
            expected = render_json(diff_versions(sides[0], sides[1]))
        except Exception as exc:  # noqa: BLE001 - hostile input: report, do not crash
            result.fail(where, f"cannot be recomputed: {exc}")
            continue
        if json.loads(json.dumps(expected)) != by_pair[pair]:
            result.fail(where, "differs from the diff of the two versions' texts")


# -- the whole check -------------------------------------------------------------------


def verify_package(path: Path, public_key: str | None = None) -> Result:
    """Check the evidence package at `path`; `public_key` is the log's signed-note
    verifier key (`name+keyid+base64`). Raises Unreadable when it is no package."""
    result = Result()
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise Unreadable(f"{path}: not a readable zip file: {exc}") from exc
    with zf:
        _verify(Package(zf), public_key, result)
    return result


def _verify(files: Package, public_key: str | None, result: Result) -> None:
    _check_wacz(files, result)
    docs: dict[str, Any] = {}
    for name in (MANIFEST, PROOFS):
        data = files.get(name)
        if data is None:
            raise Unreadable(f"no readable {name}: not a Presswatch evidence package")
        try:
            docs[name] = json.loads(data)
        except ValueError as exc:
            result.fail(name, f"not JSON: {exc}")
            docs[name] = {}
    manifest = docs[MANIFEST] if isinstance(docs[MANIFEST], dict) else {}
    head = _check_checkpoint(files, public_key, result)
    log = manifest.get("log", {}) if isinstance(manifest.get("log"), dict) else {}
    if head is not None and (
        log.get("tree_size") != head[0] or log.get("root_hash") != head[1].hex()
    ):
        result.fail(MANIFEST, "its log tree size or root hash is not the checkpoint's")
    if result.key and log.get("key_id") != _key_id_of(result.key):
        result.fail(MANIFEST, f"its log key_id {log.get('key_id')!r} is not the key's")
    try:
        leaves = _check_proofs(docs[PROOFS], head, result)
        ours = _check_captures(manifest, leaves, files, result)
        _check_events(manifest, ours, result)
        _check_versions(manifest, ours, result)
        _check_article(manifest, ours, result)
        _check_diffs(manifest, result)
    except (AttributeError, TypeError, KeyError, ValueError) as exc:
        # A manifest or proof file of the wrong shape: say so instead of a traceback.
        result.fail(MANIFEST, f"not in the evidence package format ({type(exc).__name__}: {exc})")


def _key_id_of(key: str) -> str | None:
    parts = key.split("+", 2)  # name+keyid+base64, and base64 may hold '+'
    return parts[1] if len(parts) == 3 else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m presswatch.verify_package",
        description="Verify a Presswatch evidence package (a WACZ) offline.",
    )
    parser.add_argument("package", type=Path, help="the .wacz evidence package")
    parser.add_argument(
        "--public-key",
        type=Path,
        metavar="FILE",
        help="the log's published verifier key (name+keyid+base64), as "
        "`presswatch checkpoint --public-key` prints it",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    key = None
    if args.public_key is not None:
        try:
            key = args.public_key.read_text(encoding="utf-8").strip()
        except OSError as exc:
            print(f"verify_package: cannot read the key {args.public_key}: {exc}", file=sys.stderr)
            return 2
    try:
        result = verify_package(args.package, key)
    except Unreadable as exc:
        print(f"verify_package: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
    else:
        for warning in result.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        for failure in result.failures:
            print(f"FAIL {failure}")
        if result.timestamp:
            stamp = result.timestamp
            print(f"checkpoint timestamped {stamp['time']} by {stamp['tsa']} (RFC 3161)")
        verdict = "ok" if result.ok else f"{len(result.failures)} failure(s)"
        print(
            f"{verdict}: {result.captures} captures, {result.versions} versions, "
            f"{result.events} events checked against the signed checkpoint of "
            f"{result.tree_size} leaves"
        )
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
