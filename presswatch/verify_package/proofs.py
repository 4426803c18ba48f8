"""The cryptographic layer: the WACZ hashes, the signed checkpoint and its key, the RFC
3161 timestamp, and each leaf's hash and inclusion proof up to the checkpoint."""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Sequence
from typing import Any

from archive.log import (
    NoteError,
    NotSignedBy,
    ProofError,
    TimestampError,
    leaf_hash,
    parse_checkpoint,
    read_key_file,
    verify_inclusion,
    verify_note,
    verify_token,
)
from presswatch.verify_package.reading import (
    CHECKPOINT,
    DATAPACKAGE,
    DIGEST,
    KEY,
    MAX_DOCUMENT_BYTES,
    MAX_SMALL_BYTES,
    PROOFS,
    TIMESTAMP,
    PackageFiles,
    Unreadable,
    name_problem,
    parse_json,
)
from presswatch.verify_package.result import (
    MAX_ENTRIES,
    MAX_LEAF_BYTES,
    MAX_PROOF_HASHES,
    Result,
    sha256_hex,
    short,
)

# -- 2. the WACZ -------------------------------------------------------------------------


def check_wacz(files: PackageFiles, result: Result) -> None:
    """Every member against datapackage.json, and datapackage.json against its digest."""
    datapackage_bytes = files.read_small(DATAPACKAGE, MAX_DOCUMENT_BYTES)
    if datapackage_bytes is None:
        raise Unreadable("no datapackage.json: not a WACZ package")
    digest = parse_json(files.read_small(DIGEST, MAX_SMALL_BYTES) or b"null", DIGEST)
    expected = digest.get("hash") if isinstance(digest, dict) else None
    if not (isinstance(digest, dict) and digest.get("path") == DATAPACKAGE and expected):
        result.fail(
            "member-digest", DIGEST, 'missing, or not {"path": "datapackage.json", "hash": …}'
        )
    elif expected != "sha256:" + sha256_hex(datapackage_bytes):
        result.fail("member-digest", DATAPACKAGE, "its sha256 differs from datapackage-digest.json")
    datapackage = parse_json(datapackage_bytes, DATAPACKAGE)
    resources = datapackage.get("resources") if isinstance(datapackage, dict) else None
    if not isinstance(resources, list):
        result.fail("manifest-shape", DATAPACKAGE, "not a data package: no list of resources")
        return
    listed: set[str] = set()
    for res in resources[:MAX_ENTRIES]:
        path = res.get("path") if isinstance(res, dict) else None
        if not isinstance(path, str):
            result.fail("manifest-shape", DATAPACKAGE, f"a resource without a path: {short(res)}")
            continue
        if (problem := name_problem(path)) is not None:
            result.fail("unsafe-name", path, f"listed in datapackage.json: {problem}")
            continue
        if path in listed:
            result.fail("duplicate-member", path, "listed twice in datapackage.json")
            continue
        listed.add(path)
        if path not in files.names:
            result.fail("listed-missing", path, "listed in datapackage.json but not in the package")
            continue
        sha = hashlib.sha256()
        size = 0
        try:
            for chunk in files.iter_member(path):
                sha.update(chunk)
                size += len(chunk)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            result.fail("member-digest", path, f"unreadable in the zip (altered?): {exc}")
            continue
        if res.get("hash") != "sha256:" + sha.hexdigest():
            result.fail(
                "member-digest", path, "its sha256 differs from the one in datapackage.json"
            )
        if res.get("bytes") != size:
            result.fail(
                "member-digest", path, f"{size} bytes, datapackage.json says {res.get('bytes')}"
            )
    for path in sorted(files.names - listed - {DATAPACKAGE, DIGEST}):
        result.fail("unlisted-member", path, "in the package but not listed in datapackage.json")


# -- 3. checkpoint and key ---------------------------------------------------------------


def check_checkpoint(
    files: PackageFiles,
    key_text: str | None,
    tsa_roots: Sequence[Any] | None,
    result: Result,
) -> tuple[int, bytes] | None:
    note_bytes = files.read_small(CHECKPOINT, MAX_SMALL_BYTES)
    if note_bytes is None:
        result.fail("checkpoint-missing", CHECKPOINT, "missing")
        return None
    try:
        note = note_bytes.decode("utf-8")
        checkpoint = parse_checkpoint(note)
    except (UnicodeDecodeError, NoteError) as exc:
        result.fail("bad-signature", CHECKPOINT, f"not a signed checkpoint note: {exc}")
        return None
    result.origin = checkpoint.origin
    result.tree_size = checkpoint.tree_size
    result.root_hash = checkpoint.root_hash.hex()
    packaged_text = files.read_small(KEY, MAX_SMALL_BYTES)
    packaged: str | None = None
    if packaged_text is not None:
        try:
            packaged = read_key_file(packaged_text.decode("utf-8"), checkpoint.origin)
        except (UnicodeDecodeError, NoteError) as exc:
            result.fail("packaged-key", KEY, f"not a verifier key: {exc}")
    if key_text is not None:
        try:
            key = read_key_file(key_text, checkpoint.origin)
        except NoteError as exc:
            raise Unreadable(f"--public-key: {exc}") from exc
        result.key_given = True
    elif packaged is not None:
        key = packaged
        result.warnings.append(
            "no --public-key given: the checkpoint was checked with the key inside the "
            "package, which proves only that the package is self-consistent; compare "
            f"{key_name(key)} with the key the operator published"
        )
    else:
        result.fail(
            "packaged-key", KEY, "no public key in the package and none given (--public-key)"
        )
        return None
    result.key = key
    try:
        verify_note(note, key)
    except NotSignedBy as exc:
        if packaged is not None and packaged != key and _signs(note, packaged):
            result.fail(
                "other-key",
                CHECKPOINT,
                f"signed by another key: {key_name(packaged)}, not the key given "
                f"({key_name(key)}); the rest was checked with the package's key: the "
                "package is self-consistent but not from the log whose key you gave",
            )
            result.key = packaged
        else:
            result.fail(
                "other-key",
                CHECKPOINT,
                f"{exc}: the package is not from the log whose key you gave (its signature "
                "could not be checked with any key at hand)",
            )
            result.key = None  # no key verified the checkpoint
    except NoteError as exc:
        result.fail("bad-signature", CHECKPOINT, f"signature check failed: {exc}")
    else:
        if packaged is not None and packaged != key:
            result.fail(
                "packaged-key",
                KEY,
                f"the package's key {key_name(packaged)} is not the key given, which "
                "signed the checkpoint: the package's key file was altered",
            )
    token = files.read_small(TIMESTAMP, 1 << 20)
    if token is not None:
        _check_timestamp(token, note_bytes, tsa_roots, result)
    return checkpoint.tree_size, checkpoint.root_hash


def check_manifest_log(
    files: PackageFiles,
    manifest_name: str,
    log: dict[str, Any],
    key_text: str | None,
    tsa_roots: Sequence[Any] | None,
    result: Result,
) -> tuple[int, bytes] | None:
    """The signed checkpoint, and whether the manifest's `log` names its tree size and
    root hash: one check for evidence and case packages alike."""
    head = check_checkpoint(files, key_text, tsa_roots, result)
    if head is not None and (
        log.get("tree_size") != head[0] or log.get("root_hash") != head[1].hex()
    ):
        result.fail(
            "checkpoint-mismatch",
            manifest_name,
            "its log tree size or root hash is not the checkpoint's",
        )
    return head


def _signs(note: str, key: str) -> bool:
    try:
        verify_note(note, key)
    except NoteError:
        return False
    return True


def key_name(key: str) -> str:
    """name+keyid of a verifier key (its base64 part says nothing more to a reader)."""
    return "+".join(key.split("+", 2)[:2])


def _check_timestamp(
    token: bytes, note: bytes, roots: Sequence[Any] | None, result: Result
) -> None:
    try:
        info = verify_token(token, note)
    except TimestampError as exc:
        result.fail("timestamp", TIMESTAMP, f"RFC 3161 timestamp of the checkpoint: {exc}")
        return
    stamp = {
        "time": info.gen_time.isoformat(),
        "tsa": info.tsa_subject,
        "issuer": info.tsa_issuer,
        "fingerprint_sha256": info.tsa_fingerprint,
        "trusted": False,
    }
    result.timestamp = stamp
    if roots is None:
        result.warnings.append(
            "the checkpoint's RFC 3161 timestamp was not checked against a trusted TSA "
            "root (give --tsa-ca FILE): anyone can make a certificate with any name"
        )
        return
    try:
        verify_token(token, note, trust_roots=roots)
    except TimestampError as exc:
        result.fail("timestamp-untrusted", TIMESTAMP, f"RFC 3161 timestamp: {exc}")
        return
    stamp["trusted"] = True


# -- 4. leaves and proofs ----------------------------------------------------------------


def check_proofs(
    proofs_doc: Any, head: tuple[int, bytes] | None, result: Result
) -> dict[int, dict[str, Any]]:
    """Each capture's parsed leaf whose hash and inclusion proof hold."""
    leaves: dict[int, dict[str, Any]] = {}
    if not isinstance(proofs_doc, dict) or not isinstance(proofs_doc.get("proofs"), list):
        result.fail("manifest-shape", PROOFS, "not a JSON object with a list of proofs")
        return leaves
    if head is not None and (
        proofs_doc.get("tree_size") != head[0] or proofs_doc.get("root_hash") != head[1].hex()
    ):
        result.fail(
            "checkpoint-mismatch", PROOFS, "its tree size or root hash is not the checkpoint's"
        )
    for entry in proofs_doc["proofs"][:MAX_ENTRIES]:
        cid = entry.get("capture_id") if isinstance(entry, dict) else None
        where = f"capture {cid}"
        leaf_text = entry.get("leaf") if isinstance(entry, dict) else None
        if not isinstance(cid, int) or isinstance(cid, bool) or not isinstance(leaf_text, str):
            result.fail("manifest-shape", PROOFS, f"malformed proof entry {short(entry)}")
            continue
        if cid in leaves:
            result.fail("duplicate-capture", where, "two proofs in evidence/proofs.json")
            continue
        data = leaf_text.encode("utf-8")
        if len(data) > MAX_LEAF_BYTES:
            result.fail("leaf-malformed", where, f"its leaf is over {MAX_LEAF_BYTES} bytes")
            continue
        digest = leaf_hash(data)
        if digest.hex() != entry.get("leaf_hash"):
            result.fail("leaf-hash", where, "its leaf does not hash to the leaf hash given for it")
            continue
        index = entry.get("leaf_index")
        hashes_hex = entry.get("hashes")
        if not isinstance(index, int) or not isinstance(hashes_hex, list):
            result.fail("manifest-shape", where, "its proof has no leaf index or hash list")
            continue
        if len(hashes_hex) > MAX_PROOF_HASHES:
            result.fail("inclusion-proof", where, f"a proof of more than {MAX_PROOF_HASHES} hashes")
            continue
        try:
            hashes = [bytes.fromhex(h) for h in hashes_hex]
        except (TypeError, ValueError):
            result.fail(
                "inclusion-proof", where, "its inclusion proof holds a hash that is not hex"
            )
            continue
        if head is None:
            continue
        try:
            verify_inclusion(digest, index, head[0], hashes, head[1])
        except ProofError as exc:
            result.fail("inclusion-proof", where, f"inclusion proof of leaf {index}: {exc}")
            continue
        try:
            leaf = parse_json(data, f"the leaf of capture {cid}")
        except Unreadable as exc:
            result.fail("leaf-malformed", where, str(exc))
            continue
        if not isinstance(leaf, dict) or not isinstance(leaf.get("capture"), dict):
            result.fail("leaf-malformed", where, "its leaf has no capture object")
            continue
        if leaf.get("index") != index or leaf["capture"].get("id") != cid:
            result.fail(
                "leaf-mismatch",
                where,
                f"its leaf is leaf {leaf.get('index')} of capture "
                f"{leaf['capture'].get('id')}, the proof says leaf {index} of capture {cid}",
            )
            continue
        leaves[cid] = leaf
    return leaves
