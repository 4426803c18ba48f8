"""The browser adapter: render a captured page in a fresh headless Chromium, every
request it makes fetched by us through the egress policy (presswatch.browser.render).

- `render_page(config, document)` → `archive.capture.Rendering` (never raises for what
  the page or the browser does);
- `config_from_settings(settings)` → the `BrowserConfig` the settings describe, or the
  one line saying why screenshots are off (`browser_status`).
"""

from presswatch.browser.cdp import find_chromium
from presswatch.browser.recording import (
    CrawlRenderer,
    RenderedCapture,
    RenderPool,
    render_capture,
)
from presswatch.browser.render import BrowserConfig, Document, render_page
from presswatch.browser.setup import browser_status, config_from_settings

__all__ = [
    "BrowserConfig",
    "CrawlRenderer",
    "Document",
    "RenderPool",
    "RenderedCapture",
    "browser_status",
    "config_from_settings",
    "find_chromium",
    "render_capture",
    "render_page",
]
