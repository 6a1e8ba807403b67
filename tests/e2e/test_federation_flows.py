"""End to end: four province nodes as real processes, federated over mutual TLS on loopback, on SQLite and
on PostgreSQL. The four cross-province flows run with each officer calling their own province's node."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from tongban.federation.v1 import federation_pb2 as pb
from tongban.federation.v1 import federation_pb2_grpc as pb_grpc

from federation.client import channel_options
from federation.handshake import PROTOCOL_VERSION, channel_credentials
from federation.transparency_verify import verify_inclusion
from federation.tree_heads import TreeHead
from node.auth import Role
from node.signing import PublicKey
from simulators.federated_flows import (
    Applicant,
    Federation,
    FlowResult,
    full_online_flow,
    joint_flow,
    proxy_flow,
    revocation_flow,
)
from simulators.federation_cluster import FederatedCluster
from simulators.rest import DemoError
from simulators.sample_data import consent_reference, sample_certificates
from tests.dates import TEST_DATE
from tests.e2e import http_client as http
from tests.e2e.federation_support import poll_http, running_cluster

pytestmark = pytest.mark.e2e
SH, JS, ZJ, AH = "310000", "320000", "330000", "340000"


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FederatedCluster]:
    with running_cluster(request, tmp_path_factory, (SH, JS, ZJ, AH)) as federated:
        yield federated
    assert {node.province: node.stop() for node in federated.nodes.values()} == dict.fromkeys(
        (SH, JS, ZJ, AH), 0
    )


async def _with_federation(cluster: FederatedCluster, scenario: Any) -> Any:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        return await scenario(Federation(session, cluster.nodes, cluster.issuer_key, TEST_DATE))


@pytest.fixture(scope="module")
def flows(cluster: FederatedCluster) -> dict[str, FlowResult]:
    async def scenario(fed: Federation) -> dict[str, FlowResult]:
        applicant: Applicant = await fed.issue_id_card(SH, seed="e2e-applicant")
        results = {
            "proxy": await proxy_flow(fed, SH, JS, applicant),
            "online": await full_online_flow(fed, SH, JS, applicant),
            "joint": await joint_flow(fed, SH, ZJ, AH, applicant),
            "revocation": await revocation_flow(fed, SH, (JS, ZJ), applicant),
        }
        results["proxy"].facts["applicant"] = applicant
        return results

    result: dict[str, FlowResult] = asyncio.run(_with_federation(cluster, scenario))
    return result


def test_proxy_case_is_the_same_case_on_both_nodes(flows: dict[str, FlowResult]) -> None:
    proxy = flows["proxy"]
    assert proxy.facts["same_timeline"] is True
    assert proxy.facts["timeline_provinces"] == [SH, JS]
    assert proxy.facts["notices"] == ["ACCEPTANCE", "SUPPLEMENT", "PERMISSION"]  # the same at both
    assert proxy.facts["supplement_seen_at_receiving"] == "ACCEPTED"  # B's answer, replicated back to A
    assert proxy.facts["recognised_through_receiving"] == [(SH, True)]  # Jiangsu's decision on a 上海 card


def test_no_node_logs_the_applicants_name_or_id_number(
    cluster: FederatedCluster, flows: dict[str, FlowResult]
) -> None:
    applicant: Applicant = flows["proxy"].facts["applicant"]
    lines = [line for node in cluster.nodes.values() for line in node.lines]
    assert len(lines) > 100
    assert [line for line in lines if applicant.id_number in line or applicant.name in line] == []


def test_full_online_case_recognises_or_refuses_the_issuers_certificates(
    flows: dict[str, FlowResult],
) -> None:
    online = flows["online"]
    assert online.facts["recognitions"] == [(False, "status SUSPENDED"), (True, "")]
    assert "not recognised (decision recorded): status SUSPENDED" in online.facts["refusal_detail"]
    [use] = online.facts["uses_recorded_by_issuer"]
    assert (use["detail"]["requester_province"], use["operator_id"]) == (JS, JS)


def test_joint_case_concludes_when_every_part_has(flows: dict[str, FlowResult]) -> None:
    joint = flows["joint"]
    for province in (ZJ, AH):
        assert joint.facts[f"parts_seen_at_{province}"] == {"P1": "ISSUED", "P2": "ISSUED", "P3": "ISSUED"}


def test_revocation_flags_each_relying_case_exactly_once(
    cluster: FederatedCluster, flows: dict[str, FlowResult]
) -> None:
    revocation = flows["revocation"]
    identifier = revocation.facts["certificate"]
    assert revocation.facts["flags"] == {JS: {identifier: "REVOKED"}, ZJ: {identifier: "REVOKED"}}

    # A second flag would come from a later pass of a reliance watcher, replicated to the other party: wait
    # until every node's watcher has made three more passes and every node is in step with its peers.
    before = {province: _watcher_passes(cluster, province) for province in cluster.provinces}
    poll_http(
        "every reliance watcher three passes further, and replication in step",
        lambda: all(
            _watcher_passes(cluster, province) >= before[province] + 3 and _in_step(cluster, province)
            for province in cluster.provinces
        ),
        bound_s=60.0,
    )

    async def flag_events(fed: Federation) -> list[int]:
        counts = []
        for province, case_id in zip((JS, ZJ), revocation.case_ids, strict=True):
            timeline = await fed.get(province, f"/v1/cases/{case_id}/timeline")
            counts.append(sum(e["event"] == "ReliedCertificateChanged" for e in timeline["entries"]))
        return counts

    assert asyncio.run(_with_federation(cluster, flag_events)) == [1, 1]


def _watcher_passes(cluster: FederatedCluster, province: str) -> float:
    metrics = http.get_text(f"{cluster.nodes[province].http_url}/metrics")
    match = re.search(r'^tongban_worker_passes_total\{worker="reliance_watcher"\} (\S+)$', metrics, re.M)
    return float(match.group(1)) if match else 0.0


def _in_step(cluster: FederatedCluster, province: str) -> bool:
    status, ready = http.get_json(f"{cluster.nodes[province].http_url}/readyz")
    return status == 200 and all(peer["in_step"] for peer in ready["checks"]["replication"].values())


def _pull_as(cluster: FederatedCluster, source: str, caller: str) -> list[pb.ReplicatedEvent]:
    """Everything ``source`` lets ``caller`` see, pulled with ``caller``'s own client certificate."""
    directory = cluster.federation_dir
    credentials = channel_credentials(
        (directory / caller / "node.key").read_bytes(),
        (directory / caller / "node.pem").read_bytes(),
        (directory / "ca.pem").read_bytes(),
    )
    events: list[pb.ReplicatedEvent] = []
    with grpc.secure_channel(f"127.0.0.1:{cluster.ports[source]}", credentials) as channel:
        stream = pb_grpc.FederationServiceStub(channel).PullEvents(
            pb.PullEventsRequest(after_position=0, follow=False), timeout=30
        )
        for batch in stream:
            events.extend(batch.events)
    return events


def test_each_peer_sees_only_the_cases_it_is_party_to_and_the_fields_it_needs(
    cluster: FederatedCluster, flows: dict[str, FlowResult]
) -> None:
    proxy_case = flows["proxy"].case_ids[0]
    joint_case = flows["joint"].case_ids[0]
    seen = {caller: _pull_as(cluster, SH, caller) for caller in (JS, ZJ, AH)}

    def cases(events: list[pb.ReplicatedEvent]) -> set[str]:
        return {e.originator_id for e in events if e.topic.startswith("aggregates.case:")}

    def applicants(events: list[pb.ReplicatedEvent]) -> list[pb.ReplicatedEvent]:
        return [e for e in events if e.topic == "aggregates.applicant:Applicant.Registered"]

    # Jiangsu handles the proxy case: it gets it, and the applicant's identity with it; not the joint case
    assert proxy_case in cases(seen[JS])
    assert joint_case not in cases(seen[JS])
    assert len(applicants(seen[JS])) == 1
    # Zhejiang and Anhui each handle a part of the joint case: they get it, but never who the applicant is
    for caller in (ZJ, AH):
        assert cases(seen[caller]) == {joint_case}
        assert applicants(seen[caller]) == []
        [filed] = [e for e in seen[caller] if e.topic == "aggregates.case:Case.Submitted"]
        assert json.loads(filed.state)["applicant_id"] == ""

    # and over REST: the part province has the case, not the person
    async def reads(fed: Federation) -> tuple[int, int, int]:
        headers = fed.headers(ZJ, Role.AUDITOR)
        base = cluster.nodes[ZJ].http_url
        async with fed.session.get(f"{base}/v1/cases/{joint_case}/applicant", headers=headers) as r1:
            applicant_status = r1.status
        async with fed.session.get(f"{base}/v1/cases/{proxy_case}", headers=headers) as r2:
            stranger_status = r2.status
        async with fed.session.get(
            f"{cluster.nodes[JS].http_url}/v1/cases/{proxy_case}/applicant",
            headers=fed.headers(JS, Role.AUDITOR),
        ) as r3:
            handling_status = r3.status
        return applicant_status, stranger_status, handling_status

    assert asyncio.run(_with_federation(cluster, reads)) == (404, 404, 200)


def test_replication_lag_per_peer_in_readyz_metrics_and_grpc_health(
    cluster: FederatedCluster, flows: dict[str, FlowResult]
) -> None:
    node = cluster.nodes[JS]
    status, ready = http.get_json(f"{node.http_url}/readyz")
    assert status == 200
    replication = ready["checks"]["replication"]
    assert set(replication) == {SH, ZJ, AH}
    assert all(peer["connected"] and peer["in_step"] for peer in replication.values()), replication
    assert replication[SH]["applied_total"] > 0
    metrics = http.get_text(f"{node.http_url}/metrics")
    assert f'tongban_replication_lag_events{{peer="{SH}"}} 0.0' in metrics
    assert f'tongban_replication_lag_seconds{{peer="{SH}"}} 0.0' in metrics
    assert f'tongban_replication_latency_seconds_count{{peer="{SH}"}}' in metrics
    # every event of the flows applied: nothing held back in the quarantine, said in readyz and metrics
    assert ready["checks"]["federation_quarantine"] == {"status": "ok", "streams": {}}
    assert f'tongban_federation_quarantined_streams{{peer="{SH}"}} 0.0' in metrics
    with grpc.insecure_channel(node.grpc_target) as channel:
        health: Any = health_pb2_grpc.HealthStub(channel)  # the stubs package types this stub loosely
        answer = health.Check(
            health_pb2.HealthCheckRequest(service=f"tongban.federation.v1.FederationService/peer/{SH}"),
            timeout=10,
        )
    assert answer.status == health_pb2.HealthCheckResponse.SERVING


def test_the_federation_port_serves_health_to_peers_over_mutual_tls(
    cluster: FederatedCluster, flows: dict[str, FlowResult]
) -> None:
    """Peers and load balancers ask the standard health service on the federation port, as a peer (mutual
    TLS): the node, the federation service and each peer's replication; a client with no certificate is
    refused by TLS before any answer."""
    directory = cluster.federation_dir
    credentials = channel_credentials(
        (directory / SH / "node.key").read_bytes(),
        (directory / SH / "node.pem").read_bytes(),
        (directory / "ca.pem").read_bytes(),
    )
    jiangsu = f"127.0.0.1:{cluster.ports[JS]}"
    with grpc.secure_channel(jiangsu, credentials, options=channel_options(JS)) as channel:
        health: Any = health_pb2_grpc.HealthStub(channel)
        for service in (
            "",
            "tongban.federation.v1.FederationService",
            f"tongban.federation.v1.FederationService/peer/{SH}",
        ):
            answer = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            assert answer.status == health_pb2.HealthCheckResponse.SERVING, service
    anonymous = grpc.ssl_channel_credentials((directory / "ca.pem").read_bytes())  # no client certificate
    with grpc.secure_channel(jiangsu, anonymous, options=channel_options(JS)) as channel:
        anonymous_health: Any = health_pb2_grpc.HealthStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            anonymous_health.Check(health_pb2.HealthCheckRequest(), timeout=10)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def test_a_node_cannot_pose_as_another_province(cluster: FederatedCluster) -> None:
    """Jiangsu's client expects Zhejiang's node name from what it calls as Zhejiang: Shanghai's node, though
    certified by the same CA, does not carry that name, and TLS refuses the connection."""
    directory = cluster.federation_dir
    credentials = channel_credentials(
        (directory / JS / "node.key").read_bytes(),
        (directory / JS / "node.pem").read_bytes(),
        (directory / "ca.pem").read_bytes(),
    )
    shanghai = f"127.0.0.1:{cluster.ports[SH]}"
    request = pb.HandshakeRequest(province=JS, protocol_versions=[PROTOCOL_VERSION])
    with grpc.secure_channel(shanghai, credentials, options=channel_options(SH)) as channel:
        assert pb_grpc.FederationServiceStub(channel).Handshake(request, timeout=10).province == SH
    with (
        grpc.secure_channel(shanghai, credentials, options=channel_options(ZJ)) as channel,
        pytest.raises(grpc.RpcError) as refused,
    ):
        pb_grpc.FederationServiceStub(channel).Handshake(request, timeout=10)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def test_each_provinces_board_shows_its_replicated_cases_and_its_role(
    cluster: FederatedCluster, flows: dict[str, FlowResult]
) -> None:
    proxy_case, joint_case = flows["proxy"].case_ids[0], flows["joint"].case_ids[0]

    async def boards(fed: Federation) -> dict[str, dict[str, Any]]:
        seen = {}
        for province, case_id in ((JS, proxy_case), (ZJ, joint_case), (SH, joint_case)):
            board = await fed.wait_for(
                province, "/v1/board?open=false&limit=200", _shows(case_id), f"case {case_id} on the board"
            )
            seen[province] = next(row for row in board["cases"] if row["case_id"] == case_id)
        return seen

    seen = asyncio.run(_with_federation(cluster, boards))
    assert (seen[JS]["roles"], seen[JS]["state"]) == (["HANDLING"], "ARCHIVED")
    assert (seen[ZJ]["roles"], seen[ZJ]["state"]) == (["PART"], "CONCLUDED")
    assert (seen[SH]["roles"], seen[SH]["state"]) == (["RECEIVING", "HANDLING", "PART"], "CONCLUDED")


def _shows(case_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda board: any(row["case_id"] == case_id for row in board["cases"])


def test_the_issuers_use_log_shows_the_other_provinces_use(
    cluster: FederatedCluster, flows: dict[str, FlowResult]
) -> None:
    """用证记录 at Shanghai, for the applicant whose ID card Jiangsu verified in the online case."""
    applicant: Applicant = flows["proxy"].facts["applicant"]
    [use] = flows["online"].facts["uses_recorded_by_issuer"]
    case_reference = use["detail"]["case_reference"]

    async def uses(fed: Federation) -> list[dict[str, Any]]:
        body = {"id_type": "111", "id_number": applicant.id_number}
        log = await fed.post(SH, "/v1/holder-uses", Role.PLATFORM, body)
        return list(log["uses"])

    seen = asyncio.run(_with_federation(cluster, uses))
    assert (JS, case_reference) in {(u["requester_province"], u["case_reference"]) for u in seen}


def test_the_recognising_provinces_registry_counts_its_decisions_and_revocations(
    cluster: FederatedCluster, flows: dict[str, FlowResult]
) -> None:
    """Jiangsu recognised Shanghai ID cards (online and through Shanghai's window) and refused a suspended
    one; its open case relying on the card Shanghai revoked shows REVOKED."""
    revoked = flows["revocation"].facts["certificate"]

    async def registry(fed: Federation) -> dict[str, Any]:
        return await fed.wait_for(
            JS,
            "/v1/recognition-registry",
            lambda seen: any(
                r["identifier"] == revoked and r["status"] == "REVOKED" for r in seen["relied_on"]
            ),
            "the revoked certificate in Jiangsu's registry",
        )

    seen = asyncio.run(_with_federation(cluster, registry))
    [decisions] = [
        d for d in seen["decisions"] if d["issuing_province"] == SH and d["recognising_province"] == JS
    ]
    assert decisions["recognised"] >= 2
    assert decisions["refusal_reasons"] == {"status SUSPENDED": 1}


def test_both_provinces_case_views_are_the_same_merged_timeline(
    cluster: FederatedCluster, flows: dict[str, FlowResult]
) -> None:
    proxy_case = flows["proxy"].case_ids[0]

    async def views(fed: Federation) -> list[dict[str, Any]]:
        seen = []
        for province in (SH, JS):
            seen.append(
                await fed.wait_for(
                    province,
                    f"/v1/case-views/{proxy_case}",
                    lambda view: view["entries"][-1]["event"] == "Archived",
                    "the archived case in the case view",
                )
            )
        return seen

    shanghai, jiangsu = asyncio.run(_with_federation(cluster, views))
    for view in (shanghai, jiangsu):  # the instant each node was asked: the only field that may differ
        view["deadlines"].pop("as_of")
    assert shanghai == jiangsu
    assert shanghai["provinces"] == [SH, JS]
    assert shanghai["deadlines"]["statutory"]["status"] == "CONCLUDED_ON_TIME"


@pytest.mark.dated
def test_the_receiving_and_handling_provinces_publish_the_same_statistics(
    cluster: FederatedCluster, flows: dict[str, FlowResult]
) -> None:
    """办件统计 of the PROXY cases Shanghai received for Jiangsu: both nodes hold those cases whole, so once
    both read models have caught up, they publish the same figures, the supplement round included."""
    proxy_case = flows["proxy"].case_ids[0]
    query = f"/v1/statistics?group_by=mode,receiving_province,handling_province&mode=PROXY&province={JS}"

    def group(statistics: dict[str, Any]) -> dict[str, Any] | None:
        wanted = {"mode": "PROXY", "receiving_province": SH, "handling_province": JS}
        return next((g for g in statistics["groups"] if g["group"] == wanted), None)

    async def both(fed: Federation) -> list[dict[str, Any] | None]:
        for province in (SH, JS):  # the case is archived on both, so each read model holds its conclusion
            await fed.wait_for(
                province,
                f"/v1/case-views/{proxy_case}",
                lambda view: view["entries"][-1]["event"] == "Archived",
                "the archived case",
            )
            await fed.wait_for(province, query, lambda s: s["lag"]["events"] == 0, "statistics caught up")
        return [group(await fed.get(province, query)) for province in (SH, JS)]

    shanghai, jiangsu = asyncio.run(_with_federation(cluster, both))
    assert shanghai is not None
    assert shanghai == jiangsu
    assert shanghai["volume"]["concluded"] >= 1
    assert shanghai["supplements"]["rounds"] >= 1
    assert shanghai["handling"]["measured"] == shanghai["volume"]["concluded"]


def test_each_running_node_signs_tree_heads_of_its_log(
    cluster: FederatedCluster, flows: dict[str, FlowResult]
) -> None:
    """The node process keeps its transparency log in step and signs a head over it: each head verifies with
    the key the node publishes, and the latest leaf's inclusion proof verifies against it."""

    async def heads(fed: Federation) -> list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
        seen = []
        for province in (SH, JS, ZJ, AH):
            head = await fed.wait_for(
                province, "/v1/transparency/head", lambda h: h["tree_size"] > 0, "a head"
            )
            size = head["tree_size"]
            proof = await fed.get(
                province, f"/v1/transparency/inclusion?leaf_index={size - 1}&tree_size={size}"
            )
            seen.append((head, proof, await fed.get(province, "/v1/keys")))
        return seen

    for head, proof, published in asyncio.run(_with_federation(cluster, heads)):
        [key] = [k for k in published["keys"] if k["key_id"] == head["key_id"]]
        public_key = PublicKey(key["algorithm"], key["key_id"], key["public_key_pem"])
        assert public_key.verify(TreeHead.from_json(head).payload(), base64.b64decode(head["signature"]))
        path = [bytes.fromhex(h) for h in proof["path"]]
        size, leaf = head["tree_size"], bytes.fromhex(proof["leaf_hash"])
        assert verify_inclusion(size - 1, size, leaf, path, bytes.fromhex(head["root_hash"]))


def test_the_applicant_withdraws_through_the_receiving_window_and_both_nodes_end_the_case(
    cluster: FederatedCluster, flows: dict[str, FlowResult]
) -> None:
    """撤回申请 after Jiangsu accepted a case Shanghai received: Shanghai's window sends the withdrawal on to
    Jiangsu, which writes the case; both nodes end it as WITHDRAWN, with no refusal and no deadline."""

    async def scenario(fed: Federation) -> list[dict[str, Any]]:
        applicant = await fed.issue_id_card(SH, seed="e2e-withdrawal")
        case_id = await fed.received_proxy_case(
            SH, JS, applicant, consent=consent_reference(SH, "WITHDRAWAL")
        )
        path = f"/v1/cases/{case_id}"
        await fed.post(SH, path + "/forward", Role.WINDOW)
        await fed.wait_for_state(JS, case_id, "FORWARDED")
        await fed.post(JS, path + "/accept", Role.HANDLER)
        await fed.wait_for_state(SH, case_id, "ACCEPTED")
        withdrawn = await fed.post(SH, path + "/withdraw", Role.WINDOW, {"reason": "申请人申请撤回"})
        assert withdrawn["state"] == "WITHDRAWN"
        return [await fed.wait_for_state(p, case_id, "WITHDRAWN") for p in (SH, JS)]

    for case in asyncio.run(_with_federation(cluster, scenario)):
        assert case["deadlines"] is None  # every clock stopped
        assert case["writer"] == SH


def test_a_transfer_in_is_checked_and_recorded_at_the_origin_which_then_cannot_undo(
    cluster: FederatedCluster,
) -> None:
    """迁入 across two real nodes: Shanghai transfers in a Jiangsu certificate only once Jiangsu transferred
    it out to Shanghai; Jiangsu records it (AcceptTransfer over the federation), points to Shanghai's
    certificate, and refuses to undo its transfer-out."""

    async def scenario(fed: Federation) -> None:
        body = sample_certificates(JS, 1, seed="e2e-transfer", today=TEST_DATE)[0]
        origin = await fed.post(JS, "/v1/certificates", Role.ISSUER, body, expect=201)
        identifier = origin["identifier"]
        shanghai = sample_certificates(SH, 1, seed="e2e-transfer", today=TEST_DATE)[0]
        kept = ("type_code", "type_name", "definer", "holder_name", "holder_id_type", "holder_id")
        same = {key: body[key] for key in (*kept, "issue_date", "valid_from", "valid_to")}
        transfer = {**shanghai, **same, "previous_identifier": identifier}
        with pytest.raises(DemoError, match="it is VALID") as refused:
            await fed.post(SH, "/v1/certificates/transfer-in", Role.ISSUER, transfer, expect=201)
        assert refused.value.status == 409
        await fed.post(
            JS,
            f"/v1/certificates/{identifier}/transfer-out",
            Role.ISSUER,
            {"reason": "迁往上海", "destination_province": SH},
        )
        arrived = await fed.post(SH, "/v1/certificates/transfer-in", Role.ISSUER, transfer, expect=201)
        assert (arrived["previous_identifier"], arrived["link"]) == (identifier, "TRANSFERRED_IN")
        with pytest.raises(DemoError, match="transferred in as") as refused:
            await fed.post(
                JS, f"/v1/certificates/{identifier}/undo-transfer-out", Role.ISSUER, {"reason": "撤回"}
            )
        assert refused.value.status == 409
        answer = (
            await fed.post(
                SH,
                "/v1/verifications",
                Role.HANDLER,
                {
                    "identifier": arrived["identifier"],
                    "purpose": "核验",
                    "consent_reference": consent_reference(SH, "transfer"),
                },
            )
        )["assertion"]
        assert (answer["status"], answer["national_status_code"]) == ("VALID", "01")
        use = {
            "identifier": identifier,
            "purpose": "核验",
            "consent_reference": consent_reference(JS, "transfer"),
        }
        at_origin = (await fed.post(JS, "/v1/verifications", Role.HANDLER, use))["assertion"]
        assert (at_origin["status"], at_origin["national_status_code"]) == ("TRANSFERRED_OUT", "07")
        assert (at_origin["destination_province"], at_origin["destination_identifier"]) == (
            SH,
            arrived["identifier"],
        )

    asyncio.run(_with_federation(cluster, scenario))
