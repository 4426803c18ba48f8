"""The charts in a real browser (Debian's chromium, headless, through Selenium, against
`presswatch serve`; the fixtures are tests/browser_harness.py's): each chart on the
article, sources and front pages loads as an image and draws something, Khmer titles
are drawn with a Khmer font, and an SVG opened on its own runs nothing.

Screenshots of each chart go to the test's tmp dir; a screenshot counts as drawn when
its pixels vary (a blank or broken image is one flat colour).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser_harness import (
    WAIT_S,
    Server,
    not_pwned,
    platform_fonts,
    set_viewport,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("need_chromium")]


def loaded_images(driver: Any, css: str) -> list[Any]:
    """The chart images matched by `css`, once the browser has decoded every one
    (each scrolled into view, so lazy ones load)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def ready(d: Any) -> list[Any] | bool:
        images = d.find_elements(By.CSS_SELECTOR, css)
        for image in images:  # the sources page loads its charts lazily, as they show
            d.execute_script("arguments[0].scrollIntoView({block: 'center'})", image)
        done = images and all(
            d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", i)
            for i in images
        )
        return images if done else False

    images: list[Any] = WebDriverWait(driver, WAIT_S).until(ready)
    return images


def drawn(png: Path) -> float:
    """Standard deviation of the screenshot's grey levels: 0 for a flat image."""
    from PIL import Image, ImageStat

    with Image.open(png) as image:
        grey = image.convert("L")
        return float(ImageStat.Stat(grey).stddev[0])


def shoot(element: Any, path: Path) -> Path:
    element.location_once_scrolled_into_view  # noqa: B018 - scrolls it into view
    path.write_bytes(element.screenshot_as_png)
    return path


def test_charts_on_the_pages_draw(browser: Any, server: Server, tmp_path: Path) -> None:
    set_viewport(browser, 1280, 900)
    pages = {
        "article": (f"/articles/{server.built.ids['raid']}", "#timeline-chart img"),
        "article-km": (f"/articles/{server.built.ids['km_edited']}", "#timeline-chart img"),
        "sources": ("/sources", ".pw-source-charts img"),
        "front": ("/", "#summary-chart img"),
    }
    counts = {}
    for name, (path, css) in pages.items():
        browser.get(server.url(path))
        wait_for(browser, "main")
        images = loaded_images(browser, css)
        counts[name] = len(images)
        for i, image in enumerate(images):
            width = browser.execute_script("return arguments[0].naturalWidth", image)
            assert width == 800, (name, width)
            png = shoot(image, tmp_path / f"{name}-{i}.png")
            assert drawn(png) > 10, f"{png} looks blank"
            caption = image.find_element("xpath", "following-sibling::figcaption")
            assert caption.text.strip()
        not_pwned(browser, server)
    # One timeline per article page, two charts per source, one summary.
    assert counts == {"article": 1, "article-km": 1, "sources": 4, "front": 1}


def test_a_khmer_timeline_is_drawn_with_a_khmer_font(browser: Any, server: Server) -> None:
    from selenium.webdriver.common.by import By

    set_viewport(browser, 1280, 900)
    aid = server.built.ids["km_edited"]
    # Opened on its own, the SVG is a document the browser can be asked about.
    browser.get(server.url(f"/charts/articles/{aid}.svg"))
    title = wait_for(browser, "text.title")
    assert any("\u1780" <= ch <= "\u17ff" for ch in title.text)
    used = platform_fonts(browser, "text.title")
    assert any("Khmer" in name for name in used), used
    # Nothing ran: the response's CSP sandboxes it, and it holds no script anyway.
    assert browser.find_elements(By.CSS_SELECTOR, "script") == []


def test_a_source_chart_draws_its_bars(browser: Any, server: Server, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    set_viewport(browser, 1280, 900)
    # The archive under test is dated March 2026; a year's window reaches it whatever
    # today is (the page's own 30 days may be empty, and then say so).
    browser.get(server.url("/charts/sources/daily/captures.svg?days=366"))
    wait_for(browser, "g.bar")
    heights = [
        float(r.get_attribute("height") or 0)
        for r in browser.find_elements(By.CSS_SELECTOR, "g.bar rect")
    ]
    assert sum(1 for h in heights if h > 0) >= 3  # one day, stacked by outcome
    png = tmp_path / "daily-captures.png"
    png.write_bytes(browser.find_element(By.CSS_SELECTOR, "svg").screenshot_as_png)
    assert drawn(png) > 10


def test_pages_with_charts_fit_a_phone(browser: Any, server: Server, tmp_path: Path) -> None:
    set_viewport(browser, 390, 844, mobile=True)
    try:
        for path, css in (
            (f"/articles/{server.built.ids['raid']}", "#timeline-chart img"),
            ("/sources", ".pw-source-charts img"),
            ("/", "#summary-chart img"),
        ):
            browser.get(server.url(path))
            wait_for(browser, "main")
            image = loaded_images(browser, css)[0]
            overflow = browser.execute_script(
                "return document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 1, f"{path} scrolls sideways by {overflow}px on a phone"
            shown = browser.execute_script("return arguments[0].clientWidth", image)
            assert 300 <= shown <= 390, (path, shown)
            png = shoot(image, tmp_path / f"phone-{path.strip('/').replace('/', '-')}.png")
            assert drawn(png) > 10
    finally:
        set_viewport(browser, 1280, 900)
