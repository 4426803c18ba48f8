"""Builds the long-lived parts from Settings: engine, session factory, WARC store and
the archive's record options. Each command (and each test) builds its own.

Nothing is created until it is used: asking whether the archive is initialized never
creates the data dir or an empty SQLite file. Asking it of a database that a newer
Presswatch wrote raises `SchemaTooNew` (exit 2), so no command reads or writes it.

The wings that only some commands use (capture, the log, WARC files, notifications) are
imported by the methods that need them: `presswatch status` must not wait for them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from archive.errors import ConfigError
from archive.store import is_migrated, make_engine, make_session_factory, migrate
from presswatch.settings import Settings, user_agent

if TYPE_CHECKING:
    from archive.capture import RecordOptions
    from archive.log import Signer
    from archive.notify import NotifierEgress
    from archive.warc import SpaceFloor, WarcStore


@dataclass
class Runtime:
    settings: Settings
    # Names this process's WARC files (`WarcStore(run=…)`): a crawl's writer processes
    # share their crawl's; None, a name of its own.
    warc_run: str | None = None

    @cached_property
    def engine(self) -> Engine:
        return make_engine(
            self.settings.resolved_database_url,
            stall_s=self.settings.database_stall_s,
            connect_timeout_s=self.settings.database_connect_timeout_s,
        )

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)

    @cached_property
    def read_sessions(self) -> sessionmaker[Session]:
        """Sessions for reading only: on SQLite they never hold the write lock."""
        return make_session_factory(self.engine, readonly=True)

    @cached_property
    def space_floor(self) -> SpaceFloor:
        """The free-space floor (`min_free_bytes`) over every disk the archive writes:
        the data dir (crawl state, logs), the WARC dir and a SQLite archive's dir."""
        from archive.warc import SpaceFloor

        paths = [self.settings.data_dir, self.settings.warc_dir]
        db_file = sqlite_file(self.settings.resolved_database_url)
        if db_file is not None:
            paths.append(db_file.parent)
        return SpaceFloor(
            self.settings.min_free_bytes,
            tuple(paths),
            setting="min_free_bytes, env PRESSWATCH_MIN_FREE_BYTES",
        )

    @cached_property
    def warc(self) -> WarcStore:
        return self.new_warc_store()

    def new_warc_store(self) -> WarcStore:
        """A WARC store of its own (its own files): for a thread that writes beside
        another's groups, whose deferred fsync must not hold back its commits."""
        from archive.warc import WarcStore, index_closed_warc

        return WarcStore(
            self.settings.warc_dir,
            max_bytes=self.settings.warc_max_bytes,
            floor=self.space_floor,
            info={
                "operator": self.settings.user_agent_contact,
                "http-header-user-agent": user_agent(self.settings),
                # Heritrix's name for "robots.txt obeyed", which the crawler always does.
                "robots": "classic",
            },
            on_closed=index_closed_warc(self.settings.indexes_dir),
            run=self.warc_run,
        )

    def record_options(self, **overrides: object) -> RecordOptions:
        from archive.capture import Policy, RecordOptions

        base = RecordOptions(
            policy=Policy(
                confirmations=self.settings.removal_confirmations,
                degraded_ratio=self.settings.degraded_ratio,
            ),
            boilerplate_min_articles=self.settings.boilerplate_min_articles,
            max_body_bytes=self.settings.max_body_bytes,
        )
        if overrides:
            from dataclasses import replace

            base = replace(base, **overrides)  # type: ignore[arg-type]
        return base

    def notifier_egress(self) -> NotifierEgress:
        """Where notifiers may connect: `allow_networks`, and `mail_relay_networks` for
        mail; host names resolved as a connection would (presswatch.egress)."""
        from presswatch.egress import notifier_egress

        return notifier_egress(self.settings.allow_networks, self.settings.mail_relay_networks)

    def timestamper(self) -> Callable[[bytes], bytes] | None:
        """What asks `tsa_url` to timestamp a checkpoint note, or None when unset."""
        url = self.settings.tsa_url
        if not url:
            return None
        from archive.egress import parse_networks
        from presswatch.tsa import request_token

        allow = parse_networks(self.settings.allow_networks)
        return lambda note: request_token(url, note, allow=allow)

    def init(self) -> Path | None:
        """Create the data dir and migrate the database (idempotent). A database written
        by a newer Presswatch is refused (`SchemaTooNew`, nothing written); an existing
        SQLite database is backed up to `data_dir/backups/` before a migration changes
        it. Returns that backup's path, or None. Then: the log's signing key is made when
        absent, and captures recorded before the transparency log are sealed into it."""
        from archive.log import seal_legacy_captures

        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.settings.warc_dir.mkdir(parents=True, exist_ok=True)
        backup = migrate(self.engine, backup_dir=self.settings.backups_dir)
        self.log_signer(create=True)
        with self.sessions.begin() as session:
            seal_legacy_captures(session)
        return backup

    def log_signer(self, *, create: bool = False) -> Signer:
        """The key that signs checkpoints (setting log_key_file), named log_origin."""
        from archive.log import load_or_create_key

        return load_or_create_key(
            self.settings.resolved_log_key_file, self.settings.log_origin, create=create
        )

    def is_initialized(self) -> bool:
        """Whether `presswatch init` made the archive; reads only, creates nothing."""
        path = sqlite_file(self.settings.resolved_database_url)
        if path is not None and not path.exists():
            return False  # connecting would create the file (and the data dir)
        return is_migrated(self.engine)

    def require_initialized(self) -> None:
        if not self.is_initialized():
            raise ConfigError(
                f"the archive at {self.settings.resolved_database_url} is not initialized: "
                "run `presswatch init` first"
            )

    def close(self) -> None:
        if "warc" in self.__dict__:
            self.warc.close()
        if "engine" in self.__dict__:
            self.engine.dispose()


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for other databases and in-memory ones."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)
