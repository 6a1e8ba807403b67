"""Who is calling, over mutual TLS, and the Handshake RPC that agrees on a protocol version and capabilities.

TLS itself refuses a caller without a client certificate, with one from another CA, or with an expired one
(grpcio's ``require_client_auth`` must be True: it defaults to False). Past TLS, a peer is accepted only when
its certificate names a province in the signed manifest AND is the very certificate the manifest lists for
that province. An expired or nearly expired manifest degrades to warnings; it never stops all traffic.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import grpc
import structlog
from tongban.federation.v1 import federation_pb2 as pb
from tongban.federation.v1 import federation_pb2_grpc as pb_grpc

from aggregates.errors import InvalidField
from federation.pki import Manifest, Member, certificate_sha256, province_of_certificate

PROTOCOL_VERSION = "tongban.federation.v1"
EXPIRY_WARNING = timedelta(days=7)
log = structlog.get_logger("tongban.federation")


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


class SignedAnswer(Protocol):
    """What the issuing node's certificate service answers: an assertion and the signature over its bytes."""

    @property
    def assertion(self) -> dict[str, Any]: ...

    @property
    def payload(self) -> bytes: ...

    @property
    def signature(self) -> bytes: ...

    @property
    def algorithm(self) -> str: ...

    @property
    def key_id(self) -> str: ...


# identifier, requester province, case reference, purpose, consent reference -> answer; None: not issued here
PeerVerifier = Callable[[str, str, str, str, str], SignedAnswer | None]
VERIFY_TIMEOUT_S = 5.0


class FederationServicer(pb_grpc.FederationServiceServicer):
    def __init__(
        self,
        province: str,
        manifest: Callable[[], Manifest],
        capabilities: frozenset[int] = frozenset(),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        verifier: PeerVerifier | None = None,
    ) -> None:
        self._province = province
        self._manifest = manifest
        self._capabilities = capabilities
        self._clock = clock
        self._verifier = verifier

    async def VerifyCertificate(
        self, request: pb.VerifyCertificateRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.VerifyCertificateResponse:
        try:
            peer = authenticate_peer(context.auth_context(), self._manifest())
            answer = await self._verify(request, peer)
        except PeerRefused as refused:
            log.warning(
                "federation.peer_refused",
                rpc="VerifyCertificate",
                code=refused.code.name,
                reason=refused.message,
            )
            await context.abort(refused.code, refused.message)
        log.info(
            "federation.certificate_verified", peer=peer.province, authentic=answer.assertion["authentic"]
        )
        return pb.VerifyCertificateResponse(
            signed_payload=answer.payload,
            signature=answer.signature,
            signature_algorithm=answer.algorithm,
            key_id=answer.key_id,
            authentic=answer.assertion["authentic"],
            status=answer.assertion["status"] or "",
            valid_until=answer.assertion["valid_until"] or "",
        )

    async def _verify(self, request: pb.VerifyCertificateRequest, peer: Member) -> SignedAnswer:
        """The Once-Only error set: NOT_AUTHORISED, CONSENT_MISSING, INVALID_REQUEST, NOT_FOUND, TIMEOUT."""
        if self._verifier is None:
            raise PeerRefused(
                grpc.StatusCode.PERMISSION_DENIED, "NOT_AUTHORISED: this node verifies for no peer"
            )
        if not request.consent_reference.strip():
            raise PeerRefused(
                grpc.StatusCode.FAILED_PRECONDITION, "CONSENT_MISSING: name the holder's consent"
            )
        if not request.case_reference.strip() or not request.purpose.strip():
            raise PeerRefused(
                grpc.StatusCode.INVALID_ARGUMENT, "INVALID_REQUEST: a case reference and a purpose"
            )
        arguments = (
            request.identifier,
            peer.province,
            request.case_reference,
            request.purpose,
            request.consent_reference,
        )
        try:
            answer = await asyncio.wait_for(asyncio.to_thread(self._verifier, *arguments), VERIFY_TIMEOUT_S)
        except TimeoutError:
            raise PeerRefused(
                grpc.StatusCode.DEADLINE_EXCEEDED, "TIMEOUT: the issuing node did not answer in time"
            ) from None
        except InvalidField as e:
            raise PeerRefused(grpc.StatusCode.INVALID_ARGUMENT, f"INVALID_REQUEST: {e}") from None
        if answer is None:
            raise PeerRefused(grpc.StatusCode.NOT_FOUND, "NOT_FOUND: no such certificate was issued here")
        return answer

    async def Handshake(
        self, request: pb.HandshakeRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.HandshakeResponse:
        try:
            outcome = self.handshake(request, context.auth_context())
        except PeerRefused as refused:
            log.warning(
                "federation.peer_refused", rpc="Handshake", code=refused.code.name, reason=refused.message
            )
            await context.abort(refused.code, refused.message)
        log.info(
            "federation.handshake", peer=outcome.peer.province, version=outcome.response.protocol_version
        )
        return outcome.response

    def handshake(
        self, request: pb.HandshakeRequest, auth_context: Mapping[str, Iterable[bytes]]
    ) -> HandshakeOutcome:
        manifest = self._manifest()
        peer = authenticate_peer(auth_context, manifest)
        if request.province != peer.province:
            raise PeerRefused(
                grpc.StatusCode.PERMISSION_DENIED,
                f"the caller claims province {request.province or '(none)'}, "
                f"its certificate says {peer.province}",
            )
        unknown = [c for c in request.capabilities if c not in pb.Capability.values() or c == 0]
        if unknown:  # protobuf keeps unknown enum numbers: refuse them explicitly
            raise PeerRefused(grpc.StatusCode.INVALID_ARGUMENT, f"unknown capabilities {unknown}")
        if PROTOCOL_VERSION not in request.protocol_versions:
            raise PeerRefused(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"no common protocol version: this node speaks {PROTOCOL_VERSION}",
            )
        return HandshakeOutcome(
            peer,
            pb.HandshakeResponse(
                province=self._province,
                protocol_version=PROTOCOL_VERSION,
                capabilities=sorted(set(request.capabilities) & self._capabilities),
                manifest_serial=manifest.serial,
                manifest_warnings=manifest_warnings(manifest, self._clock()),
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
