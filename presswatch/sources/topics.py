"""The topic filter: does an article's title or body mention a topic's keywords?
Khmer and the other scripts written without spaces are matched as such."""

from __future__ import annotations

import re
from collections.abc import Iterable

from archive.content import normalize_text

# Scripts written without spaces between words: a keyword is a substring there.
_UNSPACED = re.compile("[\u1780-\u17ff\u19e0-\u19ff\u0e00-\u0e7f\u0e80-\u0eff\u1000-\u109f]")


class TopicMatcher:
    """Does a title + body mention any of the keywords?

    Both sides go through `archive.content.normalize.normalize_text` (so Khmer typed in another
    code-point order, or with zero-width spaces, still matches) and `casefold`. Keywords
    in spaced scripts match whole words, with any run of spaces or hyphens between the
    words of a phrase; keywords in Khmer and other unspaced scripts match as substrings
    of the text with its whitespace removed, since Khmer puts no spaces between words and
    writers put them between phrases at will.
    """

    def __init__(self, keywords: Iterable[str]) -> None:
        self.keywords = tuple(keywords)
        spaced: list[str] = []
        self._unspaced: list[str] = []
        for kw in self.keywords:
            folded = normalize_text(kw).casefold().strip()
            if not folded:
                continue
            if _UNSPACED.search(folded):
                self._unspaced.append(re.sub(r"\s+", "", folded))
            else:
                words = [re.escape(w) for w in re.split(r"[\s-]+", folded) if w]
                body = r"[\s\-‐–]+".join(words)
                left = r"(?<!\w)" if re.match(r"\w", folded) else ""
                # A plural ("scam compounds", "traffickers") is the same topic.
                right = r"(?:s|es)?(?!\w)" if re.search(r"\w$", folded) else ""
                spaced.append(f"{left}{body}{right}")
        self._spaced = re.compile("|".join(spaced)) if spaced else None

    def matches(self, *texts: str | None) -> bool:
        haystack = normalize_text("\n".join(t for t in texts if t)).casefold()
        if self._spaced is not None and self._spaced.search(haystack):
            return True
        if self._unspaced:
            squeezed = re.sub(r"\s+", "", haystack)
            return any(kw in squeezed for kw in self._unspaced)
        return False
