"""`presswatch case …` and `presswatch export case`: case files, named sets of articles
with tags and notes, and their evidence package.

Changes are recorded as audit entries (leaves of the transparency log) in the name of
`--as ACCOUNT` (an editor or admin), or of `cli:USER` when none is given.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from archive.errors import ConfigError, NotFound, PresswatchError
from presswatch.commands.common import JsonOpt, cli_actor, echo_json, fail, get_runtime, shown

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
    typer.echo(f"case {name}: {len(articles)} article(s) added")


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
    typer.echo(f"case {name}: note {note_id} added")


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
    for row in rows:
        typer.echo(f"{row['name']}\t{row['articles']} articles\t{row['notes']} notes")


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
    typer.echo(f"case {data['name']} (made {data['created_at']} by {data['created_by']})")
    for item in data["articles"]:
        tags = ", ".join(item["tags"])
        typer.echo(f"  article {item['article_id']} {item['status']} {shown(item['url'])} [{tags}]")
    for item in data["notes"]:
        about = f" on article {item['article_id']}" if item["article_id"] else ""
        typer.echo(f"  note {item['id']} by {item['author']}{about}: {shown(item['text'])}")


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

    if not output.parent.is_dir():
        raise fail(f"-o {output}: no directory {output.parent}; create it first", 2)
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
    typer.echo(
        f"wrote {output}: case {name}, {summary.articles} articles, {summary.notes} notes, "
        f"{summary.audit_entries} audit entries, proven against the checkpoint of "
        f"{summary.tree_size} leaves"
    )


def register(app: typer.Typer, export_app: typer.Typer) -> None:
    """Add `case …` to the main app and `case` to `export`."""
    app.add_typer(case_app, name="case")
    export_app.command("case")(export_case)
