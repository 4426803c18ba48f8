"""Per-person API tokens: made (the token shown once), revoked, and looked up for a
request (`Authorization: Bearer pw_…`), which records when each was last used.

A token acts with its account's role as it is when the token is used (a demoted or
disabled account's tokens lose their power with it). Only the token's SHA-256 and its
first characters (`prefix`, to tell tokens apart in listings) are stored.

Must not: commit, or keep or log a token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from archive.accounts.audit import record_audit
from archive.accounts.credentials import TOKEN_PREFIX, new_secret, secret_digest
from archive.accounts.people import account_by_name, actor_of
from archive.accounts.roles import Actor, Role, check_name
from archive.errors import NotAllowed, NotFound
from archive.store import Account, ApiToken

PREFIX_CHARS = 10
# last_used_at is written at most this often a token: a script polling the API must not
# turn every read into a write.
LAST_USED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class NewToken:
    row: ApiToken
    token: str


def create_token(
    session: Session, actor: Actor, account_name: str, token_name: str, *, now: datetime
) -> NewToken:
    """A new token for `account_name` (an admin may make one for anyone, others only
    for themselves)."""
    if actor.name != account_name:
        actor.require(Role.ADMIN)
    check_name(token_name, "token name")
    account = account_by_name(session, account_name)
    if account.disabled:
        raise NotAllowed(f"account {account_name!r} is disabled: it gets no new token")
    token = new_secret(TOKEN_PREFIX)
    row = ApiToken(
        account_id=account.id,
        name=token_name,
        token_sha256=secret_digest(token),
        prefix=token[:PREFIX_CHARS],
        created_at=now,
    )
    session.add(row)
    session.flush()
    record_audit(
        session,
        actor,
        "token.create",
        "token",
        row.id,
        now=now,
        detail={"account": account_name, "name": token_name, "prefix": row.prefix},
    )
    return NewToken(row, token)


def revoke_token(session: Session, actor: Actor, token_id: int, *, now: datetime) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"no token with id {token_id} (`presswatch accounts token list`)")
    owner = session.get(Account, row.account_id)
    assert owner is not None
    if actor.name != owner.name:
        actor.require(Role.ADMIN)
    if row.revoked_at is None:
        row.revoked_at = now
        record_audit(
            session,
            actor,
            "token.revoke",
            "token",
            row.id,
            now=now,
            detail={"account": owner.name, "name": row.name, "prefix": row.prefix},
        )
    return row


@dataclass(frozen=True, slots=True)
class TokenUse:
    """Who a token acts as, and whether its `last_used_at` is due to be written."""

    actor: Actor
    token_id: int
    stale: bool


def actor_for_token(session: Session, token: str, *, now: datetime) -> TokenUse:
    """Who a request's token acts as; NotAllowed for an unknown, revoked or disabled
    one (the same words for each: the answer must not tell them apart). Reads only, so
    a read-only session will do; `touch_token` records the use when `stale`."""
    refused = NotAllowed("unknown, revoked or disabled token")
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise refused
    row = session.scalars(
        select(ApiToken).where(ApiToken.token_sha256 == secret_digest(token))
    ).first()
    if row is None or row.revoked_at is not None:
        raise refused
    account = session.get(Account, row.account_id)
    if account is None or account.disabled:
        raise refused
    stale = row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY
    return TokenUse(actor_of(account), row.id, stale)


def touch_token(session: Session, token_id: int, *, now: datetime) -> None:
    """Record a token's use (at most once a `LAST_USED_EVERY`: a script polling the API
    must not turn every read into a write)."""
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))


def list_tokens(session: Session, account_name: str | None = None) -> list[tuple[ApiToken, str]]:
    stmt = (
        select(ApiToken, Account.name)
        .join(Account, Account.id == ApiToken.account_id)
        .order_by(ApiToken.id)
    )
    if account_name is not None:
        stmt = stmt.where(Account.name == account_name)
    return [(t, n) for t, n in session.execute(stmt)]


def token_json(row: ApiToken, account_name: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "account": account_name,
        "name": row.name,
        "prefix": row.prefix,
        "created_at": row.created_at.isoformat(),
        "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None,
        "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
    }
