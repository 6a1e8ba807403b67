"""The transparency tree (RFC 6962) against the RFC's own test vectors and hand-made roots, its streamed roots
and proofs against the RFC's recursive definitions (``rfc6962_reference``), and its proofs against the
independent verifier (RFC 9162): every proof for every size verifies, and any altered hash, index or size
fails."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from federation.transparency_verify import verify_consistency, verify_inclusion
from infra.transparency_tree import (
    Frontier,
    LeafRange,
    consistency_ranges,
    inclusion_ranges,
    leaf_hash,
    root,
)
from tests.unit import rfc6962_reference as reference

# The leaves and roots of the Certificate Transparency reference tests (RFC 6962 trees of 1 to 8 leaves).
CT_LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                          "606162636465666768696a6b6c6d6e6f")]  # fmt: skip
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


def leaves(n: int) -> list[bytes]:
    return [leaf_hash(f"event {i}".encode()) for i in range(n)]


def roots(ranges: list[LeafRange], tree: list[bytes]) -> list[bytes]:
    """The proof's hashes: each range's root, streamed from its leaves as the node reads them."""
    return [root(iter(tree[start:end])) for start, end in ranges]


def inclusion_proof(index: int, tree: list[bytes]) -> list[bytes]:
    return roots(inclusion_ranges(index, len(tree)), tree)


def consistency_proof(old_size: int, tree: list[bytes]) -> list[bytes]:
    return roots(consistency_ranges(old_size, len(tree)), tree)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def test_roots_equal_the_reference_vectors_and_hand_made_trees() -> None:
    hashed = [leaf_hash(d) for d in CT_LEAVES]
    assert [root(hashed[:n]).hex() for n in range(1, 9)] == CT_ROOTS
    a, b, c = (sha256(b"\x00" + d) for d in (b"a", b"b", b"c"))
    assert root([]) == sha256(b"")
    assert root([a, b, c]) == sha256(b"\x01" + sha256(b"\x01" + a + b) + c)


@given(st.integers(1, 70), st.data())
def test_every_inclusion_proof_verifies_and_any_alteration_fails(n: int, data: st.DataObject) -> None:
    tree = leaves(n)
    index = data.draw(st.integers(0, n - 1))
    path, head = inclusion_proof(index, tree), root(tree)
    assert verify_inclusion(index, n, tree[index], path, head)
    assert not verify_inclusion(index, n, leaf_hash(b"forged"), path, head)
    assert not verify_inclusion(index, n, tree[index], path, leaf_hash(b"another root"))
    if path:
        spot = data.draw(st.integers(0, len(path) - 1))
        altered = [*path[:spot], bytes([path[spot][0] ^ 1]) + path[spot][1:], *path[spot + 1 :]]
        assert not verify_inclusion(index, n, tree[index], altered, head)
        assert not verify_inclusion(index, n, tree[index], path[:-1], head)
    if n > 1:
        other = data.draw(st.integers(0, n - 1).filter(lambda i: i != index))
        assert not verify_inclusion(other, n, tree[index], path, head)
    assert not verify_inclusion(n, n, tree[index], path, head)


@given(st.integers(1, 70), st.data())
def test_every_consistency_proof_verifies_and_any_alteration_fails(n: int, data: st.DataObject) -> None:
    tree = leaves(n)
    m = data.draw(st.integers(1, n))
    proof, old, new = consistency_proof(m, tree), root(tree[:m]), root(tree)
    assert verify_consistency(m, n, old, new, proof)
    assert not verify_consistency(m, n, leaf_hash(b"rewritten"), new, proof)
    assert not verify_consistency(m, n, old, leaf_hash(b"forked"), proof)
    if proof:
        spot = data.draw(st.integers(0, len(proof) - 1))
        altered = [*proof[:spot], bytes([proof[spot][0] ^ 1]) + proof[spot][1:], *proof[spot + 1 :]]
        assert not verify_consistency(m, n, old, new, altered)
    if m < n:  # a tree whose old part was rewritten is not consistent with the old head
        rewritten = [leaf_hash(b"rewritten"), *tree[1:]]
        assert not verify_consistency(m, n, old, root(rewritten), consistency_proof(m, rewritten))
    assert verify_consistency(0, n, root([]), new, [])


def test_the_frontier_gives_the_roots_of_every_size() -> None:
    tree = leaves(130)
    frontier = Frontier()
    assert frontier.root() == root([])
    for n, leaf in enumerate(tree, 1):
        frontier.append(leaf)
        assert (frontier.size, frontier.root()) == (n, root(tree[:n]))


@given(st.integers(0, 3000), st.data())
def test_streamed_roots_and_proofs_equal_the_rfc_definitions(n: int, data: st.DataObject) -> None:
    """For random sizes up to a few thousand leaves (every shape of frontier up to 2^11), the root folded from
    a stream equals MTH, and the proofs named by ranges equal PATH and PROOF and verify (RFC 9162)."""
    tree = leaves(n)
    streamed = Frontier()
    cut = data.draw(st.integers(0, n))  # appended in two runs, as the node's follower does batch by batch
    streamed.extend(iter(tree[:cut]))
    assert streamed.root() == reference.mth(tree[:cut])
    streamed.extend(iter(tree[cut:]))
    assert (streamed.size, streamed.root()) == (n, reference.mth(tree))
    assert root(iter(tree)) == reference.mth(tree)
    if n == 0:
        return
    head = reference.mth(tree)
    index = data.draw(st.integers(0, n - 1))
    path = inclusion_proof(index, tree)
    assert path == reference.path(index, tree)
    assert verify_inclusion(index, n, tree[index], path, head)
    m = data.draw(st.integers(1, n))
    proof = consistency_proof(m, tree)
    assert proof == reference.proof(m, tree)
    assert verify_consistency(m, n, reference.mth(tree[:m]), head, proof)


def test_no_proof_names_a_leaf_outside_its_tree() -> None:
    for bad_index, size in ((-1, 3), (3, 3), (0, 0)):
        with pytest.raises(ValueError, match="not in a tree"):
            inclusion_ranges(bad_index, size)
    for old_size, size in ((0, 3), (4, 3)):
        with pytest.raises(ValueError, match="no consistency proof"):
            consistency_ranges(old_size, size)
