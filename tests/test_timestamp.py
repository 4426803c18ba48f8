"""RFC 3161 timestamps on checkpoints, against a Time-Stamp Authority we run on
127.0.0.1 (a real HTTP server answering real TimeStampReq with CMS-signed tokens, made
with asn1crypto and a throwaway EC key and certificate). `openssl ts` reads the tokens,
as an outsider would."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import select
from typer.testing import CliRunner

from archive.log.timestamp import TimestampError, verify_token
from archive.store.models import LogCheckpoint
from presswatch.cli import app
from presswatch.runtime import Runtime
from tests import archive_helpers as h
from tests.conftest import skip_unless_ci

URL = "https://khmer.example/news/4412/"


@dataclass
class LocalTsa:
    """A TSA: signs whatever imprint it is sent, or misbehaves as `mode` says."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    mode: str = "good"  # good | refuse | wrong_imprint
    requests: list[bytes] = field(default_factory=list)
    url: str = ""
    gen_time: datetime | None = None  # the time it says; None: now
    redirect: str | None = None  # answer every request with a 307 to here

    def answer(self, body: bytes) -> bytes:
        self.requests.append(body)
        if self.mode == "refuse":
            # A TimeStampResp of a status alone (asn1crypto insists on a token: wrap by hand).
            status = tsp.PKIStatusInfo(
                {"status": "rejection", "status_string": ["policy says no"]}
            ).dump()
            return b"\x30" + bytes([len(status)]) + status
        request = tsp.TimeStampReq.load(body)
        imprint = request["message_imprint"]
        if self.mode == "wrong_imprint":
            imprint = tsp.MessageImprint(
                {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": b"\0" * 32}
            )
        tst = tsp.TSTInfo(
            {
                "version": "v1",
                "policy": "1.3.6.1.4.1.99999.1",
                "message_imprint": imprint,
                "serial_number": len(self.requests),
                "gen_time": self.gen_time or datetime.now(UTC).replace(microsecond=0),
                "nonce": request["nonce"].native,
            }
        )
        tst_der = tst.dump()
        cert = asn1_x509.Certificate.load(self.cert.public_bytes(serialization.Encoding.DER))
        attrs = cms.CMSAttributes(
            [
                {"type": "content_type", "values": ["tst_info"]},
                {"type": "message_digest", "values": [hashlib.sha256(tst_der).digest()]},
                {
                    "type": "signing_certificate_v2",
                    "values": [{"certs": [{"cert_hash": hashlib.sha256(cert.dump()).digest()}]}],
                },
            ]
        )
        signature = self.key.sign(attrs.dump(), ec.ECDSA(hashes.SHA256()))
        signer = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier(
                    {
                        "issuer_and_serial_number": {
                            "issuer": cert.issuer,
                            "serial_number": cert.serial_number,
                        }
                    }
                ),
                "digest_algorithm": {"algorithm": "sha256"},
                "signed_attrs": attrs,
                "signature_algorithm": {"algorithm": "sha256_ecdsa"},
                "signature": signature,
            }
        )
        signed = cms.SignedData(
            {
                "version": "v3",
                "digest_algorithms": [{"algorithm": "sha256"}],
                "encap_content_info": {
                    "content_type": "tst_info",
                    "content": cms.ParsableOctetString(tst_der),
                },
                "certificates": [cert],
                "signer_infos": [signer],
            }
        )
        token = cms.ContentInfo({"content_type": "signed_data", "content": signed})
        return tsp.TimeStampResp(
            {"status": {"status": "granted"}, "time_stamp_token": token}
        ).dump()


def _certificate(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Presswatch test TSA")])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(key, hashes.SHA256())
    )


@pytest.fixture
def tsa() -> Iterator[LocalTsa]:
    key = ec.generate_private_key(ec.SECP256R1())
    authority = LocalTsa(key, _certificate(key))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            assert self.headers["Content-Type"] == "application/timestamp-query"
            if authority.redirect is not None:  # a TSA sending us on elsewhere
                authority.requests.append(body)
                self.send_response(302)  # urllib would follow it (as a GET)
                self.send_header("Location", authority.redirect)
                self.end_headers()
                return
            answer = authority.answer(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    authority.url = f"http://127.0.0.1:{server.server_address[1]}/tsr"
    yield authority
    server.shutdown()
    server.server_close()


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
