"""The interface in Khmer and English: the catalogs are whole (every message in the code
and templates is in them, each with a Khmer translation, none fuzzy), and the main
pages in Khmer (chosen by the switcher's cookie, `?lang=`, `Accept-Language` or
`PRESSWATCH_LANG`) show no English message of ours; English stays the default."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from archive.accounts import API_KEY, create_account
from archive.i18n import choose_lang, label, translations
from search_api.app import create_app
from tests.api_archive import Built, build_archive, make_app
from tests.khmer_pages import (
    KHMER,
    PLACEHOLDER,
    catalog,
    english_fragments,
    english_left,
    msgid,
    visible_text,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

REPO = Path(__file__).resolve().parents[1]


def extracted() -> set[str]:
    """What `pybabel extract -F babel.cfg -k N_` finds (README, "Translations")."""
    with (REPO / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(REPO), method_map, options_map, keywords=keywords
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


# -- the catalogs --------------------------------------------------------------------------


def test_every_message_has_a_khmer_translation_and_none_is_fuzzy() -> None:
    km = catalog("km")
    problems = []
    for message in km:
        if not message.id:
            continue
        strings = [message.string] if isinstance(message.string, str) else message.string
        if not all(s and s.strip() for s in strings):
            problems.append(f"no Khmer for {msgid(message)!r}")
        if message.fuzzy:
            problems.append(f"fuzzy: {msgid(message)!r}")
        # A translation that drops or renames a placeholder would fail at run time.
        wanted = sorted(PLACEHOLDER.findall(msgid(message)))
        for s in strings:
            if s and sorted(PLACEHOLDER.findall(s)) != wanted:
                problems.append(f"placeholders of {msgid(message)!r} differ in {s!r}")
    assert problems == [], "\n".join(problems)
    assert len([m for m in km if m.id]) > 200


def test_every_message_in_code_and_templates_is_in_both_catalogs() -> None:
    """A new `_()` in a template or `N_()` in the code fails here until the catalogs are
    updated and Khmer written (README, "Translations")."""
    found = extracted()
    for lang in ("km", "en"):
        known = {msgid(m) for m in catalog(lang) if m.id}
        missing = sorted(found - known)
        assert missing == [], f"not in {lang}.po (run pybabel extract/update): {missing}"
        stale = sorted(known - found)
        assert stale == [], f"in {lang}.po but no longer in the code: {stale}"


def test_every_code_has_words_in_both_languages() -> None:
    from archive.store import ArticleStatus, CaptureOutcome, ChangeKind, RemovalReason

    km = translations("km").gettext
    codes = [*ArticleStatus, *ChangeKind, *RemovalReason, *CaptureOutcome]
    codes += ["title", "body", "byline", "dates", "images_changed", "silent_edit"]
    for code in codes:
        english = label(code, str)
        assert "_" not in english, code
        assert KHMER.search(label(code, km)), code


@pytest.mark.parametrize(
    ("asked", "accept", "setting", "lang"),
    [
        (None, None, None, "en"),
        (None, None, "km", "km"),
        (None, "km-KH,km;q=0.9,en;q=0.5", "en", "km"),
        (None, "fr-FR, en;q=0.3, km;q=0.8", "en", "km"),
        (None, "en-GB,en;q=0.9", "km", "en"),
        (None, "fr, de;q=0.5", "km", "km"),  # none of ours: the setting
        (None, "km;q=0, en", "km", "en"),
        (None, "*", "km", "km"),
        ("en", "km", "km", "en"),  # the switcher wins
        ("km", None, None, "km"),
        ("xx", "km", None, "km"),  # a forged cookie is ignored
        (None, "km," * 10_000, None, "km"),  # a huge header is read only at its start
    ],
)
def test_choose_lang(asked: str | None, accept: str | None, setting: str | None, lang: str) -> None:
    assert choose_lang(asked, accept, setting) == lang


# -- the pages -----------------------------------------------------------------------------

EDITOR_PASSWORD = "a long editor password"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    from argon2 import PasswordHasher

    from archive.accounts.credentials import use_hash_parameters

    b = build_archive(tmp_path_factory.mktemp("i18n") / "data")
    before = use_hash_parameters(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    try:
        with b.runtime.sessions.begin() as s:
            create_account(s, API_KEY, "sokha", "editor", EDITOR_PASSWORD, now=datetime.now(UTC))
    finally:
        use_hash_parameters(before)
    yield b
    b.close()


def client(built: Built, **settings: Any) -> TestClient:
    if not settings:
        return TestClient(make_app(built), base_url="https://testserver")
    merged = built.runtime.settings.model_copy(update=settings)
    app = create_app(
        merged,
        sessions=built.runtime.sessions,
        warc=built.runtime.warc,
        backend=built.backend,
        clock=lambda: datetime(2026, 1, 3, tzinfo=UTC),
    )
    return TestClient(app, base_url="https://testserver")


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def sign_in_and_open_a_case(c: TestClient, article_id: int) -> None:
    response = c.post(
        "/signin",
        data={
            "name": "sokha",
            "password": EDITOR_PASSWORD,
            "csrf_token": csrf_of(c.get("/signin").text),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    page = c.get(f"/articles/{article_id}").text
    response = c.post(
        "/cases/add",
        data={"csrf_token": csrf_of(page), "article_id": str(article_id), "case": "compound-7"},
        follow_redirects=False,
    )
    assert response.status_code in (200, 303), response.text


def paths(built: Built) -> list[str]:
    raid, gone = built.ids["raid"], built.ids["gone"]
    return [
        "/",
        "/?q=compound",
        f"/articles/{raid}",
        f"/articles/{gone}",
        f"/articles/{raid}/versions/1",
        f"/articles/{raid}/diff",
        "/changes",
        "/sources",
        "/subscribe",
        "/signin",
        # Not /api/docs: its routes' descriptions are the OpenAPI schema's, in English.
        "/articles/999999",  # the error page
    ]


def assert_khmer(page: str, fragments: list[str], where: str) -> None:
    assert '<html lang="km">' in page, where
    text = visible_text(page)
    assert KHMER.search(text), where
    left = english_left(text, fragments)
    assert left == [], f"{where}: English left on a Khmer page: {left}\n{text}"


def test_main_pages_in_khmer_by_the_switcher_show_no_english_message(built: Built) -> None:
    fragments = english_fragments()
    with client(built) as c:
        switched = c.get(
            "/lang/km", params={"next": "/changes?kind=edited"}, follow_redirects=False
        )
        assert switched.status_code == 303
        assert switched.headers["location"] == "/changes?kind=edited"
        assert "lang=km" in switched.headers["set-cookie"]
        sign_in_and_open_a_case(c, built.ids["raid"])
        for path in [*paths(built), "/cases", "/cases/compound-7", "/save", "/audit"]:
            response = c.get(path)
            assert_khmer(response.text, fragments, path)
        # Back to English with the same switcher.
        c.get("/lang/en", params={"next": "/"})
        page = c.get("/changes").text
        assert '<html lang="en">' in page and "What changed" in page


def test_accept_language_and_query_choose_khmer(built: Built) -> None:
    fragments = english_fragments()
    with client(built) as c:
        for path in (f"/articles/{built.ids['gone']}", "/", "/sources"):
            page = c.get(path, headers={"Accept-Language": "km-KH,km;q=0.9,en;q=0.5"}).text
            assert_khmer(page, fragments, path)
        page = c.get(f"/articles/{built.ids['gone']}?lang=km").text
        assert_khmer(page, fragments, "?lang=km")
        # Statuses and removal signs in words, the code kept in a title.
        assert "404 រកមិនឃើញ" in page and 'title="http_404"' in page
        # On the search page `lang` narrows the results to articles in a language.
        assert '<html lang="en">' in c.get("/?lang=km").text


def test_presswatch_lang_setting_chooses_khmer_when_the_browser_names_none(built: Built) -> None:
    fragments = english_fragments()
    with client(built, lang="km") as c:
        for path in (f"/articles/{built.ids['raid']}/diff", "/changes", "/signin"):
            assert_khmer(c.get(path).text, fragments, path)
        english = c.get("/changes", headers={"Accept-Language": "en-US,en;q=0.9"}).text
        assert '<html lang="en">' in english and "What changed" in english


def test_english_stays_the_default_with_words_for_codes(built: Built) -> None:
    with client(built) as c:
        page = c.get(f"/articles/{built.ids['gone']}").text
        assert '<html lang="en">' in page
        assert "404 not found" in page and "First seen" in page
        assert not KHMER.search(visible_text(page).replace("ខ្មែរ", ""))
        assert c.get("/lang/fr").status_code == 404
        # The switcher goes back only to a page of this site.
        for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
            response = c.get("/lang/km", params={"next": target}, follow_redirects=False)
            assert response.headers["location"] == "/", target


# -- notifications -------------------------------------------------------------------------


def test_notifications_speak_the_lang_setting() -> None:
    from archive.notify import NotifyEvent, messages_for
    from archive.store.models import NotifySubscription

    at = datetime(2026, 3, 1, 8, tzinfo=UTC)
    removed = NotifyEvent(
        id=7,
        kind="removed",
        how=["http_404"],
        at=at,
        detail={},
        article_id=3,
        url="https://daily.example/a/",
        source="daily",
        title="Minister denies report",
    )
    edited = NotifyEvent(
        id=8,
        kind="edited",
        how=["title", "body"],
        at=at,
        article_id=3,
        detail={"significance": 0.5, "classes": [{"class": "quote_removed"}]},
        url="https://daily.example/a/",
        source="daily",
        title="Minister denies report",
    )
    one = NotifySubscription(name="s", mode="immediate")
    fragments = english_fragments()
    for events in ([removed], [removed, edited]):
        for limit in (5, 1):  # one message per event, then a digest
            for title, body, _ids in messages_for(one, events, "https://w.example", limit, "km"):
                # The outlet's title and the addresses are data.
                text = f"{title}\n{body}".replace("Minister denies report", "")
                text = re.sub(r"https?://\S+", "", text)
                assert KHMER.search(text)
                assert english_left(text, fragments) == [], text
    (title, body, _ids), _ = messages_for(one, [removed, edited], None, 5, "en")
    assert title == "Presswatch: removed — Minister denies report"
    assert "(404 not found)" in body
    ((_t, km_body, _i),) = messages_for(one, [edited], None, 5, "km")
    assert "សម្រង់សម្ដីត្រូវបានលុប" in km_body and "ចំណងជើង" in km_body


# -- the command line ----------------------------------------------------------------------


def cli(built: Built, *args: str, lang: str) -> str:
    from typer.testing import CliRunner

    from presswatch.cli import app

    data_dir = str(built.runtime.settings.data_dir)
    result = CliRunner().invoke(app, ["--data-dir", data_dir, *args], env={"PRESSWATCH_LANG": lang})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_status_changes_and_history_speak_the_lang_setting(built: Built) -> None:
    fragments = english_fragments()
    status = cli(built, "status", lang="km")
    assert "សោ៖ ទំនេរ" in status and "ប្រភព៖" in status
    changes = cli(built, "changes", lang="km")
    assert "បានដកចេញ" in changes and "410 លែងមាន" in changes
    for text in (status, changes):
        # The backends' lines (search, frontier, browser) are their own reports, and a
        # source's last error is what the fetch said: data, as addresses and dates are.
        lines = [
            line.split("កំហុសចុងក្រោយ៖")[0]
            for line in text.splitlines()
            if not line.startswith(("search:", "frontier:", "browser:"))
        ]
        data = re.sub(r"https?://\S+|\S+\.example\S*|\d\S*", "", "\n".join(lines))
        assert english_left(data, fragments) == [], text
    history = cli(built, "history", str(built.ids["gone"]), lang="km")
    assert "បានដកចេញ៖ 404 រកមិនឃើញ ឃើញបាត់ដំបូង" in history
    titles = "Minister denies report on compound payments"
    data = re.sub(r"https?://\S+|\d\S*|daily", "", history.replace(titles, ""))
    assert english_left(data, fragments) == [], history
    english = cli(built, "changes", lang="en")
    assert re.search(r"  removed +http_410 ", english)  # English keeps its codes for scripts
    assert "lock: free" in cli(built, "status", lang="en")


def test_a_private_archive_still_lets_a_visitor_choose_the_sign_in_pages_language(
    built: Built,
) -> None:
    with client(built, private=True) as c:
        response = c.get("/lang/km", params={"next": "/signin"}, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/signin"
        page = c.get("/signin")
        assert '<html lang="km">' in page.text and "ចូលគណនី" in page.text
        assert page.headers["content-language"] == "km"
        assert "Accept-Language" in page.headers["vary"]
        assert c.get("/changes", follow_redirects=False).status_code == 303  # still private


def test_charts_follow_the_readers_language(built: Built) -> None:
    from lxml import etree

    fragments = english_fragments()
    with client(built) as c:
        c.get("/lang/km")
        for path in (
            "/charts/summary.svg",
            "/charts/sources/daily/captures.svg",
            "/charts/sources/khmer-news/changes.svg",
            f"/charts/articles/{built.ids['gone']}.svg",
        ):
            response = c.get(path)
            assert response.status_code == 200, path
            assert "Accept-Language" in response.headers["vary"]
            root = etree.fromstring(response.content)
            for style in root.iter("{http://www.w3.org/2000/svg}style"):
                style.text = ""
            texts = [t for t in root.itertext() if t.strip()]
            said = " ".join(texts)
            assert KHMER.search(said), path
            # Archived titles (the timeline's heading and its version bands) are data.
            said = said.replace("Minister denies report on compound payments", "")
            said = re.sub(r"\d\S*|daily|khmer-news", "", said)
            assert english_left(said, fragments) == [], f"{path}: {said}"


def test_a_refused_sign_in_says_so_in_khmer(built: Built) -> None:
    with client(built, lang="km") as c:
        token = csrf_of(c.get("/signin").text)
        response = c.post(
            "/signin", data={"name": "sokha", "password": "not it", "csrf_token": token}
        )
        assert response.status_code == 401
        assert_khmer(response.text, english_fragments(), "refused sign-in")
        assert "ការចូលគណនីបរាជ័យ។" in response.text
