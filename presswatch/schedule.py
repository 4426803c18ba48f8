"""When to check an archived article again, and whether that check may be conditional.

Outlets edit most in an article's first hours and days, so young articles are checked
often and old ones rarely. The default, by age:

    younger than 6 hours   every 30 minutes
    younger than 2 days    every 2 hours
    younger than 2 weeks   every day
    older                  every week

An article waiting for a removal to be confirmed (design rule 3) is checked again
sooner, so a takedown is confirmed within the hour rather than next week.

Conditional requests (If-None-Match / If-Modified-Since) save bandwidth, but ETags lie
(CDNs hash the template, CMSs forget to bump them), so a full fetch happens at least
every `full_fetch_every` whatever the validators say.

Pure: values in, values out. The caller passes `now`; nothing here reads a clock, a
database or the network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from archive.errors import ConfigError

__all__ = [
    "DEFAULT_SCHEDULE",
    "RecheckSchedule",
    "Tier",
    "article_age",
    "conditional_headers",
    "format_duration",
    "next_check",
    "parse_duration",
    "wants_full_fetch",
]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


def parse_duration(text: str, *, allow_zero: bool = False) -> timedelta:
    """`90s`, `30m`, `2h`, `1d`, `1w` → timedelta (`0s` too when `allow_zero`)."""
    match = _DURATION.match(text)
    if not match:
        raise ConfigError(
            f"duration {text!r}: write a number and a unit s, m, h, d or w (e.g. 30m, 2h, 1d)"
        )
    value = float(match.group(1)) * _UNITS[match.group(2)]
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"duration {text!r} must be more than zero")
    return timedelta(seconds=value)


def format_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit in ("w", "d", "h", "m"):
        size = _UNITS[unit]
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True, slots=True)
class Tier:
    """Articles younger than `until` (None: any age) are checked every `every`."""

    until: timedelta | None
    every: timedelta


@dataclass(frozen=True, slots=True)
class RecheckSchedule:
    tiers: tuple[Tier, ...] = (
        Tier(timedelta(hours=6), timedelta(minutes=30)),
        Tier(timedelta(days=2), timedelta(hours=2)),
        Tier(timedelta(days=14), timedelta(days=1)),
        Tier(None, timedelta(days=7)),
    )
    full_fetch_every: timedelta = timedelta(days=1)
    # A suspected takedown is confirmed quickly; one failed check must not wait a week.
    pending_every: timedelta = timedelta(hours=1)
    unreachable_every: timedelta = timedelta(hours=2)
    # Spread checks of articles discovered together over this fraction of the interval,
    # so a sitemap of 500 new articles does not come due in one burst.
    spread: float = field(default=0.1)

    def __post_init__(self) -> None:
        if not self.tiers or self.tiers[-1].until is not None:
            raise ConfigError("recheck schedule: the last tier must cover any age (`*:7d`)")
        limits = [t.until for t in self.tiers[:-1]]
        if any(u is None for u in limits):
            raise ConfigError("recheck schedule: only the last tier may be `*`")
        if limits != sorted(limits):  # type: ignore[type-var]
            raise ConfigError("recheck schedule: list ages from youngest to oldest")

    @classmethod
    def parse(
        cls,
        spec: str,
        *,
        full_fetch_every: str = "1d",
        pending_every: str = "1h",
    ) -> RecheckSchedule:
        """`"6h:30m,2d:2h,14d:1d,*:7d"`: age limit, colon, interval; `*` is any age."""
        tiers = []
        for part in spec.split(","):
            if not part.strip():
                continue
            age, sep, every = part.partition(":")
            if not sep:
                raise ConfigError(
                    f"recheck schedule {spec!r}: {part.strip()!r} needs AGE:INTERVAL, e.g. 6h:30m"
                )
            until = None if age.strip() == "*" else parse_duration(age)
            tiers.append(Tier(until, parse_duration(every)))
        return cls(
            tiers=tuple(tiers),
            full_fetch_every=parse_duration(full_fetch_every),
            pending_every=parse_duration(pending_every),
        )

    def describe(self) -> str:
        return ",".join(
            f"{'*' if t.until is None else format_duration(t.until)}:{format_duration(t.every)}"
            for t in self.tiers
        )

    def interval_for(self, age: timedelta) -> timedelta:
        for tier in self.tiers:
            if tier.until is None or age < tier.until:
                return tier.every
        return self.tiers[-1].every


DEFAULT_SCHEDULE = RecheckSchedule()


def article_age(*, first_seen: datetime, published: datetime | None, now: datetime) -> timedelta:
    """Age from publication when the page's own date is plausible (not in the future,
    not after we first saw it), else from first sight. A backfilled article from 2019
    found today is old, not young."""
    born = first_seen
    if published is not None and published <= first_seen and published <= now:
        born = published
    return max(now - born, timedelta(0))


def next_check(
    *,
    first_seen: datetime,
    checked_at: datetime,
    published: datetime | None = None,
    pending_removal: bool = False,
    unreachable: bool = False,
    schedule: RecheckSchedule = DEFAULT_SCHEDULE,
    salt: int = 0,
) -> datetime:
    """When the article checked at `checked_at` is next due.

    `salt` (e.g. the article id) spreads articles of the same age deterministically over
    `schedule.spread` of the interval, so identical inputs give identical answers."""
    age = article_age(first_seen=first_seen, published=published, now=checked_at)
    every = schedule.interval_for(age)
    if pending_removal:
        every = min(every, schedule.pending_every)
    elif unreachable:
        every = min(every, schedule.unreachable_every)
    jitter = every * schedule.spread * ((salt * 2654435761) % 1000 / 1000.0)
    return checked_at + every + jitter


def wants_full_fetch(
    last_full_fetch: datetime | None, now: datetime, schedule: RecheckSchedule = DEFAULT_SCHEDULE
) -> bool:
    """True when the last full (200) fetch is too old to trust a 304."""
    return last_full_fetch is None or now - last_full_fetch >= schedule.full_fetch_every


def conditional_headers(
    *,
    etag: str | None,
    last_modified: str | None,
    last_full_fetch: datetime | None,
    now: datetime,
    schedule: RecheckSchedule = DEFAULT_SCHEDULE,
) -> dict[str, str]:
    """Validators to send, or {} when a full fetch is due (or there are none)."""
    if wants_full_fetch(last_full_fetch, now, schedule):
        return {}
    headers: dict[str, str] = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers
