"""Aligning two sequences under a work budget: the one aligner of diffs and edit classes.

This module owns how two sequences of hashable units (lines, sentences, tokens, words,
paragraphs) are matched, and how much work that may cost. It must not know what a unit
is, and it must stay pure: work is counted, never timed, so the same texts always give
the same alignment on any machine.

Why a budget: ``difflib.SequenceMatcher`` finds the longest common run, then recurses on
both sides of it. Each of those searches visits every pair of equal units in its range,
so on a text of many short repeated sentences the work grows with the cube of its length:
an outlet could make one 22 KB article take minutes to diff (issue 22). Here each search
is charged to a ``Budget`` before it runs, at what it may visit at most (its range, plus
every position in the other sequence of each unit in that range; prefix sums make the
charge O(1)). When the budget cannot pay, the region is aligned in linear time instead:

1. units that occur exactly once in each sequence anchor it, the longest run of them that
   is in order on both sides (the idea of patience diff);
2. between anchors a greedy walk pairs equal units, looking a few units ahead
   (``WINDOW``) to step over an insertion, a deletion or a replacement.

Both give a correct alignment (the opcodes rebuild both sequences exactly), only a
coarser one than SequenceMatcher's. Articles of ordinary length stay far below the budget
and get SequenceMatcher's alignment unchanged.
"""

from __future__ import annotations

import bisect
import difflib
from collections import Counter
from collections.abc import Hashable, Sequence
from itertools import accumulate
from typing import Literal, TypeVar

__all__ = ["WINDOW", "WORK_BUDGET", "Budget", "Opcode", "Tag", "align", "from_matches"]

# Work units one diff may spend in SequenceMatcher's searches: a unit is one position
# scanned or one candidate pair visited. Two million is about two tenths of a second of
# CPython on the development machine, and some four hundred times what an edit of a
# 300-paragraph article costs; prose reaches it a little past 1 MB (benchmarks/diff_bench.py).
WORK_BUDGET = 2_000_000
# How far ahead the linear fallback looks for the next equal pair on either side.
WINDOW = 4

# (tag, i1, i2, j1, j2) as SequenceMatcher.get_opcodes() gives them.
Tag = Literal["replace", "delete", "insert", "equal"]
Opcode = tuple[Tag, int, int, int, int]
H = TypeVar("H", bound=Hashable)

# Steps the greedy walk tries at a mismatch, nearest first, a one-for-one replacement
# before an insertion or deletion of the same reach: in repeated text it keeps a changed
# sentence next to the one it replaced.
_STEPS = sorted(
    ((di, dj) for di in range(WINDOW + 1) for dj in range(WINDOW + 1) if di or dj),
    key=lambda s: (max(s), abs(s[0] - s[1]), s[0]),
)


class Budget:
    """Work left for one diff; every level of it (lines, sentences, tokens) draws on it.
    ``exhausted`` says some region was aligned by the linear fallback."""

    __slots__ = ("exhausted", "left", "spent")

    def __init__(self, units: int = WORK_BUDGET) -> None:
        self.left = units
        self.spent = 0
        self.exhausted = False

    def charge(self, units: int) -> bool:
        """Spend ``units`` if there are that many left; else mark the budget exhausted."""
        if units > self.left:
            self.exhausted = True
            return False
        self.left -= units
        self.spent += units
        return True


class _OutOfBudget(Exception):
    """Raised inside SequenceMatcher's recursion when its next search cannot be paid."""


def align(a: Sequence[H], b: Sequence[H], budget: Budget, *, fallback: bool = True) -> list[Opcode]:
    """Opcodes turning ``a`` into ``b``. SequenceMatcher's (``autojunk=False``) while the
    budget pays; otherwise the linear alignment of the module docstring, or, with
    ``fallback=False``, one replacement of everything (for units too small to be worth
    walking, such as tokens)."""
    if not a and not b:
        return []
    # Once the budget has run out, the rest of the diff is aligned linearly too: what is
    # left is a few units, and paying SequenceMatcher's setup for each of thousands of
    # small regions would cost more than the budget itself.
    if a and b and not budget.exhausted:
        in_b = Counter(b)
        visits = [0, *accumulate(in_b[x] + 1 for x in a)]
        # The first search covers everything: when the budget cannot pay even that,
        # SequenceMatcher is not built (its index of b alone is a pass over b).
        if visits[-1] <= budget.left:
            matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
            _meter(matcher, visits, len(b), budget)
            try:
                return matcher.get_opcodes()
            except _OutOfBudget:
                pass
    if a and b:
        budget.exhausted = True
    if len(a) == 1 and len(b) == 1:  # the common case past the budget: one unit each
        return [("equal" if a[0] == b[0] else "replace", 0, 1, 0, 1)]
    return _linear(a, b) if fallback else [_change(0, len(a), 0, len(b))]


def _meter(
    matcher: difflib.SequenceMatcher[H], visits: list[int], len_b: int, budget: Budget
) -> None:
    """Charge each longest-match search of ``matcher`` before it runs.

    get_matching_blocks() calls ``self.find_longest_match`` for every range it splits
    off, so an instance attribute of that name sees each of them. A search over
    a[alo:ahi] visits each unit there and, for each, its positions in b (no unit is junk
    with autojunk off): ``visits`` holds the prefix sums of that count over a."""
    search = matcher.find_longest_match

    def metered(
        alo: int = 0, ahi: int | None = None, blo: int = 0, bhi: int | None = None
    ) -> difflib.Match:
        hi = len(visits) - 1 if ahi is None else ahi
        if not budget.charge(visits[hi] - visits[alo]):
            raise _OutOfBudget
        return search(alo, hi, blo, len_b if bhi is None else bhi)

    matcher.find_longest_match = metered  # type: ignore[method-assign]


def from_matches(matches: Sequence[tuple[int, int]], len_a: int, len_b: int) -> list[Opcode]:
    """Opcodes from known matches: ``matches`` pairs (i, j) of equal units, increasing
    in both; everything between two matches is a change."""
    steps: list[Opcode] = []
    i = j = 0
    for mi, mj in [*matches, (len_a, len_b)]:
        if mi > i or mj > j:
            steps.append(_change(i, mi, j, mj))
        if mi < len_a:
            steps.append(("equal", mi, mi + 1, mj, mj + 1))
        i, j = mi + 1, mj + 1
    return _merge(steps)


def _change(i1: int, i2: int, j1: int, j2: int) -> Opcode:
    tag: Tag = "replace" if i1 < i2 and j1 < j2 else "delete" if i1 < i2 else "insert"
    return (tag, i1, i2, j1, j2)


def _linear(a: Sequence[H], b: Sequence[H]) -> list[Opcode]:
    # Units become small integers once, so the walk compares ints, not long strings.
    ids: dict[H, int] = {}
    ia = [ids.setdefault(x, len(ids)) for x in a]
    ib = [ids.setdefault(x, len(ids)) for x in b]
    steps: list[Opcode] = []
    i = j = 0
    # A region the walk's window nearly spans needs no anchors (and their counting).
    anchors = _anchors(ia, ib) if min(len(ia), len(ib)) > WINDOW else []
    for anchor_i, anchor_j in [*anchors, (len(ia), len(ib))]:
        steps += _walk(ia, ib, i, anchor_i, j, anchor_j)
        if anchor_i < len(ia):
            steps.append(("equal", anchor_i, anchor_i + 1, anchor_j, anchor_j + 1))
        i, j = anchor_i + 1, anchor_j + 1
    return _merge(steps)


def _anchors(a: list[int], b: list[int]) -> list[tuple[int, int]]:
    """(i, j) of units once in each sequence: the longest run in order on both sides."""
    count_a, count_b = Counter(a), Counter(b)
    where_b = {x: j for j, x in enumerate(b) if count_b[x] == 1 and count_a[x] == 1}
    pairs = [(i, where_b[x]) for i, x in enumerate(a) if x in where_b]
    # Longest increasing subsequence of the j's, by patience sorting: tails[k] is the
    # smallest j ending a run of length k + 1; back links rebuild the run.
    tails: list[int] = []
    tail_at: list[int] = []
    back = [-1] * len(pairs)
    for p, (_, j) in enumerate(pairs):
        k = bisect.bisect_left(tails, j)
        back[p] = tail_at[k - 1] if k else -1
        if k == len(tails):
            tails.append(j)
            tail_at.append(p)
        else:
            tails[k] = j
            tail_at[k] = p
    run: list[tuple[int, int]] = []
    p = tail_at[-1] if tail_at else -1
    while p >= 0:
        run.append(pairs[p])
        p = back[p]
    return run[::-1]


def _walk(a: list[int], b: list[int], i: int, ahi: int, j: int, bhi: int) -> list[Opcode]:
    """Pair equal units from the front; at a mismatch, take the nearest step in
    ``_STEPS`` after which the two sides agree again (one for one if none does)."""
    steps: list[Opcode] = []
    while i < ahi and j < bhi:
        if a[i] == b[j]:
            steps.append(("equal", i, i + 1, j, j + 1))
            i, j = i + 1, j + 1
            continue
        di, dj = next(
            (
                (di, dj)
                for di, dj in _STEPS
                if i + di < ahi and j + dj < bhi and a[i + di] == b[j + dj]
            ),
            (1, 1),
        )
        steps.append(_change(i, i + di, j, j + dj))
        i, j = i + di, j + dj
    if i < ahi or j < bhi:
        steps.append(_change(i, ahi, j, bhi))
    return steps


def _merge(steps: list[Opcode]) -> list[Opcode]:
    """Fuse neighbours of the same kind (every change counts as one kind)."""
    out: list[Opcode] = []
    for tag, i1, i2, j1, j2 in steps:
        if out and (out[-1][0] == "equal") == (tag == "equal"):
            prev = out.pop()
            i1, j1 = prev[1], prev[3]
            tag = "equal" if tag == "equal" else _change(i1, i2, j1, j2)[0]
        out.append((tag, i1, i2, j1, j2))
    return out
