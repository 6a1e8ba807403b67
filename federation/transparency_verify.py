"""Checking a transparency log's proofs without trusting the log (RFC 9162 §2.1.3.2 and §2.1.4.2): whether an
event is in a tree with a given root, and whether one tree head is a prefix of a later one.

Written from the RFC's verification algorithms, apart from the code that builds the proofs
(``infra.transparency_tree``), so that a fault in one does not hide in the other. Auditors, witnessing
peers and ``tongban audit check-bundle`` use it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def _parent(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(
    leaf_index: int, tree_size: int, leaf_hash: bytes, path: Sequence[bytes], root_hash: bytes
) -> bool:
    """Whether ``path`` proves that the leaf ``leaf_hash`` sits at ``leaf_index`` in the tree of
    ``tree_size`` leaves whose root is ``root_hash``."""
    if not 0 <= leaf_index < tree_size:
        return False
    fn, sn, r = leaf_index, tree_size - 1, leaf_hash
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _parent(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = _parent(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root_hash


def verify_consistency(
    first: int, second: int, first_hash: bytes, second_hash: bytes, path: Sequence[bytes]
) -> bool:
    """Whether ``path`` proves that the tree of ``first`` leaves with root ``first_hash`` is a prefix of the
    tree of ``second`` leaves with root ``second_hash``."""
    if not 0 <= first <= second:
        return False
    if first == second:
        return not path and first_hash == second_hash
    if first == 0:
        return not path  # the empty tree is a prefix of every tree
    if not path:
        return False
    proof = list(path)
    if first & (first - 1) == 0:  # an exact power of two: the old root is itself a node of the new tree
        proof.insert(0, first_hash)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = _parent(c, fr), _parent(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = _parent(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == first_hash and sr == second_hash
