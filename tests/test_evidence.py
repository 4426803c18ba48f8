"""Evidence packages: `presswatch export evidence` writes a WACZ that `wacz validate`
accepts and that `python -m presswatch.verify_package` verifies with nothing but the
package and the public key, naming exactly what fails on each alteration."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from archive.log.signing import Signer
from presswatch.cli import app
from presswatch.runtime import Runtime
from presswatch.verify_package import Unreadable, verify_package
from tests.local_tsa import LocalTsa
from tests.package_checks import (
    Files,
    cli,
    manifest_of,
    read,
    records_in,
    wacz_validate,
    write,
)
from tests.stories import URL, record_evidence_story

REPO = Path(__file__).resolve().parents[1]


def cli_with(rt: Runtime, *args: str) -> Any:
    """The CLI on this runtime's data dir and database."""
    url = rt.settings.resolved_database_url
    return CliRunner().invoke(
        app, ["--data-dir", str(rt.settings.data_dir), "--database-url", url, *args]
    )


@pytest.fixture
def package(runtime: Runtime, at: Any, tmp_path: Path) -> Path:
    record_evidence_story(runtime, at)
    out = tmp_path / "story.wacz"
    result = cli(runtime, "export", "evidence", URL, "-o", str(out))
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def key_file(runtime: Runtime, tmp_path: Path) -> Path:
    path = tmp_path / "published-key.txt"
    path.write_text(runtime.log_signer().verifier_key + "\n", encoding="utf-8")
    return path


def failures(package: Path, key_file: Path) -> list[str]:
    result = verify_package(package, key_file.read_text().strip())
    assert result.ok == (not result.failures)
    return [str(f) for f in result.failures]


# -- a good package ----------------------------------------------------------------------


def test_package_validates_and_verifies_standalone(
    runtime: Runtime, package: Path, key_file: Path, tmp_path: Path
) -> None:
    check = wacz_validate(package)
    assert check.returncode == 0, check.stdout + check.stderr

    files = read(package)
    manifest = manifest_of(files)
    # The manifest says what `presswatch history` says.
    history = json.loads(cli(runtime, "history", URL, "--json").stdout)
    assert [(e["kind"], e["at"]) for e in manifest["events"]] == [
        (e["kind"], e["at"]) for e in history["events"]
    ]
    assert {"discovered", "edited", "removed"} <= {e["kind"] for e in manifest["events"]}
    for ours, theirs in zip(manifest["versions"], history["versions"], strict=True):
        # Except `screenshot`, an API path of the server: in a package, a screenshot is
        # its rendering capture's record (listed with the captures, proven by its leaf).
        shown = {k: v for k, v in theirs.items() if k != "screenshot"}
        assert {k: ours[k] for k in shown} == shown
    assert manifest["article"]["status"] == "removed"
    assert [(d["from"], d["to"]) for d in manifest["diffs"]] == [(1, 2)]
    assert "byline" in {f["field"] for f in manifest["diffs"][0]["diff"]["fields"]}
    assert len(manifest["captures"]) == 6
    assert [c["record"] for c in manifest["captures"]].count(None) == 1  # the timeout
    proofs = json.loads(files["evidence/proofs.json"])
    assert len(proofs["proofs"]) == 6
    # Five stored captures, each with its response/revisit and request record.
    kinds = sorted(k for rows in records_in(package).values() for k, _, _ in rows)
    assert kinds.count("request") == 5
    assert kinds.count("response") + kinds.count("revisit") == 5

    # The real entry point, in a directory with no archive and no settings.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSWATCH_")}
    env["PYTHONPATH"] = str(REPO)
    run = subprocess.run(
        [sys.executable, "-m", "presswatch.verify_package", str(package),
         "--public-key", str(key_file)],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    # It prints the one statement the package proves, naming the article and its state.
    first, second = run.stdout.splitlines()[:2]
    assert first.startswith(f"ok: article {URL} (id {manifest['article']['id']}, source id ")
    assert " was removed (http_404, removed at " in first
    assert f"with its 2 version(s) and {len(history['events'])} event(s) up to then" in first
    assert second.startswith(f"checked: 6 captures, 2 versions, {len(history['events'])} events")
    assert not (tmp_path / "presswatch-data").exists()


def test_without_a_key_the_package_key_is_used_with_a_warning(package: Path) -> None:
    result = verify_package(package)
    assert result.ok, result.failures
    assert any("self-consistent" in w for w in result.warnings)


def test_a_checkpoint_is_signed_only_when_none_covers_the_article(
    runtime: Runtime, at: Any, tmp_path: Path
) -> None:
    record_evidence_story(runtime, at)
    first = cli(runtime, "export", "evidence", URL, "-o", str(tmp_path / "a.wacz"))
    assert first.exit_code == 0 and "signed a new checkpoint" in first.stderr
    again = cli(runtime, "export", "evidence", URL, "-o", str(tmp_path / "b.wacz"))
    assert again.exit_code == 0 and "signed a new checkpoint" not in again.stderr


def test_an_export_is_an_audit_entry_naming_the_package(runtime: Runtime, package: Path) -> None:
    from archive.accounts import list_audit
    from archive.log import verify_archive

    with runtime.sessions() as session:
        entries = list_audit(session, object_kind="article")
        assert [e.action for e in entries] == ["article.export"]
        assert entries[0].actor.startswith("cli:")
        assert entries[0].detail == {
            "package_sha256": hashlib.sha256(package.read_bytes()).hexdigest()
        }
        assert verify_archive(session, runtime.warc).ok  # a leaf of the log like the others


def test_unknown_article_exits_1_and_writes_nothing(runtime: Runtime, tmp_path: Path) -> None:
    out = tmp_path / "x.wacz"
    result = cli(runtime, "export", "evidence", "https://nowhere.example/a/", "-o", str(out))
    assert result.exit_code == 1
    assert "no archived article at https://nowhere.example/a/" in result.stderr
    assert not out.exists()


# -- alterations: each fails, naming what ------------------------------------------------


def _capture(files: Files, kind: str) -> dict[str, Any]:
    return next(c for c in manifest_of(files)["captures"] if c["warc_type"] == kind)


def flip_warc_byte(files: Files) -> tuple[Files, str]:
    ref = _capture(files, "response")["record"]
    data = bytearray(files[ref["path"]])
    data[ref["offset"] + ref["length"] // 2] ^= 0x01
    files[ref["path"]] = bytes(data)
    return files, f"capture {_capture(files, 'response')['id']}: WARC record"


def edit_manifest(change: Callable[[dict[str, Any]], str]) -> Callable[[Files], tuple[Files, str]]:
    def alter(files: Files) -> tuple[Files, str]:
        manifest = manifest_of(files)
        expected = change(manifest)
        files["evidence/manifest.json"] = json.dumps(manifest).encode()
        return files, expected

    return alter


def _last_seen(m: dict[str, Any]) -> str:
    v = m["versions"][0]
    v["last_seen"] = "2026-01-01T00:00:00+00:00"
    return f"version 1 (id {v['id']}): last_seen is '2026-01-01"


def _event_date(m: dict[str, Any]) -> str:
    e = next(e for e in m["events"] if e["kind"] == "edited")
    e["at"] = "2025-12-31T23:00:00+00:00"
    return f"event {e['id']} (edited): at is '2025-12-31"


def _unremove(m: dict[str, Any]) -> str:
    m["article"]["status"] = "live"
    return f"article {m['article']['id']}: status is 'live'"


def _hide_event(m: dict[str, Any]) -> str:
    e = next(e for e in m["events"] if e["kind"] == "removed")
    m["events"].remove(e)
    return f"event {e['id']} (removed): in the leaf of capture"


def _version_text(m: dict[str, Any]) -> str:
    v = m["versions"][1]
    v["text"] = v["text"].replace("ក", "ខ", 1)
    return f"version 2 (id {v['id']}): its text does not hash"


def _diff(m: dict[str, Any]) -> str:
    m["diffs"][0]["diff"]["stats"] = {"forged": True}
    return "diff v1→v2: differs"


def _capture_status(m: dict[str, Any]) -> str:
    c = next(c for c in m["captures"] if c["status"] == 404)
    c["status"] = 200
    return f"capture {c['id']}: status is 200"


def _word_count(m: dict[str, Any]) -> str:
    v = m["versions"][0]
    v["words"] += 1
    return f"version 1 (id {v['id']}): words is"


def _article_key(m: dict[str, Any]) -> str:
    m["article"]["key"] = "https://khmer.example/news/9999/"
    return f"article {m['article']['id']}: key is"


def _removed_at(m: dict[str, Any]) -> str:
    m["article"]["removed_at"] = "2026-12-01T00:00:00+00:00"
    return f"article {m['article']['id']}: removed_at is '2026-12-01"


def _fetched_at(m: dict[str, Any]) -> str:
    c = m["captures"][0]
    c["fetched_at"] = "2026-01-01T00:00:00Z"
    return f"capture {c['id']}: fetched_at is '2026-01-01"


def remove_capture(files: Files) -> tuple[Files, str]:
    """The edit's capture, its proof and its records' references dropped."""
    manifest = manifest_of(files)
    edited = next(e for e in manifest["events"] if e["kind"] == "edited")
    manifest["captures"] = [c for c in manifest["captures"] if c["id"] != edited["capture_id"]]
    proofs = json.loads(files["evidence/proofs.json"])
    proofs["proofs"] = [p for p in proofs["proofs"] if p["capture_id"] != edited["capture_id"]]
    files["evidence/manifest.json"] = json.dumps(manifest).encode()
    files["evidence/proofs.json"] = json.dumps(proofs).encode()
    return files, f"event {edited['id']} (edited): in the manifest but in no capture's leaf"


def edit_proof_hash(files: Files) -> tuple[Files, str]:
    proofs = json.loads(files["evidence/proofs.json"])
    entry = proofs["proofs"][0]
    entry["hashes"][0] = hashlib.sha256(b"forged").hexdigest()
    files["evidence/proofs.json"] = json.dumps(proofs).encode()
    return files, f"capture {entry['capture_id']}: inclusion proof of leaf"


def edit_leaf(files: Files) -> tuple[Files, str]:
    proofs = json.loads(files["evidence/proofs.json"])
    entry = proofs["proofs"][-1]
    entry["leaf"] = entry["leaf"].replace('"status":404', '"status":200', 1)
    files["evidence/proofs.json"] = json.dumps(proofs).encode()
    return files, f"capture {entry['capture_id']}: its leaf does not hash"


def forge_signature(files: Files) -> tuple[Files, str]:
    note = files["evidence/checkpoint.txt"].decode()
    body, _, sig = note.partition("\n\n")
    name, _, encoded = sig.strip().removeprefix("\u2014 ").rpartition(" ")
    raw = bytearray(base64.b64decode(encoded))
    raw[-1] ^= 0x01
    forged = f"{body}\n\n\u2014 {name} {base64.b64encode(bytes(raw)).decode()}\n"
    files["evidence/checkpoint.txt"] = forged.encode()
    return files, "evidence/checkpoint.txt: signature check failed"


ALTERATIONS: dict[str, Callable[[Files], tuple[Files, str]]] = {
    "a WARC byte": flip_warc_byte,
    "a version's last_seen date": edit_manifest(_last_seen),
    "an event's date": edit_manifest(_event_date),
    "the article un-removed": edit_manifest(_unremove),
    "an event hidden": edit_manifest(_hide_event),
    "a version's text": edit_manifest(_version_text),
    "a diff": edit_manifest(_diff),
    "a capture's status": edit_manifest(_capture_status),
    "a version's word count": edit_manifest(_word_count),
    "the article's URL": edit_manifest(_article_key),
    "the article's removal date": edit_manifest(_removed_at),
    "a capture's date": edit_manifest(_fetched_at),
    "a capture removed": remove_capture,
    "a proof hash": edit_proof_hash,
    "a leaf": edit_leaf,
    "the checkpoint signature": forge_signature,
}


@pytest.mark.parametrize("name", list(ALTERATIONS))
def test_each_alteration_fails_naming_what(
    name: str, package: Path, key_file: Path, tmp_path: Path
) -> None:
    files, expected = ALTERATIONS[name](read(package))
    altered = write(files, tmp_path / "altered.wacz")
    found = failures(altered, key_file)
    assert any(f.startswith(expected) for f in found), (expected, found)


def test_an_altered_file_without_rehash_fails_the_wacz_digest(
    package: Path, key_file: Path, tmp_path: Path
) -> None:
    files, _ = flip_warc_byte(read(package))
    path = _capture(files, "response")["record"]["path"]
    found = failures(write(files, tmp_path / "a.wacz", rehash=False), key_file)
    assert f"{path}: its sha256 differs from the one in datapackage.json" in found

    files = read(package)
    files["datapackage.json"] = files["datapackage.json"].replace(b'"title"', b'"titel"')
    found = failures(write(files, tmp_path / "b.wacz", rehash=False), key_file)
    assert "datapackage.json: its sha256 differs from datapackage-digest.json" in found

    files = read(package)
    files["evidence/checkpoint.tsr"] = b"not listed"
    found = failures(write(files, tmp_path / "c.wacz", rehash=False), key_file)
    assert "evidence/checkpoint.tsr: in the package but not listed in datapackage.json" in found

    files = read(package)
    files["evidence/extra.txt"] = b"not a file of the layout"
    found = failures(write(files, tmp_path / "d.wacz", rehash=False), key_file)
    assert found == ["evidence/extra.txt: not a file an evidence package has"]


def test_any_byte_altered_in_any_file_fails(package: Path, key_file: Path, tmp_path: Path) -> None:
    """Fifteen positions spread over every file of the package, each flipped alone and
    left for the verifier to find (no forger's rehash)."""
    original = read(package)
    tried = 0
    for name, data in original.items():
        for i in range(15):
            position = (len(data) - 1) * i // 14
            files = dict(original)
            flipped = bytearray(data)
            flipped[position] ^= 0x20
            files[name] = bytes(flipped)
            try:
                found = failures(write(files, tmp_path / "f.wacz", rehash=False), key_file)
            except Unreadable as exc:  # a JSON document no longer parses: refused whole
                found = [str(exc)]
            assert found, f"{name}@{position} altered, verify_package passed"
            tried += 1
    assert tried == 15 * len(original)


@pytest.mark.postgres
def test_package_from_postgres_verifies(pg_url: str, tmp_path: Path, at: Any) -> None:
    from presswatch.settings import Settings

    rt = Runtime(Settings(data_dir=tmp_path / "data", database_url=pg_url))
    rt.init()
    try:
        record_evidence_story(rt, at)
        out = tmp_path / "story.wacz"
        assert cli_with(rt, "export", "evidence", URL, "-o", str(out)).exit_code == 0
        assert wacz_validate(out).returncode == 0
        result = verify_package(out, rt.log_signer().verifier_key)
        assert result.ok, result.failures
    finally:
        rt.close()


def test_a_wrong_key_fails(package: Path, tmp_path: Path) -> None:
    other = Signer("presswatch-log", Ed25519PrivateKey.generate())
    wrong = tmp_path / "wrong.txt"
    wrong.write_text(other.verifier_key)
    # Another key is not tampering: its own reason and exit code, the package's key named.
    result = verify_package(package, wrong.read_text())
    assert [f.reason for f in result.failures] == ["other-key"]
    assert result.exit_code == 3
    assert str(result.failures[0]).startswith("evidence/checkpoint.txt: signed by another key")
    # The same other key put in the package too does not help: the checkpoint is ours.
    files = read(package)
    files["evidence/log-key.txt"] = other.verifier_key.encode()
    forged = verify_package(write(files, tmp_path / "forged.wacz"), wrong.read_text())
    assert [f.reason for f in forged.failures] == ["other-key"], forged.failures
    assert forged.exit_code == 3 and forged.statement is None


def test_a_manifest_that_is_not_json_is_unreadable(
    package: Path, key_file: Path, tmp_path: Path
) -> None:
    files = read(package)
    files["evidence/manifest.json"] = b"{not json"
    with pytest.raises(Unreadable, match=r"^evidence/manifest.json: not valid JSON"):
        verify_package(write(files, tmp_path / "m.wacz"), key_file.read_text())


@pytest.mark.parametrize(
    "manifest", [b"[]", b'{"events": "x", "versions": [1], "captures": {"a": 1}}']
)
def test_a_malformed_manifest_is_named_not_a_crash(
    manifest: bytes, package: Path, key_file: Path, tmp_path: Path
) -> None:
    files = read(package)
    files["evidence/manifest.json"] = manifest
    found = failures(write(files, tmp_path / "m.wacz"), key_file)
    assert any(f.startswith("evidence/manifest.json: ") for f in found), found


def test_cli_exit_codes(package: Path, key_file: Path, tmp_path: Path) -> None:
    from presswatch.verify_package import main

    assert main([str(package), "--public-key", str(key_file)]) == 0
    files, _ = flip_warc_byte(read(package))
    assert main([str(write(files, tmp_path / "x.wacz")), "--public-key", str(key_file)]) == 1
    (tmp_path / "junk.wacz").write_bytes(b"not a zip")
    assert main([str(tmp_path / "junk.wacz")]) == 2


# -- RFC 3161 ------------------------------------------------------------------------------


def test_a_timestamped_checkpoint_travels_with_the_package(
    runtime: Runtime,
    at: Any,
    tsa: LocalTsa,
    key_file: Path,
    tmp_path: Path,
) -> None:
    """With tsa_url set, the checkpoint the export signs is timestamped by the TSA (one
    run on 127.0.0.1); the verifier checks the token and names the TSA and its time."""
    record_evidence_story(runtime, at)
    out = tmp_path / "story.wacz"
    result = CliRunner().invoke(
        app,
        ["--data-dir", str(runtime.settings.data_dir), "export", "evidence", URL, "-o", str(out)],
        env={"PRESSWATCH_TSA_URL": tsa.url, "PRESSWATCH_ALLOW_NETWORKS": "127.0.0.1/32"},
    )
    assert result.exit_code == 0, result.output
    assert len(tsa.requests) == 1
    files = read(out)
    assert manifest_of(files)["log"]["timestamp"] == "evidence/checkpoint.tsr"
    assert wacz_validate(out).returncode == 0
    verified = verify_package(out, key_file.read_text().strip())
    assert verified.ok, verified.failures
    assert verified.timestamp is not None
    assert verified.timestamp["tsa"] == "CN=Presswatch test TSA"

    token = bytearray(files["evidence/checkpoint.tsr"])
    token[-10] ^= 0x01
    files["evidence/checkpoint.tsr"] = bytes(token)
    found = failures(write(files, tmp_path / "t.wacz"), key_file)
    assert any(f.startswith("evidence/checkpoint.tsr: RFC 3161 timestamp") for f in found), found
