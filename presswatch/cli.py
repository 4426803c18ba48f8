"""The `presswatch` command line (Typer): the composition root of the commands.

Builds the app and its global options, then hands the app to each command module
(`presswatch/commands/`: archive, crawl, search, serve), as Typer's "one file per
command" does. Command modules never import this one; what they share lives in
`presswatch.commands.common`.

`--json` prints one JSON document on stdout; logs and diagnostics go to stderr.
Exit codes: 0 ok, 1 a problem found or an operation failed, 2 bad usage or config.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from archive import ConfigError, PresswatchError
from presswatch.commands import archive as archive_commands
from presswatch.commands import crawl as crawl_commands
from presswatch.commands import search as search_commands
from presswatch.commands import serve as serve_commands

app = typer.Typer(
    name="presswatch",
    help="Archive news coverage, detect edits and takedowns, prove what was published.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def main_options(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option(metavar="DIR", help="Data directory (env PRESSWATCH_DATA_DIR)."),
    ] = None,
    sources: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="sources.toml to use (env PRESSWATCH_SOURCES)."),
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(metavar="URL", help="Archive database URL (env DATABASE_URL).")
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", metavar="", help="Log to stderr.")
    ] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    ctx.obj = {"data_dir": data_dir, "sources": sources, "database_url": database_url}


archive_commands.register(app)
crawl_commands.register(app)
search_commands.register(app)
serve_commands.register(app)


def main() -> None:
    """Console entry point: turn our errors into exit codes, never tracebacks."""
    try:
        app()
    except ConfigError as exc:
        typer.echo(f"presswatch: {exc}", err=True)
        sys.exit(2)
    except PresswatchError as exc:
        typer.echo(f"presswatch: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
