"""Tree heads as the provinces exchange them, and a witness's check of a peer's new head.

A tree head is a node's signed statement "my log held ``tree_size`` events with this root". A witness (another
province) keeps the last head of each peer it accepted. A new head must be signed by the peer's manifest key
and must extend the accepted one: same size, same root; larger, with a consistency proof (RFC 9162) from the
accepted root to the new one. Anything else is evidence that the peer rewrote its history:

- ``BAD_SIGNATURE``: the head is not the peer's statement;
- ``ROLLBACK``: the peer now shows a smaller tree than it showed before;
- ``FORK``: the peer shows a tree that does not contain the one it showed before.

When the check passes, the witness cosigns the head and returns the cosignature, which the peer keeps: an
auditor holding both knows that two provinces saw the same history.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from federation.transparency_verify import verify_consistency

BAD_SIGNATURE = "BAD_SIGNATURE"
ROLLBACK = "ROLLBACK"
FORK = "FORK"
ALERT_KINDS = (BAD_SIGNATURE, ROLLBACK, FORK)

# (payload, signature) -> whether the key signed it
SignatureCheck = Callable[[bytes, bytes], bool]


def canonical(document: dict[str, Any]) -> bytes:
    """The exact bytes a node signs: sorted keys, no spaces, UTF-8."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class TreeHead:
    province: str
    tree_size: int
    root_hash: str  # hex
    signed_at: str
    key_id: str
    signature: bytes

    def payload(self) -> bytes:
        """The exact bytes the province's signature covers."""
        return canonical(
            {
                "province": self.province,
                "tree_size": self.tree_size,
                "root_hash": self.root_hash,
                "signed_at": self.signed_at,
            }
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "province": self.province,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "signed_at": self.signed_at,
            "key_id": self.key_id,
            "signature": base64.b64encode(self.signature).decode(),
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> TreeHead:
        """Raises KeyError, TypeError or ValueError for a document that is not a tree head."""
        return cls(
            province=str(document["province"]),
            tree_size=int(document["tree_size"]),
            root_hash=str(document["root_hash"]),
            signed_at=str(document["signed_at"]),
            key_id=str(document["key_id"]),
            signature=base64.b64decode(document["signature"], validate=True),
        )


@dataclass(frozen=True)
class Cosignature:
    witness: str
    key_id: str
    cosigned_at: str
    signature: bytes

    def as_json(self) -> dict[str, Any]:
        return {
            "witness": self.witness,
            "key_id": self.key_id,
            "cosigned_at": self.cosigned_at,
            "signature": base64.b64encode(self.signature).decode(),
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Cosignature:
        return cls(
            witness=str(document["witness"]),
            key_id=str(document["key_id"]),
            cosigned_at=str(document["cosigned_at"]),
            signature=base64.b64decode(document["signature"], validate=True),
        )


def cosignature_payload(head: TreeHead, witness: str, cosigned_at: str) -> bytes:
    """The exact bytes a witness's cosignature covers: the head it checked, who checked it, and when."""
    return canonical(
        {
            "province": head.province,
            "tree_size": head.tree_size,
            "root_hash": head.root_hash,
            "signed_at": head.signed_at,
            "witness": witness,
            "cosigned_at": cosigned_at,
        }
    )


@dataclass(frozen=True)
class Finding:
    """Why a witness refuses a head: one of ALERT_KINDS, and what it saw."""

    kind: str
    detail: str


def check_head(
    new: TreeHead,
    accepted: TreeHead | None,
    consistency_path: Sequence[bytes] | None,
    signed_by_peer: SignatureCheck,
) -> Finding | None:
    """None when ``new`` may be accepted (and cosigned) after ``accepted``, the last head accepted from the
    same province; ``consistency_path`` proves ``accepted`` a prefix of ``new`` when ``new`` is larger."""
    if not signed_by_peer(new.payload(), new.signature):
        return Finding(
            BAD_SIGNATURE, f"the head of size {new.tree_size} does not verify with the manifest key"
        )
    if accepted is None:
        return None  # the first head seen: nothing to compare it with yet
    if new.tree_size < accepted.tree_size:
        return Finding(
            ROLLBACK, f"the log shrank from {accepted.tree_size} leaves (accepted) to {new.tree_size}"
        )
    if new.tree_size == accepted.tree_size:
        if new.root_hash == accepted.root_hash:
            return None
        return Finding(FORK, f"two different roots for the same size {new.tree_size}")
    try:
        consistent = consistency_path is not None and verify_consistency(
            accepted.tree_size,
            new.tree_size,
            bytes.fromhex(accepted.root_hash),
            bytes.fromhex(new.root_hash),
            consistency_path,
        )
    except ValueError:
        consistent = False
    if not consistent:
        return Finding(
            FORK, f"the tree of size {new.tree_size} does not extend the accepted one of {accepted.tree_size}"
        )
    return None
