"""The local news site on 127.0.0.1 that the demo, the tests and the benchmarks run
against: one server, configured with the articles it serves and how they look.

Its parts: what it holds and serves (presswatch.demo.site_state: the articles and
their `Mode`, the request log, robots.txt, sitemaps, feeds, listings) and how it
answers over HTTP (presswatch.demo.site_http: conditional requests, the ways an article
fails, byte counting). This module serves it: in a thread of this process (`start()`),
or in a process of its own (`serve_child` / `SiteProcess`) when the process under test
must keep its GIL, as the benchmark's crawler must. The demo, the tests and the
benchmarks import the site's names from here.

What the articles are and how a page looks is the `Content` plugged in: the demo's
"Mekong Ledger" (presswatch.demo.outlet) or the benchmark's N articles
(benchmarks/site.py).

Must not: reach beyond 127.0.0.1 or import benchmarks or tests. Standard library only,
one thread per connection (`ThreadingHTTPServer`).
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

from presswatch.demo.site_http import SiteHandler, SiteServer
from presswatch.demo.site_state import (
    CONTROL,
    Content,
    Entry,
    Mode,
    RequestRecord,
    Serving,
    SiteState,
)

__all__ = [
    "Content",
    "Entry",
    "LocalSite",
    "Mode",
    "RequestRecord",
    "SiteProcess",
    "serve_child",
    "traffic",
]


class LocalSite(SiteState):
    """One configurable news site, served on 127.0.0.1. `content` decides the articles
    and their pages (see SiteState for the options)."""

    _server: SiteServer | None = None
    _thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def bind(self, port: int = 0, *, control: bool = False) -> SiteServer:
        """Listen on 127.0.0.1; `control`: answer a parent's `/_site/…` calls."""
        site = self

        class Handler(SiteHandler):
            pass

        Handler.site = site
        Handler.control = control
        Handler.server_version = self.server_name
        self._server = SiteServer(("127.0.0.1", port), Handler)
        return self._server

    def start(self, port: int = 0) -> Self:
        """Serve from a thread of this process."""
        server = self.bind(port)
        self._thread = threading.Thread(target=server.serve_forever, name="news-site", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:  # type: ignore[override]
        assert self._server is not None, "start() the site first"
        return int(self._server.server_address[1])


# -- a site in a process of its own -----------------------------------------------------


def serve_child(site: LocalSite, port: int = 0) -> None:
    """Serve `site` until killed, for a parent that started this process with
    `SiteProcess`: prints one JSON line with the port when ready, and exits when the
    parent does, so a benchmark that dies never leaves its site serving."""
    server = site.bind(port, control=True)
    parent = os.getppid()
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    server.serve_forever()


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


class SiteProcess(Serving):
    """Starts a site in a subprocess (`command` ends in `serve_child`) and drives it
    through its control endpoints."""

    def __init__(self, command: Sequence[str], cwd: Path | None = None) -> None:
        self.command = list(command)
        self.cwd = cwd
        self.process: subprocess.Popen[str] | None = None
        self.port = 0

    def start(self) -> Self:
        self.process = subprocess.Popen(
            self.command, cwd=self.cwd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
            text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.stop()
            raise RuntimeError("the site did not start (see its stderr above)")
        self.port = int(json.loads(line)["port"])
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def running(self) -> bool:
        return self.process is not None

    def call(self, name: str, payload: dict[str, Any] | None = None) -> bytes:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(
            f"{self.base_url.rstrip('/')}{CONTROL}{name}",
            data=data,
            headers={"Content-Type": "application/json"} if data else {},
        )
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
            return bytes(response.read())

    def stats(self) -> dict[str, Any]:
        return dict(json.loads(self.call("stats")))

    def set_validators(self, on: bool) -> None:
        self.call("validators", {"on": on})


def traffic(before: dict[str, Any], after: dict[str, Any], kind: str = "article") -> dict[str, Any]:
    """What a site served between two `stats()` snapshots, for one kind of URL."""

    def diff(key: str) -> int:
        return int(after[key].get(kind, 0)) - int(before[key].get(kind, 0))

    statuses = {
        k.split(":", 1)[1]: v - before["statuses"].get(k, 0)
        for k, v in after["statuses"].items()
        if k.startswith(f"{kind}:") and v - before["statuses"].get(k, 0)
    }
    return {
        "requests": diff("requests"),
        "bytes_sent": diff("sent"),
        "bytes_received": diff("received"),
        "statuses": statuses,
        "site_cpu_s": round(after["cpu_s"] - before["cpu_s"], 2),
    }
