"""Signing in with the real Chromium: an editor signs in, adds an article to a case
from its page, writes a note on the case page and signs out; the session cookie is
HttpOnly (no script can read it)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from archive.accounts import API_KEY, create_account
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from tests import archive_helpers as h
from tests.browser_harness import screenshot, wait_for
from tests.site_server import served_presswatch

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("need_chromium")]

URL = "https://news.example/story/1/"
PASSWORD = "ed's long password!"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    work = tmp_path_factory.mktemp("accounts-browser")
    rt = Runtime(Settings(data_dir=work / "data"))
    rt.init()
    at = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    article_id = h.record(rt, h.exchange(URL, h.en_story(URL).html, at=at)).article_id
    with rt.sessions.begin() as s:
        create_account(s, API_KEY, "ed", "editor", PASSWORD, now=at)
    rt.close()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PRESSWATCH_", "MEILI_")) and k != "DATABASE_URL"
    }
    assert article_id is not None
    with served_presswatch(work / "data", work / "server.log", env) as base:
        yield base, article_id


def shows(browser: Any, css: str, text: str) -> None:
    """Wait until the element shows `text`: after a click, the page it left may still
    be there, its elements going stale under a plain lookup."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 30).until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))


def test_an_editor_signs_in_builds_a_case_and_signs_out(
    browser: Any, site: tuple[str, int]
) -> None:
    from selenium.webdriver.common.by import By

    base, article_id = site
    browser.delete_all_cookies()
    browser.get(base + "/signin")
    wait_for(browser, "#name").send_keys("ed")
    browser.find_element(By.CSS_SELECTOR, "#password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form.pw-form button").click()
    assert "ed (editor)" in wait_for(browser, ".pw-who").text
    assert browser.execute_script("return document.cookie").find("pw_session") == -1
    browser.get(f"{base}/articles/{article_id}")
    wait_for(browser, ".pw-add-to-case #case").send_keys("compound")
    browser.find_element(By.CSS_SELECTOR, ".pw-add-to-case #tags").send_keys("scam")
    browser.find_element(By.CSS_SELECTOR, ".pw-add-to-case button").click()
    shows(browser, "h1", "Case compound")
    wait_for(browser, "#text").send_keys("Headline softened after the raid")
    browser.find_element(By.CSS_SELECTOR, "form.pw-form button").click()
    assert "Headline softened after the raid" in wait_for(browser, ".pw-case-note").text
    screenshot(browser, "case-page")
    browser.find_element(By.CSS_SELECTOR, ".pw-signout button").click()
    shows(browser, ".pw-top nav", "Sign in")
    browser.get(base + "/cases")
    assert "sign in" in wait_for(browser, "main").text.lower()
