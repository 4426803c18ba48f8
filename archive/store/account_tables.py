"""The tables of people, their credentials, what they did, and their case files
(`archive.accounts` owns their rules; `archive.log` seals each audit entry).

- `Account`: a person with a role (viewer, editor, admin), an argon2 password hash
  (never the password), and a `disabled` flag that ends every session and token.
  An invited person has no password until they follow their invitation, whose secret
  is kept only as its SHA-256.
- `ApiToken`: a per-person token for scripts, kept only as its SHA-256 (a token is 256
  random bits, so a fast hash is enough and a lookup stays one indexed read); `prefix`
  is what listings show of it; revoked tokens keep their row (the audit log names them).
- `WebSession`: a signed-in browser, kept server-side so signing out, disabling the
  account or revoking the session ends it at once; the cookie holds a random secret
  whose SHA-256 is stored here, with the session's CSRF token.
- `LoginAttempt`: failed sign-ins by account name and by client address, for throttling.
- `AuditEntry`: who did what to which object, when; each one is a leaf of the
  transparency log (`seq` is its place in the log, as a capture's is), so the audit
  trail cannot be rewritten without `presswatch verify` noticing.
- `CaseFile`, `CaseArticle`, `CaseNote`: a named set of articles with tags and notes,
  each change an audit entry (a note's text is committed to by its entry's leaf).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from archive.store.models import Base


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(10))
    password_hash: Mapped[str | None] = mapped_column(Text)
    invite_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    invite_expires_at: Mapped[datetime | None]
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class WebSession(Base):
    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class LoginAttempt(Base):
    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_name: Mapped[str] = mapped_column(String(64))
    client: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]


Index("ix_login_attempts_account_name_at", LoginAttempt.account_name, LoginAttempt.at)
Index("ix_login_attempts_client_at", LoginAttempt.client, LoginAttempt.at)


class AuditEntry(Base):
    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Its place in the transparency log, shared with captures (leaf index = seq - 1).
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40), index=True)
    object_kind: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    leaf_hash: Mapped[str] = mapped_column(String(64))
    # The leaf's exact bytes (a few hundred): verify names the field rows no longer match.
    leaf: Mapped[str] = mapped_column(Text)


class CaseFile(Base):
    __tablename__ = "case_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(80))


class CaseArticle(Base):
    __tablename__ = "case_articles"
    __table_args__ = (UniqueConstraint("case_id", "article_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_files.id"), index=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    added_at: Mapped[datetime]
    added_by: Mapped[str] = mapped_column(String(80))


class CaseNote(Base):
    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_files.id"), index=True)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id"))
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime]
    # The audit entry whose leaf commits to this note's text (its SHA-256).
    audit_entry_id: Mapped[int] = mapped_column(ForeignKey("audit_entries.id"))
