"""Which addresses the crawler may connect to: the egress policy, as pure functions.

Outlets may be run by the people the archive watches, so every URL they hand us (a
sitemap entry, a feed link, a redirect, a robots.txt `Sitemap:` line) is hostile. Only
http and https are fetched, and only from addresses that are globally routable: never
loopback, private (RFC 1918, fc00::/7), link-local (169.254/16 with the cloud metadata
address, fe80::/10), shared/CGNAT (100.64/10), multicast, unspecified, reserved,
documentation or benchmarking ranges, nor an IPv6 address that carries one of those
(IPv4-mapped, 6to4, NAT64). `allow_networks` lets an operator open chosen networks
(an intranet outlet; the tests and the demo open 127.0.0.1/32 and nothing else).

The ranges come from the standard library's `ipaddress` (IANA's special-purpose
registries); nothing here resolves names or touches the network. The crawler checks the
*resolved* address at connect time (crawler.egress); the admin API and `sources --check`
use `url_refusal` to refuse what is blocked on its face; `presswatch.egress` applies
the same rules to every other outbound client (backfill, Save Page Now, notifiers, the
timestamp authority), handing in the addresses it resolved (`resolved_refusal`).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = [
    "ALLOW_NETWORKS_SETTING",
    "ALLOWED_SCHEMES",
    "Networks",
    "address_refusal",
    "host_refusal",
    "ip_literal",
    "parse_networks",
    "resolved_refusal",
    "url_refusal",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Networks = tuple[IPNetwork, ...]

ALLOWED_SCHEMES = frozenset({"http", "https"})
# Named in every refusal, so the reader knows what would allow the address.
ALLOW_NETWORKS_SETTING = "allow_networks (env PRESSWATCH_ALLOW_NETWORKS)"

# Names that resolve to loopback by convention (RFC 6761), whatever DNS says.
_LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
_LOOPBACK_ADDRESSES = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))


def parse_networks(values: str | Iterable[str]) -> Networks:
    """CIDRs (`10.0.0.0/8`, `fd00::/8`, a bare address for one host) from a list or a
    comma-separated string; ValueError names the first bad one."""
    items = values.split(",") if isinstance(values, str) else list(values)
    out: list[IPNetwork] = []
    for raw in items:
        text = str(raw).strip()
        if not text:
            continue
        try:
            out.append(ipaddress.ip_network(text, strict=False))
        except ValueError as exc:
            raise ValueError(
                f"{text!r} is not a network in CIDR form; write e.g. 10.0.0.0/8 or 127.0.0.1/32"
            ) from exc
    return tuple(out)


def _category(address: IPAddress) -> str | None:
    """Why an address is not for the crawler, or None when it is globally routable."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            inner = _category(embedded)
            kind = "IPv4-mapped" if address.ipv4_mapped else "6to4"
            return f"the {kind} form of {embedded}, {inner}" if inner else None
        if address.is_site_local:
            return "a site-local address"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address (cloud metadata lives at 169.254.169.254)"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED:
        return "a shared (CGNAT) address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "not a globally routable address"
    return None


_SHARED = ipaddress.ip_network("100.64.0.0/10")


def _allowed(address: IPAddress, allow: Networks) -> bool:
    candidates: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        candidates.append(address.ipv4_mapped)
    return any(a.version == n.version and a in n for a in candidates for n in allow)


def address_refusal(address: str | IPAddress, allow: Networks = ()) -> str | None:
    """None when the crawler may connect to `address`; else why not, in a sentence
    that names the address and the setting that would allow it."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0] if isinstance(address, str) else address)
    except ValueError:
        return f"{address!r} is not an IP address"
    if _allowed(ip, allow):
        return None
    category = _category(ip)
    if category is None:
        return None
    return f"{ip} is {category}; add its network to {ALLOW_NETWORKS_SETTING} to allow it"


def host_refusal(host: str, allow: Networks = ()) -> str | None:
    """None unless a host is blocked on its face: a loopback name (`localhost`) or an IP
    literal in any form the C library reads as one (`2130706434`, `0x7f000002`, `127.1`)
    that the policy refuses. A host name is judged by what it resolves to
    (`resolved_refusal`)."""
    host = host.strip().strip("[]").rstrip(".").lower()
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        if any(_allowed(a, allow) for a in _LOOPBACK_ADDRESSES):
            return None
        return (
            f"{host} is a loopback name; add 127.0.0.1/32 to {ALLOW_NETWORKS_SETTING} to allow it"
        )
    literal = ip_literal(host)
    return None if literal is None else address_refusal(literal, allow)


def ip_literal(host: str) -> IPAddress | None:
    """The address a host names when it is an IP literal, in any form the C library
    reads as one, else None (a name)."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        pass
    try:
        # The C library also reads 2130706433, 0x7f.1 and 127.1 as IPv4 literals.
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):  # ValueError: a NUL or non-ASCII in the host
        return None


def url_refusal(url: str, allow: Networks = ()) -> str | None:
    """None unless the URL is blocked on its face: a scheme other than http(s), or a
    host that is a blocked IP literal or a loopback name (`localhost`). A host name is
    judged again by the address it resolves to, at connect time."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError as exc:
        return f"{url[:200]!r} is not a URL ({exc})"
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        shown = f"{scheme}:" if scheme else "no scheme"
        return f"{url[:200]!r} uses {shown}; only http and https are fetched"
    if not host:
        return f"{url[:200]!r} has no host"
    return host_refusal(host, allow)


def resolved_refusal(host: str, addresses: Iterable[str], allow: Networks = ()) -> str | None:
    """Judge the addresses a host name resolved to: None when at least one may be
    connected to (a client connects only to those), else why not. No address at all is
    not a refusal: the lookup failed, which the caller reports as such."""
    reasons = []
    for address in addresses:
        reason = address_refusal(address, allow)
        if reason is None:
            return None
        reasons.append(reason)
    return f"{host} resolves to {reasons[0]}" if reasons else None
