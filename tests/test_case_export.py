"""`presswatch case …` and `presswatch export case`: one package with every article's
evidence, the notes and the audit entries, verified offline by
`python -m presswatch.verify_package`; a changed note, a dropped audit entry or an
article slipped in fails."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from presswatch.runtime import Runtime
from presswatch.verify_package import verify_package
from tests import archive_helpers as h
from tests.package_checks import Files, cli, read, write

URL1 = "https://news.example/story/1/"
URL2 = "https://news.example/story/2/"


@pytest.fixture
def case_package(runtime: Runtime, at: Any, tmp_path: Path) -> Path:
    h.record(runtime, h.exchange(URL1, h.en_story(URL1).html, at=at(0)))
    h.record(runtime, h.exchange(URL2, h.km_story(URL2).html, at=at(1)))
    h.record(runtime, h.exchange(URL2, "gone", at=at(2), status=404))
    assert (
        cli(
            runtime,
            "accounts",
            "create",
            "dara",
            "--role",
            "editor",
            "--password-file",
            str(_pw(tmp_path)),
        ).exit_code
        == 0
    )
    added = cli(runtime, "case", "add", "compound", URL1, URL2, "--tag", "scam", "--as", "dara")
    assert added.exit_code == 0, added.output
    noted = cli(
        runtime,
        "case",
        "note",
        "compound",
        "Second story taken down after the raid",
        "--article",
        URL2,
        "--as",
        "dara",
    )
    assert noted.exit_code == 0, noted.output
    shown = cli(runtime, "case", "show", "compound", "--json")
    assert json.loads(shown.stdout)["notes"][0]["author"] == "dara"
    out = tmp_path / "case.wacz"
    exported = cli(runtime, "export", "case", "compound", "-o", str(out), "--as", "dara")
    assert exported.exit_code == 0, exported.output
    return out


def _pw(tmp_path: Path) -> Path:
    path = tmp_path / "pw.txt"
    path.write_text("dara's long password\n")
    return path


@pytest.fixture
def key(runtime: Runtime) -> str:
    return runtime.log_signer().verifier_key


def test_case_package_verifies_offline(case_package: Path, key: str, tmp_path: Path) -> None:
    key_file = tmp_path / "key.pub"
    key_file.write_text(key + "\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "presswatch.verify_package",
            str(case_package),
            "--public-key",
            str(key_file),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok: case compound" in done.stdout and "1 note(s)" in done.stdout
    files = read(case_package)
    manifest = json.loads(files["case/manifest.json"])
    assert [a["tags"] for a in manifest["articles"]] == [["scam"], ["scam"]]
    actions = [e["action"] for e in manifest["audit"]]
    assert actions == ["case.create", "case.add", "case.add", "case.note", "case.export"]


def _altered(case_package: Path, tmp_path: Path, change: Any) -> list[str]:
    files: Files = read(case_package)
    manifest = json.loads(files["case/manifest.json"])
    change(manifest)
    files["case/manifest.json"] = json.dumps(manifest).encode()
    out = write(files, tmp_path / "altered.wacz")
    return [f.reason for f in verify_package(out).failures]


def test_a_changed_note_fails(case_package: Path, tmp_path: Path) -> None:
    def change(m: dict[str, Any]) -> None:
        m["notes"][0]["text"] = "Nothing was taken down"

    assert "note-changed" in _altered(case_package, tmp_path, change)


def test_a_dropped_or_forged_article_fails(case_package: Path, tmp_path: Path) -> None:
    def change(m: dict[str, Any]) -> None:
        m["articles"].append({**m["articles"][0], "article_id": 999})

    assert "unproven-article" in _altered(case_package, tmp_path, change)


def test_an_audit_entry_rewritten_in_the_package_fails(case_package: Path, tmp_path: Path) -> None:
    def change(m: dict[str, Any]) -> None:
        m["audit"][0]["actor"] = "someone-else"

    assert "audit-mismatch" in _altered(case_package, tmp_path, change)


def test_a_viewer_cannot_export_or_annotate(runtime: Runtime, at: Any, tmp_path: Path) -> None:
    h.record(runtime, h.exchange(URL1, h.en_story(URL1).html, at=at(0)))
    assert (
        cli(
            runtime,
            "accounts",
            "create",
            "sok",
            "--role",
            "viewer",
            "--password-file",
            str(_pw(tmp_path)),
        ).exit_code
        == 0
    )
    assert cli(runtime, "case", "add", "c1", URL1).exit_code == 0
    assert cli(runtime, "case", "note", "c1", "a note", "--as", "sok").exit_code == 2
    out = tmp_path / "c1.wacz"
    refused = cli(runtime, "export", "case", "c1", "-o", str(out), "--as", "sok")
    assert refused.exit_code == 1 and not out.exists()
