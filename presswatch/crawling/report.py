"""What a crawl counted, said as one summary line (the log, the terminal) or as the
JSON document of `--json`."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# A sitemap, feed, listing or robots.txt the crawler could not read (crawler/spiders/base.py).
_DOCUMENT_FAILURE = re.compile(r"^\[[^\]]*\] \S+: (?:(?P<kind>[a-z_]+) \(|HTTP (?P<status>\d{3})$)")


@dataclass
class CrawlReport:
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)
    duration_s: float = 0.0
    interrupted: bool = False
    # The one failure that ended the crawl early (a full disk, a service gone), said
    # on one line instead of the summary (also in `problems`).
    stopped_by: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems and not self.interrupted

    def failed_fetches(self) -> dict[str, int]:
        """Fetches that got no usable answer, by kind (`dns`, `timeout`, `http_404`…):
        article pages with no response or a 5xx (`article_pages`), and sitemaps, feeds,
        listing pages and robots.txt that could not be read (from the crawler's problem
        lines, `[source] URL: kind (detail)` or `[source] URL: HTTP 404`)."""
        kinds: Counter[str] = Counter()
        if self.counts.get("fetch_errors"):
            kinds["article_pages"] = self.counts["fetch_errors"]
        for problem in self.problems:
            match = _DOCUMENT_FAILURE.match(problem)
            if match:
                kinds[match["kind"] or f"http_{match['status']}"] += 1
        return dict(kinds.most_common())

    def summary(self, label: str, _: Callable[[str], str] = str) -> str:
        """One line for the log and the terminal. `unreachable` counts articles that
        became unreachable; failed fetches (of articles, sitemaps, feeds…) are apart.
        `_` is a catalog's gettext for the terminal (the log stays in English); the
        kinds of failed fetches are codes, as in the JSON."""
        c = self.counts
        failed = self.failed_fetches()
        by_kind = ", ".join(f"{kind}: {n}" for kind, n in failed.items())
        said = _(
            "%(label)s: %(fetched)s fetched, %(new)s new, %(edited)s edited, "
            "%(removed)s removed, %(unreachable)s articles became unreachable; "
            "%(failed)s fetches failed%(kinds)s; %(problems)s problem(s) in %(seconds)ss"
        )
        return said % {
            "label": label,
            "fetched": c.get("fetched", 0),
            "new": c.get("discovered", 0),
            "edited": c.get("edited", 0),
            "removed": c.get("removed", 0),
            "unreachable": c.get("unreachable", 0),
            "failed": sum(failed.values()),
            "kinds": f" ({by_kind})" if by_kind else "",
            "problems": len(self.problems),
            "seconds": f"{self.duration_s:.1f}",
        }

    def as_json(self) -> dict[str, Any]:
        keys = (
            "fetched", "captures", "discovered", "edited", "removed", "restored",
            "unreachable", "moved", "fetch_errors", "robots_forbidden", "due", "nudged",
        )  # fmt: skip
        doc: dict[str, Any] = {k: self.counts.get(k, 0) for k in keys}
        doc["outcomes"] = {
            k.removeprefix("outcome."): v
            for k, v in self.counts.items()
            if k.startswith("outcome.")
        }
        doc["failed_fetches"] = self.failed_fetches()
        doc["problems"] = list(self.problems)
        doc["duration_s"] = round(self.duration_s, 2)
        doc["ok"] = self.ok
        return doc
