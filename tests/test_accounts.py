"""Accounts, tokens, sign-in throttling and the audit log: each audit entry is a leaf of
the transparency log, interleaved with the captures, so `presswatch verify` fails when
an entry (or a case note it commits to) is changed afterwards."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from archive.accounts import (
    ACCOUNT_FAILURES,
    API_KEY,
    actor_for_token,
    actor_of,
    add_note,
    add_to_case,
    create_account,
    create_token,
    disable_account,
    revoke_token,
    sign_in,
)
from archive.errors import NotAllowed, Throttled
from archive.log import capture_proof, verify_inclusion
from archive.store import Account, AuditEntry, Capture, CaseNote
from presswatch.cli import app
from presswatch.runtime import Runtime
from tests import archive_helpers as h

URL = "https://news.example/story/1/"
PASSWORD = "correct horse battery"


def cli(rt: Runtime, *args: str, input: str | None = None) -> Any:
    db = ["--database-url", rt.settings.database_url] if rt.settings.database_url else []
    return CliRunner().invoke(
        app, ["--data-dir", str(rt.settings.data_dir), *db, *args], input=input
    )


def verify_json(rt: Runtime) -> tuple[int, dict[str, Any]]:
    result = cli(rt, "verify", "--json", "--no-signature")
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def test_audit_entries_share_the_log_with_captures_and_verify(
    any_runtime: Runtime, at: Any
) -> None:
    runtime = any_runtime
    h.record(runtime, h.exchange(URL, h.en_story(URL).html, at=at(0)))
    with runtime.sessions.begin() as s:
        create_account(s, API_KEY, "dara", "editor", PASSWORD, now=at(1))
    h.record(runtime, h.exchange(URL, h.en_story(URL).html, at=at(2)))
    with runtime.sessions() as s:
        seqs = sorted(s.scalars(select(Capture.seq)))
        audit = s.scalars(select(AuditEntry)).one()
        assert seqs == [1, 3] and audit.seq == 2
        # A capture after the audit entry still proves its inclusion in the one tree.
        capture = s.scalars(select(Capture).where(Capture.seq == 3)).one()
        proof = capture_proof(s, capture)
        assert proof.tree_size == 3
        verify_inclusion(
            bytes.fromhex(proof.leaf_hash),
            proof.leaf_index,
            proof.tree_size,
            [bytes.fromhex(x) for x in proof.hashes],
            bytes.fromhex(proof.root_hash),
        )
    code, report = verify_json(runtime)
    assert code == 0, report["problems"]
    assert report["tree_size"] == 3


@pytest.mark.parametrize(
    "change",
    [
        {"actor": "someone-else"},
        {"action": "account.disable"},
        {"detail": {"role": "admin"}},
    ],
)
def test_verify_fails_when_an_audit_entry_is_rewritten(
    runtime: Runtime, at: Any, change: dict[str, Any]
) -> None:
    with runtime.sessions.begin() as s:
        create_account(s, API_KEY, "dara", "editor", PASSWORD, now=at(1))
    assert verify_json(runtime)[0] == 0
    with runtime.sessions.begin() as s:
        s.execute(update(AuditEntry).values(**change))
    code, report = verify_json(runtime)
    assert code == 1
    assert any(p["field"].startswith("audit.") for p in report["problems"]), report


def test_verify_fails_when_an_audit_entry_is_deleted(runtime: Runtime, at: Any) -> None:
    with runtime.sessions.begin() as s:
        create_account(s, API_KEY, "dara", "editor", PASSWORD, now=at(1))
        create_account(s, API_KEY, "sok", "viewer", PASSWORD, now=at(2))
    with runtime.sessions.begin() as s:
        s.delete(s.scalars(select(AuditEntry).where(AuditEntry.seq == 1)).one())
    code, report = verify_json(runtime)
    assert code == 1 and any("log gap" in p["problem"] for p in report["problems"])


def test_verify_fails_when_a_case_note_is_changed(runtime: Runtime, at: Any) -> None:
    h.record(runtime, h.exchange(URL, h.en_story(URL).html, at=at(0)))
    with runtime.sessions.begin() as s:
        editor = create_account(s, API_KEY, "dara", "editor", PASSWORD, now=at(1))
        actor = actor_of(editor)
        add_to_case(s, actor, "compound", URL, tags=["scam"], now=at(2))
        add_note(s, actor, "compound", "Headline softened after the ministry's call", now=at(3))
    assert verify_json(runtime)[0] == 0
    with runtime.sessions.begin() as s:
        s.execute(update(CaseNote).values(text="Nothing happened"))
    code, report = verify_json(runtime)
    assert code == 1 and any(p["field"] == "case_note.text" for p in report["problems"])


def test_tokens_act_as_their_account_until_revoked(runtime: Runtime, at: Any) -> None:
    with runtime.sessions.begin() as s:
        create_account(s, API_KEY, "dara", "editor", PASSWORD, now=at(0))
        made = create_token(s, API_KEY, "dara", "laptop", now=at(0))
    token = made.token
    with runtime.sessions.begin() as s:
        assert actor_for_token(s, token, now=at(1)).actor.name == "dara"
        row = revoke_token(s, API_KEY, made.row.id, now=at(2))
        assert row.revoked_at is not None
    with runtime.sessions.begin() as s, pytest.raises(NotAllowed):
        actor_for_token(s, token, now=at(3))
    with runtime.sessions() as s:
        actions = [e.action for e in s.scalars(select(AuditEntry).order_by(AuditEntry.seq))]
        stored = json.dumps([e.detail for e in s.scalars(select(AuditEntry))])
    assert actions == ["account.create", "token.create", "token.revoke"]
    assert token not in stored and token[10:] not in stored


def test_disabled_account_cannot_sign_in_nor_use_its_tokens(runtime: Runtime, at: Any) -> None:
    with runtime.sessions.begin() as s:
        create_account(s, API_KEY, "dara", "editor", PASSWORD, now=at(0))
        token = create_token(s, API_KEY, "dara", "laptop", now=at(0)).token
        disable_account(s, API_KEY, "dara", now=at(1))
    with runtime.sessions.begin() as s:
        with pytest.raises(NotAllowed):
            actor_for_token(s, token, now=at(2))
        with pytest.raises(NotAllowed):
            sign_in(s, "dara", PASSWORD, client="127.0.0.1", now=at(2))


def test_sign_in_is_throttled_per_account_and_per_address(runtime: Runtime, at: Any) -> None:
    with runtime.sessions.begin() as s:
        create_account(s, API_KEY, "dara", "editor", PASSWORD, now=at(0))
    for i in range(ACCOUNT_FAILURES):
        with runtime.sessions.begin() as s, pytest.raises(NotAllowed) as refused:
            sign_in(s, "dara", f"wrong password {i}", client=f"10.0.0.{i}", now=at(1))
        assert not isinstance(refused.value, Throttled)
    # The right password is refused too while the account is throttled.
    with runtime.sessions.begin() as s, pytest.raises(Throttled):
        sign_in(s, "dara", PASSWORD, client="10.0.0.99", now=at(1))
    with runtime.sessions.begin() as s:
        assert sign_in(s, "dara", PASSWORD, client="10.0.0.99", now=at(1) + timedelta(minutes=16))
    # Per address: many names from one address.
    for i in range(20):
        with runtime.sessions.begin() as s, pytest.raises(NotAllowed):
            sign_in(s, f"nobody{i}", "whatever else", client="192.0.2.7", now=at(2))
    with runtime.sessions.begin() as s, pytest.raises(Throttled):
        sign_in(s, "dara", PASSWORD, client="192.0.2.7", now=at(2))


def test_passwords_are_stored_as_argon2id_hashes(runtime: Runtime, at: Any) -> None:
    with runtime.sessions.begin() as s:
        create_account(s, API_KEY, "dara", "editor", PASSWORD, now=at(0))
    with runtime.sessions() as s:
        stored = s.scalars(select(Account.password_hash)).one()
    assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored
