"""WitnessingService and AlertRecorder over in-memory stores: Jiangsu's node witnesses Shanghai's
transparency log, read straight from Shanghai's TransparencyService (the network between them is covered by
the end-to-end tests), cosigns each head that extends the last, and records a refused head as a LogAlert."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import pytest

from aggregates.log_alert import LogAlert
from federation.errors import PeerUnavailable
from federation.pki import Manifest, Member
from federation.tree_heads import ROLLBACK, Cosignature, TreeHead
from federation.witness import ACCEPTED, UNCHANGED, Witness
from node.services import Services
from node.signing import Ed25519Signer
from node.store.application import NotFound
from node.usecases.transparency import tree_head
from node.usecases.witnessing import AlertRecorder, WitnessingService
from projections.log_alerts import LogAlerts
from tests.builders import ACTOR, FakeClock, issue_fields
from tests.conftest import Keys

SH, JS = "310000", "320000"


class ShanghaiLog:
    """Shanghai's log as the witness asks for it (``federation.witness.PeerLogs``); ``shown`` replaces the
    head it answers with, and ``down`` makes it unreachable."""

    def __init__(self, shanghai: Services, witness_key: Ed25519Signer) -> None:
        self.shanghai, self.witness_key = shanghai, witness_key
        self.shown: TreeHead | None = None
        self.down = False

    def tree_head(self, province: str) -> tuple[TreeHead, list[Cosignature]]:
        if self.down:
            raise PeerUnavailable(province, "connection refused")
        latest = self.shanghai.transparency.latest_head()
        assert latest is not None
        return self.shown or tree_head(latest, SH), []

    def consistency_proof(self, province: str, first: int, second: int) -> list[bytes]:
        return [bytes.fromhex(h) for h in self.shanghai.transparency.consistency(first, second)["path"]]

    def submit_cosignature(self, province: str, head: TreeHead, cosignature: Cosignature) -> None:
        self.shanghai.transparency.accept_cosignature(head, cosignature, self.witness_key.public_key().verify)


def witnessing(jiangsu: Services, keys: Keys, log: ShanghaiLog, clock: FakeClock) -> WitnessingService:
    """Jiangsu's witnessing of Shanghai, whose signing key the manifest lists."""
    shanghai = Member(SH, "上海", "127.0.0.1:1", "", "", keys.node_signer.public_key_pem())
    manifest = Manifest("test", 1, clock.now, clock.now, clock.now, (shanghai,))
    witness = Witness(
        JS,
        jiangsu.views,
        log,
        lambda: manifest,
        log.witness_key.sign,
        log.witness_key.key_id,
        clock,
        AlertRecorder(jiangsu.app, clock),
    )
    return WitnessingService(witness, [SH], jiangsu.views)


def grown(node: Services, clock: FakeClock, certificates: int = 1) -> dict[str, Any]:
    """Shanghai's new head, a minute later, after issuing ``certificates`` more certificates."""
    for _ in range(certificates):
        node.certificates.issue(ACTOR, **issue_fields(0, date(2025, 9, 1)))
    clock.advance(minutes=1)
    head = node.transparency.publish_head()
    assert head is not None
    return head


@pytest.fixture
def log(node: Services) -> ShanghaiLog:
    return ShanghaiLog(node, Ed25519Signer.generate())


def test_each_new_head_is_cosigned_and_the_cosignature_reaches_shanghai(
    node: Services, jiangsu: Services, keys: Keys, log: ShanghaiLog, clock: FakeClock
) -> None:
    service = witnessing(jiangsu, keys, log, clock)
    first = grown(node, clock, 0)
    [seen] = service.tick()
    assert (seen.province, seen.outcome, seen.tree_size) == (SH, ACCEPTED, first["tree_size"])
    latest = node.transparency.latest_head()
    assert latest is not None
    assert [c["witness"] for c in latest["cosignatures"]] == [JS]
    assert service.witnessed_head(SH)["head"]["root_hash"] == first["root_hash"]
    assert [o.outcome for o in service.tick()] == [UNCHANGED]
    second = grown(node, clock)
    [seen] = service.tick()
    assert (seen.outcome, seen.tree_size) == (ACCEPTED, second["tree_size"])
    status = service.status()[SH]
    assert (status["accepted_tree_size"], status["last_outcome"], status["alerts"]) == (
        second["tree_size"],
        ACCEPTED,
        [],
    )
    assert status["last_checked_at"] == clock.now.isoformat()


def test_a_rolled_back_head_raises_one_alert_in_the_witness_log(
    node: Services, jiangsu: Services, keys: Keys, log: ShanghaiLog, clock: FakeClock
) -> None:
    service = witnessing(jiangsu, keys, log, clock)
    old = grown(node, clock, 0)
    grown(node, clock)
    service.tick()
    log.shown = tree_head(old, SH)  # Shanghai shows an older, smaller tree again
    before = jiangsu.app.recorder.max_notification_id()
    assert [o.outcome for o in service.tick()] == [ROLLBACK]
    assert [o.outcome for o in service.tick()] == [ROLLBACK]
    assert jiangsu.app.recorder.max_notification_id() == (before or 0) + 1  # one alert for that head
    jiangsu.projections[LogAlerts.name].tick()
    [alert] = service.alerts()
    assert (alert["province"], alert["kind"], alert["tree_size"]) == (SH, ROLLBACK, old["tree_size"])
    assert service.status()[SH]["alerts"] == [ROLLBACK]
    notification = jiangsu.app.recorder.select_notifications(start=before or 0, limit=2)[-1]
    assert notification.topic.endswith("LogAlert.Raised")
    raised: LogAlert = jiangsu.app.repository.get(UUID(str(notification.originator_id)))
    assert isinstance(raised, LogAlert)


def test_an_unreachable_peer_is_skipped_and_an_unwitnessed_one_is_not_found(
    node: Services, jiangsu: Services, keys: Keys, log: ShanghaiLog, clock: FakeClock
) -> None:
    service = witnessing(jiangsu, keys, log, clock)
    node.transparency.publish_head()
    log.down = True
    assert service.tick() == []
    with pytest.raises(NotFound):
        service.witnessed_head(SH)
    assert service.status()[SH]["last_outcome"] is None
    log.down = False
    assert [o.outcome for o in service.tick()] == [ACCEPTED]
