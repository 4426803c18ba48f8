"""What every command module shares: option types, printing, errors, and the Runtime
built from the global options. A leaf: it imports no command module and not
`presswatch.cli`, so each command module can import it (Typer's "one file per command").

Printing follows the CLI rules: `--json` writes one JSON document on stdout, diagnostics
go to stderr. Exit codes: 0 ok, 1 a problem found or an operation failed, 2 bad usage or
config.
"""

from __future__ import annotations

import errno
import getpass
import json
import logging
import socket
import sys
import time
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from archive.errors import ConfigError
from presswatch.lock import Holder, LockHeld, RunLock

if TYPE_CHECKING:
    from pathlib import Path

    from archive.accounts import Actor
    from presswatch.runtime import Runtime

# Metavars name what a value looks like; flags show none (Typer would print `<bool>`).
JsonOpt = Annotated[
    bool, typer.Option("--json", metavar="", help="Print one JSON document on stdout.")
]
SourceOpt = Annotated[
    list[str] | None,
    typer.Option("--source", "-s", metavar="NAME", help="Only this source (repeatable)."),
]
LimitOpt = Annotated[int | None, typer.Option(min=1, metavar="N", help="At most this many.")]
ISO_DATE = "ISO-DATE"
ISO_HINT = "use ISO 8601, e.g. 2026-03-01 or 2026-03-01T08:00Z"


# Characters an outlet or an archive could use to forge or hide lines on a terminal:
# controls (line breaks, escape sequences), bidi overrides, line separators. Zero-width
# joiners and spaces stay: Khmer text needs them.
_TERMINAL_UNSAFE = ("Cc", "Zl", "Zp")
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def shown(text: object) -> str:
    """Archive-supplied text made safe for one terminal or report line: every control
    character, line break or bidi override spelled as its escape (`\\n`, `\\x1b`)."""
    value = str(text)
    if not any(unicodedata.category(ch) in _TERMINAL_UNSAFE or ch in _BIDI for ch in value):
        return value
    return "".join(
        ch.encode("unicode_escape").decode("ascii")
        if unicodedata.category(ch) in _TERMINAL_UNSAFE or ch in _BIDI
        else ch
        for ch in value
    )


def echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error on stderr and return the Exit to raise."""
    typer.echo(f"presswatch: {message}", err=True)
    return typer.Exit(code)


def config_exit(exc: ConfigError) -> typer.Exit:
    """A configuration error: its message on stderr, exit 2."""
    return fail(str(exc), 2)


def get_runtime(
    ctx: typer.Context, *, initialized: bool = True, ride_out_outage: bool = False
) -> Runtime:
    """Settings (flags > env > presswatch.toml > defaults) and the parts built on them.

    With `initialized` the archive must exist: otherwise exit 2 with "run `presswatch
    init` first", creating no file (a command that only reads never creates the data
    dir or the database). With `ride_out_outage` (the crawls cron starts), a database
    server that does not answer is waited for, as during a crawl (`wait_for_database`).
    The Runtime closes when the command ends."""
    # Here, not at the top: the Runtime brings SQLAlchemy and the archive, which `--help`
    # and a usage error must not wait for.
    from presswatch.runtime import Runtime
    from presswatch.settings import load_settings

    overrides = dict(ctx.find_root().obj or {})
    try:
        runtime = Runtime(load_settings(**overrides))
    except ConfigError as exc:
        raise config_exit(exc) from exc
    ctx.call_on_close(runtime.close)
    if initialized:
        try:
            if ride_out_outage:
                wait_for_database(runtime)
            runtime.require_initialized()
        except ConfigError as exc:
            raise config_exit(exc) from exc
    return runtime


def wait_for_database(runtime: Runtime) -> None:
    """A database server restarting just as cron starts a crawl is the outage a crawl
    rides out (`database_outage_s`, asked every second), not a failed run: `python -m
    benchmarks faults` on a loaded machine saw a `run` exit 1 at its first query while
    PostgreSQL came back. Past the budget, the crawl's one line naming the database.
    An SQLite file answers or fails at once: nothing to wait for."""
    from sqlalchemy.exc import OperationalError

    from crawler.recording import OUTAGE_PROBE_S, OutageSpell
    from presswatch.runtime import sqlite_file

    if sqlite_file(runtime.settings.resolved_database_url) is not None:
        return
    if runtime.settings.data_dir.is_dir():
        from presswatch.crawling.logfile import setup_crawl_logging

        setup_crawl_logging(runtime.settings)  # the wait is the crawl's: logged, not mailed
    spell = OutageSpell(runtime.sessions, runtime.settings.database_outage_s)
    while True:
        try:
            with runtime.engine.connect():
                return
        except OperationalError as exc:
            spell.failed(exc, "starting once it does, waiting up to")
            time.sleep(OUTAGE_PROBE_S)


@contextmanager
def archive_lock(runtime: Runtime, command: str) -> Iterator[RunLock]:
    """Hold the archive's lock for a command a person types (crawl, recheck, import,
    reindex, init): wait up to `lock_wait_s` for the holder to finish, then exit 1 with
    one line naming it (pid, host, command, since when). `run` (cron) does not wait: see
    `presswatch.lock.judge_busy_run`."""
    name = f"presswatch {command}"
    lock = RunLock(runtime.settings.lock_path, name)
    wait_s = runtime.settings.lock_wait_s

    def tell(holder: Holder) -> None:
        held_by = holder.describe()
        line = f"{name}: waiting up to {wait_s:g}s for the archive's lock, held by {held_by}"
        if sys.stderr.isatty():
            typer.echo(line, err=True)
        else:
            logging.getLogger(__name__).info("%s", line)

    try:
        lock.wait(wait_s, on_wait=tell)
    except LockHeld as exc:
        raise fail(
            f"{command}: the archive is busy: {exc.path} is held by {exc.holder.describe()}; "
            f"gave up after {wait_s:g}s (lock_wait_s): try again when it has finished"
        ) from None
    try:
        yield lock
    finally:
        lock.release()


def refuse_unknown_sources(given: Sequence[str] | None, known: Iterable[str]) -> None:
    """Exit 2 when a `--source` names no source in `known`, listing the known ones
    (`archive.check_source_names` words it): every command taking `--source` calls this,
    so a typo never reads as "nothing happened"."""
    from archive.errors import BadInput
    from archive.store import check_source_names

    try:
        check_source_names(given or (), known)
    except BadInput as exc:
        raise fail(f"--source: {exc}", 2) from None


def archived_source_names(runtime: Runtime, session: Any) -> set[str]:
    """The sources a reading command may name: those in the archive, and those of
    sources.toml not yet crawled (their answer is rightly empty)."""
    from archive.store import source_names
    from presswatch.sources import load_sources

    names = set(source_names(session).values())
    # No or a broken sources.toml: a reading command still reads the archive.
    with suppress(ConfigError, OSError):
        names |= {s.name for s in load_sources(runtime.settings.sources).source}
    return names


def port_problem(host: str, port: int) -> str | None:
    """Why uvicorn could not listen on host:port, or None when it can. Checked before
    starting: uvicorn reports a busy port with exit code 3 and a bare traceback-free
    log line, which tells a newcomer nothing about `--port`. Shared by `serve` and
    `demo --serve`."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"cannot listen on {host}: {exc.strerror}"
    for family, kind, proto, _name, address in infos:
        with socket.socket(family, kind, proto) as probe:
            # As uvicorn binds: SO_REUSEADDR, so only a listening socket is "in use".
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return f"port {port} on {host} is in use: pass --port"
                return f"cannot listen on {host} port {port}: {exc.strerror}"
    return None


def parse_iso_option(option: str, value: str | None) -> datetime | None:
    """An ISO 8601 date or datetime given to `option`; naive values are UTC."""
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
        # Stored times are UTC: a time UTC cannot hold (9999-12-31T23:59-01:00) is bad
        # usage here, not a crash further down.
        return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    except (ValueError, OverflowError) as exc:
        raise fail(f"{option} {value!r}: {ISO_HINT}", 2) from exc


def check_output_file(output: Path) -> None:
    """Refuse an `-o` package path whose directory is missing, or that is a directory,
    before any work (exit 2)."""
    if not output.parent.is_dir():
        raise fail(f"-o {output}: no directory {output.parent}; create it first", 2)
    if output.is_dir():
        raise fail(f"-o {output} is a directory; name the .wacz file to write", 2)


def cli_actor() -> Actor:
    """Who a command run on the server is in the audit log: `cli:USER`, the operating-
    system user, with the admin role (whoever runs it can read the database anyway)."""
    from archive.accounts import Actor, Role

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Actor(f"cli:{user}"[:80], Role.ADMIN)
