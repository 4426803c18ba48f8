"""`presswatch case …` and `presswatch export case`: case files, named sets of articles
with tags and notes, and their evidence package.

Changes are recorded as audit entries (leaves of the transparency log) in the name of
`--as ACCOUNT` (an editor or admin), or of `cli:USER` when none is given.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from archive.errors import ConfigError, NotFound, PresswatchError
from archive.i18n import translations
from presswatch.commands.common import (
    JsonOpt,
    check_output_file,
    cli_actor,
    echo_json,
    fail,
    get_runtime,
    shown,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from archive.accounts import Actor

case_app = typer.Typer(
    help="Case files: named sets of articles with tags and notes.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
CaseArg = Annotated[str, typer.Argument(metavar="NAME", help="The case's name.")]
AsOpt = Annotated[
    str | None, typer.Option("--as", metavar="ACCOUNT", help="Record the change as this account.")
]


def _actor(session: Session, name: str | None) -> Actor:
    from archive.accounts import account_by_name, actor_of

    if name is None:
        return cli_actor()
    return actor_of(account_by_name(session, name))


@case_app.command("add")
def add(
    ctx: typer.Context,
    name: CaseArg,
    articles: Annotated[list[str], typer.Argument(metavar="URL_OR_ID...", help="Articles to add.")],
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", metavar="TAG", help="Tag (repeatable).")
    ] = None,
    as_account: AsOpt = None,
) -> None:
    """Add articles to a case (made if new), with tags."""
    from archive.accounts import add_to_case

    runtime = get_runtime(ctx)
    now = datetime.now(UTC)
    try:
        with runtime.sessions.begin() as session:
            actor = _actor(session, as_account)
            for article in articles:
                add_to_case(session, actor, name, article, tags=list(tag or []), now=now)
    except NotFound as exc:
        raise fail(str(exc)) from exc
    except PresswatchError as exc:
        raise fail(str(exc), 2) from exc
    _ = translations(runtime.settings.lang).gettext
    typer.echo(_("case %(name)s: %(n)s article(s) added") % {"name": name, "n": len(articles)})


@case_app.command("note")
def note(
    ctx: typer.Context,
    name: CaseArg,
    text: Annotated[str, typer.Argument(metavar="TEXT", help="The note.")],
    article: Annotated[
        str | None, typer.Option(metavar="URL_OR_ID", help="The article it is about.")
    ] = None,
    as_account: AsOpt = None,
) -> None:
    """Add a note to a case (about one of its articles, or the whole case)."""
    from archive.accounts import add_note

    runtime = get_runtime(ctx)
    try:
        with runtime.sessions.begin() as session:
            made = add_note(
                session,
                _actor(session, as_account),
                name,
                text,
                url_or_id=article,
                now=datetime.now(UTC),
            )
            note_id = made.id
    except NotFound as exc:
        raise fail(str(exc)) from exc
    except PresswatchError as exc:
        raise fail(str(exc), 2) from exc
    _ = translations(runtime.settings.lang).gettext
    typer.echo(_("case %(name)s: note %(id)s added") % {"name": name, "id": note_id})


@case_app.command("list")
def list_(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Case files with their counts of articles and notes."""
    from archive.accounts import case_json, list_cases

    runtime = get_runtime(ctx)
    with runtime.read_sessions() as session:
        rows = [case_json(session, c, full=False) for c in list_cases(session)]
    if as_json:
        echo_json({"data": rows, "count": len(rows)})
        return
    _ = translations(runtime.settings.lang).gettext
    for row in rows:
        articles = _("%(n)s articles") % {"n": row["articles"]}
        notes = _("%(n)s notes") % {"n": row["notes"]}
        typer.echo(f"{row['name']}\t{articles}\t{notes}")


@case_app.command("show")
def show(ctx: typer.Context, name: CaseArg, as_json: JsonOpt = False) -> None:
    """A case's articles, tags and notes."""
    from archive.accounts import case_by_name, case_json

    runtime = get_runtime(ctx)
    with runtime.read_sessions() as session:
        try:
            data = case_json(session, case_by_name(session, name))
        except NotFound as exc:
            raise fail(str(exc)) from exc
    if as_json:
        echo_json(data)
        return
    _print_case(data, runtime.settings.lang)


def _print_case(data: dict[str, Any], lang: str) -> None:
    """A case for a person, in `lang`: in English the statuses stay codes (as in
    `articles`); tags, notes, names and addresses are what people wrote or we archived."""
    from archive.i18n import label

    _ = translations(lang).gettext
    said = _("case %(name)s (made %(when)s by %(who)s)")
    typer.echo(said % {"name": data["name"], "when": data["created_at"], "who": data["created_by"]})
    for item in data["articles"]:
        tags = ", ".join(item["tags"])
        status = item["status"] if lang == "en" else label(item["status"], _)
        said = _("article %(id)s %(status)s %(url)s [%(tags)s]") % {
            "id": item["article_id"],
            "status": status,
            "url": shown(item["url"]),
            "tags": tags,
        }
        typer.echo(f"  {said}")
    for item in data["notes"]:
        values = {
            "id": item["id"],
            "who": item["author"],
            "article": item["article_id"],
            "text": shown(item["text"]),
        }
        if item["article_id"]:
            said = _("note %(id)s by %(who)s on article %(article)s: %(text)s") % values
        else:
            said = _("note %(id)s by %(who)s: %(text)s") % values
        typer.echo(f"  {said}")


def export_case(
    ctx: typer.Context,
    name: CaseArg,
    output: Annotated[
        Path, typer.Option("--output", "-o", metavar="FILE.wacz", help="Where to write it.")
    ],
    as_account: AsOpt = None,
) -> None:
    """One evidence package of the case: every article's records, versions, diffs and
    events, the notes and the audit entries, each with its inclusion proof under a
    signed checkpoint. Check it with `python -m presswatch.verify_package FILE.wacz
    --public-key presswatch-log.pub`."""
    from archive.formats import export_case_package

    check_output_file(output)
    runtime = get_runtime(ctx)
    try:
        signer = runtime.log_signer()
    except ConfigError as exc:
        raise fail(str(exc), 2) from exc
    try:
        with runtime.sessions() as session:
            actor = _actor(session, as_account)
        summary = export_case_package(
            runtime.sessions,
            runtime.settings.warc_dir,
            output,
            name=name,
            actor=actor,
            signer=signer,
            now=datetime.now(UTC),
            timestamp=runtime.timestamper(),
        )
    except NotFound as exc:
        raise fail(str(exc)) from exc
    except PresswatchError as exc:
        raise fail(f"export case: {exc}") from exc
    _ = translations(runtime.settings.lang).gettext
    said = _(
        "wrote %(file)s: case %(name)s, %(articles)s articles, %(notes)s notes, "
        "%(entries)s audit entries, proven against the checkpoint of %(leaves)s leaves"
    )
    typer.echo(
        said
        % {
            "file": output,
            "name": name,
            "articles": summary.articles,
            "notes": summary.notes,
            "entries": summary.audit_entries,
            "leaves": summary.tree_size,
        }
    )


def register(app: typer.Typer, export_app: typer.Typer) -> None:
    """Add `case …` to the main app and `case` to `export`."""
    app.add_typer(case_app, name="case")
    export_app.command("case")(export_case)
