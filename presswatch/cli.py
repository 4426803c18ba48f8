"""The `presswatch` command line (Typer): the composition root of the commands.

Builds the app and its global options, then hands the app to each command module
(`presswatch/commands/`: accounts, archive, backfill, cases, crawl, export, notify,
report, search, serve, status, tlog), as Typer's "one file per command" does. Command
modules never import this one; what they share lives in `presswatch.commands.common`.

A command line starts at once: building the app imports Typer and the command modules,
nothing more, since `--help` and every usage error build all of it. Each command
imports the archive, SQLAlchemy, Scrapy, the search backends or FastAPI when it runs
(`python -m benchmarks cli` measures the start; test_cli_usability checks the imports).

`--json` prints one JSON document on stdout; logs and diagnostics go to stderr.
Exit codes: 0 ok, 1 a problem found or an operation failed, 2 bad usage or config.
"""

from __future__ import annotations

import errno
import logging
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from archive.errors import ConfigError, PresswatchError
from presswatch.commands import accounts as accounts_commands
from presswatch.commands import archive as archive_commands
from presswatch.commands import backfill as backfill_commands
from presswatch.commands import cases as case_commands
from presswatch.commands import crawl as crawl_commands
from presswatch.commands import export as export_commands
from presswatch.commands import notify as notify_commands
from presswatch.commands import report as report_commands
from presswatch.commands import save as save_commands
from presswatch.commands import search as search_commands
from presswatch.commands import serve as serve_commands
from presswatch.commands import status as status_commands
from presswatch.commands import tlog as tlog_commands

# The global options of this invocation, for `main` to find the log file after a crash.
_invocation: dict[str, object] = {}

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
    # alembic names each of its plugins at INFO when first imported, which a command
    # now does after this point (see above): noise under --verbose, never shown before.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    ctx.obj = {"data_dir": data_dir, "sources": sources, "database_url": database_url}
    _invocation.clear()
    _invocation.update(ctx.obj, verbose=verbose)


accounts_commands.register(app)
archive_commands.register(app)
backfill_commands.register(app)
case_commands.register(app, export_commands.export_app)
crawl_commands.register(app)
export_commands.register(app)
notify_commands.register(app)
report_commands.register(app)
save_commands.register(app)
search_commands.register(app)
serve_commands.register(app)
status_commands.register(app)
tlog_commands.register(app)


_OS_HINTS = {
    errno.EACCES: "fix the permissions, or choose another --data-dir (PRESSWATCH_DATA_DIR)",
    errno.EPERM: "fix the permissions, or choose another --data-dir (PRESSWATCH_DATA_DIR)",
    errno.EROFS: "the file system is read-only: choose another --data-dir",
    errno.ENOSPC: "the disk is full: free some space and run the command again",
    errno.ENOENT: "check the path",
    errno.ENOTDIR: "a path component is a file, not a directory: check --data-dir",
}


def _os_error_line(exc: OSError) -> str:
    where = f" {exc.filename}" if exc.filename else ""
    reason = exc.strerror or str(exc)
    hint = _OS_HINTS.get(exc.errno or 0, "check the file or directory named")
    return f"cannot use{where}: {reason}; {hint}"


def _database_error_line(exc: Exception) -> str:
    """One line from a driver error (SQLAlchemy wraps it; its message spans lines)."""
    orig = getattr(exc, "orig", None) or exc
    first = (str(orig).strip().splitlines() or [exc.__class__.__name__])[0]
    return (
        f"the archive database failed: {first}; check DATABASE_URL ({_database_named()}), "
        "that the server is up and answers, and that the disk is not full"
    )


def _database_named() -> str:
    """The archive database of this invocation, without its password."""
    try:
        from archive.store import describe_database
        from presswatch.settings import load_settings

        overrides = {k: v for k, v in _invocation.items() if k != "verbose"}
        return describe_database(load_settings(**overrides).resolved_database_url)
    except Exception:  # noqa: BLE001 - naming it must not hide the failure being reported
        return "or the SQLite file in the data dir"


def _log_crash(exc: BaseException) -> Path | None:
    """Append the traceback to the data dir's log file; its path, or None if unwritable."""
    try:
        from presswatch.settings import load_settings

        overrides = {k: v for k, v in _invocation.items() if k != "verbose"}
        log_file = load_settings(**overrides).log_dir / "presswatch.log"
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(log_file, "a", encoding="utf-8") as out:
            out.write(f"{datetime.now(UTC).isoformat(timespec='seconds')} CRASH ")
            out.write("".join(traceback.format_exception(exc)))
    except Exception:  # noqa: BLE001 - reporting a crash must not raise another one
        return None
    return log_file


def main() -> None:
    """Console entry point: turn errors into one line and an exit code, never a
    traceback. Ours (`PresswatchError`) and the operator's (files, disk, database) say
    what to fix; anything else is a bug: one line naming the log file that has its
    traceback (printed here too with --verbose)."""
    try:
        app()
    except ConfigError as exc:
        typer.echo(f"presswatch: {exc}", err=True)
        sys.exit(2)
    except PresswatchError as exc:
        typer.echo(f"presswatch: {exc}", err=True)
        sys.exit(1)
    except OSError as exc:
        typer.echo(f"presswatch: {_os_error_line(exc)}", err=True)
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - the CLI boundary: one line, traceback logged
        # The driver's and alembic's errors are imported only now, when something
        # failed: importing them up front (SQLAlchemy, alembic) slowed every start.
        from alembic.util import CommandError
        from sqlalchemy.exc import DBAPIError, OperationalError

        if isinstance(exc, (OperationalError, DBAPIError)):
            typer.echo(f"presswatch: {_database_error_line(exc)}", err=True)
            sys.exit(1)
        if isinstance(exc, CommandError):  # alembic: a migration could not run
            typer.echo(f"presswatch: the database migration failed: {exc}", err=True)
            sys.exit(1)
        log_file = _log_crash(exc)
        where = f"the traceback is in {log_file}" if log_file else "run with --verbose"
        typer.echo(
            f"presswatch: unexpected error ({exc.__class__.__name__}: {exc}); {where}; "
            "please report it",
            err=True,
        )
        if _invocation.get("verbose"):
            traceback.print_exception(exc, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
