"""This node as a witness of the other provinces' transparency logs: runs ``federation.witness.Witness``
over every peer, records each refused head as a ``LogAlert`` event, and answers auditors and readiness."""

from __future__ import annotations

import base64
from typing import Any

import structlog
from eventsourcing.persistence import IntegrityError

from aggregates.log_alert import LogAlert
from federation.errors import PeerUnavailable, RemoteRejected
from federation.tree_heads import Finding, TreeHead
from federation.witness import ACCEPTED, Observation, Witness
from infra.view_store import ViewStore
from node.store.application import Clock, NodeApplication, NotFound
from projections.log_alerts import alerts

log = structlog.get_logger("tongban.witness")


class AlertRecorder:
    """Keeps a witness's finding as an event of this node's own log (once per refused head)."""

    def __init__(self, app: NodeApplication, clock: Clock) -> None:
        self._app, self._clock = app, clock

    def __call__(self, head: TreeHead, accepted: TreeHead | None, finding: Finding) -> None:
        alert = LogAlert.raise_alert(
            province=head.province,
            kind=finding.kind,
            detail=finding.detail,
            tree_size=head.tree_size,
            root_hash=head.root_hash,
            signed_at=head.signed_at,
            signature=base64.b64encode(head.signature).decode(),
            accepted_tree_size=accepted.tree_size if accepted else 0,
            accepted_root_hash=accepted.root_hash if accepted else "",
            observed_at=self._clock(),
        )
        try:
            self._app.save(alert)
        except IntegrityError:
            return  # this head was refused before: the alert is already on record
        log.error(
            "witness.alert",
            province=head.province,
            kind=finding.kind,
            detail=finding.detail,
            tree_size=head.tree_size,
            accepted_tree_size=accepted.tree_size if accepted else 0,
        )


class WitnessingService:
    def __init__(self, witness: Witness, peers: list[str], views: ViewStore) -> None:
        self._witness, self.peers, self._views = witness, peers, views

    def tick(self) -> list[Observation]:
        """One witnessing round over every peer; a peer that cannot be asked now is tried next round."""
        seen = []
        for peer in self.peers:
            try:
                observation = self._witness.observe(peer)
            except (PeerUnavailable, RemoteRejected) as e:
                log.info("witness.peer_unreachable", province=peer, error_type=type(e).__name__)
                continue
            if observation.outcome == ACCEPTED:
                log.info("witness.head_cosigned", province=peer, tree_size=observation.tree_size)
            seen.append(observation)
        return seen

    def witnessed_head(self, province: str) -> dict[str, Any]:
        """Another province's latest head as this node accepted and cosigned it (NotFound: none yet)."""
        witnessed = self._witness.witnessed(province)
        if witnessed is None:
            raise NotFound(f"this node has witnessed no tree head of province {province}")
        return {"head": witnessed["head"], "cosignature": witnessed["cosignature"]}

    def alerts(self) -> list[dict[str, Any]]:
        with self._views.transaction() as tx:
            return alerts(tx)

    def status(self) -> dict[str, Any]:
        """Per peer: the accepted tree size, the last round's outcome, and the alerts raised against it."""
        raised = self.alerts()
        report: dict[str, Any] = {}
        for peer in self.peers:
            accepted = self._witness.accepted(peer)
            last = self._witness.last.get(peer)
            report[peer] = {
                "accepted_tree_size": accepted.tree_size if accepted else 0,
                "last_outcome": last.outcome if last else None,
                "last_checked_at": last.checked_at.isoformat() if last else None,
                "alerts": sorted({a["kind"] for a in raised if a["province"] == peer}),
            }
        return report
