"""Evidence packages: one article's captures as a WACZ that anyone can verify without
Presswatch's database (`presswatch export evidence`, docs/evidence.md).

Owns what goes into the package beyond the WACZ itself, under `evidence/`:

    evidence/manifest.json    the article, its versions (with their text), the diffs
                              between consecutive versions, its events, and each capture
                              with where its WARC records sit in the package
    evidence/proofs.json      each capture's log leaf (the exact bytes the log hashed)
                              and its RFC 9162 inclusion proof against the checkpoint
    evidence/checkpoint.txt   the signed tree head (C2SP tlog-checkpoint signed note)
    evidence/checkpoint.tsr   its RFC 3161 timestamp token (DER), when it has one
    evidence/log-key.txt      the log's public verifier key, for convenience only: a
                              verifier should be given the key the operator published

The checkpoint is the newest stored one when it covers every capture of the article;
otherwise a new one is signed (and stored) first, so the package never needs a
checkpoint that does not exist. `presswatch.verify_package` checks a package.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from archive.capture.stored_diffs import pair_diff
from archive.content.diff_json import render_json
from archive.errors import StorageError
from archive.formats.packages import capture_page, capture_spans
from archive.formats.wacz import Packed, RecordSpan, WaczSummary, iso_z, pack_records, write_wacz
from archive.log.checkpoints import issue_checkpoint, latest_checkpoint
from archive.log.proofs import capture_proof
from archive.log.signing import Signer, key_id
from archive.store.models import Article, Capture, LogCheckpoint
from archive.store.queries import (
    aliases_of,
    events_of,
    find_article,
    first_response_with_payload,
    source_names,
    versions_of,
)
from archive.views.export import article_json, event_json, version_json

EVIDENCE_FORMAT = "presswatch-evidence/1"
MANIFEST_PATH = "evidence/manifest.json"
PROOFS_PATH = "evidence/proofs.json"
CHECKPOINT_PATH = "evidence/checkpoint.txt"
KEY_PATH = "evidence/log-key.txt"
TIMESTAMP_PATH = "evidence/checkpoint.tsr"


@dataclass(frozen=True, slots=True)
class EvidenceSummary:
    wacz: WaczSummary
    article_id: int
    captures: int
    versions: int
    events: int
    tree_size: int
    checkpoint_issued: bool


def _captures_of(session: Session, article_id: int) -> list[Capture]:
    stmt = select(Capture).where(Capture.article_id == article_id).order_by(Capture.seq)
    return list(session.scalars(stmt))


def diff_label(n: int) -> str:
    """The side label of a packaged diff (a verifier recomputes the diff with it)."""
    return f"v{n}"


def _covering_checkpoint(
    sessions: sessionmaker[Session],
    signer: Signer,
    max_seq: int,
    timestamp: Callable[[bytes], bytes] | None,
) -> tuple[LogCheckpoint, bool]:
    """The newest checkpoint if it covers leaf `max_seq`, else a newly issued one
    (`issue_checkpoint`, as `presswatch checkpoint` makes it)."""
    with sessions() as session:
        newest = latest_checkpoint(session)
        if newest is not None and newest.tree_size >= max_seq:
            session.expunge(newest)
            return newest, False
    issued = issue_checkpoint(sessions, signer, timestamp=timestamp)
    if issued.tree_size < max_seq:
        raise StorageError(f"the log holds {issued.tree_size} leaves but capture {max_seq} exists")
    return issued, True


def image_record_spans(capture: Capture) -> list[tuple[int, RecordSpan]]:
    """(entry index, record) of each image entry of the capture that names a WARC
    record (`Capture.detail["images"]`, which its leaf commits to)."""
    entries = (capture.detail or {}).get("images")
    out = []
    for n, entry in enumerate(entries if isinstance(entries, list) else []):
        where = entry.get("warc") if isinstance(entry, dict) else None
        if isinstance(where, dict):
            out.append(
                (n, RecordSpan(str(where["file"]), int(where["offset"]), int(where["length"])))
            )
    return out


def _record_json(packed: Packed, span: RecordSpan | None) -> dict[str, Any] | None:
    if span is None:
        return None
    where = packed.spans[span]
    return {"path": f"archive/{where.file}", "offset": where.offset, "length": where.length}


def export_evidence(
    sessions: sessionmaker[Session],
    warc_dir: Path,
    out: Path,
    *,
    url_or_id: str,
    signer: Signer,
    timestamp: Callable[[bytes], bytes] | None = None,
) -> EvidenceSummary:
    """Write the evidence package of one article (by id or any of its URLs) at `out`.
    `timestamp` (an RFC 3161 client) stamps a checkpoint the export has to sign."""
    with sessions() as session:
        max_seq = _article_max_seq(session, find_article(session, url_or_id))
    checkpoint, issued = _covering_checkpoint(sessions, signer, max_seq, timestamp)
    with sessions() as session:
        article = find_article(session, url_or_id)
        captures = _captures_of(session, article.id)
        versions = versions_of(session, article.id)
        events = events_of(session, article.id)
        numbers = {v.id: v.n for v in versions}

        # Revisits carry their payload by reference: the response they refer to comes
        # along (and is proven) even when another article's capture holds it.
        referenced: list[Capture] = []
        ids = {c.id for c in captures}
        for capture in captures:
            if capture.warc_type == "revisit" and capture.payload_sha256:
                original = first_response_with_payload(session, capture.payload_sha256)
                if original is not None and original.id not in ids:
                    ids.add(original.id)
                    referenced.append(original)

        spans: dict[int, list[RecordSpan]] = {
            c.id: capture_spans(warc_dir, c) for c in [*captures, *referenced]
        }
        # The records of each capture's images, by their entry (packed once each: a
        # 304's entry names the earlier record of its bytes).
        image_spans = {c.id: image_record_spans(c) for c in captures}
        proofs = []
        leaf_proofs = []
        for capture in [*captures, *referenced]:
            proof = capture_proof(session, capture)
            leaf_proofs.append(proof)
            if proof.tree_size != checkpoint.tree_size or proof.root_hash != checkpoint.root_hash:
                raise StorageError(
                    "a newer checkpoint was signed while the package was being written; "
                    "run the export again"
                )
            proofs.append(
                {
                    "capture_id": proof.capture_id,
                    "leaf_index": proof.leaf_index,
                    "leaf_hash": proof.leaf_hash,
                    "leaf": proof.leaf,
                    "hashes": list(proof.hashes),
                }
            )

        with tempfile.TemporaryDirectory(prefix="presswatch-evidence-", dir=out.parent) as work:
            packed = pack_records(
                warc_dir,
                [
                    *(s for group in spans.values() for s in group),
                    *(s for group in image_spans.values() for _, s in group),
                ],
                Path(work),
            )

            def capture_json(capture: Capture, role: str) -> dict[str, Any]:
                group = spans[capture.id]
                return {
                    "id": capture.id,
                    "role": role,
                    "leaf_index": capture.seq - 1,
                    "fetched_at": iso_z(capture.fetched_at),
                    "requested_url": capture.requested_url,
                    "final_url": capture.final_url,
                    "status": capture.status,
                    "outcome": capture.outcome,
                    "warc_type": capture.warc_type,
                    "record": _record_json(packed, group[0] if group else None),
                    "request": _record_json(packed, group[1] if len(group) > 1 else None),
                }

            def article_capture_json(capture: Capture) -> dict[str, Any]:
                out = capture_json(capture, "article")
                if image_spans[capture.id]:
                    out["images"] = [
                        {"index": n, **(_record_json(packed, span) or {})}
                        for n, span in image_spans[capture.id]
                    ]
                return out

            diffs = [
                {
                    "from": old.n,
                    "to": new.n,
                    # The stored diff, which equals what diff_versions gives (the
                    # verifier recomputes it that way): stored_diffs uses a row only
                    # when it was made by the current algorithm.
                    "diff": render_json(
                        pair_diff(session, old, new, labels=(diff_label(old.n), diff_label(new.n)))
                    ),
                }
                for old, new in zip(versions, versions[1:], strict=False)
            ]
            source = source_names(session).get(article.source_id, "?")
            manifest = {
                "format": EVIDENCE_FORMAT,
                "created": iso_z(datetime.now(UTC)),
                "article": {
                    **article_json(article, source),
                    "urls": [u.url for u in aliases_of(session, article.id)],
                },
                "versions": [{"id": v.id, **version_json(v, with_text=True)} for v in versions],
                "events": [{"id": e.id, **event_json(e, numbers)} for e in events],
                "diffs": diffs,
                "captures": [
                    *(article_capture_json(c) for c in captures),
                    *(capture_json(c, "revisit_original") for c in referenced),
                ],
                "log": {
                    "origin": signer.name,
                    "tree_size": checkpoint.tree_size,
                    "root_hash": checkpoint.root_hash,
                    "checkpoint": CHECKPOINT_PATH,
                    "timestamp": TIMESTAMP_PATH if checkpoint.tsa_token else None,
                    "key_id": key_id(signer.name, signer.public).hex(),
                    "proofs": PROOFS_PATH,
                },
            }
            proofs_doc = {
                "tree_size": checkpoint.tree_size,
                "root_hash": checkpoint.root_hash,
                "proofs": proofs,
            }
            seen_titles = {proof.capture_id: _seen_title(proof.leaf) for proof in leaf_proofs}
            pages = [
                page
                for c in captures
                if (page := capture_page(c, seen_titles.get(c.id))) is not None
            ]
            extra = {
                MANIFEST_PATH: _json_bytes(manifest),
                PROOFS_PATH: _json_bytes(proofs_doc),
                CHECKPOINT_PATH: checkpoint.note.encode("utf-8"),
                KEY_PATH: (signer.verifier_key + "\n").encode("ascii"),
            }
            if checkpoint.tsa_token:
                extra[TIMESTAMP_PATH] = checkpoint.tsa_token
            summary = write_wacz(
                out,
                packed,
                pages=pages,
                extra=extra,
                title=f"Evidence: {article.fetch_url}",
                description=(
                    f"Presswatch evidence package of article {article.id}: {len(captures)} "
                    f"captures, {len(versions)} versions, {len(events)} events, proven "
                    f"against the signed log checkpoint of {checkpoint.tree_size} leaves."
                ),
                main_page=pages[-1] if pages else None,
            )
    return EvidenceSummary(
        wacz=summary,
        article_id=article.id,
        captures=len(captures),
        versions=len(versions),
        events=len(events),
        tree_size=checkpoint.tree_size,
        checkpoint_issued=issued,
    )


def _article_max_seq(session: Session, article: Article) -> int:
    captures = _captures_of(session, article.id)
    if not captures:
        raise StorageError(f"article {article.id} has no capture: nothing to package")
    seqs = [c.seq for c in captures]
    for capture in captures:
        if capture.warc_type == "revisit" and capture.payload_sha256:
            original = first_response_with_payload(session, capture.payload_sha256)
            if original is not None:
                seqs.append(original.seq)
    return max(seqs)


def _seen_title(leaf: str | None) -> str | None:
    """A page's title: its version's, only when the capture showed that version (a
    "page not found" or a bot-block page keeps the article's version but is not it)."""
    version = json.loads(leaf).get("version") if leaf else None
    return version.get("title") if isinstance(version, dict) and version.get("seen") else None


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
