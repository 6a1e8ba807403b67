"""A poisoned event in the middle of a busy feed, between real node processes over mutual TLS: the peer holds
back that event's stream only, says so in ``/readyz``, ``/metrics`` and its admin API, and every other stream
keeps flowing, exactly once and in order.

The poison is the one the domain review found: Shanghai holds a certificate whose issuer code belongs to
Jiangsu, written before a node checked the issuer's division (the check came with round 3's issuing rules;
here the certificate is written into Shanghai's store before it starts, as round 2's code wrote it). Its
status changes reach Jiangsu as notices of a certificate Shanghai did not issue, which Jiangsu refuses; before
the quarantine, that refusal stopped the whole feed from Shanghai for good.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from aggregates.certificate import Certificate, CertificateContent
from aggregates.foreign_certificate import ForeignCertificate
from aggregates.identifiers import CertificateIdentifier
from node.auth import Role
from node.bootstrap import build_services, close_services
from node.settings import load_settings
from simulators.federated_flows import Applicant, Federation
from simulators.federation_cluster import FederatedCluster
from simulators.sample_data import credit_code, sample_certificates
from tests.dates import TEST_DATE
from tests.e2e import http_client as http
from tests.e2e.federation_support import running_cluster
from tests.e2e.test_federation_robustness import _differences, _forward_cases, _wait_in_step

pytestmark = pytest.mark.e2e
SH, JS = "310000", "320000"
CASES_BEFORE, CASES_AFTER = 6, 6
JIANGSU_ISSUER = credit_code(JS, 4242)


def _write_round2_certificate(cluster: FederatedCluster) -> str:
    """Shanghai's store gets a certificate of Jiangsu's issuer, as round 2 let a node issue one (it checked
    the jurisdiction only). Written with the event class itself: today's ``Certificate.issue`` refuses it."""
    environ = {"TONGBAN_DATA_DIR": str(cluster.data_dir), **cluster.store_env.get(SH, {})}
    services = build_services(load_settings(province=SH, environ=environ))
    try:
        body = sample_certificates(SH, 1, today=TEST_DATE, seed="poison")[0]
        content = CertificateContent.create(serial="00000042", **{"service_item_code": None, **body})
        identifier = CertificateIdentifier.build(content.type_code, JIANGSU_ISSUER, "00000042", 1)
        content = dataclasses.replace(content, issuer_code=JIANGSU_ISSUER, identifier=str(identifier))
        certificate = Certificate._create(
            Certificate.Issued,
            **dataclasses.asdict(content),
            signature="cm91bmQtMg==",  # round 2 signed it; the notices that poison the feed carry none
            signature_algorithm="Ed25519",
            signing_key_id="round-2",
            province=SH,
            office_code="ISSUER",
            operator_id="round-2",
            timestamp=services.cases.now(),
        )
        services.app.save(certificate)
        return str(identifier)
    finally:
        close_services(services)


@dataclasses.dataclass
class Poisoned:
    cluster: FederatedCluster
    identifier: str = ""  # the round-2 certificate in Shanghai's store


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def poisoned(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Poisoned]:
    written: dict[str, str] = {}

    def before_start(cluster: FederatedCluster) -> None:
        written["identifier"] = _write_round2_certificate(cluster)

    # small batches: the poisoned notices share batches with case events of other streams
    with running_cluster(
        request,
        tmp_path_factory,
        (SH, JS),
        {"TONGBAN_FEDERATION_BATCH_EVENTS": "5"},
        before_start=before_start,
    ) as cluster:
        yield Poisoned(cluster, written["identifier"])


async def _run(cluster: FederatedCluster, scenario: Any) -> Any:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        return await scenario(Federation(session, cluster.nodes, cluster.issuer_key, TEST_DATE))


def _quarantine_metrics(cluster: FederatedCluster) -> tuple[float, float]:
    metrics = http.get_text(f"{cluster.nodes[JS].http_url}/metrics")
    values = {
        line.split()[0]: float(line.split()[1])
        for line in metrics.splitlines()
        if line.startswith("tongban_federation_quarantined_")
    }
    return (
        values[f'tongban_federation_quarantined_streams{{peer="{SH}"}}'],
        values[f'tongban_federation_quarantined_events_total{{peer="{SH}"}}'],
    )


def _ready_quarantine(cluster: FederatedCluster) -> dict[str, Any]:
    status, ready = http.get_json(f"{cluster.nodes[JS].http_url}/readyz")
    assert status == 200  # a held stream degrades replication; the node still serves its users
    return dict(ready["checks"]["federation_quarantine"])


def test_a_poisoned_event_holds_back_its_own_stream_while_the_rest_of_the_feed_flows(
    poisoned: Poisoned,
) -> None:
    cluster = poisoned.cluster
    poisoned_id = str(ForeignCertificate.id_for(poisoned.identifier))  # the stream of its status at a peer

    async def busy_feed(fed: Federation) -> list[str]:
        """Cases forwarded to Jiangsu before, between and after the poisoned certificate's two notices."""
        applicant: Applicant = await fed.issue_id_card(SH, seed="quarantine")
        case_ids = await _forward_cases(fed, applicant, CASES_BEFORE)
        for operation in ("suspend", "release"):
            await fed.post(
                SH, f"/v1/certificates/{poisoned.identifier}/{operation}", Role.ISSUER, {"reason": "核查"}
            )
            case_ids += await _forward_cases(fed, applicant, CASES_AFTER // 2)
        return case_ids

    case_ids = asyncio.run(_run(cluster, busy_feed))
    caught_up = _wait_in_step(cluster, JS, SH)  # the position passed the held notices: nothing stalls
    assert caught_up["lag_events"] == 0

    # every other stream flowed, event by event as Shanghai wrote it: nothing lost, doubled or reordered
    assert len(case_ids) == CASES_BEFORE + CASES_AFTER
    assert asyncio.run(_run(cluster, lambda fed: _differences(fed, case_ids))) == []

    # the poisoned certificate's stream alone is held, both its notices, with the inbox's reason
    check = _ready_quarantine(cluster)
    assert check["status"] == "degraded"
    [held] = check["streams"][SH]
    assert (held["stream_id"], held["events"]) == (poisoned_id, 2)
    assert held["reason"] == "a certificate notice for a certificate another province issued"
    assert list(check["streams"]) == [SH]
    assert _quarantine_metrics(cluster) == (1.0, 2.0)

    async def admin(fed: Federation) -> tuple[Any, Any, Any]:
        listed = await fed.get(JS, "/v1/admin/federation/quarantine", Role.ADMIN)
        retried = await fed.post(JS, "/v1/admin/federation/quarantine/retry", Role.ADMIN, {"peer": SH})
        unknown = await fed.post(
            JS,
            "/v1/admin/federation/quarantine/retry",
            Role.ADMIN,
            {"peer": SH, "stream_id": case_ids[0]},
            expect=404,
        )
        return listed, retried, unknown

    listed, retried, unknown = asyncio.run(_run(cluster, admin))
    assert listed == check
    # no fix has come for this poison (Shanghai's history cannot change): the retry holds both again
    assert retried == {"released": 0, "still_held": 2, "reasons": {poisoned_id: held["reason"]}}
    assert unknown["detail"] == "no such stream held from that peer"
    assert _ready_quarantine(cluster)["streams"][SH][0]["events"] == 2
