"""The law of a case end to end across two provinces for 异地代收代办 (PROXY): Shanghai's window receives for
Jiangsu, two real node processes federated over mutual TLS, on a node clock that runs ``LAW_TIME_SCALE``
times faster from 09:00 on the test date, so that working days pass while the test waits on conditions.

- 行政许可法 第32条: the window gives the one-time notice; the acceptance dates from the day the materials
  were complete; with no notice and no decision in 5 working days, the handling province's timer deems the
  application accepted from the day of receipt;
- 第38条: a refusal for lack of competence carries its reason, basis, remedies (with the limits the law sets)
  and the competent agency, and its written decision is listed at both provinces;
- 第44条: the decision is delivered at the receiving window within the delivery clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date

import aiohttp
import pytest

from simulators.federated_flows import Applicant, Federation, FlowResult
from simulators.federation_cluster import FederatedCluster
from simulators.law_flows import (
    LAW_TIME_SCALE,
    deemed_acceptance_flow,
    refusal_flow,
    window_notice_flow,
)
from simulators.simulate import simulated_time
from tests.dates import TEST_DATE
from tests.e2e.federation_support import running_cluster

SH, JS = "310000", "320000"


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FederatedCluster]:
    fast = simulated_time(LAW_TIME_SCALE, TEST_DATE)
    with running_cluster(request, tmp_path_factory, (SH, JS), fast) as federated:
        yield federated


@pytest.fixture(scope="module")
def flows(cluster: FederatedCluster) -> dict[str, FlowResult]:
    async def scenario() -> dict[str, FlowResult]:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            fed = Federation(session, cluster.nodes, cluster.issuer_key, TEST_DATE)
            applicant: Applicant = await fed.issue_id_card(SH, seed="e2e-law")
            return {
                "notice": await window_notice_flow(fed, SH, JS, applicant),
                "refusal": await refusal_flow(fed, SH, JS, applicant),
                "deemed": await deemed_acceptance_flow(fed, SH, JS, applicant),
            }

    return asyncio.run(scenario())


def test_the_window_gives_the_one_time_notice_and_acceptance_dates_from_complete_materials(
    flows: dict[str, FlowResult],
) -> None:
    """第32条: Shanghai's window notices the missing material while it holds the case; Jiangsu accepts later,
    and the acceptance date is the day the supplement completed the materials, not the day of the click."""
    notice = flows["notice"]
    assert notice.facts["notice_by"] == "SUPPLEMENT_REQUESTED"
    assert notice.facts["accepted_on"] == notice.facts["materials_complete_on"]
    assert "SUPPLEMENT" in notice.facts["notices_at_receiving"]


def test_no_notice_in_five_working_days_means_accepted_from_receipt(flows: dict[str, FlowResult]) -> None:
    """第32条: the notice limit passed with no notice and no decision, so Jiangsu's timer deemed the
    application accepted from the day Shanghai's window received it, and the notice limit reads breached."""
    deemed = flows["deemed"]
    assert deemed.facts["accepted_on"] == deemed.facts["received_on"]
    assert date.fromisoformat(deemed.facts["accepted_on"]) >= TEST_DATE
    assert deemed.facts["timeline"].count("AcceptanceDeemed") == 1
    assert "Accepted" not in deemed.facts["timeline"]


def test_the_receiving_window_delivers_within_the_delivery_clock(flows: dict[str, FlowResult]) -> None:
    """第44条: the decision, made at Jiangsu, is delivered at Shanghai's window on time."""
    deemed = flows["deemed"]
    assert deemed.facts["delivery"] == "CONCLUDED_ON_TIME"
    assert deemed.facts["delivery_due_on"] is not None


def test_a_refusal_for_lack_of_competence_is_reasoned_with_remedies_at_both_provinces(
    flows: dict[str, FlowResult],
) -> None:
    """第32条第一款第二项 and 第38条: the refusal names the competent agency, the basis and the remedies with
    the limits the node adds; the written decision is listed at the receiving province as at the handling."""
    refusal = flows["refusal"]
    decision = refusal.facts["decision"]
    assert decision["ground"] == "OUTSIDE_COMPETENCE"
    assert decision["competent_agency"]
    assert decision["legal_basis"] == ["《中华人民共和国行政许可法》第三十二条第一款第二项"]
    assert decision["remedies"]["reconsideration_body"] == "江苏省人民政府"
    assert decision["remedies"]["reconsideration_limit_days"] == 60
    assert decision["remedies"]["litigation_limit_months"] == 6
    assert refusal.facts["notices_at_receiving"] == refusal.facts["notices_at_handling"]
    assert "REFUSAL" in refusal.facts["notices_at_receiving"]
