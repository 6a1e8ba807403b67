"""Mutual TLS between province nodes over real gRPC on 127.0.0.1, and the Handshake that follows.

The mTLS refusal matrix: TLS refuses callers without a client certificate, with another CA's, with an expired
one, or without TLS at all; the federation then refuses a province not in the manifest, a certificate the
manifest does not list, and a certificate of another province than the caller claims. Past those, unknown
enum values (a capability, a forwarded command) and a caller with no common protocol version are refused. An
expired manifest only warns.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import grpc
import pytest
from tongban.federation.v1 import federation_pb2 as pb
from tongban.federation.v1 import federation_pb2_grpc as pb_grpc

from federation.handshake import PROTOCOL_VERSION, channel_credentials, server_credentials
from federation.pki import CertificateAuthority, Manifest, create_dev_federation, load_manifest
from federation.servicer import FederationServicer
from node.signing import Ed25519Signer

SH, JS, AH = "310000", "320000", "340000"
T = TypeVar("T")
NOW = datetime.now(UTC)


@dataclass
class Federation:
    directory: Path
    manifest: Manifest

    def identity(self, province: str) -> tuple[bytes, bytes]:
        node = self.directory / province
        return (node / "node.key").read_bytes(), (node / "node.pem").read_bytes()

    @property
    def ca(self) -> bytes:
        return (self.directory / "ca.pem").read_bytes()


@pytest.fixture
def federation(tmp_path: Path) -> Federation:
    keys = {p: Ed25519Signer.generate().public_key_pem() for p in (SH, JS)}
    manifest = create_dev_federation(
        tmp_path, {SH: "127.0.0.1:7101", JS: "127.0.0.1:7102"}, {SH: "上海", JS: "江苏"}, keys
    )
    return Federation(tmp_path, load_manifest(manifest, tmp_path / "manifest.pub"))


def handshake(
    federation: Federation,
    client: tuple[bytes, bytes] | str | None,
    request: pb.HandshakeRequest,
    manifest: Manifest | None = None,
) -> pb.HandshakeResponse:
    """Serve Shanghai's federation port with mutual TLS and call Handshake as ``client``: (key, cert), None
    for TLS without a client certificate, or "plaintext" for no TLS at all."""
    servicer = FederationServicer(SH, lambda: manifest or federation.manifest, frozenset({1, 2}))
    return served(federation, client, servicer, lambda stub: stub.Handshake(request, timeout=10))


def served(
    federation: Federation,
    client: tuple[bytes, bytes] | str | None,
    servicer: FederationServicer,
    call: Callable[[pb_grpc.FederationServiceAsyncStub], Awaitable[T]],
) -> T:
    """Serve ``servicer`` as Shanghai's federation port with mutual TLS; make one ``call`` as ``client``."""

    async def run() -> T:
        server = grpc.aio.server()
        pb_grpc.add_FederationServiceServicer_to_server(servicer, server)
        port = server.add_secure_port(
            "127.0.0.1:0", server_credentials(*federation.identity(SH), federation.ca)
        )
        await server.start()
        try:
            if isinstance(client, str):  # "plaintext"
                channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
            else:
                credentials = (
                    channel_credentials(*client, federation.ca)
                    if client
                    else grpc.ssl_channel_credentials(root_certificates=federation.ca)
                )
                channel = grpc.aio.secure_channel(f"127.0.0.1:{port}", credentials)
            async with channel:
                return await call(pb_grpc.FederationServiceStub(channel))
        finally:
            await server.stop(None)

    return asyncio.run(run())


def request(province: str = JS, **overrides: object) -> pb.HandshakeRequest:
    fields: dict[str, object] = {
        "province": province,
        "protocol_versions": ["tongban.federation.v2", PROTOCOL_VERSION],
        "capabilities": [pb.CAPABILITY_CASE_REPLICATION],
        "manifest_serial": 1,
        **overrides,
    }
    return pb.HandshakeRequest(**fields)  # type: ignore[arg-type]


def refused(
    federation: Federation, client: tuple[bytes, bytes] | str | None, message: pb.HandshakeRequest
) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as error:
        handshake(federation, client, message)
    return error.value


def test_a_listed_peer_agrees_on_version_and_capabilities(federation: Federation) -> None:
    answer = handshake(federation, federation.identity(JS), request())
    assert (answer.province, answer.protocol_version) == (SH, PROTOCOL_VERSION)
    assert list(answer.capabilities) == [pb.CAPABILITY_CASE_REPLICATION]
    assert (answer.manifest_serial, list(answer.manifest_warnings)) == (1, [])


def _client(federation: Federation, kind: str) -> tuple[bytes, bytes] | str | None:
    """One kind of caller: a key and certificate, None (TLS without one), or "plaintext" (no TLS)."""
    authority = CertificateAuthority.load(federation.directory)
    valid_from, valid_to = NOW - timedelta(hours=1), NOW + timedelta(days=1)
    match kind:
        case "no client certificate":
            return None
        case "rogue CA":
            return CertificateAuthority.create("somebody else's CA", NOW, 30).issue_node(
                JS, "127.0.0.1", valid_from, valid_to
            )
        case "expired certificate":
            return authority.issue_node(JS, "127.0.0.1", NOW - timedelta(days=10), NOW - timedelta(days=1))
        case "province not in the manifest":
            return authority.issue_node(AH, "127.0.0.1", valid_from, valid_to)
        case "certificate the manifest does not list":
            return authority.issue_node(JS, "127.0.0.1", valid_from, valid_to)
        case "plaintext":
            return "plaintext"
        case "certificate of another province than claimed":
            return federation.identity(JS)
    raise AssertionError(kind)


# Each kind of caller the federation port refuses, and how: TLS itself ends the first four before any RPC
# (the client sees UNAVAILABLE: no connection was made); the federation refuses the others by name.
MTLS_REFUSALS = [
    ("no client certificate", grpc.StatusCode.UNAVAILABLE, None),
    ("rogue CA", grpc.StatusCode.UNAVAILABLE, None),
    ("expired certificate", grpc.StatusCode.UNAVAILABLE, None),
    ("plaintext", grpc.StatusCode.UNAVAILABLE, None),
    (
        "province not in the manifest",
        grpc.StatusCode.PERMISSION_DENIED,
        "province 340000 is not in the federation manifest",
    ),
    (
        "certificate the manifest does not list",
        grpc.StatusCode.PERMISSION_DENIED,
        "the client certificate is not the one the manifest lists for province 320000",
    ),
    (
        "certificate of another province than claimed",
        grpc.StatusCode.PERMISSION_DENIED,
        "the province the caller claims is not the one its certificate names (320000)",
    ),
]


@pytest.mark.parametrize(("kind", "code", "details"), MTLS_REFUSALS, ids=[r[0] for r in MTLS_REFUSALS])
def test_mtls_refusal_matrix(
    federation: Federation, kind: str, code: grpc.StatusCode, details: str | None
) -> None:
    client = _client(federation, kind)
    claimed = (
        AH if kind in ("province not in the manifest", "certificate of another province than claimed") else JS
    )
    error = refused(federation, client, request(claimed))
    assert error.code() == code
    if details is not None:
        assert error.details() == details
    else:  # the server closed the connection in the TLS handshake: no RPC reached the servicer
        assert (error.details() or "").startswith("failed to connect to all addresses")
        assert (error.details() or "").endswith("Socket closed")


def test_unknown_enums_and_no_common_version_are_refused(federation: Federation) -> None:
    jiangsu = federation.identity(JS)
    assert refused(federation, jiangsu, request(capabilities=[99])).code() == grpc.StatusCode.INVALID_ARGUMENT
    error = refused(federation, jiangsu, request(protocol_versions=["tongban.federation.v2"]))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION


@pytest.mark.parametrize("number", [pb.CASE_COMMAND_UNSPECIFIED, 99])
def test_a_forwarded_command_of_no_known_number_is_refused_before_it_runs(
    federation: Federation, number: int
) -> None:
    """Protobuf keeps an enum number it does not know (a peer's newer proto, or a forged one): the servicer
    refuses it with INVALID_ARGUMENT, and no command handler sees it."""
    ran: list[object] = []

    def commands(*call: object) -> tuple[int, str]:
        ran.append(call)
        return 1, "RECEIVED"

    servicer = FederationServicer(SH, lambda: federation.manifest, commands=commands)
    forwarded = pb.ForwardCaseCommandRequest(
        case_id=str(uuid.uuid4()),
        command=pb.CaseCommand.ValueType(number),
        arguments=b"{}",
        office_code="JS-01",
        operator_id="op-1",
        request_id="request-0001",
    )
    with pytest.raises(grpc.RpcError) as error:
        served(
            federation,
            federation.identity(JS),
            servicer,
            lambda stub: stub.ForwardCaseCommand(forwarded, timeout=10),
        )
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "unknown command number" in (error.value.details() or "")
    assert ran == []


def test_an_expired_manifest_warns_but_keeps_serving(federation: Federation) -> None:
    old = federation.manifest
    expired = Manifest(
        old.federation, old.serial, old.issued_at, old.valid_from, NOW - timedelta(hours=1), old.members
    )
    answer = handshake(federation, federation.identity(JS), request(), manifest=expired)
    assert answer.province == SH
    assert [w.split(" expired at ")[0] for w in answer.manifest_warnings] == ["federation manifest 1"]
