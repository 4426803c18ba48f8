"""The SVG charts, read back as XML: an article's timeline, a source's captures per day
and changes per week, the 30-day summary, and the pages that embed them.

A small archive of our own spans seven weeks (so days and weeks differ and one capture
falls outside the 30-day window); every count a chart draws is checked against the
archive's rows, read here with plain ORM queries rather than the code under test. A
hostile title and a Khmer title go through the same charts.
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import select

from archive.i18n import label
from archive.store import SourceOptions, source_by_name
from archive.store.models import Article, Capture, ChangeEvent, Version
from archive.store.queries import upsert_source
from archive.views import DayCounts, captures_per_day, changes_per_day, per_week
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from search_api.backends.sqlite_fts import SqliteFtsBackend
from search_api.charts import captures_chart, clean, count_ticks, edit_radius, time_ticks
from tests import archive_helpers as h
from tests.api_archive import RAID, Built, article_html, make_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette asks for httpx2; httpx works the same.
    from fastapi.testclient import TestClient

NOW = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"
BASE = "https://weekly.example/"
EDITED_URL = BASE + "news/raid/"
GONE_URL = BASE + "news/gone/"
OLD_URL = BASE + "news/old/"
HOSTILE_URL = BASE + "news/hostile/"
KM_URL = BASE + "km/4412/"
# A title that tries to close the text node, add a script and an external link, hide
# itself with bidi overrides and carry characters XML cannot hold.
HOSTILE_TITLE = (
    "&lt;/text&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
    "&lt;a href='https://evil.example/x'&gt;\u202eevil\u202c ]]&gt; &amp;amp; \x01end"
)


def words(value: object) -> str:
    """A code in the English words the charts use (archive/i18n/labels.py)."""
    return label(value, str)


def days_ago(n: float) -> datetime:
    return NOW - timedelta(days=n)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    data = tmp_path_factory.mktemp("charts") / "data"
    rt = Runtime(Settings(data_dir=data))
    rt.init()
    with rt.sessions.begin() as s:
        upsert_source(
            s, name="weekly", base_url=BASE, languages=["en", "km"], config=SourceOptions(), now=NOW
        )
    ids: dict[str, int] = {}

    def rec(name: str, url: str, body: str, ago: float, **kw: Any) -> None:
        result = h.record(rt, h.exchange(url, body, at=days_ago(ago), **kw))
        if result.article_id is not None:
            ids.setdefault(name, result.article_id)

    v1 = article_html("Police raid scam compound", RAID)
    rec("old", OLD_URL, article_html("An old story about the compound", RAID[1:]), 45)
    rec("edited", EDITED_URL, v1, 20)
    rec("gone", GONE_URL, article_html("Minister denies the report", RAID[:2]), 19.5)
    rec("edited", EDITED_URL, v1, 19)
    rec("edited", EDITED_URL, article_html("Police free workers", RAID[:1] + RAID[2:]), 12)
    rec("edited", EDITED_URL, "", 5, status=None, error="timeout")
    rec("edited", EDITED_URL, "", 4.5, status=503)
    rec("edited", EDITED_URL, article_html("Police free workers", RAID[:1] + RAID[2:]), 4)
    rec("gone", GONE_URL, h.NOT_FOUND_EN, 3, status=404)
    rec("gone", GONE_URL, h.NOT_FOUND_EN, 2, status=404)
    rec("hostile", HOSTILE_URL, article_html(HOSTILE_TITLE, RAID), 1.5)
    km = h.km_story(KM_URL).html
    rec("km", KM_URL, km, 1.2)
    rec("km", KM_URL, h.khmer_byline_changed(km), 1)
    backend = SqliteFtsBackend(rt.settings.search_index_path)
    backend.configure()
    b = Built(rt, backend, ids, {}, {})
    yield b
    b.close()


@pytest.fixture(scope="module")
def client(built: Built) -> Iterator[TestClient]:
    with TestClient(make_app(built, clock=lambda: NOW)) as c:
        yield c


# -- reading an SVG back -------------------------------------------------------------------


def get_svg(client: TestClient, path: str) -> etree._Element:
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/svg+xml"
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "sandbox" in csp and "script" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(response.content, parser)
    assert root.tag == SVG + "svg"
    assert_self_contained(root)
    return root


def assert_self_contained(root: etree._Element) -> None:
    """No script, no event handler, nothing loaded from anywhere."""
    assert root.find(f".//{SVG}script") is None
    assert root.find(f".//{SVG}foreignObject") is None
    for node in root.iter(etree.Element):
        for name, value in node.attrib.items():
            local = etree.QName(name).localname
            assert not local.lower().startswith("on"), (name, value)
            if local == "href":
                assert value.startswith("#"), value
    styles = " ".join(s.text or "" for s in root.iter(f"{SVG}style"))
    assert "@import" not in styles and not re.search(r"url\((?!#)", styles)
    for pi in root.iter(etree.PI):
        raise AssertionError(f"processing instruction {pi}")


def series(root: etree._Element) -> dict[str, list[etree._Element]]:
    """Each series' groups (pygal draws lines in the plot, dots in its overlay), by
    its legend's text."""
    names = [t.text for t in root.iterfind(f".//{SVG}g[@class='legends']//{SVG}text")]
    groups: dict[int, list[etree._Element]] = {}
    for g in root.iter(f"{SVG}g"):
        found = re.search(r"\bserie-(\d+)\b", g.get("class", ""))
        if found and "series" in g.get("class", "").split():
            groups.setdefault(int(found.group(1)), []).append(g)
    return {name: groups.get(i, []) for i, name in enumerate(names) if name is not None}


def bars(root: etree._Element) -> dict[str, dict[str, int]]:
    """{series: {x label: value}} of a bar chart (zero bars included)."""
    out: dict[str, dict[str, int]] = {}
    for name, groups in series(root).items():
        values = out.setdefault(name, {})
        for bar in (g for group in groups for g in group.iter(f"{SVG}g")):
            if bar.get("class") != "bar":
                continue
            label = bar.find(f"{SVG}desc[@class='x_label']")
            value = bar.find(f"{SVG}desc[@class='value']")
            assert label is not None and value is not None
            values[str(label.text)] = int(value.text or 0)
    return out


def nonzero(table: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {k: {x: n for x, n in v.items() if n} for k, v in table.items()}


def dots(groups: list[etree._Element]) -> list[tuple[str, float, str]]:
    """(value text, radius, label) of each dot of a line series."""
    out = []
    for g in (g for group in groups for g in group.iter(f"{SVG}g")):
        if g.get("class") != "dots":
            continue
        circle = g.find(f"{SVG}circle")
        value = g.find(f"{SVG}desc[@class='value']")
        label = g.find(f"{SVG}desc[@class='label']")
        assert circle is not None and value is not None
        out.append(
            (str(value.text), float(circle.get("r", 0)), label.text if label is not None else "")
        )
    return out


def at(moment: datetime, y: int) -> str:
    return f"{moment:%Y-%m-%d %H:%M}: {y}"


def title_and_desc(root: etree._Element) -> tuple[str, str]:
    title, desc = root[0], root[1]
    assert title.tag == SVG + "title" and desc.tag == SVG + "desc"
    return str(title.text), str(desc.text)


# -- the article timeline ------------------------------------------------------------------


def test_article_timeline_draws_the_archives_versions_edits_and_spells(
    client: TestClient, built: Built
) -> None:
    aid = built.ids["edited"]
    root = get_svg(client, f"/charts/articles/{aid}.svg")
    with built.runtime.sessions() as s:
        versions = list(
            s.scalars(select(Version).where(Version.article_id == aid).order_by(Version.n))
        )
        events = list(s.scalars(select(ChangeEvent).where(ChangeEvent.article_id == aid)))
        article = s.get(Article, aid)
        assert article is not None
        last_checked = article.last_checked
    assert [v.n for v in versions] == [1, 2]
    drawn = series(root)
    assert set(drawn) == {"versions", "edits (size: significance)", "unreachable", "status changes"}

    # Each version is a band from its first sighting until the next one replaced it
    # (the last: until the last check).
    band = [value for value, _r, _label in dots(drawn["versions"])]
    assert band == [
        at(versions[0].first_seen, 1),
        at(versions[1].first_seen, 1),
        at(versions[1].first_seen, 2),
        at(last_checked, 2),
    ]
    assert versions[0].first_seen == days_ago(20) and last_checked == days_ago(4)

    # The edit sits on the new version's row, sized by the significance stored with it.
    (edit,) = [e for e in events if e.kind == "edited"]
    score = edit.detail["significance"]
    assert 0 < score <= 1
    [(value, radius, label)] = dots(drawn["edits (size: significance)"])
    assert value == at(edit.at, 2) and edit.at == days_ago(12)
    assert radius == pytest.approx(edit_radius(score))
    assert f"significance {score:.2f}" in label and "headline_changed" in label

    # The two failed fetches make one spell, ended by the fetch that got through.
    spell = [value for value, _r, _label in dots(drawn["unreachable"])]
    assert spell == [at(days_ago(5), 0), at(days_ago(4), 0)]
    assert "2 failed fetches" in dots(drawn["unreachable"])[0][2]
    kinds = sorted(e.kind for e in events if e.kind not in ("edited", "unreachable"))
    marks = dots(drawn["status changes"])
    assert sorted(label.split(" ")[0] for _v, _r, label in marks) == kinds

    title, desc = title_and_desc(root)
    assert title == "Timeline: Police free workers"
    assert "2 versions" in desc and "1 edit" in desc and "unreachable from" in desc


def x_axis_labels(root: etree._Element) -> list[str]:
    axis = next(g for g in root.iter(f"{SVG}g") if g.get("class", "").startswith("axis x"))
    return [str(t.text) for t in axis.iter(f"{SVG}text") if t.text]


@pytest.mark.parametrize(
    ("span", "example"),
    [
        (timedelta(seconds=40), "08:00:20"),  # versions seconds apart: to the second
        (timedelta(hours=5), "10:30"),
        (timedelta(days=30), "2026-03-06"),
    ],
)
def test_timeline_ticks_can_be_told_apart(span: timedelta, example: str) -> None:
    """13 identical "2026-12-07 09:26" once stood under an article edited within a
    minute."""
    start = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    ticks, fmt = time_ticks(start, start + span)
    labels = [f"{t:{fmt}}" for t in ticks]
    assert len(set(labels)) == len(labels) >= 2 and example in labels


def test_timeline_axis_labels_are_distinct(client: TestClient, built: Built) -> None:
    labels = x_axis_labels(get_svg(client, f"/charts/articles/{built.ids['edited']}.svg"))
    assert len(labels) >= 2 and len(set(labels)) == len(labels), labels


def test_a_removed_article_ends_its_band_at_the_removal(client: TestClient, built: Built) -> None:
    aid = built.ids["gone"]
    root = get_svg(client, f"/charts/articles/{aid}.svg")
    with built.runtime.sessions() as s:
        article = s.get(Article, aid)
        assert article is not None and article.removed_at is not None
        removed_at = article.removed_at
    drawn = series(root)
    assert [v for v, _r, _l in dots(drawn["versions"])] == [
        at(days_ago(19.5), 1),
        at(removed_at, 1),
    ]
    labels = [label for _v, _r, label in dots(drawn["status changes"])]
    assert any(label.startswith("removed (http_404") for label in labels), labels
    assert "removed " in title_and_desc(root)[1]


def test_hostile_title_stays_text(client: TestClient, built: Built) -> None:
    aid = built.ids["hostile"]
    response = client.get(f"/charts/articles/{aid}.svg")
    assert b"<script" not in response.content and b"<a " not in response.content
    assert b"\x01" not in response.content and "\u202e".encode() not in response.content
    root = get_svg(client, f"/charts/articles/{aid}.svg")
    title, _desc = title_and_desc(root)
    # The words survive as text: escaped in the bytes, intact once parsed.
    assert "</text><script>alert(1)</script>" in title
    assert "<a href='https://evil.example/x'>" in title
    assert "&lt;/text&gt;&lt;script&gt;" in response.text
    shown = [t.text or "" for t in root.iter(f"{SVG}text")]
    assert any("<script>alert(1)</script>" in t for t in shown)


def test_khmer_title_and_a_font_that_draws_it(client: TestClient, built: Built) -> None:
    aid = built.ids["km"]
    root = get_svg(client, f"/charts/articles/{aid}.svg")
    title, _ = title_and_desc(root)
    khmer = [ch for ch in title if "\u1780" <= ch <= "\u17ff"]
    assert len(khmer) > 20
    assert root[0].get("{http://www.w3.org/XML/1998/namespace}lang") == "km"
    drawn_title = "".join(
        t.text or "" for t in root.iter(f"{SVG}text") if "title" in t.get("class", "")
    )
    assert drawn_title and drawn_title in title
    css = " ".join(s.text or "" for s in root.iter(f"{SVG}style"))
    assert "'Khmer OS'" in css and "'Noto Sans Khmer'" in css


def test_clean_keeps_words_and_drops_what_xml_or_a_reader_cannot_trust() -> None:
    assert clean("a\x00b\u202ec\n\n d") == "abc d"
    assert clean("ក" * 200, 10) == "ក" * 9 + "…"
    assert clean(None) == ""


# -- per source and the summary ------------------------------------------------------------


def window(days: int) -> tuple[date, date]:
    return NOW.date() - timedelta(days=days - 1), NOW.date()


def test_captures_per_day_match_the_archive(client: TestClient, built: Built) -> None:
    root = get_svg(client, "/charts/sources/weekly/captures.svg")
    first, last = window(30)
    with built.runtime.sessions() as s:
        rows = s.execute(select(Capture.fetched_at, Capture.outcome))
        expected: dict[str, Counter[str]] = {}
        for fetched, outcome in rows:
            if first <= fetched.date() <= last:
                # The legend says each outcome in words: `removal_pending` as
                # "removal pending" (archive/i18n/labels.py).
                expected.setdefault(words(outcome), Counter())[f"{fetched:%m-%d}"] += 1
    drawn = bars(root)
    assert nonzero(drawn) == {k: dict(v) for k, v in expected.items()}
    # Thirty bars, one a day, the empty ones too; the 45-day-old capture is not drawn.
    assert all(len(v) == 30 for v in drawn.values())
    assert drawn["new"][f"{days_ago(20):%m-%d}"] == 1
    assert sum(drawn["new"].values()) == 4  # the old story's first capture is outside
    assert drawn["unreachable"] == {
        **{k: 0 for k in drawn["new"]},
        f"{days_ago(5):%m-%d}": 1,
        f"{days_ago(4.5):%m-%d}": 1,
    }
    title, desc = title_and_desc(root)
    assert title == "weekly: captures per day by outcome"
    total = sum(sum(c.values()) for c in expected.values())
    assert desc.startswith(f"{total} captures from {first} to {last}")


def test_changes_per_week_match_the_archive(client: TestClient, built: Built) -> None:
    root = get_svg(client, "/charts/sources/weekly/changes.svg?weeks=8")
    first, last = window(8 * 7)
    with built.runtime.sessions() as s:
        expected: dict[str, Counter[str]] = {}
        for when, kind in s.execute(select(ChangeEvent.at, ChangeEvent.kind)):
            if first <= when.date() <= last:
                monday = when.date() - timedelta(days=when.weekday())
                expected.setdefault(kind, Counter())[f"wk {monday:%m-%d}"] += 1
    drawn = bars(root)
    assert nonzero(drawn) == {k: dict(v) for k, v in expected.items()}
    assert all(len(v) in (8, 9) for v in drawn.values())  # 56 days touch 8 or 9 weeks
    assert sum(drawn["discovered"].values()) == 5  # the 45-day-old story is inside 8 weeks
    assert sum(drawn["edited"].values()) == 2  # the raid's headline, the Khmer byline


def test_summary_counts_the_last_30_days(client: TestClient, built: Built) -> None:
    root = get_svg(client, "/charts/summary.svg")
    first, _ = window(30)
    with built.runtime.sessions() as s:
        kinds = Counter(
            k
            for when, k in s.execute(select(ChangeEvent.at, ChangeEvent.kind))
            if when.date() >= first
        )
    drawn = bars(root)
    assert {k: sum(v.values()) for k, v in drawn.items()} == dict(kinds)
    assert kinds["discovered"] == 4 and kinds["removed"] == 1
    assert title_and_desc(root)[0] == "The last 30 days: changes per day by kind"


def test_an_empty_window_says_so() -> None:
    today = NOW.date()
    root = etree.fromstring(captures_chart("weekly", DayCounts([today], {})))
    assert title_and_desc(root)[1] == f"No captures from {today} to {today}."
    assert any(t.text == "Nothing yet" for t in root.iter(f"{SVG}text"))


def test_a_source_with_nothing_in_the_window_shows_its_last_days(
    client: TestClient, built: Built
) -> None:
    """Today (NOW's day) has no capture yet: rather than an empty chart (a backfilled
    outlet, dark for years, once showed two), the window ends at the newest capture,
    and the words say so."""
    with built.runtime.sessions() as s:
        newest = max(s.scalars(select(Capture.fetched_at)))
    assert newest.date() < NOW.date()
    root = get_svg(client, "/charts/sources/weekly/captures.svg?days=1")
    drawn = nonzero(bars(root))
    assert drawn and all(set(v) == {f"{newest:%m-%d}"} for v in drawn.values())
    day = newest.date()
    assert f"captures from {day} to {day}: " in title_and_desc(root)[1]


def test_bad_requests(client: TestClient) -> None:
    assert client.get("/charts/sources/nobody/captures.svg").status_code == 404
    assert client.get("/charts/articles/999999.svg").status_code == 404
    assert client.get("/charts/articles/0.svg").status_code == 422
    assert client.get("/charts/sources/weekly/captures.svg?days=5000").status_code == 422
    assert client.get("/charts/sources/weekly/changes.svg?weeks=0").status_code == 422


# -- the pages -----------------------------------------------------------------------------


def figures(html: str) -> list[str]:
    return re.findall(r'<figure class="pw-chart".*?</figure>', html, re.S)


def test_pages_embed_the_charts_with_words(client: TestClient, built: Built) -> None:
    aid = built.ids["edited"]
    page = client.get(f"/articles/{aid}").text
    (fig,) = figures(page)
    assert f'<img src="/charts/articles/{aid}.svg"' in fig and 'alt="' in fig
    assert "<figcaption>" in fig and "2 versions" in fig and "still" not in fig

    page = client.get("/sources").text
    figs = figures(page)
    assert len(figs) == 2
    assert 'src="/charts/sources/weekly/captures.svg"' in figs[0]
    assert 'src="/charts/sources/weekly/changes.svg"' in figs[1]
    assert "captures in the last 30 UTC days" in figs[0]

    front = client.get("/").text
    (fig,) = figures(front)
    assert 'src="/charts/summary.svg"' in fig and "<table>" in fig
    assert f'<th scope="row">{days_ago(20).date()}</th>' in fig
    assert figures(client.get("/?q=compound").text) == []


# -- the counts themselves, on both databases ----------------------------------------------


def test_day_and_week_counts_on_sqlite_and_postgres(any_runtime: Runtime) -> None:
    rt = any_runtime
    with rt.sessions.begin() as s:
        upsert_source(
            s, name="weekly", base_url=BASE, languages=["en"], config=SourceOptions(), now=NOW
        )
    # Just before and just after midnight UTC: two days, and (a Sunday, then a Monday) two weeks.
    sunday_late = datetime(2026, 5, 17, 23, 59, tzinfo=UTC)
    monday_early = datetime(2026, 5, 18, 0, 1, tzinfo=UTC)
    h.record(rt, h.exchange(EDITED_URL, article_html("Police raid", RAID), at=sunday_late))
    h.record(rt, h.exchange(GONE_URL, article_html("Minister denies", RAID[:2]), at=monday_early))
    h.record(rt, h.exchange(EDITED_URL, article_html("Police raid", RAID), at=monday_early))
    with rt.sessions() as s:
        source = source_by_name(s, "weekly")
        assert source is not None
        days = captures_per_day(s, source, date(2026, 5, 16), date(2026, 5, 19))
        assert days.days == [date(2026, 5, d) for d in (16, 17, 18, 19)]
        assert days.counts == {"new": [0, 1, 1, 0], "unchanged": [0, 0, 1, 0]}
        changes = changes_per_day(s, date(2026, 5, 11), date(2026, 5, 24), source=source)
        weeks = per_week(changes)
        assert weeks.weeks == [date(2026, 5, 11), date(2026, 5, 18)]
        assert weeks.counts == {"discovered": [1, 1]}
        assert changes_per_day(s, date(2026, 5, 18), date(2026, 5, 18)).total("discovered") == 1


def test_count_axes_tick_whole_numbers() -> None:
    assert count_ticks({}) == [0, 1]
    assert count_ticks({"new": [1, 0], "edited": [0, 0]}) == [0, 1]
    assert count_ticks({"new": [3, 40], "edited": [2, 1]}) == [0, 6, 12, 18, 24, 30, 36, 42]
