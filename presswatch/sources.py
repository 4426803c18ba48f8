"""sources.toml: the outlets to watch and the topics that filter them.

Owns the file's schema (pydantic models), its validation with messages that name the
file, the line and what to fix (`presswatch sources --check`), and the topic matcher
that decides, on extracted title and body, whether an article belongs to a topic.

It reads one file and nothing else: no database, no network. Turning a source into
crawl requests is `presswatch.crawling`'s job; storing it is `archive.store.queries`'.
"""

from __future__ import annotations

import difflib
import ipaddress
import logging
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from archive.content import UrlPattern, compile_url_pattern, normalize_text, url_pattern_problem
from archive.egress import Networks, parse_networks, url_refusal
from archive.errors import BadInput, ConfigError
from archive.notify import (
    DEFAULT_NOTIFY_KINDS,
    NOTIFY_MODES,
    NotifierEgress,
    apprise_url_problem,
    notifier_refusal,
)
from archive.store import (
    API_FIELDS,
    ChangeKind,
    SourceOptions,
    SourceOwner,
    check_source_names,
)

log = logging.getLogger(__name__)

__all__ = [
    "NotifyConfig",
    "SourceConfig",
    "SourceProblem",
    "SourcesFile",
    "TopicConfig",
    "TopicMatcher",
    "check_sources",
    "load_sources",
]

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
_LANG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
# Scripts written without spaces between words: a keyword is a substring there.
_UNSPACED = re.compile("[\u1780-\u17ff\u19e0-\u19ff\u0e00-\u0e7f\u0e80-\u0eff\u1000-\u109f]")
_PLACEHOLDER_HOSTS = ("example.com", "example.org", "example.net")


# -- the schema ----------------------------------------------------------------------


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

    def options(self, *, owner: SourceOwner | None = None) -> SourceOptions:
        """The entry's options as the archive keeps them (`Source.config`): every field
        but the name, home page, languages and `enabled`, which have columns."""
        values = {name: getattr(self, name) for name in OPTION_FIELDS}
        return SourceOptions(
            **{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()},
            owner=owner,
        )


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


# -- the topic filter ----------------------------------------------------------------


class TopicMatcher:
    """Does a title + body mention any of the keywords?

    Both sides go through `archive.content.normalize.normalize_text` (so Khmer typed in another
    code-point order, or with zero-width spaces, still matches) and `casefold`. Keywords
    in spaced scripts match whole words, with any run of spaces or hyphens between the
    words of a phrase; keywords in Khmer and other unspaced scripts match as substrings
    of the text with its whitespace removed, since Khmer puts no spaces between words and
    writers put them between phrases at will.
    """

    def __init__(self, keywords: Iterable[str]) -> None:
        self.keywords = tuple(keywords)
        spaced: list[str] = []
        self._unspaced: list[str] = []
        for kw in self.keywords:
            folded = normalize_text(kw).casefold().strip()
            if not folded:
                continue
            if _UNSPACED.search(folded):
                self._unspaced.append(re.sub(r"\s+", "", folded))
            else:
                words = [re.escape(w) for w in re.split(r"[\s-]+", folded) if w]
                body = r"[\s\-‐–]+".join(words)
                left = r"(?<!\w)" if re.match(r"\w", folded) else ""
                # A plural ("scam compounds", "traffickers") is the same topic.
                right = r"(?:s|es)?(?!\w)" if re.search(r"\w$", folded) else ""
                spaced.append(f"{left}{body}{right}")
        self._spaced = re.compile("|".join(spaced)) if spaced else None

    def matches(self, *texts: str | None) -> bool:
        haystack = normalize_text("\n".join(t for t in texts if t)).casefold()
        if self._spaced is not None and self._spaced.search(haystack):
            return True
        if self._unspaced:
            squeezed = re.sub(r"\s+", "", haystack)
            return any(kw in squeezed for kw in self._unspaced)
        return False


# -- loading and checking ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceProblem:
    """One thing wrong (or suspicious) in sources.toml, located for the reader."""

    file: str
    line: int | None
    where: str  # e.g. "[source vod] base_url"
    message: str
    warning: bool = False

    def __str__(self) -> str:
        at = f"{self.file}:{self.line}" if self.line else self.file
        kind = "warning: " if self.warning else ""
        return f"{at}: {kind}{self.where}: {self.message}"


class _Locator:
    """Line numbers of tables and keys, found by scanning the text (tomllib gives none).

    Tracks `[[source]]` and `[[notify]]` entries by index and `[topics.NAME]` tables by
    name; a key is only counted at the top nesting level, so lines inside multi-line
    arrays are not mistaken for keys."""

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
    _KEY = re.compile(r"^\s*([A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')\s*=")

    def __init__(self, text: str) -> None:
        self.lines: dict[tuple[str, ...], int] = {}
        table: tuple[str, ...] = ()
        indexes = {"source": -1, "notify": -1}
        depth = 0
        for number, line in enumerate(text.splitlines(), start=1):
            if depth == 0:
                header = self._HEADER.match(line)
                if header:
                    name = header.group(2).strip()
                    if header.group(1) == "[[" and name in indexes:
                        indexes[name] += 1
                        table = (name, str(indexes[name]))
                    else:
                        table = tuple(p.strip().strip("\"'") for p in name.split("."))
                    self.lines.setdefault(table, number)
                    continue
                key = self._KEY.match(line)
                if key:
                    self.lines.setdefault((*table, key.group(1).strip("\"'")), number)
            depth += _bracket_delta(line)
            depth = max(depth, 0)

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        parts = [str(p) for p in loc]
        while parts:
            if tuple(parts) in self.lines:
                return self.lines[tuple(parts)]
            parts.pop()
        return None


def _bracket_delta(line: str) -> int:
    """Net `[`/`{` minus `]`/`}` outside strings and comments, for value lines."""
    delta = 0
    quote: str | None = None
    _, _, value = line.partition("=") if _Locator._KEY.match(line) else ("", "", line)
    for ch in value:
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            break
        elif ch in "[{":
            delta += 1
        elif ch in "]}":
            delta -= 1
    return delta


def _where(data: dict[str, Any], loc: Sequence[str | int]) -> str:
    if not loc:
        return "file"
    if loc[0] == "source" and len(loc) >= 2 and isinstance(loc[1], int):
        entries = data.get("source") or []
        name = None
        if loc[1] < len(entries) and isinstance(entries[loc[1]], dict):
            name = entries[loc[1]].get("name")
        label = f"[source {name}]" if isinstance(name, str) else f"[[source]] #{loc[1] + 1}"
        rest = ".".join(str(p) for p in loc[2:])
        return f"{label} {rest}".strip()
    if loc[0] == "notify" and len(loc) >= 2 and isinstance(loc[1], int):
        entries = data.get("notify") or []
        name = None
        if loc[1] < len(entries) and isinstance(entries[loc[1]], dict):
            name = entries[loc[1]].get("name")
        label = f"[notify {name}]" if isinstance(name, str) else f"[[notify]] #{loc[1] + 1}"
        rest = ".".join(str(p) for p in loc[2:])
        return f"{label} {rest}".strip()
    if loc[0] == "topics" and len(loc) >= 2:
        rest = ".".join(str(p) for p in loc[2:])
        return f"[topics.{loc[1]}] {rest}".strip()
    return ".".join(str(p) for p in loc)


def _known_keys(loc: Sequence[str | int]) -> list[str]:
    if not loc or len(loc) == 1:
        return list(SourcesFile.model_fields)
    if loc[0] == "source":
        return list(SourceConfig.model_fields)
    if loc[0] == "topics":
        return list(TopicConfig.model_fields)
    if loc[0] == "notify":
        return list(NotifyConfig.model_fields)
    return []


def _message(err: Any) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        key = str(err["loc"][-1])
        close = difflib.get_close_matches(key, _known_keys(err["loc"][:-1]), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown key {key!r}{hint} (known: {', '.join(_known_keys(err['loc'][:-1]))})"
    if err["type"] == "missing":
        return "is required"
    return msg


def check_sources(
    path: Path,
    *,
    allow_networks: Sequence[str] | None = None,
    notify_egress: NotifierEgress | None = None,
) -> tuple[SourcesFile | None, list[SourceProblem]]:
    """Parse and validate; return the file (None when it has errors) and all problems,
    warnings included. With `allow_networks` (the setting), a URL the crawler would
    refuse on its face (an IP literal or `localhost` outside those networks) is an
    error too; None skips that check (the crawler enforces it at connect time anyway).
    With `notify_egress`, so is a `[[notify]]` URL the notifiers' policy refuses."""
    label = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [
            SourceProblem(
                label,
                None,
                "file",
                "not found; copy sources.example.toml to sources.toml or pass --sources FILE",
            )
        ]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [SourceProblem(label, None, "file", f"cannot be read: {exc}")]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        match = re.search(r"line (\d+)", str(exc))
        if line is None and match:
            line = int(match.group(1))
        return None, [SourceProblem(label, line, "TOML", f"{exc}; fix the syntax there")]

    locator = _Locator(text)
    problems: list[SourceProblem] = []
    parsed: SourcesFile | None = None
    try:
        parsed = SourcesFile.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = err["loc"]
            problems.append(
                SourceProblem(label, locator.line_of(loc), _where(data, loc), _message(err))
            )

    entries = [e for e in data.get("source", []) if isinstance(e, dict)]
    topics = data.get("topics") if isinstance(data.get("topics"), dict) else {}
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        name = entry.get("name")
        where = _where(data, ("source", index))
        if isinstance(name, str):
            if name in seen:
                problems.append(
                    SourceProblem(
                        label,
                        locator.line_of(("source", index, "name")),
                        where,
                        f"name {name!r} is already used by source #{seen[name] + 1}; "
                        "names must be unique",
                    )
                )
            seen.setdefault(name, index)
        topic = entry.get("topic")
        if isinstance(topic, str) and topic not in (topics or {}):
            known = ", ".join(sorted(topics or {})) or "none defined"
            problems.append(
                SourceProblem(
                    label,
                    locator.line_of(("source", index, "topic")),
                    f"{where} topic",
                    f"topic {topic!r} is not defined; add a [topics.{topic}] table with "
                    f"keywords (defined: {known})",
                )
            )
    problems.extend(_notify_problems(data, topics or {}, locator, label))
    if parsed is not None and allow_networks is not None:
        problems.extend(_egress_problems(parsed, locator, label, parse_networks(allow_networks)))
    if parsed is not None and notify_egress is not None:
        for index, entry in enumerate(parsed.notify):
            refusal = notifier_refusal(entry.url, notify_egress)
            if refusal is not None:
                problems.append(
                    SourceProblem(
                        label,
                        locator.line_of(("notify", index, "url")),
                        f"[notify {entry.name}] url",
                        refusal,
                    )
                )
    if any(not p.warning for p in problems):
        return None, problems
    assert parsed is not None
    problems.extend(_warnings(parsed, locator, label))
    return parsed, problems


def _notify_problems(
    data: dict[str, Any], topics: dict[str, Any], locator: _Locator, label: str
) -> Iterable[SourceProblem]:
    """`[[notify]]` checks across entries: unique names, defined topics."""
    seen: set[str] = set()
    entries = [e for e in data.get("notify", []) if isinstance(e, dict)]
    for index, entry in enumerate(entries):
        name, topic = entry.get("name"), entry.get("topic")
        where = _where(data, ("notify", index))
        if isinstance(name, str):
            if name in seen:
                yield SourceProblem(
                    label,
                    locator.line_of(("notify", index, "name")),
                    where,
                    f"name {name!r} is already used by another [[notify]]; names must be unique",
                )
            seen.add(name)
        if isinstance(topic, str) and topic not in topics:
            known = ", ".join(sorted(topics)) or "none defined"
            yield SourceProblem(
                label,
                locator.line_of(("notify", index, "topic")),
                f"{where} topic",
                f"topic {topic!r} is not defined; add a [topics.{topic}] table with keywords "
                f"(defined: {known})",
            )


def _source_urls(src: SourceConfig) -> Iterable[tuple[str, str]]:
    yield "base_url", src.base_url
    for key in ("sitemaps", "feeds", "listings"):
        for url in getattr(src, key):
            yield key, url


def _egress_problems(
    parsed: SourcesFile, locator: _Locator, label: str, allow: Networks
) -> Iterable[SourceProblem]:
    """URLs the crawler's egress policy refuses whatever DNS says (archive.url_refusal)."""
    for index, src in enumerate(parsed.source):
        for key, url in _source_urls(src):
            reason = url_refusal(url, allow)
            if reason is not None:
                yield SourceProblem(
                    label,
                    locator.line_of(("source", index, key)),
                    f"[source {src.name}] {key}",
                    f"{url} would never be fetched: {reason}",
                )


def _warnings(parsed: SourcesFile, locator: _Locator, label: str) -> Iterable[SourceProblem]:
    for index, src in enumerate(parsed.source):
        where = f"[source {src.name}]"
        if not (src.sitemaps or src.feeds or src.listings):
            yield SourceProblem(
                label,
                locator.line_of(("source", index)),
                where,
                "has no sitemaps, feeds or listings: only robots.txt Sitemap: lines will be tried",
                warning=True,
            )
        for url in (src.base_url, *src.sitemaps, *src.feeds, *src.listings):
            host = urlsplit(url).hostname or ""
            if host.endswith(_PLACEHOLDER_HOSTS):
                yield SourceProblem(
                    label,
                    locator.line_of(("source", index)),
                    where,
                    f"{url} is a placeholder host; put the outlet's real URL",
                    warning=True,
                )
        if src.listings and src.article_url_pattern is None:
            yield SourceProblem(
                label,
                locator.line_of(("source", index, "listings")),
                f"{where} listings",
                "without article_url_pattern every same-site link on a listing page is "
                "fetched as a candidate article; set a pattern",
                warning=True,
            )


def load_sources(path: Path, *, allow_networks: Sequence[str] | None = None) -> SourcesFile:
    """Parse and validate, raising `ConfigError` listing every error (warnings pass);
    `allow_networks` as for `check_sources`."""
    parsed, problems = check_sources(path, allow_networks=allow_networks)
    if parsed is None:
        errors = [str(p) for p in problems if not p.warning]
        raise ConfigError(
            f"{path} has {len(errors)} problem(s):\n  "
            + "\n  ".join(errors)
            + "\n(run `presswatch sources --check` after fixing)"
        )
    return parsed


# -- sources added through the admin API ------------------------------------------------


def with_archive_sources(
    sources: SourcesFile,
    rows: Iterable[tuple[str, str, list[str], SourceOptions, bool]],
    *,
    allow_networks: Sequence[str] | None = None,
) -> SourcesFile:
    """sources.toml plus the sources added through the admin API (archive rows marked
    `managed_by = "api"`, name not in the file). The file wins on a name clash. A row
    that no longer validates, or (with `allow_networks`) names an address the egress
    policy refuses, is skipped with a warning, never crawled half-configured."""
    allow = parse_networks(allow_networks) if allow_networks is not None else None
    names = {s.name for s in sources.source}
    extra: list[SourceConfig] = []
    for name, base_url, languages, config, enabled in rows:
        if name in names or config.owner is not SourceOwner.API:
            continue
        fields = {k: getattr(config, k) for k in API_FIELDS if getattr(config, k) is not None}
        fields = {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}
        if fields.get("topic") not in (None, *sources.topics):
            log.warning(
                "source %s (admin API): topic %r is not in sources.toml; crawling it unfiltered",
                name,
                fields["topic"],
            )
            fields.pop("topic")
        try:
            extra.append(
                SourceConfig(
                    name=name, base_url=base_url, languages=languages, enabled=enabled, **fields
                )
            )
        except ValidationError as exc:
            log.warning("source %s (admin API) is invalid and not crawled: %s", name, exc)
            continue
        if allow is not None:
            refused = [r for _, u in _source_urls(extra[-1]) if (r := url_refusal(u, allow))]
            if refused:
                extra.pop()
                log.warning("source %s (admin API) is not crawled: %s", name, refused[0])
    if not extra:
        return sources
    return sources.model_copy(update={"source": [*sources.source, *extra]})
