"""`presswatch accounts …`: the people of a team and their API tokens.

`create` asks for the password at a prompt (twice, not echoed) or reads it from the
first line of `--password-file`; never from an argument, which `ps` and shell history
would show. `invite` prints a one-time code (valid seven days) that the person enters
on the `/invite` page with their own password. A token is printed once, when it is
made; only its SHA-256 is kept.

Commands run on the server act as `cli:USER` (the operating-system user) in the audit
log: whoever can run them can read the database anyway.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from archive.errors import PresswatchError
from archive.i18n import label as words_for
from archive.i18n import translations
from presswatch.commands.common import JsonOpt, cli_actor, echo_json, fail, get_runtime

accounts_app = typer.Typer(
    help="People who sign in, their roles and their API tokens.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
token_app = typer.Typer(help="Per-person API tokens.", no_args_is_help=True, rich_markup_mode=None)
accounts_app.add_typer(token_app, name="token")

RoleOpt = Annotated[str, typer.Option("--role", metavar="ROLE", help="viewer, editor or admin.")]
NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The account's name.")]


def _now() -> datetime:
    return datetime.now(UTC)


def read_password(password_file: Path | None) -> str:
    if password_file is not None:
        try:
            lines = password_file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise fail(f"--password-file {password_file}: {exc.strerror}", 2) from exc
        if not lines or not lines[0]:
            raise fail(f"--password-file {password_file}: its first line is empty", 2)
        return lines[0]
    first = typer.prompt("Password", hide_input=True)
    if typer.prompt("Repeat the password", hide_input=True) != first:
        raise fail("the two passwords differ; nothing was changed", 2)
    return str(first)


@accounts_app.command("create")
def create(
    ctx: typer.Context,
    name: NameArg,
    role: RoleOpt = "viewer",
    password_file: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Read the password from this file's first line."),
    ] = None,
) -> None:
    """An account that signs in with a password (asked at a prompt)."""
    from archive.accounts import create_account

    runtime = get_runtime(ctx)
    password = read_password(password_file)
    try:
        with runtime.sessions.begin() as session:
            create_account(session, cli_actor(), name, role, password, now=_now())
    except PresswatchError as exc:
        raise fail(str(exc), 2) from exc
    _ = translations(runtime.settings.lang).gettext
    said = _("account %(name)s created (%(role)s)")
    typer.echo(said % {"name": name, "role": _role(role, runtime.settings.lang)})


def _role(role: str, lang: str) -> str:
    """A role in words; in English the code `--role` takes."""
    return role if lang == "en" else words_for(role, translations(lang).gettext)


@accounts_app.command("invite")
def invite(ctx: typer.Context, name: NameArg, role: RoleOpt = "viewer") -> None:
    """An account whose person sets their own password with a one-time code (7 days)."""
    from archive.accounts import invite_account

    runtime = get_runtime(ctx)
    try:
        with runtime.sessions.begin() as session:
            made = invite_account(session, cli_actor(), name, role, now=_now())
            secret, expires = made.secret, made.expires_at
    except PresswatchError as exc:
        raise fail(str(exc), 2) from exc
    base = (runtime.settings.public_url or "").rstrip("/")
    _ = translations(runtime.settings.lang).gettext
    said = _(
        "account %(name)s invited (%(role)s): send them the page %(page)s and this "
        "one-time code (shown only now; never part of a URL, so no server log keeps it):"
    )
    values = {"name": name, "role": _role(role, runtime.settings.lang), "page": f"{base}/invite"}
    typer.echo(said % values, err=True)
    typer.echo(secret)
    until = expires.isoformat(timespec="seconds")
    typer.echo(_("the code works once, until %(when)s") % {"when": until}, err=True)


@accounts_app.command("list")
def list_(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Accounts with their roles; never a password or a token."""
    from archive.accounts import account_json, list_accounts

    runtime = get_runtime(ctx)
    with runtime.read_sessions() as session:
        rows = [account_json(a) for a in list_accounts(session)]
    if as_json:
        echo_json({"data": rows, "count": len(rows)})
        return
    _ = translations(runtime.settings.lang).gettext
    for row in rows:
        if row["disabled"]:
            state = _("disabled")
        else:
            state = _("invited") if row["invited"] else _("active")
        # The role in words; in English the code `accounts role` takes.
        role = _role(row["role"], runtime.settings.lang)
        typer.echo(f"{row['name']}\t{role}\t{state}")


@accounts_app.command("disable")
def disable(ctx: typer.Context, name: NameArg) -> None:
    """Disable an account: its sessions end and its tokens stop working at once."""
    from archive.accounts import disable_account

    runtime = get_runtime(ctx)
    try:
        with runtime.sessions.begin() as session:
            disable_account(session, cli_actor(), name, now=_now())
    except PresswatchError as exc:
        raise fail(str(exc)) from exc
    _ = translations(runtime.settings.lang).gettext
    typer.echo(_("account %(name)s disabled") % {"name": name})


@accounts_app.command("role")
def role(ctx: typer.Context, name: NameArg, role: RoleOpt) -> None:
    """Change an account's role."""
    from archive.accounts import set_role

    runtime = get_runtime(ctx)
    try:
        with runtime.sessions.begin() as session:
            set_role(session, cli_actor(), name, role, now=_now())
    except PresswatchError as exc:
        raise fail(str(exc), 2) from exc
    _ = translations(runtime.settings.lang).gettext
    said = _("account %(name)s is now %(role)s")
    typer.echo(said % {"name": name, "role": _role(role, runtime.settings.lang)})


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    name: NameArg,
    label: Annotated[
        str, typer.Option("--name", metavar="LABEL", help="What the token is for.")
    ] = "script",
) -> None:
    """A new API token for the account, printed once (send it as `Authorization: Bearer`)."""
    from archive.accounts import create_token

    runtime = get_runtime(ctx)
    try:
        with runtime.sessions.begin() as session:
            made = create_token(session, cli_actor(), name, label, now=_now())
            token, token_id = made.token, made.row.id
    except PresswatchError as exc:
        raise fail(str(exc), 2) from exc
    _ = translations(runtime.settings.lang).gettext
    said = _("token %(id)s for %(name)s (%(label)s); shown only now, keep it secret:")
    typer.echo(said % {"id": token_id, "name": name, "label": label}, err=True)
    typer.echo(token)


@token_app.command("revoke")
def token_revoke(
    ctx: typer.Context,
    token_id: Annotated[int, typer.Argument(metavar="ID", help="The token's id (token list).")],
) -> None:
    """Revoke a token: it is refused from now on."""
    from archive.accounts import revoke_token

    runtime = get_runtime(ctx)
    try:
        with runtime.sessions.begin() as session:
            revoke_token(session, cli_actor(), token_id, now=_now())
    except PresswatchError as exc:
        raise fail(str(exc)) from exc
    _ = translations(runtime.settings.lang).gettext
    typer.echo(_("token %(id)s revoked") % {"id": token_id})


@token_app.command("list")
def token_list(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Argument(metavar="[NAME]", help="Only this account's.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Tokens with their prefix, creation, last use and revocation; never the token."""
    from archive.accounts import list_tokens, token_json

    runtime = get_runtime(ctx)
    with runtime.read_sessions() as session:
        rows = [token_json(t, n) for t, n in list_tokens(session, name)]
    if as_json:
        echo_json({"data": rows, "count": len(rows)})
        return
    _ = translations(runtime.settings.lang).gettext
    for row in rows:
        revoked = _("revoked %(when)s") % {"when": row["revoked_at"]}
        state = revoked if row["revoked_at"] else _("active")
        used = row["last_used_at"] or _("never used")
        typer.echo(
            f"{row['id']}\t{row['account']}\t{row['name']}\t{row['prefix']}…\t{used}\t{state}"
        )


def register(app: typer.Typer) -> None:
    """Add `accounts …` to the main app."""
    app.add_typer(accounts_app, name="accounts")
