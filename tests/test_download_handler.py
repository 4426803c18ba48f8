"""The http(s) download handler's close (crawler/handlers.py): whichever of the pool and
the timeout comes first ends it, and the other never makes the reactor print an error
(a cron run must print nothing). Each case runs in a process of its own, with the
asyncio reactor the crawler installs."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import sys, time
    from scrapy.utils.reactor import install_reactor
    install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
    from twisted.internet import defer, reactor
    from scrapy.utils.defer import deferred_from_coro
    from scrapy.utils.test import get_crawler
    from {module} import {handler} as Handler

    mode = sys.argv[1]

    class Pool:
        # Stands in for Twisted's HTTPConnectionPool: its connections close at the very
        # moment the timeout fires ("race"), or never ("hang").
        def closeCachedConnections(self):
            d = defer.Deferred()
            if mode == "race":
                reactor.callLater(0, d.callback, None)
            return d

    handler = Handler.from_crawler(get_crawler())
    handler._pool = Pool()
    handler._disconnect_timeout = 0 if mode == "race" else 0.2
    started = time.monotonic()
    result = {{}}

    def finish(_):
        result["s"] = time.monotonic() - started
        reactor.callLater(0.1, reactor.stop)  # give a late timer the chance to fire

    deferred_from_coro(handler.close()).addBoth(finish)
    reactor.run()
    print(f"closed in {{result['s']:.2f}} s")
    """
)


def _close(mode: str, module: str = "crawler.handlers", handler: str = "HTTPDownloadHandler"):
    return subprocess.run(
        [sys.executable, "-c", SCRIPT.format(module=module, handler=handler), mode],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_connections_closing_as_the_timeout_fires_print_nothing() -> None:
    done = _close("race")
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert done.stdout.startswith("closed in")


def test_connections_that_never_close_end_at_the_timeout() -> None:
    done = _close("hang")
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    seconds = float(done.stdout.split()[2])
    assert 0.15 <= seconds < 30


def test_scrapys_own_close_shows_the_race_this_handler_removes() -> None:
    """The same race against Scrapy's handler prints the error: if a Scrapy release
    fixes it, this fails and crawler/handlers.py can go."""
    done = _close("race", "scrapy.core.downloader.handlers.http11", "HTTP11DownloadHandler")
    if "AlreadyCalledError" not in done.stderr:
        pytest.fail(f"Scrapy's close no longer races: drop crawler/handlers.py\n{done.stderr}")
