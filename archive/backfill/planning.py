"""Which of a web archive's snapshots a backfill fetches, in which order, and the tally
of what became of them, as pure rules: the source's own article pages only, within
`--since`/`--until`, none dated after our clock, one article's snapshots together in
time order, an article's later snapshots deferred while an earlier one fails.

Asking the archive, fetching and recording are `presswatch.backfill`'s; nothing here
touches the network, the clock (`now` is given) or the database.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from archive.backfill.ledger import LedgerOutcome
from archive.backfill.snapshots import Snapshot, snapshot_key
from archive.clock import future_date_refusal
from archive.content import compile_url_pattern, normalize_url
from archive.errors import BadInput

__all__ = [
    "BackfillReport",
    "FetchOrder",
    "SnapshotFilter",
    "article_key",
    "future_snapshot_problem",
    "group_by_article",
    "spread_over_time",
]


def _forms(url: str) -> tuple[str, ...]:
    try:
        return (url, normalize_url(url))
    except BadInput:
        return (url,)


def article_key(url: str) -> str:
    """The article a snapshot's URL belongs to: its normalized form (http and https,
    www or not, are one article), or the URL as given when it does not normalize."""
    return _forms(url)[-1]


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower().removeprefix("www.")


@dataclass(frozen=True, slots=True)
class SnapshotFilter:
    """Which snapshots are the source's: on its host, matching its article pattern
    (without one, its HTML pages), taken within `since`..`until`."""

    host: str
    pattern: str | None
    since: datetime | None = None
    until: datetime | None = None

    @staticmethod
    def of_source(
        base_url: str, pattern: str | None, since: datetime | None, until: datetime | None
    ) -> SnapshotFilter:
        return SnapshotFilter(_host(base_url), pattern, since, until)

    def is_article(self, url: str) -> bool:
        """Whether `url` is on the source's host and (with a pattern) an article URL.
        Older snapshots keep the URL as then linked (http://, :80, www.): the pattern is
        tried on it and on its normalized form."""
        if _host(url) != self.host:
            return False  # an index answer is hostile too: only the source's own pages
        if self.pattern is None:
            return True
        compiled = compile_url_pattern(self.pattern)
        return any(compiled.search(u) is not None for u in _forms(url))

    def wants(self, snapshot: Snapshot) -> bool:
        at = snapshot.at
        if (self.since is not None and at < self.since) or (
            self.until is not None and at > self.until
        ):
            return False
        if not self.is_article(snapshot.original):
            return False
        if self.pattern is not None:
            return True
        # No article pattern: pages, not images or scripts; errors and redirects have no type.
        mimetype = (snapshot.mimetype or "").lower()
        return "html" in mimetype or (snapshot.status_code or 0) >= 300 or not mimetype


def future_snapshot_problem(snapshot: Snapshot, now: datetime) -> str | None:
    """The problem to report when the archive dates `snapshot` after `now` (2099,
    9999…), or None. Such a snapshot is refused, never fetched: recorded, it would be
    the article's newest capture for ever."""
    refusal = future_date_refusal(snapshot.at, now)
    if refusal is None:
        return None
    return f"{snapshot.original} @ {snapshot.timestamp}: {refusal}; the archive's index is wrong"


def spread_over_time(snapshots: Sequence[Snapshot], count: int) -> list[Snapshot]:
    """At most `count` snapshots spread evenly over time, the first and last included."""
    ordered = sorted(snapshots, key=lambda s: s.timestamp)
    if len(ordered) <= count:
        return ordered
    step = (len(ordered) - 1) / (count - 1)
    return [ordered[round(i * step)] for i in range(count)]


def group_by_article(snapshots: Sequence[Snapshot]) -> Iterator[list[Snapshot]]:
    """Snapshots per article (`article_key`), each group in time order."""
    groups: dict[str, list[Snapshot]] = {}
    for snap in snapshots:
        groups.setdefault(article_key(snap.original), []).append(snap)
    for url in sorted(groups):
        yield sorted(groups[url], key=lambda s: s.timestamp)


# -- one run -----------------------------------------------------------------------------


@dataclass(slots=True)
class BackfillReport:
    """What one backfill run found and did (`presswatch backfill --json`)."""

    source: str
    archive: str
    planned: int = 0
    already_done: int = 0
    recorded: dict[str, int] = field(default_factory=dict)  # capture outcome → count
    failed: int = 0
    gave_up: int = 0
    refused: int = 0
    out_of_order: int = 0
    deferred: int = 0
    requests: int = 0
    waited_s: float = 0.0
    problems: list[str] = field(default_factory=list)
    stopped: str | None = None

    @property
    def ok(self) -> bool:
        return not (self.failed or self.gave_up or self.refused or self.problems or self.stopped)

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "archive": self.archive,
            "planned": self.planned,
            "already_done": self.already_done,
            "recorded": dict(sorted(self.recorded.items())),
            "failed": self.failed,
            "gave_up": self.gave_up,
            "refused": self.refused,
            "out_of_order": self.out_of_order,
            "deferred": self.deferred,
            "requests": self.requests,
            "waited_s": round(self.waited_s, 1),
            "problems": self.problems,
            "stopped": self.stopped,
        }


class FetchOrder:
    """Which planned snapshots a run fetches, given one by one in plan order (an
    article's snapshots together, oldest first), and the tally in `report`.

    A snapshot listed twice is counted once; one settled by an earlier run (`done`, its
    `snapshot_key`) is not fetched again; after a failed snapshot, the rest of its
    article waits for a later run (versions are judged in time order), as does all
    beyond `limit` fetches."""

    def __init__(self, report: BackfillReport, done: set[str], limit: int | None) -> None:
        self.report = report
        self._done = done
        self._limit = limit
        self._fetched = 0
        self._seen: set[str] = set()
        self._article: str | None = None
        self._blocked = False  # an earlier snapshot of this article failed

    def admit(self, snapshot: Snapshot) -> bool:
        """Whether to fetch `snapshot` now; when not, it is tallied (planned, already
        done or deferred)."""
        key = snapshot_key(self.report.archive, snapshot)
        if key in self._seen:
            return False
        self._seen.add(key)
        self.report.planned += 1
        article = article_key(snapshot.original)
        if article != self._article:
            self._article, self._blocked = article, False
        if key in self._done:
            self.report.already_done += 1
            return False
        if self._blocked or (self._limit is not None and self._fetched >= self._limit):
            self.report.deferred += 1
            return False
        return True

    def out_of_order(self) -> None:
        """An admitted snapshot left out: older than its article's last check."""
        self.report.out_of_order += 1

    def settle(self, snapshot: Snapshot, outcome: str, problem: str | None = None) -> None:
        """What became of an admitted snapshot that was fetched: its capture outcome
        (`duplicate` for bytes already held), or with `problem` its ledger outcome
        (failed, gave_up or refused)."""
        self._fetched += 1
        report = self.report
        if problem is None:
            report.recorded[outcome] = report.recorded.get(outcome, 0) + 1
            return
        report.problems.append(f"{snapshot.original} @ {snapshot.timestamp}: {problem}")
        if outcome == LedgerOutcome.FAILED:
            report.failed += 1
            self._blocked = True
        elif outcome == LedgerOutcome.GAVE_UP:
            report.gave_up += 1
        else:
            report.refused += 1
