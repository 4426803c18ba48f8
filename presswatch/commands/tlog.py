"""`presswatch verify` and `presswatch checkpoint`: the transparency log's two sides.

`checkpoint` signs the log's current head (a C2SP tlog-checkpoint note, docs/evidence.md)
and stores it; publish its output somewhere the operator does not control. `verify`
rebuilds every leaf and the tree and checks them against the newest stored checkpoint
and against any earlier published checkpoint given with `--against`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from archive.errors import ConfigError
from archive.i18n import translations
from presswatch.commands.common import JsonOpt, config_exit, echo_json, fail, get_runtime

AgainstOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--against",
        metavar="FILE",
        help="A checkpoint published earlier (the text `presswatch checkpoint` printed): "
        "today's log must extend it. Repeatable.",
    ),
]
KeyOpt = Annotated[
    str | None,
    typer.Option(
        "--key",
        metavar="VKEY",
        help="The log's published verifier key (name+id+key), or the file `presswatch "
        "checkpoint --public-key` wrote, to check signatures with; default: the key "
        "file's own.",
    ),
]


def verify(
    ctx: typer.Context,
    against: AgainstOpt = None,
    key: KeyOpt = None,
    no_signature: Annotated[
        bool,
        typer.Option(
            "--no-signature",
            help="Check everything but checkpoint signatures (no key file here and no "
            "--key): without it, a verify that cannot check signatures exits 1.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check every capture's leaf against its rows and WARC bytes, the tree against the
    log head and the newest signed checkpoint, and consistency with --against FILE.

    Prints "ok: N captures, M versions checked" on success; exit 1 naming
    each capture and field that fails, or when no key was usable to check the
    checkpoints' signatures (unless --no-signature)."""
    from archive.log import NoteError, read_key_file, verify_archive

    runtime = get_runtime(ctx)
    texts = []
    for path in against or []:
        try:
            texts.append(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise fail(f"cannot read the checkpoint {path}: {exc}", 2) from exc
    unusable = None
    if key is not None and Path(key).is_file():
        try:  # the file `checkpoint --public-key` wrote, in any of its forms
            key = read_key_file(Path(key).read_text(encoding="utf-8"), runtime.settings.log_origin)
        except (OSError, UnicodeDecodeError, NoteError) as exc:
            raise fail(f"cannot read the key {key}: {exc}", 2) from exc
    if key is None and not no_signature:
        try:
            key = runtime.log_signer().verifier_key
        except ConfigError as exc:
            unusable = str(exc)  # no key file here, or one others can read
    elif no_signature:
        key = None
    with runtime.read_sessions() as session:
        report = verify_archive(session, runtime.warc, public_key=key, against=texts)
    if key is None:
        report = report.signatures_unchecked(
            None
            if no_signature
            else f"signatures not checked: {unusable}; give the published key with --key "
            "VKEY, or --no-signature to check everything else"
        )
    if as_json:
        echo_json(report.as_json())
    elif report.ok:
        # The summary in the `lang` setting; in English "ok: …" as cron mails and
        # scripts know it.
        _ = translations(runtime.settings.lang).gettext
        counts = {
            "captures": f"{report.captures_checked:,}",
            "versions": f"{report.versions_checked:,}",
        }
        if report.signatures_checked:
            said = _("ok: %(captures)s captures, %(versions)s versions checked")
        else:
            said = _(
                "ok: %(captures)s captures, %(versions)s versions checked; "
                "signatures NOT checked (--no-signature)"
            )
        typer.echo(said % counts)
    else:
        # Each problem names a field and what is wrong with it: for whoever repairs
        # the archive, in English (as every error); the count in the `lang` setting.
        _ = translations(runtime.settings.lang).gettext
        for p in report.problems:
            where = f"capture {p.capture_id}" if p.capture_id is not None else "log"
            typer.echo(f"{where}: {p.field}: {p.problem}", err=True)
        said = _("verify: %(n)s problem(s); %(captures)s captures, %(versions)s versions checked")
        counts = {
            "n": len(report.problems),
            "captures": report.captures_checked,
            "versions": report.versions_checked,
        }
        typer.echo(said % counts, err=True)
    if not report.ok:
        raise typer.Exit(1)


def checkpoint(
    ctx: typer.Context,
    public_key: Annotated[
        bool,
        typer.Option(
            "--public-key",
            help="Print the log's verifier key and public key (PEM) instead; signs nothing.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Sign the log's current head, store it and print it (a C2SP tlog-checkpoint
    signed note), with an RFC 3161 timestamp when tsa_url is set. Publish it: `verify
    --against` it later proves nothing was cut or rewritten since."""
    from archive.log import TimestampError, checkpoint_json, issue_checkpoint

    runtime = get_runtime(ctx)
    try:
        signer = runtime.log_signer()
    except ConfigError as exc:
        raise config_exit(exc) from exc
    if public_key:
        if as_json:
            echo_json(
                {
                    "origin": signer.name,
                    "verifier_key": signer.verifier_key,
                    "pem": signer.public_pem(),
                }
            )
        else:
            typer.echo(signer.verifier_key)
            typer.echo(signer.public_pem(), nl=False)
        return
    try:
        stored = issue_checkpoint(
            runtime.sessions,
            signer,
            timestamp=runtime.timestamper(),
        )
    except TimestampError as exc:
        raise fail(f"{exc}; no checkpoint stored") from exc
    shown = checkpoint_json(stored)
    if as_json:
        echo_json(shown)
    else:
        typer.echo(shown["note"], nl=False)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.command("verify")(verify)
    app.command("checkpoint")(checkpoint)
