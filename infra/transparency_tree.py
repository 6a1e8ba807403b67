"""The node's side of the transparency log (RFC 6962 §2.1): a Merkle tree over the node's stored events, its
root (MTH), audit paths (PATH: an event is in the tree of size n) and consistency proofs (PROOF: the tree of
size m is a prefix of the tree of size n).

Leaves are given by their leaf hashes, in the order of the node's log, numbered 0, 1, 2 ... with no gaps. The
domain-separation prefixes (0x00 for a leaf, 0x01 for an interior node) keep a leaf from posing as a node.
Auditors check what this module produces with ``federation.transparency_verify``, written apart from it.

Nothing here holds a tree's leaves: a root is folded from a stream of leaf hashes with a ``Frontier``
(O(log n) hashes in memory, the incremental view of MTH in RFC 9162 §2.1.1), and a proof is named as the leaf
ranges whose roots it lists, so its reader streams each range once. ``tests/unit/rfc6962_reference.py``
holds the RFC's recursive definitions, and the tests hold this module to them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()
_sha256 = hashlib.sha256

LeafRange = tuple[int, int]  # leaves [start, end) of a subtree, as RFC 6962 splits the tree


def leaf_hash(record: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + record).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1): where RFC 6962 splits a tree of n leaves."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Iterable[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes, read once in order; the empty tree's root is the hash of nothing."""
    frontier = Frontier()
    frontier.extend(leaves)
    return frontier.root()


def inclusion_ranges(index: int, size: int) -> list[LeafRange]:
    """PATH(m, D[n]) as the leaf ranges whose roots it lists: the leaf's sibling first, the root's child
    last."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    path: list[LeafRange] = []
    start, end = 0, size
    while end - start > 1:  # descend to the leaf; each sibling passed is a node of the path, top first
        middle = start + _split(end - start)
        if index < middle:
            path.append((middle, end))
            end = middle
        else:
            path.append((start, middle))
            start = middle
    return path[::-1]


def consistency_ranges(old_size: int, size: int) -> list[LeafRange]:
    """PROOF(m, D[n]) (RFC 6962 §2.1.2, SUBPROOF) as the leaf ranges whose roots it lists, in proof order."""
    if not 0 < old_size <= size:
        raise ValueError(f"no consistency proof from size {old_size} to size {size}")
    proof: list[LeafRange] = []
    start, end, m, complete = 0, size, old_size, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            proof.append((start + k, end))
            end = start + k
        else:
            proof.append((start, start + k))
            start, m, complete = start + k, m - k, False
    if not complete:
        proof.append((start, end))
    return proof[::-1]


class Frontier:
    """The roots of the perfect subtrees that cover the leaves appended so far, left to right: enough to give
    the root of the whole tree without reading its leaves again. Appending a leaf costs O(log n) and the
    frontier holds at most log2(n) + 1 hashes."""

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[tuple[int, bytes]] = []  # (height, root) of each perfect subtree, left to right

    def append(self, leaf: bytes) -> None:
        self._push(0, leaf)
        self.size += 1

    def extend(self, leaves: Iterable[bytes]) -> None:
        """Append each leaf in order. A run of leaves is folded a level at a time into the largest perfect
        subtrees that fit where the frontier ends (the same n - 1 interior hashes as appending one by one,
        without a Python loop per leaf), and each subtree is pushed as one node."""
        run = leaves if isinstance(leaves, list) else list(leaves)
        done = 0
        while done < len(run):
            # the subtree starting at leaf ``size`` may be as high as the lowest set bit of ``size`` allows
            fits = self.size & -self.size if self.size else 1 << (len(run) - done).bit_length()
            width = min(fits, 1 << ((len(run) - done).bit_length() - 1))
            level = run[done : done + width]
            height = 0
            while len(level) > 1:
                level = [
                    _sha256(NODE_PREFIX + a + b).digest()
                    for a, b in zip(level[::2], level[1::2], strict=True)
                ]
                height += 1
            self._push(height, level[0])
            self.size += width
            done += width

    def _push(self, height: int, node: bytes) -> None:
        """Add the root of a perfect subtree of ``height`` that starts where the frontier ends, merging it
        with the subtrees of its own height on the left, as a binary counter carries."""
        stack = self._stack
        while stack and stack[-1][0] == height:
            node = node_hash(stack.pop()[1], node)
            height += 1
        stack.append((height, node))

    def root(self) -> bytes:
        """MTH of the leaves appended: the right-most subtrees fold first, as RFC 6962 splits the tree."""
        if not self._stack:
            return EMPTY_ROOT
        node = self._stack[-1][1]
        for _height, left in reversed(self._stack[:-1]):
            node = node_hash(left, node)
        return node
