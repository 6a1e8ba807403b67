"""End to end: `tongban pki`, then a node process serving its federation port with mutual TLS only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from tongban.federation.v1 import federation_pb2 as pb
from tongban.federation.v1 import federation_pb2_grpc as pb_grpc

from federation.handshake import PROTOCOL_VERSION, channel_credentials
from simulators.cluster import NodeProcess, prepare_keys
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
        with grpc.insecure_channel(target) as channel, pytest.raises(grpc.RpcError) as plaintext:
            pb_grpc.FederationServiceStub(channel).Handshake(pb.HandshakeRequest(province=JS), timeout=10)
        assert plaintext.value.code() == grpc.StatusCode.UNAVAILABLE  # there is no plaintext federation
        status, ready = http.get_json(f"{node.http_url}/readyz")
        assert (status, ready["checks"]["federation_manifest"]["serial"]) == (200, 1)
        assert ready["checks"]["federation_manifest"]["warnings"] == []
    finally:
        assert node.stop() == 0
    assert any('"federation.handshake"' in line and '"320000"' in line for line in node.lines)


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
