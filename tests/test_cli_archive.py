"""The archive commands of the `presswatch` CLI: exit codes, JSON shapes, import."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from presswatch.cli import app
from presswatch.runtime import Runtime
from tests import archive_helpers as h

KM_URL = "https://khmer.example/news/313342/"
OTHER_URL = "https://khmer.example/news/313467/"


def cli(data_dir: Path, *args: str) -> Any:
    result = CliRunner().invoke(app, ["--data-dir", str(data_dir), *args])
    return result


def build(rt: Runtime, at: Any) -> None:
    html = h.km_story(KM_URL).html
    h.record(rt, h.exchange(KM_URL, html, at=at(0)))
    h.record(rt, h.exchange(KM_URL, h.khmer_byline_changed(html), at=at(1)))
    h.record(rt, h.exchange(OTHER_URL, h.km_other(OTHER_URL).html, at=at(1)))
    for t in (2, 3):
        h.record(rt, h.exchange(OTHER_URL, h.NOT_FOUND_KM, at=at(t), status=410))


def test_init_is_idempotent_and_says_so(tmp_path: Path) -> None:
    for _ in range(2):
        result = cli(tmp_path / "d", "init")
        assert result.exit_code == 0, result.output
        # Not only on a terminal: a scripted init once printed nothing at all.
        assert result.stdout == f"archive ready in {tmp_path / 'd'}\n"
    assert (tmp_path / "d" / "presswatch.db").exists()


def test_commands_on_an_uninitialized_archive_say_what_to_do(tmp_path: Path) -> None:
    result = cli(tmp_path / "none", "articles")
    assert result.exit_code == 2
    assert "presswatch init" in result.output


def test_articles_json_shape(runtime: Runtime, at: Any) -> None:
    build(runtime, at)
    result = cli(runtime.settings.data_dir, "articles", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["status"] for r in rows] == ["edited", "removed"]
    for key in (
        "id",
        "url",
        "source",
        "status",
        "versions",
        "first_seen",
        "last_checked",
        "removed_at",
        "removal",
    ):
        assert key in rows[0]
    assert rows[1]["removal"] == "http_410" and rows[1]["removed_at"].startswith("2026-03-01T10:00")
    removed = json.loads(
        cli(runtime.settings.data_dir, "articles", "--status", "removed", "--json").stdout
    )
    assert [r["id"] for r in removed] == [rows[1]["id"]]
    assert cli(runtime.settings.data_dir, "articles", "--status", "gone").exit_code == 2


def test_history_json_shape(runtime: Runtime, at: Any) -> None:
    build(runtime, at)
    result = cli(runtime.settings.data_dir, "history", KM_URL, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["article"]["versions"] == 2
    assert [v["n"] for v in doc["versions"]] == [1, 2]
    assert {
        "n",
        "title",
        "byline",
        "published",
        "modified",
        "lang",
        "text_sha256",
        "first_seen",
        "last_seen",
    } <= set(doc["versions"][0])
    assert [(e["kind"], e["how"]) for e in doc["events"]] == [
        ("discovered", []),
        ("edited", ["byline"]),
    ]
    # By id, and by a URL variant (tracking parameter, http scheme) too.
    by_id = json.loads(
        cli(runtime.settings.data_dir, "history", str(doc["article"]["id"]), "--json").stdout
    )
    assert by_id["article"]["url"] == doc["article"]["url"]
    variant = cli(
        runtime.settings.data_dir,
        "history",
        "http://khmer.example/news/313342/?utm_source=fb",
        "--json",
    )
    assert variant.exit_code == 0, variant.output
    missing = cli(runtime.settings.data_dir, "history", "https://nowhere.example/x/")
    assert missing.exit_code == 1 and "no archived article" in missing.output


def test_diff_formats(runtime: Runtime, at: Any) -> None:
    build(runtime, at)
    unified = cli(runtime.settings.data_dir, "diff", KM_URL)
    assert unified.exit_code == 0, unified.output
    assert "អ្នកយកព័ត៌មាន" in unified.stdout and "សុខ ដារ៉ា" in unified.stdout
    as_json = json.loads(cli(runtime.settings.data_dir, "diff", KM_URL, "--format", "json").stdout)
    assert as_json["changed"] == ["byline"]
    html = cli(
        runtime.settings.data_dir, "diff", KM_URL, "--from", "1", "--to", "2", "--format", "html"
    )
    assert html.exit_code == 0 and "<del" in html.stdout or "<ins" in html.stdout
    assert cli(runtime.settings.data_dir, "diff", KM_URL, "--format", "pdf").exit_code == 2
    assert cli(runtime.settings.data_dir, "diff", KM_URL, "--from", "7").exit_code == 2
    single = cli(runtime.settings.data_dir, "diff", "https://khmer.example/news/313467/")
    assert single.exit_code == 1 and "nothing to diff" in single.output


def test_changes_json_shape_and_filters(runtime: Runtime, at: Any) -> None:
    build(runtime, at)
    rows = json.loads(cli(runtime.settings.data_dir, "changes", "--json").stdout)
    assert [r["kind"] for r in rows] == ["removed", "discovered", "edited", "discovered"]
    removed = rows[0]
    assert removed["how"] == "http_410" and removed["from_version"] == 1
    for key in (
        "id",
        "article_id",
        "url",
        "source",
        "kind",
        "how",
        "at",
        "from_version",
        "to_version",
        "detail",
    ):
        assert key in removed
    edited = json.loads(
        cli(runtime.settings.data_dir, "changes", "--kind", "edited", "--json").stdout
    )
    assert [(r["how"], r["from_version"], r["to_version"]) for r in edited] == [(["byline"], 1, 2)]
    since = json.loads(
        cli(
            runtime.settings.data_dir, "changes", "--since", "2026-03-01T09:30:00Z", "--json"
        ).stdout
    )
    assert [r["kind"] for r in since] == ["removed"]
    assert cli(runtime.settings.data_dir, "changes", "--since", "yesterday").exit_code == 2
    assert cli(runtime.settings.data_dir, "changes", "--kind", "deleted").exit_code == 2


def _warc_with(path: Path, pages: list[tuple[str, str, bytes, int]]) -> None:
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, date, body, status in pages:
            headers = StatusAndHeaders(
                f"{status} OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
            )
            rec = writer.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(body),
                length=len(body),
                http_headers=headers,
                warc_headers_dict={"WARC-Date": date},
            )
            writer.write_record(rec)


def test_import_a_warc_file_then_again_is_idempotent(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert cli(data, "init").exit_code == 0
    km_html = h.km_story(KM_URL).html
    km, edited = km_html.encode(), h.khmer_byline_changed(km_html).encode()
    warc = tmp_path / "crawl.warc.gz"
    _warc_with(
        warc,
        [
            (KM_URL, "2026-01-01T10:00:00Z", km, 200),
            (KM_URL, "2026-01-02T10:00:00Z", edited, 200),
            ("https://khmer.example/gone/", "2026-01-02T10:00:00Z", b"nope", 404),
        ],
    )
    first = cli(data, "import", str(warc), "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["recorded"] == {"new": 1, "edited": 1, "not_article": 1}
    again = cli(data, "import", str(warc), "--json")
    assert json.loads(again.stdout)["recorded"] == {"duplicate": 3}
    # Without --json and with no terminal, it still says what it did (it once said
    # nothing on success).
    plain = cli(data, "import", str(warc))
    assert (plain.exit_code, plain.stdout, plain.stderr) == (0, "imported: 3 duplicate\n", "")
    history = json.loads(cli(data, "history", KM_URL, "--json").stdout)
    assert history["versions"][0]["first_seen"].startswith("2026-01-01T10:00")
    assert cli(data, "verify").exit_code == 0


def test_import_saved_pages_reports_pages_without_url(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cli(data, "init")
    saved = tmp_path / "saved"
    saved.mkdir()
    page = h.km_other(OTHER_URL).html
    (saved / "story.html").write_text(
        "<!-- saved from url=(0034)https://khmer.example/news/313467/ -->\n" + page,
        encoding="utf-8",
    )
    os.utime(saved / "story.html", (1767261600, 1767261600))  # 2026-01-01T10:00Z
    (saved / "nourl.html").write_text(
        "<html><body><p>no address</p></body></html>", encoding="utf-8"
    )
    result = cli(data, "import", str(saved), "--json")
    assert result.exit_code == 1  # one file had a problem
    doc = json.loads(result.stdout)
    assert doc["recorded"] == {"new": 1}
    assert (
        len(doc["problems"]) == 1
        and "nourl.html" in doc["problems"][0]
        and "canonical" in doc["problems"][0]
    )
    rows = json.loads(cli(data, "articles", "--json").stdout)
    assert rows[0]["url"] == "https://khmer.example/news/313467/"
    assert rows[0]["first_seen"].startswith("2026-01-01T10:00")


def test_import_a_damaged_warc_is_a_clear_error(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cli(data, "init")
    bad = tmp_path / "broken.warc.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage" * 10)
    result = cli(data, "import", str(bad))
    assert result.exit_code == 1 and "unreadable WARC" in result.output
    missing = cli(data, "import", str(tmp_path / "nope"))
    assert missing.exit_code == 2


@pytest.mark.parametrize(
    "env", [{"PRESSWATCH_REMOVAL_CONFIRMATIONS": "0"}, {"DATABASE_URL": "not a url"}]
)
def test_invalid_settings_exit_2_naming_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = cli(tmp_path / "d", "init")
    assert result.exit_code == 2
    field = "removal_confirmations" if "PRESSWATCH_REMOVAL_CONFIRMATIONS" in env else "database_url"
    assert field in result.output.lower() or "database_url" in result.output.lower()
