"""What a version's text looks like to story clustering: tokens, word shingles, a
MinHash signature, its LSH bands, and the long passages it carries. Pure: text in,
numbers out; no database, clock or I/O.

Tokens are the casefolded words of the normalized text; a run of Khmer (written without
spaces) gives one token per orthographic cluster, the segmentation search uses
(`archive.content.khmer_clusters`), Khmer punctuation dropped. A cluster is about half
a word, so wherever a length is counted in words below, two Khmer clusters make one.

The signature is one-permutation MinHash with rotation densification (Li, Owen and
Zhang 2012; Shrivastava and Li 2014): each shingle is hashed once (BLAKE2b, 64 bits),
its low bits pick one of `SIGNATURE_SIZE` buckets and the high 32 bits compete for the
bucket's minimum; an empty bucket borrows from the next non-empty one. Two signatures
agree in a bucket with probability about the Jaccard similarity of the shingle sets, at
one hash per shingle instead of one per shingle and permutation. (datasketch, the
well-kept library, was not used: it needs numpy and scipy, tens of megabytes of
compiled wheels this project has not got, for what is forty lines here, and its LSH
indexes live in memory, Redis or Cassandra, not in our database.)

Passages: the text is cut into sentences; from each sentence start, the shortest run
of whole sentences holding at least `PASSAGE_WORDS` words (twice as many Khmer
clusters) is one passage, keyed by
the hash of its tokens. Syndicated wire copy under another headline and intro keeps
most of these keys; a shared key is a passage carried word for word.
"""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass

from archive.content import KHMER_RUN, khmer_clusters

__all__ = [
    "BANDS",
    "MIN_SHINGLES",
    "NEAR_DUPLICATE",
    "PASSAGE_WORDS",
    "ROWS",
    "SHINGLE_TOKENS",
    "SIGNATURE_SIZE",
    "Passage",
    "Sketch",
    "estimate_jaccard",
    "pack_signature",
    "passages_of",
    "shared_runs",
    "shingles_of",
    "sketch_text",
    "tokens_of",
    "unpack_signature",
]

SHINGLE_TOKENS = 5  # words per shingle (Khmer: twice as many clusters)
SIGNATURE_SIZE = 64  # MinHash buckets
BANDS = 16  # LSH bands of ROWS buckets each: BANDS * ROWS == SIGNATURE_SIZE
ROWS = 4
# Estimated Jaccard similarity of two versions' shingle sets at or above which they are
# the same story. With 16 bands of 4 a pair at 0.6 is looked at with probability 0.90,
# at 0.7 0.99. Why 0.6 and not lower: on the labelled corpus (benchmarks/story_corpus.py)
# different raids told in the same stock phrases reach 0.55 (64 buckets estimate J
# within about 0.06), while copies of one wire story under their own intros and cuts
# go down to 0.375; those are found by their shared passages instead.
NEAR_DUPLICATE = 0.6
PASSAGE_WORDS = 25  # N: a passage is at least this many words (Khmer: twice as many clusters)
MAX_PASSAGES = 120  # passages indexed per version (a bound on index rows and lookups)
MIN_SHINGLES = 8  # a text shorter than this is not sketched (stubs, notices)

_MASK32 = 0xFFFFFFFF
_EMPTY = _MASK32 + 1
_KHMER_PUNCT = re.compile("[\u17d4-\u17da]")
_TOKEN = re.compile(r"[\u1780-\u17ff\u19e0-\u19ff]+|[^\W\u1780-\u17ff\u19e0-\u19ff]+")
_SENTENCE_END = re.compile(r"(?<=[.!?\u17d4\u17d5])[\"'\u201d\u2019)]*\s+|\n")


@dataclass(frozen=True, slots=True)
class Passage:
    key: int  # signed 64-bit, as the database stores it
    start: int  # where it starts in the text, in half words (a Khmer cluster is one)
    end: int  # where it ends, in half words
    first: int  # its first sentence's index in `Sketch.sentences`
    last: int  # one past its last sentence's


@dataclass(frozen=True, slots=True)
class Sketch:
    signature: tuple[int, ...]  # SIGNATURE_SIZE uint32 minimums
    shingles: int
    bands: tuple[int, ...]  # BANDS signed 64-bit keys
    passages: tuple[Passage, ...]
    sentences: tuple[str, ...]  # as written, for "which passages are shared"


def tokens_of(text: str) -> list[str]:
    """The casefolded words of `text`; Khmer runs as their clusters, punctuation dropped."""
    out: list[str] = []
    for match in _TOKEN.finditer(text.casefold()):
        piece = match.group(0)
        if KHMER_RUN.match(piece):
            out.extend(c for c in khmer_clusters(piece) if not _KHMER_PUNCT.fullmatch(c))
        else:
            out.append(piece)
    return out


def _weight(token: str) -> int:
    """A token's length in half words: a Khmer cluster is about half a word. (A token
    is all Khmer or none, so its first character tells.)"""
    first = token[0]
    return 1 if "\u1780" <= first <= "\u17ff" or "\u19e0" <= first <= "\u19ff" else 2


def shingles_of(tokens: list[str]) -> set[str]:
    """Runs of `SHINGLE_TOKENS` words from each token on: five words, or ten Khmer
    clusters (so a Khmer shingle spans about as much text as an English one, and two
    Khmer stories told in the same stock phrases do not look alike cluster by cluster)."""
    weights = [_weight(t) for t in tokens]
    if all(w == 2 for w in weights):  # no Khmer: plain five-word windows
        k = SHINGLE_TOKENS
        return {" ".join(tokens[i : i + k]) for i in range(len(tokens) - k + 1)}
    need = 2 * SHINGLE_TOKENS
    out: set[str] = set()
    end = 0
    weight = 0
    for start in range(len(tokens)):
        while end < len(tokens) and weight < need:
            weight += weights[end]
            end += 1
        if weight < need:
            break
        out.add(" ".join(tokens[start:end]))
        weight -= weights[start]
    return out


def _hash64(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _signature(shingles: set[str]) -> tuple[int, ...]:
    mins = [_EMPTY] * SIGNATURE_SIZE
    for shingle in shingles:
        h = _hash64(shingle.encode("utf-8"))
        bucket = h % SIGNATURE_SIZE
        value = h >> 32
        if value < mins[bucket]:
            mins[bucket] = value
    if all(m == _EMPTY for m in mins):
        return tuple([_MASK32] * SIGNATURE_SIZE)
    out = list(mins)
    for i in range(SIGNATURE_SIZE):
        if mins[i] != _EMPTY:
            continue
        step = 1
        while mins[(i + step) % SIGNATURE_SIZE] == _EMPTY:
            step += 1
        # Borrowed values are shifted by the distance, so two texts agree here only
        # if they agree in the bucket lent from at the same distance.
        out[i] = (mins[(i + step) % SIGNATURE_SIZE] + step * 0x9E3779B1) & _MASK32
    return tuple(out)


def _bands(signature: tuple[int, ...]) -> tuple[int, ...]:
    keys = []
    for band in range(BANDS):
        rows = signature[band * ROWS : (band + 1) * ROWS]
        keys.append(_signed(_hash64(struct.pack(f"<B{ROWS}I", band, *rows))))
    return tuple(keys)


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def passages_of(text: str, *, limit: int = MAX_PASSAGES) -> list[Passage]:
    """The passages of `text` (see the module docstring), at most `limit`, in order;
    a text shorter than `PASSAGE_WORDS` words has none."""
    return _passages(_sentences(text), limit)


def _passages(texts: list[str], limit: int) -> list[Passage]:
    return _passages_of_tokens([(s, tokens_of(s)) for s in texts], limit)


def _passages_of_tokens(sentences: list[tuple[str, list[str]]], limit: int) -> list[Passage]:
    # Lengths in half words (a Khmer cluster is one, an English word two), so a Khmer
    # passage is as long a run of text as an English one.
    offsets = [0]
    for _s, sentence_words in sentences:
        offsets.append(offsets[-1] + sum(map(_weight, sentence_words)))
    need = 2 * PASSAGE_WORDS
    out: list[Passage] = []
    seen: set[int] = set()
    for start in range(len(sentences)):
        end = start
        while end < len(sentences) and offsets[end] - offsets[start] < need:
            end += 1
        if offsets[end] - offsets[start] < need:
            break
        words = [w for _s, ws in sentences[start:end] for w in ws]
        key = _signed(_hash64(" ".join(words).encode("utf-8")))
        if key in seen:
            continue
        seen.add(key)
        out.append(Passage(key, offsets[start], offsets[end], start, end))
        if len(out) >= limit:
            break
    return out


def sketch_text(text: str) -> Sketch | None:
    """The sketch of one version's normalized text, or None when it is too short to
    tell stories apart (fewer than `MIN_SHINGLES` shingles)."""
    sentences = [(s, tokens_of(s)) for s in _sentences(text)]
    # Sentences split at spaces and line ends only, so their tokens are the text's.
    shingles = shingles_of([t for _s, words in sentences for t in words])
    if len(shingles) < MIN_SHINGLES:
        return None
    signature = _signature(shingles)
    return Sketch(
        signature,
        len(shingles),
        _bands(signature),
        tuple(_passages_of_tokens(sentences, MAX_PASSAGES)),
        tuple(s for s, _words in sentences),
    )


def shared_runs(sketch: Sketch, indexes: list[int]) -> list[str]:
    """The text of the shared passages `indexes` (into `sketch.passages`), overlapping
    and adjacent ones joined into one run of sentences each, longest first."""
    spans = sorted((sketch.passages[i].first, sketch.passages[i].last) for i in set(indexes))
    runs: list[tuple[int, int]] = []
    for first, last in spans:
        if runs and first <= runs[-1][1]:
            runs[-1] = (runs[-1][0], max(runs[-1][1], last))
        else:
            runs.append((first, last))
    texts = [" ".join(sketch.sentences[a:b]) for a, b in runs]
    return sorted(texts, key=len, reverse=True)


def estimate_jaccard(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """The share of buckets in which two signatures agree."""
    if len(a) != len(b) or not a:
        return 0.0
    return sum(1 for x, y in zip(a, b, strict=True) if x == y) / len(a)


def pack_signature(signature: tuple[int, ...]) -> bytes:
    return struct.pack(f"<{len(signature)}I", *signature)


def unpack_signature(data: bytes) -> tuple[int, ...]:
    return struct.unpack(f"<{len(data) // 4}I", data)
