"""Marking matches in search results, for every backend.

Owns the match sentinels (`MARK_OPEN`, `MARK_CLOSE`: private-use code points the
engines put around matches), the one function that turns sentinel-marked engine
output into safe HTML (`mark_snippet`: escape first, only then mark), and the
snippets cut in Python (`Highlighter`, `lead`). It holds no engine, index or I/O: text
in, text out.

Why snippets are cut here rather than by FTS5's snippet(): that function re-tokenizes
the whole column and weighs every window around every match, about 2 ms for a long
live blog with hundreds of matches, per hit. `Highlighter` does it with regular
expressions (C speed) that match the way the SQLite index tokenizes
(`search_api.backends.sqlite_tables.TOKENIZER`): tokens are runs of letters, digits and
marks; case and Latin diacritics are folded; a phrase's tokens may be separated by any
non-token characters; Khmer matches as a substring, as the cluster-pair index does. A
body the expressions do not find a match in is left to the backend's fallback.
Meilisearch crops and marks its own snippets; they only go through `mark_snippet`.
"""

from __future__ import annotations

import html
import re
import unicodedata

import regex

from search_api.khmer import has_khmer, strip_separators
from search_api.query import Atom, ParsedQuery

__all__ = [
    "MARK_CLOSE",
    "MARK_OPEN",
    "SNIPPET_BEFORE",
    "SNIPPET_CHARS",
    "Highlighter",
    "lead",
    "mark_snippet",
    "remove_sentinels",
]

# Archived text has them stripped (`remove_sentinels`, applied by
# `search_api.documents`), so every one in engine output is ours.
MARK_OPEN = "\ue000"
MARK_CLOSE = "\ue001"

SNIPPET_CHARS = 240  # a snippet's length, and the lead's when there is no query
SNIPPET_BEFORE = 60  # characters shown before the first match
_MAX_SPANS = 64  # matches looked at per query term when choosing the window

_SENTINELS = re.compile(f"[{MARK_OPEN}{MARK_CLOSE}]")


def remove_sentinels(text: str) -> str:
    """`text` without our match sentinels, so that it can be indexed."""
    return _SENTINELS.sub("", text)


def mark_snippet(raw: str) -> str:
    """Engine output with sentinel-marked matches -> safe HTML: Khmer segmentation
    removed, everything HTML-escaped, and only then the sentinels turned into
    `<mark>` tags. Unbalanced sentinels (a crop that cut one off) are closed."""
    text = html.escape(strip_separators(raw), quote=True)
    out: list[str] = []
    open_mark = False
    for ch in text:
        if ch == MARK_OPEN:
            if not open_mark:
                out.append("<mark>")
                open_mark = True
        elif ch == MARK_CLOSE:
            if open_mark:
                out.append("</mark>")
                open_mark = False
        else:
            out.append(ch)
    if open_mark:
        out.append("</mark>")
    return "".join(out)


def lead(text: str) -> str:
    """The opening of a text, cut at a space, for hits without a query."""
    text = text.replace("\n", " ")
    if len(text) <= SNIPPET_CHARS:
        return text
    cut = text.rfind(" ", 0, SNIPPET_CHARS)
    return text[: cut if cut > SNIPPET_CHARS // 2 else SNIPPET_CHARS] + "…"


# -- matching the way the index tokenizes -------------------------------------------------

_TOKEN_CLASS = r"\p{L}\p{N}\p{M}\p{Co}"
_TOKEN = regex.compile(f"[{_TOKEN_CLASS}]+")
_SEPARATORS = f"[^{_TOKEN_CLASS}]+"
_EDGE = f"[{_TOKEN_CLASS}]"


def _latin_variants() -> dict[str, str]:
    """For each ASCII letter, a character class of every Latin letter that
    unicode61 with remove_diacritics folds to it (both cases)."""
    variants: dict[str, set[str]] = {}
    for cp in range(0x41, 0x250):
        ch = chr(cp)
        base = unicodedata.normalize("NFD", ch)[0]
        if base.isascii() and base.isalpha():
            for form in (ch, ch.lower(), ch.upper()):
                if len(form) == 1:
                    variants.setdefault(base.lower(), set()).add(form)
    return {base: "[" + "".join(sorted(forms)) + "]" for base, forms in variants.items()}


_VARIANTS = _latin_variants()


def _char_pattern(ch: str) -> str:
    base = unicodedata.normalize("NFD", ch)[0].lower()
    escaped: str = regex.escape(ch)
    return _VARIANTS.get(base, escaped) if base.isascii() else escaped


def _atom_patterns(atom: Atom) -> tuple[regex.Pattern[str], regex.Pattern[str]] | None:
    """Two expressions for one query term: the term as typed (fast: `regex` finds a
    literal quickly) and the same with Latin diacritics folded (slow: a character class
    per letter), tried only where the first finds nothing."""
    tokens = _TOKEN.findall(atom.text)
    if not tokens:
        return None
    literal = _SEPARATORS.join(regex.escape(token) for token in tokens)
    folded = _SEPARATORS.join("".join(_char_pattern(c) for c in token) for token in tokens)
    if has_khmer(atom.text):  # a substring, as the cluster index matches
        pattern = regex.compile(literal, regex.IGNORECASE)
        return pattern, pattern
    return (
        regex.compile(f"(?<!{_EDGE}){literal}(?!{_EDGE})", regex.IGNORECASE),
        regex.compile(f"(?<!{_EDGE}){folded}(?!{_EDGE})", regex.IGNORECASE),
    )


# A match: start, end, and the index of the query term it matched.
_Span = tuple[int, int, int]


class Highlighter:
    """Marks a query's terms in text with the sentinels, and picks the window of a
    body that shows the most of them."""

    def __init__(self, parsed: ParsedQuery) -> None:
        self.patterns = [p for p in map(_atom_patterns, parsed.atoms()) if p is not None]

    def _spans(self, text: str, limit: int | None) -> list[_Span]:
        spans = []
        for index, (literal, folded) in enumerate(self.patterns):
            for pattern in (literal, folded):
                for n, m in enumerate(pattern.finditer(text)):
                    if limit is not None and n >= limit:
                        break
                    if m.end() > m.start():
                        spans.append((m.start(), m.end(), index))
                if pattern is folded or (spans and spans[-1][2] == index):
                    break
        spans.sort()
        return spans

    @staticmethod
    def _mark(text: str, spans: list[_Span], start: int, end: int) -> str:
        out = []
        pos = start
        for s, e, _ in spans:
            if s < pos or e > end:
                continue  # overlapping or cut by the window: leave unmarked
            out.append(text[pos:s] + MARK_OPEN + text[s:e] + MARK_CLOSE)
            pos = e
        out.append(text[pos:end])
        return "".join(out)

    def title(self, title: str) -> str:
        """The whole title with every match marked."""
        return self._mark(title, self._spans(title, None), 0, len(title))

    def snippet(self, body: str) -> str | None:
        """The best window of `body` with its matches marked; None if none is found."""
        spans = self._spans(body, _MAX_SPANS)
        if not spans:
            return None
        # Slide a window over the matches: the one holding the most different terms,
        # then the most matches, then the earliest, is shown.
        width = SNIPPET_CHARS - SNIPPET_BEFORE
        counts: dict[int, int] = {}
        best = (0, 0, 0)
        anchor = spans[0][0]
        j = 0
        for i, (start, _end, _index) in enumerate(spans):
            while j < len(spans) and spans[j][0] < start + width:
                counts[spans[j][2]] = counts.get(spans[j][2], 0) + 1
                j += 1
            key = (len(counts), j - i, -start)
            if key > best:
                best, anchor = key, start
            left = spans[i][2]
            counts[left] -= 1
            if not counts[left]:
                del counts[left]
        start = max(0, anchor - SNIPPET_BEFORE)
        if start:
            space = body.find(" ", start, anchor)
            start = space + 1 if space >= 0 else start
        end = min(len(body), start + SNIPPET_CHARS)
        if end < len(body):
            space = body.rfind(" ", anchor, end)
            end = space if space > anchor else end
        text = self._mark(body, spans, start, end).replace("\n", " ")
        return ("…" if start else "") + text + ("…" if end < len(body) else "")
