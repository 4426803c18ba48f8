"""Counting the work of difflib.SequenceMatcher, for the tests that bound it (issue 22).

Counted apart from archive.content.align's own accounting, as the matcher spends it: each
longest-match search visits, for each unit of its range in a, every position of that
unit in b. Past ``STOP`` visits the search raises, so code without a budget fails such
a test in seconds instead of running for minutes.
"""

from __future__ import annotations

import difflib
from typing import Any

import pytest

STOP = 50_000_000


class TooMuchWork(Exception):
    pass


def count_visits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Patch SequenceMatcher for this test; the one-element list holds the visits."""
    total = [0]

    class Counting(difflib.SequenceMatcher):  # type: ignore[type-arg]
        def find_longest_match(
            self, alo: int = 0, ahi: Any = None, blo: int = 0, bhi: Any = None
        ) -> Any:
            hi = len(self.a) if ahi is None else ahi
            total[0] += sum(len(self.b2j.get(self.a[i], ())) + 1 for i in range(alo, hi))
            if total[0] > STOP:
                raise TooMuchWork(total[0])
            return super().find_longest_match(alo, ahi, blo, bhi)

    monkeypatch.setattr(difflib, "SequenceMatcher", Counting)
    return total


def repeated_sentences(count: int) -> tuple[str, str]:
    """The attack: many short repeated sentences, every fifth changed in the new text.
    SequenceMatcher's every search visits each pair of equal sentences, so before the
    budget an 11 KB text of this kind took seconds to diff and 22 KB minutes."""
    old = " ".join("Police came." for _ in range(count))
    new = " ".join("Police came." if i % 5 else f"Freed {i}." for i in range(count))
    return old, new
