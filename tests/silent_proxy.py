"""A TCP proxy on 127.0.0.1 in front of a real server, which a test can make go silent:
both TCP connections of each pair stay open, but no byte is forwarded either way (the
kernel still ACKs what arrives). That is a half-open connection as a client sees it
when a server, NAT or firewall stops answering without a reset, and only a bound kept
by the client itself can end the wait."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

# PostgreSQL's requests that come before the startup message (no type byte).
_PG_ENCRYPTION_REQUESTS = {80877103, 80877104}  # SSLRequest, GSSENCRequest


class SilentProxy:
    """Forwards 127.0.0.1:`port` to `upstream_port` until `go_silent()`; `answer()`
    resumes. With `after_startup=True`, new PostgreSQL connections forward their
    startup (so connecting succeeds) and go silent at the client's first query."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._forwarding = threading.Event()  # cleared: nothing moves on any connection
        self._forwarding.set()
        self._released = threading.Event()  # cleared: new connections hold after startup
        self._released.set()
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def go_silent(self, *, after_startup: bool = False) -> None:
        if after_startup:
            self._released.clear()
        else:
            self._forwarding.clear()

    def answer(self) -> None:
        self._released.set()
        self._forwarding.set()

    def close(self) -> None:
        self._closed = True
        self.answer()  # the pumps waiting at a gate see the end
        for sock in [self._listener, *self._sockets]:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            self._sockets += [client, upstream]
            hold = not self._released.is_set()
            threading.Thread(
                target=self._client_side, args=(client, upstream, hold), daemon=True
            ).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _client_side(self, client: socket.socket, upstream: socket.socket, hold: bool) -> None:
        if hold:
            # Forward the untyped messages up to the startup message, then hold.
            while True:
                head = _read_exactly(client, 8)
                if head is None:
                    return
                length, code = struct.unpack("!II", head)
                rest = _read_exactly(client, length - 8) or b""
                upstream.sendall(head + rest)
                if code not in _PG_ENCRYPTION_REQUESTS:
                    break
            self._released.wait()  # the first query is never sent: the server does not hear
        self._pump(client, upstream)

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        while True:
            self._forwarding.wait()
            try:
                data = src.recv(65536)
            except OSError:
                return
            self._forwarding.wait()  # read before the silence: held, not forwarded
            if not data or self._closed:
                with suppress(OSError):
                    dst.shutdown(socket.SHUT_WR)
                return
            try:
                dst.sendall(data)
            except OSError:
                return


def _read_exactly(sock: socket.socket, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        try:
            chunk = sock.recv(n - len(data))
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return data


@contextmanager
def silent_proxy(upstream_port: int) -> Iterator[SilentProxy]:
    proxy = SilentProxy(upstream_port)
    try:
        yield proxy
    finally:
        proxy.close()
