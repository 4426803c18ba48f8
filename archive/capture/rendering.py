"""What a browser rendering of a capture produced, as plain values: the sub-resources
the page asked for (each request and its response as received), the ones the egress
policy, robots.txt or a limit refused, the full-page screenshot, the rendered DOM, and
how the rendering ended. `presswatch.browser` makes these; the archive records them.
No browser, network or clock here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

Headers = tuple[tuple[str, str], ...]


class RenderOutcome(StrEnum):
    """How a rendering ended. Every one but `unavailable` may still carry what was
    gathered before the end (sub-resources, refusals, a screenshot taken at the cut)."""

    RENDERED = "rendered"  # the page loaded and settled, screenshot and DOM taken
    TIMED_OUT = "timed_out"  # `browser_timeout_s` passed first: cut off
    MEMORY_EXCEEDED = "memory_exceeded"  # the browser outgrew `browser_memory_mb`: killed
    CRASHED = "crashed"  # the browser or the page's renderer died
    FAILED = "failed"  # the browser could not be driven (protocol error, bad answer)
    UNAVAILABLE = "unavailable"  # no browser to run (not installed, cannot start)


class RefusalKind(StrEnum):
    """Why a sub-request was not let through (`Refusal.kind`)."""

    EGRESS = "egress"  # internal address or scheme the egress policy refuses
    ROBOTS = "robots"  # robots.txt disallows it, or could not be read (RFC 9309)
    TOO_LARGE = "too_large"  # the body passed `max_body_bytes`, or the page's byte budget
    LIMIT = "limit"  # more requests than a page may make, or the time was up
    METHOD = "method"  # only GET and HEAD are fetched: an archive has no side effects
    NETWORK = "network"  # allowed, but the server did not answer (refused, timeout, reset)


@dataclass(frozen=True, slots=True)
class SubResource:
    """One request the page made and the response we fetched for it, as received."""

    url: str
    method: str
    resource_type: str  # the browser's word: Image, Stylesheet, Font, Script, XHR…
    request_headers: Headers
    status: int
    reason: str
    response_headers: Headers
    body: bytes
    http_version: str  # "HTTP/1.1" or "HTTP/1.0", for the WARC status line
    fetched_at: datetime
    ip: str | None = None


@dataclass(frozen=True, slots=True)
class Refusal:
    """A sub-request that got nothing (it was aborted in the browser), and why."""

    url: str
    resource_type: str
    kind: RefusalKind
    reason: str


@dataclass(frozen=True, slots=True)
class Rendering:
    """One page rendered in the browser. `screenshot_png` is a full-page PNG cut at
    `max_screenshot_height_px` (`screenshot_truncated` says so); `dom_html` is the
    document after scripts ran, cut at the body limit (`dom_truncated`)."""

    url: str
    outcome: RenderOutcome
    reason: str
    started_at: datetime
    ended_at: datetime
    browser: str  # product and version, as the browser reports it
    screenshot_png: bytes | None = None
    screenshot_truncated: bool = False
    page_height_px: int | None = None
    dom_html: str | None = None
    dom_truncated: bool = False
    resources: tuple[SubResource, ...] = field(default=())
    refused: tuple[Refusal, ...] = field(default=())
    dialogs: int = 0  # alert/confirm/prompt/beforeunload dialogs dismissed

    @property
    def ok(self) -> bool:
        return self.outcome is RenderOutcome.RENDERED
