"""URL patterns written by operators (a source's `article_url_pattern`), run in linear time.

A pattern is matched against every URL an outlet's sitemaps, feeds and listing pages
offer, and against every redirect target: text the outlet chooses. Python's `re`
backtracks, so a pattern such as `(\\w+)+/$` takes time that doubles with each character
of a URL that almost matches, on the crawler's only thread. RE2 (google-re2) compiles to
an automaton and matches in time linear in the URL, whatever the pattern; the price is
that backreferences and lookaround, which need backtracking, are refused. They are
refused when the pattern is configured (sources.toml, the admin API), with a message
that says what to write instead, never while crawling.

`url_pattern_problem` says what is wrong with a pattern (or None); `compile_url_pattern`
compiles one or raises `ConfigError` with that message. Both are pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import re2

from archive.errors import ConfigError

__all__ = ["PatternProblem", "UrlPattern", "compile_url_pattern", "url_pattern_problem"]

# RE2 refuses to build an automaton larger than this (its default, 8 MiB): a pattern
# like `(a{1000}){1000}` is a config error, not a memory spike.
MAX_PATTERN_MEMORY_BYTES = 8 << 20

EXAMPLE = "'^https://site\\.news/[a-z0-9-]+/$'"


class UrlPattern(Protocol):
    """A compiled pattern: what the crawler and detection call."""

    @property
    def pattern(self) -> str: ...

    def search(self, text: str) -> object | None: ...


@dataclass(frozen=True, slots=True)
class PatternProblem:
    """Why a pattern cannot be used. `unsupported` is True when Python's `re` would
    accept it but it needs backtracking (RE2 refuses it); False for a plain syntax error."""

    message: str
    unsupported: bool


# Features of Python's `re` that RE2 does not have, and what to write instead.
_UNSUPPORTED = (
    (re.compile(r"\\[1-9]|\(\?P=\w+\)"), "a backreference (\\1, (?P=name))",
     "match the repeated part again explicitly"),
    (re.compile(r"\(\?<?[=!]"), "lookahead or lookbehind ((?=…), (?!…), (?<=…), (?<!…))",
     "match the URL's shape directly, or list what is allowed"),
    (re.compile(r"\(\?>|[*+?}][+]"), "an atomic group or possessive quantifier",
     "use a plain group or quantifier"),
    (re.compile(r"\(\?\(\w+\)"), "a conditional group ((?(1)…|…))",
     "write both alternatives with |"),
    (re.compile(r"\\Z"), "\\Z", "write \\z or $ for the end of the URL"),
)  # fmt: skip


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # RE2 would print every refused pattern on stderr (cron mail)
    options.max_mem = MAX_PATTERN_MEMORY_BYTES
    return options


def url_pattern_problem(pattern: str, what: str = "article_url_pattern") -> PatternProblem | None:
    """None when `pattern` compiles with RE2; else what is wrong and what to change."""
    try:
        re2.compile(pattern, options=_options())
        return None
    except re2.error as exc:
        raw = exc.args[0] if exc.args else exc
        reason = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    shown = pattern if len(pattern) <= 80 else pattern[:79] + "…"
    subject = f"{what} {shown!r}" if what else repr(shown)
    try:
        re.compile(pattern)
    except re.error as syntax:
        return PatternProblem(
            f"{subject} is not a valid regular expression ({syntax}); in TOML write it "
            f"in single quotes so backslashes stay literal: {EXAMPLE}",
            unsupported=False,
        )
    for finder, feature, instead in _UNSUPPORTED:
        if finder.search(pattern):
            return PatternProblem(
                f"{subject} uses {feature}, which the crawler's regex engine (RE2, "
                f"linear time, so no outlet can stall a crawl) does not support; {instead}, "
                f"e.g. {EXAMPLE}",
                unsupported=True,
            )
    return PatternProblem(
        f"{subject} is refused by the crawler's regex engine (RE2: {reason}); simplify it, "
        f"e.g. {EXAMPLE}",
        unsupported=True,
    )


@lru_cache(maxsize=256)
def compile_url_pattern(pattern: str) -> UrlPattern:
    """The pattern compiled with RE2 (cached); `ConfigError` naming the fix when RE2
    cannot run it."""
    problem = url_pattern_problem(pattern)
    if problem is not None:
        raise ConfigError(problem.message)
    compiled: UrlPattern = re2.compile(pattern, options=_options())
    return compiled
