"""What discovery already knows of a source, held small: a million known URLs must
not cost the crawl its memory (issue #27, `python -m benchmarks crawl-memory`).

`KnownUrls` keeps an 8-byte digest of each normalized URL in one sorted array and
answers `key in known` by binary search: 8 bytes a URL, where a set of the strings
took some 175 (a 36-character URL; real ones are longer). The digest is Python's own
string hash (SipHash, keyed at random for each process: the array is never kept
beyond it, and no outlet can choose a URL that collides). The price is a chance that
a new URL shares a known one's digest and is taken for known: about n / 2**64 for
each new URL against n known, under 1 in 10**10 at 10 million.

Must not: read the archive (the caller streams the URLs in) or change once built.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable


def _digest(url: str) -> int:
    return hash(url)  # 64 bits on the platforms we run on (sys.hash_info.width)


class KnownUrls:
    """A fixed set of URLs, answering membership only."""

    __slots__ = ("_digests",)

    def __init__(self, urls: Iterable[str] = ()) -> None:
        # Built from the digests alone (the URLs are never all held at once), sorted in
        # place in a list, which costs less than a set of them before the array.
        digests = [_digest(url) for url in urls]
        digests.sort()
        self._digests = array(
            "q", (d for i, d in enumerate(digests) if i == 0 or d != digests[i - 1])
        )

    def __contains__(self, url: object) -> bool:
        if not isinstance(url, str):
            return False
        digest = _digest(url)
        at = bisect_left(self._digests, digest)
        return at < len(self._digests) and self._digests[at] == digest

    def __len__(self) -> int:
        return len(self._digests)
