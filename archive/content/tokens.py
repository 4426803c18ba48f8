"""How text is cut into the tokens a diff compares.

In space-separated scripts a token is a word, a run of whitespace, or one other
character, so ``"".join(tokenize(t)) == t``. Khmer, Thai, Lao, Myanmar and CJK are not
written with spaces between words, so there each extended grapheme cluster is a token;
a cluster is never split, and a Khmer coeng (U+17D2) or Myanmar virama (U+1039) keeps
the following consonant in its cluster.

Pure: text in, tokens out. Aligning tokens is `archive.content.diff`'s business.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from enum import StrEnum

import regex

__all__ = [
    "is_space",
    "tokenize",
]

_GRAPHEME = regex.compile(r"\X")
_CLUSTER_SCRIPT = regex.compile(
    r"[\p{Khmer}\p{Thai}\p{Lao}\p{Myanmar}\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]"
)
_WORD_CHAR = regex.compile(r"\w")
# Stacking signs: the consonant after them is written below the one before, so the pair
# is one visual unit even where a Unicode version's cluster rules would break it.
_STACKERS = frozenset("\u17d2\u1039")
_ZWSP = "\u200b"


class _Kind(StrEnum):
    SPACE = "space"
    WORD = "word"
    SINGLE = "single"  # a cluster-script cluster or a punctuation mark: a token by itself


def is_space(text: str) -> bool:
    """Whether a token is whitespace (a zero-width space counts as one)."""
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
    if is_space(cluster):
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
