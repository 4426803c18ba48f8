"""`/api/checkpoints` and `/api/captures/{id}/proof`: what an outsider gets from the API
is enough to check a capture's inclusion against a signed checkpoint, with only the
published verifier key and the algorithms of docs/evidence.md."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from archive.log import issue_checkpoint
from archive.log.merkle import ProofError, leaf_hash, verify_inclusion
from archive.log.signing import parse_checkpoint, verify_note
from archive.store.models import Capture, CaptureLeaf
from presswatch.runtime import Runtime
from search_api.app import create_app
from search_api.backends.sqlite_fts import SqliteFtsBackend
from tests import archive_helpers as h

URL = "https://khmer.example/news/4412/"


def client_for(rt: Runtime) -> TestClient:
    backend = SqliteFtsBackend(rt.settings.search_index_path)
    backend.configure()
    return TestClient(create_app(rt.settings, sessions=rt.sessions, warc=rt.warc, backend=backend))


def check_proof(proof: dict[str, Any], root_hash: bytes) -> None:
    verify_inclusion(
        leaf_hash(proof["leaf"].encode("utf-8")),
        proof["leaf_index"],
        proof["tree_size"],
        [bytes.fromhex(x) for x in proof["hashes"]],
        root_hash,
    )


def test_proofs_check_against_the_signed_checkpoint(runtime: Runtime, at: Any) -> None:
    html = h.km_story(URL).html
    for i in range(5):
        h.record(
            runtime, h.exchange(URL, html if i != 2 else h.khmer_byline_changed(html), at=at(i))
        )
    signer = runtime.log_signer()
    issue_checkpoint(runtime.sessions, signer, now=datetime(2026, 3, 2, tzinfo=UTC))
    h.record(runtime, h.exchange(URL, html, at=at(9)))  # after the checkpoint
    with runtime.sessions() as s:
        ids = list(s.scalars(select(Capture.id).order_by(Capture.seq)))

    with client_for(runtime) as client:
        listed = client.get("/api/checkpoints").json()
        assert [c["tree_size"] for c in listed] == [5]
        note = listed[0]["note"]
        head = verify_note(note, signer.verifier_key)  # the published key is all it takes
        assert head.tree_size == 5 and head.root_hash.hex() == listed[0]["root_hash"]

        for capture_id in ids[:5]:
            proof = client.get(f"/api/captures/{capture_id}/proof").json()
            assert proof["checkpoint_id"] == listed[0]["id"] and proof["tree_size"] == 5
            check_proof(proof, head.root_hash)
            shown = client.get(f"/api/captures/{capture_id}").json()
            assert shown["leaf_hash"] == proof["leaf_hash"]
        # A capture newer than every checkpoint is proven against the current head.
        newest = client.get(f"/api/captures/{ids[5]}/proof").json()
        assert newest["checkpoint_id"] is None and newest["tree_size"] == 6
        check_proof(newest, bytes.fromhex(newest["root_hash"]))

        # A leaf that says something else does not prove.
        forged = client.get(f"/api/captures/{ids[1]}/proof").json()
        forged["leaf"] = forged["leaf"].replace('"status":200', '"status":404')
        with pytest.raises(ProofError):
            check_proof(forged, head.root_hash)

        assert client.get("/api/captures/999999/proof").status_code == 404

        # A stored leaf that no longer reads back as the bytes the log hashed is refused,
        # not handed out.
        with runtime.sessions.begin() as s:
            stored = s.get(CaptureLeaf, ids[1])
            assert stored is not None
            stored.leaf_z = stored.leaf_z[:-3]
        refused = client.get(f"/api/captures/{ids[1]}/proof")
        assert refused.status_code == 503 and "presswatch verify" in refused.text


def test_checkpoint_note_is_a_c2sp_signed_note(runtime: Runtime, at: Any) -> None:
    h.record(runtime, h.exchange(URL, h.km_story(URL).html, at=at(0)))
    signer = runtime.log_signer()
    note = issue_checkpoint(runtime.sessions, signer, now=datetime(2026, 3, 2, tzinfo=UTC)).note
    body, sigs = note.split("\n\n")
    origin, size, root64 = body.split("\n")
    assert origin == runtime.settings.log_origin and size == "1"
    assert len(base64.b64decode(root64)) == 32
    name, payload = sigs.removeprefix("\u2014 ").rstrip("\n").split(" ")
    raw = base64.b64decode(payload)
    assert name == origin and len(raw) == 4 + 64
    assert parse_checkpoint(note).tree_size == 1
    vkey_name, keyid, _ = signer.verifier_key.split("+", 2)
    assert vkey_name == origin and bytes.fromhex(keyid) == raw[:4]
