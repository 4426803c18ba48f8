"""Roles and names: who may do what.

viewer < editor < admin. A viewer reads (and, with `private` on, is who may read at
all); an editor also changes case files (adds articles, notes, tags) and exports them;
an admin also manages accounts, tokens of others and sources. `PRESSWATCH_API_KEY`, the
key for cron and scripts, acts as an admin named `api-key`.

Must not: touch the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from archive.errors import BadInput, NotAllowed


class Role(StrEnum):
    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"


_RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.ADMIN: 2}
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
# The legacy admin key's name in the audit log; no account may take it.
API_KEY_ACTOR = "api-key"


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise BadInput(f"role {value!r}: use one of viewer, editor, admin") from None


def require_role(have: str, needed: Role, *, who: str = "this account") -> None:
    """Raise NotAllowed unless `have` is `needed` or above."""
    if _RANK[parse_role(have)] < _RANK[needed]:
        raise NotAllowed(f"{who} is a {have}: this needs the {needed.value} role")


def check_name(name: str, what: str = "account name") -> str:
    """A name as accounts and case files take it: lower-case letters, digits, `.`, `_`
    and `-`, at most 64, starting with a letter or digit."""
    if not _NAME.match(name) or name == API_KEY_ACTOR:
        raise BadInput(
            f"{what} {name!r}: use 1 to 64 lower-case letters, digits, '.', '_' or '-', "
            f"starting with a letter or digit (and not {API_KEY_ACTOR!r})"
        )
    return name


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: an account (by name, with its role), the admin key, or a command
    run on the server (`cli:` and the account it acts as)."""

    name: str
    role: Role
    account_id: int | None = None

    def require(self, needed: Role) -> None:
        require_role(self.role, needed, who=f"account {self.name!r}")


API_KEY = Actor(API_KEY_ACTOR, Role.ADMIN)
