"""Signed tree heads of the node's transparency log, and its proofs, for auditors and witnessing peers.

A tree head says: this node's log held ``tree_size`` events whose Merkle root is ``root_hash``, signed at
``signed_at`` with the node's signing key. The signed bytes are the canonical JSON of province, tree size,
root hash and time, so anyone holding the node's public key (``GET /v1/keys``, the federation manifest) can
check a head without trusting the node's database.
"""

from __future__ import annotations

import base64
from typing import Any

from aggregates.certificate import canonical_json
from aggregates.errors import InvalidField
from node.application import Clock
from node.signing import Signer
from projections.transparency_log import TransparencyLog


def head_payload(head: dict[str, Any], province: str) -> bytes:
    """The exact bytes a tree head's signature covers."""
    return canonical_json(
        {
            "province": province,
            "tree_size": head["tree_size"],
            "root_hash": head["root_hash"],
            "signed_at": head["signed_at"],
        }
    )


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
        head["signature"] = base64.b64encode(self._signer.sign(head_payload(head, self._province))).decode()
        self._log.record_head(head)
        return head

    def latest_head(self) -> dict[str, Any] | None:
        head = self._log.latest_head()
        return None if head is None else {"province": self._province, **head}

    def inclusion(self, leaf_index: int, tree_size: int) -> dict[str, Any]:
        self._require_published(tree_size)
        if not 0 <= leaf_index < tree_size:
            raise InvalidField("leaf_index", f"must be below tree_size {tree_size}")
        leaves = self._log.leaf_hashes(tree_size)
        return {
            "leaf_index": leaf_index,
            "tree_size": tree_size,
            "leaf_hash": leaves[leaf_index].hex(),
            "path": [h.hex() for h in self._log.inclusion(leaf_index, tree_size)],
        }

    def consistency(self, first: int, second: int) -> dict[str, Any]:
        self._require_published(second)
        if not 1 <= first <= second:
            raise InvalidField("first", f"must be 1 to second ({second})")
        return {
            "first": first,
            "second": second,
            "path": [h.hex() for h in self._log.consistency(first, second)],
        }

    def _require_published(self, tree_size: int) -> None:
        """Proofs cover trees this node signed a head over: a size it never attested proves nothing."""
        latest = self._log.latest_head()
        if latest is None or not 1 <= tree_size <= latest["tree_size"]:
            limit = 0 if latest is None else latest["tree_size"]
            raise InvalidField("tree_size", f"must be 1 to the latest signed tree size ({limit})")
