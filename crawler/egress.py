"""The crawler's egress policy: no fetch leaves for a scheme other than http(s), and no
connection is made to an address that `archive.address_refusal` blocks (loopback,
private, link-local and metadata, CGNAT, multicast…), unless `PRESSWATCH_ALLOW_NETWORKS`
opens it.

Two layers, because a hostile outlet controls both its URLs and its DNS:

- `EgressMiddleware` (first downloader middleware, before robots.txt) refuses a request
  whose URL is blocked on its face (scheme, IP literal, `localhost`) and resolves a host
  name through the policy resolver before anything is sent, so a refusal is an
  `AddressRefused` failure with a message naming the address and the setting, which
  the spiders record like any failed fetch (an `address_refused` capture, never a
  removal). Every request passes it: redirect hops (the spiders follow them by hand),
  retries, robots.txt fetches, rechecks.
- `PolicyResolver`, installed as the reactor's name resolver, is what Twisted's
  `HostnameEndpoint` asks for the addresses it connects to. It drops every blocked
  address from each answer, so the address checked is the address connected to: a
  name that resolves to a public address for the check and to 169.254.169.254 for the
  connection (DNS rebinding) gets no connection. Checked answers are kept for a short
  time, so the check and the connection normally see the same answer; the connect-time
  filter is the guarantee either way.

Scrapy's `file`, `ftp`, `s3` and `data` download handlers are off (crawler/settings.py),
and the middleware refuses to start unless http(s) go through Scrapy's Twisted HTTP/1.1
handler, the one whose connections the resolver sees (the httpx and aiohttp handlers
resolve names themselves).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import attr
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import CannotResolveHostError, DownloadTimeoutError
from scrapy.settings import BaseSettings
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.misc import load_object
from twisted.internet import defer
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import (
    IAddress,
    IHostnameResolver,
    IHostResolution,
    IResolutionReceiver,
)
from zope.interface import implementer, provider

from archive.egress import ALLOWED_SCHEMES, Networks, address_refusal, parse_networks, url_refusal
from archive.errors import PresswatchError

log = logging.getLogger(__name__)

__all__ = [
    "AddressRefused",
    "EgressMiddleware",
    "PolicyResolver",
    "allow_networks_of",
    "install_policy_resolver",
]

ALLOW_SETTING = "PRESSWATCH_ALLOW_NETWORKS"
DEFAULT_CACHE_TTL_S = 60.0


class AddressRefused(PresswatchError):
    """The egress policy refused a URL; nothing was sent. `kind` is the capture's error:
    `scheme_refused` (not http or https) or `address_refused` (a blocked address).
    Not an OSError (presswatch.egress's is, for urllib): Scrapy would retry that."""

    def __init__(self, url: str, reason: str, kind: str = "address_refused") -> None:
        super().__init__(f"not fetched: {url[:300]}: {reason}")
        self.url = url
        self.reason = reason
        self.kind = kind


def allow_networks_of(settings: BaseSettings) -> Networks:
    """The allowed networks from the Scrapy setting (a list or a comma-separated string)."""
    value = settings.get(ALLOW_SETTING) or ()
    try:
        return parse_networks(value)
    except ValueError as exc:
        raise ValueError(f"{ALLOW_SETTING}: {exc}") from exc


def refusal_of(url: str, allow: Networks) -> AddressRefused | None:
    """What the policy says about a URL on its face (no DNS), as an exception to raise."""
    reason = url_refusal(url, allow)
    if reason is None:
        return None
    scheme = urlsplit(url.strip()).scheme.lower()
    kind = "address_refused" if scheme in ALLOWED_SCHEMES else "scheme_refused"
    return AddressRefused(url, reason, kind)


# -- the resolver ------------------------------------------------------------------------


@implementer(IHostResolution)
class _Resolution:
    def __init__(self, name: str) -> None:
        self.name = name

    def cancel(self) -> None:  # pragma: no cover - Twisted never calls it for TCP
        raise NotImplementedError


@provider(IResolutionReceiver)
class _Collect:
    """Gathers the inner resolver's answer, then hands it to `done`."""

    def __init__(self, done: Callable[[list[IAddress]], None]) -> None:
        self.done = done
        self.addresses: list[IAddress] = []

    def resolutionBegan(self, resolution: IHostResolution) -> None:  # noqa: N802 - Twisted's
        pass

    def addressResolved(self, address: IAddress) -> None:  # noqa: N802
        self.addresses.append(address)

    def resolutionComplete(self) -> None:  # noqa: N802
        self.done(self.addresses)


def _with_port(address: IAddress, port: int) -> IAddress:
    if getattr(address, "port", port) == port:
        return address
    return attr.evolve(address, port=port)  # type: ignore[misc]


@implementer(IHostnameResolver)
class PolicyResolver:
    """An `IHostnameResolver` around another one (the reactor's, normally getaddrinfo)
    that never hands out a blocked address. `refusal_for(host)` says why a name got no
    address from it; `check(host)` resolves for the middleware's early check."""

    def __init__(
        self,
        reactor: Any,
        allow: Networks = (),
        *,
        inner: Any = None,
        cache_ttl_s: float = DEFAULT_CACHE_TTL_S,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.reactor = reactor
        self.allow = tuple(allow)
        # zope interfaces are not types mypy understands: the resolvers are `Any` here.
        self.inner: Any = inner if inner is not None else reactor.nameResolver
        self.cache_ttl_s = cache_ttl_s
        self.clock = clock if clock is not None else reactor.seconds
        # host -> (expires at, allowed addresses (port 0), refusal or None)
        self._cache: dict[str, tuple[float, list[IAddress], str | None]] = {}
        self._refusals: dict[str, str] = {}
        self.refused = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: Any) -> PolicyResolver:
        """For `TWISTED_DNS_RESOLVER` (a plain `scrapy crawl`); `crawler` may be the
        CrawlerProcess, which has the same settings."""
        return cls(reactor, allow_networks_of(crawler.settings))

    def install_on_reactor(self) -> None:
        install_policy_resolver(self.reactor, self.allow, resolver=self)

    def refusal_for(self, host: str) -> str | None:
        return self._refusals.get(host.lower())

    def resolveHostName(  # noqa: N802 - Twisted's interface
        self,
        resolutionReceiver: Any,  # noqa: N803 - an IResolutionReceiver
        hostName: str,  # noqa: N803
        portNumber: int = 0,  # noqa: N803
        addressTypes: Sequence[type[IAddress]] | None = None,  # noqa: N803
        transportSemantics: str = "TCP",  # noqa: N803
    ) -> Any:
        resolution = _Resolution(hostName)
        resolutionReceiver.resolutionBegan(resolution)
        key = hostName.lower()

        def deliver(addresses: Iterable[IAddress]) -> None:
            for address in addresses:
                if addressTypes is None or isinstance(address, tuple(addressTypes)):
                    resolutionReceiver.addressResolved(_with_port(address, portNumber))
            resolutionReceiver.resolutionComplete()

        cached = self._cache.get(key)
        if cached is not None and cached[0] > self.clock():
            deliver(cached[1])
            return resolution

        def judged(addresses: list[IAddress]) -> None:
            allowed, refusal = self._judge(hostName, addresses)
            if self.cache_ttl_s > 0:
                self._cache[key] = (self.clock() + self.cache_ttl_s, allowed, refusal)
                if len(self._cache) > 10_000:  # a crawl of many hosts: forget the oldest
                    self._cache.pop(next(iter(self._cache)))
            deliver(allowed)

        self.inner.resolveHostName(_Collect(judged), hostName, 0, None, transportSemantics)
        return resolution

    def _judge(self, host: str, addresses: list[IAddress]) -> tuple[list[IAddress], str | None]:
        allowed: list[IAddress] = []
        reasons: list[str] = []
        for address in addresses:
            text = str(getattr(address, "host", ""))
            reason = address_refusal(text, self.allow)
            if reason is None:
                allowed.append(_with_port(address, 0))
            else:
                reasons.append(reason)
        key = host.lower()
        if reasons and not allowed:
            self.refused += 1
            refusal = f"{host} resolves to {reasons[0]}"
            self._refusals[key] = refusal
            log.warning("egress: refused %s", refusal)
            return allowed, refusal
        self._refusals.pop(key, None)
        if reasons:
            log.info("egress: %s: skipped %d blocked address(es)", host, len(reasons))
        return allowed, None

    def check(self, host: str) -> defer.Deferred[str | None]:
        """Resolve `host` as a connection would; fire with the refusal, or None when
        at least one address may be connected to (or the name does not resolve: that
        is the download's DNS error to report)."""
        result: defer.Deferred[str | None] = defer.Deferred()

        @provider(IResolutionReceiver)
        class Receiver:
            @staticmethod
            def resolutionBegan(resolution: IHostResolution) -> None:  # noqa: N802
                pass

            @staticmethod
            def addressResolved(address: IAddress) -> None:  # noqa: N802
                pass

            @staticmethod
            def resolutionComplete() -> None:  # noqa: N802
                result.callback(self.refusal_for(host))

        self.resolveHostName(Receiver(), host, 0)
        return result


def install_policy_resolver(
    reactor: Any, allow: Networks, *, resolver: PolicyResolver | None = None
) -> PolicyResolver:
    """Make the reactor resolve names through the policy (once per reactor). Every
    crawler of one process must share one allow list: the resolver is the reactor's."""
    current = reactor.nameResolver
    if isinstance(current, PolicyResolver):
        if set(current.allow) != set(allow):
            raise RuntimeError(
                f"the egress policy of this process allows {list(map(str, current.allow))}, "
                f"this crawler {list(map(str, allow))}: crawlers in one process share "
                f"{ALLOW_SETTING}"
            )
        return current
    if resolver is None:
        resolver = PolicyResolver(reactor, allow, inner=current)
    else:
        resolver.inner = current
    reactor.installNameResolver(resolver)
    return resolver


# -- the downloader middleware -------------------------------------------------------------


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _require_twisted_http(settings: BaseSettings) -> None:
    from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler

    handlers = settings.getwithbase("DOWNLOAD_HANDLERS")
    for scheme in ALLOWED_SCHEMES:
        path = handlers.get(scheme)
        handler = load_object(path) if isinstance(path, str) else path
        if not (isinstance(handler, type) and issubclass(handler, HTTP11DownloadHandler)):
            raise RuntimeError(
                f"DOWNLOAD_HANDLERS[{scheme!r}] is {path!r}: the egress policy checks the "
                "addresses of Scrapy's Twisted HTTP/1.1 handler only; remove the override"
            )


class EgressMiddleware:
    """Refuses blocked URLs before anything is sent; installs the policy resolver."""

    def __init__(self, crawler: Crawler) -> None:
        from twisted.internet import reactor

        self.crawler = crawler
        self.allow = allow_networks_of(crawler.settings)
        self.timeout_s = crawler.settings.getfloat("DOWNLOAD_TIMEOUT", 180.0)
        _require_twisted_http(crawler.settings)
        self.resolver = install_policy_resolver(reactor, self.allow)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> EgressMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        refused = refusal_of(request.url, self.allow)
        if refused is None:
            host = urlsplit(request.url).hostname or ""
            if host and not _is_ip_literal(host):
                refusal = await self._check(host)
                if refusal is not None:
                    refused = AddressRefused(request.url, refusal)
        if refused is not None:
            self._stat(f"egress/{refused.kind}")
            raise refused
        return None

    async def _check(self, host: str) -> str | None:
        try:
            return await asyncio.wait_for(
                maybe_deferred_to_future(self.resolver.check(host)), self.timeout_s
            )
        except TimeoutError as exc:
            raise DownloadTimeoutError(
                f"looking up {host} took longer than {self.timeout_s:g}s"
            ) from exc

    def process_exception(self, request: Request, exception: Exception) -> None:
        """A name refused at connect time (its answer changed since the early check)
        fails in Twisted as a DNS error: say what really happened."""
        if isinstance(exception, (DNSLookupError, CannotResolveHostError)):
            refusal = self.resolver.refusal_for(urlsplit(request.url).hostname or "")
            if refusal is not None:
                self._stat("egress/address_refused")
                raise AddressRefused(request.url, refusal) from exception
        return None

    def _stat(self, key: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(key)


def require_egress_policy(settings: BaseSettings) -> None:
    """Refuse to crawl when an operator's settings have switched the policy off."""
    enabled = settings.getwithbase("DOWNLOADER_MIDDLEWARES")
    key = f"{__name__}.EgressMiddleware"
    if enabled.get(key) is None:
        raise RuntimeError(
            f"{key} is disabled in DOWNLOADER_MIDDLEWARES: it keeps the crawler away from "
            "internal addresses; use PRESSWATCH_ALLOW_NETWORKS to open a network instead"
        )
