"""An archive made before the transparency log (hash chain only, the revision below) is
upgraded by `presswatch init` without losing its verifiability: the old chain is checked,
every capture is sealed into the log, and tampering after the upgrade is caught; an
archive whose old chain is already broken is refused, not laundered."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from archive.errors import StorageError
from archive.log.leaves import read_leaf
from archive.log.merkle import leaf_hash
from archive.store.models import Capture, LogHead
from presswatch.cli import app
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from tests.site_server import cli, cli_env

# The last revision with the bare hash chain (before migration 0003).
CHAIN_REVISION = "167d5ab"
ROOT = Path(__file__).resolve().parents[1]

MAKE_ARCHIVE = """
import sys
from datetime import UTC, datetime, timedelta
from presswatch.runtime import Runtime
from presswatch.settings import Settings
from tests import archive_helpers as h

rt = Runtime(Settings(data_dir=sys.argv[1]))
rt.init()
t0 = datetime(2026, 3, 1, 8, tzinfo=UTC)
url = "https://khmer.example/news/4412/"
html = h.km_story(url).html
for hours, body, status in [
    (0, html, 200), (1, html, 200), (2, h.khmer_byline_changed(html), 200),
    (3, "gone", 404), (4, "gone", 404),
]:
    h.record(rt, h.exchange(url, body, at=t0 + timedelta(hours=hours), status=status))
h.record(rt, h.exchange("https://khmer.example/news/9/", "x", at=t0, status=404))
rt.close()
"""


# The data dir below was written by the code of CHAIN_REVISION itself (MAKE_ARCHIVE run
# against `git archive CHAIN_REVISION`) and is kept in the repository, so the test needs
# no git history (CI may clone shallow). Regenerate: `python -m tests.test_log_upgrade`.
LEGACY_ARCHIVE = ROOT / "tests" / "data" / f"chain-archive-{CHAIN_REVISION}.tar.gz"


def make_legacy_archive(out: Path) -> None:
    """Write LEGACY_ARCHIVE with the code of CHAIN_REVISION, checked out from git."""
    with tempfile.TemporaryDirectory() as tmp:
        old, data = Path(tmp) / "old", Path(tmp) / "data"
        old.mkdir()
        tar = subprocess.run(
            ["git", "-C", str(ROOT), "archive", CHAIN_REVISION, "archive", "presswatch", "tests"],
            capture_output=True,
            check=True,
        )
        subprocess.run(["tar", "-x", "-C", str(old)], input=tar.stdout, check=True)
        env = {**os.environ, "PYTHONPATH": str(old)}
        env.pop("PRESSWATCH_DATA_DIR", None)
        subprocess.run(
            [sys.executable, "-c", MAKE_ARCHIVE, str(data)], cwd=old, env=env, check=True
        )
        with tarfile.open(out, "w:gz") as archive:
            archive.add(data, arcname=".")


@pytest.fixture
def legacy_data(tmp_path: Path) -> Path:
    """A data dir written by the code of CHAIN_REVISION (see LEGACY_ARCHIVE)."""
    data = tmp_path / "data"
    with tarfile.open(LEGACY_ARCHIVE) as archive:
        archive.extractall(data, filter="data")
    return data


def verify_json(data: Path) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(app, ["--data-dir", str(data), "verify", "--json"])
    return result.exit_code, json.loads(result.stdout)


def test_init_seals_an_old_archive_and_verify_keeps_working(legacy_data: Path) -> None:
    with sqlite3.connect(legacy_data / "presswatch.db") as conn:
        old_chain = conn.execute(
            "select prev_chain, chain_hash from captures order by seq"
        ).fetchall()
    conn.close()
    rt = Runtime(Settings(data_dir=legacy_data))
    rt.init()
    assert rt.settings.resolved_log_key_file.stat().st_mode & 0o777 == 0o600
    with rt.sessions() as s:
        caps = list(s.scalars(select(Capture).order_by(Capture.seq)))
        leaves = [read_leaf(s, c.id) for c in caps]
        assert all(
            c.leaf_hash == leaf_hash(leaf).hex() for c, leaf in zip(caps, leaves, strict=True)
        )
        assert [(c.prev_chain, c.chain_hash) for c in caps] == [
            tuple(r) for r in old_chain
        ]  # kept, committed
        assert all(json.loads(leaf)["legacy_chain"] for leaf in leaves)
        head = s.get(LogHead, 1)
        assert head is not None and head.seq == len(caps) == 6 and head.frontier is not None
    code, report = verify_json(legacy_data)
    assert code == 0, report
    rt.init()  # idempotent: nothing to seal twice
    # New captures extend the log after the sealed ones, and tampering with an old
    # capture is caught and named.
    from tests import archive_helpers as h
    from tests.conftest import T0

    h.record(rt, h.exchange("https://khmer.example/news/4412/", "gone", at=T0, status=410))
    code, report = verify_json(legacy_data)
    assert code == 0, report
    with rt.sessions.begin() as s:
        first = s.scalars(select(Capture).where(Capture.seq == 1)).one()
        first.headers = {**first.headers, "date": "forged"}
    code, report = verify_json(legacy_data)
    problems = report["problems"]
    assert isinstance(problems, list)
    assert code == 1 and any(
        p["capture_id"] == first.id and p["field"] == "capture.headers.date" for p in problems
    )
    rt.close()


def test_an_old_archive_with_a_broken_chain_is_refused(legacy_data: Path) -> None:
    rt = Runtime(Settings(data_dir=legacy_data))
    # Migrate the schema first (as a failed init would have), then tamper, then init.
    from archive.store import migrate

    migrate(rt.engine)
    with rt.sessions.begin() as s:
        s.execute(update(Capture).where(Capture.seq == 2).values(status=500))
    with pytest.raises(StorageError, match="old hash chain"):
        rt.init()
    with rt.sessions() as s:
        assert s.scalars(select(Capture).where(Capture.leaf_hash.is_not(None))).first() is None
    sources = legacy_data.parent / "sources.toml"
    sources.write_text("", encoding="utf-8")
    result = cli(legacy_data, sources, "init", env=cli_env())
    assert result.returncode == 1 and "old hash chain" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr  # no traceback
    rt.close()


if __name__ == "__main__":
    make_legacy_archive(LEGACY_ARCHIVE)
    print(f"wrote {LEGACY_ARCHIVE}")
