"""The browser as the settings describe it: a `BrowserConfig`, or why there is none.

Screenshots are off when `browser` is false or no Chromium is found; the crawl goes on
without them and `presswatch status` shows `browser_status`'s line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from archive.egress import parse_networks
from presswatch.browser.cdp import find_chromium

if TYPE_CHECKING:
    from presswatch.browser.render import BrowserConfig
    from presswatch.settings import Settings

__all__ = ["browser_status", "config_from_settings"]


def browser_status(settings: Settings) -> tuple[bool, str]:
    """(on, one line): whether captures are rendered, and which browser or why not."""
    if not settings.browser:
        return False, "screenshots are off: browser = false in the settings"
    executable, why = find_chromium(settings.browser_executable)
    if executable is None:
        return False, f"screenshots are off: {why}"
    return True, f"screenshots on: {executable}, {settings.browser_workers} at a time"


def config_from_settings(settings: Settings) -> BrowserConfig | None:
    """The rendering configuration, or None when screenshots are off."""
    # Here, not at the top: the renderer brings the capture wing, which `browser_status`
    # (presswatch status) must not wait for.
    from presswatch.browser.render import BrowserConfig
    from presswatch.settings import user_agent

    if not settings.browser:
        return None
    executable, _why = find_chromium(settings.browser_executable)
    if executable is None:
        return None
    return BrowserConfig(
        executable=executable,
        allow=parse_networks(settings.allow_networks),
        user_agent=user_agent(settings),
        max_body_bytes=settings.max_body_bytes,
        timeout_s=settings.browser_timeout_s,
        fetch_timeout_s=min(settings.download_timeout_s, settings.browser_timeout_s),
        memory_mb=settings.browser_memory_mb,
        max_page_bytes=settings.browser_max_page_bytes,
        max_requests=settings.browser_max_requests,
        max_screenshot_height_px=settings.browser_max_screenshot_height_px,
    )
