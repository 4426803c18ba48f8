"""Signing in to the web pages: passwords checked, failures throttled, sessions kept.

Sessions are server-side rows (`WebSession`) rather than signed cookies: signing out,
disabling an account or changing its password ends its sessions at once, every worker
of `presswatch serve` sees that without sharing a signing key, and the cookie holds
only a random secret (its SHA-256 is the row's key). Each session carries its own CSRF
token, which every form of a signed-in page repeats.

Throttling: at most `ACCOUNT_FAILURES` failed sign-ins per account name and
`CLIENT_FAILURES` per client address within `FAILURE_WINDOW`; past either, sign-in is
refused (`Throttled`) without checking the password until the window moves on. Failures
are rows, so every worker counts the same ones.

Must not: commit; keep, log or return a password; return a session secret but to the
caller that signs in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from archive.accounts.credentials import (
    hash_password,
    needs_rehash,
    new_secret,
    password_matches,
    secret_digest,
)
from archive.accounts.people import actor_of
from archive.accounts.roles import Actor
from archive.errors import NotAllowed, Throttled
from archive.store import Account, LoginAttempt, WebSession

ACCOUNT_FAILURES = 5
CLIENT_FAILURES = 20
FAILURE_WINDOW = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)
SEEN_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A new session: the secret for the cookie (shown to nobody else), its CSRF token."""

    actor: Actor
    secret: str
    csrf_token: str
    expires_at: datetime


def _failures(
    session: Session, column: InstrumentedAttribute[str], value: str, since: datetime
) -> int:
    stmt = select(func.count()).where(column == value, LoginAttempt.at > since)
    return int(session.scalar(stmt) or 0)


def check_throttle(session: Session, name: str, client: str, *, now: datetime) -> None:
    since = now - FAILURE_WINDOW
    if _failures(session, LoginAttempt.account_name, name, since) >= ACCOUNT_FAILURES:
        raise Throttled(
            f"too many failed sign-ins for this account: wait {_minutes()} minutes and try again"
        )
    if _failures(session, LoginAttempt.client, client, since) >= CLIENT_FAILURES:
        raise Throttled(
            f"too many failed sign-ins from this address: wait {_minutes()} minutes and try again"
        )


def _minutes() -> int:
    return int(FAILURE_WINDOW.total_seconds() // 60)


def sign_in(session: Session, name: str, password: str, *, client: str, now: datetime) -> SignedIn:
    """A new session for `name`, or NotAllowed (the same words for an unknown name, a
    wrong password, a disabled or not yet set up account), or Throttled. A failure is
    recorded in the caller's transaction: the caller commits it even when refusing."""
    name = name.strip().lower()[:64]
    client = client[:64]
    check_throttle(session, name, client, now=now)
    account = session.scalars(select(Account).where(Account.name == name)).first()
    ok = password_matches(account.password_hash if account else None, password)
    if account is None or not ok or account.disabled:
        session.add(LoginAttempt(account_name=name, client=client, at=now))
        session.flush()
        raise NotAllowed("wrong name or password")
    assert account.password_hash is not None
    if needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    session.execute(
        delete(LoginAttempt).where(
            LoginAttempt.account_name == name, LoginAttempt.at <= now - FAILURE_WINDOW
        )
    )
    secret = new_secret()
    csrf = new_secret()[:43]
    row = WebSession(
        account_id=account.id,
        secret_sha256=secret_digest(secret),
        csrf_token=csrf,
        created_at=now,
        expires_at=now + SESSION_LIFETIME,
        last_seen_at=now,
    )
    session.add(row)
    session.flush()
    return SignedIn(actor_of(account), secret, csrf, row.expires_at)


@dataclass(frozen=True, slots=True)
class SessionInfo:
    actor: Actor
    csrf_token: str
    session_id: int


def session_actor(session: Session, secret: str, *, now: datetime) -> SessionInfo | None:
    """Who a session cookie's secret signs in, or None (unknown, expired, disabled)."""
    if not secret or len(secret) > 200:
        return None
    row = session.scalars(
        select(WebSession).where(WebSession.secret_sha256 == secret_digest(secret))
    ).first()
    if row is None or row.expires_at <= now:
        return None
    account = session.get(Account, row.account_id)
    if account is None or account.disabled:
        return None
    return SessionInfo(actor_of(account), row.csrf_token, row.id)


def sign_out(session: Session, secret: str) -> None:
    session.execute(delete(WebSession).where(WebSession.secret_sha256 == secret_digest(secret)))


def prune_sessions(session: Session, *, now: datetime) -> None:
    """Forget expired sessions and old failures (called at sign-in)."""
    session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    session.execute(delete(LoginAttempt).where(LoginAttempt.at <= now - FAILURE_WINDOW))
