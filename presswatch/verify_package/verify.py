"""The whole check of a package, in order, and the statement it proves."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from presswatch.verify_package.case import verify_case_package
from presswatch.verify_package.claims import (
    check_article,
    check_captures,
    check_diffs,
    check_events,
    check_versions,
)
from presswatch.verify_package.proofs import check_manifest_log, check_proofs, check_wacz, key_name
from presswatch.verify_package.reading import (
    CASE_MANIFEST,
    MANIFEST,
    PROOFS,
    PackageFiles,
    Unreadable,
)
from presswatch.verify_package.records import (
    check_index,
    check_pages,
    check_record_headers,
    check_records,
)
from presswatch.verify_package.result import (
    Result,
    obj,
    objects,
    short,
)


def verify_package(
    path: Path, public_key: str | None = None, *, tsa_roots: Sequence[Any] | None = None
) -> Result:
    """Check the evidence package at `path`. `public_key` is the text of the log's
    published key file (any form `presswatch checkpoint --public-key` prints);
    `tsa_roots` the certificates a timestamp must chain to. Raises Unreadable when
    the package or the key cannot be read at all."""
    result = Result()
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        raise Unreadable(f"{path}: not a readable zip file: {exc}") from exc
    with zf:
        files = PackageFiles(zf)
        if files.refusals:
            # An ambiguous or unsafe package is refused before anything in it is read.
            for refusal in files.refusals:
                result.fail(refusal.reason, refusal.name, refusal.problem)
            return result
        if CASE_MANIFEST in files.names:
            verify_case_package(files, public_key, tsa_roots, result, verify_package)
        else:
            _verify(files, public_key, tsa_roots, result)
    return result


def _verify(
    files: PackageFiles, public_key: str | None, tsa_roots: Sequence[Any] | None, result: Result
) -> None:
    check_wacz(files, result)
    manifest = files.read_json(MANIFEST)
    proofs_doc = files.read_json(PROOFS)
    if manifest is None or proofs_doc is None:
        raise Unreadable(f"no {MANIFEST} or {PROOFS}: not a Presswatch evidence package")
    if not isinstance(manifest, dict):
        result.fail("manifest-shape", MANIFEST, "not a JSON object")
        manifest = {}
    if manifest.get("format") != "presswatch-evidence/1":
        result.fail(
            "manifest-shape",
            MANIFEST,
            f"format {short(manifest.get('format'))} is not presswatch-evidence/1",
        )
    log = obj(manifest.get("log"))
    head = check_manifest_log(files, MANIFEST, log, public_key, tsa_roots, result)
    if result.key and log.get("key_id") != result.key.split("+", 2)[1]:
        result.fail(
            "checkpoint-mismatch",
            MANIFEST,
            f"its log key_id {short(log.get('key_id'))} is not the key's",
        )
    parts = {
        name: objects(manifest.get(name), name, result)
        for name in ("captures", "events", "versions", "diffs")
    }
    leaves = check_proofs(proofs_doc, head, result)
    ours, refs, by_id = check_captures(manifest, parts["captures"], leaves, result)
    for cid in sorted(set(leaves) - set(by_id)):
        result.fail(
            "unused-proof",
            f"capture {cid}",
            "a proof in evidence/proofs.json for no capture of the manifest",
        )
    verified = check_records(files, refs, result)
    check_record_headers(verified, leaves, result)
    check_index(files, verified, result)
    check_pages(files, ours, result)
    check_events(parts["events"], parts["versions"], ours, result)
    texts_ok = check_versions(parts["versions"], ours, result)
    newest = check_article(manifest, ours, result)
    check_diffs(parts["versions"], parts["diffs"], texts_ok, result)
    if newest is not None and result.ok:
        result.statement = _statement(newest, result)


def _statement(
    newest: tuple[int, dict[str, Any], dict[str, Any]], result: Result
) -> dict[str, Any]:
    cid, leaf, state = newest
    return {
        "article": {
            "id": state.get("id"),
            "key": state.get("url"),
            "source_id": state.get("source_id"),
        },
        "state": {
            "status": state.get("status"),
            "removal": state.get("removal"),
            "removed_at": state.get("removed_at"),
            "first_seen": state.get("first_seen"),
        },
        "as_of": {
            "capture_id": cid,
            "leaf_index": leaf.get("index"),
            "fetched_at": leaf["capture"].get("fetched_at"),
        },
        "versions": result.versions,
        "events": result.events,
        "checkpoint": {
            "origin": result.origin,
            "tree_size": result.tree_size,
            "root_hash": result.root_hash,
        },
        "key": key_name(result.key or ""),
        "key_given": result.key_given,
        "timestamp": result.timestamp,
    }
