"""Short, stable names for download failures: the `error` of an Exchange.

Twisted, Scrapy and the TLS stack raise dozens of exception types for the same few
situations; the archive and its users need one word for each: `timeout`, `dns`,
`connection_refused`, `connection_lost`, `tls`, `data_loss`, `address_refused`…
"""

from __future__ import annotations

from scrapy import exceptions as sx
from twisted.internet import error as tx
from twisted.web._newclient import ResponseFailed, ResponseNeverReceived

from crawler.egress import AddressRefused

_KINDS: tuple[tuple[tuple[type[BaseException], ...], str], ...] = (
    ((sx.DownloadTimeoutError, tx.TimeoutError, tx.TCPTimedOutError), "timeout"),
    ((sx.CannotResolveHostError, tx.DNSLookupError), "dns"),
    ((sx.DownloadConnectionRefusedError, tx.ConnectionRefusedError), "connection_refused"),
    ((sx.ResponseDataLossError,), "data_loss"),
    ((sx.DownloadCancelledError,), "cancelled"),
    (
        (
            tx.ConnectionLost,
            tx.ConnectionDone,
            tx.ConnectionAborted,
            ResponseNeverReceived,
            ResponseFailed,
        ),
        "connection_lost",
    ),  # fmt: skip
    ((tx.ConnectError,), "connection_failed"),
)


def failure_kind(exc: BaseException) -> str:
    """One word for what went wrong with a download."""
    if isinstance(exc, AddressRefused):
        return exc.kind  # address_refused or scheme_refused: never sent
    for types, name in _KINDS:
        if isinstance(exc, types):
            if name == "connection_lost" and "SSL" in repr(exc):
                return "tls"
            return name
    if "SSL" in type(exc).__name__ or "ssl" in repr(exc).lower():
        return "tls"
    if isinstance(exc, sx.DownloadFailedError):
        return "download_failed"
    return type(exc).__name__.lower()
