"""The browser harness of the page and chart tests: Debian's chromium, headless,
driven by Selenium through chromedriver (`browser`), against `presswatch serve` on
127.0.0.1 serving the archive of tests/api_archive.py (`server`), and the checks they
share. A pytest plugin (tests/conftest.py lists it), so its fixtures are found by name.

Screenshots go to tests/artifacts/ (gitignored). Without chromium the tests that ask
for `need_chromium` skip with the reason, except under CI (env CI set), where they fail.
"""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import skip_unless_ci
from tests.site_server import served_presswatch

if TYPE_CHECKING:
    from tests.api_archive import Built

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
WAIT_S = 15


def _missing() -> str | None:
    for path, what in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromedriver")):
        if not Path(path).exists():
            return f"{what} not found (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium)"
    return None


@pytest.fixture(scope="module")
def need_chromium() -> None:
    """Skips the module's tests without chromium, chromedriver or selenium (fails under
    CI); browser modules use it for every test (`pytest.mark.usefixtures`)."""
    reason = _missing()
    if reason:
        skip_unless_ci(f"browser tests: {reason}")


class Server:
    def __init__(self, base: str, built: Built, log: Path) -> None:
        self.base = base
        self.built = built
        self.log = log

    def url(self, path: str) -> str:
        return self.base + path

    def requests_seen(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, need_chromium: None) -> Iterator[Server]:
    from tests.api_archive import build_archive  # the app's imports, only when used

    work = tmp_path_factory.mktemp("browser")
    built = build_archive(work / "data")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PRESSWATCH_", "MEILI_")) and k != "DATABASE_URL"
    }
    # INFO makes uvicorn log each request, so the tests can see any call back to us.
    env["PRESSWATCH_LOG_LEVEL"] = "INFO"
    log = work / "server.log"
    try:
        with served_presswatch(work / "data", log, env) as base:
            yield Server(base, built, log)
    finally:
        built.close()


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(
    tmp_path_factory: pytest.TempPathFactory, downloads: Path, need_chromium: None
) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.add_argument("--window-size=1280,900")
    options.add_argument("--lang=en-US")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT_S)
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver: Any, name: str, folder: Path = ARTIFACTS) -> Path:
    """A full-page PNG in tests/artifacts/ (or `folder`)."""
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
    )
    path = folder / name
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def wait_for(driver: Any, css: str) -> Any:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT_S).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, css))
    )


def set_viewport(driver: Any, width: int, height: int, mobile: bool = False) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )


def not_pwned(driver: Any, server: Server) -> None:
    """Nothing archived ran on our origin: title, storage, cookies and our server's
    request log are as a visitor's own."""
    assert driver.title not in ("PWNED", "PWNED-RAW") and driver.title.endswith("· Presswatch")
    assert driver.execute_script("return window.localStorage.getItem('pwned')") is None
    assert "pwned" not in driver.execute_script("return document.cookie")
    assert "/pwned-marker" not in server.requests_seen()


def platform_fonts(driver: Any, css: str) -> list[str]:
    """The fonts the browser really drew an element's text with."""
    driver.execute_cdp_cmd("DOM.enable", {})
    driver.execute_cdp_cmd("CSS.enable", {})
    root = driver.execute_cdp_cmd("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    node = driver.execute_cdp_cmd("DOM.querySelector", {"nodeId": root, "selector": css})
    fonts = driver.execute_cdp_cmd("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})
    return [f["familyName"] for f in fonts["fonts"]]
