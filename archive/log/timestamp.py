"""RFC 3161 timestamps for signed checkpoints: a Time-Stamp Authority (TSA) countersigns
the SHA-256 of a checkpoint note, so a third party can show the head existed by then,
independently of the operator's key and clock.

The ASN.1 (TimeStampReq, TimeStampResp, TSTInfo, CMS SignedData) is read and written
with asn1crypto; signatures are checked with cryptography. The token is kept as the
DER of its CMS ContentInfo, the form `openssl ts -verify -token_in` reads. Nothing here
touches the network: `presswatch.tsa` asks the TSA.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import cms, core, tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from archive.errors import StorageError

MAX_RESPONSE_BYTES = 1_000_000
_HASHES: dict[str, hashes.HashAlgorithm] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}


class _Response(core.Sequence):  # type: ignore[misc]
    """TimeStampResp with its token optional, as RFC 3161 says (asn1crypto requires it,
    so a TSA's refusal would not parse)."""

    _fields = [  # noqa: RUF012 - asn1crypto's declaration style
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


class TimestampError(StorageError):
    """A TSA refused, answered garbage, or a token does not check out."""


@dataclass(frozen=True, slots=True)
class TokenInfo:
    gen_time: datetime
    serial: int
    policy: str
    tsa_subject: str
    tsa_issuer: str = ""
    tsa_fingerprint: str = ""  # SHA-256 of the signer certificate's DER, hex
    trusted: bool = False  # chained to a root the reader supplied (`trust_roots`)


def timestamp_request(data: bytes, nonce: int) -> bytes:
    request = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": hashlib.sha256(data).digest(),
            },
            "nonce": nonce,
            "cert_req": True,
        }
    )
    return bytes(request.dump())


def token_from_response(url: str, body: bytes, data: bytes, nonce: int) -> bytes:
    """The checked token (DER) in a TSA's answer `body` to `timestamp_request(data,
    nonce)`; TimestampError naming the TSA at `url` when it refused or lied. The request
    itself goes over the network in `presswatch.tsa`, through the egress policy."""
    try:
        parsed = _Response.load(body)
        status = parsed["status"]["status"].native
        token = parsed["time_stamp_token"]
        text = parsed["status"]["status_string"].native
    except (ValueError, TypeError, KeyError) as exc:
        raise TimestampError(f"the TSA at {url} did not send a TimeStampResp: {exc}") from exc
    if status not in ("granted", "granted_with_mods") or token.native is None:
        text = " ".join(text or [])
        raise TimestampError(f"the TSA at {url} refused: {status} {text}".strip())
    der = bytes(token.dump())
    verify_token(der, data, nonce=nonce)
    return der


def _signed_data(token: bytes) -> cms.SignedData:
    try:
        info = cms.ContentInfo.load(token)
        if info["content_type"].native != "signed_data":
            raise TimestampError("the timestamp token is not CMS SignedData")
        signed: cms.SignedData = info["content"]
        _ = signed["encap_content_info"]["content"].parsed
        return signed
    except (ValueError, TypeError, KeyError) as exc:
        raise TimestampError(f"the timestamp token is not readable: {exc}") from exc


def verify_token(
    token: bytes,
    data: bytes,
    *,
    nonce: int | None = None,
    trust_roots: Sequence[x509.Certificate] | None = None,
) -> TokenInfo:
    """Check that `token` timestamps exactly `data`, that its CMS signature verifies
    with the certificate it carries, and that this certificate was valid at the token's
    time. Anyone can make a certificate named like a known TSA, so the token is
    `trusted` only when `trust_roots` are given and the signer chains to one of them
    (through certificates the token carries), every link valid at the token's time and
    the signer's certificate issued for time stamping; otherwise TimestampError."""
    signed = _signed_data(token)
    encap = signed["encap_content_info"]
    if encap["content_type"].native != "tst_info":
        raise TimestampError("the timestamp token does not hold a TSTInfo")
    tst_der = encap["content"].contents
    tst = tsp.TSTInfo.load(tst_der)
    imprint = tst["message_imprint"]
    algorithm = imprint["hash_algorithm"]["algorithm"].native
    if algorithm not in _HASHES:
        raise TimestampError(f"the timestamp uses an unsupported hash {algorithm}")
    if hashlib.new(algorithm, data).digest() != imprint["hashed_message"].native:
        raise TimestampError("the timestamp token is for other data than this checkpoint")
    if nonce is not None and tst["nonce"].native != nonce:
        raise TimestampError("the TSA answered with another request's nonce")
    infos = signed["signer_infos"]
    if len(infos) != 1:
        raise TimestampError("the timestamp token must have exactly one signer")
    signer = infos[0]
    cert = _signer_certificate(signed, signer)
    attrs = signer["signed_attrs"]
    digest_name = signer["digest_algorithm"]["algorithm"].native
    if digest_name not in _HASHES:
        raise TimestampError(f"the timestamp is signed with an unsupported hash {digest_name}")
    message_digest = next(
        (a["values"][0].native for a in attrs if a["type"].native == "message_digest"), None
    )
    if message_digest != hashlib.new(digest_name, tst_der).digest():
        raise TimestampError("the timestamp's signed digest does not match its TSTInfo")
    signed_bytes = b"\x31" + attrs.dump()[1:]  # signed as a SET OF, not the [0] field
    _check_signature(cert, signer["signature"].native, signed_bytes, _HASHES[digest_name])
    gen_time: datetime = tst["gen_time"].native
    _check_valid_at(cert, gen_time)
    if trust_roots is not None:
        _check_certificate_chain(cert, _carried_certificates(signed), trust_roots, gen_time)
    return TokenInfo(
        gen_time=gen_time,
        serial=tst["serial_number"].native,
        policy=tst["policy"].dotted,
        tsa_subject=cert.subject.rfc4514_string(),
        tsa_issuer=cert.issuer.rfc4514_string(),
        tsa_fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
        trusted=trust_roots is not None,
    )


def load_trust_roots(pem: bytes) -> list[x509.Certificate]:
    """The certificates of a PEM bundle (`--tsa-ca FILE`)."""
    try:
        roots = x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise TimestampError(f"the TSA CA file holds no PEM certificate: {exc}") from exc
    return roots


def _carried_certificates(signed: cms.SignedData) -> list[x509.Certificate]:
    return [
        x509.load_der_x509_certificate(choice.chosen.dump())
        for choice in signed["certificates"] or []
        if choice.name == "certificate"
    ]


def _check_valid_at(cert: x509.Certificate, at: datetime) -> None:
    if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
        raise TimestampError(
            f"the certificate {cert.subject.rfc4514_string()} was not valid at the token's "
            f"time {at.isoformat()} (valid {cert.not_valid_before_utc.isoformat()} to "
            f"{cert.not_valid_after_utc.isoformat()})"
        )


_MAX_CERTIFICATE_CHAIN = 8


def _check_certificate_chain(
    signer: x509.Certificate,
    carried: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    at: datetime,
) -> None:
    """Walk from the signer up through carried certificates to a supplied root. The
    path is short and linear, so it is walked here rather than with a TLS path builder
    (cryptography's verifier checks server and client certificates, not TSAs)."""
    try:
        usage = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is None or x509.oid.ExtendedKeyUsageOID.TIME_STAMPING not in usage:
        raise TimestampError(
            f"the certificate {signer.subject.rfc4514_string()} is not issued for time "
            "stamping (no timeStamping extended key usage)"
        )
    root_ders = {r.public_bytes(serialization.Encoding.DER) for r in roots}
    current = signer
    for _ in range(_MAX_CERTIFICATE_CHAIN):
        if current.public_bytes(serialization.Encoding.DER) in root_ders:
            return
        issuer = _issuer_of(current, roots) or _issuer_of(current, carried)
        if issuer is None:
            raise TimestampError(
                f"the TSA certificate {signer.subject.rfc4514_string()} (issuer "
                f"{signer.issuer.rfc4514_string()}) does not chain to a certificate of "
                "the TSA CA file"
            )
        _check_valid_at(issuer, at)
        current = issuer
    raise TimestampError(f"the TSA's certificate chain is longer than {_MAX_CERTIFICATE_CHAIN}")


def _issuer_of(
    cert: x509.Certificate, candidates: Sequence[x509.Certificate]
) -> x509.Certificate | None:
    for candidate in candidates:
        if candidate.subject != cert.issuer or candidate == cert:
            continue
        try:
            constraints = candidate.extensions.get_extension_for_class(x509.BasicConstraints).value
        except x509.ExtensionNotFound:
            continue  # a certificate that does not say it is a CA issues nothing
        if not constraints.ca:
            continue
        try:
            cert.verify_directly_issued_by(candidate)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return candidate
    return None


def _signer_certificate(signed: cms.SignedData, signer: cms.SignerInfo) -> x509.Certificate:
    sid = signer["sid"]
    for choice in signed["certificates"] or []:
        if choice.name != "certificate":
            continue
        cert = choice.chosen
        if sid.name == "issuer_and_serial_number":
            wanted = sid.chosen
            if (
                cert.issuer == wanted["issuer"]
                and cert.serial_number == wanted["serial_number"].native
            ):
                return x509.load_der_x509_certificate(cert.dump())
        elif cert.key_identifier == sid.chosen.native:
            return x509.load_der_x509_certificate(cert.dump())
    raise TimestampError("the timestamp token does not carry its signer's certificate")


def _check_signature(
    cert: x509.Certificate, signature: bytes, data: bytes, digest: hashes.HashAlgorithm
) -> None:
    key = cert.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), digest)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(digest))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        else:
            raise TimestampError("the TSA's key type is not supported")
    except InvalidSignature as exc:
        raise TimestampError("the timestamp token's signature does not verify") from exc
