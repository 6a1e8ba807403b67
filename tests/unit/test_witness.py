"""The witness against peers whose logs grow honestly, fork, roll back or sign with the wrong key.

The peer here is a list of leaves and the real tree and proof code, in memory: the network between witness and
peer is covered by the end-to-end tests over mutual TLS. The witness's own memory is a real SQLite view store.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from federation.pki import Manifest, Member
from federation.tree_heads import (
    BAD_SIGNATURE,
    FORK,
    ROLLBACK,
    Cosignature,
    Finding,
    TreeHead,
    check_head,
    cosignature_payload,
)
from federation.witness import ACCEPTED, UNCHANGED, Witness
from infra.transparency_tree import leaf_hash, root
from infra.view_store import SQLiteViewStore
from node.signing import Ed25519Signer
from tests.unit.rfc6962_reference import proof as consistency_proof

PEER, WITNESS = "310000", "320000"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
Alert = tuple[TreeHead, TreeHead | None, Finding]


class PeerLog:
    """A peer province's log: its leaves, the head it shows, and the cosignatures it was given."""

    def __init__(self, signer: Ed25519Signer) -> None:
        self.signer = signer
        self.leaves: list[bytes] = []
        self.shown: TreeHead | None = None
        self.cosignatures: list[tuple[TreeHead, Cosignature]] = []

    def append(self, count: int, tag: str = "") -> None:
        self.leaves += [leaf_hash(f"{tag}event {len(self.leaves) + i}".encode()) for i in range(count)]
        self.sign()

    def sign(self, signer: Ed25519Signer | None = None) -> None:
        signer = signer or self.signer
        unsigned = TreeHead(PEER, len(self.leaves), root(self.leaves).hex(), NOW.isoformat(), "", b"")
        self.shown = TreeHead(
            PEER, unsigned.tree_size, unsigned.root_hash, unsigned.signed_at, signer.key_id,
            signer.sign(unsigned.payload()),
        )  # fmt: skip

    def tree_head(self, province: str) -> tuple[TreeHead, list[Cosignature]]:
        assert self.shown is not None
        return self.shown, []

    def consistency_proof(self, province: str, first: int, second: int) -> list[bytes]:
        return consistency_proof(first, self.leaves[:second])

    def submit_cosignature(self, province: str, head: TreeHead, cosignature: Cosignature) -> None:
        self.cosignatures.append((head, cosignature))


@pytest.fixture
def peer_signer() -> Ed25519Signer:
    return Ed25519Signer.generate()


def witness_of(tmp_path: Path, peer: PeerLog, alerts: list[Alert]) -> tuple[Witness, Ed25519Signer]:
    own = Ed25519Signer.generate()
    member = Member(PEER, "上海", "127.0.0.1:1", "", "", peer.signer.public_key_pem())
    manifest = Manifest("test", 1, NOW, NOW, NOW, (member,))
    store = SQLiteViewStore(tmp_path / "views.sqlite3")
    witness = Witness(
        WITNESS, store, peer, lambda: manifest, own.sign, own.key_id, lambda: NOW,
        lambda head, accepted, finding: alerts.append((head, accepted, finding)),
    )  # fmt: skip
    return witness, own


def test_an_honest_log_is_accepted_at_every_size_and_each_new_head_cosigned(
    tmp_path: Path, peer_signer: Ed25519Signer
) -> None:
    peer, alerts = PeerLog(peer_signer), list[Alert]()
    witness, own = witness_of(tmp_path, peer, alerts)
    outcomes = []
    for grow in (1, 3, 0, 4, 9, 0, 1):
        if grow:
            peer.append(grow)
        outcomes.append(witness.observe(PEER).outcome)
    assert outcomes == [ACCEPTED, ACCEPTED, UNCHANGED, ACCEPTED, ACCEPTED, UNCHANGED, ACCEPTED]
    assert alerts == []
    assert [head.tree_size for head, _c in peer.cosignatures] == [1, 4, 8, 17, 18]
    for head, cosignature in peer.cosignatures:
        payload = cosignature_payload(head, WITNESS, cosignature.cosigned_at)
        assert own.public_key().verify(payload, cosignature.signature)
    witnessed = witness.witnessed(PEER)
    assert witnessed is not None
    assert witnessed["head"]["tree_size"] == 18
    assert witnessed["delivered"]


def test_a_rewritten_leaf_is_a_fork_and_the_accepted_head_stays(
    tmp_path: Path, peer_signer: Ed25519Signer
) -> None:
    peer, alerts = PeerLog(peer_signer), list[Alert]()
    witness, _own = witness_of(tmp_path, peer, alerts)
    peer.append(6)
    witness.observe(PEER)
    peer.leaves[2] = leaf_hash(b"rewritten")
    peer.append(3)  # a longer log, but not an extension of the one shown before
    observation = witness.observe(PEER)
    assert observation.outcome == FORK
    [(refused, accepted, finding)] = alerts
    assert (refused.tree_size, accepted and accepted.tree_size, finding.kind) == (9, 6, FORK)
    accepted_now = witness.accepted(PEER)
    assert accepted_now is not None
    assert accepted_now.tree_size == 6
    assert [head.tree_size for head, _c in peer.cosignatures] == [6]


def test_the_same_size_with_another_root_is_a_fork(tmp_path: Path, peer_signer: Ed25519Signer) -> None:
    peer, alerts = PeerLog(peer_signer), list[Alert]()
    witness, _own = witness_of(tmp_path, peer, alerts)
    peer.append(5)
    witness.observe(PEER)
    peer.leaves[4] = leaf_hash(b"other")
    peer.sign()
    assert witness.observe(PEER).outcome == FORK


def test_a_shrunk_log_is_a_rollback(tmp_path: Path, peer_signer: Ed25519Signer) -> None:
    peer, alerts = PeerLog(peer_signer), list[Alert]()
    witness, _own = witness_of(tmp_path, peer, alerts)
    peer.append(8)
    witness.observe(PEER)
    del peer.leaves[5:]
    peer.sign()
    assert witness.observe(PEER).outcome == ROLLBACK
    assert alerts[0][2].kind == ROLLBACK


def test_a_head_signed_by_another_key_is_a_bad_signature(tmp_path: Path, peer_signer: Ed25519Signer) -> None:
    peer, alerts = PeerLog(peer_signer), list[Alert]()
    witness, _own = witness_of(tmp_path, peer, alerts)
    peer.append(2)
    peer.sign(Ed25519Signer.generate())
    assert witness.observe(PEER).outcome == BAD_SIGNATURE
    assert witness.accepted(PEER) is None
    assert peer.cosignatures == []


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(0, 40), st.data())
def test_check_head_accepts_exactly_the_extensions(old: int, grow: int, data: st.DataObject) -> None:
    signer = Ed25519Signer.generate()
    leaves = [leaf_hash(f"e{i}".encode()) for i in range(old + grow)]

    def head(size: int, hashes: list[bytes]) -> TreeHead:
        unsigned = TreeHead(PEER, size, root(hashes[:size]).hex(), NOW.isoformat(), signer.key_id, b"")
        return dataclasses.replace(unsigned, signature=signer.sign(unsigned.payload()))

    verify = signer.public_key().verify
    accepted, new = head(old, leaves), head(old + grow, leaves)
    path = consistency_proof(old, leaves) if grow else None
    assert check_head(new, accepted, path, verify) is None
    if grow and path:
        at = data.draw(st.integers(0, len(path) - 1))
        altered = [*path[:at], bytes(32), *path[at + 1 :]]
        finding = check_head(new, accepted, altered, verify)
        assert finding is not None
        assert finding.kind == FORK
    forked = list(leaves)
    forked[data.draw(st.integers(0, old - 1))] = leaf_hash(b"forged")
    other = head(old + grow, forked)
    finding = check_head(other, accepted, consistency_proof(old, forked) if grow else None, verify)
    assert finding is not None
    assert finding.kind == FORK
