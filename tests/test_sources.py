"""sources.toml: schema, errors that name file, line and fix, the topic matcher, and the
`sources` and `cron` commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from archive.errors import ConfigError
from presswatch.cli import app
from presswatch.sources import TopicMatcher, check_sources, load_sources

REPO = Path(__file__).resolve().parents[1]

GOOD = """
[topics.trafficking]
keywords = ["trafficking", "scam compound", "ការជួញដូរមនុស្ស"]

[[source]]
name = "vod"
base_url = "https://vodenglish.news/"
languages = ["en"]
sitemaps = ["https://vodenglish.news/sitemap_index.xml"]
feeds = ["https://vodenglish.news/feed/"]
listings = []
article_url_pattern = '^https://vodenglish\\.news/[a-z0-9-]+/$'
topic = "trafficking"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_design_example_parses(tmp_path: Path) -> None:
    parsed = load_sources(write(tmp_path, GOOD))
    (src,) = parsed.sources
    assert src.name == "vod"
    assert src.article_regex is not None
    assert src.article_regex.search("https://vodenglish.news/some-story/")
    assert parsed.matcher_for(src) is not None


def test_shipped_example_is_valid() -> None:
    parsed, problems = check_sources(REPO / "sources.example.toml")
    assert parsed is not None, [str(p) for p in problems]
    assert not [p for p in problems if not p.warning]
    names = {s.name for s in parsed.sources}
    assert {"vod-english", "khmer-times", "rfa-khmer", "camboja-en"} <= names
    keywords = parsed.topics["trafficking"].keywords
    assert any("\u1780" <= ch <= "\u17ff" for kw in keywords for ch in kw), "Khmer keywords"
    assert "trafficking" in keywords
    # Every feed, sitemap and listing URL carries a verification note.
    for line in (REPO / "sources.example.toml").read_text(encoding="utf-8").splitlines():
        if line.startswith(('feeds = ["', 'sitemaps = ["', 'listings = ["')):
            assert "# unverified" in line, line


@pytest.mark.parametrize(
    ("snippet", "line", "expected"),
    [
        ('feed = ["https://x.news/feed"]', 5, "unknown key 'feed'; did you mean 'feeds'?"),
        ("article_url_pattern = '^https://x\\.news/(['", 5, "not a valid regular expression"),
        ('sitemaps = ["/sitemap.xml"]', 5, "must be absolute, e.g. 'https://sitemap.xml'"),
        ('feeds = ["ftp://x.news/feed"]', 5, "must use http or https"),
        ('feeds = ["https://xnews/feed"]', 5, "cannot be reached on the internet"),
        ('feeds = ["https://x.news/my feed"]', 5, "contains whitespace"),
        ('topic = "politics"', 5, "topic 'politics' is not defined; add a [topics.politics]"),
        ('languages = ["English"]', 5, "'English' is not a language code"),
        ("listing_depth = 99", 5, "less than or equal to 5"),
    ],
)
def test_errors_name_file_line_and_fix(
    tmp_path: Path, snippet: str, line: int, expected: str
) -> None:
    text = f'[[source]]\nname = "x"\nbase_url = "https://x.news/"\n# a comment\n{snippet}\n'
    path = write(tmp_path, text)
    parsed, problems = check_sources(path)
    assert parsed is None
    (problem,) = [p for p in problems if not p.warning]
    assert problem.line == line, str(problem)
    assert expected in problem.message, str(problem)
    assert str(problem).startswith(f"{path}:{line}: [source x]")
    with pytest.raises(ConfigError, match="presswatch sources --check"):
        load_sources(path)


def test_duplicate_names_point_at_the_second(tmp_path: Path) -> None:
    entry = '[[source]]\nname = "same"\nbase_url = "https://a.news/"\n\n'
    _, problems = check_sources(write(tmp_path, entry + entry))
    (problem,) = problems
    assert problem.line == 6
    assert "already used by source #1" in problem.message


def test_bad_slug_and_missing_base_url(tmp_path: Path) -> None:
    _, problems = check_sources(write(tmp_path, '[[source]]\nname = "Khmer Times"\n'))
    messages = {p.where: p.message for p in problems}
    assert "is not a slug" in messages["[source Khmer Times] name"]
    assert messages["[source Khmer Times] base_url"] == "is required"


def test_unknown_top_level_table(tmp_path: Path) -> None:
    _, problems = check_sources(write(tmp_path, '[[sources]]\nname = "x"\n'))
    assert "did you mean 'source'" in problems[0].message
    assert problems[0].line == 1


def test_toml_syntax_error_has_a_line(tmp_path: Path) -> None:
    _, problems = check_sources(write(tmp_path, '[[source]]\nname = "x\n'))
    assert problems[0].line == 2
    assert problems[0].where == "TOML"


def test_missing_file(tmp_path: Path) -> None:
    _, problems = check_sources(tmp_path / "nope.toml")
    assert "copy sources.example.toml" in problems[0].message


def test_lines_survive_multiline_arrays(tmp_path: Path) -> None:
    text = (
        '[topics.t]\nkeywords = [\n  "a",\n  "b = c",\n]\n\n'
        '[[source]]\nname = "x"\nbase_url = "https://x.news/"\nfeeds = [\n  "https://x.news/f",\n]\n'
        'topic = "t"\nbogus = 1\n'
    )
    _, problems = check_sources(write(tmp_path, text))
    (problem,) = problems
    assert problem.line == 14


def test_warnings_do_not_fail(tmp_path: Path) -> None:
    parsed, problems = check_sources(
        write(tmp_path, '[[source]]\nname = "x"\nbase_url = "https://example.com/"\n')
    )
    assert parsed is not None
    assert all(p.warning for p in problems)
    assert any("placeholder" in p.message for p in problems)


# -- topic matcher ---------------------------------------------------------------------

KHMER = "ការជួញដូរមនុស្ស"


@pytest.mark.parametrize(
    ("title", "body", "hit"),
    [
        ("Police raid SCAM COMPOUND", "", True),
        ("", "workers freed from scam compounds in Bavet", True),
        ("", "a scam-compound raid", True),
        ("", "Trafficking victims", True),
        ("", "traffickers jailed", False),  # "trafficker" is not a keyword here
        ("", "the scampering dog", False),
        ("", "antitrafficking law", False),
        ("", f"រដ្ឋាភិបាលប្រឆាំង{KHMER}នៅកម្ពុជា", True),
        # A zero-width space and a space inside the phrase still match.
        ("", "ការជួញ\u200bដូរ មនុស្ស", True),
        # The vowel sign typed as two code points (E + AA) still matches OO.
        ("", "ការជួញដូរមនុស្ស".replace("\u17c4", "\u17c1\u17b6"), True),
        ("", "ទន្លេមេគង្គឡើងខ្ពស់", False),
        (None, "", False),
    ],
)
def test_topic_matcher(title: str | None, body: str, hit: bool) -> None:
    matcher = TopicMatcher(["trafficking", "scam compound", KHMER])
    assert matcher.matches(title, body) is hit


def test_topic_matcher_khmer_keyword_in_another_order() -> None:
    # The keyword itself typed with coeng and vowel in the other order.
    keyword = "ស្រី"
    swapped = "ស" + "\u17b8" + "\u17d2" + "រ"
    assert TopicMatcher([swapped]).matches("នារី ស្រី ម្នាក់", "")
    assert TopicMatcher([keyword]).matches("", "ស" + "\u17b8\u17d2" + "រ")


# -- commands --------------------------------------------------------------------------


def test_sources_check_command(tmp_path: Path) -> None:
    runner = CliRunner()
    good = write(tmp_path, GOOD)
    result = runner.invoke(app, ["--sources", str(good), "sources", "--check"])
    assert result.exit_code == 0, result.output
    assert "1 source(s), 1 topic(s), no errors" in result.stdout

    bad = tmp_path / "bad.toml"
    bad.write_text('[[source]]\nname = "x"\nbase_url = "x.news"\n', encoding="utf-8")
    result = runner.invoke(app, ["--sources", str(bad), "sources", "--check"])
    assert result.exit_code == 2
    assert f"{bad}:3: [source x] base_url" in result.stderr
    assert "must be absolute, e.g. 'https://x.news'" in result.stderr


def test_sources_list_json(tmp_path: Path) -> None:
    runner = CliRunner()
    good = write(tmp_path, GOOD)
    data = tmp_path / "data"
    assert runner.invoke(app, ["--data-dir", str(data), "init"]).exit_code == 0
    result = runner.invoke(
        app, ["--data-dir", str(data), "--sources", str(good), "sources", "--json"]
    )
    assert result.exit_code == 0, result.output
    import json

    (row,) = json.loads(result.stdout)
    assert row["name"] == "vod" and row["articles"] == 0 and row["topic"] == "trafficking"


def test_cron_prints_a_crontab_block(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["--data-dir", str(tmp_path / "d"), "--sources", str(tmp_path / "s.toml"), "cron"],
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line and not line.startswith("#")]
    run_line = next(line for line in lines if line.endswith(" run"))
    assert run_line.startswith("*/15 * * * * cd ")
    assert f"--data-dir {(tmp_path / 'd').resolve()}" in run_line
    # The comment says cron mails failures: no MAILTO="" (which mails nobody), and
    # no variable line with a comment on it (cron would take the comment as the value).
    assert not any(line.startswith("MAILTO") for line in lines)
    assert "# MAILTO=" in result.stdout


def as_cron_runs(field: str) -> str:
    """A crontab command field as cron hands it to the shell (crontab(5)): `\\%` is a
    `%`, an unescaped `%` ends the command (the rest becomes its stdin)."""
    out, escaped = [], False
    for ch in field:
        if escaped:
            out[-1:] = [ch] if ch == "%" else [out[-1], ch]
            escaped = False
            continue
        if ch == "%":
            break
        out.append(ch)
        escaped = ch == "\\"
    return "".join(out)


def test_cron_escapes_a_percent_sign_in_a_path(tmp_path: Path) -> None:
    import shlex

    data = tmp_path / "50% off" / "data"
    result = CliRunner().invoke(app, ["--data-dir", str(data), "cron"])
    assert result.exit_code == 0, result.output
    jobs = [line for line in result.stdout.splitlines() if line[:1] in "*1"]
    assert len(jobs) == 2
    for job in jobs:
        field = job.split(" ", 5)[5]
        words = shlex.split(as_cron_runs(field))
        assert words[words.index("--data-dir") + 1] == str(data.resolve()), job


def test_sources_added_through_the_api_are_crawled_beside_the_file() -> None:
    from archive.store import SourceOptions, SourceOwner
    from presswatch.sources import SourcesFile, with_archive_sources

    api = SourceOwner.API

    file = SourcesFile.model_validate(
        {
            "topics": {"t": {"keywords": ["scam"]}},
            "source": [{"name": "vod", "base_url": "https://vod.example/"}],
        }
    )
    rows = [
        ("vod", "https://other.example/", [], SourceOptions(owner=api), True),  # file wins
        (
            "kd",
            "https://kd.example/",
            ["km"],
            SourceOptions(feeds=("https://kd.example/feed/",), topic="t", render=True, owner=api),
            True,
        ),
        ("nope", "https://n.example/", [], SourceOptions(topic="missing", owner=api), True),
        ("bad", "not a url", [], SourceOptions(owner=api), True),
        ("imported", "https://i.example/", [], SourceOptions(), True),  # auto-created by an import
    ]
    merged = with_archive_sources(file, rows)
    by_name = {s.name: s for s in merged.source}
    assert sorted(by_name) == ["kd", "nope", "vod"]
    assert by_name["vod"].base_url == "https://vod.example/"
    assert by_name["kd"].feeds == ["https://kd.example/feed/"] and by_name["kd"].topic == "t"
    assert by_name["kd"].render is True and by_name["vod"].render is False
    assert by_name["nope"].topic is None


@pytest.mark.postgres
def test_two_machines_adding_one_new_source_at_once_both_go_on(pg_url: str) -> None:
    """Two runs against one database meet a new sources.toml entry together: the one
    that loses the race to insert it updates the winner's row instead of failing
    (the scale-out smoke test once saw `uq_sources_name` end a run)."""
    from datetime import UTC, datetime

    from sqlalchemy import func, select

    from archive.store import SourceOptions
    from archive.store.db import make_engine, make_session_factory
    from archive.store.models import Source
    from archive.store.queries import upsert_source
    from tests.conftest import second_waits_on_first

    sessions = make_session_factory(make_engine(pg_url))
    entry = {"base_url": "https://ledger.example/", "languages": ["en"], "now": datetime.now(UTC)}
    first, second = SourceOptions(topic="first"), SourceOptions(topic="second")
    failures = second_waits_on_first(
        sessions,
        lambda session: upsert_source(session, name="ledger", config=first, **entry),
        lambda session: upsert_source(session, name="ledger", config=second, **entry),
    )
    assert failures == []
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Source)) == 1
        assert session.scalars(select(Source)).one().config == second
