"""Diffs between two versions of an article, and their renderings.

This module owns how text is cut into comparable tokens, how two texts are aligned, how
much changed (``DiffStats``), which parts of a version changed (title, body, byline,
dates), and the three renderings researchers and pages use: unified text, JSON and HTML.

It is pure: values in, values out. Archived text is hostile, so every piece of it that
reaches HTML goes through ``html.escape(..., quote=True)``.

Tokens: in space-separated scripts a token is a word, a run of whitespace, or one other
character, so ``"".join(tokenize(t)) == t``. Khmer, Thai, Lao, Myanmar and CJK are not
written with spaces between words, so there each extended grapheme cluster is a token;
a cluster is never split, and a Khmer coeng (U+17D2) or Myanmar virama (U+1039) keeps
the following consonant in its cluster.
"""

from __future__ import annotations

import difflib
import html
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from itertools import accumulate, pairwise, zip_longest
from typing import Any

import regex

from archive.content.align import Budget, Opcode, align, from_matches
from archive.errors import BadInput

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
    "render_html",
    "render_html_inline",
    "render_json",
    "render_unified",
    "tokenize",
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


# --- tokens -----------------------------------------------------------------------------

_GRAPHEME = regex.compile(r"\X")
_CLUSTER_SCRIPT = regex.compile(
    r"[\p{Khmer}\p{Thai}\p{Lao}\p{Myanmar}\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]"
)
_WORD_CHAR = regex.compile(r"\w")
# Stacking signs: the consonant after them is written below the one before, so the pair
# is one visual unit even where a Unicode version's cluster rules would break it.
_STACKERS = frozenset("\u17d2\u1039")
_ZWSP = "\u200b"
# The characters str.splitlines() breaks on; all of them are also str.isspace().
_LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")
_SENTENCE_ENDS = frozenset([".", "!", "?", "។", "៕", "။", "。", "！", "？", "…"])


class _Kind(StrEnum):
    SPACE = "space"
    WORD = "word"
    SINGLE = "single"  # a cluster-script cluster or a punctuation mark: a token by itself


def _is_space(text: str) -> bool:
    # str.strip() drops exactly the characters str.isspace() accepts.
    return not text.replace(_ZWSP, "").strip()


def _clusters(text: str) -> Iterator[str]:
    pending = ""
    for g in _GRAPHEME.findall(text):
        # A mark never starts a unit (Myanmar U+102C is Mc yet not a SpacingMark for \X).
        if pending and (pending[-1] in _STACKERS or unicodedata.category(g[0])[0] == "M"):
            pending += g
            continue
        if pending:
            yield pending
        pending = g
    if pending:
        yield pending


def _kind(cluster: str) -> _Kind:
    if _is_space(cluster):
        return _Kind.SPACE
    if _CLUSTER_SCRIPT.match(cluster) or not _WORD_CHAR.match(cluster):
        return _Kind.SINGLE
    return _Kind.WORD


def tokenize(text: str) -> list[str]:
    """Cut ``text`` into tokens that join back to it exactly (see the module docstring).

    Grapheme clusters are found in Python, a few microseconds a character; ASCII
    stretches, where every character is its own cluster but for CR LF, are cut by one
    regular expression instead. Only the stretches around other characters take the
    cluster path, cut where two ASCII characters meet that are tokens of their own."""
    tokens: list[str] = []
    if text.isascii():
        tokens += _ASCII_TOKEN.findall(text)
        return tokens
    done = 0
    for run in _NON_ASCII.finditer(text):
        start, end = run.span()
        if start < done:  # inside the stretch the run before took
            continue
        while start > done and not _ascii_cut(text, start):
            start -= 1
        while end < len(text) and not _ascii_cut(text, end):
            end += 1
        tokens += _ASCII_TOKEN.findall(text, done, start)
        tokens += _tokenize_clusters(text[start:end])
        done = end
    tokens += _ASCII_TOKEN.findall(text, done)
    return tokens


# ASCII tokens: a run of spaces (str.isspace), a run of word characters (\w), or one
# other character, the same cut _tokenize_clusters makes of ASCII text.
_ASCII_SPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f "
_ASCII_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_ASCII_TOKEN = regex.compile(f"[{regex.escape(_ASCII_SPACE)}]+|[A-Za-z0-9_]+|[\\x00-\\x7f]")
_NON_ASCII = regex.compile(r"[^\x00-\x7f]+")


def _ascii_cut(text: str, at: int) -> bool:
    """Whether a token surely ends before ``text[at]``: the two characters before it and
    itself are ASCII (so ``text[at - 1]`` is a cluster of its own: a Khmer coeng or a
    mark before it would take it into a cluster of another kind), and the two around
    the cut are not two spaces or two word characters (one run)."""
    x, y = text[at - 1], text[at]
    if not (x.isascii() and y.isascii() and (at < 2 or text[at - 2].isascii())):
        return False
    return not (
        (x in _ASCII_SPACE and y in _ASCII_SPACE) or (x in _ASCII_WORD and y in _ASCII_WORD)
    )


def _tokenize_clusters(text: str) -> list[str]:
    tokens: list[str] = []
    run: list[str] = []
    run_kind = _Kind.SINGLE
    for cluster in _clusters(text):
        kind = _kind(cluster)
        if run and (kind is not run_kind or kind is _Kind.SINGLE):
            tokens.append("".join(run))
            run = []
        run.append(cluster)
        run_kind = kind
    if run:
        tokens.append("".join(run))
    return tokens


# --- alignment --------------------------------------------------------------------------

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
    return all(_is_space(t) and not _ends_line(t) for t in tokens)


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
    return sum(1 for token in tokenize(text) if not _is_space(token))


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


# --- renderings -------------------------------------------------------------------------


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


def render_unified(d: VersionDiff, context_lines: int = 3) -> str:
    """Like ``diff -u`` on the body's lines, after the metadata changes."""
    if context_lines < 0:
        raise BadInput(f"context_lines={context_lines}: must be 0 or more")
    out = [f"--- {d.old_label}\n", f"+++ {d.new_label}\n"]
    for f in d.fields:
        out.append(f"{f.field}:\n  - {_or_none(f.old)}\n  + {_or_none(f.new)}\n")
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
        out.append("no changes\n")
    return "".join(out)


def _or_none(value: str | None) -> str:
    return "(none)" if value is None else value


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


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _mark(text: str, tag: str | None) -> str:
    return _esc(text) if tag is None else f'<{tag} class="pw-{tag}">{_esc(text)}</{tag}>'


def _one_side(ops: Iterable[DiffOp], old: bool) -> str:
    tag = "del" if old else "ins"
    parts = (
        _mark(op.old if old else op.new, None if op.kind is OpKind.EQUAL else tag)
        for op in ops
        if (op.old if old else op.new)
    )
    return "".join(parts)


def _inline(ops: Iterable[DiffOp]) -> str:
    parts: list[str] = []
    for op in ops:
        if op.kind is OpKind.EQUAL:
            parts.append(_esc(op.old))
            continue
        if op.old:
            parts.append(_mark(op.old, "del"))
        if op.new:
            parts.append(_mark(op.new, "ins"))
    return "".join(parts)


def _cell(side: str, content: str | None) -> str:
    """A table cell of one side; ``pw-none`` marks one where that side has nothing."""
    if content is None:
        return f'<td class="pw-side-{side} pw-none"></td>'
    return f'<td class="pw-side-{side}">{content}</td>'


def _meta_table(d: VersionDiff) -> str:
    rows = []
    for f in d.fields:
        old = None if f.old is None else _one_side(f.ops, old=True)
        new = None if f.new is None else _one_side(f.ops, old=False)
        rows.append(
            f'<tr><th scope="row">{_esc(f.field)}</th>{_cell("old", old)}{_cell("new", new)}</tr>'
        )
    return (
        '<table class="pw-diff-meta"><thead><tr><th></th>'
        f'<th class="pw-side-old">{_esc(d.old_label)}</th>'
        f'<th class="pw-side-new">{_esc(d.new_label)}</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _aligned_rows(ops: Iterable[DiffOp]) -> list[tuple[str | None, str | None]]:
    """Body lines as (old, new) HTML cells; None where one side has no line there.

    A line break inside an equal op is where both sides are at the same place, so the
    lines gathered since the last such point are paired up there. A line is gathered as
    a list of pieces and joined once: a long line of many changes must not be copied at
    each one."""
    rows: list[tuple[str | None, str | None]] = []
    old: list[list[str]] = [[]]
    new: list[list[str]] = [[]]

    def settle(old_lines: list[list[str]], new_lines: list[list[str]]) -> None:
        rows.extend(zip_longest(("".join(p) for p in old_lines), ("".join(p) for p in new_lines)))

    def feed(side: list[list[str]], text: str, tag: str | None) -> None:
        for i, piece in enumerate(text.split("\n")):
            if i:
                side.append([])
            if piece:
                side[-1].append(_mark(piece, tag))

    for op in ops:
        if op.kind is not OpKind.EQUAL:
            feed(old, op.old, "del")
            feed(new, op.new, "ins")
            continue
        if not old[-1] and not new[-1]:  # both at a line start: earlier lines are settled
            settle(old[:-1], new[:-1])
            old, new = [[]], [[]]
        for i, piece in enumerate(op.old.split("\n")):
            if i:
                settle(old, new)
                old, new = [[]], [[]]
            if piece:
                old[-1].append(_esc(piece))
                new[-1].append(_esc(piece))
    # A last line that is empty and unterminated does not exist.
    settle(old[:-1] if not old[-1] else old, new[:-1] if not new[-1] else new)
    return rows


def _body_table(d: VersionDiff) -> str:
    rows = "".join(
        f'<tr class="{"pw-changed" if a != b else "pw-same"}">'
        f"{_cell('old', a)}{_cell('new', b)}</tr>"
        for a, b in _aligned_rows(d.body)
    )
    return (
        '<table class="pw-diff-body pw-side-by-side"><thead><tr>'
        f'<th class="pw-side-old">{_esc(d.old_label)}</th>'
        f'<th class="pw-side-new">{_esc(d.new_label)}</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def _fragment(d: VersionDiff, body: Callable[[VersionDiff], str]) -> str:
    parts = ['<div class="pw-diff">']
    if not d.changed_parts:
        parts.append(
            f'<p class="pw-nochange">{_esc(d.old_label)} → {_esc(d.new_label)}: no changes</p>'
        )
    if d.fields:
        parts.append(_meta_table(d))
    if "body" in d.changed_parts:
        parts.append(body(d))
    parts.append("</div>")
    return "".join(parts)


def render_html(d: VersionDiff) -> str:
    """An HTML fragment: metadata changes, then the body side by side, line by line."""
    return _fragment(d, _body_table)


def render_html_inline(d: VersionDiff) -> str:
    """An HTML fragment: metadata changes, then the body as one text with <del>/<ins>.
    Line breaks stay as text; the page's CSS should give ``.pw-inline`` pre-wrap."""
    return _fragment(d, lambda v: f'<div class="pw-inline">{_inline(v.body)}</div>')
