"""`presswatch report`: stories removed and stories materially edited in a period, per
outlet, most significant first, with links to the diffs, as Markdown, CSV and JSON;
each output is read back the way its reader would (csv module, json, Markdown links)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from presswatch.cli import app as cli
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from tests import archive_helpers as h
from tests.conftest import T0

RAID = h.demo_article(h.EN_RAID)
TASK = h.demo_article(h.EN_TASK_FORCE)
KM = h.demo_article(h.KM_COMMITTEE)
CHIEF = RAID.paragraphs[3]
BASE = "https://watch.example"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Ledger (English): a material edit, a typo fix, and a takedown; Khmer outlet: a
    softened headline. One more edit falls after the period."""
    data = tmp_path_factory.mktemp("report") / "data"
    rt = Runtime(Settings(data_dir=data))
    rt.init()
    raid, task, km = h.own_page(RAID.slug), h.own_page(TASK.slug), h.own_page(KM.slug)
    gone = h.own_page(
        h.demo_article("families-of-trafficked-indonesians-plead-for-repatriation").slug
    )
    at = lambda hours: T0 + timedelta(hours=hours)  # noqa: E731
    for page in (raid, task, km, gone):
        h.record(rt, h.exchange(page.url, page.html, at=at(0)))
    h.record(rt, h.exchange(raid.url, h.remove_paragraph(raid.html, CHIEF), at=at(1)))
    h.record(rt, h.exchange(task.url, task.html.replace("broadest", "broadset"), at=at(2)))
    # "Government examines a special committee" — trafficking and scam words dropped.
    softer = km.html.replace(KM.title, "រដ្ឋាភិបាលពិនិត្យលើគណៈកម្មការពិសេសមួយ")
    assert softer != km.html
    h.record(rt, h.exchange(km.url, softer, at=at(3)))
    for t in (4, 5):
        h.record(rt, h.exchange(gone.url, h.NOT_FOUND_EN, at=at(t), status=404))
    later = h.remove_paragraph(task.html, TASK.paragraphs[3])
    h.record(rt, h.exchange(task.url, later, at=at(48)))
    rt.close()
    yield data


def invoke(data_dir: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--data-dir", str(data_dir), "report", *args])


def period(*extra: str) -> tuple[str, ...]:
    return ("--since", T0.isoformat(), "--until", (T0 + timedelta(hours=24)).isoformat(), *extra)


def as_json(data_dir: Path, *extra: str) -> dict[str, Any]:
    result = invoke(data_dir, *period("--format", "json", "--base-url", BASE, *extra))
    assert result.exit_code == 0, result.output
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def test_json_groups_removals_and_material_edits_per_outlet(data_dir: Path) -> None:
    report = as_json(data_dir)
    outlets = {o["source"]: o for o in report["outlets"]}
    assert set(outlets) == {"ledger.example", "khmer.example"}
    ledger = outlets["ledger.example"]
    assert [r["title"] for r in ledger["removed"]] == [
        "Families of trafficked Indonesians plead for repatriation"
    ]
    assert ledger["removed"][0]["how"] == "http_404"
    # The typo fix is not material; the edit after the period is not in it.
    assert [e["title"] for e in ledger["edited"]] == [RAID.title]
    edit = ledger["edited"][0]
    assert any(c.startswith("names removed (") and "Chan Virak" in c for c in edit["classes"])
    aid = edit["article_id"]
    assert edit["page"] == f"{BASE}/articles/{aid}/diff?from=1&to=2"
    assert edit["api"] == f"{BASE}/api/articles/{aid}/diff?from=1&to=2"
    km = outlets["khmer.example"]["edited"][0]
    assert "headline softened" in km["classes"]
    assert km["significance"] < edit["significance"]


def test_material_threshold_and_source_filter(data_dir: Path) -> None:
    everything = as_json(data_dir, "--min-significance", "0")
    ledger = next(o for o in everything["outlets"] if o["source"] == "ledger.example")
    scores = [e["significance"] for e in ledger["edited"]]
    assert len(scores) == 2 and scores == sorted(scores, reverse=True)  # typo fix last
    only_km = as_json(data_dir, "--source", "khmer.example")
    assert [o["source"] for o in only_km["outlets"]] == ["khmer.example"]


def test_csv_reads_back_with_one_row_per_change(data_dir: Path) -> None:
    result = invoke(data_dir, *period("--format", "csv", "--base-url", BASE + "/"))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert sorted((r["source"], r["change"]) for r in rows) == [
        ("khmer.example", "edited"),
        ("ledger.example", "edited"),
        ("ledger.example", "removed"),
    ]
    km = next(r for r in rows if r["source"] == "khmer.example")
    assert km["title"] == "រដ្ឋាភិបាលពិនិត្យលើគណៈកម្មការពិសេសមួយ"
    assert "headline softened" in km["classes"]
    assert km["page"].startswith(f"{BASE}/articles/")  # the trailing slash is not doubled
    assert 0 < float(km["significance"]) <= 1


def test_markdown_lists_outlets_with_links_to_the_diffs(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.md"
    result = invoke(data_dir, *period("--base-url", BASE, "-o", str(out)))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Presswatch report: 2026-03-01 to 2026-03-02")
    assert "## ledger.example" in text and "## khmer.example" in text
    assert "### Removed (1)" in text and "### Materially edited (1)" in text
    links = re.findall(r"\]\(<([^>]+)>\)", text)
    assert any(re.fullmatch(rf"{BASE}/articles/\d+/diff\?from=1&to=2", u) for u in links)
    assert "Chan Virak" in text


def test_relative_links_without_a_base_url_are_said_to_be_so(data_dir: Path) -> None:
    result = invoke(data_dir, *period("--format", "json"))
    report = json.loads(result.stdout)
    assert report["outlets"][0]["edited"][0]["page"].startswith("/articles/")
    # Once silent: a report pasted into a blog post linked nowhere.
    assert result.stderr == (
        "presswatch report: warning: links are relative (/articles/…) and work only next "
        "to the archive's pages; pass --base-url or set PRESSWATCH_PUBLIC_URL\n"
    )
    assert invoke(data_dir, *period("--base-url", BASE)).stderr == ""


def test_an_empty_period_says_so(data_dir: Path) -> None:
    result = invoke(data_dir, "--since", "2020-01-01", "--until", "2020-02-01")
    assert result.exit_code == 0
    assert "Nothing was removed or materially edited in this period." in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--since", "yesterday"), "--since 'yesterday': use ISO 8601"),
        (("--since", "2026-03-02", "--until", "2026-03-01"), "is before --since"),
        (("--since", "2026-03-01", "--format", "pdf"), "--format 'pdf': use one of md, csv, json"),
        (("--since", "2026-03-01", "--base-url", "watch.example"), "give an http(s) URL"),
    ],
)
def test_bad_usage_says_what_to_fix(data_dir: Path, args: tuple[str, ...], message: str) -> None:
    result = invoke(data_dir, *args)
    assert result.exit_code == 2
    assert message in result.output


def test_hostile_titles_run_neither_as_formulas_nor_as_links(tmp_path: Path) -> None:
    rt = Runtime(Settings(data_dir=tmp_path / "data"))
    rt.init()
    page = h.own_page(RAID.slug)
    hostile = page.html.replace(
        RAID.title, "=HYPERLINK(&quot;http://evil.example&quot;) [click](javascript:alert(1))"
    )
    h.record(rt, h.exchange(page.url, page.html, at=T0))
    h.record(
        rt,
        h.exchange(page.url, h.remove_paragraph(hostile, CHIEF), at=T0 + timedelta(hours=1)),
    )
    rt.close()
    result = invoke(tmp_path / "data", "--since", T0.isoformat(), "--format", "csv")
    row = next(csv.DictReader(io.StringIO(result.stdout)))
    assert row["title"].startswith("'=HYPERLINK(")
    md = invoke(tmp_path / "data", "--since", T0.isoformat()).stdout
    assert "\\[click\\](javascript:alert(1))" in md
    assert "[click](javascript" not in md


def test_one_removal_has_two_dates_each_named_the_same_everywhere(data_dir: Path) -> None:
    """The takedown was first seen at +4 h and confirmed at +5 h. `removed_at` once
    gave the first in `articles` and the page, while the event and the report gave the
    second under other names; each date now has one name in every output."""
    from fastapi.testclient import TestClient

    from search_api.app import create_app

    first, confirmed = T0 + timedelta(hours=4), T0 + timedelta(hours=5)
    item = next(o for o in as_json(data_dir)["outlets"] if o["source"] == "ledger.example")
    gone = item["removed"][0]
    assert (gone["at"], gone["removed_at"]) == (confirmed.isoformat(), first.isoformat())

    listed = CliRunner().invoke(
        cli, ["--data-dir", str(data_dir), "articles", "--status", "removed", "--json"]
    )
    article = json.loads(listed.stdout)[0]
    assert article["removed_at"] == first.isoformat()
    assert article["removal_confirmed_at"] == confirmed.isoformat()
    assert article["removal_via"] is None  # seen by our own checks
    changes = CliRunner().invoke(
        cli, ["--data-dir", str(data_dir), "changes", "--kind", "removed", "--json"]
    )
    event = json.loads(changes.stdout)[0]
    assert event["at"] == confirmed.isoformat()
    assert event["detail"]["first_seen_missing"] == first.isoformat()

    md = invoke(data_dir, *period()).stdout
    assert "- confirmed 2026-03-01 13:00 UTC, first found gone 2026-03-01 12:00 UTC: " in md

    rt = Runtime(Settings(data_dir=data_dir))
    try:
        with TestClient(create_app(rt.settings, sessions=rt.sessions)) as client:
            api = client.get(f"/api/articles/{article['id']}").json()["article"]
            assert api["removed_at"].startswith("2026-03-01T12:00")
            assert api["removal_confirmed_at"].startswith("2026-03-01T13:00")
            page = client.get(f"/articles/{article['id']}").text
    finally:
        rt.close()
    header = page[page.index("<dt>Removed") : page.index("</dl>")]
    assert "first found gone" in header and "confirmed" in header
