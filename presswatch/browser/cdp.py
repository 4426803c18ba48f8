"""A Chromium process and the DevTools protocol spoken to it over a pipe.

`Browser.launch` starts Debian's chromium headless with a fresh profile directory in
its own process group and `--remote-debugging-pipe`: commands go in on the child's fd
3, answers and events come out on its fd 4, NUL-separated JSON. A pipe, not
`--remote-debugging-port`: no TCP port another local process could connect to, and
nothing for pytest-socket or the egress policy to open.

Every read has a deadline (the caller's), every message a size cap, and `close` kills
the whole process group, so a hung renderer or a page that never settles cannot hold
the caller past its time. Flat sessions (`sessionId` on each message) let one reader
serve the page and every frame or worker attached to it.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from archive.errors import PresswatchError

__all__ = ["Browser", "BrowserGone", "ProtocolError", "find_chromium"]

# One message larger than this (a screenshot is the largest: base64 of the PNG) ends
# the rendering: the screenshot height cap keeps honest pages far below it.
MAX_MESSAGE_BYTES = 256 * 1024 * 1024
_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")


class BrowserGone(PresswatchError):
    """The browser process exited or closed its pipe."""


class ProtocolError(PresswatchError):
    """The browser answered a command with an error, or with something unreadable."""


def find_chromium(executable: str | None = None) -> tuple[str | None, str]:
    """The browser to run and, when there is none, why (one line for `status`)."""
    if executable:
        found = shutil.which(executable)
        if found:
            return found, ""
        return None, f"the browser {executable!r} (browser_executable) was not found"
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found, ""
    return None, "chromium is not installed (apt-get install chromium)"


def _flags(profile: Path, extra: Sequence[str]) -> list[str]:
    return [
        "--headless=new",
        # We run as root in containers and CI, where Chromium's sandbox cannot start;
        # the page is held instead by the dead proxy below and by request interception.
        "--no-sandbox",
        f"--user-data-dir={profile}",
        "--remote-debugging-pipe",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-extensions",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--disable-quic",
        "--mute-audio",
        "--hide-scrollbars",
        "--disable-breakpad",
        "--disable-domain-reliability",
        "--metrics-recording-only",
        # Every request is answered by us through the interception; anything that
        # escapes it (a WebSocket, a prefetch, a service worker) meets a proxy on the
        # discard port where nothing listens, loopback included (`<-loopback>`), and
        # WebRTC may not go around the proxy over UDP.
        "--proxy-server=http://127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>",
        "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
        "--dns-prefetch-disable",
        # Frames stay in the page's process, so the page's interception sees their
        # requests too (attached out-of-process frames are intercepted as well).
        "--disable-site-isolation-trials",
        "--disable-features=IsolateOrigins,site-per-process,Translate,MediaRouter,"
        "OptimizationHints,AutofillServerCommunication",
        *extra,
        "about:blank",
    ]


class Browser:
    """One running browser. Use as a context manager; `close` always kills it."""

    def __init__(
        self, proc: subprocess.Popen[bytes], profile: Path, to_browser: int, from_browser: int
    ) -> None:
        self.proc = proc
        self.profile = profile
        self._out = to_browser
        self._in = from_browser
        self._buffer = bytearray()
        self._next_id = 0
        self.events: deque[dict[str, Any]] = deque()
        self._answers: dict[int, dict[str, Any]] = {}

    @classmethod
    def launch(
        cls, executable: str, extra_flags: Sequence[str] = (), *, profile_root: str | None = None
    ) -> Browser:
        profile = Path(tempfile.mkdtemp(prefix="presswatch-browser-", dir=profile_root))
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()

        def wire_fds() -> None:  # in the child, before exec: fds 3 and 4 are the pipe
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        try:
            proc = subprocess.Popen(
                [executable, *_flags(profile, extra_flags)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                preexec_fn=wire_fds,  # noqa: PLW1509 - only dup2 runs there
                close_fds=False,
                start_new_session=True,  # its own process group: `close` kills all of it
            )
        except OSError:
            for fd in (to_child_r, to_child_w, from_child_r, from_child_w):
                os.close(fd)
            shutil.rmtree(profile, ignore_errors=True)
            raise
        os.close(to_child_r)
        os.close(from_child_w)
        return cls(proc, profile, to_child_w, from_child_r)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for fd in (self._out, self._in):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._out = self._in = -1
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        shutil.rmtree(self.profile, ignore_errors=True)

    def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> int:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method}
        if params:
            message["params"] = params
        if session:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        try:
            while data:
                _, ready, _ = select.select([], [self._out], [], 5.0)
                if not ready:
                    raise BrowserGone("the browser stopped reading its commands")
                written = os.write(self._out, data)
                data = data[written:]
        except (BrokenPipeError, ValueError, OSError) as exc:
            raise BrowserGone(f"the browser closed its pipe: {exc}") from exc
        return self._next_id

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
        *,
        deadline: float,
    ) -> dict[str, Any]:
        """Send a command and wait for its answer until `deadline` (time.monotonic()),
        keeping the events that arrive meanwhile in `events`. TimeoutError past it."""
        ident = self.send(method, params, session)
        while ident not in self._answers:
            if not self.pump(deadline):
                raise TimeoutError(f"{method}: no answer in time")
        answer = self._answers.pop(ident)
        if "error" in answer:
            raise ProtocolError(f"{method}: {answer['error'].get('message', answer['error'])}")
        result = answer.get("result", {})
        return result if isinstance(result, dict) else {}

    def pump(self, deadline: float) -> bool:
        """Read what the browser sent until one message arrived or `deadline` passed;
        False when nothing came in time."""
        while True:
            message = self._take_message()
            if message is not None:
                if "id" in message:
                    self._answers[int(message["id"])] = message
                else:
                    self.events.append(message)
                return True
            wait = deadline - time.monotonic()
            if wait <= 0:
                return False
            ready, _, _ = select.select([self._in], [], [], min(wait, 0.25))
            if not ready:
                if self.proc.poll() is not None:
                    raise BrowserGone(f"the browser exited with {self.proc.returncode}")
                continue
            try:
                chunk = os.read(self._in, 1 << 20)
            except OSError as exc:
                raise BrowserGone(f"the browser's pipe failed: {exc}") from exc
            if not chunk:
                raise BrowserGone("the browser closed its pipe")
            self._buffer += chunk
            if len(self._buffer) > MAX_MESSAGE_BYTES:
                raise ProtocolError("a message from the browser is too large")

    def _take_message(self) -> dict[str, Any] | None:
        end = self._buffer.find(b"\0")
        if end < 0:
            return None
        raw = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        try:
            message = json.loads(raw)
        except ValueError as exc:
            raise ProtocolError(f"unreadable message from the browser: {exc}") from exc
        if not isinstance(message, dict):
            raise ProtocolError("a message from the browser is not an object")
        return message

    def memory_bytes(self) -> int:
        """Resident memory of the browser and every process it started (its group)."""
        group = self.proc.pid
        total = 0
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
                fields = stat[stat.rindex(")") + 2 :].split()
                if int(fields[2]) != group:  # pgrp
                    continue
                total += int(fields[21]) * os.sysconf("SC_PAGE_SIZE")  # rss, in pages
            except (OSError, ValueError, IndexError):
                continue
        return total
