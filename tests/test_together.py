"""Removals that happen together (issue 25, items 3-5): copies of one story recorded at
three outlets through the real capture path, removed at chosen dates (one from a
web-archive backfill), make exactly one `removed_together` event per story and
episode, shown by `changes --json`, `/api/changes`, the Atom feed, the pages, the
report and a notification; and an edit removing a paragraph that another outlet's copy
still carries names it and the copy ("lives on"), a paragraph removed everywhere not."""

from __future__ import annotations

import csv
import html as html_lib
import io
import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from archive.notify import SubscriptionSpec, add_subscription
from archive.store import StoryEvent, StoryEventOutbox
from archive.store.db import alembic_config
from archive.stories import Removal, episodes_of, story_of
from presswatch.cli import app as cli
from presswatch.crawling.indexing import index_outbox
from presswatch.crawling.stories import sketch_stories
from presswatch.crawling.together import find_together
from presswatch.demo.content import DemoArticle
from presswatch.notify import send_due
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from search_api.app import create_app
from tests import archive_helpers as h
from tests.search_pages import english_page
from tests.webhook_receiver import LOCAL, Webhook

T0 = datetime(2026, 4, 1, 6, 0, tzinfo=UTC)
OUTLETS = ("mekong-post.example", "delta-times.example", "river-wire.example")
SNAPSHOT = "http://archive.example/web/20260404060000/https://delta-times.example/"


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def _page(outlet: str, article: DemoArticle, slug: str) -> tuple[str, str]:
    """An outlet's copy of a wire story: its own headline and intro, then the wire text."""
    url = f"https://{outlet}/news/{slug}/"
    name = outlet.removesuffix(".example")
    html = english_page(
        site=name.replace("-", " ").title(),
        title=f"{name.split('-')[0].title()} report: {article.title}",
        byline="Staff",
        published="2026-03-31T09:00:00+07:00",
        paragraphs=[f"Our correspondent in {name.split('-')[1]} reports.", *article.paragraphs],
    )
    return url, html


def _gone(rt: Runtime, url: str, at: datetime, *, origin: str = "crawl") -> None:
    """Two checks that find the copy gone (the second confirms the removal)."""
    for hours in (0, 2):
        ex = h.exchange(url, h.NOT_FOUND_EN, at=at + timedelta(hours=hours), status=404)
        if origin == "web_archive":
            ex = replace(
                ex,
                origin="web_archive",
                provenance={
                    "archive": "wayback",
                    "snapshot_url": SNAPSHOT,
                    "timestamp": at.strftime("%Y%m%d%H%M%S"),
                },
            )
        h.record(rt, ex)


def _together(rt: Runtime) -> list[StoryEvent]:
    with rt.sessions() as s:
        rows = list(s.scalars(select(StoryEvent).order_by(StoryEvent.id)))
        s.expunge_all()
        return rows


@dataclass
class Built:
    rt: Runtime
    urls: dict[str, dict[str, str]]  # story → outlet → url
    ids: dict[str, dict[str, int]]


def _build(rt: Runtime) -> Built:
    """Three wire stories at three outlets, recorded on day 0 and sketched:
    - `raid`: removed at mekong-post on day 1 (alone: nothing), at delta-times on day 4
      per a web archive's snapshot (two outlets within 7 days: one event), at river-wire
      on day 6 (the same episode: the event grows, no second one);
    - `bondage`: removed at mekong-post on day 0 and delta-times on day 10 (nothing);
    - `families`: two copies, removed on days 2 and 3 before any sketch was made, so the
      story forms after the removals were seen (found when it forms)."""
    stories = {
        "raid": h.demo_article(h.EN_RAID),
        "bondage": h.demo_article("survivors-describe-debt-bondage-inside-bavet-casino-complex"),
        "families": h.demo_article("families-of-trafficked-indonesians-plead-for-repatriation"),
    }
    urls: dict[str, dict[str, str]] = {}
    ids: dict[str, dict[str, int]] = {}
    for name, article in stories.items():
        outlets = OUTLETS if name != "families" else OUTLETS[:2]
        for outlet in outlets:
            url, html = _page(outlet, article, article.slug)
            result = h.record(rt, h.exchange(url, html, at=day(0)))
            assert result.article_id is not None
            urls.setdefault(name, {})[outlet] = url
            ids.setdefault(name, {})[outlet] = result.article_id
    return Built(rt, urls, ids)


def test_removed_together_fires_once_per_story_and_episode(any_runtime: Runtime) -> None:
    rt = any_runtime
    b = _build(rt)
    # `families`: both copies removed before their story exists; the removals are
    # judged (no story yet: nothing), then the sketches make the story.
    _gone(rt, b.urls["families"]["mekong-post.example"], day(2))
    _gone(rt, b.urls["families"]["delta-times.example"], day(3))
    assert find_together(rt, now=lambda: day(3.5)) == (0, None)
    sketched, problem = sketch_stories(rt, now=lambda: day(3.5))
    assert problem is None and sketched >= 8
    with rt.sessions() as s:
        raid_story = story_of(s, b.ids["raid"]["mekong-post.example"])
        assert raid_story is not None and len(raid_story.copies) == 2
        bondage_story = story_of(s, b.ids["bondage"]["mekong-post.example"])
        assert bondage_story is not None and bondage_story.id != raid_story.id
    assert find_together(rt, now=lambda: day(3.5)) == (1, None)
    (families,) = _together(rt)
    assert families.detail["sources"] == ["delta-times.example", "mekong-post.example"]

    # `raid` at one outlet: nothing.
    _gone(rt, b.urls["raid"]["mekong-post.example"], day(1))
    _gone(rt, b.urls["bondage"]["mekong-post.example"], day(0.5))
    assert find_together(rt, now=lambda: day(1.5)) == (0, None)
    assert len(_together(rt)) == 1
    # At a second outlet three days later, learned from a web archive: one event.
    _gone(rt, b.urls["raid"]["delta-times.example"], day(4), origin="web_archive")
    assert find_together(rt, now=lambda: day(4.5)) == (1, None)
    raid = _together(rt)[-1]
    assert raid.outlets == 2 and raid.article_id == b.ids["raid"]["delta-times.example"]
    assert raid.at == day(4) + timedelta(hours=2)  # the confirmation that made it two
    removals = {r["source"]: r for r in raid.detail["removals"]}
    assert set(removals) == {"mekong-post.example", "delta-times.example"}
    assert removals["mekong-post.example"]["origin"] == "crawl"
    assert removals["mekong-post.example"]["via"] is None
    assert removals["mekong-post.example"]["removed_at"] == day(1).isoformat()
    assert (
        removals["mekong-post.example"]["confirmed_at"] == (day(1) + timedelta(hours=2)).isoformat()
    )
    assert removals["delta-times.example"]["origin"] == "web_archive"
    assert removals["delta-times.example"]["via"]["snapshot"] == SNAPSHOT
    # A third outlet within the window: the same event, grown; never a second one.
    _gone(rt, b.urls["raid"]["river-wire.example"], day(6))
    assert find_together(rt, now=lambda: day(6.5)) == (0, None)
    events = _together(rt)
    assert [e.id for e in events] == [families.id, raid.id]
    grown = events[-1]
    assert grown.outlets == 3 and grown.at == raid.at
    assert [r["source"] for r in grown.detail["removals"]] == [
        "mekong-post.example",
        "delta-times.example",
        "river-wire.example",
    ]
    # `bondage`: the second removal ten days after the first: nothing.
    _gone(rt, b.urls["bondage"]["delta-times.example"], day(10.5))
    assert find_together(rt, now=lambda: day(11)) == (0, None)
    assert len(_together(rt)) == 2
    # Judging again changes nothing (the outbox is drained; requeued, still one each).
    with rt.sessions.begin() as s:
        for story in b.ids.values():
            s.add_all(StoryEventOutbox(article_id=a, created_at=day(12)) for a in story.values())
    assert find_together(rt, now=lambda: day(12)) == (0, None)
    assert [(e.id, e.outlets) for e in _together(rt)] == [(families.id, 2), (raid.id, 3)]


def test_two_stories_merged_later_keep_one_event_per_episode(runtime: Runtime) -> None:
    """Raid copies at two outlets and bondage copies at two others, each pair removed
    within days: two stories, two events. An article carrying both texts then bridges
    them into one story, whose overlapping episodes become one event (the older keeps
    its id; the younger is marked merged into it and leaves the change list)."""
    rt = runtime
    raid, bondage = (
        h.demo_article(h.EN_RAID),
        h.demo_article("survivors-describe-debt-bondage-inside-bavet-casino-complex"),
    )
    urls = {}
    for outlet, article in (
        ("a-news.example", raid),
        ("b-news.example", raid),
        ("c-news.example", bondage),
        ("d-news.example", bondage),
    ):
        url, page = _page(outlet, article, article.slug)
        h.record(rt, h.exchange(url, page, at=day(0)))
        urls[outlet] = url
    sketch_stories(rt, now=lambda: day(0.5))
    for outlet, when in (("a", 1), ("b", 2), ("c", 2.5), ("d", 3)):
        _gone(rt, urls[f"{outlet}-news.example"], day(when))
    find_together(rt, now=lambda: day(3.5))
    first, second = _together(rt)
    assert first.story_id != second.story_id
    both = replace(raid, paragraphs=(*raid.paragraphs, *bondage.paragraphs))
    url, page = _page("e-news.example", both, "digest")
    h.record(rt, h.exchange(url, page, at=day(4)))
    assert index_outbox(rt)[1] is None
    kept, merged = _together(rt)
    assert kept.id == first.id and merged.merged_into == first.id
    assert kept.outlets == 4 and len(kept.detail["removals"]) == 4
    changes = cli_json(rt, "changes", "--kind", "removed_together", "--json")
    assert [c["id"] for c in changes] == [first.id]


def _removal(n: int, source: str, days: float) -> Removal:
    at = day(days)
    return Removal(n, n, f"https://{source}/{n}", source, at, at, "http_404", "crawl", None)


@pytest.mark.parametrize(
    ("removals", "outlets", "expected"),
    [
        ([("a", 0)], 2, []),
        ([("a", 0), ("b", 7)], 2, [[1, 2]]),  # seven days exactly: inside
        ([("a", 0), ("b", 7.01)], 2, []),
        ([("a", 0), ("a", 1)], 2, []),  # one outlet twice is one outlet
        ([("a", 0), ("b", 10), ("c", 15)], 2, [[2, 3]]),  # the window slides
        ([("a", 0), ("b", 3), ("c", 5), ("d", 9)], 2, [[1, 2, 3]]),  # d: alone after it
        ([("a", 0), ("b", 3), ("c", 9), ("d", 12)], 2, [[1, 2], [3, 4]]),  # two episodes
        ([("a", 0), ("b", 3)], 3, []),
    ],
)
def test_episodes_group_removals_by_window_and_outlets(
    removals: list[tuple[str, float]], outlets: int, expected: list[list[int]]
) -> None:
    given = [_removal(i + 1, src, d) for i, (src, d) in enumerate(removals)]
    got = episodes_of(given, outlets=outlets, days=7)
    assert [[r.event_id for r in e] for e in got] == expected


# -- where it shows --------------------------------------------------------------------


@pytest.fixture
def built(runtime: Runtime) -> Iterator[Built]:
    b = _build(runtime)
    sketch_stories(runtime, now=lambda: day(0.5))
    _gone(runtime, b.urls["raid"]["mekong-post.example"], day(1))
    _gone(runtime, b.urls["raid"]["delta-times.example"], day(4), origin="web_archive")
    yield b


def cli_json(rt: Runtime, *args: str) -> Any:
    result = CliRunner().invoke(cli, ["--data-dir", str(rt.settings.data_dir), *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if "--json" in args else result.stdout


def test_changes_api_feed_pages_and_report_show_it(built: Built) -> None:
    rt = built.rt
    _drained, problem = index_outbox(rt)  # what `run` does after a crawl
    assert problem is None
    (event,) = _together(rt)

    changes = cli_json(rt, "changes", "--kind", "removed_together", "--json")
    assert [c["kind"] for c in changes] == ["removed_together"]
    (change,) = changes
    assert change["id"] == event.id and change["source"] == "delta-times.example"
    assert {r["source"]: r["origin"] for r in change["detail"]["removals"]} == {
        "mekong-post.example": "crawl",
        "delta-times.example": "web_archive",
    }
    everything = cli_json(rt, "changes", "--json")
    assert sum(c["kind"] == "removed_together" for c in everything) == 1
    assert [c["kind"] for c in cli_json(rt, "changes", "--kind", "removed", "--json")] == [
        "removed",
        "removed",
    ]
    human = cli_json(rt, "changes", "--kind", "removed_together")
    assert "removed_together" in human and "mekong-post.example: removed" in human
    # A source filter keeps it when any of its removals is at that outlet.
    by_source = cli_json(rt, "changes", "--source", "mekong-post.example", "--json")
    assert "removed_together" in [c["kind"] for c in by_source]
    assert "removed_together" not in [
        c["kind"] for c in cli_json(rt, "changes", "--source", "river-wire.example", "--json")
    ]

    app = create_app(rt.settings, sessions=rt.sessions, warc=rt.warc)
    with TestClient(app) as client:
        api = client.get("/api/changes", params={"kind": "removed_together"}).json()
        assert [c["kind"] for c in api["data"]] == ["removed_together"]
        assert api["data"][0]["detail"]["removals"] == change["detail"]["removals"]
        # Pages of one change at a time never skip or repeat it among the others.
        seen, cursor = [], None
        while True:
            params: dict[str, Any] = {"limit": 1}
            if cursor:
                params["cursor"] = cursor
            page = client.get("/api/changes", params=params).json()
            seen += [(c["kind"], c["id"]) for c in page["data"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert len(seen) == len(everything) and len(set(seen)) == len(seen)
        feed = client.get("/feeds/changes.atom").text
        assert f"urn:presswatch:story-event:{event.id}" in feed
        assert "removed at 2 outlets within 7 days" in feed
        assert "per web archive" in feed
        page_html = client.get("/changes", params={"kind": "removed_together"}).text
        assert "removed at 2 outlets within 7 days" in page_html
        for outlet in ("mekong-post.example", "delta-times.example"):
            article_id = built.ids["raid"][outlet]
            article = client.get(f"/articles/{article_id}").text
            assert "Removed at several outlets" in article
            assert "seen by our crawl" in article and "per web archive" in article
            detail = client.get(f"/api/articles/{article_id}").json()
            assert [t["id"] for t in detail["removed_together"]] == [event.id]
        untouched = client.get(f"/api/articles/{built.ids['raid']['river-wire.example']}").json()
        assert untouched["removed_together"] == []
        history = cli_json(rt, "history", str(built.ids["raid"]["mekong-post.example"]), "--json")
        assert [t["outlets"] for t in history["removed_together"]] == [2]

    since = ("--since", day(-1).isoformat(), "--until", day(20).isoformat())
    report = cli_json(rt, "report", *since, "--json")
    (story,) = report["together"]
    assert story["outlets"] == 2 and story["story_id"] == event.story_id
    assert {(r["source"], r["origin"]) for r in story["removals"]} == {
        ("mekong-post.example", "crawl"),
        ("delta-times.example", "web_archive"),
    }
    markdown = cli_json(rt, "report", *since, "--base-url", "https://watch.example")
    section = markdown.split("## Stories removed at several outlets (1)", 1)[1]
    assert "mekong-post.example: first found gone 2026-04-02 06:00 UTC" in section
    assert "(our crawl)" in section and "(per web archive), snapshot" in section
    rows = list(csv.DictReader(io.StringIO(cli_json(rt, "report", *since, "--format", "csv"))))
    together = [r for r in rows if r["change"] == "removed_together"]
    assert {(r["source"], r["origin"], r["story_id"]) for r in together} == {
        ("mekong-post.example", "crawl", str(event.story_id)),
        ("delta-times.example", "web_archive", str(event.story_id)),
    }
    assert all(r["removed_at"] and r["confirmed_at"] for r in together)


@pytest.mark.parametrize("sort", ["newest", "significance"])
def test_pages_of_changes_never_skip_a_story_event_that_ties_a_change(
    built: Built, sort: str
) -> None:
    """Story events count their ids apart: one may share `(at, id)` with a change event.
    Paging one row at a time across that tie shows each exactly once."""
    from archive.store import ChangeEvent

    rt = built.rt
    assert index_outbox(rt)[1] is None
    with rt.sessions.begin() as s:
        story_event = s.scalars(select(StoryEvent)).one()
        twin = s.get(ChangeEvent, story_event.id)
        assert twin is not None
        story_event.at = twin.at
    app = create_app(rt.settings, sessions=rt.sessions, warc=rt.warc)
    with TestClient(app) as client:
        whole = client.get("/api/changes", params={"sort": sort, "limit": 100}).json()["data"]
        expected = [(c["kind"] == "removed_together", c["id"]) for c in whole]
        assert (True, story_event.id) in expected and (False, story_event.id) in expected
        seen, cursor = [], None
        while True:
            params: dict[str, Any] = {"limit": 1, "sort": sort}
            if cursor:
                params["cursor"] = cursor
            page = client.get("/api/changes", params=params).json()
            seen += [(c["kind"] == "removed_together", c["id"]) for c in page["data"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert seen == expected


def test_a_subscription_to_the_kind_is_told_each_copys_removal(built: Built) -> None:
    rt = built.rt
    with Webhook() as hook:
        with rt.sessions.begin() as s:
            for name, kinds in (("together", ("removed_together",)), ("edits", ("edited",))):
                spec = SubscriptionSpec(name, hook.url, kinds=kinds)
                add_subscription(s, spec, origin="cli", now=T0, egress=LOCAL)
        assert index_outbox(rt)[1] is None
        report = send_due(rt.sessions, egress=LOCAL, now=day(5))
        assert report.failed == {}
        (message,) = hook.received
        assert "removed at several outlets" in message["title"]  # the kind in words
        body = message["message"]
        assert "removed at 2 outlets within 7 days" in body
        assert "[mekong-post.example] removed 2026-04-02T06:00:00+00:00" in body
        assert SNAPSHOT in body and "a web archive" in body
        # Sent once: nothing is queued again.
        assert index_outbox(rt)[1] is None
        send_due(rt.sessions, egress=LOCAL, now=day(6))
        assert len(hook.received) == 1


# -- a removed passage that lives on ------------------------------------------------------


def test_an_edit_names_a_removed_paragraph_still_up_elsewhere(runtime: Runtime) -> None:
    """The raid story at three outlets. Delta-times and river-wire cut the police chief's
    paragraph; then mekong-post cuts it and the paragraph on the Interior Ministry, which
    the other two still carry: only the latter lives on."""
    rt = runtime
    article = h.demo_article(h.EN_RAID)
    chief, ministry = article.paragraphs[3], article.paragraphs[4]
    pages = {o: _page(o, article, article.slug) for o in OUTLETS}
    for url, html in pages.values():
        h.record(rt, h.exchange(url, html, at=day(0)))
    for outlet in OUTLETS[1:]:
        url, html = pages[outlet]
        h.record(rt, h.exchange(url, h.remove_paragraph(html, chief), at=day(1)))
    sketch_stories(rt, now=lambda: day(1.5))
    url, html = pages["mekong-post.example"]
    cut = h.remove_paragraph(h.remove_paragraph(html, chief), ministry)
    h.record(rt, h.exchange(url, cut, at=day(2)))
    index_outbox(rt)

    edits = cli_json(rt, "changes", "--kind", "edited", "--json")
    mine = next(c for c in edits if c["source"] == "mekong-post.example")
    (lives,) = mine["detail"]["lives_on"]
    assert lives["passage"] == ministry
    assert sorted(c["source"] for c in lives["copies"]) == [
        "delta-times.example",
        "river-wire.example",
    ]
    assert all(c["status"] == "edited" for c in lives["copies"])
    # The others' edits removed a paragraph that mekong-post still carried then, and
    # no longer does: nothing lives on for them now.
    others = [c for c in edits if c["source"] != "mekong-post.example"]
    assert others and all("lives_on" not in c["detail"] for c in others)
    human = cli_json(rt, "changes", "--kind", "edited")
    assert "still up at delta-times.example, river-wire.example" in human
    app = create_app(rt.settings, sessions=rt.sessions, warc=rt.warc)
    with TestClient(app) as client:
        page = client.get(f"/articles/{mine['article_id']}").text
        assert "Removed here, still up elsewhere" in page
        assert html_lib.escape(ministry) in page.split("Removed here, still up elsewhere", 1)[1]
        feed = client.get("/feeds/changes.atom").text
        assert "Removed here, still up at delta-times.example" in feed
    # The leaf's stored detail is untouched: `lives_on` is worked out when read.
    with rt.sessions() as s:
        from archive.store import ChangeEvent

        stored = s.get(ChangeEvent, mine["id"])
        assert stored is not None and "lives_on" not in stored.detail
    assert cli_json(rt, "verify", "--json")["ok"] is True


# -- migration -------------------------------------------------------------------------


def test_migration_0011_runs_both_ways_and_queues_existing_removals(any_runtime: Runtime) -> None:
    rt = any_runtime
    b = _build(rt)
    _gone(rt, b.urls["raid"]["mekong-post.example"], day(1))
    _gone(rt, b.urls["raid"]["delta-times.example"], day(2))
    cfg = alembic_config(rt.sessions.kw["bind"])
    command.downgrade(cfg, "0010")
    command.upgrade(cfg, "head")
    with rt.sessions() as s:
        queued = set(s.scalars(select(StoryEventOutbox.article_id)))
        assert queued == {
            b.ids["raid"]["mekong-post.example"],
            b.ids["raid"]["delta-times.example"],
        }
    assert index_outbox(rt)[1] is None
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(StoryEvent)) == 1


# -- end to end: crawled for real ------------------------------------------------------


@pytest.mark.e2e
def test_takedowns_at_crawled_outlets_are_reported_together(tmp_path: Path) -> None:
    """Three local outlets serve one wire story under their own headlines; `presswatch
    run` archives them, two then answer 404 (confirmed by two rechecks) and the next
    `run` reports one `removed_together`; a third outlet's takedown grows it."""
    from presswatch.demo.outlet import NewsSite
    from presswatch.demo.site_state import Mode
    from tests.site_server import cli as run_cli
    from tests.site_server import cli_env

    wire = h.demo_article(h.EN_RAID)
    names = ("phnom-daily", "delta-post", "river-times")
    data_dir = tmp_path / "data"
    Runtime(Settings(data_dir=data_dir)).init()

    def presswatch(sources: Path, *args: str) -> Any:
        done = run_cli(data_dir, sources, *args, "--json", env=cli_env(), timeout=600)
        assert done.returncode == 0, done.stderr + done.stdout
        return json.loads(done.stdout)

    with ExitStack() as stack:
        sites = {
            name: stack.enter_context(
                NewsSite(
                    articles=[
                        wire.edited(
                            title=f"{name.split('-')[0].title()}: {wire.title}",
                            paragraphs=(f"From our desk at {name}.", *wire.paragraphs),
                        )
                    ]
                )
            )
            for name in names
        }
        sources = tmp_path / "sources.toml"
        sources.write_text(
            "\n".join(
                f'[[source]]\nname = "{name}"\nbase_url = "{site.base_url}"\n'
                f'languages = ["en"]\nsitemaps = ["{site.base_url}sitemap_index.xml"]\n'
                f"article_url_pattern = '{NewsSite.ARTICLE_PATTERN}'\n"
                for name, site in sites.items()
            ),
            encoding="utf-8",
        )
        presswatch(sources, "run")
        for name in names[:2]:
            sites[name].set_mode(wire.slug, Mode.NOT_FOUND)
        presswatch(sources, "recheck", "--all")
        presswatch(sources, "recheck", "--all")
        presswatch(sources, "run")
        (event,) = presswatch(sources, "changes", "--kind", "removed_together")
        assert sorted(r["source"] for r in event["detail"]["removals"]) == sorted(names[:2])
        assert {r["origin"] for r in event["detail"]["removals"]} == {"crawl"}
        sites[names[2]].set_mode(wire.slug, Mode.GONE)
        presswatch(sources, "recheck", "--all")
        presswatch(sources, "recheck", "--all")
        presswatch(sources, "run")
        (grown,) = presswatch(sources, "changes", "--kind", "removed_together")
        assert grown["id"] == event["id"] and grown["detail"]["outlets"] == 3


@pytest.mark.e2e
@pytest.mark.usefixtures("need_chromium")
def test_the_article_and_changes_pages_show_the_story_in_a_real_browser(
    built: Built, browser: Any, tmp_path: Path
) -> None:
    """What a reader sees, drawn by Debian's chromium from `presswatch serve`: the copy
    removed at mekong-post lists its story's other copies, delta-times removed and
    river-wire still up, and the removals at two outlets within the window, each with
    its date and where it was learned (a web archive for delta-times); the changes page
    shows the event. The sections are checked as drawn, not only present."""
    import os

    from selenium.webdriver.common.by import By

    from tests.browser_harness import screenshot, set_viewport, wait_for
    from tests.site_server import served_presswatch

    rt = built.rt
    _drained, problem = index_outbox(rt)
    assert problem is None
    rt.close()  # the server opens the archive itself
    gone = built.ids["raid"]["mekong-post.example"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRESSWATCH_", "MEILI_"))}
    env.pop("DATABASE_URL", None)
    with served_presswatch(rt.settings.data_dir, tmp_path / "serve.log", env) as base:
        set_viewport(browser, 1280, 900)
        browser.get(f"{base}/articles/{gone}")
        story = wait_for(browser, "section.pw-story")
        copies = story.find_elements(By.CSS_SELECTOR, "li.pw-story-copy")
        status = {
            c.find_element(By.TAG_NAME, "strong").text: c.get_attribute("data-status")
            for c in copies
        }
        assert status == {"delta-times.example": "removed", "river-wire.example": "live"}
        # Each copy's status is its badge; the links stay readable on the page's own
        # background (a removed copy's row was once drawn white-on-red, links unreadable).
        for copy in copies:
            background = copy.value_of_css_property("background-color")
            assert background in ("rgba(0, 0, 0, 0)", "transparent"), background
        together = browser.find_element(By.CSS_SELECTOR, "section.pw-together")
        assert together.is_displayed() and story.is_displayed()
        assert "removed at 2 outlets" in together.text
        assert "web archive" in together.text.lower()
        # Drawn, not just in the DOM: both sections have a size on the page.
        for section in (story, together):
            assert section.size["height"] > 40 and section.size["width"] > 300
        shot = screenshot(browser, "story-article.png")
        assert shot.stat().st_size > 10_000

        browser.get(f"{base}/changes?kind=removed_together")
        event = wait_for(browser, "div.pw-together")
        assert event.is_displayed()
        assert "The same story removed at 2 outlets within 7 days" in event.text
        screenshot(browser, "story-changes.png")
