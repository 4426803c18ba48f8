"""The web archive a backfill asks (`Target`) and how its replays are read, as pure
data: which URL serves a snapshot's bytes, which original URL a replay URL stands for,
and which of a replay's headers are the outlet's. Asking is `presswatch.backfill`'s;
nothing here touches the network.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from archive.backfill.snapshots import Snapshot, original_of_replay
from archive.errors import BadInput

__all__ = [
    "WAYBACK",
    "Target",
    "original_headers",
    "raw_replay_url",
    "replay_original",
]

WAYBACK = "wayback"


@dataclass(frozen=True, slots=True)
class Target:
    """Which archive to ask: the Wayback Machine (CDX + `id_` replay) at `base`, or a
    Memento archive whose TimeMap of URL X is at `base` + X."""

    name: str  # "wayback", or the Memento TimeMap prefix as given
    kind: str  # "wayback" | "memento"
    base: str

    @staticmethod
    def parse(value: str, wayback_url: str) -> Target:
        if value == WAYBACK:
            return Target(WAYBACK, "wayback", wayback_url.rstrip("/"))
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BadInput(
                f"--from-archive {value!r}: give `wayback`, or the TimeMap prefix of a "
                "Memento archive (the URL that a page's address is appended to), e.g. "
                "https://archive.example/timemap/link/"
            )
        if parts.path in ("", "/") and not parts.query:
            # A page's address is appended to the prefix: the archive's bare root would
            # make `http://host:8080https://…`, which no client can parse.
            raise BadInput(
                f"--from-archive {value!r} names an archive's root, not its TimeMap prefix "
                "(the URL that a page's address is appended to), e.g. "
                f"{value.rstrip('/')}/timemap/link/"
            )
        if not value.endswith(("/", "=")):
            value += "/"  # `…/timemap/link` and `…/timemap/link/` name one prefix
        return Target(value, "memento", value)

    def replay_url(self, snapshot: Snapshot) -> str:
        if snapshot.memento_url:
            return snapshot.memento_url
        return f"{self.base}/web/{snapshot.timestamp}id_/{snapshot.original}"


def replay_original(replay_url: str, link: str | None, fallback: str) -> str:
    """The original URL an archive's replay URL stands for: the replay answer's Link
    rel=original when it names one (`link`, the Link header), else the URL read from
    the replay URL itself, else `fallback`."""
    match = re.search(r'<([^>]+)>\s*;[^,]*rel="?[^",]*\boriginal\b', link or "")
    if match:
        return match.group(1)
    return original_of_replay(replay_url) or fallback


def raw_replay_url(url: str) -> str:
    """A Wayback replay URL in its raw form (`id_`), so no banner or rewriting is added."""
    return re.sub(r"/(\d{4,14})(?:[a-z]{2}_)?/(https?:)", r"/\1id_/\2", url, count=1)


_ORIG = "x-archive-orig-"
# The archive's own answer headers that describe the page itself (Wayback's `id_`
# replay sends the original Content-Type); the rest (Date, Server, Link…) are the
# archive's, and the original's come prefixed with X-Archive-Orig-.
_PAGE_HEADERS = {"content-type", "location"}


def original_headers(headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The headers the outlet sent, as far as the archive kept them, from the headers
    of the archive's replay answer."""
    headers = tuple(headers)
    original = [(k[len(_ORIG) :], v) for k, v in headers if k.lower().startswith(_ORIG)]
    named = {k.lower() for k, _ in original}
    own = [(k, v) for k, v in headers if k.lower() in _PAGE_HEADERS and k.lower() not in named]
    return tuple(own + original)
