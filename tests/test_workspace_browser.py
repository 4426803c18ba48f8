"""A newsroom's day in the real Chromium, in Khmer (issue #26): an editor signs in,
switches the interface to Khmer with the page's switcher, saves a page of the local
news site through the save form, adds the saved article to a new case from its page,
writes a note on the case page; every main page is screenshotted (not blank) and its
rendered text (the browser's DOM) is Khmer with none of the catalog's English messages
left. The case is then exported (`presswatch export case`: there is no web export)
and the package verifies offline; the same package with the note's text changed fails,
naming the note.

One served presswatch, one Chromium session, one test: the steps build on each other.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from archive.accounts import API_KEY, create_account
from presswatch.demo.content import DEMO_ARTICLES
from tests.api_archive import Built, build_archive
from tests.browser_harness import screenshot, wait_for
from tests.khmer_pages import KHMER, english_fragments, english_left, visible_text
from tests.package_checks import read, write
from tests.site_server import NewsSite, cli, cli_env, served_presswatch, write_sources

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("need_chromium")]

ROOT = Path(__file__).resolve().parents[1]
EDITOR, PASSWORD = "sokha", "sokha's long password"
CASE = "bavet-2026"
NOTE = "The headline was softened two days after the raid."
# A save runs `presswatch save` (Scrapy) in a subprocess: seconds, more on a loaded box.
SAVE_WAIT_S = 180
PAGE_WAIT_S = 60
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


@dataclass
class Desk:
    base: str
    built: Built
    site: NewsSite
    sources: Path
    key_file: Path
    work: Path


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, need_chromium: None) -> Iterator[Desk]:
    from argon2 import PasswordHasher

    from archive.accounts.credentials import use_hash_parameters

    work = tmp_path_factory.mktemp("workspace-browser")
    built = build_archive(work / "data")
    # A cheap hash: the server checks it with the parameters the hash itself names.
    before = use_hash_parameters(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    try:
        with built.runtime.sessions.begin() as s:
            create_account(s, API_KEY, EDITOR, "editor", PASSWORD, now=datetime.now(UTC))
    finally:
        use_hash_parameters(before)
    key_file = work / "key.pub"
    key_file.write_text(built.runtime.log_signer().verifier_key + "\n")
    try:
        with NewsSite(articles=DEMO_ARTICLES[:2]) as site:
            sources = write_sources(work / "sources.toml", site)
            # The server's settings are the save command's: the local site's network
            # allowed (cli_env), these sources, no browser rendering.
            env = cli_env(sources=sources)
            with served_presswatch(work / "data", work / "server.log", env) as base:
                yield Desk(base, built, site, sources, key_file, work)
    finally:
        built.close()


def until(browser: Any, check: Any, timeout: float = PAGE_WAIT_S) -> Any:
    """Wait for `check(browser)`; an element of the page being left is retried."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(browser, timeout, ignored_exceptions=ignored).until(lambda d: check(d))


def lang_is(lang: str) -> Any:
    from selenium.webdriver.common.by import By

    return lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang


def shows(browser: Any, css: str, text: str, timeout: float = PAGE_WAIT_S) -> None:
    """Wait until the element shows `text` (after a click the old page may linger)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, timeout).until(
        ec.text_to_be_present_in_element((By.CSS_SELECTOR, css), text)
    )


def not_blank(png: Path) -> None:
    from PIL import Image

    with Image.open(png) as image:
        assert image.width >= 800 and image.height >= 400, (png, image.size)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
        assert colours is None or len(colours) > 1, f"{png} is one colour"


def in_khmer(browser: Any, desk: Desk, name: str, fragments: list[str]) -> str:
    """Screenshot the page the browser shows and check its rendered text: Khmer, and no
    English message of ours. Returns the visible text."""
    until(browser, lambda d: d.execute_script("return document.readyState") == "complete")
    until(browser, lang_is("km"))
    not_blank(screenshot(browser, f"{name}.png", desk.work))
    text = visible_text(browser.execute_script("return document.documentElement.outerHTML"))
    assert KHMER.search(text), f"{name}: no Khmer\n{text}"
    left = english_left(text, fragments)
    assert left == [], f"{name}: English left on a Khmer page: {left}\n{text}"
    # Times are written for the language, never as the API's ISO text.
    raw = ISO_TIME.findall(text)
    assert raw == [], f"{name}: times not formatted for Khmer: {raw}\n{text}"
    return text


def visit(browser: Any, desk: Desk, path: str, ready: str) -> None:
    browser.get(desk.base + path)
    wait_for(browser, ready)


def verify(package: Path, key_file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "presswatch.verify_package", str(package)]
        + ["--public-key", str(key_file)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )


def test_an_editor_works_in_khmer_saves_a_page_builds_a_case_and_exports_it(
    browser: Any, desk: Desk
) -> None:
    from selenium.webdriver.common.by import By

    fragments = english_fragments()
    browser.set_page_load_timeout(SAVE_WAIT_S)  # the save form answers once the save is done
    browser.delete_all_cookies()

    # Sign in (in English, the default), then switch with the page's own switcher.
    visit(browser, desk, "/signin", "#name")
    browser.find_element(By.CSS_SELECTOR, "#name").send_keys(EDITOR)
    browser.find_element(By.CSS_SELECTOR, "#password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form.pw-form button").click()
    shows(browser, ".pw-who", EDITOR)
    assert wait_for(browser, "html").get_attribute("lang") == "en"
    browser.find_element(By.LINK_TEXT, "ខ្មែរ").click()
    until(browser, lang_is("km"))
    shows(browser, ".pw-who", "អ្នកកែសម្រួល")  # the editor's role, in Khmer

    # Save a page of the local news site through the form.
    visit(browser, desk, "/save", "form.pw-save #url")
    in_khmer(browser, desk, "save", fragments)
    url = desk.site.url_of(DEMO_ARTICLES[0].slug)
    browser.find_element(By.CSS_SELECTOR, "form.pw-save #url").send_keys(url)
    browser.find_element(By.CSS_SELECTOR, "form.pw-save #note").send_keys("tip from a reader")
    browser.find_element(By.CSS_SELECTOR, "form.pw-save button").click()
    until(
        browser,
        lambda d: d.find_elements(By.CSS_SELECTOR, ".pw-save-result, .pw-error"),
        SAVE_WAIT_S,
    )
    errors = browser.find_elements(By.CSS_SELECTOR, ".pw-error")
    assert not errors, errors[0].text + "\n" + (desk.work / "server.log").read_text()[-3000:]
    result = in_khmer(browser, desk, "save-result", fragments)
    assert url in result
    saved = browser.find_element(By.CSS_SELECTOR, ".pw-save-result a[href^='/articles/']")
    article_path = saved.get_attribute("pathname")

    # Its page, then a new case from it.
    saved.click()
    wait_for(browser, ".pw-add-to-case #case")
    until(browser, lambda d: d.current_url.endswith(article_path))
    in_khmer(browser, desk, "saved-article", fragments)
    browser.find_element(By.CSS_SELECTOR, ".pw-add-to-case #case").send_keys(CASE)
    browser.find_element(By.CSS_SELECTOR, ".pw-add-to-case #tags").send_keys("scam")
    browser.find_element(By.CSS_SELECTOR, ".pw-add-to-case button").click()
    shows(browser, "h1", CASE)

    # A note on the case page.
    wait_for(browser, "form[action$='/notes'] #text").send_keys(NOTE)
    browser.find_element(By.CSS_SELECTOR, "form[action$='/notes'] button").click()
    shows(browser, ".pw-case-note", NOTE)
    case_text = in_khmer(browser, desk, "case", fragments)
    assert url in case_text or article_path in browser.page_source

    # Every other main page, in Khmer.
    raid = desk.built.ids["raid"]
    for name, path, ready in (
        ("search", "/", "main"),
        ("search-results", "/?q=compound", ".pw-add-to-case"),
        ("article", f"/articles/{raid}", ".pw-add-to-case"),
        ("version", f"/articles/{raid}/versions/1", "main"),
        ("diff", f"/articles/{raid}/diff", "main"),
        ("changes", "/changes", "main"),
        ("sources", "/sources", "main"),
        ("cases", "/cases", ".pw-cases"),
        ("audit", "/audit", ".pw-audit"),
    ):
        visit(browser, desk, path, ready)
        text = in_khmer(browser, desk, name, fragments)
        if name == "cases":
            assert CASE in text
    # The audit log lists the save, the case and the note, by the editor.
    audit = browser.find_element(By.CSS_SELECTOR, ".pw-audit").text
    assert audit.count(EDITOR) >= 4 and url in audit, audit

    # The check sees English when there is some: back to English with the switcher.
    browser.find_element(By.LINK_TEXT, "English").click()
    until(browser, lang_is("en"))
    wait_for(browser, ".pw-audit")
    english = visible_text(browser.execute_script("return document.documentElement.outerHTML"))
    assert "Audit log" in english_left(english, fragments), english

    # Export the case (the command: the pages have no export) and verify it offline.
    package = desk.work / f"{CASE}.wacz"
    exported = cli(
        desk.work / "data",
        desk.sources,
        "export",
        "case",
        CASE,
        "-o",
        str(package),
        "--as",
        EDITOR,
        env=cli_env(),
    )
    assert exported.returncode == 0, exported.stdout + exported.stderr
    done = verify(package, desk.key_file)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"ok: case {CASE}" in done.stdout and "1 note(s)" in done.stdout, done.stdout

    # The same package with the note's text changed (and its digests recomputed, as a
    # forger would) fails, naming the note.
    files = read(package)
    manifest = json.loads(files["case/manifest.json"])
    (note,) = manifest["notes"]
    assert note["text"] == NOTE and note["author"] == EDITOR
    note["text"] = "Nothing was changed after the raid."
    files["case/manifest.json"] = json.dumps(manifest).encode()
    altered = verify(write(files, desk.work / "altered.wacz"), desk.key_file)
    assert altered.returncode == 1, altered.stdout + altered.stderr
    assert "FAIL [note-changed] note " in altered.stdout, altered.stdout
    assert "its text is not the text its audit leaf commits to" in altered.stdout
