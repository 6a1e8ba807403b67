"""Who is calling, over mutual TLS, and the handshake that agrees on a protocol version and capabilities.

TLS itself refuses a caller without a client certificate, with one from another CA, or with an expired one
(grpcio's ``require_client_auth`` must be True: it defaults to False). Past TLS, a peer is accepted only when
its certificate names a province in the signed manifest AND is the very certificate the manifest lists for
that province. An expired or nearly expired manifest degrades to warnings; it never stops all traffic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import grpc
from tongban.federation.v1 import federation_pb2 as pb

from federation.pki import Manifest, Member, certificate_sha256, province_of_certificate

PROTOCOL_VERSION = "tongban.federation.v1"
MAX_OFFERED = 16  # protocol versions, and capabilities, a caller may offer
MAX_VERSION_LENGTH = 64
EXPIRY_WARNING = timedelta(days=7)


class PeerRefused(Exception):
    """A caller that TLS let through but the federation does not accept."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def authenticate_peer(auth_context: Mapping[str, Iterable[bytes]], manifest: Manifest) -> Member:
    """The manifest member whose certificate the (already TLS-verified) peer presented."""
    certificates = list(auth_context.get("x509_pem_cert") or [])
    if not certificates:
        raise PeerRefused(
            grpc.StatusCode.UNAUTHENTICATED, "no client certificate: federation is mutual TLS only"
        )
    pem = certificates[0]
    province = province_of_certificate(pem)
    member = manifest.member(province) if province else None
    if member is None:
        raise PeerRefused(
            grpc.StatusCode.PERMISSION_DENIED,
            f"province {province or '(none)'} is not in the federation manifest",
        )
    if member.certificate_sha256 != certificate_sha256(pem):
        raise PeerRefused(
            grpc.StatusCode.PERMISSION_DENIED,
            f"the client certificate is not the one the manifest lists for province {province}",
        )
    return member


def manifest_warnings(manifest: Manifest, now: datetime) -> list[str]:
    """Why the manifest needs attention, if it does: the node keeps serving either way (X-Road's lesson)."""
    if now > manifest.valid_until:
        return [
            f"federation manifest {manifest.serial} expired at {manifest.valid_until.isoformat()}: refresh it"
        ]
    if now < manifest.valid_from:
        return [f"federation manifest {manifest.serial} is valid only from {manifest.valid_from.isoformat()}"]
    if manifest.valid_until - now <= EXPIRY_WARNING:
        return [f"federation manifest {manifest.serial} expires at {manifest.valid_until.isoformat()}"]
    return []


@dataclass(frozen=True)
class HandshakeOutcome:
    peer: Member
    response: pb.HandshakeResponse


def negotiate(
    request: pb.HandshakeRequest,
    auth_context: Mapping[str, Iterable[bytes]],
    manifest: Manifest,
    province: str,
    capabilities: frozenset[int],
    now: datetime,
) -> HandshakeOutcome:
    """Agree on a protocol version and the capabilities both sides support, with the authenticated caller."""
    peer = authenticate_peer(auth_context, manifest)
    if request.province != peer.province:
        raise PeerRefused(
            grpc.StatusCode.PERMISSION_DENIED,
            f"the province the caller claims is not the one its certificate names ({peer.province})",
        )
    if (
        len(request.protocol_versions) > MAX_OFFERED
        or len(request.capabilities) > MAX_OFFERED
        or any(len(v) > MAX_VERSION_LENGTH for v in request.protocol_versions)
    ):
        raise PeerRefused(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"offer at most {MAX_OFFERED} protocol versions (each at most {MAX_VERSION_LENGTH} characters) "
            f"and {MAX_OFFERED} capabilities",
        )
    unknown = [c for c in request.capabilities if c not in pb.Capability.values() or c == 0]
    if unknown:  # protobuf keeps unknown enum numbers: refuse them explicitly
        raise PeerRefused(grpc.StatusCode.INVALID_ARGUMENT, f"{len(unknown)} unknown capability number(s)")
    if PROTOCOL_VERSION not in request.protocol_versions:
        raise PeerRefused(
            grpc.StatusCode.FAILED_PRECONDITION,
            f"no common protocol version: this node speaks {PROTOCOL_VERSION}",
        )
    return HandshakeOutcome(
        peer,
        pb.HandshakeResponse(
            province=province,
            protocol_version=PROTOCOL_VERSION,
            capabilities=sorted(set(request.capabilities) & capabilities),
            manifest_serial=manifest.serial,
            manifest_warnings=manifest_warnings(manifest, now),
        ),
    )


def server_credentials(key_pem: bytes, certificate_pem: bytes, ca_pem: bytes) -> grpc.ServerCredentials:
    """Mutual TLS only: a client without a certificate from the federation CA never gets through."""
    return grpc.ssl_server_credentials(
        [(key_pem, certificate_pem)], root_certificates=ca_pem, require_client_auth=True
    )


def channel_credentials(key_pem: bytes, certificate_pem: bytes, ca_pem: bytes) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(
        root_certificates=ca_pem, private_key=key_pem, certificate_chain=certificate_pem
    )
