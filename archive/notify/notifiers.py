"""Notifier URLs (Apprise's): whether Apprise can use one, the URL and Apprise's messages
with their secrets masked, and where a notifier may connect (`NotifierEgress`).

Apprise is imported only when a URL is judged, never at package import. Sending is
`presswatch.notify`'s; nothing here opens a connection (`NotifierEgress.resolve`, when
given, is the caller's DNS lookup).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from archive.egress import Networks, host_refusal, ip_literal, resolved_refusal

__all__ = [
    "MAIL_RELAY_SETTING",
    "NotifierEgress",
    "apprise_url_problem",
    "notifier_host",
    "notifier_refusal",
    "quiet_apprise",
    "redact_url",
    "scrub",
]

MAIL_RELAY_SETTING = "mail_relay_networks (env PRESSWATCH_MAIL_RELAY_NETWORKS)"


@contextmanager
def quiet_apprise() -> Iterator[io.StringIO]:
    """Apprise's own log lines (which may spell out a notifier's URL and its secrets)
    are captured, never passed on to our handlers (stderr, the log file); the caller
    reads what it needs from the yielded buffer and shows it through `scrub`."""
    import apprise

    apprise_log = logging.getLogger("apprise")
    propagate, apprise_log.propagate = apprise_log.propagate, False
    try:
        with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as logs:  # type: ignore[no-untyped-call]
            yield logs
    finally:
        apprise_log.propagate = propagate


def _plugin(url: str) -> Any:
    import apprise

    with quiet_apprise():
        return apprise.Apprise.instantiate(url.strip(), suppress_exceptions=True)


def apprise_url_problem(url: str) -> str | None:
    """Why Apprise cannot use `url` (its own reason), or None when it can."""
    import apprise

    url = url.strip()
    if not url:
        return "the URL is empty; give an Apprise URL such as mailto://… or json://host/path"
    with quiet_apprise() as logs:
        plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is not None:
        return None
    reasons = [line.strip() for line in logs.getvalue().splitlines() if line.strip()]
    reason = scrub(reasons[-1], url) if reasons else "Apprise cannot parse it"
    return (
        f"not a usable Apprise URL ({reason}); see https://github.com/caronc/apprise/wiki "
        "for the form of each service, e.g. mailto://user:pass@host or json://host/path"
    )


def _names_its_server(plugin: Any) -> bool:
    """Whether the URL's host is the server Apprise connects to (json://, mailto://,
    ntfy://, matrix://…), as Apprise's templates declare; for a hosted service
    (tgram://, slack://…) that place holds a token and the server is the service's."""
    return "host" in (getattr(plugin, "template_tokens", None) or {})


def _is_mail(plugin: Any) -> bool:
    return type(plugin).__name__ in ("NotifyEmail",)


def _mask(segment: str) -> str:
    return "…" if len(segment) < 6 else f"{segment[0]}…{segment[-1]}"


def redact_url(url: str) -> str:
    """The URL with its secrets masked, for display: Apprise masks the passwords and
    tokens it knows; a webhook's path (json://, form://, ntfy://… where a path is often
    the only secret) and every query value are masked here, a mail URL's recipients kept."""
    plugin = _plugin(url)
    if plugin is None:
        scheme = url.split("://", 1)[0] if "://" in url else "?"
        return f"{scheme[:20]}://…"
    # Without the query: Apprise spells out every default option there, and custom
    # headers (+X-Token=…) live in it.
    shown = str(plugin.url(privacy=True)).split("?", 1)[0]
    if not _names_its_server(plugin) or _is_mail(plugin):
        return shown
    scheme, _, rest = shown.partition("://")
    authority, slash, path = rest.partition("/")
    masked = "/".join(_mask(seg) if seg else seg for seg in path.split("/"))
    return f"{scheme}://{authority}{slash}{masked}"


def _secrets_of(url: str) -> set[str]:
    """The parts of a notifier URL that are or may be secret, as they could appear in
    a message about it (raw or percent-decoded)."""
    parts = urlsplit(url.strip())
    found = {parts.password or "", parts.username or ""}
    found.update(seg for seg in parts.path.split("/"))
    found.update(v for _, v in parse_qsl(parts.query, keep_blank_values=False))
    if "@" not in parts.netloc:
        found.add(parts.netloc.split(":", 1)[0])  # tgram://TOKEN/…: the "host" is a token
    plugin = _plugin(url)
    if plugin is not None and _names_its_server(plugin):
        found.discard(str(getattr(plugin, "host", "") or ""))
    found |= {unquote(s) for s in found}
    return {s for s in found if len(s) >= 4}


def scrub(text: str, url: str) -> str:
    """`text` (Apprise's reason for a failure) with every secret of `url` masked."""
    for secret in sorted(_secrets_of(url), key=len, reverse=True):
        text = text.replace(secret, _mask(secret))
    return text


@dataclass(frozen=True, slots=True)
class NotifierEgress:
    """Where notifiers may connect. `allow` opens networks for every notifier (the
    crawler's `allow_networks`); `mail_relay` opens networks for mail only (a local SMTP
    relay, without opening loopback to webhooks). `resolve` (host → addresses) lets a
    check judge host names too; without it only what is blocked on its face is."""

    allow: Networks = ()
    mail_relay: Networks = ()
    resolve: Callable[[str], list[str]] | None = None

    def networks_for(self, url: str) -> Networks:
        plugin = _plugin(url)
        if plugin is not None and _is_mail(plugin):
            return (*self.allow, *self.mail_relay)
        return self.allow


def notifier_host(url: str) -> str | None:
    """The host an Apprise URL tells Apprise to connect to, or None when it names a
    hosted service (tgram://, slack://…) or no server at all."""
    plugin = _plugin(url)
    if plugin is None or not _names_its_server(plugin):
        return None
    host = str(getattr(plugin, "host", "") or "").strip()
    return host or None


def notifier_refusal(url: str, egress: NotifierEgress) -> str | None:
    """Why the egress policy forbids sending to `url` (naming the setting to change),
    or None. Checked when a subscription is configured and again before each send (DNS
    may have changed); the connection itself is filtered too (presswatch.egress)."""
    host = notifier_host(url)
    if host is None:
        return None
    plugin = _plugin(url)
    mail = plugin is not None and _is_mail(plugin)
    allow = egress.networks_for(url)
    reason = host_refusal(host, allow)
    if reason is None and egress.resolve is not None and ip_literal(host) is None:
        reason = resolved_refusal(host, egress.resolve(host), allow)
    if reason is None:
        return None
    if mail:
        reason += f", or to {MAIL_RELAY_SETTING} for a mail relay"
    return f"{redact_url(url)} would reach a refused address: {reason}"
