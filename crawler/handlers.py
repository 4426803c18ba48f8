"""The http(s) download handler: Scrapy's Twisted HTTP/1.1 handler (the one the egress
policy's resolver sees, crawler/egress.py) with a close that cannot race.

Scrapy's own `close()` waits for the pool's cached connections to close and, in case
they never do, schedules `d.callback` on that same Deferred after a timeout
(scrapy/scrapy#999, #2653). When the connections close just before the timeout, the
timer fires before the coroutine wakes to cancel it and the reactor logs
`AlreadyCalledError ... while handling timed call` on stderr: seen under load in the
quiet-run tests, where a cron run must print nothing. Here the timeout and the pool
each settle a Deferred of our own, whichever comes first, and the other is ignored.
"""

from __future__ import annotations

from typing import Any

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import defer


class HTTPDownloadHandler(HTTP11DownloadHandler):
    async def close(self) -> None:
        from twisted.internet import reactor

        done: defer.Deferred[None] = defer.Deferred()

        def settle(_: Any = None) -> None:
            if not done.called:
                done.callback(None)

        # The pool's Deferred: its failures (a connection torn down badly while closing)
        # are nothing to act on at shutdown, so they settle `done` like a success.
        self._pool.closeCachedConnections().addBoth(settle)
        timer = reactor.callLater(self._disconnect_timeout, settle)
        try:
            await maybe_deferred_to_future(done)
        finally:
            if timer.active():
                timer.cancel()
