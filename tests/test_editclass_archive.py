"""Edit classes and significance through the whole archive: stored on each `edited`
event when it is recorded, computed for events recorded before they existed (and
backfilled into the column by migration 0005), and shown and filtered by
`presswatch changes`, `/api/changes`, the Atom feed and the pages."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from alembic import command
from sqlalchemy import select
from typer.testing import CliRunner

from archive.store import list_changes
from archive.store.db import alembic_config
from archive.store.models import ChangeEvent
from presswatch.cli import app as cli
from presswatch.demo.content import DEMO_ARTICLES
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from search_api.app import create_app
from tests import archive_helpers as h
from tests.conftest import T0

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette asks for httpx2; httpx works the same.
    from fastapi.testclient import TestClient

RAID = h.demo_article(h.EN_RAID)
TASK = h.demo_article(h.EN_TASK_FORCE)
KM = h.demo_article(h.KM_COMMITTEE)
BAVET = next(a for a in DEMO_ARTICLES if a.slug.startswith("survivors-describe"))
CHIEF = RAID.paragraphs[3]  # names the provincial police chief
MINISTRY = "ក្រសួងមហាផ្ទៃ"  # the Ministry of Interior, named in the Khmer story


@dataclass
class Archive:
    runtime: Runtime
    urls: dict[str, str]


def _at(hours: float) -> Any:
    return T0 + timedelta(hours=hours)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    """Three edits of our demo articles (a paragraph naming an official cut and a
    number changed; a typo; a Khmer ministry left unnamed) and one takedown."""
    rt = Runtime(Settings(data_dir=tmp_path_factory.mktemp("editclass") / "data"))
    rt.init()
    raid, task, km, bavet = (h.own_page(a.slug) for a in (RAID, TASK, KM, BAVET))
    for page in (raid, task, km, bavet):
        h.record(rt, h.exchange(page.url, page.html, at=_at(0)))

    cut = h.remove_paragraph(raid.html, CHIEF).replace("freed 212 workers", "freed 200 workers")
    assert h.record(rt, h.exchange(raid.url, cut, at=_at(1))).events == ("edited",)
    typo = task.html.replace("the broadest campaign", "the broadset campaign")
    assert h.record(rt, h.exchange(task.url, typo, at=_at(2))).events == ("edited",)
    assert MINISTRY in km.html
    unnamed = km.html.replace(f"អ្នកនាំពាក្យ{MINISTRY}", "អ្នកនាំពាក្យម្នាក់")
    assert h.record(rt, h.exchange(km.url, unnamed, at=_at(3))).events == ("edited",)
    for t in (4, 5):
        h.record(rt, h.exchange(bavet.url, h.NOT_FOUND_EN, at=_at(t), status=404))
    urls = {"raid": raid.url, "task": task.url, "km": km.url, "bavet": bavet.url}
    yield Archive(rt, urls)
    rt.close()


def run(archive: Archive, *args: str) -> Any:
    result = CliRunner().invoke(cli, ["--data-dir", str(archive.runtime.settings.data_dir), *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def changes(archive: Archive, *args: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = json.loads(run(archive, "changes", "--json", *args))
    return out


def edits_by_url(archive: Archive) -> dict[str, dict[str, Any]]:
    rows = changes(archive, "--kind", "edited")
    by_url = {row["url"]: row for row in rows}
    return {name: by_url[url] for name, url in archive.urls.items() if url in by_url}


def class_names(row: dict[str, Any]) -> set[str]:
    return {c["class"] for c in row["detail"]["classes"]}


def test_each_edit_is_stored_with_its_classes_and_significance(archive: Archive) -> None:
    edits = edits_by_url(archive)
    raid = edits["raid"]["detail"]
    assert {
        "paragraphs_removed",
        "names_removed",
        "numbers_changed",
        "silent_edit",
    } <= class_names(edits["raid"])
    names = next(c for c in raid["classes"] if c["class"] == "names_removed")["names"]
    assert any("Chan Virak" in n for n in names)
    numbers = next(c for c in raid["classes"] if c["class"] == "numbers_changed")
    assert {"old": "212", "new": "200"}.items() <= numbers["changes"][0].items()
    assert class_names(edits["task"]) == {"silent_edit"}
    assert (
        MINISTRY
        in next(c for c in edits["km"]["detail"]["classes"] if c["class"] == "names_removed")[
            "names"
        ]
    )
    assert edits["raid"]["detail"]["significance"] > edits["km"]["detail"]["significance"]
    assert edits["km"]["detail"]["significance"] > edits["task"]["detail"]["significance"]
    with archive.runtime.sessions() as s:
        for event in s.scalars(select(ChangeEvent).where(ChangeEvent.kind == "edited")):
            assert event.significance == event.detail["significance"]
        removed = s.scalars(select(ChangeEvent).where(ChangeEvent.kind == "removed")).one()
        assert removed.significance is None and "classes" not in removed.detail


def test_changes_filters_and_sorts_by_significance(archive: Archive) -> None:
    edits = edits_by_url(archive)
    material = changes(archive, "--min-significance", "0.3")
    assert {row["url"] for row in material} == {archive.urls["raid"], archive.urls["km"]}
    ranked = changes(archive, "--sort", "significance")
    scores = [row["detail"].get("significance", -1) for row in ranked]
    assert scores == sorted(scores, reverse=True)
    assert ranked[0]["url"] == archive.urls["raid"]
    assert ranked[-1]["kind"] != "edited"  # events without a score come last
    text = run(archive, "changes", "--kind", "edited")
    assert f"significance {edits['raid']['detail']['significance']:.2f}" in text
    bad = CliRunner().invoke(
        cli,
        ["--data-dir", str(archive.runtime.settings.data_dir), "changes", "--sort", "loudest"],
    )
    assert bad.exit_code == 2 and "newest, significance" in bad.output


def test_events_recorded_before_classes_existed_get_them_on_the_fly(
    tmp_path: Path,
) -> None:
    rt = Runtime(Settings(data_dir=tmp_path / "data"))
    rt.init()
    page = h.own_page(RAID.slug)
    h.record(rt, h.exchange(page.url, page.html, at=_at(0)))
    h.record(rt, h.exchange(page.url, h.remove_paragraph(page.html, CHIEF), at=_at(1)))
    engine = rt.sessions.kw["bind"]
    with rt.sessions.begin() as s:
        event = s.scalars(select(ChangeEvent).where(ChangeEvent.kind == "edited")).one()
        stored = dict(event.detail)
        # As an archive recorded before edit classes: no classes, no score, no column.
        event.detail = {k: v for k, v in stored.items() if k not in ("classes", "significance")}
        event.significance = None
    archive = Archive(rt, {"raid": page.url})
    shown = edits_by_url(archive)["raid"]["detail"]
    assert shown["classes"] == stored["classes"]
    assert shown["significance"] == stored["significance"]
    history = json.loads(run(archive, "history", page.url, "--json"))
    edited = next(e for e in history["events"] if e["kind"] == "edited")
    assert edited["detail"]["classes"] == stored["classes"]
    # Migration 0005 fills the column of such events, so filters find them.
    assert changes(archive, "--min-significance", "0.1") == []
    cfg = alembic_config(engine)
    command.downgrade(cfg, "0003")
    # To the head (0005 among them): readers of changes look at later tables too.
    command.upgrade(cfg, "head")
    assert [r["url"] for r in changes(archive, "--min-significance", "0.1")] == [page.url]
    with rt.sessions() as s:
        event = s.scalars(select(ChangeEvent).where(ChangeEvent.kind == "edited")).one()
        assert event.significance == stored["significance"]
    rt.close()


@pytest.fixture(scope="module")
def client(archive: Archive) -> Iterator[TestClient]:
    rt = archive.runtime
    settings = rt.settings.model_copy(update={"public_url": "http://watch.example"})
    app = create_app(settings, sessions=rt.sessions, warc=rt.warc, clock=lambda: _at(10))
    with TestClient(app) as c:
        yield c


def test_api_filters_sorts_and_pages_by_significance(client: TestClient, archive: Archive) -> None:
    material = client.get("/api/changes", params={"min_significance": 0.3}).json()
    assert {c["url"] for c in material["data"]} == {archive.urls["raid"], archive.urls["km"]}
    assert all("classes" in c["detail"] for c in material["data"])

    everything = client.get("/api/changes", params={"sort": "significance"}).json()["data"]
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"sort": "significance", "limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/changes", params=params).json()
        seen += [c["id"] for c in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [c["id"] for c in everything]  # no skip, no repeat, same order
    scores = [c["detail"].get("significance", -1) for c in everything]
    assert scores == sorted(scores, reverse=True)

    assert client.get("/api/changes", params={"min_significance": 2}).status_code == 422
    newest_cursor = client.get("/api/changes", params={"limit": 1}).json()["next_cursor"]
    wrong = client.get("/api/changes", params={"sort": "significance", "cursor": newest_cursor})
    assert wrong.status_code == 400


def test_feed_filters_by_significance_and_names_the_classes(
    client: TestClient, archive: Archive
) -> None:
    body = client.get("/feeds/changes.atom", params={"min_significance": 0.3}).content
    feed = feedparser.parse(body)
    assert not feed.bozo, feed.bozo_exception
    assert len(feed.entries) == 2
    raid = next(e for e in feed.entries if e.links[1].href == archive.urls["raid"])
    terms = {t.term for t in raid.tags if t.get("scheme") == "urn:presswatch:edit-class"}
    assert {"paragraphs_removed", "names_removed", "numbers_changed"} <= terms
    assert "Significance 0." in raid.summary
    assert "numbers changed (212 → 200)" in raid.summary
    assert "min_significance=0.3" in feed.feed.links[0].href


def test_pages_show_classes_and_filter_by_significance(
    client: TestClient, archive: Archive
) -> None:
    page = client.get("/changes", params={"min_significance": "0.3", "sort": "significance"})
    assert page.status_code == 200
    html = page.text
    assert html.count('class="pw-significance"') == 2
    assert "names removed" in html and "Chan Virak" in html
    assert "broadset" not in html and TASK.title not in html
    assert html.index(RAID.title) < html.index(KM.title)  # most significant first
    bad = client.get("/changes", params={"min_significance": "lots"})
    assert bad.status_code == 400 and "a number from 0 to 1" in bad.text
    edits = edits_by_url(archive)
    article = client.get(f"/articles/{edits['task']['article_id']}").text
    assert "silent edit" in article and 'class="pw-significance"' in article
    raid_id = edits["raid"]["article_id"]
    diff = client.get(f"/articles/{raid_id}/diff", params={"from": 1, "to": 2}).text
    assert f"significance {edits['raid']['detail']['significance']:.2f}" in diff
    assert "numbers changed (212 → 200)" in diff
    same = client.get(f"/articles/{raid_id}/diff", params={"from": 2, "to": 2}).text
    assert 'class="pw-significance"' not in same


def test_significance_order_and_cursor_on_every_database(any_runtime: Runtime) -> None:
    """The score's filter, order and keyset cursor are SQL: the same on SQLite and
    PostgreSQL, equal scores included (ordered by time, then id)."""
    rt = any_runtime
    pages = [h.own_page(a.slug) for a in (RAID, TASK, KM, BAVET)]
    for i, page in enumerate(pages):
        h.record(rt, h.exchange(page.url, page.html, at=_at(i)))
    for i, page in enumerate(pages):
        # The same edit twice (a new byline only: equal scores) and two others.
        article = (RAID, TASK)[i] if i < 2 else None
        if article is not None:
            byline = article.byline.removeprefix("By ")
            assert byline in page.html
            edited = page.html.replace(byline, "Ledger Staff")
        else:
            edited = h.remove_paragraph(page.html, page.snippet)
        assert h.record(rt, h.exchange(page.url, edited, at=_at(10 + i))).events == ("edited",)
    with rt.sessions() as s:
        ranked = list_changes(s, by_significance=True)
        order = [(r.event.significance or -1.0, r.event.at, r.event.id) for r in ranked]
        assert order == sorted(order, reverse=True)
        walked = []
        cursor = None
        while True:
            page_rows = list_changes(s, by_significance=True, before_significance=cursor, limit=1)
            if not page_rows:
                break
            ev = page_rows[0].event
            walked.append(ev.id)
            cursor = (ev.significance if ev.significance is not None else -1.0, ev.at, ev.id)
        assert walked == [r.event.id for r in ranked]
        least = sorted(r.event.significance for r in ranked if r.event.significance is not None)
        assert least[0] == least[1]  # the two byline edits tie: time and id order them
        kept = list_changes(s, min_significance=least[2])
        assert len(kept) == 2 and all(r.event.kind == "edited" for r in kept)
