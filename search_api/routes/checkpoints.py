"""The transparency log over HTTP: `/api/checkpoints`, the signed tree heads newest
first, and `/api/captures/{id}/proof`, a capture's RFC 9162 inclusion proof against the
newest checkpoint covering it (or the current unsigned head). docs/evidence.md says how
to check both without Presswatch."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from archive.log import capture_proof, checkpoint_json, list_checkpoints
from archive.store import capture_by_id
from search_api.deps import SessionDep
from search_api.routes import DEFAULT_LIMIT, ERRORS, MAX_LIMIT, NOT_FOUND
from search_api.routes.captures import CaptureId

router = APIRouter(tags=["transparency log"], responses=ERRORS)


class CheckpointOut(BaseModel):
    """A signed tree head (shape `checkpoint` in docs/json.md)."""

    id: int
    tree_size: int
    root_hash: str = Field(description="RFC 9162 root hash of the first tree_size captures, hex.")
    issued_at: datetime
    note: str = Field(description="The signed note, C2SP tlog-checkpoint format.")
    tsa_token: str | None = Field(description="Base64 RFC 3161 timestamp token, if any.")


class ProofOut(BaseModel):
    """An inclusion proof: the leaf, its index and the audit path to the root."""

    capture_id: int
    leaf_index: int = Field(description="The capture's place in the log: seq - 1.")
    leaf_hash: str = Field(description="SHA-256(0x00 || leaf), hex.")
    tree_size: int
    root_hash: str
    hashes: list[str] = Field(description="The audit path, hex, in RFC 9162 order.")
    checkpoint_id: int | None = Field(
        description="The signed checkpoint the proof leads to; null: the current, unsigned head."
    )
    leaf: str | None = Field(description="The leaf's canonical bytes (JSON), docs/evidence.md.")


@router.get("/api/checkpoints", response_model=list[CheckpointOut])
def checkpoints_route(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> list[CheckpointOut]:
    """The log's signed tree heads, newest first."""
    return [
        CheckpointOut.model_validate(checkpoint_json(c))
        for c in list_checkpoints(session, limit=limit)
    ]


@router.get("/api/captures/{capture_id}/proof", response_model=ProofOut, responses=NOT_FOUND)
def proof_route(capture_id: CaptureId, session: SessionDep) -> ProofOut:
    """The capture's inclusion proof in the transparency log."""
    capture = capture_by_id(session, capture_id)
    return ProofOut.model_validate(capture_proof(session, capture).as_json())
