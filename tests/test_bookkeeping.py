"""The bookkeeping rules of `archive.store.bookkeeping`: hints merged, checks brought
forward (by discovery's dates, by the admin API), never pushed back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from archive.store import Article, bring_check_forward, merge_hints, outlet_changed_at

T0 = datetime(2026, 3, 1, 8, tzinfo=UTC)


def test_hints_merge_newer_keys_win_and_others_stay() -> None:
    article = Article(hints={"sitemap_lastmod": "a", "news_date": "d"})
    merge_hints(article, {"sitemap_lastmod": "b"})
    assert article.hints == {"sitemap_lastmod": "b", "news_date": "d"}
    blank = Article()
    merge_hints(blank, {"feed_updated": "x"})
    assert blank.hints == {"feed_updated": "x"}


@pytest.mark.parametrize(
    ("due", "to", "moved", "after"),
    [
        (None, T0, True, T0),
        (T0 + timedelta(days=1), T0, True, T0),
        (T0 - timedelta(hours=1), T0, False, T0 - timedelta(hours=1)),
        (T0, T0, False, T0),
    ],
)
def test_a_check_is_brought_forward_never_back(
    due: datetime | None, to: datetime, moved: bool, after: datetime
) -> None:
    article = Article(next_check=due)
    assert bring_check_forward(article, to) is moved
    assert article.next_check == after


@pytest.mark.parametrize(
    ("hints", "expected"),
    [
        ({}, None),
        ({"sitemap_lastmod": "2026-03-01T08:00:00+00:00"}, T0),
        (
            {
                "sitemap_lastmod": "2026-03-01T08:00:00+00:00",
                "feed_updated": "2026-03-02T08:00:00Z",
            },
            T0 + timedelta(days=1),
        ),
        ({"sitemap_lastmod": "2026-03-01T08:00:00"}, None),  # no zone: says nothing
        ({"feed_updated": "yesterday"}, None),
        ({"news_date": "2026-03-01T08:00:00+00:00"}, None),  # not a change date
    ],
)
def test_the_outlet_change_date_is_the_newest_zoned_one(
    hints: dict[str, str], expected: datetime | None
) -> None:
    assert outlet_changed_at(hints) == expected
