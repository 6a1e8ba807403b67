"""End to end: `tongban pki`, then a node process serving its federation port with mutual TLS only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from tongban.federation.v1 import federation_pb2 as pb
from tongban.federation.v1 import federation_pb2_grpc as pb_grpc

from aggregates.identifiers import CertificateIdentifier
from federation.handshake import PROTOCOL_VERSION, channel_credentials
from federation.pki import load_manifest
from node.auth import Role
from node.signing import PublicKey
from simulators.cluster import NodeProcess, prepare_keys, token_for
from simulators.sample_data import sample_certificates
from tests.builders import CONSENT
from tests.dates import TEST_DATE
from tests.e2e import http_client as http

pytestmark = pytest.mark.e2e
SH, JS = "310000", "320000"


def test_a_node_serves_the_handshake_to_listed_peers_only(tmp_path: Path) -> None:
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "node",
            "pki",
            "--out",
            str(tmp_path),
            "--endpoint",
            f"{SH}=127.0.0.1:0",
            "--endpoint",
            f"{JS}=127.0.0.1:0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    prepare_keys(tmp_path, (SH,))  # the token issuer; the signing keys `pki` made are kept
    node = NodeProcess(
        SH, tmp_path, {"TONGBAN_FEDERATION_DIR": str(tmp_path), "TONGBAN_FEDERATION_PORT": "0"}
    )
    node.start()
    try:
        assert node.federation_port
        target = f"127.0.0.1:{node.federation_port}"
        ca = (tmp_path / "ca.pem").read_bytes()
        jiangsu = ((tmp_path / JS / "node.key").read_bytes(), (tmp_path / JS / "node.pem").read_bytes())
        with grpc.secure_channel(target, channel_credentials(*jiangsu, ca)) as channel:
            answer = pb_grpc.FederationServiceStub(channel).Handshake(
                pb.HandshakeRequest(province=JS, protocol_versions=[PROTOCOL_VERSION]), timeout=10
            )
        assert (answer.province, answer.protocol_version, list(answer.capabilities)) == (
            SH,
            PROTOCOL_VERSION,
            [],
        )
        claimed = pb.HandshakeRequest(province=SH, protocol_versions=[PROTOCOL_VERSION])  # Jiangsu's cert
        with (
            grpc.secure_channel(target, channel_credentials(*jiangsu, ca)) as channel,
            pytest.raises(grpc.RpcError) as false_claim,
        ):
            pb_grpc.FederationServiceStub(channel).Handshake(claimed, timeout=10)
        assert false_claim.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with grpc.insecure_channel(target) as channel, pytest.raises(grpc.RpcError) as plaintext:
            pb_grpc.FederationServiceStub(channel).Handshake(pb.HandshakeRequest(province=JS), timeout=10)
        assert plaintext.value.code() == grpc.StatusCode.UNAVAILABLE  # there is no plaintext federation
        status, ready = http.get_json(f"{node.http_url}/readyz")
        assert (status, ready["checks"]["federation_manifest"]["serial"]) == (200, 1)
        assert ready["checks"]["federation_manifest"]["warnings"] == []
    finally:
        assert node.stop() == 0
    assert any('"federation.handshake"' in line and '"320000"' in line for line in node.lines)
    # the access log and the metrics name the status the servicer refused with, not OK
    refused = [line for line in node.lines if '"grpc.request"' in line and "/Handshake" in line]
    assert any('"code": "PERMISSION_DENIED"' in line for line in refused), refused


def verify_across_provinces(node: NodeProcess, directory: Path, credentials: grpc.ChannelCredentials) -> None:
    """Jiangsu verifies a Shanghai certificate (核验) for its case; Shanghai records the use (用证记录)."""
    issuer = {"Authorization": "Bearer " + token_for(directory / "token-issuer.key", SH, Role.ISSUER)}
    status, created = http.post_json(
        f"{node.http_url}/v1/certificates", sample_certificates(SH, 1, today=TEST_DATE)[0], issuer
    )
    assert status == 201
    identifier = created["identifier"]
    request = pb.VerifyCertificateRequest(
        identifier=identifier,
        case_reference="3200002026112300000001",
        purpose="落户审核",
        consent_reference="320000:20250101:AUTH-1",
    )
    with grpc.secure_channel(f"127.0.0.1:{node.federation_port}", credentials) as channel:
        stub = pb_grpc.FederationServiceStub(channel)
        answer = stub.VerifyCertificate(request, timeout=10)
        refusals = [
            (
                pb.VerifyCertificateRequest(identifier=identifier, case_reference="C1", purpose="p"),
                "CONSENT_MISSING",
            ),
            (
                pb.VerifyCertificateRequest(
                    identifier="nonsense", case_reference="C1", purpose="p", consent_reference=CONSENT
                ),
                "INVALID_REQUEST",
            ),
            (  # consent is no longer any non-empty string: refused, and no use recorded
                pb.VerifyCertificateRequest(
                    identifier=identifier, case_reference="C1", purpose="p", consent_reference="A"
                ),
                "INVALID_REQUEST",
            ),
            (
                pb.VerifyCertificateRequest(
                    identifier=str(CertificateIdentifier.parse(identifier).next_version()),
                    case_reference="C1",
                    purpose="p",
                    consent_reference=CONSENT,
                ),
                "NOT_FOUND",
            ),
        ]
        for refused_request, code_name in refusals:
            with pytest.raises(grpc.RpcError) as refused:
                stub.VerifyCertificate(refused_request, timeout=10)
            assert (refused.value.details() or "").startswith(code_name)
    assert (answer.authentic, answer.status) == (True, "VALID")
    manifest = load_manifest(directory / "manifest.json", directory / "manifest.pub")
    member = manifest.member(SH)
    assert member is not None
    key = PublicKey("Ed25519", answer.key_id, member.signing_public_key_pem)  # trusted via the manifest
    assert key.verify(answer.signed_payload, answer.signature)
    status, history = http.get_json(f"{node.http_url}/v1/certificates/{identifier}/history", issuer)
    used = [e for e in history["entries"] if e["event"] == "Used"]
    assert [(e["operator_id"], e["detail"]["purpose"], e["detail"]["consent_reference"]) for e in used] == [
        (JS, "落户审核", "320000:20250101:AUTH-1")
    ]


def test_a_node_with_an_incomplete_federation_directory_refuses_to_start(tmp_path: Path) -> None:
    prepare_keys(tmp_path, (SH,))
    result = subprocess.run(
        [sys.executable, "-m", "node", "node", "--province", SH],
        env={
            "TONGBAN_DATA_DIR": str(tmp_path),
            "TONGBAN_FEDERATION_DIR": str(tmp_path),
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "tongban pki" in result.stderr
