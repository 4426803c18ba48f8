"""Diffs between two versions of an article: what changed, and how much.

This module owns how two texts are aligned (lines, then sentences, then tokens, under a
work budget), how much changed (``DiffStats``), and which parts of a version changed
(title, body, byline, dates): the ``VersionDiff`` that capture stores and every
rendering shows. Texts are cut into tokens by `archive.content.tokens`; the renderings
are `archive.content.diff_unified`, `archive.content.diff_json` and
`archive.content.diff_html`.

It is pure: values in, values out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise
from typing import TYPE_CHECKING

from archive.content.align import Budget, align
from archive.content.tokens import is_space, tokenize

if TYPE_CHECKING:
    from archive.content.image_entries import ArticleImage

__all__ = [
    "DIFF_ALGORITHM",
    "DiffOp",
    "DiffStats",
    "FieldChange",
    "OpKind",
    "VersionDiff",
    "VersionSide",
    "diff_stats",
    "joined_diff_stats",
    "diff_text",
    "diff_versions",
]


# Names what diff_versions computes. Change it whenever the same two texts may give other
# ops (the levels, the budget, the fallback): diffs stored under another name are then
# computed again where they are read, so a stored diff always equals a fresh one (an
# evidence package's verifier recomputes it).
DIFF_ALGORITHM = "budgeted-1"


class OpKind(StrEnum):
    EQUAL = "equal"
    INSERT = "insert"
    DELETE = "delete"
    REPLACE = "replace"


@dataclass(frozen=True, slots=True)
class DiffOp:
    """One step from old to new text: ``old`` is "" for an insert, ``new`` "" for a delete,
    and both are the same text for an equal."""

    kind: OpKind
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class DiffStats:
    """How much changed. Chars are code points; words are non-whitespace tokens, so in
    Khmer, Thai or CJK text they count grapheme clusters, and a punctuation mark counts
    as one."""

    chars_added: int
    chars_removed: int
    words_added: int
    words_removed: int


@dataclass(frozen=True, slots=True)
class VersionSide:
    """What a diff needs from one version; ``label`` names it, e.g. "v1 (2026-01-02 10:00 UTC)"."""

    title: str | None
    byline: str | None
    published: str | None
    modified: str | None
    text: str
    label: str
    # The version's images (archive.content.images); None when unknown. Only the edit
    # classes read them (`images_changed`); the text diff never does.
    images: tuple[ArticleImage, ...] | None = None


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    old: str | None
    new: str | None
    ops: tuple[DiffOp, ...]


@dataclass(frozen=True, slots=True)
class VersionDiff:
    """Two versions compared. ``fields`` holds only the metadata that changed; ``stats``
    measures the body, which is what "how much was edited" means to a reader."""

    old_label: str
    new_label: str
    fields: tuple[FieldChange, ...]
    body: tuple[DiffOp, ...]
    stats: DiffStats
    # True when a work budget ran out: some region is shown as a coarser replacement
    # than a person would mark (see archive.content.align). Still exact: the ops rebuild both.
    coarse: bool = False

    @property
    def changed_parts(self) -> tuple[str, ...]:
        names = {f.field for f in self.fields}
        present = {
            "title": "title" in names,
            "body": any(op.kind is not OpKind.EQUAL for op in self.body),
            "byline": "byline" in names,
            "dates": bool(names & {"published", "modified"}),
        }
        return tuple(part for part, changed in present.items() if changed)


# --- alignment --------------------------------------------------------------------------

# The characters str.splitlines() breaks on; all of them are also str.isspace().
_LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")
_SENTENCE_ENDS = frozenset([".", "!", "?", "។", "៕", "။", "。", "！", "？", "…"])

# Past this many token pairs a block with nothing in common at the line or sentence level
# reads better as one replacement than as a comb of word edits.
_MAX_TOKEN_CELLS = 2_000_000

# While aligning, a step is (equal, old tokens, new tokens); tokens become text at the end.
_Chunk = tuple[bool, list[str], list[str]]


def _make(old: str, new: str, equal: bool) -> DiffOp:
    if equal:
        return DiffOp(OpKind.EQUAL, old, old)
    if not old:
        return DiffOp(OpKind.INSERT, "", new)
    return DiffOp(OpKind.DELETE, old, "") if not new else DiffOp(OpKind.REPLACE, old, new)


def _ends_line(token: str) -> bool:
    return not _LINE_BREAKS.isdisjoint(token)


def _line_cuts(tokens: Sequence[str]) -> list[int]:
    isdisjoint = _LINE_BREAKS.isdisjoint
    return [i + 1 for i, token in enumerate(tokens) if not isdisjoint(token)]


def _sentence_cuts(tokens: Sequence[str]) -> list[int]:
    return [i + 1 for i, token in enumerate(tokens) if token in _SENTENCE_ENDS]


# Coarse to fine: lines (paragraphs), then sentences, then tokens. Each finer level runs
# only inside blocks the coarser one found replaced, which keeps long texts fast; all of
# them draw on one work budget (archive.content.align), so no text can make a diff slow. A level
# is given as where its units end (after which tokens).
_LEVELS: tuple[Callable[[Sequence[str]], list[int]], ...] = (_line_cuts, _sentence_cuts)


def _bounds(tokens: Sequence[str], cuts: list[int]) -> list[int]:
    """Where each unit starts, and where the last ends: unit k is tokens[b[k]:b[k + 1]]."""
    bounds = [0, *cuts]
    if bounds[-1] < len(tokens):
        bounds.append(len(tokens))
    return bounds


def _diff_tokens(a: list[str], b: list[str], budget: Budget) -> Iterator[_Chunk]:
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    yield True, a[:head], a[:head]
    mid_a, mid_b = a[head : len(a) - tail], b[head : len(b) - tail]
    if len(mid_a) * len(mid_b) > _MAX_TOKEN_CELLS:
        yield False, mid_a, mid_b
    else:
        # Out of budget, the block is one replacement: a walk over tokens would pair
        # the spaces and punctuation of unrelated sentences.
        for tag, i1, i2, j1, j2 in align(mid_a, mid_b, budget, fallback=False):
            yield tag == "equal", mid_a[i1:i2], mid_b[j1:j2]
    yield True, a[len(a) - tail :], a[len(a) - tail :]


def _diff_level(a: list[str], b: list[str], level: int, budget: Budget) -> Iterator[_Chunk]:
    if level == len(_LEVELS):
        yield from _diff_tokens(a, b, budget)
        return
    cuts = _LEVELS[level]
    bounds_a, bounds_b = _bounds(a, cuts(a)), _bounds(b, cuts(b))
    keys_a = ["".join(a[start:end]) for start, end in pairwise(bounds_a)]
    keys_b = ["".join(b[start:end]) for start, end in pairwise(bounds_b)]
    for tag, i1, i2, j1, j2 in align(keys_a, keys_b, budget):
        sub_a, sub_b = a[bounds_a[i1] : bounds_a[i2]], b[bounds_b[j1] : bounds_b[j2]]
        if tag == "replace":
            yield from _diff_level(sub_a, sub_b, level + 1, budget)
        else:
            yield tag == "equal", sub_a, sub_b


def _is_gap(tokens: list[str]) -> bool:
    return all(is_space(t) and not _ends_line(t) for t in tokens)


def _alternate(chunks: Iterable[_Chunk]) -> list[_Chunk]:
    """Drop empty steps and fuse neighbours, so equal and changed steps alternate. A gap
    of spaces between two changes is fused too: a rewritten phrase then reads as one
    replacement instead of a comb of one-word edits. A gap with a line break stays, as it
    keeps paragraphs aligned side by side."""
    out: list[_Chunk] = []
    # Fused steps grow in place: copying them at each fusion would cost a text of many
    # small changes its length squared.
    for equal, a, b in chunks:
        if not (a or b):
            continue
        if out and out[-1][0] == equal:
            out[-1][1].extend(a)
            out[-1][2].extend(b)
        elif not equal and len(out) >= 2 and _is_gap(out[-1][1]):
            gap = out.pop()[1]
            _, prev_a, prev_b = out[-1]
            prev_a += gap + a
            prev_b += gap + b
        else:
            out.append((equal, list(a), list(b)))
    return out


def _line_score(seq: list[str], start: int, n: int) -> int:
    starts_line = start == 0 or _ends_line(seq[start - 1])
    return 2 * _ends_line(seq[start + n - 1]) + starts_line


def _slide_to_lines(chunks: list[_Chunk]) -> None:
    """Move each pure insert or delete to where it covers whole lines, if it can.

    SequenceMatcher may report a removed paragraph as ".\\nRemoved paragraph" rather than
    "Removed paragraph.\\n"; both are correct, but only the second reads as a removed line.
    An insert or delete between two equal steps can slide while its first token repeats
    after it (or its last before it); among those places, prefer one ending a line and
    starting one, else keep SequenceMatcher's."""
    for i in range(1, len(chunks) - 1):
        equal, a, b = chunks[i]
        if equal or (a and b):
            continue
        change = a or b
        n = len(change)
        seq = chunks[i - 1][1] + change + chunks[i + 1][1]

        start = len(chunks[i - 1][1])
        while start > 0 and seq[start - 1] == seq[start - 1 + n]:
            start -= 1
        best = len(chunks[i - 1][1])
        while True:
            if _line_score(seq, start, n) > _line_score(seq, best, n):
                best = start
            if start + n >= len(seq) or seq[start] != seq[start + n]:
                break
            start += 1
        moved = seq[best : best + n]
        chunks[i - 1] = (True, seq[:best], seq[:best])
        chunks[i] = (False, moved, []) if a else (False, [], moved)
        chunks[i + 1] = (True, seq[best + n :], seq[best + n :])


def diff_text(old: str, new: str, *, budget: Budget | None = None) -> tuple[DiffOp, ...]:
    """Align two texts; equal and changed ops alternate and never split a token.

    The work is bounded by ``budget`` (a fresh ``archive.content.align.Budget`` unless given):
    once it is spent, the rest is aligned in linear time, more coarsely, and
    ``budget.exhausted`` says so."""
    budget = Budget() if budget is None else budget
    chunks = _alternate(_diff_level(tokenize(old), tokenize(new), 0, budget))
    _slide_to_lines(chunks)
    return tuple(_make("".join(a), "".join(b), eq) for eq, a, b in _alternate(chunks))


def diff_stats(ops: Iterable[DiffOp]) -> DiffStats:
    """Characters and words added and removed. Words are counted per changed piece:
    joined, "buildings" + "continuing a" read as two words ("buildingscontinuing a")."""
    ops = tuple(ops)
    added = [op.new for op in ops if op.kind in (OpKind.INSERT, OpKind.REPLACE)]
    removed = [op.old for op in ops if op.kind in (OpKind.DELETE, OpKind.REPLACE)]
    return DiffStats(
        sum(map(len, added)),
        sum(map(len, removed)),
        sum(map(_count_words, added)),
        sum(map(_count_words, removed)),
    )


def joined_diff_stats(ops: Iterable[DiffOp]) -> DiffStats:
    """The counts diffs carried until 2026-12-07, words of adjacent changes joined
    before counting: evidence packages made then still carry them, and a verifier
    accepts either (docs/evidence.md)."""
    ops = tuple(ops)
    added = "".join(op.new for op in ops if op.kind in (OpKind.INSERT, OpKind.REPLACE))
    removed = "".join(op.old for op in ops if op.kind in (OpKind.DELETE, OpKind.REPLACE))
    return DiffStats(len(added), len(removed), _count_words(added), _count_words(removed))


def _count_words(text: str) -> int:
    return sum(1 for token in tokenize(text) if not is_space(token))


_FIELDS = ("title", "byline", "published", "modified")


def diff_versions(old: VersionSide, new: VersionSide) -> VersionDiff:
    """The two versions compared; each text (body and every changed field) within its
    own work budget, so one diff costs at most five budgets and linear passes."""
    budgets: list[Budget] = []

    def text_ops(a: str, b: str) -> tuple[DiffOp, ...]:
        budgets.append(Budget())
        return diff_text(a, b, budget=budgets[-1])

    fields = tuple(
        FieldChange(name, a, b, text_ops(a or "", b or ""))
        for name in _FIELDS
        if (a := getattr(old, name)) != (b := getattr(new, name))
    )
    body = text_ops(old.text, new.text)
    coarse = any(b.exhausted for b in budgets)
    return VersionDiff(old.label, new.label, fields, body, diff_stats(body), coarse)
