"""What a source's `config` column holds, typed: how to find its articles, how politely
and how deep to crawl it, its topic, and who owns its definition.

The column stays JSON (no migration), and the JSON stays as it was written before it
was typed, key for key and in the same order: a source of sources.toml stores every
field and `"from_file": true`; a source of the admin API stores what the API sets and
`"managed_by": "api"`; a source the archive made itself (a capture of an unknown
host) stores `{}`. Reading is tolerant: a key missing is its default, an unknown key
is ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any


class SourceOwner(StrEnum):
    """Where a source is defined: every crawl re-reads sources.toml, so the admin API
    may change only the sources it added."""

    FILE = "file"  # sources.toml; stored as "from_file": true
    API = "api"  # the admin API; stored as "managed_by": "api"


# The fields the admin API sets, in the order it stores them.
API_FIELDS = ("sitemaps", "feeds", "listings", "article_url_pattern", "topic", "render")


@dataclass(frozen=True, slots=True)
class SourceOptions:
    """A source's options, as sources.toml and the admin API give them (the field
    order is the JSON's)."""

    sitemaps: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    listings: tuple[str, ...] = ()
    article_url_pattern: str | None = None  # searched in the full URL of an article
    topic: str | None = None  # keep only articles on this topic (sources.toml [topics])
    crawl_delay_s: float | None = None
    max_concurrency: int | None = None
    listing_depth: int = 1
    listing_max_pages: int = 20
    max_age_days: int | None = None
    # Fetch through the browser: text and links are read from the rendered DOM
    # (JavaScript-built outlets; presswatch.browser.pages).
    render: bool = False
    owner: SourceOwner | None = None

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None) -> SourceOptions:
        """The options stored as `raw` (see the module docstring)."""
        raw = raw or {}
        given: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "owner" or raw.get(f.name) is None:
                continue
            value = raw[f.name]
            given[f.name] = tuple(value) if isinstance(value, list) else value
        owner = None
        if raw.get("from_file"):
            owner = SourceOwner.FILE
        elif raw.get("managed_by") == SourceOwner.API.value:
            owner = SourceOwner.API
        return cls(**given, owner=owner)

    def to_json(self) -> dict[str, Any]:
        """The JSON stored for these options (see the module docstring)."""
        values = {f.name: _plain(getattr(self, f.name)) for f in fields(self) if f.name != "owner"}
        if self.owner is SourceOwner.FILE:
            return values | {"from_file": True}
        if self.owner is SourceOwner.API:
            return {key: values[key] for key in API_FIELDS} | {"managed_by": "api"}
        defaults = SourceOptions()
        return {
            f.name: values[f.name]
            for f in fields(self)
            if f.name != "owner" and getattr(self, f.name) != getattr(defaults, f.name)
        }


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
