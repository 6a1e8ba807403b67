"""Witnessing between real node processes over mutual TLS, on SQLite and on PostgreSQL.

The provinces fetch each other's tree heads, check them and return cosignatures; the proofs answer over gRPC;
then Shanghai's log is rewritten in its database while it is down (two events swapped, the tree rebuilt from
the changed store), and the other provinces' witnesses catch the fork: an alert event, in /readyz, /metrics,
the logs and the alerts endpoint, while the witnessed head stays the one accepted before.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest
from tongban.federation.v1 import federation_pb2 as pb
from tongban.federation.v1 import federation_pb2_grpc as pb_grpc

from federation.client import channel_options
from federation.handshake import channel_credentials
from federation.pki import load_manifest, signed_by_member
from federation.transparency_verify import verify_inclusion
from federation.tree_heads import Cosignature, TreeHead, cosignature_payload
from node.auth import Role
from node.bootstrap import build_services, close_services
from node.settings import load_settings
from simulators.cluster import token_for
from simulators.federated_flows import Federation, proxy_flow
from simulators.federation_cluster import FederatedCluster
from tests.dates import TEST_DATE
from tests.e2e import http_client as http
from tests.e2e.federation_support import poll_http, running_cluster
from tests.integration.test_audit_verify import swap

pytestmark = pytest.mark.e2e
SH, JS, AH = "310000", "320000", "340000"
PROVINCES = (SH, JS, AH)
WAIT_S = 30.0


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FederatedCluster]:
    extra = {"TONGBAN_WITNESS_INTERVAL_S": "0.3", "TONGBAN_FOLLOW_INTERVAL_S": "0.3"}
    with running_cluster(request, tmp_path_factory, PROVINCES, extra) as federated:
        yield federated


def get(cluster: FederatedCluster, province: str, path: str) -> tuple[int, Any]:
    token = token_for(cluster.issuer_key, province, Role.AUDITOR)
    return http.get_json(cluster.nodes[province].http_url + path, {"Authorization": f"Bearer {token}"})


def issue_certificate(cluster: FederatedCluster, province: str, seed: str) -> None:
    async def run() -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            await Federation(session, cluster.nodes, cluster.issuer_key, TEST_DATE).issue_id_card(
                province, seed=seed
            )

    asyncio.run(run())


def cosigned_head(cluster: FederatedCluster, province: str = SH) -> dict[str, Any]:
    """``province``'s latest head once the two other provinces cosigned it, waited for on the node's log
    lines: it logs each cosignature it keeps, with the head's size."""
    node, witnesses = cluster.nodes[province], set(PROVINCES) - {province}
    assert node.wait_for_line('"transparency.head_signed"', timeout_s=WAIT_S)
    deadline = time.monotonic() + 3 * WAIT_S
    while time.monotonic() < deadline:
        _status, head = get(cluster, province, "/v1/transparency/head")
        if {c["witness"] for c in head["cosignatures"]} == witnesses:
            return head  # type: ignore[no-any-return]
        # until this head is cosigned; a newer head signed meanwhile is cosigned instead, and read next
        cluster.wait_for_cosignatures(province, head["tree_size"], WAIT_S / 3)
    raise AssertionError(f"no head of {province} cosigned by {sorted(witnesses)} within {3 * WAIT_S:g}s")


def test_each_province_cosigns_the_others_heads(cluster: FederatedCluster) -> None:
    issue_certificate(cluster, SH, "witness-1")
    head = cosigned_head(cluster)
    manifest = load_manifest(
        cluster.federation_dir / "manifest.json", cluster.federation_dir / "manifest.pub"
    )
    signed = TreeHead.from_json(head)
    assert signed_by_member(manifest.member(SH))(signed.payload(), signed.signature)  # type: ignore[arg-type]
    for document in head["cosignatures"]:
        cosignature = Cosignature.from_json(document)
        payload = cosignature_payload(signed, cosignature.witness, cosignature.cosigned_at)
        assert signed_by_member(manifest.member(cosignature.witness))(payload, cosignature.signature)  # type: ignore[arg-type]
    # an auditor may ask Jiangsu for the head of Shanghai it witnessed, with Jiangsu's cosignature
    status, witnessed = get(cluster, JS, f"/v1/transparency/witnessed/{SH}")
    assert status == 200, witnessed
    assert (witnessed["head"]["tree_size"], witnessed["head"]["root_hash"]) == (
        head["tree_size"],
        head["root_hash"],
    )
    [by_jiangsu] = [c for c in head["cosignatures"] if c["witness"] == JS]
    assert witnessed["cosignature"] == by_jiangsu
    status, ready = get(cluster, JS, "/readyz")
    assert ready["checks"]["witness"][SH]["accepted_tree_size"] == head["tree_size"]
    assert ready["checks"]["witness"][SH]["alerts"] == []
    status, problem = get(cluster, JS, "/v1/transparency/witnessed/999999")
    assert status == 422, problem


def test_proofs_answer_over_grpc_to_a_mutually_authenticated_peer(cluster: FederatedCluster) -> None:
    head = cosigned_head(cluster)
    directory = cluster.federation_dir
    identity = (
        (directory / JS / "node.key").read_bytes(),
        (directory / JS / "node.pem").read_bytes(),
        (directory / "ca.pem").read_bytes(),
    )
    endpoint = f"127.0.0.1:{cluster.ports[SH]}"
    with grpc.secure_channel(
        endpoint, channel_credentials(*identity), options=channel_options(SH)
    ) as channel:
        stub = pb_grpc.FederationServiceStub(channel)
        answer = stub.GetTreeHead(pb.GetTreeHeadRequest(), timeout=10)
        size = answer.head.tree_size
        assert size >= head["tree_size"]
        proof = stub.GetInclusionProof(pb.GetInclusionProofRequest(leaf_index=0, tree_size=size), timeout=10)
        assert verify_inclusion(0, size, proof.leaf_hash, list(proof.path), answer.head.root_hash)
        consistency = stub.GetConsistencyProof(
            pb.GetConsistencyProofRequest(first=1, second=size), timeout=10
        )
        assert consistency.second == size
        with pytest.raises(grpc.RpcError) as refused:
            stub.GetInclusionProof(pb.GetInclusionProofRequest(leaf_index=size, tree_size=size), timeout=10)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.RpcError) as forged:
            stub.SubmitCosignature(
                pb.SubmitCosignatureRequest(
                    head=answer.head,
                    cosignature=pb.Cosignature(
                        witness_province=JS, key_id="x", cosigned_at="2026-11-23", signature=b"\x00" * 64
                    ),
                ),
                timeout=10,
            )
        assert forged.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def alerted(cluster: FederatedCluster, witness: str) -> dict[str, Any] | None:
    status, ready = get(cluster, witness, "/readyz")
    assert status == 200, ready
    return ready if ready["checks"]["witness"][SH]["alerts"] == ["FORK"] else None


def next_round(cluster: FederatedCluster, checked_at: str) -> dict[str, Any] | None:
    """Jiangsu's witness report on Shanghai once a round after ``checked_at`` has run."""
    _status, ready = get(cluster, JS, "/readyz")
    report: dict[str, Any] = ready["checks"]["witness"][SH]
    return report if report["last_checked_at"] != checked_at else None


def audit_command(
    cluster: FederatedCluster, province: str, *arguments: str
) -> subprocess.CompletedProcess[str]:
    """``tongban audit ...`` as an auditor runs it, in a process of its own, on ``province``'s store."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("TONGBAN_")}
    env = {**inherited, "TONGBAN_DATA_DIR": str(cluster.data_dir), **cluster.store_env.get(province, {})}
    command = [sys.executable, "-m", "node", "audit", *arguments]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_a_case_bundle_exported_from_a_running_node_checks_offline(
    cluster: FederatedCluster, tmp_path: Path
) -> None:
    async def flow() -> str:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            fed = Federation(session, cluster.nodes, cluster.issuer_key, TEST_DATE)
            applicant = await fed.issue_id_card(SH, seed="bundle-applicant")
            result = await proxy_flow(fed, SH, JS, applicant)
            return result.case_ids[0]

    case_id = asyncio.run(flow())
    out = tmp_path / "bundle.json"

    bundle: dict[str, Any] = {}
    for _newer_head in range(5):
        cosigned_head(cluster, JS)
        mark = len(cluster.nodes[JS].lines)
        done = audit_command(cluster, JS, "export", "--province", JS, "--case", case_id, "--out", str(out))
        if done.returncode == 0:
            bundle = json.loads(out.read_text())
            if {c["witness"] for c in bundle["head"]["cosignatures"]} == {SH, AH}:
                break
        # the head over the case's last event is not signed, or not cosigned, yet: wait for the next head
        cluster.nodes[JS].wait_for_line('"transparency.head_signed"', since=mark, timeout_s=WAIT_S)
    assert bundle, "no bundle of Jiangsu's cosigned by Shanghai and Anhui"
    assert {e["originator_id"] for e in bundle["events"]} == {case_id}
    # offline: a directory holding the bundle and the federation manifest, nothing else
    offline = tmp_path / "offline"
    offline.mkdir()
    for name in ("manifest.json", "manifest.pub"):
        shutil.copy(cluster.federation_dir / name, offline / name)
    checked = audit_command(
        cluster, JS, "check-bundle", str(out), "--manifest", str(offline / "manifest.json"),
        "--manifest-key", str(offline / "manifest.pub"),
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"OK: {len(bundle['events'])} events of case {case_id}" in checked.stdout
    assert "cosigned by 310000, 340000" in checked.stdout


def rewrite_history(cluster: FederatedCluster, province: str) -> None:
    """As an intruder with database access while the node is down: swap two stored events, and make the node
    rebuild its tree from the changed store (as if its tree tables had been replaced too)."""
    environ = {"TONGBAN_DATA_DIR": str(cluster.data_dir), **cluster.store_env.get(province, {})}
    services = build_services(load_settings(province=province, environ=environ))
    try:
        swap(services, services.transparency.log.leaf(1)[0])
        with services.views.transaction() as tx:
            for table in ("tlog_leaves", "tlog_heads", "tlog_cosignatures"):
                tx.execute(f"DELETE FROM {table}")  # noqa: S608 - the tree's own tables
            tx.execute("DELETE FROM view_tracking WHERE name = ?", ("transparency_log",))
    finally:
        close_services(services)


def test_a_province_that_rewrites_its_history_is_caught_by_the_witnesses(cluster: FederatedCluster) -> None:
    accepted = cosigned_head(cluster)
    node = cluster.nodes[SH]
    assert node.stop() == 0
    rewrite_history(cluster, SH)
    since = {p: len(cluster.nodes[p].lines) for p in (JS, AH)}
    node.start()
    for witness in (JS, AH):
        assert cluster.nodes[witness].wait_for_line(
            '"witness.alert"', '"kind": "FORK"', f'"province": "{SH}"', since=since[witness], timeout_s=WAIT_S
        ), cluster.nodes[witness].lines[-20:]
    for witness in (JS, AH):  # the alert event reaches the read model behind readyz a moment later
        ready = poll_http("FORK in readyz", functools.partial(alerted, cluster, witness))
        assert ready["status"] == "ready"  # a peer's fork does not stop this node
    _status, ready = get(cluster, JS, "/readyz")
    assert ready["checks"]["witness"][AH]["alerts"] == []
    metrics = http.get_text(f"{cluster.nodes[JS].http_url}/metrics")
    assert f'tongban_witness_alerts{{kind="FORK",province="{SH}"}} 1.0' in metrics
    assert f'tongban_witness_alerts{{kind="ROLLBACK",province="{SH}"}} 0.0' in metrics
    _status, listed = get(cluster, JS, "/v1/transparency/alerts")
    [alert] = [a for a in listed["alerts"] if a["province"] == SH]
    assert (alert["kind"], alert["tree_size"]) == ("FORK", accepted["tree_size"])
    assert (alert["accepted_tree_size"], alert["accepted_root_hash"]) == (
        accepted["tree_size"],
        accepted["root_hash"],
    )
    assert alert["root_hash"] != accepted["root_hash"]
    # the witness keeps the head it accepted before: the evidence against the rewritten one
    _status, witnessed = get(cluster, JS, f"/v1/transparency/witnessed/{SH}")
    assert witnessed["head"]["root_hash"] == accepted["root_hash"]
    # seen again round after round, the same forged head raises no second alert
    for _round in range(2):
        _status, before = get(cluster, JS, "/readyz")
        checked = before["checks"]["witness"][SH]["last_checked_at"]
        later = poll_http("another witness round", functools.partial(next_round, cluster, checked))
        assert later["last_outcome"] == "FORK"
    _status, again = get(cluster, JS, "/v1/transparency/alerts")
    assert [a["alert_id"] for a in again["alerts"] if a["province"] == SH] == [alert["alert_id"]]
