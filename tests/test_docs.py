"""The documentation stays true: docs/json.md lists exactly the keys the commands print,
and the README's links lead to files in this repository (as datasette's test_docs.py
makes drifting docs fail)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from presswatch.cli import app
from presswatch.runtime import Runtime
from tests.search_pages import build_contract_archive

REPO = Path(__file__).resolve().parents[1]


def documented_shapes() -> dict[str, set[str]]:
    """`<!-- shape: NAME -->` followed by a table whose first column lists `key`s."""
    shapes: dict[str, set[str]] = {}
    text = (REPO / "docs" / "json.md").read_text(encoding="utf-8")
    for name, table in re.findall(r"<!-- shape: (\w+) -->\n((?:\|.*\n)+)", text):
        keys: set[str] = set()
        for row in table.splitlines()[2:]:
            first_cell = row.split("|")[1]
            keys |= set(re.findall(r"`(\w+)`", first_cell))
        shapes[name] = keys
    return shapes


def cli_json(runtime: Runtime, *args: str) -> Any:
    result = CliRunner().invoke(
        app, ["--data-dir", str(runtime.settings.data_dir), *args, "--json"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def printed(runtime: Runtime) -> dict[str, dict[str, Any]]:
    """One printed example of every documented shape, from an archive with an edit, a
    removal and a Khmer article."""
    ids = build_contract_archive(runtime)
    history = cli_json(runtime, "history", str(ids.raid))
    cli_json(runtime, "reindex")
    search = cli_json(runtime, "search", "compound")
    saved = runtime.settings.data_dir.parent / "saved.html"
    saved.write_text(
        "<!-- saved from url=(0039)https://ledger.example/news/saved-page/ -->\n"
        "<html><body><p>A page saved from a browser.</p></body></html>",
        encoding="utf-8",
    )
    # A subscription that matches nothing in this archive, so `notify send` sends nothing.
    cli_json(runtime, "notify", "add", "docs", "json://hooks.example/hook", "--kind", "moved")
    report = cli_json(runtime, "report", "--since", "2000-01-01", "--min-significance", "0")
    return {
        "article": cli_json(runtime, "articles")[0],
        "version": history["versions"][0],
        "event": history["events"][0],
        "capture": history["captures"][0],
        "change": cli_json(runtime, "changes")[0],
        "search": search,
        "hit": search["hits"][0],
        "verify": cli_json(runtime, "verify"),
        "checkpoint": cli_json(runtime, "checkpoint"),
        "status": cli_json(runtime, "status"),
        "import": cli_json(runtime, "import", str(saved)),
        "subscription": cli_json(runtime, "notify", "list")[0],
        "notify_send": cli_json(runtime, "notify", "send"),
        "report": report,
        "report_outlet": report["outlets"][0],
        "report_item": next(o["edited"][0] for o in report["outlets"] if o["edited"]),
    }


def test_docs_list_exactly_the_keys_printed(printed: dict[str, dict[str, Any]]) -> None:
    shapes = documented_shapes()
    assert set(shapes) == set(printed), "docs/json.md shapes and this test disagree"
    for name, keys in shapes.items():
        assert keys == set(printed[name]), f"docs/json.md shape {name!r} drifted"


def test_readme_links_point_into_the_repository() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme)
    local = [t for t in targets if "://" not in t]
    assert local, "the README links to its docs"
    missing = [t for t in local if not (REPO / t).exists()]
    assert missing == []
    assert "DESIGN.md" not in readme, "DESIGN.md is not in the repository"


def test_the_readmes_five_commands_run_as_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "An archive in five commands" is run line by line, as a newcomer pastes it in a
    folder holding saved-pages/: two saves of one story, a day apart."""
    import os
    import shlex

    from tests import archive_helpers as h

    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("An archive in five commands", 1)[1].split("```sh\n", 1)[1]
    lines = [line.split("#", 1)[0].strip() for line in block.split("```", 1)[0].splitlines()]
    commands = [shlex.split(line) for line in lines if line]
    assert [c[:2] for c in commands] == [
        ["presswatch", "init"],
        ["presswatch", "import"],
        ["presswatch", "changes"],
        ["presswatch", "diff"],
        ["presswatch", "verify"],
    ]
    url = commands[3][2]
    page = h.own_page(h.demo_article(h.EN_TASK_FORCE).slug)
    saved = tmp_path / "saved-pages"
    saved.mkdir()
    for n, html in enumerate((page.html, page.html.replace("broadest", "largest")), 1):
        path = saved / f"story-{n}.html"
        path.write_text(f"<!-- saved from url=({len(url):04d}){url} -->\n{html}", "utf-8")
        os.utime(path, (1767261600 + 86400 * n, 1767261600 + 86400 * n))
    for name in [k for k in os.environ if k.startswith("PRESSWATCH_")]:
        monkeypatch.delenv(name)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    out = {}
    for command in commands:
        result = CliRunner().invoke(app, command[1:])
        assert result.exit_code == 0, (command, result.output)
        out[command[1]] = result.stdout
    assert out["import"] == "imported: 1 edited, 1 new\n"
    assert [c["kind"] for c in json.loads(out["changes"])] == ["edited", "discovered"]
    assert "-" in out["diff"] and "largest" in out["diff"]
    assert out["verify"].startswith("ok: 2 captures")
