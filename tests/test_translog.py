"""The Merkle tree of the transparency log against RFC 9162's definitions, recomputed
naively, and against the Certificate Transparency reference test vectors."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archive.log.merkle import (
    EMPTY_ROOT,
    Frontier,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root,
    verify_consistency,
    verify_inclusion,
)


def _h(*parts: bytes) -> bytes:
    return hashlib.sha256(b"".join(parts)).digest()


def naive_mth(leaves: list[bytes]) -> bytes:
    """MTH straight from RFC 9162 2.1.1, recursive, no shortcuts."""
    n = len(leaves)
    if n == 0:
        return _h()
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return _h(b"\x01", naive_mth(leaves[:k]), naive_mth(leaves[k:]))


def naive_path(m: int, leaves: list[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*naive_path(m, leaves[:k]), naive_mth(leaves[k:])]
    return [*naive_path(m - k, leaves[k:]), naive_mth(leaves[:k])]


def naive_subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [naive_mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*naive_subproof(m, leaves[:k], complete), naive_mth(leaves[k:])]
    return [*naive_subproof(m - k, leaves[k:], False), naive_mth(leaves[:k])]


leaf_lists = st.lists(st.binary(min_size=0, max_size=8), min_size=0, max_size=70).map(
    lambda datas: [leaf_hash(d) for d in datas]
)


# The eight leaves and roots of the Certificate Transparency reference tests
# (certificate-transparency's merkle_tree_test), an independent check of the hashing.
CT_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def test_reference_roots() -> None:
    leaves = [leaf_hash(d) for d in CT_LEAVES]
    assert root([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    for n, expected in enumerate(CT_ROOTS, start=1):
        assert root(leaves[:n]).hex() == expected


@given(leaf_lists)
def test_root_and_frontier_match_the_definition(leaves: list[bytes]) -> None:
    frontier = Frontier()
    for n, leaf in enumerate(leaves, start=1):
        frontier.append(leaf)
        assert frontier.size == n
        assert len(frontier.to_hex()) == bin(n).count("1")  # O(log N) state
        assert frontier.root() == naive_mth(leaves[:n])
    assert root(leaves) == naive_mth(leaves)
    again = Frontier.from_hex(frontier.size, frontier.to_hex())
    assert again.root() == frontier.root()


@given(leaf_lists.filter(bool), st.data())
def test_inclusion_proofs(leaves: list[bytes], data: st.DataObject) -> None:
    n = len(leaves)
    index = data.draw(st.integers(0, n - 1))
    proof = inclusion_proof(leaves, index)
    assert proof == naive_path(index, leaves)
    head = naive_mth(leaves)
    verify_inclusion(leaves[index], index, n, proof, head)
    # Any other leaf, index, size, root or a flipped byte in the path fails.
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(b"forged"), index, n, proof, head)
    with pytest.raises(ProofError):
        verify_inclusion(leaves[index], index, n, proof, leaf_hash(b"other root"))
    if n > 1:
        other = (index + 1) % n
        if leaves[other] != leaves[index]:
            with pytest.raises(ProofError):
                verify_inclusion(leaves[index], other, n, proof, head)
        at = data.draw(st.integers(0, len(proof) - 1))
        bad = list(proof)
        bad[at] = bytes([bad[at][0] ^ 1]) + bad[at][1:]
        with pytest.raises(ProofError):
            verify_inclusion(leaves[index], index, n, bad, head)
        with pytest.raises(ProofError):
            verify_inclusion(leaves[index], index, n, proof[:-1], head)
        with pytest.raises(ProofError):
            verify_inclusion(leaves[index], index, n, [*proof, proof[0]], head)
    with pytest.raises(ProofError):
        verify_inclusion(leaves[index], n, n, proof, head)


@given(leaf_lists.filter(bool), st.data())
def test_consistency_proofs(leaves: list[bytes], data: st.DataObject) -> None:
    n = len(leaves)
    m = data.draw(st.integers(0, n))
    proof = consistency_proof(leaves, m)
    assert proof == ([] if m in (0, n) else naive_subproof(m, leaves, True))
    old, new = naive_mth(leaves[:m]), naive_mth(leaves)
    verify_consistency(m, n, old, new, proof)
    if 0 < m < n:
        # A rewritten earlier history, a different later tree, or any flipped proof byte fails.
        with pytest.raises(ProofError):
            verify_consistency(m, n, leaf_hash(b"rewritten"), new, proof)
        with pytest.raises(ProofError):
            verify_consistency(m, n, old, leaf_hash(b"other"), proof)
        at = data.draw(st.integers(0, len(proof) - 1))
        bad = list(proof)
        bad[at] = bytes([bad[at][0] ^ 1]) + bad[at][1:]
        with pytest.raises(ProofError):
            verify_consistency(m, n, old, new, bad)
        with pytest.raises(ProofError):
            verify_consistency(m, n, old, new, [])
        with pytest.raises(ProofError):
            verify_consistency(m, n, old, new, proof[:-1])


def test_consistency_edges() -> None:
    leaves = [leaf_hash(bytes([i])) for i in range(5)]
    r = root(leaves)
    verify_consistency(5, 5, r, r, [])
    with pytest.raises(ProofError):
        verify_consistency(5, 5, r, EMPTY_ROOT, [])
    with pytest.raises(ProofError):
        verify_consistency(6, 5, r, r, [])
    with pytest.raises(ProofError):
        consistency_proof(leaves, 6)
    with pytest.raises(ProofError):
        inclusion_proof(leaves, 5)
    with pytest.raises(ProofError):
        Frontier(3, [r])
