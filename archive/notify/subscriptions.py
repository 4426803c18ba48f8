"""Notification subscriptions and their outbox: the rows, not the sending.

A subscription names the events a watchdog wants (sources, topic keywords, change
kinds, minimum significance) and an Apprise URL to send them to, at once or in a daily
digest. Events reach the outbox after they commit, by a cursor over `change_events`
(`NotifyCursor`): capture writes events while holding the log head's lock, so event
ids commit in increasing order and a cursor that only moves forward misses none. The
cursor moves in the same transaction as the outbox rows it queues, and (subscription,
event) is unique, so an event is queued once or not at all, whatever crashes.

Delivery is at most once: a sender claims rows (`sending`), sends, then marks them
`sent`. A sender that dies between the send and the mark leaves rows `sending`; once
their claim is older than `CLAIM_TIMEOUT` they become `unconfirmed` and are not sent
again unless the operator asks (`presswatch notify retry`), because the message may
well have arrived. Matching and sending live in `presswatch.notify`; this module only
validates URLs (Apprise) and reads and writes the tables.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from archive.egress import Networks, host_refusal, ip_literal, resolved_refusal
from archive.errors import BadInput, NotFound
from archive.store.db import insert_or_reread
from archive.store.models import (
    ChangeEvent,
    ChangeKind,
    NotifyCursor,
    NotifyOutbox,
    NotifySubscription,
)

NOTIFY_MODES = ("immediate", "digest")
# A new subscription hears about edits, takedowns and restorations; `discovered` would
# send every new article, so it is asked for by name.
DEFAULT_NOTIFY_KINDS = (
    ChangeKind.EDITED.value,
    ChangeKind.REMOVED.value,
    ChangeKind.RESTORED.value,
)
# Longer than any send can take (Apprise's own timeouts are seconds): a claim this old
# belongs to a sender that died.
CLAIM_TIMEOUT = timedelta(minutes=15)
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")


# -- Apprise URLs --------------------------------------------------------------------


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


MAIL_RELAY_SETTING = "mail_relay_networks (env PRESSWATCH_MAIL_RELAY_NETWORKS)"


# -- subscriptions -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubscriptionSpec:
    """A subscription as the CLI, the API or sources.toml gives it."""

    name: str
    url: str
    sources: tuple[str, ...] = ()
    topic: str | None = None
    keywords: tuple[str, ...] = ()
    kinds: tuple[str, ...] = DEFAULT_NOTIFY_KINDS
    min_significance: float = 0.0
    mode: str = "immediate"
    enabled: bool = True

    def problems(self, egress: NotifierEgress | None = None) -> list[str]:
        """What is wrong with it, each naming the field and the fix. The URL is judged
        by the egress policy `egress` (default: nothing internal is allowed)."""
        out = []
        if not _SLUG.match(self.name):
            out.append(
                f"name {self.name!r} is not a slug; use lower-case letters, digits, '-' and '_'"
            )
        url_problem = apprise_url_problem(self.url)
        if url_problem is not None:
            out.append(f"url: {url_problem}")
        else:
            refusal = notifier_refusal(self.url, egress or NotifierEgress())
            if refusal is not None:
                out.append(f"url: {refusal}")
        known = {k.value for k in ChangeKind}
        for kind in self.kinds:
            if kind not in known:
                out.append(f"kinds: {kind!r} is not a change kind (use {', '.join(sorted(known))})")
        if not 0.0 <= self.min_significance <= 1.0:
            out.append(f"min_significance {self.min_significance} must be between 0 and 1")
        if self.mode not in NOTIFY_MODES:
            out.append(f"mode {self.mode!r}: use immediate or digest")
        if any(not k.strip() for k in self.keywords):
            out.append("keywords: a keyword is blank; remove it or write the word")
        return out


def _apply(row: NotifySubscription, spec: SubscriptionSpec) -> None:
    if row.url is not None and row.url != spec.url.strip():
        # A new address deserves a try now: the old one's failures are not its own.
        row.failures, row.next_attempt_at, row.last_error = 0, None, None
    row.url = spec.url.strip()
    row.sources = list(spec.sources)
    row.topic = spec.topic
    row.keywords = list(spec.keywords)
    row.kinds = list(spec.kinds)
    row.min_significance = float(spec.min_significance)
    row.mode = spec.mode
    row.enabled = spec.enabled


def last_event_id(session: Session) -> int:
    return session.scalar(select(func.max(ChangeEvent.id))) or 0


def add_subscription(
    session: Session,
    spec: SubscriptionSpec,
    *,
    origin: str,
    now: datetime,
    egress: NotifierEgress | None = None,
) -> NotifySubscription:
    """A new subscription; it hears about events recorded from now on. `BadInput` when
    the spec is invalid (its URL judged by `egress`) or the name is taken."""
    problems = spec.problems(egress)
    if problems:
        raise BadInput(f"subscription {spec.name!r}: " + "; ".join(problems))
    if subscription_by_name(session, spec.name) is not None:
        raise BadInput(
            f"a subscription named {spec.name!r} exists; remove it first or choose another name"
        )
    row = NotifySubscription(
        name=spec.name, origin=origin, created_at=now, after_event_id=last_event_id(session)
    )
    _apply(row, spec)
    session.add(row)
    session.flush()
    return row


def subscription_by_name(session: Session, name: str) -> NotifySubscription | None:
    return session.scalars(
        select(NotifySubscription).where(NotifySubscription.name == name)
    ).first()


def list_subscriptions(session: Session) -> list[NotifySubscription]:
    return list(session.scalars(select(NotifySubscription).order_by(NotifySubscription.name)))


def remove_subscription(session: Session, name: str) -> None:
    """Delete a subscription and its queue (these are not archive records)."""
    row = subscription_by_name(session, name)
    if row is None:
        raise NotFound(f"no subscription named {name!r}; `presswatch notify list` shows them")
    session.execute(delete(NotifyOutbox).where(NotifyOutbox.subscription_id == row.id))
    session.delete(row)
    session.flush()


def sync_file_subscriptions(
    session: Session,
    specs: Sequence[SubscriptionSpec],
    *,
    now: datetime,
    egress: NotifierEgress | None = None,
) -> None:
    """Make the `origin = "file"` subscriptions those of sources.toml: add, update (the
    delivery health is kept) and remove. The file wins a name clash with a subscription
    added by the CLI or the API (logged). Two runs adding one new entry at once both go
    on: the insert that loses the race updates the winner's row."""
    rows = {r.name: r for r in list_subscriptions(session)}
    wanted = {s.name for s in specs}
    for spec in specs:
        row = rows.get(spec.name)
        if row is None:
            found, inserted = insert_or_reread(
                session,
                partial(add_subscription, session, spec, origin="file", now=now, egress=egress),
                partial(subscription_by_name, session, spec.name),
            )
            if inserted:
                continue
            # Another run (a second machine on the same database) added it first: make
            # its row the file's, as below.
            row = found
        if row.origin != "file":
            logging.getLogger(__name__).warning(
                "subscription %s (%s) is replaced by the one in sources.toml", row.name, row.origin
            )
            row.origin = "file"
        if row.url != spec.url.strip():
            problems = spec.problems(egress)
            if problems:
                raise BadInput(f"subscription {spec.name!r}: " + "; ".join(problems))
        _apply(row, spec)
    for name, row in rows.items():
        if row.origin == "file" and name not in wanted:
            remove_subscription(session, name)
    session.flush()


# -- the cursor and the queue --------------------------------------------------------


def read_cursor(session: Session, *, lock: bool = False) -> NotifyCursor:
    """The cursor row (created at 0); `lock` takes it FOR UPDATE so two matchers queue
    one after the other (SQLite writers are serialized by BEGIN IMMEDIATE anyway)."""
    query = select(NotifyCursor).where(NotifyCursor.id == 1)
    if lock:
        query = query.with_for_update()
    cursor = session.scalars(query).first()
    if cursor is None:
        cursor = NotifyCursor(id=1, event_id=0)
        session.add(cursor)
        session.flush()
    return cursor


def events_after(session: Session, event_id: int, limit: int) -> list[ChangeEvent]:
    return list(
        session.scalars(
            select(ChangeEvent)
            .where(ChangeEvent.id > event_id)
            .order_by(ChangeEvent.id)
            .limit(limit)
        )
    )


def queue_deliveries(
    session: Session,
    pairs: Iterable[tuple[int, int]],
    *,
    cursor: NotifyCursor,
    to_event: int,
    now: datetime,
) -> int:
    """Queue (subscription id, event id) pairs and move the cursor, in the caller's
    transaction. Returns how many rows were queued."""
    rows = [
        {"subscription_id": sub_id, "event_id": event_id, "queued_at": now, "state": "pending"}
        for sub_id, event_id in pairs
    ]
    if rows:
        session.execute(insert(NotifyOutbox), rows)
    count = len(rows)
    cursor.event_id = max(cursor.event_id, to_event)
    session.flush()
    return count


def expire_claims(session: Session, now: datetime) -> int:
    """Rows left `sending` by a sender that died: `unconfirmed` (sent or not, we cannot
    know; at most once means not again)."""
    result = session.execute(
        update(NotifyOutbox)
        .where(NotifyOutbox.state == "sending", NotifyOutbox.claimed_at < now - CLAIM_TIMEOUT)
        .values(state="unconfirmed")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def claim_pending(session: Session, subscription_id: int, token: str, now: datetime) -> list[int]:
    """Claim every pending row of a subscription for one send (a row is claimed by one
    sender only: the UPDATE is conditional on `pending`); the claimed event ids."""
    session.execute(
        update(NotifyOutbox)
        .where(NotifyOutbox.subscription_id == subscription_id, NotifyOutbox.state == "pending")
        .values(state="sending", claim=token, claimed_at=now)
    )
    return list(
        session.scalars(
            select(NotifyOutbox.event_id)
            .where(NotifyOutbox.claim == token)
            .order_by(NotifyOutbox.event_id)
        )
    )


def finish_claim(
    session: Session,
    token: str,
    *,
    sent: bool,
    now: datetime,
    event_ids: Sequence[int] | None = None,
) -> None:
    """After a send: the claimed rows (only those of `event_ids` when given) become
    `sent`, or go back to `pending` for the next try."""
    values: dict[str, Any] = (
        {"state": "sent", "sent_at": now}
        if sent
        else {"state": "pending", "claim": None, "claimed_at": None}
    )
    query = update(NotifyOutbox).where(NotifyOutbox.claim == token, NotifyOutbox.state == "sending")
    if event_ids is not None:
        query = query.where(NotifyOutbox.event_id.in_(list(event_ids)))
    session.execute(query.values(**values))


def requeue_unconfirmed(session: Session, name: str | None = None) -> int:
    """The operator's choice after a crash: send the unconfirmed rows again."""
    query = update(NotifyOutbox).where(NotifyOutbox.state == "unconfirmed")
    if name is not None:
        row = subscription_by_name(session, name)
        if row is None:
            raise NotFound(f"no subscription named {name!r}; `presswatch notify list` shows them")
        query = query.where(NotifyOutbox.subscription_id == row.id)
    result = session.execute(query.values(state="pending", claim=None, claimed_at=None))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def outbox_counts(session: Session) -> dict[int, dict[str, int]]:
    """Per subscription id: rows by state."""
    out: dict[int, dict[str, int]] = {}
    rows = session.execute(
        select(NotifyOutbox.subscription_id, NotifyOutbox.state, func.count()).group_by(
            NotifyOutbox.subscription_id, NotifyOutbox.state
        )
    )
    for sub_id, state, count in rows:
        out.setdefault(sub_id, {})[state] = count
    return out


def subscription_json(
    row: NotifySubscription, counts: dict[str, int] | None = None
) -> dict[str, Any]:
    """The public shape of a subscription (URL redacted) with its delivery health."""
    counts = counts or {}

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "name": row.name,
        "url": redact_url(row.url),
        "sources": list(row.sources or []),
        "topic": row.topic,
        "keywords": list(row.keywords or []),
        "kinds": list(row.kinds or []),
        "min_significance": row.min_significance,
        "mode": row.mode,
        "origin": row.origin,
        "enabled": row.enabled,
        "created_at": iso(row.created_at),
        "matched": sum(counts.values()),
        "pending": counts.get("pending", 0) + counts.get("sending", 0),
        "sent": counts.get("sent", 0),
        "unconfirmed": counts.get("unconfirmed", 0),
        "failures": row.failures,
        "last_error": row.last_error,
        "last_attempt_at": iso(row.last_attempt_at),
        "last_success_at": iso(row.last_success_at),
        "next_attempt_at": iso(row.next_attempt_at),
    }


def notify_health(session: Session) -> list[dict[str, Any]]:
    """Every subscription as `subscription_json`, for `status`, `/sources` and the API."""
    counts = outbox_counts(session)
    return [subscription_json(r, counts.get(r.id)) for r in list_subscriptions(session)]
