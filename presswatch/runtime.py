"""Builds the long-lived parts from Settings: engine, session factory, WARC store and
the archive's record options. Each command (and each test) builds its own."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from archive.capture import RecordOptions
from archive.db import is_migrated, make_engine, make_session_factory, migrate
from archive.detect import Policy
from archive.errors import ConfigError
from archive.warc import WarcStore
from presswatch.settings import Settings


@dataclass
class Runtime:
    settings: Settings

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.resolved_database_url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)

    @cached_property
    def read_sessions(self) -> sessionmaker[Session]:
        """Sessions for reading only: on SQLite they never hold the write lock."""
        return make_session_factory(self.engine, readonly=True)

    @cached_property
    def warc(self) -> WarcStore:
        return WarcStore(self.settings.warc_dir, max_bytes=self.settings.warc_max_bytes)

    def record_options(self, **overrides: object) -> RecordOptions:
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

    def init(self) -> None:
        """Create the data dir and migrate the database (idempotent)."""
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.settings.warc_dir.mkdir(parents=True, exist_ok=True)
        migrate(self.engine)

    def require_initialized(self) -> None:
        if not is_migrated(self.engine):
            raise ConfigError(
                f"the archive at {self.settings.resolved_database_url} is not initialized: "
                "run `presswatch init` first"
            )

    def close(self) -> None:
        if "warc" in self.__dict__:
            self.warc.close()
        if "engine" in self.__dict__:
            self.engine.dispose()
