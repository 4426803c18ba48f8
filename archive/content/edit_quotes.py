"""Quoted passages of an old version that the new one no longer has, nor anything close
to them (the evidence of ``quote_removed``).

Pure. Quotes are “…”, "…", «…», ‘…’ and '…'; a quote reworded (``_QUOTE_KEPT`` of its
characters kept) is not removed. Every comparison is paid from the caller's work budget
(`archive.content.align`), so a text of thousands of quotes cannot stall a capture.
"""

from __future__ import annotations

import regex

from archive.content.align import Budget, align
from archive.content.edit_text import folded

__all__ = [
    "quotes_removed",
]

# Double quotes of every kind; single ones only where a word cannot touch them, so the
# apostrophe of "city's" never opens or closes a quote.
# A quote is at most 600 characters long, which also bounds the search from each opening
# mark: a hostile line of unclosed quotes must not cost its length squared.
_QUOTE = regex.compile(
    r"“([^”\n]{8,600}?)”|\"([^\"\n]{8,600}?)\"|«([^»\n]{8,600}?)»"
    r"|(?<![\p{L}\p{N}])[‘']([^\n]{8,600}?)[’'](?![\p{L}\p{N}])"
)
_QUOTE_KEPT = 0.8  # a quote this close to one still there was reworded, not removed


def _quotes(text: str) -> list[str]:
    return [next(g for g in m.groups() if g) for m in _QUOTE.finditer(text)]


def quotes_removed(old: str, new: str, budget: Budget) -> list[str]:
    """The quotes of ``old`` that ``new`` has neither word for word nor reworded, each once."""
    new_flat = folded(new)
    new_quotes = [folded(q) for q in _quotes(new)]
    gone = []
    for quote in _quotes(old):
        flat = folded(quote)
        if flat in new_flat:
            continue
        if _reworded(flat, new_quotes, budget):
            continue
        if quote not in gone:
            gone.append(quote)
    return gone


def _reworded(flat: str, new_quotes: list[str], budget: Budget) -> bool:
    """Whether a new quote is close to ``flat`` (``_QUOTE_KEPT`` of its characters kept,
    as SequenceMatcher.ratio() counts). Each comparison is paid from the budget, so
    thousands of quotes cannot cost a pass over all pairs; out of budget, a quote is
    kept only when it is still there word for word."""
    for q in new_quotes:
        if budget.exhausted or not budget.charge(1):
            return False
        if 2 * min(len(flat), len(q)) < _QUOTE_KEPT * (len(flat) + len(q)):
            continue  # the lengths alone rule it out
        ops = align(flat, q, budget)
        if budget.exhausted:
            return False
        matched = sum(i2 - i1 for tag, i1, i2, _, _ in ops if tag == "equal")
        if 2 * matched >= _QUOTE_KEPT * (len(flat) + len(q)):
            return True
    return False
