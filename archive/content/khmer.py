"""Khmer orthographic clusters: the one segmentation of Khmer text that search
(`search_api.khmer`, which builds its index tokens from these clusters) and story
sketches (`archive.stories`, which shingles over them) share.

Khmer is written without spaces between words; a cluster is a base consonant or
independent vowel with its subscripts (coeng + consonant), vowel signs and diacritics,
a run of Khmer digits, or any other single Khmer character. Why clusters and not words
is measured and explained in `search_api/khmer.py`. Pure functions only.
"""

from __future__ import annotations

import re

__all__ = ["KHMER_RUN", "has_khmer", "khmer_clusters"]

# Khmer (U+1780-U+17FF) and Khmer Symbols (U+19E0-U+19FF).
KHMER_RUN = re.compile("[\u1780-\u17ff\u19e0-\u19ff]+")
# One orthographic cluster: a base (consonant or independent vowel, U+1780-U+17B3),
# then any coeng+base subscripts and dependent signs (U+17B4-U+17D1, U+17D3, U+17DD).
# A run of Khmer digits is one token; any other Khmer character (punctuation, LEK TOO,
# a stray sign with no base) is its own piece.
_CLUSTER = re.compile(
    "[\u1780-\u17b3](?:\u17d2[\u1780-\u17b3]|[\u17b4-\u17d1\u17d3\u17dd])*"
    "|[\u17e0-\u17e9]+"
    "|[\u1780-\u17ff\u19e0-\u19ff]"
)


def has_khmer(text: str) -> bool:
    return KHMER_RUN.search(text) is not None


def khmer_clusters(run: str) -> list[str]:
    """The orthographic clusters of a run of Khmer characters, in order."""
    return _CLUSTER.findall(run)
