"""Diffs of two versions, computed once and stored (design rule 11), and read back.

Owns the compact form of a ``VersionDiff`` (``encode_diff`` / ``decode_diff``: op kinds
and lengths in code points, no text, so a stored diff costs a few bytes per change and
never a second copy of the article) and its rows (``StoredDiff``): capture stores the
diff of each new version against the one before (``store_pair_diff``), and pages, API,
feed, packages and the command line read it (``pair_diff``).

A stored diff is used only when it was made by the current ``DIFF_ALGORITHM`` and
rebuilds both versions exactly, so it always equals what ``diff_versions`` computes; any
other pair (``diff --from 1 --to 3``, or one stored by an older algorithm) is computed
on demand within the same work budget. Migration 0009 stores the diffs of archives
recorded before it. Reading never writes: a page view must not take a write lock.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.content.diff import (
    DIFF_ALGORITHM,
    DiffOp,
    DiffStats,
    FieldChange,
    OpKind,
    VersionDiff,
    VersionSide,
    diff_versions,
)
from archive.content.editclass import judge_edit
from archive.store.db import insert_or_reread
from archive.store.models import ChangeEvent, ChangeKind, StoredDiff, Version
from archive.views.export import event_detail, version_side

__all__ = ["decode_diff", "encode_diff", "pair_diff", "pair_judgement", "store_pair_diff"]

_CODES = {OpKind.EQUAL: "=", OpKind.INSERT: "+", OpKind.DELETE: "-", OpKind.REPLACE: "~"}
_KINDS = {code: kind for kind, code in _CODES.items()}


def _encode_ops(ops: tuple[DiffOp, ...]) -> list[list[Any]]:
    return [[_CODES[op.kind], len(op.old), len(op.new)] for op in ops]


def encode_diff(d: VersionDiff) -> dict[str, Any]:
    """The compact form: what a renderer needs besides the two versions' texts."""
    return {
        "body": _encode_ops(d.body),
        "fields": {f.field: _encode_ops(f.ops) for f in d.fields},
        "stats": [
            d.stats.chars_added,
            d.stats.chars_removed,
            d.stats.words_added,
            d.stats.words_removed,
        ],  # fmt: skip
        "coarse": d.coarse,
    }


class _Mismatch(Exception):
    """The stored ops do not rebuild the texts they are read against."""


def _decode_ops(encoded: Any, old: str, new: str) -> tuple[DiffOp, ...]:
    ops: list[DiffOp] = []
    i = j = 0
    for code, old_len, new_len in encoded:
        kind = _KINDS[code]
        a, b = old[i : i + old_len], new[j : j + new_len]
        if len(a) != old_len or len(b) != new_len or not (a or b):
            raise _Mismatch
        if (kind is OpKind.EQUAL and a != b) or (kind is OpKind.INSERT and a):
            raise _Mismatch
        if (kind is OpKind.DELETE and b) or (kind is OpKind.REPLACE and not (a and b)):
            raise _Mismatch
        ops.append(DiffOp(kind, a, b))
        i, j = i + old_len, j + new_len
    if i != len(old) or j != len(new):
        raise _Mismatch
    return tuple(ops)


def decode_diff(doc: dict[str, Any], old: VersionSide, new: VersionSide) -> VersionDiff | None:
    """The diff ``doc`` stores, read against the two sides; None when it does not fit
    them (another pair, a damaged row): the caller then computes the diff afresh."""
    try:
        fields = []
        for name, encoded in doc["fields"].items():
            a, b = getattr(old, name), getattr(new, name)
            if a == b:
                raise _Mismatch
            fields.append(FieldChange(name, a, b, _decode_ops(encoded, a or "", b or "")))
        changed = {n for n in ("title", "byline", "published", "modified")
                   if getattr(old, n) != getattr(new, n)}  # fmt: skip
        if changed != set(doc["fields"]):
            raise _Mismatch
        order = ("title", "byline", "published", "modified")
        fields.sort(key=lambda f: order.index(f.field))
        body = _decode_ops(doc["body"], old.text, new.text)
        stats = DiffStats(*(int(x) for x in doc["stats"]))
        return VersionDiff(old.label, new.label, tuple(fields), body, stats, bool(doc["coarse"]))
    except (_Mismatch, KeyError, TypeError, ValueError, AttributeError):
        return None


def store_pair_diff(session: Session, old: Version, new: Version) -> VersionDiff:
    """Compute the diff of ``old`` → ``new`` and store it (capture, migration 0009). A row
    another writer stored first for the same pair is kept: same versions, same diff."""
    d = diff_versions(version_side(old), version_side(new))
    row = _row(session, old, new)
    if row is None:

        def insert() -> StoredDiff:
            added = StoredDiff(
                article_id=new.article_id,
                old_version_id=old.id,
                new_version_id=new.id,
                algorithm=DIFF_ALGORITHM,
                ops=encode_diff(d),
            )
            session.add(added)
            session.flush()
            return added

        insert_or_reread(session, insert, lambda: _row(session, old, new))
    elif row.algorithm != DIFF_ALGORITHM:
        row.algorithm, row.ops = DIFF_ALGORITHM, encode_diff(d)
    return d


def pair_diff(
    session: Session, old: Version, new: Version, *, labels: tuple[str, str] | None = None
) -> VersionDiff:
    """The diff of two versions as every reader shows it: the stored one when there is a
    usable one, else computed now (bounded by the diff's work budget, not stored)."""
    old_side = version_side(old, label=labels[0] if labels else None)
    new_side = version_side(new, label=labels[1] if labels else None)
    row = _row(session, old, new)
    if row is not None and row.algorithm == DIFF_ALGORITHM:
        stored = decode_diff(row.ops, old_side, new_side)
        if stored is not None:
            return stored
    return diff_versions(old_side, new_side)


def _row(session: Session, old: Version, new: Version) -> StoredDiff | None:
    return session.scalars(
        select(StoredDiff).where(
            StoredDiff.old_version_id == old.id, StoredDiff.new_version_id == new.id
        )
    ).first()


def pair_judgement(
    session: Session, old: Version, new: Version, body: tuple[DiffOp, ...]
) -> dict[str, Any]:
    """What kind of edit ``old`` → ``new`` is (``{"classes", "significance"}``): the
    judgement capture stored on the edited event between them, else judged now from
    ``body`` (their diff) within the work budget."""
    event = session.scalars(
        select(ChangeEvent)
        .where(
            ChangeEvent.kind == ChangeKind.EDITED,
            ChangeEvent.from_version_id == old.id,
            ChangeEvent.to_version_id == new.id,
        )
        .order_by(ChangeEvent.id)
    ).first()
    detail = event_detail(event) if event is not None else {}
    if "classes" in detail and "significance" in detail:
        return {"classes": detail["classes"], "significance": detail["significance"]}
    return judge_edit(version_side(old), version_side(new), body=body)
