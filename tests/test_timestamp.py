"""RFC 3161 timestamps on checkpoints, against a Time-Stamp Authority we run on
127.0.0.1 (a real HTTP server answering real TimeStampReq with CMS-signed tokens, made
with asn1crypto and a throwaway EC key and certificate: the `tsa` fixture of
tests/local_tsa.py). `openssl ts` reads the tokens, as an outsider would."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from typer.testing import CliRunner

from archive.log.timestamp import TimestampError, verify_token
from archive.store.models import LogCheckpoint
from presswatch.cli import app
from presswatch.runtime import Runtime
from tests import archive_helpers as h
from tests.conftest import skip_unless_ci
from tests.local_tsa import LocalTsa

URL = "https://khmer.example/news/4412/"


def run(rt: Runtime, tsa_url: str, *args: str) -> Any:
    env = {"PRESSWATCH_TSA_URL": tsa_url, "PRESSWATCH_ALLOW_NETWORKS": "127.0.0.1/32"}
    return CliRunner().invoke(app, ["--data-dir", str(rt.settings.data_dir), *args], env=env)


def test_checkpoint_carries_a_verifiable_timestamp(
    runtime: Runtime, at: Any, tsa: LocalTsa, tmp_path: Path
) -> None:
    h.record(runtime, h.exchange(URL, h.km_story(URL).html, at=at(0)))
    result = run(runtime, tsa.url, "checkpoint", "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["tsa_token"] and len(tsa.requests) == 1
    with runtime.sessions() as s:
        stored = s.scalars(select(LogCheckpoint)).one()
        token, note = stored.tsa_token, stored.note
    assert token is not None
    info = verify_token(token, note.encode())
    assert info.tsa_subject == "CN=Presswatch test TSA"
    assert abs(info.gen_time - datetime.now(UTC)) < timedelta(minutes=5)
    with pytest.raises(TimestampError, match="other data"):
        verify_token(token, note.replace("\n1\n", "\n2\n").encode())
    assert run(runtime, tsa.url, "verify").exit_code == 0

    # An outsider's tool reads it: openssl checks the token against the note and the cert.
    if shutil.which("openssl") is None:
        skip_unless_ci("openssl is not installed")
    (tmp_path / "token.der").write_bytes(token)
    (tmp_path / "note.txt").write_bytes(note.encode())
    (tmp_path / "tsa.pem").write_bytes(tsa.cert.public_bytes(serialization.Encoding.PEM))
    check = subprocess.run(
        [
            "openssl",
            "ts",
            "-verify",
            "-token_in",
            "-in",
            str(tmp_path / "token.der"),
            "-data",
            str(tmp_path / "note.txt"),
            "-CAfile",
            str(tmp_path / "tsa.pem"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0 and "Verification: OK" in check.stdout, check.stderr


def test_a_tampered_token_fails_verify(runtime: Runtime, at: Any, tsa: LocalTsa) -> None:
    h.record(runtime, h.exchange(URL, h.km_story(URL).html, at=at(0)))
    assert run(runtime, tsa.url, "checkpoint").exit_code == 0
    with runtime.sessions.begin() as s:
        stored = s.scalars(select(LogCheckpoint)).one()
        assert stored.tsa_token is not None
        token = bytearray(stored.tsa_token)
        token[-5] ^= 0x01  # inside the signature
        stored.tsa_token = bytes(token)
    result = run(runtime, tsa.url, "verify", "--json")
    report = json.loads(result.stdout)
    assert result.exit_code == 1
    assert any(p["field"] == "checkpoint.tsa_token" for p in report["problems"]), report


@pytest.mark.parametrize(
    ("mode", "message"), [("refuse", "refused"), ("wrong_imprint", "other data")]
)
def test_a_tsa_that_refuses_or_lies_stores_nothing(
    runtime: Runtime, at: Any, tsa: LocalTsa, mode: str, message: str
) -> None:
    h.record(runtime, h.exchange(URL, h.km_story(URL).html, at=at(0)))
    tsa.mode = mode
    result = run(runtime, tsa.url, "checkpoint")
    assert (
        result.exit_code == 1
        and message in result.stderr
        and "no checkpoint stored" in result.stderr
    )
    with runtime.sessions() as s:
        assert s.scalars(select(LogCheckpoint)).first() is None


def test_an_unreachable_tsa_is_one_clear_line(runtime: Runtime) -> None:
    result = run(runtime, "http://127.0.0.1:9/tsr", "checkpoint")
    assert (
        result.exit_code == 1 and "did not answer" in result.stderr and "tsa_url" in result.stderr
    )


# -- the egress policy (issue 22, item 4) ----------------------------------------------


@pytest.mark.allow_hosts(["127.0.0.1", "127.0.0.2", "::1"])  # what the policy must refuse
def test_a_tsa_redirect_is_not_followed(runtime: Runtime, at: Any, tsa: LocalTsa) -> None:
    """A TSA answering 302 to another address (here an internal one, 127.0.0.2, which
    is not allowed) gets no second request: the redirect is reported, nothing stored."""
    received: list[str] = []

    class Internal(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            received.append(self.path)
            self.send_response(200)
            self.end_headers()

        do_GET = do_POST  # noqa: N815

        def log_message(self, *args: Any) -> None:
            pass

    internal = ThreadingHTTPServer(("127.0.0.2", 0), Internal)
    threading.Thread(target=internal.serve_forever, daemon=True).start()
    try:
        h.record(runtime, h.exchange(URL, h.km_story(URL).html, at=at(0)))
        tsa.redirect = f"http://127.0.0.2:{internal.server_address[1]}/tsr"
        result = run(runtime, tsa.url, "checkpoint")
    finally:
        internal.shutdown()
        internal.server_close()
    assert result.exit_code == 1 and "redirect" in result.stderr, result.output
    assert len(tsa.requests) == 1 and received == []
    with runtime.sessions() as s:
        assert s.scalars(select(LogCheckpoint)).first() is None


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("file:///etc/passwd", "only http and https"),
        ("ftp://tsa.example/tsr", "only http and https"),
        ("http://169.254.169.254/tsr", "link-local"),
        ("http://2130706434:9/tsr", "loopback"),
    ],
)
def test_a_tsa_url_the_egress_policy_refuses_is_not_asked(
    runtime: Runtime, at: Any, url: str, why: str
) -> None:
    h.record(runtime, h.exchange(URL, h.km_story(URL).html, at=at(0)))
    result = run(runtime, url, "checkpoint")
    assert result.exit_code == 1 and why in result.stderr and "tsa_url" in result.stderr
