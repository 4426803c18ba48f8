"""Khmer segmentation for the search index, applied identically to indexed text and to
queries.

Khmer is written without spaces between words, so a tokenizer that splits on spaces
(FTS5's unicode61, most engines' defaults) sees a whole phrase as one token and a
search for one word in it finds nothing. This module cuts every run of Khmer into
orthographic clusters -- a base consonant or independent vowel with its subscripts
(coeng + consonant), vowel signs and diacritics -- and puts a ZERO WIDTH SPACE between
them. Digit runs stay whole. The tokenizer then sees one token per cluster, and a
Khmer word is searched as the phrase of its clusters.

Why clusters and not words: measured on the 20 Khmer fixture articles
(`tests/test_khmer_search.py`), cluster phrases find every (page, search word) pair
(recall 1.0) and segment 26 k characters in milliseconds, while khmer-nltk's CRF word
segmenter found 0.96 and took 1.1 s for the same text (about 40 microseconds a
character: hours for a large archive). Word segmentation also fails on a search for
part of a word (`បាតុ` in `បាតុករ`), which a cluster phrase matches. The cost is
precision: a cluster phrase can match across a word boundary, as a substring search
would.

For SQLite FTS5 the clusters are indexed in pairs (`bigrams`): a run of clusters
c1 c2 ... cn becomes the tokens c1c2, c2c3, ..., c(n-1)cn and a final cn (a run of one
cluster is that cluster). Single clusters are few and occur everywhere, so a phrase of
them makes FTS5 walk huge position lists; pairs are selective. On the 100,000-version
benchmark this took Khmer queries from 60-190 ms to a few ms, with the same recall.
A query run is turned into the same pairs (`query_bigrams`), with the final lone
cluster only when something follows the run in the phrase, and the engine matches the
last pair as a prefix, so a word typed shorter than its written cluster still matches.
Meilisearch gets plain clusters (`segment`) and does its own proximity matching.

ZERO WIDTH SPACE is the separator because it is invisible, it is already the
conventional Khmer word-break hint, `archive.content.normalize.normalize_text` removes every
one from archived text (so all of them in the index are ours and can be stripped from
snippets losslessly), and unicode61 treats it (category Cf) as a separator.

The clusters themselves are `archive.content.khmer_clusters`, which story sketches
shingle over too (one segmentation of Khmer in the project).

Pure functions only: no database, engine or I/O.
"""

from __future__ import annotations

import re

from archive.content import KHMER_RUN, has_khmer, khmer_clusters

__all__ = [
    "SEPARATOR",
    "bigrams",
    "ends_with_khmer",
    "has_khmer",
    "khmer_clusters",
    "query_bigrams",
    "segment",
    "strip_separators",
]

SEPARATOR = "\u200b"


def ends_with_khmer(text: str) -> bool:
    stripped = text.rstrip()
    return bool(stripped) and KHMER_RUN.fullmatch(stripped[-1]) is not None


def _separate(match: re.Match[str]) -> str:
    # Separators at both edges too, so a Khmer run never fuses with adjacent Latin
    # letters or digits into one token.
    return SEPARATOR + SEPARATOR.join(khmer_clusters(match.group(0))) + SEPARATOR


def segment(text: str) -> str:
    """`text` with a ZERO WIDTH SPACE between Khmer clusters and around Khmer runs;
    text without Khmer is returned unchanged."""
    if not has_khmer(text):
        return text
    return KHMER_RUN.sub(_separate, text)


def strip_separators(text: str) -> str:
    """Undo `segment` (archived text never contains ZERO WIDTH SPACE)."""
    return text.replace(SEPARATOR, "")


def _pairs(clusters: list[str], *, final: bool) -> list[str]:
    if len(clusters) == 1:
        return clusters
    tokens = list(map(str.__add__, clusters, clusters[1:]))
    if final:
        tokens.append(clusters[-1])
    return tokens


def _pair_runs(text: str, *, query: bool) -> str:
    """`text` with each Khmer run replaced by its cluster pairs between separators. In
    indexed text every run keeps its final lone cluster; in a query term only a run that
    more of the term follows does."""
    if not has_khmer(text):
        return text
    runs = list(KHMER_RUN.finditer(text))
    out: list[str] = []
    pos = 0
    for i, match in enumerate(runs):
        last = query and i == len(runs) - 1 and not text[match.end() :].strip()
        out.append(text[pos : match.start()])
        tokens = _pairs(khmer_clusters(match.group(0)), final=not last)
        out.append(SEPARATOR + SEPARATOR.join(tokens) + SEPARATOR)
        pos = match.end()
    out.append(text[pos:])
    return "".join(out)


def bigrams(text: str) -> str:
    """`text` for the FTS5 index: each Khmer run replaced by its cluster pairs and its
    final cluster, separated by ZERO WIDTH SPACE; other text unchanged. The index
    deletes a row by recomputing these tokens: a change of the output is a change of
    `search_api.backends.sqlite_tables.SCHEMA_VERSION`."""
    return _pair_runs(text, query=False)


def query_bigrams(text: str) -> str:
    """A query term in the form `bigrams` indexes, to be matched as a phrase whose last
    token is a prefix: a Khmer run at the end of the term leaves out its final lone
    cluster (the text may go on where the typed word stops); a run followed by more of
    the term keeps it, as the text must end the run there too."""
    return _pair_runs(text, query=True)
