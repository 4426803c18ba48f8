"""Checking a case package (archive.formats.cases): the container as any package, the
checkpoint, each audit entry's leaf and inclusion proof, the notes and the list of
articles against the audit leaves that commit to them, and each article's own
evidence package (checked whole, against the same checkpoint)."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from archive.log import ProofError, leaf_hash, verify_inclusion
from presswatch.verify_package.proofs import check_manifest_log, check_wacz
from presswatch.verify_package.reading import (
    CASE_MANIFEST,
    CASE_PROOFS,
    PackageFiles,
    Unreadable,
    parse_json,
)
from presswatch.verify_package.result import Result, obj, objects, short

AUDIT_LEAF_FORMAT = "presswatch-audit-leaf/1"
MAX_ARTICLES = 1000
MAX_NESTED_BYTES = 4 << 30


def _audit_leaves(
    proofs_doc: Any, head: tuple[int, bytes] | None, result: Result
) -> dict[int, dict[str, Any]]:
    """Each audit entry's parsed leaf (`audit` part) whose hash and inclusion proof hold."""
    found: dict[int, dict[str, Any]] = {}
    if not isinstance(proofs_doc, dict) or not isinstance(proofs_doc.get("proofs"), list):
        result.fail("manifest-shape", CASE_PROOFS, "not a JSON object with a list of proofs")
        return found
    for entry in proofs_doc["proofs"][:100_000]:
        entry = obj(entry)
        aid, text, index = entry.get("audit_id"), entry.get("leaf"), entry.get("leaf_index")
        where = f"audit entry {short(aid)}"
        if not isinstance(aid, int) or not isinstance(text, str) or not isinstance(index, int):
            result.fail("manifest-shape", CASE_PROOFS, f"malformed proof entry {short(entry)}")
            continue
        data = text.encode("utf-8")
        digest = leaf_hash(data)
        if digest.hex() != entry.get("leaf_hash"):
            result.fail("leaf-hash", where, "its leaf does not hash to the leaf hash given for it")
            continue
        if head is None:
            continue
        try:
            hashes = [bytes.fromhex(h) for h in entry.get("hashes") or []]
            verify_inclusion(digest, index, head[0], hashes, head[1])
        except (TypeError, ValueError, ProofError) as exc:
            result.fail("inclusion-proof", where, f"inclusion proof of leaf {index}: {exc}")
            continue
        leaf = obj(parse_json(data, f"the leaf of {where}"))
        audit = obj(leaf.get("audit"))
        if (
            leaf.get("format") != AUDIT_LEAF_FORMAT
            or audit.get("id") != aid
            or leaf.get("index") != index
        ):
            result.fail("leaf-mismatch", where, "its leaf is not the audit leaf its proof names")
            continue
        found[aid] = audit
    return found


def _check_manifest(
    manifest: dict[str, Any], leaves: dict[int, dict[str, Any]], result: Result
) -> None:
    name = obj(manifest.get("case")).get("name")
    for entry in objects(manifest.get("audit"), "audit", result):
        leaf = leaves.get(entry.get("id"))  # type: ignore[arg-type]
        where = f"audit entry {short(entry.get('id'))}"
        if leaf is None:
            result.fail("unproven-audit", where, "listed in the manifest without a proven leaf")
            continue
        for key in ("seq", "at", "actor", "action", "object_kind", "object_id", "detail"):
            if entry.get(key) != leaf.get(key) and not (
                key == "at" and str(entry.get(key))[:19] == str(leaf.get(key))[:19]
            ):
                result.fail("audit-mismatch", where, f"{key} is not what its log leaf says")
    for leaf in leaves.values():
        if leaf.get("object_kind") != "case" or leaf.get("object_id") != name:
            result.fail("audit-mismatch", f"audit entry {leaf.get('id')}", "not about this case")
    for note in objects(manifest.get("notes"), "notes", result):
        where = f"note {short(note.get('id'))}"
        leaf = leaves.get(note.get("audit_id"))  # type: ignore[arg-type]
        text = note.get("text")
        if leaf is None or leaf.get("action") != "case.note":
            result.fail("unproven-note", where, "no proven `case.note` audit leaf commits to it")
            continue
        digest = hashlib.sha256(str(text).encode("utf-8")).hexdigest()
        if not isinstance(text, str) or obj(leaf.get("detail")).get("text_sha256") != digest:
            result.fail("note-changed", where, "its text is not the text its audit leaf commits to")
        if note.get("author") != leaf.get("actor"):
            result.fail("note-changed", where, "its author is not the actor of its audit leaf")
    added = {
        obj(leaf.get("detail")).get("article_id")
        for leaf in leaves.values()
        if leaf.get("action") == "case.add"
    }
    for item in objects(manifest.get("articles"), "articles", result):
        if item.get("article_id") not in added:
            result.fail(
                "unproven-article",
                f"article {short(item.get('article_id'))}",
                "no proven `case.add` audit leaf names it",
            )


def verify_case_package(
    files: PackageFiles,
    public_key: str | None,
    tsa_roots: Sequence[Any] | None,
    result: Result,
    verify_article: Callable[..., Result],
) -> None:
    """`verify_article(path, public_key, tsa_roots=…)` checks one article's package (the
    article check, handed in so that the two modules do not import each other)."""
    check_wacz(files, result)
    manifest = obj(files.read_json(CASE_MANIFEST))
    if manifest.get("format") != "presswatch-case/1":
        raise Unreadable(
            f"{CASE_MANIFEST}: format {short(manifest.get('format'))} is not presswatch-case/1"
        )
    log = obj(manifest.get("log"))
    head = check_manifest_log(files, CASE_MANIFEST, log, public_key, tsa_roots, result)
    leaves = _audit_leaves(files.read_json(CASE_PROOFS), head, result)
    _check_manifest(manifest, leaves, result)
    articles = objects(manifest.get("articles"), "articles", result)[:MAX_ARTICLES]
    for item in articles:
        path = item.get("package")
        where = f"article {short(item.get('article_id'))}"
        if not isinstance(path, str) or path not in files.names:
            result.fail(
                "listed-missing", where, f"its package {short(path)} is not in the case package"
            )
            continue
        with tempfile.TemporaryDirectory(prefix="presswatch-verify-") as work:
            nested = Path(work) / "article.wacz"
            with nested.open("wb") as out:
                for chunk in files.iter_member(path):
                    out.write(chunk)
            inner = verify_article(nested, public_key, tsa_roots=tsa_roots)
        for failure in inner.failures:
            result.fail(failure.reason, f"{path}: {failure.where}", failure.problem)
        statement = inner.statement or {}
        if obj(statement.get("article")).get("id") != item.get("article_id"):
            result.fail("article-mismatch", where, "its package proves another article")
        if head is not None and inner.tree_size != head[0]:
            result.fail(
                "checkpoint-mismatch", where, "its package is proven against another checkpoint"
            )
        result.captures += inner.captures
        result.versions += inner.versions
        result.events += inner.events
    if result.ok:
        result.statement = {
            "case": manifest.get("case"),
            "articles": [a.get("article_id") for a in articles],
            "notes": len(objects(manifest.get("notes"), "notes", result)),
            "audit_entries": len(leaves),
            "checkpoint": {
                "origin": result.origin,
                "tree_size": result.tree_size,
                "root_hash": result.root_hash,
            },
            "key_given": result.key_given,
        }
