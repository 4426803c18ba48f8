"""Engines, sessions and migrations for the archive database.

SQLite (default) runs in WAL mode with a busy timeout, and every write transaction
starts with `BEGIN IMMEDIATE` so a second writer waits for the lock instead of failing
half way (as datasette does); read-only sessions begin deferred and never block one.
PostgreSQL connections are bounded in time at the client when the server goes silent:
TCP keepalives and `tcp_user_timeout` in the connect arguments, and a guard on every
round trip that has no answer for `stall_s` (archive/store/stall.py). Migrations are
Alembic's, run programmatically so `presswatch init` needs no alembic.ini.

Upgrades are safe to run unattended: a database stamped with a revision this code does
not know (written by a newer Presswatch) is refused with `SchemaTooNew` before anything
is read or written, and an existing SQLite file is copied with SQLite's online backup
API before a migration touches it. PostgreSQL is backed up by the operator (`pg_dump`,
docs/operations.md).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from archive.errors import SchemaTooNew, StorageError
from archive.store.stall import StallGuard, pg_probe

MIGRATIONS_DIR = Path(__file__).parent.parent / "migrations"
SQLITE_BUSY_TIMEOUT_S = 30
# PostgreSQL: seconds to open a connection; the setting database_connect_timeout_s
# overrides it.
CONNECT_TIMEOUT_S = 10
# A round trip with no answer for this long is looked into (stall.py); the setting
# database_stall_s overrides it.
DEFAULT_STALL_S = 30.0
# libpq's TCP settings for every PostgreSQL connection, unless the URL names them. An
# idle connection whose peer vanished (no RST: a crashed machine, a NAT that dropped
# its mapping) is probed after 30 s of silence, every 10 s, and dropped once a probe
# is not ACKed (tcp_user_timeout then decides, about 40 s in all); data sent and not
# ACKed for 30 s ends the connection too. Neither helps when something between still
# ACKs (a proxy): the stall guard covers that.
TCP_CONNECT_ARGS: dict[str, int] = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,  # milliseconds
}
READONLY_OPTION = "presswatch_readonly"


def make_engine(
    url: str,
    *,
    echo: bool = False,
    stall_s: float = DEFAULT_STALL_S,
    connect_timeout_s: int = CONNECT_TIMEOUT_S,
) -> Engine:
    """Create an engine for `url`, configured for safe concurrent writes. On PostgreSQL a
    connect is bounded to `connect_timeout_s` (unless the URL names `connect_timeout`),
    and a round trip with no answer for `stall_s` seconds is looked into and, unless
    the server is running it, cut (module docstring)."""
    if url.startswith("sqlite"):
        db_path = url.split("///", 1)[-1]
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
        )
        _configure_sqlite(engine)
        return engine
    # A server that drops packets would hold a connect forever: bounded, unless the URL
    # says otherwise (a crawl waits out an outage itself, crawler.recording).
    defaults = {"connect_timeout": connect_timeout_s, **TCP_CONNECT_ARGS}
    connect_args = {k: v for k, v in defaults.items() if f"{k}=" not in url}
    # No hstore lookup on the first connect: the archive has no hstore column, and the
    # lookup is a round trip the stall guard cannot see.
    engine = create_engine(
        url, echo=echo, pool_pre_ping=True, connect_args=connect_args, use_native_hstore=False
    )
    if engine.dialect.name == "postgresql":
        guard = StallGuard(
            stall_s, pg_probe(_probe_connect(engine, connect_args)), describe_database(engine.url)
        )
        guard.install(engine.dialect)
        event.listen(
            engine, "connect", lambda dbapi_conn, _record: guard.watch_server_cursors(dbapi_conn)
        )
    return engine


def _probe_connect(engine: Engine, connect_args: dict[str, int]) -> Callable[[float], Any]:
    """Opens the stall guard's own connection: the engine's address and credentials, a
    connect bounded to `timeout_s`, autocommit."""
    cargs, cparams = engine.dialect.create_connect_args(engine.url)
    cparams.pop("context", None)
    params = {**cparams, **connect_args}
    dbapi = engine.dialect.loaded_dbapi

    def connect(timeout_s: float) -> Any:
        return dbapi.connect(
            *cargs, **{**params, "connect_timeout": max(2, round(timeout_s))}, autocommit=True
        )

    return connect


def describe_database(url: URL | str) -> str:
    """The database, named for the operator, without its password."""
    url = make_url(url)
    name = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}.get(url.get_backend_name())
    return f"{name or 'the database'} at {url.render_as_string(hide_password=True)}"


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, issue BEGIN (the pysqlite default emits none).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the write lock up front; readers (API pages, listings) begin
        # deferred, so under WAL they never block a crawl that is writing.
        if conn.get_execution_options().get(READONLY_OPTION):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine, *, readonly: bool = False) -> sessionmaker[Session]:
    """Sessions for writing (the default) or for reading only. On SQLite a read-only
    session never takes the write lock; nothing stops it from writing, so use it only
    where nothing is written."""
    bind = engine.execution_options(**{READONLY_OPTION: True}) if readonly else engine
    return sessionmaker(bind, expire_on_commit=False)


_Row = TypeVar("_Row")


def insert_or_reread(
    session: Session, insert: Callable[[], _Row], reread: Callable[[], _Row | None]
) -> tuple[_Row, bool]:
    """`insert()` a row with a unique key in a savepoint; when another transaction (a
    second machine on the same database) committed that key first, its row as
    `reread()` finds it. Returns (the row, whether this call inserted it)."""
    try:
        with session.begin_nested():
            return insert(), True
    except IntegrityError:
        row = reread()
        if row is None:  # not the key after all: some other constraint
            raise
        return row, False


def alembic_config(engine: Engine, migrations_dir: Path | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir or MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def _known_revisions(cfg: Config) -> tuple[set[str], set[str]]:
    """Every revision this code ships, and the heads among them."""
    script = ScriptDirectory.from_config(cfg)
    return {rev.revision for rev in script.walk_revisions()}, set(script.get_heads())


def current_revisions(engine: Engine) -> set[str] | None:
    """The revisions the database is stamped with; None when it has no
    `alembic_version` table (a new, empty database)."""
    with engine.connect() as conn:
        if "alembic_version" not in inspect(conn).get_table_names():
            return None
        return set(MigrationContext.configure(conn).get_current_heads())


def check_revision(engine: Engine, migrations_dir: Path | None = None) -> set[str] | None:
    """The database's revisions, or `SchemaTooNew` when one of them is unknown here:
    a newer Presswatch wrote the archive, and this one must not read or migrate it."""
    current = current_revisions(engine)
    known, _heads = _known_revisions(alembic_config(engine, migrations_dir))
    unknown = sorted((current or set()) - known)
    if unknown:
        raise SchemaTooNew(
            f"this archive was written by a newer Presswatch (revision {', '.join(unknown)}); "
            "upgrade Presswatch (this one knows up to revision "
            f"{', '.join(sorted(_heads))})"
        )
    return current


def pending_migration(engine: Engine, migrations_dir: Path | None = None) -> bool:
    """Whether `migrate` would change an existing database (stamped, behind head)."""
    current = check_revision(engine, migrations_dir)
    _known, heads = _known_revisions(alembic_config(engine, migrations_dir))
    return current is not None and current != heads


def backup_sqlite(engine: Engine, backup_dir: Path, *, now: datetime | None = None) -> Path | None:
    """Copy the SQLite database file with the online backup API (consistent even while
    readers have it open) to `backup_dir/presswatch-<revision>-<time>.db`. None for
    databases that are not a SQLite file. The copy is written under a temporary name
    and renamed, so a failed backup never looks like a good one."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    current = current_revisions(engine) or {"none"}
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    target = backup_dir / f"presswatch-{'+'.join(sorted(current))}-{stamp}.db"
    partial = target.with_name(target.name + ".partial")
    try:
        backup_dir.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(url.database)
        try:
            copy = sqlite3.connect(partial)
            try:
                source.backup(copy)
            finally:
                copy.close()
        finally:
            source.close()
        partial.replace(target)
    except (OSError, sqlite3.Error) as exc:
        with contextlib.suppress(OSError):  # the dir may be the very thing that failed
            partial.unlink(missing_ok=True)
        raise StorageError(
            f"could not back up {url.database} to {backup_dir} before migrating ({exc}); "
            "nothing was migrated: free disk space or fix the directory's permissions, "
            "then run `presswatch init` again"
        ) from exc
    return target


def migrate(
    engine: Engine,
    *,
    backup_dir: Path | None = None,
    migrations_dir: Path | None = None,
    now: datetime | None = None,
) -> Path | None:
    """Create or upgrade the schema to the newest migration. Idempotent.

    Refuses a database of a newer Presswatch (`SchemaTooNew`). With `backup_dir`, an
    existing SQLite database that a migration is about to change is backed up first;
    returns the backup's path (None when nothing was backed up)."""
    backup = None
    if pending_migration(engine, migrations_dir) and backup_dir is not None:
        backup = backup_sqlite(engine, backup_dir, now=now)
    command.upgrade(alembic_config(engine, migrations_dir), "head")
    return backup


def is_migrated(engine: Engine) -> bool:
    """Whether the schema exists; `SchemaTooNew` when a newer Presswatch made it."""
    return check_revision(engine) is not None
