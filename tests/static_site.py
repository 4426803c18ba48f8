"""A static file server on 127.0.0.1 that answers byte ranges: ReplayWeb.page reads a
WACZ over HTTP with Range requests (HEAD first, then the zip directory and each record
it needs), so the plain servers in render_site.py cannot stand in for a real host."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


@contextmanager
def static_files(files: dict[str, tuple[str, Path]]) -> Iterator[str]:
    """Serves `files` (URL path -> (content type, file)) and yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_HEAD(self) -> None:  # noqa: N802 - http.server's name
            self.answer(body=False)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.answer(body=True)

        def answer(self, body: bool) -> None:
            entry = files.get(self.path.split("?", 1)[0])
            if entry is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            kind, path = entry
            data = path.read_bytes()
            start, end = 0, len(data) - 1
            wanted = RANGE.match(self.headers.get("Range", ""))
            if wanted and (wanted[1] or wanted[2]):
                if wanted[1]:
                    start = int(wanted[1])
                    end = min(int(wanted[2]), end) if wanted[2] else end
                else:  # a suffix: the last N bytes
                    start = max(len(data) - int(wanted[2]), 0)
                if start > end:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
            else:
                self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(end - start + 1))
            self.end_headers()
            if body:
                self.wfile.write(data[start : end + 1])

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
