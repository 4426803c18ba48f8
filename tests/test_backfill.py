"""`presswatch backfill`: a closed outlet's history rebuilt from a web archive on
127.0.0.1 that speaks the real CDX and Memento formats (presswatch.demo.webarchive),
with rate limits, 5xx, cut-short bodies, malformed index lines, a snapshot that is not
HTML and a redirect snapshot. No test reaches a real archive."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from archive.backfill import Target, coverage_of, parse_cdx, parse_timemap, wayback_time
from archive.store import BackfillSnapshot, Capture, ChangeEvent, list_changes, source_by_name
from archive.views import change_json, history_json
from presswatch.backfill import run_backfill
from presswatch.backfill_client import ArchiveClient, retry_after
from presswatch.crawling.sources import sync_sources
from presswatch.demo.webarchive import Fault, Stored, WebArchive
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from presswatch.sources import load_sources
from tests.archive_helpers import EN_RAID, EN_TASK_FORCE, edit_one_word, noise_ad, own_page
from tests.site_server import cli, cli_env, popen_cli

BASE = "https://ledger.example/"
PATTERN = r"^https://ledger\.example/news/[a-z0-9-]+/$"
RAID_URL = f"{BASE}news/{EN_RAID}/"
TASK_URL = f"{BASE}news/{EN_TASK_FORCE}/"
PDF_URL = f"{BASE}news/annual-report-pdf/"
HOME = "<html><head><title>The Mekong Ledger</title></head><body><h1>Latest</h1></body></html>"


def write_sources(path: Path, name: str = "ledger") -> Path:
    path.write_text(
        "[[source]]\n"
        f'name = "{name}"\n'
        f'base_url = "{BASE}"\n'
        'languages = ["en"]\n'
        f"article_url_pattern = '{PATTERN}'\n",
        encoding="utf-8",
    )
    return path


def closed_outlet() -> list[Stored]:
    """The Mekong Ledger's life in the archive: a story published, re-snapshotted with
    only ad churn, edited, then gone (two 404 snapshots); a second story redirected to
    the home page at the end; a PDF under an article URL; an image and the home page."""
    raid = own_page(EN_RAID, url=RAID_URL)
    edited = edit_one_word(raid.html, raid.snippet)
    task = own_page(EN_TASK_FORCE, url=TASK_URL)
    return [
        Stored(BASE, "20220101000000", body=HOME.encode()),
        Stored(BASE, "20230120000000", body=HOME.replace("Latest", "Closed").encode()),
        Stored(f"{BASE}wp-content/logo.png", "20220101000000", mimetype="image/png", body=b"\x89PNG"),
        Stored(RAID_URL, "20220601120000", body=raid.html.encode()),
        Stored(RAID_URL, "20220701120000", body=noise_ad(raid.html, 7).encode()),
        Stored(RAID_URL, "20220901120000", body=edited.encode()),
        Stored(RAID_URL, "20230110000000", status=404, body=b"<html><title>Not found</title></html>"),
        Stored(RAID_URL, "20230115000000", status=404, body=b"<html><title>Page not found</title></html>"),
        Stored(TASK_URL, "20220801000000", body=task.html.encode()),
        Stored(TASK_URL, "20230115000000", status=301, body=b"", location=BASE),
        Stored(TASK_URL, "20230125000000", status=301, body=b"<a>Moved</a>", location=BASE),
        Stored(PDF_URL, "20220301000000", mimetype="application/pdf", body=b"%PDF-1.4 not html"),
    ]  # fmt: skip


def make_runtime(tmp_path: Path, **settings: object) -> Runtime:
    sources = write_sources(tmp_path / "sources.toml")
    rt = Runtime(
        Settings(
            data_dir=tmp_path / "data",
            sources=sources,
            allow_networks=["127.0.0.1/32"],
            **{"backfill_delay_s": 0, "min_free_bytes": 0, **settings},  # type: ignore[arg-type]
        )
    )
    rt.init()
    sync_sources(rt, load_sources(sources), datetime.now(UTC))
    return rt


class Client(ArchiveClient):
    """The real client, with its waits recorded instead of slept."""

    def __init__(self, rt: Runtime, **kw: object) -> None:
        self.waits: list[float] = []
        s = rt.settings
        options = dict(
            allow=(__import__("ipaddress").ip_network("127.0.0.1/32"),),
            user_agent="presswatch-test",
            delay_s=s.backfill_delay_s,
            retries=s.backfill_retries,
            max_wait_s=s.backfill_max_wait_s,
            timeout_s=5.0,
            max_body_bytes=s.max_body_bytes,
            sleep=self.waits.append,
        )
        options.update(kw)
        super().__init__(**options)  # type: ignore[arg-type]


def backfill(rt: Runtime, target: Target, client: ArchiveClient | None = None, **kw: object):
    cfg = load_sources(rt.settings.sources).get("ledger")
    return run_backfill(
        rt,
        cfg,
        target,
        client or Client(rt),
        options=rt.record_options(),
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def archive() -> WebArchive:
    with WebArchive(snapshots=closed_outlet()) as wa:
        yield wa


def wayback(wa: WebArchive) -> Target:
    return Target.parse("wayback", wa.base_url)


def web_captures(rt: Runtime) -> list[Capture]:
    with rt.sessions() as s:
        return list(
            s.scalars(select(Capture).where(Capture.origin == "web_archive").order_by(Capture.id))
        )


# -- parsing the archives' formats ------------------------------------------------------


def test_cdx_json_with_resume_key_and_a_malformed_row() -> None:
    text = json.dumps(
        [
            ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"],
            [
                "example)/a",
                "20220101000000",
                "https://example.com/a/",
                "text/html",
                "200",
                "D1",
                "9",
            ],
            ["example)/a", "2022", "https://example.com/a/"],
            ["example)/b", "notatime", "https://example.com/b/", "text/html", "200", "D2", "9"],
            [],
            ["KEY123"],
        ]
    )
    page = parse_cdx(text)
    assert [(s.original, s.timestamp, s.status) for s in page.snapshots] == [
        ("https://example.com/a/", "20220101000000", "200")
    ]
    assert page.resume_key == "KEY123"
    assert len(page.problems) == 2
    assert "row 3" in page.problems[0] and "row 4" in page.problems[1]


def test_cdx_plain_lines_and_ndjson() -> None:
    text = (
        "example)/a 20220101000000 https://example.com/a/ text/html 200 D1 9\n"
        "a line with too few\n"
        '{"timestamp": "20220202000000", "original": "https://example.com/b/", "status": "404"}\n'
        "\nRESUME\n"
    )
    page = parse_cdx(text)
    assert [(s.timestamp, s.status) for s in page.snapshots] == [
        ("20220101000000", "200"),
        ("20220202000000", "404"),
    ]
    assert page.resume_key == "RESUME"
    assert page.problems == [
        "CDX line 2: 5 fields where 7 were asked for (urlkey timestamp original mimetype "
        "statuscode digest length): 'a line with too few'"
    ]


def test_cdx_cut_short_json_is_a_problem_not_a_crash() -> None:
    page = parse_cdx('[["urlkey","timestamp"],["a","2022')
    assert page.snapshots == [] and "cut short" in page.problems[0]


def test_timemap_link_format_keeps_commas_in_dates_and_finds_next_pages() -> None:
    text = (
        '<https://example.com/a/>; rel="original",\n'
        '<https://arch.example/web/20220101000000/https://example.com/a/>; rel="first memento";'
        ' datetime="Sat, 01 Jan 2022 00:00:00 GMT",\n'
        '<https://arch.example/web/20220301000000/https://example.com/a/>; rel="memento";'
        ' datetime="Tue, 01 Mar 2022 00:00:00 GMT",\n'
        '<https://arch.example/web/x/https://example.com/a/>; rel="memento"; datetime="soon",\n'
        "garbage,\n"
        '<https://arch.example/timemap/link/p2/https://example.com/a/>; rel="timemap"'
    )
    tm = parse_timemap(text, "https://example.com/a/")
    assert [s.timestamp for s in tm.snapshots] == ["20220101000000", "20220301000000"]
    assert tm.snapshots[0].memento_url.startswith("https://arch.example/web/2022")
    assert tm.more == ["https://arch.example/timemap/link/p2/https://example.com/a/"]
    assert len(tm.problems) == 2 and "datetime" in tm.problems[0]


def test_wayback_timestamps_and_coverage_gaps() -> None:
    assert wayback_time("2023") == datetime(2023, 1, 1, tzinfo=UTC)
    assert wayback_time("20230214101112") == datetime(2023, 2, 14, 10, 11, 12, tzinfo=UTC)
    with pytest.raises(ValueError):
        wayback_time("2023-02-14")
    times = [wayback_time(t) for t in ("20220101", "20220105", "20220601", "20220602")]
    cov = coverage_of(times, largest=2)
    assert (cov.count, cov.first, cov.last) == (4, times[0], times[-1])
    assert cov.gaps[0] == (times[1], times[2])
    assert cov.as_json()["largest_gaps"][0]["days"] == 147.0


def test_retry_after_seconds_and_http_date() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert retry_after("7", now) == 7
    assert retry_after("Thu, 01 Jan 2026 00:01:00 GMT", now) == 60
    assert retry_after("whenever", now) is None
    assert retry_after(None, now) is None


def test_archive_option_is_wayback_or_an_http_timemap_prefix() -> None:
    assert Target.parse("wayback", "https://web.archive.org").kind == "wayback"
    assert Target.parse("https://a.example/timemap/link/", "x").kind == "memento"
    with pytest.raises(Exception, match="TimeMap prefix"):
        Target.parse("archive.org", "https://web.archive.org")
    # Without its last slash, the prefix is the same prefix.
    assert Target.parse("https://a.example/timemap/link", "x").base == (
        "https://a.example/timemap/link/"
    )


def test_an_archives_bare_address_is_refused_with_the_prefix_to_give(tmp_path: Path) -> None:
    """`--from-archive http://host:port` once ended in "unexpected error (ValueError…)":
    the page's address appended to it made `http://host:8080https://…`."""
    sources = write_sources(tmp_path / "sources.toml")
    data = tmp_path / "data"
    env = cli_env(backfill_delay_s=0, min_free_bytes=0)
    assert cli(data, sources, "init", env=env).returncode == 0
    run = cli(data, sources, "backfill", "ledger", "--from-archive", "http://127.0.0.1:8080",
              env=env)  # fmt: skip
    assert run.returncode == 2
    assert "unexpected" not in run.stderr and "Traceback" not in run.stderr
    assert "e.g. http://127.0.0.1:8080/timemap/link/" in run.stderr


# -- the backfill itself ----------------------------------------------------------------


def test_history_before_the_outlet_went_dark_is_rebuilt(
    tmp_path: Path, archive: WebArchive
) -> None:
    rt = make_runtime(tmp_path)
    report = backfill(rt, wayback(archive))
    assert report.ok, report.as_json()
    # Articles only (the pattern): not the home page or the logo.
    assert report.planned == 9
    captures = web_captures(rt)
    assert len(captures) == 9
    assert all(c.origin == "web_archive" for c in captures)
    first = next(c for c in captures if c.requested_url == RAID_URL)
    assert first.fetched_at == datetime(2022, 6, 1, 12, tzinfo=UTC)
    assert first.provenance["archive"] == "wayback"
    assert first.provenance["snapshot_url"].endswith(f"/web/20220601120000id_/{RAID_URL}")
    assert first.provenance["timestamp"] == "20220601120000"
    assert first.provenance["original_status"] == "200"
    assert first.provenance["digest"]
    # The outlet's headers as the archive kept them, not the archive's own.
    assert first.headers["server"] == "ledger-cms/1.0"
    assert first.headers["date"] == "Wed, 01 Jun 2022 12:00:00 GMT"

    with rt.sessions() as s:
        raid = history_json(s, _article(s, RAID_URL))
        kinds = [(e["kind"], e["how"]) for e in raid["events"]]
        assert kinds == [
            ("discovered", []),
            ("edited", ["body"]),
            ("removed", ["http_404"]),
        ], kinds
        assert raid["article"]["status"] == "removed"
        assert len(raid["versions"]) == 2  # ad churn was no edit
        removed = raid["events"][-1]
        assert removed["via"]["archive"] == "wayback"
        assert removed["label"] == "removed (per web archive)"
        assert removed["at"].startswith("2023-01-15")

        task = history_json(s, _article(s, TASK_URL))
        assert [(e["kind"], e["how"]) for e in task["events"]][-1] == (
            "removed",
            ["redirect_home"],
        )
        changes = [change_json(r) for r in list_changes(s, kinds=["removed"])]
        assert {c["label"] for c in changes} == {"removed (per web archive)"}
        assert all(c["via"]["snapshot"] for c in changes)

    outcomes = {c.requested_url: c.outcome for c in captures}
    assert outcomes[PDF_URL] == "not_article"  # bytes that are not HTML: kept, judged


def _article(session, url):  # type: ignore[no-untyped-def]
    from archive.store import find_article

    return find_article(session, url)


def test_rate_limits_5xx_and_cut_short_bodies_are_waited_out(
    tmp_path: Path, archive: WebArchive
) -> None:
    rt = make_runtime(tmp_path, backfill_delay_s=0.25)
    raid = archive.snapshots[3]
    archive.fail("/cdx/search/cdx", Fault(503))
    archive.fail(archive.replay_path(raid), Fault(429, retry_after="3"), Fault(truncate=True))
    client = Client(rt)
    report = backfill(rt, wayback(archive), client)
    assert report.ok, report.as_json()
    assert len(web_captures(rt)) == 9
    assert archive.hits(archive.replay_path(raid)) == 3
    assert 3.0 in client.waits  # the Retry-After, honoured
    # One request at a time, never closer than the delay (waits fill the gaps).
    assert client.requests == len(archive.requests)


def test_an_archive_asking_for_a_long_wait_stops_the_run_and_the_rerun_continues(
    tmp_path: Path, archive: WebArchive
) -> None:
    rt = make_runtime(tmp_path, backfill_max_wait_s=60)
    task = next(s for s in archive.snapshots if s.original == TASK_URL)
    archive.fail(archive.replay_path(task), Fault(429, retry_after="3600"))
    report = backfill(rt, wayback(archive))
    assert report.stopped and "3600" in report.stopped and not report.ok
    before = len(web_captures(rt))
    assert 0 < before < 9
    again = backfill(rt, wayback(archive))
    assert again.ok and again.already_done == before
    assert len(web_captures(rt)) == 9
    for snap in archive.snapshots:
        if snap is not task and snap.original != BASE:  # the home page: a redirect target
            assert archive.hits(archive.replay_path(snap)) <= 1, snap


def test_a_snapshot_the_archive_will_not_serve_is_retried_then_given_up(
    tmp_path: Path, archive: WebArchive
) -> None:
    rt = make_runtime(tmp_path, backfill_retries=1, backfill_give_up_after=2)
    raid = archive.snapshots[3]
    path = archive.replay_path(raid)
    archive.fail(path, *[Fault(500)] * 4)
    first = backfill(rt, wayback(archive))
    # Its article's later snapshots wait, so versions are still judged in time order.
    assert (first.failed, first.deferred) == (1, 4)
    assert any("HTTP 500 after 2 tries" in p for p in first.problems)
    second = backfill(rt, wayback(archive))
    assert second.gave_up == 1 and second.deferred == 0
    with rt.sessions() as s:
        row = s.scalars(select(BackfillSnapshot).where(BackfillSnapshot.url == RAID_URL)).first()
        assert (row.outcome, row.attempts) == ("gave_up", 2)
    third = backfill(rt, wayback(archive))
    assert third.ok and third.recorded == {}
    assert archive.hits(path) == 4  # settled: never asked again


def test_malformed_index_lines_are_reported_and_the_rest_is_recorded(
    tmp_path: Path, archive: WebArchive
) -> None:
    archive.cdx_garbage = True
    rt = make_runtime(tmp_path)
    report = backfill(rt, wayback(archive))
    assert len(web_captures(rt)) == 9
    assert not report.ok and any("expected 7 fields" in p for p in report.problems)


def test_without_an_article_pattern_html_pages_of_the_source_only(
    tmp_path: Path, archive: WebArchive
) -> None:
    archive.cdx_garbage = True
    rt = make_runtime(tmp_path)
    rt.settings.sources.write_text(
        rt.settings.sources.read_text().replace(f"article_url_pattern = '{PATTERN}'\n", "")
    )
    report = backfill(rt, wayback(archive))
    # The home page twice, the articles' 8 HTML snapshots, not the logo, the PDF or
    # the planted row of another site.
    assert report.planned == 10
    urls = {c.requested_url for c in web_captures(rt)}
    assert BASE in urls and PDF_URL not in urls
    assert not any("elsewhere" in u for u in urls)
    assert not any("elsewhere" in u for u in archive.requests)


def test_plain_cdx_answers_and_pagination(tmp_path: Path, archive: WebArchive) -> None:
    archive.force_text = True
    archive.page_size = 4
    rt = make_runtime(tmp_path)
    report = backfill(rt, wayback(archive))
    assert report.ok, report.as_json()
    assert report.planned == 9
    assert archive.hits("/cdx/search/cdx") == 3  # 12 rows, 4 a page


def test_since_and_until_bound_the_snapshots(tmp_path: Path, archive: WebArchive) -> None:
    rt = make_runtime(tmp_path)
    report = backfill(
        rt,
        wayback(archive),
        since=datetime(2022, 6, 15, tzinfo=UTC),
        until=datetime(2022, 12, 31, tzinfo=UTC),
    )
    assert report.planned == 3  # raid July and September, task force August


def test_memento_timemaps_paged(tmp_path: Path, archive: WebArchive) -> None:
    archive.timemap_page = 2
    rt = make_runtime(tmp_path)
    # The Memento path asks for the URLs the archive knows: seed the two stories.
    backfill(rt, wayback(archive), until=datetime(2022, 8, 31, tzinfo=UTC))
    report = backfill(rt, Target.parse(archive.timemap_prefix, "x"))
    assert report.ok, report.as_json()
    mementos = [c for c in web_captures(rt) if c.provenance["archive"] != "wayback"]
    assert {c.requested_url for c in mementos} == {RAID_URL, TASK_URL}
    assert archive.hits(f"/timemap/link/p2/{RAID_URL}") == 1
    with rt.sessions() as s:
        assert _article(s, RAID_URL).status == "removed"


def test_a_private_archive_address_is_refused_by_the_egress_policy(
    tmp_path: Path, archive: WebArchive
) -> None:
    rt = make_runtime(tmp_path)
    client = Client(rt, allow=())
    report = backfill(rt, wayback(archive), client)
    assert report.stopped and "loopback" in report.stopped
    assert archive.requests == []


def test_coverage_report_and_labels_through_the_cli(tmp_path: Path, archive: WebArchive) -> None:
    sources = write_sources(tmp_path / "sources.toml")
    data = tmp_path / "data"
    env = cli_env(backfill_wayback_url=archive.base_url, backfill_delay_s=0, min_free_bytes=0)
    assert cli(data, sources, "init", env=env).returncode == 0
    run = cli(data, sources, "backfill", "ledger", "--from-archive", "wayback", "--json", env=env)
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["planned"] == 9 and doc["failed"] == 0 and doc["stopped"] is None

    rep = cli(data, sources, "backfill", "ledger", "--report", "--json", env=env)
    assert rep.returncode == 0, rep.stderr
    cov = json.loads(rep.stdout)
    raid = next(a for a in cov["articles"] if a["url"] == RAID_URL)
    assert raid["snapshots"] == 5
    assert raid["first"].startswith("2022-06-01") and raid["last"].startswith("2023-01-15")
    assert raid["largest_gaps"][0]["from"].startswith("2022-09-01")
    assert cov["snapshots"] == {"recorded": 9}

    assert cli(data, sources, "verify", env=env).returncode == 0  # the log holds them
    found = cli(data, sources, "search", "Sihanoukville", "--json", env=env)
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)["hits"]
    assert any(h["url"] == RAID_URL and h["status"] == "removed" for h in hits)
    plain = cli(data, sources, "backfill", "ledger", "--report", env=env)
    assert "5 snapshots 2022-06-01..2023-01-15" in plain.stdout
    assert "largest gaps: 2022-09-01..2023-01-10 (130.5 d)" in plain.stdout
    changes = cli(data, sources, "changes", "--kind", "removed", env=env)
    assert "removed (per web archive)" in changes.stdout
    # Columns stay in line whatever the label's length ("discovered (per web
    # archive)" once pushed its row's URL further right than the others').
    every = cli(data, sources, "changes", env=env).stdout.splitlines()
    rows = [line for line in every if line[:2].isdigit()]
    assert {"edited (per web archive)", "discovered (per web archive)"} <= {
        label for line in rows for label in re.findall(r"\w+ \(per web archive\)", line)
    }
    assert len({line.index("https://") for line in rows}) == 1, rows
    text = cli(data, sources, "history", RAID_URL, env=env)
    assert "removed (per web archive)" in text.stdout
    assert re.search(
        r"\n  removed \(per web archive\): http_404, first found gone 2023-01-10\S*, "
        r"confirmed 2023-01-15",
        text.stdout,
    ), text.stdout
    assert "web archive snapshots: 5" in text.stdout


def test_a_killed_backfill_continues_with_no_repeats(tmp_path: Path, archive: WebArchive) -> None:
    sources = write_sources(tmp_path / "sources.toml")
    data = tmp_path / "data"
    env = cli_env(backfill_wayback_url=archive.base_url, backfill_delay_s=0.3, min_free_bytes=0)
    assert cli(data, sources, "init", env=env).returncode == 0
    proc = popen_cli(data, sources, "backfill", "ledger", "--from-archive", "wayback", env=env)
    deadline = time.monotonic() + 60
    while sum(r.startswith("/web/") for r in archive.requests) < 4:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    fetched_before = [r for r in archive.requests if r.startswith("/web/")]
    env["PRESSWATCH_BACKFILL_DELAY_S"] = "0"
    again = cli(data, sources, "backfill", "ledger", "--from-archive", "wayback", "--json", env=env)
    assert again.returncode == 0, again.stderr
    doc = json.loads(again.stdout)
    assert doc["already_done"] >= len(fetched_before) - 2  # at most the one in flight
    # The home page is fetched once per redirect snapshot that leads to it.
    replays = [r for r in archive.requests if r.startswith("/web/") and not r.endswith("/" + BASE)]
    repeated = {r for r in replays if replays.count(r) > 1}
    assert len(repeated) <= 1, repeated  # only a snapshot in flight at the kill
    rt = Runtime(Settings(data_dir=data, allow_networks=["127.0.0.1/32"]))
    try:
        captures = web_captures(rt)
        assert len(captures) == 9
        assert len({c.provenance["timestamp"] + c.requested_url for c in captures}) == 9
        with rt.sessions() as s:
            assert s.scalar(select(func.count()).select_from(BackfillSnapshot)) == 9
            source = source_by_name(s, "ledger")
            assert source is not None
            assert s.scalar(select(func.count()).select_from(ChangeEvent)) >= 4
    finally:
        rt.close()


def test_api_pages_and_feed_label_what_a_web_archive_told_us(
    tmp_path: Path, archive: WebArchive
) -> None:
    import warnings

    from search_api.app import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Starlette asks for httpx2; httpx works the same.
        from fastapi.testclient import TestClient

    rt = make_runtime(tmp_path)
    assert backfill(rt, wayback(archive)).ok
    with rt.sessions() as s:
        raid_id = _article(s, RAID_URL).id
    app = create_app(rt.settings, sessions=rt.sessions, warc=rt.warc)
    with TestClient(app) as client:
        changes = client.get("/api/changes", params={"kind": "removed"}).json()["data"]
        assert changes and all(c["label"] == "removed (per web archive)" for c in changes)
        assert all(c["via"]["archive"] == "wayback" for c in changes)
        assert all(c["origin"] == "web_archive" for c in changes)
        detail = client.get(f"/api/articles/{raid_id}").json()
        removed = [e for e in detail["events"] if e["kind"] == "removed"]
        assert removed[0]["via"]["timestamp"] == "20230115000000"
        assert removed[0]["origin"] == "web_archive"
        coverage = detail["web_archive_coverage"]
        assert coverage["snapshots"] == 5 and coverage["first"].startswith("2022-06-01")
        page = client.get(f"/articles/{raid_id}").text
        assert "removed (per web archive)" in page
        # The header's removal dates say where they came from, as its events do.
        assert "<dt>Removed (per web archive)</dt>" in page
        assert detail["article"]["removal_via"]["archive"] == "wayback"
        assert "5 snapshots, 2022-06-01 to 2023-01-15" in page
        assert "largest gap without one is 130.5 days" in page
        assert "removed (per web archive)" in client.get("/changes").text
        feed = client.get("/feeds/changes.atom").text
        assert "Removed (per web archive):" in feed

        # The outlet's page: dark since 2023, it once showed "Edited 0" (its edited
        # story was later removed) and two empty 30-day charts.
        sources = client.get("/sources").text
        assert re.search(r'data-label="Edits"><a [^>]*>1</a>', sources)
        captions = re.findall(r"<figcaption>(.*?)</figcaption>", sources, re.S)
        assert len(captions) == 2
        assert "captures in the 30 UTC days to its newest capture, 2023-" in captions[0]
        assert "changes in the 12 weeks to its newest capture, 2023-" in captions[1]
        assert "removed" in captions[1] and "No " not in captions[1]


def test_old_http_urls_of_an_article_join_it_in_time_order(
    tmp_path: Path, archive: WebArchive
) -> None:
    old_form = RAID_URL.replace("https://", "http://www.").replace(".example/", ".example:80/")
    # Ad churn only (the same bytes would be collapsed on digest, as the CDX server does).
    churned = noise_ad(archive.snapshots[3].body.decode(), 3).encode()
    archive.add(Stored(old_form, "20220615000000", body=churned))
    rt = make_runtime(tmp_path)
    report = backfill(rt, wayback(archive))
    assert report.ok and report.planned == 10
    captures = web_captures(rt)
    with rt.sessions() as s:
        raid = _article(s, RAID_URL)
        mine = [c for c in captures if c.article_id == raid.id]
        assert len(mine) == 6 and raid.version_count == 2
        assert next(c for c in mine if c.requested_url == old_form).outcome == "unchanged"


@pytest.mark.postgres
def test_backfill_on_postgresql(tmp_path: Path, pg_url: str, archive: WebArchive) -> None:
    rt = make_runtime(tmp_path, database_url=pg_url)
    try:
        assert backfill(rt, wayback(archive)).ok
        assert backfill(rt, wayback(archive)).already_done == 9
        with rt.sessions() as s:
            assert _article(s, RAID_URL).status == "removed"
            assert s.scalar(select(func.count()).select_from(BackfillSnapshot)) == 9
    finally:
        rt.close()


def test_memento_finds_articles_through_archived_home_pages(
    tmp_path: Path, archive: WebArchive
) -> None:
    home = (
        "<html><body><h1>Latest</h1>"
        f'<a href="/web/20221001000000/{RAID_URL}">Raid</a>'  # rewritten by the archive
        f'<a href="{TASK_URL}">Task force</a>'  # left as it was
        '<a href="https://elsewhere.example/news/not-ours/">Other site</a>'
        f'<a href="{BASE}wp-content/logo.png">Logo</a></body></html>'
    )
    archive.add(Stored(BASE, "20221001000000", body=home.encode()))
    rt = make_runtime(tmp_path)
    report = backfill(rt, Target.parse(archive.timemap_prefix, "x"))
    assert report.ok, report.as_json()
    assert report.planned == 8  # the two stories' snapshots; nothing else is asked for
    urls = {c.requested_url for c in web_captures(rt)}
    assert urls == {RAID_URL, TASK_URL}
    assert not any("elsewhere" in r or "logo" in r for r in archive.requests)
    with rt.sessions() as s:
        assert _article(s, RAID_URL).status == "removed"


def test_links_in_an_archived_page_are_unwrapped() -> None:
    from archive.backfill import links_in_snapshot

    body = (
        b'<a href="/web/2022id_/https:/site.example/a/">a</a><a href="b/">b</a>'
        b'<a href="javascript:x()">j</a><a href="#top">t</a><a href="/web/2022/http://x.example/c">c'
    )
    assert links_in_snapshot(body, "https://arch.example/web/2022/https://site.example/") == [
        "https://site.example/a/",
        "https://site.example/b/",  # relative to the replay URL, so unwrapped as well
        "http://x.example/c",
    ]
    assert links_in_snapshot(b"", "https://arch.example/") == []


def test_snapshots_older_than_our_own_captures_are_left_out_and_said_so(
    tmp_path: Path, archive: WebArchive
) -> None:
    from tests.archive_helpers import exchange, record

    rt = make_runtime(tmp_path)
    # We crawled the raid story ourselves in 2022-08 (the text as first published).
    raid = own_page(EN_RAID, url=RAID_URL)
    record(rt, exchange(RAID_URL, raid.html, at=datetime(2022, 8, 1, tzinfo=UTC), source="ledger"))
    report = backfill(rt, wayback(archive))
    assert report.ok and report.out_of_order == 2  # June and July: before our capture
    with rt.sessions() as s:
        kinds = [e["kind"] for e in history_json(s, _article(s, RAID_URL))["events"]]
        rows = s.scalars(
            select(BackfillSnapshot).where(BackfillSnapshot.outcome == "out_of_order")
        ).all()
        assert {r.timestamp for r in rows} == {"20220601120000", "20220701120000"}
    # The later snapshots are judged after ours: the September edit, the 404s.
    assert kinds == ["discovered", "edited", "removed"]
    again = backfill(rt, wayback(archive))
    assert again.already_done == 9 and again.out_of_order == 0


# -- asking an archive to save what changed ---------------------------------------------


def test_edits_and_pending_removals_we_saw_are_sent_to_the_archive_once(
    tmp_path: Path, archive: WebArchive
) -> None:
    from dataclasses import replace

    from archive.store import ArchiveSave
    from presswatch.backfill_save import save_changes
    from tests.archive_helpers import KM_COMMITTEE, exchange, record

    rt = make_runtime(tmp_path, save_to_archive=True, backfill_wayback_url=archive.base_url)
    t0, t1 = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)
    raid = own_page(EN_RAID, url=RAID_URL)
    record(rt, exchange(RAID_URL, raid.html, at=t0, source="ledger"))
    record(rt, exchange(RAID_URL, edit_one_word(raid.html, raid.snippet), at=t1, source="ledger"))
    task = own_page(EN_TASK_FORCE, url=TASK_URL)
    record(rt, exchange(TASK_URL, task.html, at=t0, source="ledger"))
    record(rt, exchange(TASK_URL, "<html>gone</html>", at=t1, status=404, source="ledger"))
    # An edit learned from a web archive is that archive's already: not sent.
    other_url = f"{BASE}news/{KM_COMMITTEE}/"
    other = own_page(KM_COMMITTEE, url=other_url)
    for at, html in ((t0, other.html), (t1, edit_one_word(other.html, other.snippet))):
        ex = exchange(other_url, html, at=at, source="ledger")
        record(rt, replace(ex, origin="web_archive", provenance={"archive": "wayback"}))

    report = save_changes(rt, Client(rt))
    assert (report.asked, report.saved, report.failed) == (2, 2, 0), report.as_json()
    saves = [r for r in archive.requests if r.startswith("/save/")]
    assert sorted(saves) == sorted([f"/save/{RAID_URL}", f"/save/{TASK_URL}"])
    with rt.sessions() as s:
        rows = s.scalars(select(ArchiveSave).order_by(ArchiveSave.id)).all()
        assert {(r.reason, r.outcome) for r in rows} == {
            ("edited", "saved"),
            ("removal_pending", "saved"),
        }
        assert all(r.snapshot_url.startswith(f"{archive.base_url}/web/") for r in rows)
    assert save_changes(rt, Client(rt)).asked == 0  # each change is sent once


def test_saving_to_an_archive_is_off_by_default(tmp_path: Path, archive: WebArchive) -> None:
    sources = write_sources(tmp_path / "sources.toml")
    data = tmp_path / "data"
    env = cli_env(backfill_wayback_url=archive.base_url, min_free_bytes=0)
    assert cli(data, sources, "init", env=env).returncode == 0
    off = cli(data, sources, "save-changes", env=env)
    assert off.returncode == 2 and "save_to_archive is off" in off.stderr
    assert archive.requests == []


def test_a_snapshot_the_archive_serves_from_a_neighbour_is_no_site_redirect(
    tmp_path: Path, archive: WebArchive
) -> None:
    raid = archive.snapshots[3]
    archive.add(Stored(RAID_URL, "20220615000000", served_from=raid.timestamp, body=b"x"))
    rt = make_runtime(tmp_path)
    assert backfill(rt, wayback(archive)).ok
    jumped = next(c for c in web_captures(rt) if c.provenance["timestamp"] == "20220615000000")
    assert jumped.redirects == [] and jumped.outcome == "unchanged"
    assert jumped.provenance["redirects_in_archive"][0].endswith(
        f"/web/{raid.timestamp}id_/{RAID_URL}"
    )


# -- dates an archive cannot know (issue 22, item 3) ------------------------------------


def test_snapshots_dated_in_the_future_are_refused_and_reported(tmp_path: Path) -> None:
    """2099 and 9999 in the index are neither fetched nor recorded: recorded, they
    would head `changes` and hold every genuine later capture as out of order."""
    from dataclasses import replace

    from archive.store import CaptureOutcome
    from tests.archive_helpers import exchange, record

    raid = own_page(EN_RAID, url=RAID_URL)
    snapshots = [
        Stored(RAID_URL, "20220601120000", body=raid.html.encode()),
        Stored(RAID_URL, "20990101000000", body=noise_ad(raid.html, 3).encode()),
        Stored(RAID_URL, "99991231235959", status=404, body=b"<title>Not found</title>"),
    ]
    with WebArchive(snapshots=snapshots) as wa:
        rt = make_runtime(tmp_path)
        report = backfill(rt, wayback(wa))
        assert not report.ok and report.planned == 1
        refused = [p for p in report.problems if "after this machine's clock" in p]
        assert len(refused) == 2 and any("99991231235959" in p for p in refused)
        assert not any("99991231235959" in r for r in wa.requests)  # never fetched
        memento = backfill(rt, Target.parse(wa.timemap_prefix, "x"))
        assert any("20990101000000" in p for p in memento.problems)
    assert [c.fetched_at.year for c in web_captures(rt)] == [2022]
    with rt.sessions() as s:
        assert [c["kind"] for c in map(change_json, list_changes(s))] == ["discovered"]
    # A genuine later import is judged, not held as older than a capture from 9999.
    later = exchange(RAID_URL, edit_one_word(raid.html, raid.snippet), at=datetime.now(UTC))
    result = record(rt, replace(later, origin="import"))
    assert result.outcome is not CaptureOutcome.HELD


def test_a_web_archive_capture_dated_in_the_future_is_refused_by_record_capture(
    runtime: Runtime,
) -> None:
    from dataclasses import replace

    from archive.errors import BadInput
    from tests.archive_helpers import exchange, record

    future = exchange(RAID_URL, "<html></html>", at=datetime(9999, 12, 31, tzinfo=UTC))
    with pytest.raises(BadInput, match="after this machine's clock"):
        record(runtime, replace(future, origin="web_archive"))


def test_verify_flags_a_capture_recorded_with_a_date_from_the_future(runtime: Runtime) -> None:
    """An archive recorded before the rule: `verify` no longer says ok."""
    from archive.log import verify_archive
    from tests.archive_helpers import exchange, record

    raid = own_page(EN_RAID, url=RAID_URL)
    record(runtime, exchange(RAID_URL, raid.html, at=datetime(9999, 12, 31, tzinfo=UTC)))
    with runtime.sessions() as s:
        report = verify_archive(s, runtime.warc)
    assert [(p.field, "after this machine's clock" in p.problem) for p in report.problems] == [
        ("fetched_at", True)
    ]


# -- bounds on what an archive sends (issue 22, item 4) ----------------------------------


@pytest.mark.parametrize("gzipped", [False, True])
def test_an_over_limit_snapshot_is_too_large_not_an_edit(tmp_path: Path, gzipped: bool) -> None:

    raid = own_page(EN_RAID, url=RAID_URL)
    padding = "<p>" + "Filler words of a bloated page. " * 8000 + "</p>"  # ~260 KB
    big = edit_one_word(raid.html, raid.snippet).replace("</body>", padding + "</body>")
    snapshots = [
        Stored(RAID_URL, "20220601120000", body=raid.html.encode()),
        Stored(RAID_URL, "20220701120000", body=big.encode()),
    ]
    with WebArchive(snapshots=snapshots) as wa:
        if gzipped:
            wa.gzip = True
        rt = make_runtime(tmp_path, max_body_bytes=100_000)
        report = backfill(rt, wayback(wa))
    assert report.recorded == {"new": 1, "unreachable": 1}, report.as_json()
    last = web_captures(rt)[-1]
    assert (last.error, last.outcome) == ("too_large", "unreachable")  # as a crawl's
    assert "100000" in last.detail["error_detail"]
    with rt.sessions() as s:
        assert "edited" not in [c["kind"] for c in map(change_json, list_changes(s))]


def test_a_looping_resume_key_ends_the_walk_with_a_problem(tmp_path: Path) -> None:
    raid = own_page(EN_RAID, url=RAID_URL)
    task = own_page(EN_TASK_FORCE, url=TASK_URL)
    snapshots = [
        Stored(RAID_URL, "20220601120000", body=raid.html.encode()),
        Stored(RAID_URL, "20220701120000", body=noise_ad(raid.html, 2).encode()),
        Stored(TASK_URL, "20220801000000", body=task.html.encode()),
    ]
    with WebArchive(snapshots=snapshots, page_size=1, cdx_loop=True) as wa:
        rt = make_runtime(tmp_path)
        report = backfill(rt, wayback(wa))
        assert wa.hits("/cdx/search/cdx") == 3  # page 3 sends page 2's key again: stop
    assert not report.ok  # the CLI exits 1
    assert any("again after 3 pages: its index loops" in p for p in report.problems)
    assert report.planned == 3 and sum(report.recorded.values()) == 3  # nothing twice


def test_an_endless_index_is_walked_as_it_comes_and_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each page's snapshots are recorded before the next page is asked for (nothing
    accumulates), and the walk stops at MAX_CDX_PAGES with a problem, not silently."""
    import presswatch.backfill as backfill_module

    monkeypatch.setattr(backfill_module, "MAX_CDX_PAGES", 12)
    raid = own_page(EN_RAID, url=RAID_URL)
    task = own_page(EN_TASK_FORCE, url=TASK_URL)
    snapshots = [
        Stored(RAID_URL, "20220601120000", body=raid.html.encode()),
        Stored(TASK_URL, "20220801000000", body=task.html.encode()),
    ]
    with WebArchive(snapshots=snapshots, page_size=1, cdx_endless=True) as wa:
        rt = make_runtime(tmp_path)
        report = backfill(rt, wayback(wa))
        order = [r.split("?")[0].split("/")[1] for r in wa.requests]
    assert order[:4] == ["cdx", "web", "cdx", "web"]  # streamed, page by page
    assert order.count("cdx") == 12
    assert not report.ok and any("did not end after 12 pages" in p for p in report.problems)


def test_control_characters_in_an_index_reach_no_terminal_or_report(tmp_path: Path) -> None:
    """An `original` carrying a line break and an escape sequence would print a forged
    line; it is refused as a URL and shown escaped."""
    forged = f"{RAID_URL}\n[voice] removed: https://voice.example/ \x1b[2K"
    raid = own_page(EN_RAID, url=RAID_URL)
    with WebArchive(
        snapshots=[
            Stored(RAID_URL, "20220601120000", body=raid.html.encode()),
            Stored(forged, "20220701120000", body=raid.html.encode()),
        ]
    ) as wa:
        sources = write_sources(tmp_path / "sources.toml")
        data = tmp_path / "data"
        env = cli_env(backfill_wayback_url=wa.base_url, backfill_delay_s=0, min_free_bytes=0)
        assert cli(data, sources, "init", env=env).returncode == 0
        run = cli(data, sources, "backfill", "ledger", "--from-archive", "wayback", env=env)
        report = cli(data, sources, "backfill", "ledger", "--report", env=env)
    assert run.returncode == 1
    assert "control or blank characters" in run.stderr and "\\n[voice]" in run.stderr
    for text in (run.stdout, run.stderr, report.stdout, report.stderr):
        assert not any(line.startswith("[voice]") for line in text.splitlines())
        assert "\x1b" not in text


def test_save_page_now_obeys_the_egress_policy(tmp_path: Path, archive: WebArchive) -> None:
    """The archive on loopback, which this client's policy does not allow: nothing is
    sent, and the run says why."""
    from presswatch.backfill_save import save_changes
    from tests.archive_helpers import exchange, record

    rt = make_runtime(tmp_path, save_to_archive=True, backfill_wayback_url=archive.base_url)
    raid = own_page(EN_RAID, url=RAID_URL)
    t0, t1 = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)
    record(rt, exchange(RAID_URL, raid.html, at=t0, source="ledger"))
    record(rt, exchange(RAID_URL, edit_one_word(raid.html, raid.snippet), at=t1, source="ledger"))
    report = save_changes(rt, Client(rt, allow=()))
    assert not report.ok and "loopback" in json.dumps(report.as_json())
    assert archive.requests == []


def test_report_and_notifications_say_what_a_web_archive_told_us(
    tmp_path: Path, archive: WebArchive
) -> None:
    """A takedown learned from a snapshot once reached the report (md, csv, json) and
    the notifications as if we had seen it ourselves."""
    import csv
    import io

    from typer.testing import CliRunner

    from archive.notify import SubscriptionSpec, add_subscription
    from presswatch.cli import app
    from presswatch.notify import send_due
    from tests.webhook_receiver import LOCAL, Webhook

    rt = make_runtime(tmp_path)
    with Webhook() as hook:
        with rt.sessions.begin() as s:
            spec = SubscriptionSpec("desk", hook.url, kinds=("removed",))
            add_subscription(s, spec, origin="cli", now=datetime.now(UTC), egress=LOCAL)
        assert backfill(rt, wayback(archive)).ok
        sent = send_due(
            rt.sessions, egress=LOCAL, public_url="https://watch.example", now=datetime.now(UTC)
        )
        assert sent.failed == {} and hook.received
        for message in hook.received:
            assert "removed (per web archive)" in message["title"]
            assert "removed (per web archive)" in message["message"]
        assert any("snapshot: " in m["message"] and "/web/2023" in m["message"]
                   for m in hook.received)  # fmt: skip

    def report(fmt: str) -> str:
        args = ["--data-dir", str(rt.settings.data_dir), "--sources", str(rt.settings.sources)]
        args += ["report", "--since", "2022-01-01", "--format", fmt]
        result = CliRunner().invoke(app, [*args, "--base-url", "https://watch.example"])
        assert result.exit_code == 0, result.output
        return result.stdout

    doc = json.loads(report("json"))
    items = [i for o in doc["outlets"] for i in (*o["removed"], *o["edited"])]
    assert items and all(i["label"].endswith("(per web archive)") for i in items)
    assert all(i["origin"] == "web_archive" and i["via"]["snapshot"] for i in items)
    rows = list(csv.DictReader(io.StringIO(report("csv"))))
    assert rows and all(r["origin"] == "web_archive" for r in rows)
    assert all(r["via_archive"] == "wayback" and "/web/" in r["via_snapshot"] for r in rows)
    lines = [line for line in report("md").splitlines() if line.startswith("- ")]
    assert lines and all("UTC (per web archive), snapshot <http" in line for line in lines)
