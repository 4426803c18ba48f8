"""A version diff as unified text, like ``diff -u`` on the body's lines, after the
metadata changes.

Pure, and linear in the diff: the body's line alignment is read off the diff's ops
(`archive.content.diff` computed them), nothing is aligned again per request.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from itertools import accumulate

from archive.content.align import Opcode, from_matches
from archive.content.diff import DiffOp, OpKind, VersionDiff
from archive.errors import BadInput

__all__ = [
    "render_unified",
]


class _Aligned(difflib.SequenceMatcher):  # type: ignore[type-arg]
    """Hands difflib's hunk grouping (``get_grouped_opcodes``) an alignment made under
    a budget, so rendering never asks SequenceMatcher to align anything itself."""

    def __init__(self, opcodes: list[Opcode]) -> None:
        super().__init__(None, "", "")
        self._aligned = opcodes

    def get_opcodes(self) -> list[Opcode]:
        return list(self._aligned)


def _hunk_range(start: int, stop: int) -> str:
    # As diff -u writes it: one line is its number alone; no line is "the line before,0".
    count = stop - start
    return f"{start + 1}" if count == 1 else f"{start + (count > 0)},{count}"


def _line_opcodes(ops: Sequence[DiffOp], old: list[str], new: list[str]) -> list[Opcode]:
    """The body's lines aligned as its ops align them, without aligning anything again
    (a stored diff is rendered in linear time): a line is equal when it lies whole in
    one equal op and starts a line on both sides there; every other line changed."""
    old_starts = list(accumulate((len(line) for line in old), initial=0))
    new_line_at = {pos: k for k, pos in enumerate(accumulate((len(x) for x in new), initial=0))}
    matches: list[tuple[int, int]] = []
    k = 0  # the first old line not yet passed
    o = n = 0  # where the op starts in old and in new
    for op in ops:
        end = o + len(op.old)
        if op.kind is OpKind.EQUAL:
            while k < len(old) and old_starts[k] < o:
                k += 1
            while k < len(old) and old_starts[k + 1] <= end:
                j = new_line_at.get(old_starts[k] - o + n)
                if j is not None and j < len(new) and new[j] == old[k]:
                    matches.append((k, j))
                k += 1
        o, n = end, n + len(op.new)
    return from_matches(matches, len(old), len(new))


def render_unified(
    d: VersionDiff, context_lines: int = 3, words: Callable[[str], str] | None = None
) -> str:
    """Like ``diff -u`` on the body's lines, after the metadata changes. `words` says
    the field names, "(none)" and "no changes" in the reader's language (default as
    they are, in English); the diff's lines are the archive's text."""
    if context_lines < 0:
        raise BadInput(f"context_lines={context_lines}: must be 0 or more")
    say = words or str
    out = [f"--- {d.old_label}\n", f"+++ {d.new_label}\n"]
    for f in d.fields:
        was, now = _or_none(f.old, say), _or_none(f.new, say)
        out.append(f"{say(f.field)}:\n  - {was}\n  + {now}\n")
    old = "".join(op.old for op in d.body).splitlines(keepends=True)
    new = "".join(op.new for op in d.body).splitlines(keepends=True)
    body: list[str] = []
    if old != new:
        lines = _line_opcodes(d.body, old, new)
        for group in _Aligned(lines).get_grouped_opcodes(context_lines):
            (_, i1, _, j1, _), (_, _, i2, _, j2) = group[0], group[-1]
            body.append(f"@@ -{_hunk_range(i1, i2)} +{_hunk_range(j1, j2)} @@\n")
            for tag, a1, a2, b1, b2 in group:
                if tag == "equal":
                    body += (" " + line for line in old[a1:a2])
                    continue
                body += ("-" + line for line in old[a1:a2])
                body += ("+" + line for line in new[b1:b2])
    out += (
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in body
    )
    if not d.changed_parts:
        out.append(say("no changes") + "\n")
    return "".join(out)


def _or_none(value: str | None, say: Callable[[str], str]) -> str:
    return say("(none)") if value is None else value
