"""The recheck schedule: intervals by age, sooner for pending removals, daily full
fetches whatever the validators say. Pure: `now` is passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect

from archive.content.normalize import parse_iso_utc
from archive.errors import ConfigError
from archive.store import Article, Source, due_articles
from presswatch.runtime import Runtime
from presswatch.schedule import (
    DEFAULT_SCHEDULE,
    RecheckSchedule,
    article_age,
    conditional_headers,
    next_check,
    parse_duration,
    wants_full_fetch,
)

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)
NO_SPREAD = RecheckSchedule(spread=0)


@pytest.mark.parametrize(
    ("age", "interval"),
    [
        (timedelta(0), timedelta(minutes=30)),
        (5.9 * H, timedelta(minutes=30)),
        (6 * H, 2 * H),
        (47 * H, 2 * H),
        (48 * H, 24 * H),
        (13 * 24 * H, 24 * H),
        (14 * 24 * H, 7 * 24 * H),
        (400 * 24 * H, 7 * 24 * H),
    ],
)
def test_interval_by_age(age: timedelta, interval: timedelta) -> None:
    checked = T0 + age
    assert next_check(first_seen=T0, checked_at=checked, schedule=NO_SPREAD) == checked + interval


def test_publication_date_makes_a_backfilled_article_old() -> None:
    published = T0 - timedelta(days=400)
    due = next_check(first_seen=T0, checked_at=T0, published=published, schedule=NO_SPREAD)
    assert due == T0 + timedelta(days=7)


@pytest.mark.parametrize("published", [T0 + timedelta(days=3), None])
def test_implausible_or_missing_publication_date_is_ignored(published: datetime | None) -> None:
    assert article_age(first_seen=T0, published=published, now=T0 + H) == H


def test_pending_removal_and_unreachable_are_checked_sooner() -> None:
    old = T0 - timedelta(days=100)
    weekly = next_check(first_seen=old, checked_at=T0, schedule=NO_SPREAD)
    pending = next_check(first_seen=old, checked_at=T0, pending_removal=True, schedule=NO_SPREAD)
    down = next_check(first_seen=old, checked_at=T0, unreachable=True, schedule=NO_SPREAD)
    assert weekly - T0 == timedelta(days=7)
    assert pending - T0 == H
    assert down - T0 == 2 * H
    # Never later than the tier: a young article stays at 30 minutes.
    young = next_check(first_seen=T0, checked_at=T0, pending_removal=True, schedule=NO_SPREAD)
    assert young - T0 == timedelta(minutes=30)


def test_spread_is_deterministic_and_bounded() -> None:
    dues = {next_check(first_seen=T0, checked_at=T0, salt=i) for i in range(200)}
    assert len(dues) > 100
    assert all(timedelta(minutes=30) <= d - T0 <= timedelta(minutes=33) for d in dues)
    assert next_check(first_seen=T0, checked_at=T0, salt=7) == next_check(
        first_seen=T0, checked_at=T0, salt=7
    )


def test_full_fetch_at_least_daily() -> None:
    assert wants_full_fetch(None, T0)
    assert not wants_full_fetch(T0, T0 + 23 * H)
    assert wants_full_fetch(T0, T0 + 24 * H)


def test_conditional_headers() -> None:
    args = {"etag": '"abc"', "last_modified": "Sun, 01 Mar 2026 07:00:00 GMT"}
    fresh = conditional_headers(**args, last_full_fetch=T0, now=T0 + H)
    assert fresh == {"If-None-Match": '"abc"', "If-Modified-Since": args["last_modified"]}
    # ETags lie: after a day, a full fetch whatever the validators say.
    assert conditional_headers(**args, last_full_fetch=T0, now=T0 + 25 * H) == {}
    assert conditional_headers(**args, last_full_fetch=None, now=T0) == {}
    assert conditional_headers(etag=None, last_modified=None, last_full_fetch=T0, now=T0) == {}


def test_parse_and_describe() -> None:
    schedule = RecheckSchedule.parse("1h:5m,1d:1h,*:1d", full_fetch_every="12h")
    assert schedule.describe() == "1h:5m,1d:1h,*:1d"
    assert schedule.full_fetch_every == 12 * H
    assert DEFAULT_SCHEDULE.describe() == "6h:30m,2d:2h,2w:1d,*:1w"
    assert RecheckSchedule.parse(DEFAULT_SCHEDULE.describe()) == DEFAULT_SCHEDULE


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("6h:30m,2d:2h", "last tier must cover any age"),
        ("2d:2h,6h:30m,*:1d", "youngest to oldest"),
        ("*:1d,6h:30m,*:1d", "only the last tier"),
        ("6h,*:1d", "needs AGE:INTERVAL"),
        ("6x:30m,*:1d", "write a number and a unit"),
        ("0h:30m,*:1d", "more than zero"),
    ],
)
def test_bad_schedules(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RecheckSchedule.parse(spec)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("90s", timedelta(seconds=90)), ("1.5h", timedelta(minutes=90)), ("2w", timedelta(days=14))],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-01", T0.replace(hour=0)),
        ("2026-03-01T15:00:00+07:00", T0),
        ("2026-03-01T08:00:00Z", T0),
        ("yesterday", None),
        (None, None),
    ],
)
def test_parse_published_dates(value: str | None, expected: datetime | None) -> None:
    assert parse_iso_utc(value) == expected


# -- the due query (archive.due_articles), on SQLite and PostgreSQL ------------------------


def _archive_with_schedule(runtime: Runtime) -> dict[str, int]:
    """Two sources; articles never scheduled, due in the past, due exactly now, due
    later, and two due at the same instant (the id breaks the tie). Ids are handed out
    out of due order, as a real archive's are. Returns name -> id."""
    plan = [
        ("late", "a", T0 + H),
        ("never-2", "b", None),
        ("tie-1", "b", T0 - 2 * H),
        ("past", "b", T0 - 5 * H),
        ("never-1", "a", None),
        ("now", "b", T0),
        ("tie-2", "a", T0 - 2 * H),
        ("much-later", "a", T0 + 30 * H),
    ]
    ids: dict[str, int] = {}
    with runtime.sessions.begin() as session:
        sources = {
            name: Source(name=name, base_url=f"https://{name}.example/", created_at=T0)
            for name in ("a", "b")
        }
        session.add_all(sources.values())
        session.flush()
        for name, source, due in plan:
            url = f"https://{source}.example/{name}"
            article = Article(
                source_id=sources[source].id,
                url=url,
                fetch_url=url,
                first_seen=T0 - 24 * H,
                last_checked=T0 - 24 * H,
                next_check=due,
            )
            session.add(article)
            session.flush()
            ids[name] = article.id
    assert ids["never-2"] < ids["never-1"] and ids["tie-1"] < ids["tie-2"]
    return ids


def _due(runtime: Runtime, ids: dict[str, int], **kwargs: object) -> list[str]:
    names = {v: k for k, v in ids.items()}
    with runtime.sessions() as session:
        return [names[a.id] for a in due_articles(session, now=T0, **kwargs)]  # type: ignore[arg-type]


def test_due_articles_order_and_bounds(any_runtime: Runtime) -> None:
    ids = _archive_with_schedule(any_runtime)
    never = ["never-2", "never-1"]  # by id
    # Never-scheduled first (by id), then by due time, a tie by id; due "now" is due,
    # due later is not.
    assert _due(any_runtime, ids) == [*never, "past", "tie-1", "tie-2", "now"]
    assert _due(any_runtime, ids, all_articles=True) == [
        *never,
        "past",
        "tie-1",
        "tie-2",
        "now",
        "late",
        "much-later",
    ]


def test_due_articles_load_what_a_recheck_needs_and_the_rest_on_demand(
    any_runtime: Runtime,
) -> None:
    ids = _archive_with_schedule(any_runtime)
    with any_runtime.sessions() as session:
        first = due_articles(session, now=T0)[0]
        assert (first.id, first.fetch_url, first.next_check) == (
            ids["never-2"],
            "https://b.example/never-2",
            None,
        )
        assert first.url == "https://b.example/never-2"  # not in the pass's columns
        assert first.first_seen == T0 - 24 * H


def test_due_articles_limit_and_sources(any_runtime: Runtime) -> None:
    ids = _archive_with_schedule(any_runtime)
    assert _due(any_runtime, ids, limit=1) == ["never-2"]
    assert _due(any_runtime, ids, limit=3) == ["never-2", "never-1", "past"]
    assert _due(any_runtime, ids, limit=0) == []
    assert _due(any_runtime, ids, sources=["b"]) == ["never-2", "past", "tie-1", "now"]
    assert _due(any_runtime, ids, sources=["a", "b"]) == _due(any_runtime, ids)
    assert _due(any_runtime, ids, sources=["nobody"]) == []
    assert _due(any_runtime, ids, sources=["a"], all_articles=True, limit=2) == [
        "never-1",
        "tie-2",
    ]


def test_due_index_is_in_the_schema(any_runtime: Runtime) -> None:
    # The planner's order: the due pass reads this index instead of sorting every due row.
    indexes = {
        index["name"]: index["column_names"]
        for index in inspect(any_runtime.engine).get_indexes("articles")
    }
    assert indexes["ix_articles_next_check_id"] == ["next_check", "id"]
    assert indexes["ix_articles_source_id_next_check"] == ["source_id", "next_check"]
