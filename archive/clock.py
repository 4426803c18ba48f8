"""Dates a third party gives us (an imported record's WARC-Date, a web archive's
snapshot time), judged against our clock. Pure: `now` is handed in.

A capture dated 2099 or 9999 would be an article's newest capture for ever: it would
head every list of changes and hold each genuine later capture as out of order. So a
date later than now plus a small skew is refused when recorded (`archive.capture.judge`),
reported by backfill before anything is fetched, and flagged by `verify` in an archive
recorded before the rule.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["CLOCK_SKEW", "EARLIEST_CAPTURE", "future_date_refusal"]

# How far ahead of our clock a date we did not take ourselves may be: two honest
# machines' clocks differ by seconds, not minutes.
CLOCK_SKEW = timedelta(minutes=5)


# No page was captured before the web existed (1990); a year-1 date is a forgery or a
# broken tool, and breaks date arithmetic downstream.
EARLIEST_CAPTURE = datetime(1990, 1, 1, tzinfo=UTC)


def future_date_refusal(at: datetime, now: datetime) -> str | None:
    """Why a capture time given by a file or a web archive is refused (later than this
    machine's clock allows, or before the web), or None."""
    if at < EARLIEST_CAPTURE:
        return f"dated {at.isoformat()}, before the web existed (1990); refused"
    if at > now + CLOCK_SKEW:
        return f"dated {at.isoformat()}, after this machine's clock ({now.isoformat()}); refused"
    return None
