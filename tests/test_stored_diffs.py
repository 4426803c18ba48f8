"""Diffs computed once and stored (design rule 11, issue 22): capture stores the diff of
each new version against the one before, within its work budget; the API, the pages,
the feed and the command line read that one and never align texts on a request;
migration 0009 fills it in for an archive recorded before; a stored diff that does not
fit its two versions is never shown."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import feedparser
import pytest
from alembic import command
from sqlalchemy import delete, func, select
from typer.testing import CliRunner

from archive.capture.stored_diffs import encode_diff, pair_diff
from archive.content.align import WORK_BUDGET
from archive.content.diff import DiffOp, OpKind, diff_versions
from archive.content.diff_json import render_json
from archive.store.db import alembic_config
from archive.store.models import StoredDiff, Version
from archive.views.export import version_side
from presswatch.cli import app as cli
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from search_api.app import create_app
from tests import archive_helpers as h
from tests.conftest import T0
from tests.sequence_work import count_visits, repeated_sentences

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette asks for httpx2; httpx works the same.
    from fastapi.testclient import TestClient

RAID = h.demo_article(h.EN_RAID)
CHIEF = RAID.paragraphs[3]


@dataclass
class Edited:
    url: str
    article_id: int


def _record_edit(rt: Runtime, old: str, new: str, extra: tuple[str, ...] = ()) -> Edited:
    page = h.own_page(RAID.slug, extra=extra)
    h.record(rt, h.exchange(page.url, page.html, at=T0))
    edited = page.html.replace(old, new)
    assert edited != page.html
    assert h.record(rt, h.exchange(page.url, edited, at=T0 + timedelta(hours=1))).events == (
        "edited",
    )
    with rt.sessions() as s:
        article_id = s.scalars(select(Version.article_id)).first()
    assert article_id is not None
    return Edited(page.url, article_id)


def _versions(rt: Runtime) -> tuple[Version, Version]:
    with rt.sessions() as s:
        old, new = s.scalars(select(Version).order_by(Version.n)).all()
        s.expunge_all()
        return old, new


def test_capture_stores_the_diff_and_migration_0009_fills_older_archives(
    any_runtime: Runtime,
) -> None:
    rt = any_runtime
    _record_edit(rt, f"<p>{CHIEF}</p>", "")
    old, new = _versions(rt)
    expected = diff_versions(version_side(old), version_side(new))
    with rt.sessions() as s:
        (row,) = s.scalars(select(StoredDiff)).all()
        assert (row.old_version_id, row.new_version_id) == (old.id, new.id)
        assert row.ops == json.loads(json.dumps(encode_diff(expected)))
        assert pair_diff(s, old, new) == expected
    # An archive recorded before 0009 has no stored diffs; the migration computes them.
    cfg = alembic_config(rt.sessions.kw["bind"])
    command.downgrade(cfg, "0008")
    command.upgrade(cfg, "head")
    with rt.sessions() as s:
        (row,) = s.scalars(select(StoredDiff)).all()
        assert (row.old_version_id, row.new_version_id) == (old.id, new.id)
        assert row.ops == json.loads(json.dumps(encode_diff(expected)))


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    app = create_app(runtime.settings, sessions=runtime.sessions, warc=runtime.warc)
    with TestClient(app) as c:
        yield c


def _store(rt: Runtime, doc: dict[str, Any]) -> None:
    with rt.sessions.begin() as s:
        row = s.scalars(select(StoredDiff)).one()
        row.ops = doc


def test_readers_show_the_stored_diff(runtime: Runtime, client: TestClient) -> None:
    """Another exact diff of the same pair, stored in its place, is what the API, the
    diff page, the feed and `presswatch diff` show: none of them computed their own."""
    edited = _record_edit(runtime, f"<p>{CHIEF}</p>", "")
    old, new = _versions(runtime)
    whole = diff_versions(version_side(old), version_side(new))
    one_replacement = (DiffOp(OpKind.REPLACE, old.text, new.text),)
    doc = encode_diff(whole)
    doc["body"] = [["~", len(old.text), len(new.text)]]
    doc["stats"] = [1, 2, 3, 4]  # marks this row's figures apart from a fresh count
    _store(runtime, doc)

    api = client.get(f"/api/articles/{edited.article_id}/diff").json()
    assert [(op["op"], op["old"], op["new"]) for op in api["body"]] == [
        ("replace", old.text, new.text)
    ]
    assert api["stats"] == {
        "chars_added": 1,
        "chars_removed": 2,
        "words_added": 3,
        "words_removed": 4,
    }
    page = client.get(f"/articles/{edited.article_id}/diff").text
    assert page.count('class="pw-del"') == len(old.text.split("\n"))  # every old line
    feed = feedparser.parse(client.get("/feeds/changes.atom").content)
    (entry,) = [e for e in feed.entries if e.title.startswith("Edited")]
    assert "3 words added, 4 removed." in entry.summary
    result = CliRunner().invoke(
        cli,
        ["--data-dir", str(runtime.settings.data_dir), "diff", edited.url, "--format", "json"],
    )
    assert result.exit_code == 0, result.output
    assert [tuple(op.values()) for op in json.loads(result.stdout)["body"]] == [
        (op.kind.value, op.old, op.new) for op in one_replacement
    ]


def test_a_stored_diff_that_does_not_fit_its_versions_is_not_shown(
    runtime: Runtime, client: TestClient
) -> None:
    edited = _record_edit(runtime, f"<p>{CHIEF}</p>", "")
    old, new = _versions(runtime)
    fresh = render_json(diff_versions(version_side(old), version_side(new)))
    for damage in (
        lambda d: d["body"].__setitem__(0, ["=", d["body"][0][1] + 1, d["body"][0][2] + 1]),
        lambda d: d["body"].pop(),
        lambda d: d["fields"].__setitem__("title", [["~", 1, 1]]),
        lambda d: d.__setitem__("body", "not a list"),
    ):
        doc = encode_diff(diff_versions(version_side(old), version_side(new)))
        damage(doc)
        _store(runtime, doc)
        shown = client.get(f"/api/articles/{edited.article_id}/diff").json()
        assert shown["body"] == fresh["body"]
    # Made by another algorithm: computed afresh, as an evidence package's verifier would.
    with runtime.sessions.begin() as s:
        s.scalars(select(StoredDiff)).one().algorithm = "older"
    assert client.get(f"/api/articles/{edited.article_id}/diff").json()["body"] == fresh["body"]


def test_the_repeated_sentence_attack_costs_a_budget_once_and_nothing_per_view(
    runtime: Runtime, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 22: an 11 KB article of short repeated sentences, every fifth changed, took
    30 s to import and seconds per view. Recording it now costs at most the diff's
    budget and the judgement's; the API, the page and the feed align nothing."""
    old_text, new_text = repeated_sentences(900)
    visits = count_visits(monkeypatch)
    edited = _record_edit(runtime, old_text, new_text, extra=(old_text,))
    assert visits[0] <= 2 * WORK_BUDGET
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(StoredDiff)) == 1
        assert s.scalars(select(StoredDiff)).one().ops["coarse"] is True

    visits[0] = 0
    api = client.get(f"/api/articles/{edited.article_id}/diff").json()
    assert api["changed"] == ["body"] and api["coarse"] is True
    assert client.get(f"/articles/{edited.article_id}/diff").status_code == 200
    for fmt in ("html", "unified"):
        shown = client.get(f"/api/articles/{edited.article_id}/diff?format={fmt}")
        assert shown.status_code == 200
    assert client.get("/feeds/changes.atom").status_code == 200
    assert visits[0] == 0

    # Without the stored row (an archive not yet migrated), a view costs one budget.
    with runtime.sessions.begin() as s:
        s.execute(delete(StoredDiff))
    client.get(f"/api/articles/{edited.article_id}/diff")
    assert 0 < visits[0] <= WORK_BUDGET


def test_an_explicit_pair_is_computed_on_demand(runtime: Runtime) -> None:
    """Only consecutive versions are stored; `diff --from 1 --to 3` computes, bounded."""
    page = h.own_page(RAID.slug)
    texts = [page.html, page.html.replace(f"<p>{CHIEF}</p>", "")]
    texts.append(texts[1].replace("212", "200"))
    for hours, html in enumerate(texts):
        h.record(runtime, h.exchange(page.url, html, at=T0 + timedelta(hours=hours)))
    with runtime.sessions() as s:
        pairs = s.execute(select(StoredDiff.old_version_id, StoredDiff.new_version_id)).all()
        v1, v2, v3 = s.scalars(select(Version).order_by(Version.n)).all()
        assert sorted(pairs) == [(v1.id, v2.id), (v2.id, v3.id)]
        assert pair_diff(s, v1, v3) == diff_versions(version_side(v1), version_side(v3))
    settings = Settings(data_dir=runtime.settings.data_dir)
    result = CliRunner().invoke(
        cli, ["--data-dir", str(settings.data_dir), "diff", page.url, "--from", "1", "--to", "3"]
    )
    assert result.exit_code == 0, result.output
    assert f"-{CHIEF}" in result.output
