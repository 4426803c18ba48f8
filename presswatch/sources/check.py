"""Loading and checking sources.toml: every problem located by file, line and entry,
with what to fix (`presswatch sources --check`); warnings for what is suspicious but
allowed. It reads one file and nothing else: no database, no network."""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from archive.egress import Networks, parse_networks, url_refusal
from archive.errors import ConfigError
from archive.notify import NotifierEgress, notifier_refusal
from presswatch.sources.schema import NotifyConfig, SourceConfig, SourcesFile, TopicConfig

_PLACEHOLDER_HOSTS = ("example.com", "example.org", "example.net")


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
    if loc[0] in ("source", "notify") and len(loc) >= 2 and isinstance(loc[1], int):
        table = str(loc[0])  # an array of tables whose entries have a name
        entries = data.get(table) or []
        name = None
        if loc[1] < len(entries) and isinstance(entries[loc[1]], dict):
            name = entries[loc[1]].get("name")
        label = f"[{table} {name}]" if isinstance(name, str) else f"[[{table}]] #{loc[1] + 1}"
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
    browser_off: str | None = None,
) -> tuple[SourcesFile | None, list[SourceProblem]]:
    """Parse and validate; return the file (None when it has errors) and all problems,
    warnings included. With `allow_networks` (the setting), a URL the crawler would
    refuse on its face (an IP literal or `localhost` outside those networks) is an
    error too; None skips that check (the crawler enforces it at connect time anyway).
    With `notify_egress`, so is a `[[notify]]` URL the notifiers' policy refuses.
    `browser_off` (why there is no browser, `presswatch.browser.browser_status`) makes
    each `render = true` source a warning: a crawl leaves it out."""
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
        for index, subscription in enumerate(parsed.notify):
            refusal = notifier_refusal(subscription.url, notify_egress)
            if refusal is not None:
                problems.append(
                    SourceProblem(
                        label,
                        locator.line_of(("notify", index, "url")),
                        f"[notify {subscription.name}] url",
                        refusal,
                    )
                )
    if any(not p.warning for p in problems):
        return None, problems
    assert parsed is not None
    problems.extend(_warnings(parsed, locator, label))
    if browser_off is not None:
        problems.extend(
            SourceProblem(
                label,
                locator.line_of(("source", index, "render")),
                f"[source {src.name}] render",
                f"render = true needs the browser ({browser_off}): a crawl leaves this "
                "source out; install chromium (or set browser_executable) and browser = true",
                warning=True,
            )
            for index, src in enumerate(parsed.source)
            if src.render
        )
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


def _egress_problems(
    parsed: SourcesFile, locator: _Locator, label: str, allow: Networks
) -> Iterable[SourceProblem]:
    """URLs the crawler's egress policy refuses whatever DNS says (archive.url_refusal)."""
    for index, src in enumerate(parsed.source):
        for key, url in src.urls():
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
