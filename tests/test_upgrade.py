"""Safe upgrades: a database from a newer Presswatch is refused by every command (exit 2,
nothing written), an existing SQLite database is backed up before a migration changes
it, and operator errors print one line, never a traceback."""

from __future__ import annotations

import hashlib
import re
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

import archive.store.db
from archive.errors import SchemaTooNew
from archive.store import SourceOptions, migrate, upsert_source
from presswatch.cli import main
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from tests.site_server import cli, cli_env

NEWER = "0999_from_the_future"
# The newest revision this Presswatch ships.
HEAD = ScriptDirectory(str(archive.store.db.MIGRATIONS_DIR)).get_current_head() or "none"
MESSAGE = f"this archive was written by a newer Presswatch (revision {NEWER}); upgrade Presswatch"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def archive_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    runtime = Runtime(Settings(data_dir=data))
    runtime.init()
    with runtime.sessions.begin() as session:
        upsert_source(
            session,
            name="outlet",
            base_url="https://outlet.example/",
            languages=["en"],
            config=SourceOptions(),
            now=datetime(2026, 3, 1, tzinfo=UTC),
        )
    runtime.close()
    return data


@pytest.fixture
def sources_file(tmp_path: Path) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(
        '[[source]]\nname = "outlet"\nbase_url = "https://outlet.example/"\n'
        'languages = ["en"]\nfeeds = ["https://outlet.example/feed/"]\n',
        encoding="utf-8",
    )
    return path


def _stamp(db: Path, revision: str) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    conn.close()


COMMANDS = [
    ["init"],
    ["sources"],
    ["crawl"],
    ["recheck"],
    ["run"],
    ["articles"],
    ["history", "1"],
    ["diff", "1"],
    ["changes"],
    ["search", "scam"],
    ["reindex"],
    ["verify"],
    ["import", "SOURCES"],
    ["serve", "--port", "9"],
]


def test_every_command_refuses_a_newer_schema_and_writes_nothing(
    archive_dir: Path, sources_file: Path
) -> None:
    db = archive_dir / "presswatch.db"
    _stamp(db, NEWER)
    before = _digest(db)
    for command in COMMANDS:
        args = [str(sources_file) if a == "SOURCES" else a for a in command]
        result = cli(archive_dir, sources_file, *args, env=cli_env(lock_wait_s=0))
        assert result.returncode == 2, (command, result.stderr)
        assert result.stderr == f"presswatch: {MESSAGE} (this one knows up to revision {HEAD})\n"
        assert result.stdout == ""
    assert _digest(db) == before
    assert not (archive_dir / "backups").exists()
    assert not (archive_dir / "presswatch.lock").exists()
    assert not (archive_dir / "jobs").exists()


def test_migrate_refuses_a_newer_schema(archive_dir: Path) -> None:
    _stamp(archive_dir / "presswatch.db", NEWER)
    engine = archive.store.db.make_engine(f"sqlite:///{archive_dir / 'presswatch.db'}")
    try:
        with pytest.raises(SchemaTooNew, match=re.escape(MESSAGE)):
            migrate(engine, backup_dir=archive_dir / "backups")
    finally:
        engine.dispose()


FAKE_MIGRATION = '''"""a later schema: one more table"""

import sqlalchemy as sa
from alembic import op

revision = "9001_probe"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("upgrade_probe", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    op.drop_table("upgrade_probe")
'''


@pytest.fixture
def newer_migrations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped migrations plus a pending one, as the next release would ship them."""
    migrations = tmp_path / "migrations"
    shutil.copytree(
        archive.store.db.MIGRATIONS_DIR, migrations, ignore=shutil.ignore_patterns("__pycache__")
    )
    (migrations / "versions" / "9001_probe.py").write_text(FAKE_MIGRATION.replace("{head}", HEAD))
    monkeypatch.setattr(archive.store.db, "MIGRATIONS_DIR", migrations)
    return migrations


def test_upgrade_backs_up_the_sqlite_file_first(archive_dir: Path, newer_migrations: Path) -> None:
    runtime = Runtime(Settings(data_dir=archive_dir))
    try:
        backup = runtime.init()
        assert backup is not None and backup.parent == archive_dir / "backups"
        assert backup.name.startswith(f"presswatch-{HEAD}-") and backup.suffix == ".db"
        assert runtime.init() is None  # up to date: nothing to migrate, no second copy
    finally:
        runtime.close()
    assert [p.name for p in (archive_dir / "backups").iterdir()] == [backup.name]
    with sqlite3.connect(backup) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert copy.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]
        assert copy.execute("SELECT name FROM sources").fetchall() == [("outlet",)]
        tables = {r[0] for r in copy.execute("SELECT name FROM sqlite_master")}
        assert "upgrade_probe" not in tables
    copy.close()
    with sqlite3.connect(archive_dir / "presswatch.db") as live:
        assert live.execute("SELECT version_num FROM alembic_version").fetchall() == [
            ("9001_probe",)
        ]
        assert live.execute("SELECT name FROM sources").fetchall() == [("outlet",)]
    live.close()


def test_a_failed_backup_migrates_nothing(archive_dir: Path, newer_migrations: Path) -> None:
    (archive_dir / "backups").write_text("a file where the backup dir should be")
    runtime = Runtime(Settings(data_dir=archive_dir))
    try:
        with pytest.raises(archive.store.db.StorageError, match="nothing was migrated"):
            runtime.init()
    finally:
        runtime.close()
    with sqlite3.connect(archive_dir / "presswatch.db") as live:
        assert live.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]
    live.close()


def test_init_of_a_current_or_new_archive_makes_no_backup(
    archive_dir: Path, sources_file: Path, tmp_path: Path
) -> None:
    again = cli(archive_dir, sources_file, "init")
    fresh = cli(tmp_path / "fresh", sources_file, "init")
    assert (again.returncode, again.stderr) == (0, "")
    assert (fresh.returncode, fresh.stderr) == (0, "")
    assert not (archive_dir / "backups").exists()
    assert not (tmp_path / "fresh" / "backups").exists()


def test_init_on_an_unusable_data_dir_prints_one_line(sources_file: Path, tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    result = cli(not_a_dir / "data", sources_file, "init")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == (
        f"presswatch: cannot use {not_a_dir / 'data'}: Not a directory; "
        "a path component is a file, not a directory: check --data-dir\n"
    )


def test_unreachable_database_is_one_line(sources_file: Path, tmp_path: Path) -> None:
    result = cli(
        tmp_path / "data",
        sources_file,
        "init",
        env=cli_env(DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:9/none"),
    )
    assert result.returncode == 1 and result.stdout == ""
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    assert result.stderr.startswith("presswatch: the archive database failed: ")
    assert "check DATABASE_URL" in result.stderr


def test_a_bug_is_one_line_naming_the_log_with_the_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(self: Runtime) -> None:
        raise ValueError("a bug in init")

    monkeypatch.setattr(Runtime, "init", broken)
    monkeypatch.setattr("sys.argv", ["presswatch", "--data-dir", str(tmp_path / "d"), "init"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    log_file = tmp_path / "d" / "logs" / "presswatch.log"
    err = capsys.readouterr().err
    assert err == (
        f"presswatch: unexpected error (ValueError: a bug in init); the traceback is in "
        f"{log_file}; please report it\n"
    )
    assert "Traceback" in log_file.read_text() and "a bug in init" in log_file.read_text()
