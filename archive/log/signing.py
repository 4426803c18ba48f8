"""Signed tree heads: the Ed25519 log key and checkpoints in the C2SP `tlog-checkpoint`
signed-note format (https://c2sp.org/tlog-checkpoint, https://c2sp.org/signed-note),
so anyone can check them with existing note verifiers (e.g. Go's
golang.org/x/mod/sumdb/note) given our verifier key.

A checkpoint note is:

    <origin>\\n<tree size, decimal>\\n<base64 root hash>\\n\\n— <key name> <base64 sig>\\n

where the signature line's payload is the 4-byte key ID followed by the 64-byte
Ed25519 signature of the text above the blank line (including its final newline), and
the key ID is the first 4 bytes of SHA-256(key name || 0x0A || 0x01 || public key).
The private key lives in a file outside the database (mode 0600); the verifier key
`<name>+<key ID hex>+<base64(0x01 || public key)>` is what an operator publishes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from archive.errors import BadInput, ConfigError

ED25519 = 0x01
SIG_PREFIX = "\u2014 "  # an em dash and a space open each signature line
_NAME = re.compile(r"^[^\s+]+$")


class NoteError(BadInput, ValueError):
    """A note that is malformed or whose signature does not verify."""


class NotSignedBy(NoteError):
    """A well-formed note that carries no signature by the given key: signed by another
    key (which is not the same as altered contents)."""

    def __init__(self, message: str, signers: tuple[str, ...]) -> None:
        super().__init__(message)
        self.signers = signers  # name+keyid of each signature line it does carry


def key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ED25519]) + public).digest()[:4]


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True, slots=True)
class Signer:
    """The log's signing key and the name its signatures carry (the log origin)."""

    name: str
    key: Ed25519PrivateKey

    @property
    def public(self) -> bytes:
        return _raw_public(self.key.public_key())

    @property
    def verifier_key(self) -> str:
        """The signed-note verifier key to publish: name+keyID+base64(0x01||pubkey)."""
        raw = bytes([ED25519]) + self.public
        return (
            f"{self.name}+{key_id(self.name, self.public).hex()}+{base64.b64encode(raw).decode()}"
        )

    def public_pem(self) -> str:
        return (
            self.key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode("ascii")
        )

    def sign(self, body: str) -> str:
        """The note: `body` (ending in a newline), a blank line, our signature line."""
        if not body.endswith("\n"):
            raise NoteError("a note body ends with a newline")
        signature = self.key.sign(body.encode("utf-8"))
        payload = key_id(self.name, self.public) + signature
        return f"{body}\n{SIG_PREFIX}{self.name} {base64.b64encode(payload).decode()}\n"


def load_or_create_key(path: Path, name: str, *, create: bool) -> Signer:
    """The Ed25519 key in `path` (PKCS#8 PEM), made with mode 0600 when absent and
    `create` is set. A key file others can read or write is refused."""
    if not _NAME.match(name):
        raise ConfigError(f"log origin {name!r} must be one word without spaces or '+'")
    if not path.exists():
        if not create:
            raise ConfigError(
                f"no log signing key at {path}: run `presswatch init` to make one "
                "(setting log_key_file, env PRESSWATCH_LOG_KEY_FILE)"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ConfigError(
            f"the log signing key {path} is readable by others (mode {mode:o}): "
            f"run `chmod 600 {path}`"
        )
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"the log signing key {path} is not a PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"the log signing key {path} is not an Ed25519 key")
    return Signer(name, key)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    origin: str
    tree_size: int
    root_hash: bytes
    body: str
    signatures: tuple[tuple[str, bytes], ...]  # (key name, key ID + signature)


def checkpoint_body(origin: str, tree_size: int, root_hash: bytes) -> str:
    return f"{origin}\n{tree_size}\n{base64.b64encode(root_hash).decode()}\n"


def parse_checkpoint(text: str) -> Checkpoint:
    """Split a signed checkpoint note into its fields; NoteError says what is wrong."""
    body, sep, sigs = text.partition("\n\n")
    if not sep:
        raise NoteError("not a signed note: no blank line before the signatures")
    body += "\n"
    lines = body.split("\n")[:-1]
    if len(lines) < 3:
        raise NoteError("a checkpoint has an origin, a tree size and a root hash line")
    origin, size_text, root_text = lines[:3]
    if not origin:
        raise NoteError("the checkpoint's origin line is empty")
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise NoteError(f"tree size {size_text!r} is not a decimal number")
    try:
        root_hash = base64.b64decode(root_text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoteError(f"root hash {root_text!r} is not base64") from exc
    if len(root_hash) != 32:
        raise NoteError("the root hash is not 32 bytes")
    signatures = []
    for line in sigs.rstrip("\n").split("\n"):
        if not line.startswith(SIG_PREFIX):
            raise NoteError(f"signature line {line[:40]!r} does not start with '— '")
        name, _, encoded = line[len(SIG_PREFIX) :].rpartition(" ")
        try:
            payload = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise NoteError(f"the signature of {name!r} is not base64") from exc
        if len(payload) < 5:
            raise NoteError(f"the signature of {name!r} is too short")
        signatures.append((name, payload))
    if not signatures:
        raise NoteError("the note has no signature")
    return Checkpoint(origin, int(size_text), root_hash, body, tuple(signatures))


def parse_verifier_key(vkey: str) -> tuple[str, bytes, Ed25519PublicKey]:
    try:
        name, hash_hex, encoded = vkey.strip().split("+", 2)
        raw = base64.b64decode(encoded, validate=True)
        expected = bytes.fromhex(hash_hex)
    except (ValueError, binascii.Error) as exc:
        raise NoteError(f"verifier key {vkey[:40]!r} is not name+keyid+base64") from exc
    if len(raw) != 33 or raw[0] != ED25519:
        raise NoteError("the verifier key is not an Ed25519 key")
    if key_id(name, raw[1:]) != expected:
        raise NoteError("the verifier key's ID does not match its name and key")
    return name, expected, Ed25519PublicKey.from_public_bytes(raw[1:])


def verify_note(text: str, vkey: str) -> Checkpoint:
    """Raise NoteError unless `text` carries a valid signature by `vkey`."""
    checkpoint = parse_checkpoint(text)
    name, expected_id, public = parse_verifier_key(vkey)
    for sig_name, payload in checkpoint.signatures:
        if sig_name == name and payload[:4] == expected_id:
            try:
                public.verify(payload[4:], checkpoint.body.encode("utf-8"))
            except InvalidSignature as exc:
                raise NoteError(f"the signature by {name} does not verify") from exc
            return checkpoint
    signers = tuple(f"{n}+{p[:4].hex()}" for n, p in checkpoint.signatures)
    raise NotSignedBy(
        f"signed by another key ({', '.join(signers)}), not by {name}+{expected_id.hex()}",
        signers,
    )


_VKEY_LINE = re.compile(r"^[^\s+]+\+[0-9a-fA-F]{8}\+[A-Za-z0-9+/]+=*$")


def read_key_file(text: str, name: str) -> str:
    """The verifier key in `text`, in any form `presswatch checkpoint --public-key`
    prints: the key line alone, the key line and a PEM public key, the PEM alone (named
    `name`, the log's origin), or its `--json` document. Two different keys in one file,
    or none, raise NoteError."""
    found: list[str] = []
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            doc = json.loads(stripped)
        except ValueError as exc:
            raise NoteError(f"the key file is not JSON: {exc}") from exc
        if not isinstance(doc, dict):
            raise NoteError("the key file's JSON is not an object")
        text = "\n".join(str(doc.get(k) or "") for k in ("verifier_key", "pem"))
        name = str(doc.get("origin") or name)
    for line in text.splitlines():
        if _VKEY_LINE.match(line.strip()):
            parse_verifier_key(line.strip())  # raises NoteError when it does not hold
            found.append(line.strip())
    pem = re.search(r"-----BEGIN PUBLIC KEY-----[A-Za-z0-9+/=\s]+-----END PUBLIC KEY-----", text)
    if pem is not None:
        try:
            public = serialization.load_pem_public_key(pem.group(0).encode("ascii"))
        except ValueError as exc:
            raise NoteError(f"the key file's PEM block is not a public key: {exc}") from exc
        if not isinstance(public, Ed25519PublicKey):
            raise NoteError("the key file's PEM block is not an Ed25519 key")
        raw = _raw_public(public)
        pem_name = found[0].split("+", 1)[0] if found else name
        encoded = base64.b64encode(bytes([ED25519]) + raw).decode()
        found.append(f"{pem_name}+{key_id(pem_name, raw).hex()}+{encoded}")
    if not found:
        raise NoteError(
            "no verifier key (name+keyid+base64) or PEM public key in the key file: pass "
            "the file `presswatch checkpoint --public-key` wrote"
        )
    if len(set(found)) > 1:
        raise NoteError("the key file holds two different keys: keep only the published one")
    return found[0]
