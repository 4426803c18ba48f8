"""The command line in Khmer (#26): with `PRESSWATCH_LANG=km` the human output of each
command says our words in Khmer and none of the catalog's English messages; the
archive's own data (titles, outlets, addresses, dates, hashes) is shown as it is.
English output stays as scripts and the other tests know it; `--json` never changes."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from archive.i18n import translations
from tests.api_archive import Built, build_archive
from tests.khmer_pages import KHMER, english_fragments, english_left


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    from argon2 import PasswordHasher

    from archive.accounts import API_KEY, create_account
    from archive.accounts.credentials import use_hash_parameters

    b = build_archive(tmp_path_factory.mktemp("i18n-cli") / "data")
    before = use_hash_parameters(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    try:
        with b.runtime.sessions.begin() as s:
            create_account(s, API_KEY, "sokha", "editor", "a long password", now=datetime.now(UTC))
    finally:
        use_hash_parameters(before)
    yield b
    b.close()


@pytest.fixture(scope="module")
def fragments() -> list[str]:
    return english_fragments()


def run_cli(built: Built, *args: str, lang: str, **env: str) -> tuple[str, str]:
    """`presswatch --data-dir … ARGS` with `PRESSWATCH_LANG=lang`: (stdout, stderr)."""
    from typer.testing import CliRunner

    from presswatch.cli import app

    data_dir = str(built.runtime.settings.data_dir)
    result = CliRunner().invoke(
        app, ["--data-dir", data_dir, *args], env={"PRESSWATCH_LANG": lang, **env}
    )
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


def cli(built: Built, *args: str, lang: str) -> str:
    return run_cli(built, *args, lang=lang)[0]


def ours(text: str, *data: str) -> str:
    """`text` without the archive's data: the given strings (titles, names), addresses,
    and anything starting with a digit (dates, ids, hashes, scores)."""
    for value in data:
        text = text.replace(value, " ")
    return re.sub(r"<[^>]*>|https?://\S+|\S+\.example\S*|\d\S*", " ", text)


TITLES = ("Minister denies report on compound payments",)


def test_the_markdown_report_speaks_the_lang_setting(built: Built, fragments: list[str]) -> None:
    period = ("report", "--since", "2000-01-01", "--base-url", "https://watch.example")
    km = cli(built, *period, lang="km")
    assert km.startswith("# របាយការណ៍ Presswatch៖ ពី 2000-01-01 ដល់ ")
    assert "### បានដកចេញ (" in km and KHMER.search(km)
    # Outlet names are headings, titles are links: data, as in `changes`.
    titles = re.findall(r"\[([^\]]*)\]\(", km)
    assert titles
    outlets = re.findall(r"^## (.*)$", km, flags=re.M)
    assert english_left(ours(km, *titles, *outlets, *TITLES), fragments) == [], km
    en = cli(built, *period, lang="en")
    assert en.startswith("# Presswatch report: 2000-01-01 to ")
    assert "### Removed (" in en and not KHMER.search(ours(en, *titles))
    csv_km = cli(built, *period, "--format", "csv", lang="km")
    assert csv_km == cli(built, *period, "--format", "csv", lang="en")  # for programs


def test_articles_and_the_words_around_a_diff_speak_the_lang_setting(
    built: Built, fragments: list[str]
) -> None:
    km = cli(built, "articles", lang="km")
    assert "បានដកចេញ" in km and "(410 លែងមាន)" in km
    assert english_left(ours(km, "daily", "khmer-news"), fragments) == [], km
    en = cli(built, "articles", lang="en")
    assert re.search(r"  removed +\(http_410\)", en)  # English keeps its codes for scripts
    raid = str(built.ids["raid"])
    diff = cli(built, "diff", raid, lang="km")
    assert "\nចំណងជើង:\n" in diff
    # The diff's own lines (---, +++, @@, -, +, context) are the archive's text, and
    # "\ No newline at end of file" is the unified format's, which `patch` reads.
    diff_lines = ("-", "+", " ", "@", "\\")
    words = [line for line in diff.splitlines() if not line.startswith(diff_lines)]
    assert words and english_left("\n".join(words), fragments) == [], diff
    assert "\ntitle:\n" in cli(built, "diff", raid, lang="en")
    assert cli(built, "diff", raid, "--format", "json", lang="km") == cli(
        built, "diff", raid, "--format", "json", lang="en"
    )


def test_search_results_speak_the_lang_setting(built: Built, fragments: list[str]) -> None:
    km = cli(built, "search", "compound", "--versions", "all", "--group-by", "story", lang="km")
    assert re.match(r"លទ្ធផល \d+ ទំព័រ 1 នៃ 1\n", km), km
    assert "កំណែចាស់" in km and "ស្ថានភាព៖ " in km
    # Each hit's title, address and snippet are the archive's text; so are outlets.
    hits = [line for line in km.splitlines() if not line.startswith("  ")]
    data = ours("\n".join(hits), "daily", "khmer-news")
    assert english_left(data, fragments) == [], km
    en = cli(built, "search", "compound", "--versions", "all", lang="en")
    assert re.match(r"\d+ result\(s\), page 1 of 1\n", en) and "older version" in en
    assert "\nstatus: " in en


SOURCES = """
[[source]]
name = "daily"
base_url = "https://daily.example/"
feeds = ["https://daily.example/feed/"]

[[source]]
name = "khmer-news"
base_url = "https://khmer.example/"
languages = ["km"]
feeds = ["https://khmer.example/feed/"]
enabled = false
"""


def test_sources_and_the_crawl_summary_speak_the_lang_setting(
    built: Built, fragments: list[str], tmp_path: Path
) -> None:
    from presswatch.crawling.report import CrawlReport

    path = tmp_path / "sources.toml"
    path.write_text(SOURCES, encoding="utf-8")
    env = {"PRESSWATCH_SOURCES": str(path)}
    km, _ = run_cli(built, "sources", lang="km", **env)
    assert "អត្ថបទ (បានកែប្រែ" in km and "(បានបិទ)" in km
    # A source's last error is what the fetch said: data, as names and addresses are.
    said = [line.split("កំហុសចុងក្រោយ៖")[0] for line in km.splitlines()]
    assert english_left(ours("\n".join(said), "daily", "khmer-news"), fragments) == [], km
    en, _ = run_cli(built, "sources", lang="en", **env)
    assert re.search(r"^khmer-news +\d+ articles \(\d+ edited, \d+ removed\)  ", en, re.M)
    assert " (disabled)" in en
    checked, _ = run_cli(built, "sources", "--check", lang="km", **env)
    assert checked == f"{path}៖ ប្រភព 2 ប្រធានបទ 0 គ្មានកំហុស\n"

    report = CrawlReport(counts={"fetched": 5, "fetch_errors": 2}, problems=["[s] x: HTTP 404"])
    line = report.summary("crawl", translations("km").gettext)
    assert line.startswith("crawl៖ បានទាញយក 5 ថ្មី 0 ")
    assert english_left(ours(line, "crawl", "article_pages", "http_404"), fragments) == []
    assert report.summary("crawl").startswith("crawl: 5 fetched, 0 new, ")  # the log's


def test_cases_accounts_and_subscriptions_speak_the_lang_setting(
    built: Built, fragments: list[str]
) -> None:
    from presswatch.commands.notify import _describe

    raid = str(built.ids["raid"])
    added, _ = run_cli(built, "case", "add", "compound-7", raid, "--tag", "raid", lang="km")
    assert added == "សំណុំរឿង compound-7៖ បានបន្ថែមអត្ថបទ 1\n"
    noted, _ = run_cli(built, "case", "note", "compound-7", "ask the ministry", lang="km")
    assert noted.startswith("សំណុំរឿង compound-7៖ បានបន្ថែមកំណត់ចំណាំ ")
    listed, _ = run_cli(built, "case", "list", lang="km")
    assert listed == "compound-7\tអត្ថបទ 1\tកំណត់ចំណាំ 1\n"
    shown, _ = run_cli(built, "case", "show", "compound-7", lang="km")
    assert "សំណុំរឿង compound-7 (បង្កើតនៅ " in shown and "ចូលមិនបាន" in shown
    # The case's name, its tags, notes and authors are what people wrote.
    data = ours(shown, "compound-7", "raid", "ask the ministry", "cli")
    assert english_left(data, fragments) == [], shown
    en, _ = run_cli(built, "case", "show", "compound-7", lang="en")
    assert re.search(r"^  article \d+ unreachable https://", en, re.M), en
    assert run_cli(built, "case", "list", lang="en")[0] == "compound-7\t1 articles\t1 notes\n"

    accounts, _ = run_cli(built, "accounts", "list", lang="km")
    assert "sokha\tអ្នកកែសម្រួល\tសកម្ម\n" in accounts
    assert "sokha\teditor\tactive\n" in run_cli(built, "accounts", "list", lang="en")[0]

    empty, _ = run_cli(built, "notify", "list", lang="km")
    assert empty.startswith("គ្មានការជាវទេ៖ `presswatch notify add NAME URL`")
    row = {
        "name": "desk",
        "origin": "cli",
        "url": "https://hooks.example/x",
        "mode": "digest",
        "kinds": ["removed"],
        "sources": [],
        "topic": None,
        "keywords": [],
        "min_significance": None,
        "enabled": False,
        "matched": 3,
        "sent": 2,
        "pending": 1,
        "unconfirmed": 0,
        "failures": 2,
        "next_attempt_at": "2026-03-02T10:00:00+00:00",
    }
    km = _describe(row, translations("km").gettext)
    assert "បានបិទ; ត្រូវគ្នា 3 បានផ្ញើ 2 កំពុងរង់ចាំ 1; បរាជ័យ (2 ដង" in km
    assert english_left(ours(km, "desk", "cli", "digest", "kinds=removed"), fragments) == [], km
    assert _describe(row).endswith(
        "disabled; 3 matched, 2 sent, 1 waiting; FAILING (2x, next try 2026-03-02T10:00:00+00:00)"
    )


def test_verify_and_exports_speak_the_lang_setting(
    built: Built, fragments: list[str], tmp_path: Path
) -> None:
    verified, _ = run_cli(built, "verify", lang="km")
    assert re.fullmatch(r"ល្អ៖ បានពិនិត្យការថតទុក [\d,]+ និងកំណែ [\d,]+\n", verified)
    assert run_cli(built, "verify", lang="en")[0].startswith("ok: ")  # as cron mails know it
    raid = str(built.ids["raid"])
    said = [
        *run_cli(built, "export", "wacz", "-o", str(tmp_path / "all.wacz"), lang="km"),
        *run_cli(built, "export", "evidence", raid, "-o", str(tmp_path / "e.wacz"), lang="km"),
        *run_cli(built, "index-warcs", lang="km"),
    ]
    text = "\n".join(said)
    assert "បានសរសេរ " in text and "លិបិក្រមក្នុង " in text
    # File names, counts and `WARC` (a format's name) are not our words.
    assert english_left(ours(text.replace(str(tmp_path), " "), "WARC"), fragments) == [], text
    en, _ = run_cli(built, "export", "wacz", "-o", str(tmp_path / "en.wacz"), lang="en")
    assert re.fullmatch(rf"wrote {tmp_path}/en.wacz: \d+ WARC records in 1 file\(s\), .*\n", en)


def test_a_saved_page_is_said_in_the_lang_setting(
    fragments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from presswatch.commands.save import _print_saved

    doc = {
        "url": "https://daily.example/news/raid/",
        "source": "daily",
        "capture_id": 7,
        "outcome": "new",
        "article_id": 3,
        "status": "live",
        "versions": 1,
        "next_check": "2026-03-02T10:00:00+00:00",
        "audit_leaf_index": 12,
    }
    _print_saved(doc, "km")
    km = capsys.readouterr().out
    assert km.startswith("បានរក្សាទុក https://daily.example/news/raid/ ក្រោម daily៖ ការថតទុក 7 (")
    assert english_left(ours(km, "daily"), fragments) == [], km
    _print_saved({**doc, "article_id": None, "next_check": None}, "km")
    assert "គ្មានអត្ថបទ" in capsys.readouterr().out
    _print_saved(doc, "en")
    assert capsys.readouterr().out == (
        "saved https://daily.example/news/raid/ under daily: capture 7 (new), article 3 "
        "(live, 1 version(s)), next check 2026-03-02T10:00:00+00:00; audit leaf 12\n"
    )


def test_the_live_crawl_table_speaks_the_lang_setting(fragments: list[str]) -> None:
    from rich.console import Console

    from presswatch.commands.crawl import _Live

    def drawn(lang: str) -> str:
        console = Console(width=160, record=True, file=io.StringIO())
        console.print(_Live("presswatch crawl", lang)._render({"fetched": 3}))
        return console.export_text()

    km = drawn("km")
    assert "បានទាញយក" in km and "ទំព័រ/វិនាទី" in km
    assert english_left(ours(km, "presswatch crawl"), fragments) == [], km
    assert "pages/s" in drawn("en")


def test_accounts_and_subscriptions_are_confirmed_in_the_lang_setting(
    built: Built, fragments: list[str], tmp_path: Path
) -> None:
    from argon2 import PasswordHasher

    from archive.accounts.credentials import use_hash_parameters

    secret = tmp_path / "password"
    secret.write_text("a long password for dara\n", encoding="utf-8")
    before = use_hash_parameters(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    try:
        made = run_cli(
            built, "accounts", "create", "dara", "--password-file", str(secret), lang="km"
        )
    finally:
        use_hash_parameters(before)
    said = [
        made,
        run_cli(built, "accounts", "role", "dara", "--role", "editor", lang="km"),
        run_cli(built, "accounts", "token", "create", "dara", "--name", "desk", lang="km"),
        run_cli(built, "accounts", "disable", "dara", lang="km"),
        run_cli(built, "notify", "add", "desk", "json://hooks.example/x", lang="km"),
        run_cli(built, "notify", "remove", "desk", lang="km"),
    ]
    assert said[0][0] == "បានបង្កើតគណនី dara (អ្នកមើល)\n"
    assert said[1][0] == "គណនី dara ឥឡូវជា អ្នកកែសម្រួល\n"
    assert said[3][0] == "បានបិទគណនី dara\n"
    assert said[5][0] == "បានលុប desk\n"
    token = said[2][0].strip()
    # The names, the token, the mode and the address are data; a warning on stderr
    # ("presswatch: warning: …") stays English, as errors do (README).
    text = "\n".join(out + err for out, err in said).replace(token, " ")
    lines = [line for line in text.splitlines() if not line.startswith("presswatch: ")]
    data = ours("\n".join(lines), "dara", "desk", "immediate", "digest")
    assert english_left(data, fragments) == [], text
    en, _ = run_cli(built, "notify", "add", "desk2", "json://hooks.example/y", lang="en")
    assert en == "added desk2: immediate to json://hooks.example/…\n"  # the path redacted


def test_init_and_import_speak_the_lang_setting(built: Built, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from presswatch.cli import app

    made = CliRunner().invoke(
        app, ["--data-dir", str(tmp_path / "d"), "init"], env={"PRESSWATCH_LANG": "km"}
    )
    assert made.stdout == f"បណ្ណសាររួចរាល់នៅក្នុង {tmp_path / 'd'}\n", made.output
    warc = sorted(built.runtime.settings.warc_dir.rglob("*.warc.gz"))[0]
    # Every record of the archive's own WARC file is already in it.
    again, _ = run_cli(built, "import", str(warc), "--source", "daily", lang="km")
    assert re.fullmatch(r"បាននាំចូល៖ \d+ មានក្នុងបណ្ណសាររួចហើយ\n", again), again
