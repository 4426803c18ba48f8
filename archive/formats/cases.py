"""A case file's evidence package (`presswatch export case NAME -o case.wacz`): one WACZ
that anyone can verify without Presswatch's database (docs/evidence.md, "Case
packages").

    archive/…, indexes/, pages/   every article's WARC records, replayable as any WACZ
    case/manifest.json            the case: its articles (with tags), notes (with their
                                  text) and every audit entry about it
    case/proofs.json              each audit entry's log leaf and inclusion proof
    case/article-N.wacz           article N's own evidence package (archive.formats.evidence)
    evidence/checkpoint.txt       the signed checkpoint everything is proven against
    evidence/log-key.txt          the log's verifier key (convenience only)

The audit entries are leaves of the same log as the captures (archive.log.audit): a
note's entry commits to its text's SHA-256, an article's `case.add` entry to its id,
so a note or a list of articles changed in the package fails
`python -m presswatch.verify_package`. The export itself is recorded first (a
`case.export` entry), then one checkpoint is signed covering it, and every part is
proven against that checkpoint.

Must not: write outside `out` (and a temporary folder beside it).
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

from archive.accounts import (
    Actor,
    Role,
    audit_json,
    case_articles,
    case_by_name,
    case_json,
    list_audit,
    record_audit,
)
from archive.errors import StorageError
from archive.formats.evidence import CHECKPOINT_PATH, KEY_PATH, export_evidence
from archive.formats.packages import capture_spans
from archive.formats.wacz import iso_z, pack_records, write_wacz
from archive.log import audit_proof, issue_checkpoint
from archive.log.signing import Signer, key_id
from archive.store import Capture

CASE_FORMAT = "presswatch-case/1"
CASE_MANIFEST_PATH = "case/manifest.json"
CASE_PROOFS_PATH = "case/proofs.json"


def article_package_path(article_id: int) -> str:
    return f"case/article-{article_id}.wacz"


@dataclass(frozen=True, slots=True)
class CaseSummary:
    path: Path
    articles: int
    notes: int
    audit_entries: int
    tree_size: int


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def export_case_package(
    sessions: sessionmaker[Session],
    warc_dir: Path,
    out: Path,
    *,
    name: str,
    actor: Actor,
    signer: Signer,
    now: datetime,
    timestamp: Callable[[bytes], bytes] | None = None,
) -> CaseSummary:
    actor.require(Role.EDITOR)
    with sessions.begin() as session:
        case = case_by_name(session, name)
        ids = [a.id for _m, a in case_articles(session, case)]
        if not ids:
            raise StorageError(f"case {name!r} has no article: nothing to package")
        record_audit(
            session, actor, "case.export", "case", name, now=now, detail={"article_ids": ids}
        )
    checkpoint = issue_checkpoint(sessions, signer, timestamp=timestamp)
    with tempfile.TemporaryDirectory(prefix="presswatch-case-", dir=out.parent) as work:
        workdir = Path(work)
        nested: dict[str, bytes] = {}
        for article_id in ids:
            path = workdir / f"article-{article_id}.wacz"
            summary = export_evidence(
                sessions, warc_dir, path, url_or_id=str(article_id), signer=signer
            )
            if summary.tree_size != checkpoint.tree_size:
                raise StorageError(
                    "a newer checkpoint was signed while the package was being written; "
                    "run the export again"
                )
            nested[article_package_path(article_id)] = path.read_bytes()
        with sessions() as session:
            case = case_by_name(session, name)
            members = case_articles(session, case)
            audit = [e for e in list_audit(session, object_kind="case", object_id=name)]
            audit = [e for e in audit if e.seq <= checkpoint.tree_size]
            proofs = [
                audit_proof(session, e, checkpoint.tree_size, checkpoint.root_hash) for e in audit
            ]
            data = case_json(session, case)
            captures = list(
                session.scalars(
                    select(Capture).where(Capture.article_id.in_(ids)).order_by(Capture.seq)
                )
            )
            spans = [s for c in captures for s in capture_spans(warc_dir, c)]
            packed = pack_records(warc_dir, spans, workdir)
            manifest = {
                "format": CASE_FORMAT,
                "created": iso_z(datetime.now(UTC)),
                "case": {k: data[k] for k in ("name", "created_at", "created_by")},
                "articles": [
                    {
                        "article_id": a.id,
                        "url": a.url,
                        "tags": list(m.tags),
                        "added_by": m.added_by,
                        "package": article_package_path(a.id),
                    }
                    for m, a in members
                ],
                "notes": data["notes"],
                "audit": [audit_json(e) for e in audit],
                "log": {
                    "origin": signer.name,
                    "tree_size": checkpoint.tree_size,
                    "root_hash": checkpoint.root_hash,
                    "key_id": key_id(signer.name, signer.public).hex(),
                    "checkpoint": CHECKPOINT_PATH,
                    "proofs": CASE_PROOFS_PATH,
                },
            }
        extra = {
            CASE_MANIFEST_PATH: _json_bytes(manifest),
            CASE_PROOFS_PATH: _json_bytes(
                {
                    "tree_size": checkpoint.tree_size,
                    "root_hash": checkpoint.root_hash,
                    "proofs": proofs,
                }
            ),
            CHECKPOINT_PATH: checkpoint.note.encode("utf-8"),
            KEY_PATH: (signer.verifier_key + "\n").encode("ascii"),
            **nested,
        }
        write_wacz(
            out,
            packed,
            pages=[],
            extra=extra,
            title=f"Case: {name}",
            description=(
                f"Presswatch case package {name!r}: {len(ids)} articles, "
                f"{len(manifest['notes'])} notes, {len(audit)} audit entries, proven against "
                f"the signed log checkpoint of {checkpoint.tree_size} leaves."
            ),
        )
    return CaseSummary(out, len(ids), len(manifest["notes"]), len(audit), checkpoint.tree_size)
