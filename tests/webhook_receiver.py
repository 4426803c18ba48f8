"""A local webhook receiver for the notification tests (`Webhook`), and the egress
rule under which notifiers may reach it: 127.0.0.1 only (`LOCAL`)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from archive.egress import parse_networks
from archive.notify import NotifierEgress

# The receivers listen on 127.0.0.1, which the egress policy refuses unless allowed.
LOCAL = NotifierEgress(allow=parse_networks("127.0.0.1/32"))


class Webhook:
    """A local HTTP server that keeps every JSON body POSTed to it."""

    def __init__(
        self, port: int | None = None, *, host: str = "127.0.0.1", redirect: str | None = None
    ) -> None:
        self.received: list[dict[str, Any]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", "0"))
                received.append(json.loads(self.rfile.read(length)))
                if redirect is not None:  # a hostile webhook sends us on elsewhere
                    self.send_response(307)
                    self.send_header("Location", redirect)
                    self.end_headers()
                    return
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, port or 0), Handler)
        self.port = int(self.server.server_address[1])
        self.url = f"json://{host}:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Webhook:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
