"""A Time-Stamp Authority on 127.0.0.1 for the timestamp and evidence tests: a real
HTTP server answering real TimeStampReq with CMS-signed tokens, made with asn1crypto
and a throwaway EC key and certificate. A pytest plugin (tests/conftest.py lists it):
the `tsa` fixture starts one per test.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


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
