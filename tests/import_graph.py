"""Our import graph, read from the code as text: every import (inside functions too)
and every string that is a whole dotted path of ours (a Scrapy setting, a preload list),
which is an import made later, by name. tests/test_layout.py holds the layout to it;

    python -m tests.import_graph

prints the package-to-package arrows (the archive counted by wing) and any circle."""

from __future__ import annotations

import ast
import re
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("archive", "crawler", "search_api", "presswatch")
DOTTED = re.compile(r"^(?:archive|crawler|search_api|presswatch)(?:\.[A-Za-z_]\w*)+$")


def product_files(*packages: str) -> Iterator[Path]:
    for package in packages:
        yield from sorted((REPO / package).rglob("*.py"))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def names_our_module(dotted: str) -> bool:
    """Whether a dotted string starts with one of our modules below a package root
    (`archive.capture.record_capture`, not a file name like `archive.sqlite3`)."""
    first, second = dotted.split(".")[:2]
    return (REPO / first / f"{second}.py").is_file() or (REPO / first / second).is_dir()


def imported_names(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module, names) for every import in the file, inside functions too, and for
    every string that is a whole dotted path of ours (a Scrapy setting, a preload list):
    those are imports made later, by name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    )
    found: list[tuple[int, str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join([*base, module] if module else base)
            found.append((node.lineno, module, [a.name for a in node.names]))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if DOTTED.match(node.value) and names_our_module(node.value):
                found.append((node.lineno, node.value, []))
    return found


def file_graph(*packages: str) -> dict[str, set[str]]:
    """Each module of ours to the modules of ours it imports."""
    files = {module_name(p): p for p in product_files(*packages)}

    def owner(module: str) -> str | None:
        while module and module not in files:
            module = module.rpartition(".")[0]
        return module or None

    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        targets = set()
        for _line, module, names in imported_names(path):
            for target in [f"{module}.{n}" for n in names] or [module]:
                found = owner(target) if target in files else owner(module)
                if found and found != name:
                    targets.add(found)
        graph[name] = targets
    return graph


def circles(graph: dict[str, set[str]]) -> list[str]:
    """The modules from whose imports a path leads back to the module itself."""
    found = []
    for start in graph:
        seen: set[str] = set()
        stack = list(graph[start])
        while stack:
            node = stack.pop()
            if node == start:
                found.append(start)
                break
            if node not in seen:
                seen.add(node)
                stack.extend(graph.get(node, ()))
    return found


def package_of(module: str) -> str:
    """The package a module belongs to, the archive's wing for the archive."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "archive" and len(parts) > 1 else parts[0]


def package_arrows(graph: dict[str, set[str]]) -> Counter[tuple[str, str]]:
    """(from, to) package pairs, each counted once per importing file and imported file."""
    arrows: Counter[tuple[str, str]] = Counter()
    for module, targets in graph.items():
        for target in targets:
            pair = (package_of(module), package_of(target))
            if pair[0] != pair[1]:
                arrows[pair] += 1
    return arrows


def main() -> int:
    graph = file_graph(*PACKAGES)
    for (source, target), count in sorted(package_arrows(graph).items()):
        print(f"{source} -> {target} ({count})")
    around = circles(graph)
    print(f"circles: {', '.join(around) if around else 'none'}")
    return 1 if around else 0


if __name__ == "__main__":
    sys.exit(main())
