"""Every read model on SQLite and PostgreSQL: a crash in the middle of a batch leaves the rows and the
position as the last committed batch left them, the restarted follower applies no event twice, and a rebuild
from zero equals the live rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from aggregates.identifiers import CertificateIdentifier
from infra.view_store import Transaction
from node.services import Services
from node.usecases.case_commands import ACCEPT, ATTACH_MATERIAL, CONCLUDE, RATE
from projections.follower import Projection, ProjectionFollower
from simulators.sample_data import credit_code
from tests.builders import CONSENT, FakeClock
from tests.integration.test_case_board import ID_CARD, SH_PLATFORM
from tests.integration.test_case_service import APPLICANT, JS_HANDLER, SH_WINDOW, approve, id_card, proxy_case
from tests.integration.test_service_statistics import handled_cases

READ_MODELS = ("case_board", "case_view", "certificate_uses", "recognition_registry", "service_statistics")


class Crashing:
    """A read model that dies (like a kill: nothing more of its transaction happens) at event ``at``."""

    def __init__(self, inner: Projection, at: int) -> None:
        self.inner, self.countdown = inner, at
        self.name, self.topics, self.tables = inner.name, inner.topics, inner.tables

    def create(self, tx: Transaction) -> None:
        self.inner.create(tx)

    def apply(self, tx: Transaction, event: Any) -> None:
        self.countdown -= 1
        if self.countdown == 0:
            raise KeyboardInterrupt
        self.inner.apply(tx, event)

    def flush(self, tx: Transaction) -> None:
        self.inner.flush(tx)


def snapshot(node: Services, tables: Sequence[str]) -> dict[str, list[tuple[Any, ...]]]:
    with node.views.transaction() as tx:
        return {table: sorted(tx.fetchall(f"SELECT * FROM {table}"), key=repr) for table in tables}  # noqa: S608


def work(node: Services, clock: FakeClock) -> None:
    """Something for every read model: a case through to its rating, a use of a certificate, a recognition
    refused, a certificate relied on and then suspended. Repeatable: each call records new things."""
    case_id = proxy_case(node, clock)
    node.cases.run(ACCEPT, case_id, JS_HANDLER)
    approve(node, case_id, JS_HANDLER)
    node.cases.run(CONCLUDE, case_id, JS_HANDLER, result="ISSUED")
    node.cases.run(RATE, case_id, SH_WINDOW, score=2, channel="WINDOW")
    own = id_card(node)
    node.certificates.verify_for_peer(own, "320000", "32000020250924000001", "新生儿入户", CONSENT)
    filed = node.cases.submit(
        SH_PLATFORM, item_province="310000", item_code="YM-0001", mode="FULL_ONLINE", applicant=APPLICANT
    )
    case = node.cases.case(str(filed.id))
    foreign = str(CertificateIdentifier.build(ID_CARD, credit_code("320000", 1001), "S1"))
    case.decide_recognition("M01", foreign, "320000", None, "status SUSPENDED", SH_PLATFORM, clock())
    node.app.save(case)
    node.cases.run(
        ATTACH_MATERIAL,
        str(filed.id),
        SH_PLATFORM,
        material_code="M01",
        certificate_identifier=own,
        consent_reference=CONSENT,
    )
    node.certificates.change_status(own, "suspend", SH_WINDOW, reason="暂扣")


@pytest.mark.parametrize("name", READ_MODELS)
def test_a_crash_inside_a_batch_applies_nothing_twice(node: Services, clock: FakeClock, name: str) -> None:
    live = node.projections[name]
    tables = live.projection.tables
    handled_cases(node, clock)
    work(node, clock)
    live.tick()
    committed, position = snapshot(node, tables), live.position()
    work(node, clock)  # the next batch

    crashing = ProjectionFollower(
        node.app, node.views, Crashing(live.projection, at=3), node.settings.projection_batch_events
    )
    with pytest.raises(KeyboardInterrupt):
        crashing.tick()
    assert snapshot(node, tables) == committed  # the batch and its position went together
    assert live.position() == position

    assert live.tick() > 0  # the restarted node catches up from where the store says
    recovered = snapshot(node, tables)
    assert recovered != committed
    assert live.rebuild() > 0
    assert snapshot(node, tables) == recovered
