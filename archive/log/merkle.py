"""The transparency log: an append-only Merkle tree over captures, as in RFC 9162
(Certificate Transparency 2.0), section 2.1.

Pure functions over leaf hashes (32-byte SHA-256 digests): the tree root, inclusion and
consistency proofs and their verification, and `Frontier`, the compact range that lets a
writer append a leaf and know the new root in O(log N) without reading older leaves.

Hand-written because no maintained Python library exposes RFC 9162 proofs over leaves
kept in our own database; every function follows the RFC's algorithm step by step and is
property-tested against a naive recomputation (tests/test_translog.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from archive.errors import LogBroken

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(LogBroken, ValueError):
    """A proof that does not verify, or a request for one that cannot exist."""


def leaf_hash(leaf: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 || leaf)."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes, iteratively: fold the perfect subtrees of the
    compact range, so memory is O(log N) beyond the input."""
    frontier = Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    return frontier.root()


def _mth(leaves: Sequence[bytes], lo: int, hi: int) -> bytes:
    n = hi - lo
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[lo]
    k = _split(n)
    return node_hash(_mth(leaves, lo, lo + k), _mth(leaves, lo + k, hi))


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 2.1.3.1: the audit path of leaf `index`."""
    if not 0 <= index < len(leaves):
        raise ProofError(f"leaf {index} is not in a tree of {len(leaves)} leaves")
    path: list[bytes] = []
    lo, hi, m = 0, len(leaves), index
    # Walk down from the root, collecting the sibling subtree at each level; the RFC's
    # recursion appends on the way back up, so the result is reversed at the end.
    while hi - lo > 1:
        k = _split(hi - lo)
        if m < k:
            path.append(_mth(leaves, lo + k, hi))
            hi = lo + k
        else:
            path.append(_mth(leaves, lo, lo + k))
            lo, m = lo + k, m - k
    path.reverse()
    return path


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 2.1.4.1: shows the first `old_size` leaves are a
    prefix of `leaves`. Empty when old_size is 0 or the whole tree."""
    n = len(leaves)
    if not 0 <= old_size <= n:
        raise ProofError(f"a tree of {n} leaves has no prefix of {old_size}")
    if old_size in (0, n):
        return []
    path: list[bytes] = []
    lo, hi, m, complete = 0, n, old_size, True
    while True:
        if m == hi - lo:
            if not complete:
                path.append(_mth(leaves, lo, hi))
            break
        k = _split(hi - lo)
        if m <= k:
            path.append(_mth(leaves, lo + k, hi))
            hi = lo + k
        else:
            path.append(_mth(leaves, lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    path.reverse()
    return path


def verify_inclusion(
    leaf: bytes, index: int, tree_size: int, proof: Sequence[bytes], root_hash: bytes
) -> None:
    """RFC 9162 2.1.3.2. Raises ProofError unless `leaf` (a leaf hash) is leaf `index`
    of the tree of `tree_size` leaves whose root is `root_hash`."""
    if not 0 <= index < tree_size:
        raise ProofError(f"leaf index {index} is outside a tree of {tree_size} leaves")
    fn, sn, r = index, tree_size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree is deep")
    if r != root_hash:
        raise ProofError("inclusion proof does not lead to the root hash")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 2.1.4.2. Raises ProofError unless the tree of `old_size` leaves with
    root `old_root` is a prefix of the tree of `new_size` leaves with root `new_root`."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"a tree of {new_size} leaves cannot extend one of {old_size}")
    if old_size == 0:
        if proof:
            raise ProofError("a consistency proof from the empty tree must be empty")
        return
    if old_size == new_size:
        if proof:
            raise ProofError("a consistency proof between equal sizes must be empty")
        if old_root != new_root:
            raise ProofError("two trees of the same size have different roots")
        return
    if not proof:
        raise ProofError("the consistency proof is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than the tree is deep")
    if fr != old_root:
        raise ProofError("consistency proof does not lead to the earlier root hash")
    if sr != new_root:
        raise ProofError("consistency proof does not lead to the later root hash")


@dataclass(slots=True)
class Frontier:
    """The compact range [0, size): the roots of the perfect subtrees that make up a tree
    of `size` leaves, largest first (one per set bit of `size`). Appending a leaf merges
    equal-sized subtrees like a binary counter, so it costs O(log N) hashes."""

    size: int = 0
    hashes: list[bytes] | None = None

    def __post_init__(self) -> None:
        if self.hashes is None:
            self.hashes = []
        if len(self.hashes) != self.size.bit_count():
            raise ProofError(
                f"a frontier of {self.size} leaves has {self.size.bit_count()} hashes, "
                f"not {len(self.hashes)}"
            )

    def append(self, leaf: bytes) -> None:
        assert self.hashes is not None
        node, size = leaf, self.size
        # Each trailing 1 bit of size is a perfect subtree of the same height as `node`.
        while size & 1:
            node = node_hash(self.hashes.pop(), node)
            size >>= 1
        self.hashes.append(node)
        self.size += 1

    def extend(self, leaves: Iterable[bytes]) -> None:
        for leaf in leaves:
            self.append(leaf)

    def root(self) -> bytes:
        assert self.hashes is not None
        if not self.hashes:
            return EMPTY_ROOT
        r = self.hashes[-1]
        for h in reversed(self.hashes[:-1]):
            r = node_hash(h, r)
        return r

    def to_hex(self) -> list[str]:
        assert self.hashes is not None
        return [h.hex() for h in self.hashes]

    @classmethod
    def from_hex(cls, size: int, hashes: Sequence[str]) -> Frontier:
        return cls(size, [bytes.fromhex(h) for h in hashes])
