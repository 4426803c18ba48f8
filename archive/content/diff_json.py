"""A version diff as JSON: the shape the API, the archive commands and evidence packages
hand out (an evidence package's verifier compares it field by field, so it changes
only with care).

Pure: a ``VersionDiff`` in, plain JSON values out.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from archive.content.diff import DiffOp, VersionDiff

__all__ = [
    "render_json",
]


def _op_json(op: DiffOp) -> dict[str, str]:
    return {"op": op.kind.value, "old": op.old, "new": op.new}


def render_json(d: VersionDiff) -> dict[str, Any]:
    return {
        "from": d.old_label,
        "to": d.new_label,
        "changed": list(d.changed_parts),
        "fields": [
            {"field": f.field, "old": f.old, "new": f.new, "ops": [_op_json(o) for o in f.ops]}
            for f in d.fields
        ],
        "body": [_op_json(op) for op in d.body],
        "stats": asdict(d.stats),
    }
