"""Package boundaries from the design: `archive/` imports nothing of ours, other
packages use `archive` only; the migrations match the models."""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import create_engine

from archive.db import make_engine, migrate

REPO = Path(__file__).resolve().parents[1]
OURS = {"archive", "crawler", "search_api", "presswatch"}
ALLOWED = {
    "archive": {"archive"},
    "crawler": {"archive", "crawler", "presswatch"},
    "search_api": {"archive", "search_api", "presswatch"},
    "presswatch": OURS,
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & OURS


def test_package_boundaries() -> None:
    problems = []
    for package, allowed in ALLOWED.items():
        for path in (REPO / package).rglob("*.py"):
            bad = imported_packages(path) - allowed
            if bad:
                problems.append(f"{path.relative_to(REPO)} imports {sorted(bad)}")
    assert problems == []


def test_migrations_match_the_models(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from archive.models import Base

    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrate(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], "models changed without a migration: " + repr(diff)[:500]


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    for _ in range(2):
        migrate(make_engine(url))
    with create_engine(url).connect() as conn:
        assert conn.exec_driver_sql("select seq, chain_hash from chain_head").one() == (0, "0" * 64)
