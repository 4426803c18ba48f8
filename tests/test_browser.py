"""The web pages in a real browser: Debian's chromium, headless, driven by Selenium
through chromedriver, against `presswatch serve` (a real uvicorn) on 127.0.0.1.

Covers the watchdog's path (search → article timeline → diff, both views, any two
versions), Khmer rendering (lang="km" on the archived text and a Khmer font actually
used to draw it, asked of the browser through the DevTools protocol), the pages on a
phone-sized screen, and the rule that an archived page's scripts never run on our
origin: the raw capture downloads, and neither its script nor hostile text shown in
our pages changes the title, storage or cookies of our origin or calls back to it.

The browser and the server are tests/browser_harness.py's fixtures. Screenshots go to
tests/artifacts/ (gitignored). Without chromium these tests skip with the reason,
except under CI (env CI set), where they fail.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.api_archive import HOSTILE_URL
from tests.browser_harness import (
    WAIT_S,
    Server,
    not_pwned,
    platform_fonts,
    screenshot,
    set_viewport,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("need_chromium")]


def test_search_then_article_then_diff(browser: Any, server: Server) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    set_viewport(browser, 1280, 900)
    browser.get(server.url("/"))
    box = wait_for(browser, "#q")
    box.send_keys("casino", Keys.ENTER)
    # The empty search page lists articles too: wait for the results page itself.
    WebDriverWait(browser, WAIT_S).until(ec.url_contains("q=casino"))
    hit = wait_for(browser, "li.pw-hit")
    assert "only in removed text" in hit.text
    assert hit.find_element(By.CSS_SELECTOR, "mark").text == "casino"
    assert browser.find_element(By.CSS_SELECTOR, ".pw-facets").is_displayed()
    screenshot(browser, "search-desktop.png")

    hit.find_element(By.LINK_TEXT, "timeline").click()
    wait_for(browser, "table.pw-timeline")
    assert browser.find_element(By.CSS_SELECTOR, "h1").text == "Police free workers from compound"
    rows = browser.find_elements(By.CSS_SELECTOR, "table.pw-timeline tbody tr")
    assert len(rows) == 4
    assert "unreachable" in rows[0].text and "new v1" in rows[-1].text
    screenshot(browser, "article-desktop.png")

    browser.find_element(By.LINK_TEXT, "Compare the last two versions").click()
    wait_for(browser, ".pw-diff")
    meta = browser.find_element(By.CSS_SELECTOR, "table.pw-diff-meta")
    assert "title" in meta.text and "Police raid scam compound" in meta.text
    deleted = browser.find_elements(By.CSS_SELECTOR, ".pw-diff-body del.pw-del")
    assert any("casino" in d.text for d in deleted)
    # Title and byline changes sit above the body.
    assert meta.location["y"] < browser.find_element(By.CSS_SELECTOR, ".pw-diff-body").location["y"]
    screenshot(browser, "diff-side-by-side.png")

    # Any two versions: pick them, and the inline view.
    Select(browser.find_element(By.NAME, "from")).select_by_value("2")
    Select(browser.find_element(By.NAME, "to")).select_by_value("1")
    browser.find_element(By.CSS_SELECTOR, "input[name=view][value=inline]").click()
    browser.find_element(By.CSS_SELECTOR, ".pw-diff-pick button").click()
    inline = wait_for(browser, ".pw-inline")
    assert "from=2" in browser.current_url and "to=1" in browser.current_url
    inserted = inline.find_elements(By.CSS_SELECTOR, "ins.pw-ins")
    assert any("casino" in i.text for i in inserted)  # v2 → v1 puts it back
    white_space = "return getComputedStyle(document.querySelector('.pw-inline')).whiteSpace"
    assert browser.execute_script(white_space) == "pre-wrap"
    screenshot(browser, "diff-inline.png")
    not_pwned(browser, server)


def test_khmer_article_renders_with_a_khmer_font(browser: Any, server: Server) -> None:
    from selenium.webdriver.common.by import By

    set_viewport(browser, 1280, 900)
    aid = server.built.ids["km_edited"]
    browser.get(server.url(f"/articles/{aid}/versions/2"))
    title = wait_for(browser, "h1")
    assert title.get_attribute("lang") == "km"
    assert any("\u1780" <= ch <= "\u17ff" for ch in title.text)
    text = browser.find_element(By.CSS_SELECTOR, ".pw-text")
    assert text.get_attribute("lang") == "km" and len(text.text) > 200
    family = browser.execute_script("return getComputedStyle(arguments[0]).fontFamily", text)
    assert "Khmer" in family
    used = platform_fonts(browser, ".pw-text")
    assert any("Khmer" in name for name in used), used
    screenshot(browser, "khmer-version.png")

    browser.get(server.url("/?lang=km"))
    wait_for(browser, "li.pw-hit")
    snippets = browser.find_elements(By.CSS_SELECTOR, ".pw-snippet[lang=km]")
    assert len(snippets) == 2
    assert any("Khmer" in name for name in platform_fonts(browser, ".pw-snippet[lang=km]"))
    screenshot(browser, "khmer-search.png")

    browser.get(server.url(f"/articles/{aid}/diff"))
    wait_for(browser, ".pw-diff-meta")
    assert "byline" in browser.find_element(By.CSS_SELECTOR, ".pw-diff-meta").text
    screenshot(browser, "khmer-diff.png")


def test_pages_fit_a_phone_screen(browser: Any, server: Server) -> None:
    set_viewport(browser, 390, 844, mobile=True)
    try:
        aid = server.built.ids["raid"]
        for path, name in (
            ("/?q=compound", "search-phone.png"),
            (f"/articles/{aid}", "article-phone.png"),
            (f"/articles/{aid}/diff?view=inline", "diff-inline-phone.png"),
            ("/changes", "changes-phone.png"),
        ):
            browser.get(server.url(path))
            wait_for(browser, "main")
            overflow = browser.execute_script(
                "return document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 1, f"{path} scrolls sideways by {overflow}px on a phone"
            screenshot(browser, name)
    finally:
        set_viewport(browser, 1280, 900)


def test_the_side_by_side_diff_shows_both_versions_on_a_phone(browser: Any, server: Server) -> None:
    """At 390 px the two columns once kept their desktop width and the new version fell
    off the right edge: now each changed passage shows its old text above its new."""
    set_viewport(browser, 390, 844, mobile=True)
    try:
        # Its last paragraph was rewritten: old and new text side by side on a desktop.
        browser.get(server.url(f"/articles/{server.built.ids['hostile']}/diff"))
        wait_for(browser, ".pw-diff-body")
        cells = browser.execute_script(
            """return [...document.querySelectorAll('.pw-diff-body tr.pw-changed td')]
                 .filter(td => !td.classList.contains('pw-none'))
                 .map(td => {const r = td.getBoundingClientRect();
                             return [td.className, r.left, r.right, r.width];});"""
        )
        width = browser.execute_script("return window.innerWidth")
        assert any("pw-side-new" in c[0] for c in cells), cells
        for name, left, right, shown in cells:
            assert left >= 0 and right <= width + 1 and shown > width / 2, (name, left, right)
        screenshot(browser, "diff-side-by-side-phone.png")
    finally:
        set_viewport(browser, 1280, 900)


def test_archived_scripts_never_run_on_our_origin(
    browser: Any, server: Server, downloads: Path
) -> None:
    from selenium.webdriver.common.by import By

    built = server.built
    aid = built.ids["hostile"]
    # Our pages showing hostile archived text: it is text, not markup.
    for path in (
        "/?q=onerror",
        f"/articles/{aid}",
        f"/articles/{aid}/versions/1",
        f"/articles/{aid}/diff",
        f"/articles/{aid}/diff?view=inline",
        "/changes",
    ):
        browser.get(server.url(path))
        wait_for(browser, "main")
        not_pwned(browser, server)
    browser.get(server.url(f"/articles/{aid}/versions/1"))
    shown = browser.find_element(By.CSS_SELECTOR, ".pw-text").text
    assert "<script>document.title='PWNED'</script>" in shown
    assert browser.find_element(By.CSS_SELECTOR, "h1").text.startswith("<b>Bold</b>")

    # The raw capture holds a live <script>: opening it downloads it, never renders it.
    capture_id = built.captures["hostile_v1"]
    page_before = browser.current_url
    browser.get(server.url(f"/api/captures/{capture_id}/raw"))
    target = downloads / f"capture-{capture_id}.html"
    deadline = time.monotonic() + WAIT_S
    while not target.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert target.exists(), f"no download in {downloads}: {list(downloads.iterdir())}"
    assert target.read_bytes() == built.raw["hostile_v1"]
    assert b"PWNED-RAW" in target.read_bytes()
    assert browser.current_url == page_before  # still our page; nothing was rendered
    not_pwned(browser, server)
    # The archived page claimed to be at this URL; the browser never went there.
    assert HOSTILE_URL not in browser.current_url
