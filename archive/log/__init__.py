"""The transparency log: the Merkle tree, leaves and seals, inclusion and consistency
proofs, signed checkpoints, RFC 3161 timestamps, and verifying the archive against it."""

from archive.log.integrity import (
    LEAF_FORMAT,
    InclusionProof,
    VerifyReport,
    capture_proof,
    checkpoint_json,
    encode_leaf,
    issue_checkpoint,
    latest_checkpoint,
    list_checkpoints,
    seal_legacy_captures,
    verify_archive,
)
from archive.log.leaves import (
    read_leaf,
)
from archive.log.merkle import (
    Frontier,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from archive.log.signing import (
    Checkpoint,
    NoteError,
    NotSignedBy,
    Signer,
    load_or_create_key,
    parse_checkpoint,
    read_key_file,
    verify_note,
)
from archive.log.timestamp import (
    MAX_RESPONSE_BYTES,
    TimestampError,
    TokenInfo,
    load_trust_roots,
    timestamp_request,
    token_from_response,
    verify_token,
)

__all__ = [
    "Checkpoint",
    "Frontier",
    "InclusionProof",
    "LEAF_FORMAT",
    "MAX_RESPONSE_BYTES",
    "NotSignedBy",
    "NoteError",
    "ProofError",
    "Signer",
    "TimestampError",
    "TokenInfo",
    "VerifyReport",
    "capture_proof",
    "checkpoint_json",
    "consistency_proof",
    "encode_leaf",
    "inclusion_proof",
    "issue_checkpoint",
    "latest_checkpoint",
    "leaf_hash",
    "list_checkpoints",
    "load_or_create_key",
    "load_trust_roots",
    "parse_checkpoint",
    "read_key_file",
    "read_leaf",
    "seal_legacy_captures",
    "timestamp_request",
    "token_from_response",
    "verify_archive",
    "verify_consistency",
    "verify_inclusion",
    "verify_note",
    "verify_token",
]
