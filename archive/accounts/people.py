"""Accounts: creating (with a password), inviting (a one-time link to set one),
listing, disabling, changing a role; each change an audit entry.

Must not: commit, or put a password or an invitation secret anywhere but its hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from archive.accounts.audit import record_audit
from archive.accounts.credentials import hash_password, new_secret, secret_digest
from archive.accounts.roles import Actor, Role, check_name, parse_role
from archive.errors import BadInput, NotFound
from archive.store import Account, WebSession

INVITE_VALID = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Invitation:
    """An invited account and the secret of its link, shown once."""

    account: Account
    secret: str
    expires_at: datetime


def account_by_name(session: Session, name: str) -> Account:
    account = session.scalars(select(Account).where(Account.name == name)).first()
    if account is None:
        raise NotFound(f"no account named {name!r} (`presswatch accounts list` names them)")
    return account


def _new(session: Session, name: str, role: Role, now: datetime) -> Account:
    check_name(name)
    if session.scalars(select(Account.id).where(Account.name == name)).first() is not None:
        raise BadInput(f"account {name!r} exists already")
    account = Account(name=name, role=role.value, disabled=False, created_at=now, updated_at=now)
    session.add(account)
    session.flush()
    return account


def create_account(
    session: Session, actor: Actor, name: str, role: str, password: str, *, now: datetime
) -> Account:
    """An account that can sign in at once with `password`. The first account of an
    archive may be made only by a command run on the server (the CLI's actor)."""
    parsed = parse_role(role)
    hashed = hash_password(password)  # refuses a short password before anything is written
    account = _new(session, name, parsed, now)
    account.password_hash = hashed
    record_audit(
        session, actor, "account.create", "account", name, now=now, detail={"role": parsed.value}
    )
    return account


def invite_account(
    session: Session, actor: Actor, name: str, role: str, *, now: datetime
) -> Invitation:
    """An account without a password, and the one-time secret of the link (/invite/…)
    where its person sets one, valid for seven days."""
    parsed = parse_role(role)
    account = _new(session, name, parsed, now)
    secret = new_secret()
    account.invite_sha256 = secret_digest(secret)
    account.invite_expires_at = now + INVITE_VALID
    record_audit(
        session, actor, "account.invite", "account", name, now=now, detail={"role": parsed.value}
    )
    return Invitation(account, secret, account.invite_expires_at)


def accept_invitation(session: Session, secret: str, password: str, *, now: datetime) -> Account:
    """Set the invited account's password; the invitation is then spent."""
    account = session.scalars(
        select(Account).where(Account.invite_sha256 == secret_digest(secret))
    ).first()
    if account is None or account.disabled or account.invite_expires_at is None:
        raise NotFound("this invitation is unknown or spent: ask an admin for a new one")
    if account.invite_expires_at <= now:
        raise NotFound("this invitation has expired: ask an admin for a new one")
    account.password_hash = hash_password(password)
    account.invite_sha256 = None
    account.invite_expires_at = None
    account.updated_at = now
    record_audit(
        session,
        Actor(account.name, parse_role(account.role), account.id),
        "account.accept_invite",
        "account",
        account.name,
        now=now,
    )
    return account


def set_password(
    session: Session, actor: Actor, name: str, password: str, *, now: datetime
) -> Account:
    account = account_by_name(session, name)
    account.password_hash = hash_password(password)
    account.updated_at = now
    session.execute(delete(WebSession).where(WebSession.account_id == account.id))
    record_audit(session, actor, "account.password", "account", name, now=now)
    return account


def disable_account(session: Session, actor: Actor, name: str, *, now: datetime) -> Account:
    """Disable the account: its sessions end at once, its tokens stop working."""
    account = account_by_name(session, name)
    account.disabled = True
    account.updated_at = now
    session.execute(delete(WebSession).where(WebSession.account_id == account.id))
    record_audit(session, actor, "account.disable", "account", name, now=now)
    return account


def set_role(session: Session, actor: Actor, name: str, role: str, *, now: datetime) -> Account:
    parsed = parse_role(role)
    account = account_by_name(session, name)
    before = account.role
    account.role = parsed.value
    account.updated_at = now
    record_audit(
        session,
        actor,
        "account.role",
        "account",
        name,
        now=now,
        detail={"from": before, "to": parsed.value},
    )
    return account


def list_accounts(session: Session) -> list[Account]:
    return list(session.scalars(select(Account).order_by(Account.name)))


def account_json(account: Account) -> dict[str, Any]:
    """What listings show of an account: never its hash or invitation."""
    return {
        "name": account.name,
        "role": account.role,
        "disabled": account.disabled,
        "invited": account.password_hash is None and account.invite_sha256 is not None,
        "created_at": account.created_at.isoformat(),
    }


def actor_of(account: Account) -> Actor:
    return Actor(account.name, parse_role(account.role), account.id)
