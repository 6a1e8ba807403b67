"""Signed tree heads of the node's transparency log, and its proofs, for auditors and witnessing peers.

A tree head says: this node's log held ``tree_size`` events whose Merkle root is ``root_hash``, signed at
``signed_at`` with the node's signing key. The signed bytes are the canonical JSON of province, tree size,
root hash and time, so anyone holding the node's public key (``GET /v1/keys``, the federation manifest) can
check a head without trusting the node's database.
"""

from __future__ import annotations

import base64
from typing import Any

from aggregates.errors import InvalidField
from federation.tree_heads import Cosignature, SignatureCheck, TreeHead, cosignature_payload
from node.signing import Signer
from node.store.application import Clock
from projections.transparency_log import TransparencyLog


def tree_head(head: dict[str, Any], province: str) -> TreeHead:
    """A head as the transparency log keeps it, as the statement that was signed."""
    return TreeHead.from_json({"province": province, **head})


class TransparencyService:
    def __init__(self, log: TransparencyLog, signer: Signer, province: str, clock: Clock) -> None:
        self._log, self._signer, self._province, self._clock = log, signer, province, clock

    @property
    def log(self) -> TransparencyLog:
        return self._log

    def publish_head(self) -> dict[str, Any] | None:
        """Append the log's new events as leaves and sign a head over them; None when nothing is new."""
        self._log.tick()
        size = self._log.size()
        latest = self._log.latest_head()
        if size == 0 or (latest is not None and latest["tree_size"] >= size):
            return None
        head: dict[str, Any] = {
            "tree_size": size,
            "root_hash": self._log.root(size).hex(),
            "signed_at": self._clock().isoformat(),
            "key_id": self._signer.key_id,
        }
        payload = TreeHead(self._province, size, head["root_hash"], head["signed_at"], "", b"").payload()
        head["signature"] = base64.b64encode(self._signer.sign(payload)).decode()
        self._log.record_head(head)
        return head

    def latest_head(self) -> dict[str, Any] | None:
        """The latest signed head, with the cosignatures the witnesses returned for it."""
        head = self._log.latest_head()
        if head is None:
            return None
        cosignatures = self._log.cosignatures(head["tree_size"])
        return {"province": self._province, **head, "cosignatures": cosignatures}

    def accept_cosignature(
        self, head: TreeHead, cosignature: Cosignature, signed_by_witness: SignatureCheck
    ) -> None:
        """Keep a witness's cosignature, if it covers a head this node signed and verifies with the witness's
        key; raises InvalidField otherwise."""
        signed = self._log.head(head.tree_size)
        if (
            head.province != self._province
            or signed is None
            or (signed["root_hash"], signed["signed_at"]) != (head.root_hash, head.signed_at)
        ):
            raise InvalidField("head", "is not a tree head this node signed")
        payload = cosignature_payload(head, cosignature.witness, cosignature.cosigned_at)
        if not signed_by_witness(payload, cosignature.signature):
            raise InvalidField("cosignature", f"does not verify with province {cosignature.witness}'s key")
        self._log.record_cosignature(head.tree_size, cosignature.as_json())

    def inclusion(self, leaf_index: int, tree_size: int) -> dict[str, Any]:
        self._require_signed("tree_size", tree_size)
        if not 0 <= leaf_index < tree_size:
            raise InvalidField("leaf_index", "must be below tree_size")
        return {
            "leaf_index": leaf_index,
            "tree_size": tree_size,
            "leaf_hash": self._log.leaf(leaf_index)[1].hex(),
            "path": [h.hex() for h in self._log.inclusion(leaf_index, tree_size)],
        }

    def consistency(self, first: int, second: int) -> dict[str, Any]:
        self._require_signed("second", second)
        if not 1 <= first <= second:
            raise InvalidField("first", "must be 1 to second")
        return {
            "first": first,
            "second": second,
            "path": [h.hex() for h in self._log.consistency(first, second)],
        }

    def _require_signed(self, name: str, tree_size: int) -> None:
        """Proofs end at a tree this node signed a head for: an auditor checks the proof against that head's
        root and signature, and a size never signed has neither. (The proof's start, ``first`` or the leaf,
        may be any position below it: an auditor may hold a root it computed from a copy of the log.)"""
        latest = self._log.latest_head()
        # the range first: a size past the latest head was never signed, and may not fit the store's column
        if latest is None or not 1 <= tree_size <= latest["tree_size"] or self._log.head(tree_size) is None:
            raise InvalidField(
                name, "must be a tree size this node signed a head for (GET /v1/transparency/head)"
            )
