"""Package boundaries from the design: `archive/` imports nothing of ours; `crawler/`
and `search_api/` import only `archive`, and only the public names it lists in
`__all__`; command modules never import the CLI that composes them; the migrations
match the models."""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import create_engine

from archive.db import make_engine, migrate

REPO = Path(__file__).resolve().parents[1]
OURS = {"archive", "crawler", "search_api", "presswatch"}
ALLOWED = {
    "archive": {"archive"},
    "crawler": {"archive", "crawler"},
    "search_api": {"archive", "search_api"},
    "presswatch": OURS,
}
# Everything outside archive/ that is ours, tests excepted (they may reach inside).
OUTSIDE_ARCHIVE = ("crawler", "search_api", "presswatch", "benchmarks")


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


def imports_from(path: Path) -> list[ast.ImportFrom | ast.Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom | ast.Import)]


def test_other_packages_use_only_archive_public_names() -> None:
    import archive

    public = set(archive.__all__)
    problems = []
    for package in OUTSIDE_ARCHIVE:
        for path in (REPO / package).rglob("*.py"):
            where = path.relative_to(REPO)
            for node in imports_from(path):
                if isinstance(node, ast.Import):
                    inside = [a.name for a in node.names if a.name.startswith("archive.")]
                    problems += [f"{where}:{node.lineno} imports {name}" for name in inside]
                elif node.module and node.module.startswith("archive."):
                    problems.append(f"{where}:{node.lineno} imports from {node.module}")
                elif node.module == "archive":
                    private = [a.name for a in node.names if a.name not in public]
                    problems += [f"{where}:{node.lineno} uses archive.{n}" for n in private]
    assert problems == []


def test_the_cli_layer_is_imported_only_from_above() -> None:
    """cli.py composes the command modules; a command module uses the one shared leaf
    (commands/common.py) and library code, never cli.py or another command; the demo,
    the crawl setup and the benchmarks never reach into commands at all."""
    problems = []
    for package in OUTSIDE_ARCHIVE:
        for path in (REPO / package).rglob("*.py"):
            rel = path.relative_to(REPO)
            if rel.as_posix() == "presswatch/cli.py":
                continue
            in_commands = rel.parts[:2] == ("presswatch", "commands")
            for node in imports_from(path):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [f"{node.module}.{a.name}" for a in node.names]
                )
                for name in names:
                    if name.startswith("presswatch.cli") or name.startswith("presswatch.commands") and not (
                        in_commands and name.startswith("presswatch.commands.common")
                    ):
                        problems.append(f"{rel}:{node.lineno} imports {name}")
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
