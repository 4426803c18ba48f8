"""The transparency log: the Merkle tree (merkle), a capture's leaf and sealing it
(seal), audit entries as leaves beside the captures' (audit), how leaves are stored
(leaves), inclusion proofs (proofs), signed checkpoints (checkpoints, signing), RFC 3161
timestamps (timestamp), verifying the archive against the log (verify), and sealing an
archive made before the log into it (legacy)."""

from archive.log.audit import (
    AUDIT_LEAF_FORMAT,
    audit_leaf,
    seal_audit_entry,
)
from archive.log.checkpoints import (
    checkpoint_json,
    issue_checkpoint,
    latest_checkpoint,
    list_checkpoints,
)
from archive.log.leaves import (
    read_leaf,
)
from archive.log.legacy import (
    seal_legacy_captures,
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
from archive.log.proofs import (
    InclusionProof,
    audit_proof,
    capture_proof,
)
from archive.log.seal import (
    LEAF_FORMAT,
    encode_leaf,
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
from archive.log.verify import (
    VerifyReport,
    verify_archive,
)

__all__ = [
    "AUDIT_LEAF_FORMAT",
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
    "audit_leaf",
    "audit_proof",
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
    "seal_audit_entry",
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
