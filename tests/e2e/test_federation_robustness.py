"""Robustness with real processes: a stopped peer catches up, a node killed with SIGKILL in the middle of a
sync loses and duplicates nothing, and malformed calls from a peer get INVALID_ARGUMENT and change nothing.

The checker compares every replicated case, event by event, with the source node's log."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import grpc
import pytest
from tongban.federation.v1 import federation_pb2 as pb
from tongban.federation.v1 import federation_pb2_grpc as pb_grpc

from federation.handshake import channel_credentials
from federation.servicer import HEARTBEAT_S
from node.auth import Role
from simulators.federated_flows import Applicant, Federation, approve
from simulators.federation_cluster import FederatedCluster
from simulators.sample_data import consent_reference
from tests.dates import TEST_DATE
from tests.e2e import http_client as http
from tests.e2e.federation_support import running_cluster

pytestmark = pytest.mark.e2e
SH, JS, ZJ = "310000", "320000", "330000"
BACKLOG_CASES = 40
CATCH_UP_S = 120.0


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FederatedCluster]:
    # small batches: the catch-up takes many of them, so a kill lands in the middle of it
    with running_cluster(
        request, tmp_path_factory, (SH, JS, ZJ), {"TONGBAN_FEDERATION_BATCH_EVENTS": "5"}
    ) as c:
        yield c


async def _run(cluster: FederatedCluster, scenario: Any) -> Any:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        return await scenario(Federation(session, cluster.nodes, cluster.issuer_key, TEST_DATE))


async def _forward_cases(fed: Federation, applicant: Applicant, count: int) -> list[str]:
    """Shanghai's window receives ``count`` cases for Jiangsu and forwards them."""
    case_ids = []
    for n in range(count):
        case_id = await fed.received_proxy_case(
            SH, JS, applicant, consent=consent_reference(SH, f"CONSENT-{n}")
        )
        await fed.post(SH, f"/v1/cases/{case_id}/forward", Role.WINDOW)
        case_ids.append(case_id)
    return case_ids


async def _zhejiang_serves_its_own(fed: Federation, applicant: Applicant) -> str:
    """While Jiangsu is down, Zhejiang files and concludes a case of its own."""
    case = await fed.file_case(ZJ, Role.PLATFORM, ZJ, "YM-0001", "FULL_ONLINE", applicant)
    case_id = case["case_id"]
    for material in case["missing_materials"]:
        await fed.post(
            ZJ,
            f"/v1/cases/{case_id}/materials",
            Role.PLATFORM,
            {"material_code": material, "file_digest": "sha256:" + "cd" * 32},
        )
    await fed.post(ZJ, f"/v1/cases/{case_id}/accept", Role.HANDLER)
    await approve(fed, ZJ, case_id)
    concluded = await fed.post(ZJ, f"/v1/cases/{case_id}/conclude", Role.HANDLER, {"result": "ISSUED"})
    return str(concluded["state"])


def _replication(cluster: FederatedCluster, province: str, peer: str) -> dict[str, Any]:
    status, ready = http.get_json(f"{cluster.nodes[province].http_url}/readyz")
    assert status == 200
    return dict(ready["checks"]["replication"][peer])


def _wait_in_step(cluster: FederatedCluster, province: str, peer: str) -> dict[str, Any]:
    deadline = time.monotonic() + CATCH_UP_S
    while time.monotonic() < deadline:
        replication = _replication(cluster, province, peer)
        if replication["connected"] and replication["lag_events"] == 0 and replication["in_step"]:
            return replication
        time.sleep(0.1)
    raise AssertionError(f"{province} did not catch up with {peer} in {CATCH_UP_S}s: {replication}")


async def _differences(fed: Federation, case_ids: list[str]) -> list[str]:
    """The checker: each case's timeline at Jiangsu must equal the source's (Shanghai's), event by event."""
    problems = []
    for case_id in case_ids:
        source = await fed.get(SH, f"/v1/cases/{case_id}/timeline")
        replica = await fed.get(JS, f"/v1/cases/{case_id}/timeline")
        versions = [e["version"] for e in replica["entries"]]
        if versions != list(range(1, len(versions) + 1)):
            problems.append(f"{case_id}: versions {versions}")
        if replica["entries"] != source["entries"]:
            problems.append(
                f"{case_id}: {len(replica['entries'])} events, source has {len(source['entries'])}"
            )
    return problems


def _pull_positions(lines: list[str]) -> list[int]:
    return [
        json.loads(line)["position"]
        for line in lines
        if '"federation.pull_connected"' in line and f'"{SH}"' in line
    ]


def test_a_stopped_peer_catches_up_and_a_kill_mid_sync_loses_nothing(cluster: FederatedCluster) -> None:
    jiangsu = cluster.nodes[JS]
    applicant: Applicant = asyncio.run(_run(cluster, lambda fed: fed.issue_id_card(SH, seed="robust")))
    assert jiangsu.stop() == 0  # a peer stops for a while ...

    async def while_jiangsu_is_down(fed: Federation) -> tuple[list[str], str]:
        return await _forward_cases(fed, applicant, BACKLOG_CASES), await _zhejiang_serves_its_own(
            fed, applicant
        )

    case_ids, zhejiang_state = asyncio.run(_run(cluster, while_jiangsu_is_down))
    assert zhejiang_state == "CONCLUDED"  # ... and the others keep serving their own users
    assert not _replication(cluster, SH, JS)["connected"]

    seen = len(jiangsu.lines)
    jiangsu.start()  # it returns and starts catching up; kill it after its first applied batch
    # (Shanghai's: the other peers' feeds, their status lists, apply too)
    assert jiangsu.wait_for_line('"federation.batch_applied"', f'"peer": "{SH}"', since=seen, timeout_s=60)
    assert jiangsu.stop(signal.SIGKILL) == -signal.SIGKILL
    killed_at = len(jiangsu.lines)
    restarted_at = len(cluster.nodes[SH].lines)
    jiangsu.start()
    started = time.monotonic()
    caught_up = _wait_in_step(cluster, JS, SH)
    elapsed = time.monotonic() - started
    [resumed_from] = _pull_positions(jiangsu.lines[killed_at:])
    assert 0 < resumed_from < caught_up["position"], "the kill did not land in the middle of the sync"
    assert len(_pull_positions(jiangsu.lines[seen:killed_at])) == 1
    assert asyncio.run(_run(cluster, lambda fed: _differences(fed, case_ids))) == []
    print(f"catch-up after the kill: to position {caught_up['position']} in {elapsed:.2f}s")

    # a node that stops ends the streams its peers hold open at once, rather than after its grace period
    shanghai = cluster.nodes[SH]
    assert shanghai.wait_for_line(
        '"federation.pull_connected"', f'"{JS}"', since=restarted_at, timeout_s=CATCH_UP_S
    ), "Shanghai did not pull from Jiangsu again after its restart"
    before = len(shanghai.lines)
    assert jiangsu.stop() == 0
    assert shanghai.wait_for_line("this node is stopping", since=before, timeout_s=10), (
        "Shanghai's stream from Jiangsu did not end with the stop"
    )


def test_malformed_calls_from_a_peer_get_invalid_argument_and_change_nothing(
    cluster: FederatedCluster,
) -> None:
    applicant: Applicant = asyncio.run(_run(cluster, lambda fed: fed.issue_id_card(SH, seed="malformed")))
    [case_id] = asyncio.run(_run(cluster, lambda fed: _forward_cases(fed, applicant, 1)))
    directory = cluster.federation_dir
    credentials = channel_credentials(
        (directory / JS / "node.key").read_bytes(),
        (directory / JS / "node.pem").read_bytes(),
        (directory / "ca.pem").read_bytes(),
    )
    # the node's own first status list (亮证) is recorded once after its start: wait for it, so that what the
    # calls below append, and only that, is counted (the peers' lists and registrations keep arriving: only
    # this node's own events count)
    assert cluster.nodes[SH].wait_for_line('"status_list.published"', timeout_s=60)
    appended_before = _own_events_appended(cluster, SH)
    version_before = asyncio.run(_run(cluster, lambda fed: fed.get(SH, f"/v1/cases/{case_id}")))["version"]
    calls = {
        "unknown command enum": pb.ForwardCaseCommandRequest(
            case_id=case_id,
            command=pb.CaseCommand.ValueType(99),
            arguments=b"{}",
            office_code="JS-01",
            operator_id="op",
        ),
        "arguments not an object": pb.ForwardCaseCommandRequest(
            case_id=case_id,
            command=pb.CASE_COMMAND_DELIVER,
            arguments=b"[1]",
            office_code="JS-01",
            operator_id="op",
        ),
        "oversized arguments": pb.ForwardCaseCommandRequest(
            case_id=case_id,
            command=pb.CASE_COMMAND_RATE,
            arguments=json.dumps({"comment": "x" * 70_000}).encode(),
            office_code="JS-01",
            operator_id="op",
        ),
        "arguments against the schema": pb.ForwardCaseCommandRequest(
            case_id=case_id,
            command=pb.CASE_COMMAND_ATTACH_MATERIAL,
            arguments=json.dumps({"material_code": 5}).encode(),
            office_code="JS-01",
            operator_id="op",
        ),
        "no operator": pb.ForwardCaseCommandRequest(
            case_id=case_id, command=pb.CASE_COMMAND_PROVIDE_SUPPLEMENT, arguments=b"{}", office_code="JS-01"
        ),
    }
    with grpc.secure_channel(f"127.0.0.1:{cluster.ports[SH]}", credentials) as channel:
        stub = pb_grpc.FederationServiceStub(channel)
        for name, request in calls.items():
            with pytest.raises(grpc.RpcError) as refused:
                stub.ForwardCaseCommand(request, timeout=10)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, name
        with pytest.raises(grpc.RpcError) as beyond:
            next(iter(stub.PullEvents(pb.PullEventsRequest(after_position=10**12), timeout=10)))
        assert beyond.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    version_after = asyncio.run(_run(cluster, lambda fed: fed.get(SH, f"/v1/cases/{case_id}")))["version"]
    assert version_after == version_before
    # a peer's batch is counted as appended a moment before it is counted as replicated: read until the two
    # agree on the count before the calls (bounded; a call that appended anything never gets there)
    deadline = time.monotonic() + 30
    own_after = _own_events_appended(cluster, SH)
    while own_after != appended_before and time.monotonic() < deadline:
        own_after = _own_events_appended(cluster, SH)
    assert own_after == appended_before


def _own_events_appended(cluster: FederatedCluster, province: str) -> float:
    """Events the node appended of its own: all it appended, less the peers' events its inbox stored."""
    metrics = http.get_text(f"{cluster.nodes[province].http_url}/metrics").splitlines()
    [appended] = [
        float(line.split()[1]) for line in metrics if line.startswith("tongban_events_appended_total ")
    ]
    replicated = [
        float(line.split()[1])
        for line in metrics
        if line.startswith("tongban_replication_events_applied_total{")
    ]
    return appended - sum(replicated)


def test_events_a_peer_does_not_receive_move_its_position_without_a_message_each(
    cluster: FederatedCluster,
) -> None:
    """Shanghai records a stretch of cases with Zhejiang, which Jiangsu does not receive, then suspends a
    certificate, a notice every peer receives. Jiangsu's stream gets the notice with a position past the
    whole stretch, and before it at most one batch without content per heartbeat: not one per event."""
    applicant: Applicant = asyncio.run(_run(cluster, lambda fed: fed.issue_id_card(SH, seed="stretch")))
    directory = cluster.federation_dir
    credentials = channel_credentials(
        (directory / JS / "node.key").read_bytes(),
        (directory / JS / "node.pem").read_bytes(),
        (directory / "ca.pem").read_bytes(),
    )
    with grpc.secure_channel(f"127.0.0.1:{cluster.ports[SH]}", credentials) as channel:
        stub = pb_grpc.FederationServiceStub(channel)
        head = next(iter(stub.PullEvents(pb.PullEventsRequest(after_position=0), timeout=30))).head_position
        stream = stub.PullEvents(pb.PullEventsRequest(after_position=head, follow=True), timeout=180)
        started = time.monotonic()
        assert next(stream).next_position == head  # a following stream's first batch comes at once

        async def stretch_then_notice(fed: Federation) -> None:
            for n in range(3):
                case_id = await fed.received_proxy_case(SH, ZJ, applicant, consent_reference(SH, f"S-{n}"))
                await fed.post(SH, f"/v1/cases/{case_id}/forward", Role.WINDOW)
            stranger = await fed.issue_id_card(SH, seed="noticed")
            await fed.post(
                SH, f"/v1/certificates/{stranger.id_card}/suspend", Role.ISSUER, {"reason": "暂扣"}
            )

        asyncio.run(_run(cluster, stretch_then_notice))
        position_only = 0
        for batch in stream:  # ends at the notice, or with the call's deadline
            if batch.certificate_notices:
                break
            if not (batch.events or batch.erasure_notices):
                position_only += 1
        stream.cancel()
    elapsed = time.monotonic() - started
    assert batch.certificate_notices
    assert batch.next_position > head + 10  # past the whole stretch, none of it sent
    assert position_only <= elapsed / HEARTBEAT_S + 1
