"""The browser adapter: render a captured page in a fresh headless Chromium, every
request it makes fetched by us through the egress policy (presswatch.browser.render).

- `render_page(config, document)` → `archive.capture.Rendering` (never raises for what
  the page or the browser does);
- `PageRenderer(config, workers)` renders the pages of `render = true` sources as they
  are fetched (their text and links are read from the rendered DOM);
- `config_from_settings(settings)` → the `BrowserConfig` the settings describe, or the
  one line saying why screenshots are off (`browser_status`).
"""

import importlib
from typing import Any

from presswatch.browser.cdp import find_chromium
from presswatch.browser.setup import browser_status, config_from_settings

# The renderer and the recording bring the capture wing (and trafilatura with it): loaded
# when one of their names is asked for, so that `presswatch status` stays light.
_LAZY = {
    "BrowserConfig": "render",
    "Document": "render",
    "render_page": "render",
    "CrawlRenderer": "recording",
    "RenderedCapture": "recording",
    "RenderPool": "recording",
    "PageRenderer": "pages",
    "render_capture": "recording",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(f"presswatch.browser.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BrowserConfig",
    "CrawlRenderer",
    "Document",
    "PageRenderer",
    "RenderPool",
    "RenderedCapture",
    "browser_status",
    "config_from_settings",
    "find_chromium",
    "render_capture",
    "render_page",
]
