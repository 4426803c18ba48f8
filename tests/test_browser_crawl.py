"""Rendering during a crawl: each fetch that makes a new version is rendered after it
is recorded (the real `presswatch` command, Scrapy and Chromium against the local news
site), an unchanged recheck is not, and the archive still verifies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from archive.log import verify_archive
from archive.store import Rendering
from archive.store.models import Capture
from presswatch.demo.content import DEMO_ARTICLES
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from tests.conftest import skip_unless_ci
from tests.render_site import chromium_missing
from tests.site_server import NewsSite, cli, cli_env, write_sources

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def need_chromium() -> None:
    reason = chromium_missing()
    if reason:
        skip_unless_ci(f"browser crawl: {reason}")


@pytest.fixture
def site() -> Iterator[NewsSite]:
    with NewsSite(articles=DEMO_ARTICLES[:2]) as running:
        yield running


def run(data: Path, sources: Path, *args: str) -> dict[str, object]:
    result = cli(data, sources, *args, "--json", env=cli_env(browser="true", browser_workers=2))
    assert result.returncode == 0, result.stderr + result.stdout
    doc: dict[str, object] = json.loads(result.stdout)
    return doc


def test_new_versions_are_rendered_unchanged_rechecks_are_not(
    site: NewsSite, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    rt = Runtime(Settings(data_dir=data))
    rt.init()
    sources = write_sources(tmp_path / "sources.toml", site, topic=False, listings=[], feeds=[])
    run(data, sources, "crawl")
    with rt.sessions() as session:
        new = set(session.scalars(select(Capture.id).where(Capture.outcome == "new")))
        rows = list(session.scalars(select(Rendering)))
    assert new and {r.capture_id for r in rows} == new
    assert {r.outcome for r in rows} == {"rendered"}
    assert all(r.screenshot_sha256 for r in rows)

    run(data, sources, "recheck", "--all")
    with rt.sessions() as session:
        outcomes = set(session.scalars(select(Capture.outcome).where(Capture.origin == "crawl")))
        assert "unchanged" in outcomes or "not_modified" in outcomes, outcomes
        assert len(list(session.scalars(select(Rendering)))) == len(rows)
        report = verify_archive(session, rt.warc)
    assert report.ok, report.problems
    rt.close()
