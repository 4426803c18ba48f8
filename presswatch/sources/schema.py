"""The schema of sources.toml (pydantic models): `[topics.NAME]`, `[[source]]` and
`[[notify]]` entries, each field validated with a message that says what to write."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Sequence
from dataclasses import fields as dataclass_fields
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from archive.content import UrlPattern, compile_url_pattern, normalize_text, url_pattern_problem
from archive.errors import BadInput, ConfigError
from archive.notify import DEFAULT_NOTIFY_KINDS, NOTIFY_MODES, apprise_url_problem
from archive.store import ChangeKind, SourceOptions, SourceOwner, check_source_names
from presswatch.sources.topics import TopicMatcher

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
_LANG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def _check_url(value: str, what: str) -> str:
    """A URL the crawler can fetch: absolute http(s), a real-looking host, no spaces."""
    value = value.strip()
    if not value:
        raise ValueError(f"{what} is empty; give an absolute URL such as https://news.example/")
    if any(ch.isspace() for ch in value):
        raise ValueError(f"{what} {value!r} contains whitespace; percent-encode it (%20)")
    parts = urlsplit(value)
    if not parts.scheme or not parts.netloc:
        hint = value if "://" in value else "https://" + value.lstrip("/")
        raise ValueError(f"{what} {value!r} must be absolute, e.g. {hint!r}")
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{what} {value!r} must use http or https, not {parts.scheme}")
    host = parts.hostname or ""
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise ValueError(f"{what} {value!r} has an invalid port") from exc
    if not _plausible_host(host):
        raise ValueError(
            f"{what} {value!r} has host {host!r}, which cannot be reached on the internet; "
            "check the spelling (a public host name has a dot, e.g. vodenglish.news)"
        )
    return value


def _plausible_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.split(".")
    return len(labels) >= 2 and all(
        label and re.fullmatch(r"[a-z0-9-]+|xn--[a-z0-9-]+", label) for label in labels
    )


class TopicConfig(BaseModel):
    """`[topics.NAME]`: an article belongs to the topic when its title or body contains
    any keyword (case-insensitive; Khmer compared after normalization)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keywords: list[str] = Field(min_length=1, description="Words or phrases, any script.")

    @field_validator("keywords")
    @classmethod
    def _no_blank(cls, value: list[str]) -> list[str]:
        for kw in value:
            if not normalize_text(kw).strip():
                raise ValueError("a keyword is blank; remove it or write the word")
        return value


class SourceConfig(BaseModel):
    """One `[[source]]` entry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Unique slug: lower-case letters, digits, '-' and '_'.")
    base_url: str = Field(description="The outlet's home page.")
    languages: list[str] = Field(default_factory=list, description="e.g. ['en', 'km'].")
    sitemaps: list[str] = Field(default_factory=list, description="Sitemap or sitemap index URLs.")
    feeds: list[str] = Field(default_factory=list, description="RSS or Atom feed URLs.")
    listings: list[str] = Field(
        default_factory=list, description="Pages whose links lead to articles."
    )
    article_url_pattern: str | None = Field(
        default=None, description="Regex searched in the full URL of an article."
    )
    topic: str | None = Field(default=None, description="Keep only articles on this topic.")
    enabled: bool = Field(default=True, description="false: keep the entry, skip crawling.")
    crawl_delay_s: float | None = Field(
        default=None, ge=0, le=600, description="Minimum seconds between requests to the host."
    )
    max_concurrency: int | None = Field(
        default=None, ge=1, le=16, description="Parallel requests to the host."
    )
    listing_depth: int = Field(
        default=1, ge=0, le=5, description="How many listing pages deep to follow."
    )
    listing_max_pages: int = Field(
        default=20, ge=1, le=1000, description="At most this many listing pages per crawl."
    )
    max_age_days: int | None = Field(
        default=None,
        ge=1,
        description="Skip sitemap and feed entries older than this (by lastmod or date).",
    )
    render: bool = Field(
        default=False,
        description="true: render every page in the browser and read its text and links "
        "from the rendered DOM (JavaScript-built outlets); needs Chromium.",
    )

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError(
                f"{value!r} is not a slug; use lower-case letters, digits, '-' and '_' "
                "(e.g. 'vod-english')"
            )
        return value

    @field_validator("base_url")
    @classmethod
    def _base(cls, value: str) -> str:
        return _check_url(value, "base_url")

    @field_validator("sitemaps", "feeds", "listings")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        return [_check_url(v, "URL") for v in value]

    @field_validator("languages")
    @classmethod
    def _langs(cls, value: list[str]) -> list[str]:
        for lang in value:
            if not _LANG.match(lang):
                raise ValueError(f"{lang!r} is not a language code; use e.g. 'en' or 'km'")
        return value

    @field_validator("article_url_pattern")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is None:
            return None
        # RE2, not `re`: matched against URLs the outlet chooses, so it must run in
        # linear time (archive.content.patterns); backreferences and lookaround are refused here.
        problem = url_pattern_problem(value, what="")
        if problem is not None:
            raise ValueError(problem.message)
        return value

    @cached_property
    def article_regex(self) -> UrlPattern | None:
        return compile_url_pattern(self.article_url_pattern) if self.article_url_pattern else None

    def urls(self) -> Iterator[tuple[str, str]]:
        """(key, URL) for each URL of the entry that the crawler fetches."""
        yield "base_url", self.base_url
        for key in ("sitemaps", "feeds", "listings"):
            for url in getattr(self, key):
                yield key, url

    def options(self, *, owner: SourceOwner | None = None) -> SourceOptions:
        """The entry's options as the archive keeps them (`Source.config`): every field
        but the name, home page, languages and `enabled`, which have columns."""
        values: dict[str, Any] = {}
        for name in OPTION_FIELDS:
            value = getattr(self, name)
            values[name] = tuple(value) if isinstance(value, list) else value
        return SourceOptions(**values, owner=owner)


# The fields of an entry that the archive keeps in `Source.config` (all of SourceOptions').
OPTION_FIELDS = tuple(f.name for f in dataclass_fields(SourceOptions) if f.name != "owner")


class NotifyConfig(BaseModel):
    """One `[[notify]]` entry: a notification subscription (see presswatch.notify)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Unique slug of the subscription.")
    url: str = Field(description="Apprise URL: mailto://…, json://…, tgram://…, slack://…")
    sources: list[str] = Field(default_factory=list, description="Source names; empty: all.")
    topic: str | None = Field(default=None, description="A [topics.NAME] whose keywords match.")
    keywords: list[str] = Field(default_factory=list, description="Words in title or text.")
    kinds: list[str] = Field(
        default_factory=lambda: list(DEFAULT_NOTIFY_KINDS), description="Change kinds."
    )
    min_significance: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Edits scoring less are not sent."
    )
    mode: str = Field(default="immediate", description="immediate or digest (daily).")
    enabled: bool = Field(default=True, description="false: keep the entry, send nothing.")

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError(f"{value!r} is not a slug; use lower-case letters, digits, '-', '_'")
        return value

    @field_validator("url")
    @classmethod
    def _apprise(cls, value: str) -> str:
        problem = apprise_url_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value.strip()

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, value: list[str]) -> list[str]:
        known = [k.value for k in ChangeKind]
        for kind in value:
            if kind not in known:
                raise ValueError(f"{kind!r} is not a change kind; use {', '.join(known)}")
        return value

    @field_validator("mode")
    @classmethod
    def _mode(cls, value: str) -> str:
        if value not in NOTIFY_MODES:
            raise ValueError(f"{value!r}: use {' or '.join(NOTIFY_MODES)}")
        return value

    @field_validator("keywords")
    @classmethod
    def _no_blank(cls, value: list[str]) -> list[str]:
        if any(not normalize_text(kw).strip() for kw in value):
            raise ValueError("a keyword is blank; remove it or write the word")
        return value


class SourcesFile(BaseModel):
    """The whole file: `[topics.*]` tables, `[[source]]` and `[[notify]]` entries."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    topics: dict[str, TopicConfig] = Field(default_factory=dict)
    source: list[SourceConfig] = Field(default_factory=list)
    notify: list[NotifyConfig] = Field(default_factory=list)

    @property
    def sources(self) -> list[SourceConfig]:
        return list(self.source)

    def get(self, name: str) -> SourceConfig:
        try:
            check_source_names([name], (s.name for s in self.source))
        except BadInput as exc:
            raise ConfigError(f"sources.toml: {exc}") from None
        return next(s for s in self.source if s.name == name)

    def select(self, names: Sequence[str] = ()) -> list[SourceConfig]:
        """The named sources (all enabled ones when none are named)."""
        if not names:
            return [s for s in self.source if s.enabled]
        return [self.get(n) for n in names]

    def matcher_for(self, source: SourceConfig) -> TopicMatcher | None:
        if source.topic is None:
            return None
        return TopicMatcher(self.topics[source.topic].keywords)
