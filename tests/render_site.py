"""Small HTTP servers for the browser-capture tests: a page's own site on 127.0.0.1
and an "internal" server on 127.0.0.2 that must never be reached (the tests open only
127.0.0.1/32). Each records the paths asked for. A route is bytes (200, its type), or
`HANG`: headers sent, then the body trickles until the server stops."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from archive.egress import parse_networks

HANG = object()
ALLOW = parse_networks(["127.0.0.1/32"])
CHROMIUM = "/usr/bin/chromium"


def png(color: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


class Site:
    def __init__(self, host: str, routes: dict[str, tuple[str, object]]) -> None:
        self.routes = routes
        self.hits: list[str] = []
        self.stopping = threading.Event()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                site.hits.append(self.path)
                route = site.routes.get(self.path)
                if route is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                kind, body = route
                self.send_response(200)
                self.send_header("Content-Type", kind)
                if body is HANG:
                    self.end_headers()
                    while not site.stopping.wait(0.2):
                        try:
                            self.wfile.write(b" ")
                            self.wfile.flush()
                        except OSError:
                            return
                    return
                assert isinstance(body, bytes)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://{host}:{self.server.server_port}"

    def url(self, path: str) -> str:
        return self.base + path


@contextmanager
def serving(host: str, routes: dict[str, tuple[str, object]]) -> Iterator[Site]:
    site = Site(host, routes)
    thread = threading.Thread(target=site.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        site.stopping.set()
        site.server.shutdown()
        site.server.server_close()
        time.sleep(0)


def chromium_missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return "chromium not found (apt-get install chromium)"
    return None
