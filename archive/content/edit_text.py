"""How the edit classes read a text: its paragraphs and words, the folded form two
passages are compared in, and which paragraphs two versions removed, added or edited in
place.

Pure. A paragraph is a line of the normalized text; one whose words are at least half
kept is edited, not removed. Every alignment draws on the caller's work budget
(`archive.content.align`), as a diff does.
"""

from __future__ import annotations

import unicodedata

import regex

from archive.content.align import Budget, align

__all__ = [
    "align_paragraphs",
    "edit_words",
    "first_change_position",
    "folded",
    "has_khmer",
    "latin_words",
    "paragraphs",
]

_KHMER = regex.compile(r"\p{Khmer}")
_WORD = regex.compile(r"[\p{L}\p{M}\p{N}]+(?:[-'’][\p{L}\p{M}\p{N}]+)*")
_MAX_CANDIDATES = 12  # new paragraphs an old one is compared with, the nearest first
_WINDOW = 2 * _MAX_CANDIDATES  # how far from its own position they are looked for
_KEEP_RATIO = 0.5  # a paragraph with at least half its words kept was edited, not removed


def has_khmer(text: str) -> bool:
    return bool(_KHMER.search(text))


def folded(text: str) -> str:
    """The form passages are compared in: NFC, casefolded, whitespace runs as one space."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def paragraphs(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def edit_words(text: str) -> list[str]:
    """Words to compare: Latin-script words, and Khmer split into grapheme clusters
    (no spaces between its words, so a cluster is the unit the diff uses too)."""
    words: list[str] = _WORD.findall(text.casefold())
    if not _KHMER.search(text):  # one search for the text, not one per word
        return words
    out: list[str] = []
    for word in words:
        if _KHMER.search(word):
            out.extend(regex.findall(r"\X", word))
        else:
            out.append(word)
    return out


def latin_words(text: str) -> list[str]:
    """The casefolded words of ``text`` that have no Khmer in them."""
    return [w for w in _WORD.findall(text.casefold()) if not _KHMER.search(w)]


def _kept(wa: list[str], wb: list[str], budget: Budget) -> float:
    """The share of ``wa``'s words that ``wb`` keeps in order. Out of budget the count
    comes from the linear alignment, a lower bound: an edit may then read as a removal."""
    if not wa or not wb:
        return 0.0
    matched = sum(i2 - i1 for tag, i1, i2, _, _ in align(wa, wb, budget) if tag == "equal")
    return matched / len(wa)


def align_paragraphs(
    old: list[str], new: list[str], budget: Budget
) -> tuple[list[int], list[int], list[tuple[int, int]]]:
    """Old paragraphs removed, new ones added, and (old, new) pairs edited in place."""
    removed: list[int] = []
    added: list[int] = []
    pairs: list[tuple[int, int]] = []
    words: dict[str, list[str]] = {}  # each paragraph cut into words once

    def words_of(paragraph: str) -> list[str]:
        if paragraph not in words:
            words[paragraph] = edit_words(paragraph)
        return words[paragraph]

    for tag, i1, i2, j1, j2 in align(old, new, budget):
        if tag == "equal":
            continue
        taken: set[int] = set()
        for i in range(i1, i2):
            # Compare with the nearest candidates only, looked for in a window around
            # the same position: a rewrite of a long article would otherwise cost a
            # comparison (and a search) per pair of paragraphs.
            here = j1 + (i - i1)
            window = range(max(j1, here - _WINDOW), min(j2, here + _WINDOW + 1))
            free = [j for j in window if j not in taken]
            near = sorted(free, key=lambda j: abs(j - here))[:_MAX_CANDIDATES]
            wa = words_of(old[i])
            scored = [(_kept(wa, words_of(new[j]), budget), j) for j in near]
            kept, best = max(scored, default=(0.0, -1))
            if kept >= _KEEP_RATIO:
                pairs.append((i, best))
                taken.add(best)
            else:
                removed.append(i)
        added.extend(j for j in range(j1, j2) if j not in taken)
    return removed, sorted(added), pairs


def first_change_position(old: list[str], new: list[str], budget: Budget) -> float:
    """Where the first changed paragraph sits in the old text: 0 top, 1 bottom."""
    for tag, i1, _i2, _j1, _j2 in align(old, new, budget):
        if tag != "equal":
            return min(1.0, i1 / max(len(old), 1))
    return 0.0
