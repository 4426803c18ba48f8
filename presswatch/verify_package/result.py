"""What a verification found: its failures (each with a stable reason), warnings and,
when everything holds, the statement the package proves; and the small value helpers
every check shares."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from presswatch.verify_package.reading import MANIFEST

EXIT_OK, EXIT_FAILED, EXIT_UNREADABLE, EXIT_OTHER_KEY = 0, 1, 2, 3
MAX_PROOF_HASHES = 64  # a tree of 2**64 leaves
MAX_LEAF_BYTES = 4 << 20
MAX_ENTRIES = 20_000  # captures, proofs, events, versions, index lines, pages
MAX_FAILURES = 1_000  # kept and printed; beyond, only counted
WARC_HEAD_BYTES = 64 << 10  # a record's WARC header block is read from at most this
ARTICLE, REVISIT_ORIGINAL = "article", "revisit_original"


@dataclass(frozen=True, slots=True)
class Failure:
    reason: str  # a stable name for the kind of failure (docs/evidence.md)
    where: str  # the file, capture, version, event… that fails
    problem: str

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"


@dataclass
class Result:
    failures: list[Failure] = field(default_factory=list)
    more_failures: int = 0  # failures beyond MAX_FAILURES, counted only
    warnings: list[str] = field(default_factory=list)
    captures: int = 0
    versions: int = 0
    events: int = 0
    tree_size: int | None = None
    root_hash: str | None = None
    origin: str | None = None
    key: str | None = None  # the verifier key the checkpoint was checked with
    key_given: bool = False
    timestamp: dict[str, Any] | None = None
    statement: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def exit_code(self) -> int:
        if self.ok:
            return EXIT_OK
        if all(f.reason == "other-key" for f in self.failures):
            return EXIT_OTHER_KEY
        return EXIT_FAILED

    def fail(self, reason: str, where: str, problem: str) -> None:
        if len(self.failures) >= MAX_FAILURES:
            self.more_failures += 1
            return
        self.failures.append(Failure(reason, where, problem))

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "statement": self.statement,
            "captures": self.captures,
            "versions": self.versions,
            "events": self.events,
            "tree_size": self.tree_size,
            "key": self.key,
            "key_given": self.key_given,
            "timestamp": self.timestamp,
            "warnings": self.warnings,
            "more_failures": self.more_failures,
            "failures": [
                {"reason": f.reason, "where": f.where, "problem": f.problem} for f in self.failures
            ],
        }


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def when(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def same_time(a: Any, b: Any) -> bool:
    return a == b if a is None or b is None else when(a) is not None and when(a) == when(b)


def short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def label(value: Any) -> str:
    """A short id or kind as it reads in a `where` (escaped when printed)."""
    if isinstance(value, str | int) and not isinstance(value, bool) and len(str(value)) <= 40:
        return str(value)
    return short(value)


def obj(value: Any) -> dict[str, Any]:
    """A JSON object from the package, or {} for anything else."""
    return value if isinstance(value, dict) else {}


def objects(value: Any, where: str, result: Result) -> list[dict[str, Any]]:
    """A list of JSON objects from the manifest, or a failure naming it."""
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        result.fail("manifest-shape", MANIFEST, f"{where} is not a list of objects")
        return []
    if len(value) > MAX_ENTRIES:
        result.fail("manifest-shape", MANIFEST, f"{where} has more than {MAX_ENTRIES} entries")
        return []
    return value
