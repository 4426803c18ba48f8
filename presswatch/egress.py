"""The egress policy on the wire, for every outbound client outside Scrapy: the web
archive client (backfill, Save Page Now), the timestamp authority, the notifiers.

The rules are `archive.egress`'s (loopback, private, link-local and metadata, CGNAT…
refused unless `allow_networks` opens them); this module applies them to the address
actually connected to, so a name that resolves to a public address for a check and to
169.254.169.254 for the connection (DNS rebinding) gets no connection:

- `connect` resolves a host once, drops every refused address, and connects to an
  allowed one: our own http.client-based clients (`ArchiveClient`, `post_once`) open
  every connection through it.
- `guarded(allow)` is for third-party clients that open connections themselves
  (Apprise's 100-odd services over requests, smtplib…): while it is active, every
  `socket.getaddrinfo` of that context answers only allowed addresses, which is what
  both requests (urllib3) and smtplib connect to, redirects included. Other threads
  (the web server's, the crawler's) are untouched.
- `post_once` is one HTTP(S) request and its answer, never a redirect followed: for a
  timestamp authority, whose answer is at the address the operator set or nowhere.

The crawler's own layer is `crawler.egress` (Twisted's resolver); the browser's is its
proxy. Both use the same `archive` rules.
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from archive.egress import (
    Networks,
    address_refusal,
    host_refusal,
    parse_networks,
    resolved_refusal,
    url_refusal,
)
from archive.errors import PresswatchError
from archive.notify import NotifierEgress

__all__ = [
    "AddressRefused",
    "Answer",
    "connect",
    "guarded",
    "notifier_egress",
    "post_once",
    "resolve_addresses",
]

# The real resolver, kept before `guarded` ever wraps it: our own look-ups must not be
# filtered twice, nor by another thread's guard.
_getaddrinfo = socket.getaddrinfo


class AddressRefused(PresswatchError, OSError):
    """The egress policy refused every address of a host: nothing was sent. An OSError,
    so a third-party client reports it as the connection error it is."""


def resolve_addresses(host: str) -> list[str]:
    """Every address `host` resolves to (none when the look-up fails: that failure is
    the connection's to report)."""
    try:
        answers = _getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return [str(sockaddr[0]) for *_, sockaddr in answers]


def _allowed_answers(
    host: str, port: int | None, allow: Networks, *args: Any, **kwargs: Any
) -> list[Any]:
    refusal = host_refusal(host, allow)
    if refusal is not None:
        raise AddressRefused(refusal)
    answers = _getaddrinfo(host, port, *args, **kwargs)
    allowed = [a for a in answers if address_refusal(str(a[4][0]), allow) is None]
    if not allowed and answers:
        reason = resolved_refusal(host, [str(a[4][0]) for a in answers], allow)
        raise AddressRefused(reason or f"{host}: no allowed address")
    return allowed


def connect(address: tuple[str, int], timeout: float | None, allow: Networks) -> socket.socket:
    """A TCP connection to the first address of `host` the policy allows; the same
    signature as http.client's connection hook (`_create_connection`)."""
    host, port = address
    last_error: OSError | None = None
    for family, kind, proto, _name, sockaddr in _allowed_answers(
        host, port, allow, type=socket.SOCK_STREAM
    ):
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            last_error = exc
    raise last_error or OSError(f"{host}: no address")


# A context variable, not a thread-local: Apprise hands a send to its worker threads
# with the caller's context copied, and the guard must go with it.
_guard: ContextVar[Networks | None] = ContextVar("presswatch_egress_guard", default=None)
_install_lock = threading.Lock()


def _guarded_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
    allow = _guard.get()
    if allow is None or host is None:
        return _getaddrinfo(host, port, *args, **kwargs)
    name = host.decode("idna") if isinstance(host, bytes) else str(host)
    return _allowed_answers(name, port, allow, *args, **kwargs)


@contextmanager
def guarded(allow: Networks) -> Iterator[None]:
    """Filter the name look-ups of this context (this thread, and the worker threads
    it hands its context to) through the policy while the block runs."""
    with _install_lock:
        if socket.getaddrinfo is not _guarded_getaddrinfo:
            socket.getaddrinfo = _guarded_getaddrinfo
    token = _guard.set(tuple(allow))
    try:
        yield
    finally:
        _guard.reset(token)


def notifier_egress(allow_networks: list[str], mail_relay_networks: list[str]) -> NotifierEgress:
    """The notifiers' policy from the settings, names resolved as a connection would."""
    return NotifierEgress(
        allow=parse_networks(allow_networks),
        mail_relay=parse_networks(mail_relay_networks),
        resolve=resolve_addresses,
    )


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    content_type: str
    body: bytes


def post_once(
    url: str,
    body: bytes,
    *,
    content_type: str,
    allow: Networks,
    timeout_s: float,
    max_body_bytes: int,
) -> Answer:
    """POST `body` to an http(s) `url` through the policy; the answer as it came (a
    redirect is an answer, never followed). AddressRefused when the policy forbids the
    URL; OSError / http.client.HTTPException when the server does not answer; ValueError
    when the answer is larger than `max_body_bytes`."""
    refusal = url_refusal(url, allow)
    if refusal is not None:
        raise AddressRefused(refusal)
    parts = urlsplit(url)
    assert parts.hostname is not None
    cls = (
        http.client.HTTPSConnection
        if parts.scheme.lower() == "https"
        else http.client.HTTPConnection
    )
    conn = cls(parts.hostname, parts.port, timeout=timeout_s)
    # http.client's connection hook: the only connection it opens goes through `connect`.
    conn._create_connection = lambda address, timeout=None, source=None: connect(  # type: ignore[attr-defined]
        address, timeout, allow
    )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": content_type})
        raw = conn.getresponse()
        data = raw.read(max_body_bytes + 1)
        if len(data) > max_body_bytes:
            raise ValueError(f"the answer is larger than {max_body_bytes} bytes")
        return Answer(raw.status, raw.getheader("content-type") or "", data)
    finally:
        conn.close()
