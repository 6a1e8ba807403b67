"""Witnessing: this node checks every peer province's transparency log heads and cosigns the good ones.

Each round, for each peer: fetch its latest signed head; when it is larger than the last head accepted from
that peer, fetch a consistency proof between the two; check the head (``tree_heads.check_head``). A good head
becomes the accepted one, is cosigned with this node's key, and the cosignature goes back to the peer. A bad
one is handed to ``on_alert`` (which records it as an alert event) and the accepted head stays as it was, so
the evidence stays comparable however often the peer shows the bad head again.

The accepted heads live in the view store (``witness_heads``): they are this node's memory of what each peer
showed, and an auditor may ask any node for another province's latest witnessed head.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from federation.errors import PeerUnavailable, RemoteRejected
from federation.pki import Manifest, signed_by_member
from federation.tree_heads import (
    BAD_SIGNATURE,
    Cosignature,
    Finding,
    TreeHead,
    check_head,
    cosignature_payload,
)
from infra.view_store import ViewStore

ACCEPTED = "ACCEPTED"
UNCHANGED = "UNCHANGED"
DDL = """CREATE TABLE IF NOT EXISTS witness_heads (
    province TEXT PRIMARY KEY,
    tree_size BIGINT NOT NULL,
    root_hash TEXT NOT NULL,
    signed_at TEXT NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    cosigned_at TEXT NOT NULL,
    cosignature_key_id TEXT NOT NULL,
    cosignature TEXT NOT NULL,
    delivered INTEGER NOT NULL)"""
HEAD_COLUMNS = ("province", "tree_size", "root_hash", "signed_at", "key_id", "signature")
COLUMNS = (
    "province",
    "tree_size",
    "root_hash",
    "signed_at",
    "key_id",
    "signature",
    "cosigned_at",
    "cosignature_key_id",
    "cosignature",
    "delivered",
)


class PeerLogs(Protocol):
    """The peers' transparency logs, over the federation (``federation.client.PeerClients``)."""

    def tree_head(self, province: str) -> tuple[TreeHead, list[Cosignature]]: ...

    def consistency_proof(self, province: str, first: int, second: int) -> list[bytes]: ...

    def submit_cosignature(self, province: str, head: TreeHead, cosignature: Cosignature) -> None: ...


# the refused head, the head accepted before it (None: none yet), why it was refused
AlertSink = Callable[[TreeHead, TreeHead | None, Finding], None]


@dataclass(frozen=True)
class Observation:
    """One round's result for one peer: ACCEPTED, UNCHANGED, or the kind of alert raised."""

    province: str
    outcome: str
    tree_size: int
    checked_at: datetime
    detail: str = ""


class Witness:
    def __init__(
        self,
        province: str,
        store: ViewStore,
        peers: PeerLogs,
        manifest: Callable[[], Manifest],
        sign: Callable[[bytes], bytes],
        key_id: str,
        clock: Callable[[], datetime],
        on_alert: AlertSink,
    ) -> None:
        self._province, self._store, self._peers, self._manifest = province, store, peers, manifest
        self._sign, self._key_id, self._clock, self._on_alert = sign, key_id, clock, on_alert
        self._lock = threading.Lock()
        self.last: dict[str, Observation] = {}  # the latest round's result per peer, for readiness
        with store.transaction() as tx:
            tx.execute(DDL)

    def observe(self, peer: str) -> Observation:
        """One round for ``peer``. Raises PeerUnavailable or RemoteRejected when it cannot be asked."""
        member = self._manifest().member(peer)
        if member is None:
            raise PeerUnavailable(peer, "not in the federation manifest")
        head, _cosignatures = self._peers.tree_head(peer)
        accepted = self.accepted(peer)
        path = None
        if accepted is not None and head.tree_size > accepted.tree_size:
            try:
                path = self._peers.consistency_proof(peer, accepted.tree_size, head.tree_size)
            except RemoteRejected:
                path = None  # a peer that cannot prove the extension has not extended: check_head says FORK
        finding = check_head(head, accepted, path, signed_by_member(member))
        if finding is None and head.province != peer:
            finding = Finding(BAD_SIGNATURE, f"province {peer} sent a head of province {head.province}")
        now = self._clock()
        if finding is not None:
            self._on_alert(head, accepted, finding)
            return self._remember(Observation(peer, finding.kind, head.tree_size, now, finding.detail))
        if accepted is not None and accepted.tree_size == head.tree_size:
            self._deliver_pending(peer)
            return self._remember(Observation(peer, UNCHANGED, head.tree_size, now))
        cosignature = self._cosign(head, now)
        self._accept(head, cosignature)
        self._deliver_pending(peer)
        return self._remember(Observation(peer, ACCEPTED, head.tree_size, now))

    def _remember(self, observation: Observation) -> Observation:
        with self._lock:
            self.last[observation.province] = observation
        return observation

    def _cosign(self, head: TreeHead, now: datetime) -> Cosignature:
        cosigned_at = now.isoformat()
        signature = self._sign(cosignature_payload(head, self._province, cosigned_at))
        return Cosignature(self._province, self._key_id, cosigned_at, signature)

    def _accept(self, head: TreeHead, cosignature: Cosignature) -> None:
        signed, cosigned = head.as_json(), cosignature.as_json()
        row = (
            *(signed[c] for c in HEAD_COLUMNS),
            cosigned["cosigned_at"],
            cosigned["key_id"],
            cosigned["signature"],
            0,
        )
        with self._store.transaction() as tx:
            tx.execute("DELETE FROM witness_heads WHERE province = ?", (head.province,))
            tx.insert_many("witness_heads", COLUMNS, [row])

    def _deliver_pending(self, peer: str) -> None:
        """Return the cosignature of the accepted head to the peer, once (until it has taken it)."""
        witnessed = self.witnessed(peer)
        if witnessed is None or witnessed["delivered"]:
            return
        head = TreeHead.from_json(witnessed["head"])
        self._peers.submit_cosignature(peer, head, Cosignature.from_json(witnessed["cosignature"]))
        with self._store.transaction() as tx:
            tx.execute(
                "UPDATE witness_heads SET delivered = 1 WHERE province = ? AND tree_size = ?",
                (peer, head.tree_size),
            )

    def accepted(self, peer: str) -> TreeHead | None:
        witnessed = self.witnessed(peer)
        return None if witnessed is None else TreeHead.from_json(witnessed["head"])

    def witnessed(self, peer: str) -> dict[str, Any] | None:
        """The last head of ``peer`` this node accepted, with this node's cosignature of it."""
        with self._store.transaction() as tx:
            rows = tx.fetchall(
                f"SELECT {', '.join(COLUMNS)} FROM witness_heads WHERE province = ?",  # noqa: S608
                (peer,),
            )
        if not rows:
            return None
        row = dict(zip(COLUMNS, rows[0], strict=True))
        return {
            "head": {k: row[k] for k in HEAD_COLUMNS},
            "cosignature": {
                "witness": self._province,
                "key_id": row["cosignature_key_id"],
                "cosigned_at": row["cosigned_at"],
                "signature": row["cosignature"],
            },
            "delivered": bool(row["delivered"]),
        }
