"""Every option we pass to trafilatura, in one object (`TRAFILATURA_OPTIONS`): the text
pass of `archive.content.extract` and the metadata fallbacks of
`archive.content.trafilatura_metadata` read the same values.

Plain data; importing it does not load trafilatura.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "TRAFILATURA_OPTIONS",
    "TrafilaturaOptions",
]


@dataclass(frozen=True, slots=True)
class TrafilaturaOptions:
    """Every option we pass to trafilatura, in one place.

    Measured on the shared fixtures (tests/test_extract.py prints the figures):
    `fast` (no readability/jusText fallback) with `favor_recall` keeps as many article
    snippets and drops as much boilerplate as the default, and it is the deterministic
    choice: the fallback picks between three algorithms by comparing text lengths, so
    a changed ad or counter could flip the winner and read as an edit (design rule 2).
    Comments are not the article; tables often are. trafilatura's date search stays in
    the markup (no `extensive_search`), because the free-text search finds the clock
    in a page header as readily as the publication date.

    `with_metadata` is off for the text pass: trafilatura's metadata pass (author
    heuristics, htmldate, categories, tags, licence) costs more CPU than its text
    extraction, and we read title, byline and dates from the markup ourselves. The
    few fields we fall back on are asked of trafilatura's metadata only on the pages
    that need them (`archive.content.trafilatura_metadata`), with the same date options.
    """

    fast: bool = True
    favor_recall: bool = True
    favor_precision: bool = False
    include_comments: bool = False
    include_tables: bool = True
    include_images: bool = False
    include_links: bool = False
    deduplicate: bool = False
    with_metadata: bool = False
    extensive_date_search: bool = False

    def date_params(self) -> dict[str, Any]:
        """htmldate's options, as trafilatura passes them on."""
        return {
            "extensive_search": self.extensive_date_search,
            "original_date": True,
            "outputformat": "%Y-%m-%d",
        }

    def as_kwargs(self) -> dict[str, Any]:
        kwargs = asdict(self)
        kwargs.pop("extensive_date_search")
        kwargs["date_extraction_params"] = self.date_params()
        return kwargs


TRAFILATURA_OPTIONS = TrafilaturaOptions()
