"""Package boundaries from the design: `archive/` imports nothing of ours and is built
of wings, each importing only the wings before it (archive/__init__.py lists them);
`crawler/` and `search_api/` import only `archive`, and only a wing's public names (its
`__all__`); dotted paths written as strings count as imports; no two files import each
other, even inside functions; every exception we define is a `PresswatchError`;
command modules never import the CLI that composes them; no test module imports
another; the migrations match the models."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

from sqlalchemy import create_engine

from archive.errors import PresswatchError
from archive.store.db import make_engine, migrate
from tests.import_graph import (
    PACKAGES,
    REPO,
    circles,
    file_graph,
    imported_names,
    module_name,
    product_files,
)

OURS = set(PACKAGES)
ALLOWED = {
    "archive": {"archive"},
    "crawler": {"archive", "crawler"},
    "search_api": {"archive", "search_api"},
    "presswatch": OURS,
}
# Everything outside archive/ that is ours, tests excepted (they may reach inside).
OUTSIDE_ARCHIVE = ("crawler", "search_api", "presswatch", "benchmarks")
# The archive's wings, bottom first: each imports only those before it (archive/__init__.py).
WINGS = (
    "errors",
    "clock",
    "egress",
    "i18n",
    "content",
    "store",
    "stories",
    "warc",
    "log",
    "accounts",
    "backfill",
    "notify",
    "views",
    "capture",
    "formats",
    "migrations",
)


def test_package_boundaries() -> None:
    problems = []
    for package, allowed in ALLOWED.items():
        for path in product_files(package):
            for line, module, _names in imported_names(path):
                top = module.split(".")[0]
                if top in OURS and top not in allowed:
                    problems.append(f"{path.relative_to(REPO)}:{line} imports {module}")
    assert problems == [], "\n".join(problems)


def test_other_packages_use_only_the_wings_public_names() -> None:
    """Outside the archive, `from archive.<wing> import name` with `name` in the wing's
    `__all__`; never a wing's module, never the bare `archive`."""
    problems = []
    for path in product_files(*OUTSIDE_ARCHIVE):
        where = path.relative_to(REPO)
        for line, module, names in imported_names(path):
            parts = module.split(".")
            if parts[0] != "archive":
                continue
            if len(parts) != 2 or parts[1] not in WINGS:
                problems.append(
                    f"{where}:{line} uses {module} (import from a wing: archive.<wing>)"
                )
                continue
            public = set(importlib.import_module(module).__all__)
            problems += [f"{where}:{line} uses {module}.{n}" for n in names if n not in public]
    assert problems == [], "\n".join(problems)


def test_each_wing_imports_only_the_wings_before_it() -> None:
    problems = []
    for path in product_files("archive"):
        parts = path.relative_to(REPO).with_suffix("").parts
        if len(parts) < 2 or parts[1] == "__init__":
            continue
        own = WINGS.index(parts[1])
        for line, module, _names in imported_names(path):
            target = module.split(".")
            if target[0] != "archive" or len(target) < 2:
                continue
            if target[1] not in WINGS:
                problems.append(f"{path.relative_to(REPO)}:{line} imports {module}: not a wing")
            elif WINGS.index(target[1]) > own:
                problems.append(f"{path.relative_to(REPO)}:{line} imports {module}, a later wing")
    assert problems == [], "\n".join(problems)


def test_no_two_files_import_each_other() -> None:
    """No import circle between files, counting imports inside functions (a circle hides
    a concept split in two, and makes start-up order matter)."""
    assert circles(file_graph(*sorted(OURS))) == []


def test_every_exception_we_define_is_a_presswatch_error() -> None:
    """A caller at a boundary catches `PresswatchError` (archive/errors.py); an exception
    class outside that tree escapes it. Private ones (a leading underscore) never leave
    their module and may stay plain."""
    problems = []
    for path in product_files(*sorted(OURS)):
        if "migrations" in path.parts or path.name == "__main__.py":
            continue
        module = importlib.import_module(module_name(path))
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
                and not name.startswith("_")
                and not issubclass(value, PresswatchError)
            ):
                problems.append(f"{module.__name__}.{name}")
    assert problems == [], "\n".join(problems)


def imports_from(path: Path) -> list[ast.ImportFrom | ast.Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom | ast.Import)]


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
                    if (
                        name.startswith("presswatch.cli")
                        or name.startswith("presswatch.commands")
                        and not (in_commands and name.startswith("presswatch.commands.common"))
                    ):
                        problems.append(f"{rel}:{node.lineno} imports {name}")
    assert problems == [], "\n".join(problems)


def test_no_test_module_imports_another() -> None:
    """Shared fixtures and helpers live in tests/conftest.py or in helper modules whose
    names do not start with `test_`: a test module imported by another hands it its
    tests and fixtures (run twice, or shadowed) and ties the two files together."""
    problems = []
    for path in sorted((REPO / "tests").rglob("*.py")):
        for line, module, names in imported_names(path):
            targets = [module] if module != "tests" else [f"tests.{n}" for n in names]
            problems += [
                f"{path.relative_to(REPO)}:{line} imports {target}"
                for target in targets
                if target.split(".")[-1].startswith("test_")
            ]
    assert problems == [], "\n".join(problems)


def test_migrations_match_the_models(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from archive.store.models import Base

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
