"""Passwords and random secrets: how they are made, hashed and checked.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second
recommended parameters); a hash made with weaker parameters is upgraded at the next
successful sign-in. Tokens, session secrets and invitations are 256 random bits,
kept only as their SHA-256: a fast hash is enough for so much entropy and lets a
request find its token with one indexed read.

Must not: log or return a password or a secret other than to the caller that made it.
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from archive.errors import BadInput

MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024  # argon2 takes any length; a megabyte body would cost CPU for nothing
TOKEN_PREFIX = "pw_"

_hasher = PasswordHasher()


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise BadInput(f"the password is too short: use at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise BadInput(f"the password is too long: use at most {MAX_PASSWORD_CHARS} characters")


def hash_password(password: str) -> str:
    check_password_rules(password)
    return _hasher.hash(password)


def password_matches(stored_hash: str | None, password: str) -> bool:
    """Whether `password` is the one `stored_hash` was made from. Without a hash (an
    invited account) a dummy hash is checked anyway, so the answer takes as long."""
    if len(password) > MAX_PASSWORD_CHARS:
        return False
    try:
        return _hasher.verify(stored_hash or _dummy(), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


def new_secret(prefix: str = "") -> str:
    """256 random bits, URL-safe."""
    return prefix + secrets.token_urlsafe(32)


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _dummy() -> str:
    """A hash made with the current parameters, checked for an unknown name so that its
    refusal takes as long as a wrong password's."""
    global _DUMMY
    if _DUMMY is None or _hasher.check_needs_rehash(_DUMMY):
        _DUMMY = _hasher.hash("not a password anyone has: the timing of an unknown name")
    return _DUMMY


def use_hash_parameters(hasher: PasswordHasher) -> PasswordHasher:
    """Hash with `hasher` from now on; returns the one used before. For tests, which
    cannot spend a second of CPU on each of hundreds of sign-ins."""
    global _hasher
    before, _hasher = _hasher, hasher
    return before


_DUMMY: str | None = None
