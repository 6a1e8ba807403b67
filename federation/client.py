"""Calls to peer provinces over mutual TLS: forwarded case commands and certificate verification (核验).

One channel per peer, with keepalive, message-size limits and deadlines set explicitly. Unary calls that are
safe to repeat (Handshake, VerifyCertificate) are retried by gRPC itself on UNAVAILABLE with backoff; a
forwarded command carries a request id and is retried with it, so the writer records it once however many
tries reach it.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import grpc
from tongban.federation.v1 import federation_pb2 as pb
from tongban.federation.v1 import federation_pb2_grpc as pb_grpc

from federation.errors import (
    PeerBusy,
    PeerUnavailable,
    RemoteConflict,
    RemoteForbidden,
    RemoteInvalid,
    RemoteNotFound,
    RemoteRejected,
)
from federation.pki import Manifest, Member, node_name, signed_by_member
from federation.proto_enums import CASE_COMMAND
from federation.tree_head_messages import (
    cosignature_from_message,
    cosignature_to_message,
    hashes_from_message,
    head_from_message,
    head_to_message,
)
from federation.tree_heads import Cosignature, TreeHead

SERVICE = "tongban.federation.v1.FederationService"
MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # a full batch of events; requests are far smaller
UNARY_TIMEOUT_S = 5.0
COMMAND_TIMEOUT_S = 5.0
ANSWER_MAX_AGE_S = 300.0  # clocks of federated nodes are NTP-synchronised; this allows for drift
FORWARD_ATTEMPTS = 3  # safe to repeat: the writer records a command once per request id
# A peer that sheds a call (RESOURCE_EXHAUSTED) says when to call again; a wait past this bound is not
# honoured in full: this node's own caller is waiting, and the next try may well be admitted.
RETRY_AFTER_CAP_S = 5.0
BUSY_DEFAULT_S = 1.0  # when a shedding peer names no wait (its per-province limit)
KEEPALIVE = (
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
)
RETRY_SAFE_CALLS = {
    "methodConfig": [
        {
            "name": [
                {"service": SERVICE, "method": "Handshake"},
                {"service": SERVICE, "method": "VerifyCertificate"},
                # a repeat of the same transfer-in records nothing more at the origin
                {"service": SERVICE, "method": "AcceptTransfer"},
                {"service": SERVICE, "method": "GetTreeHead"},
                {"service": SERVICE, "method": "GetConsistencyProof"},
                {"service": SERVICE, "method": "SubmitCosignature"},
            ],
            "retryPolicy": {
                "maxAttempts": 4,
                "initialBackoff": "0.2s",
                "maxBackoff": "2s",
                "backoffMultiplier": 2,
                # RESOURCE_EXHAUSTED: the peer shed the call and did nothing; gRPC waits as long as the
                # peer's grpc-retry-pushback-ms asks before it tries again
                "retryableStatusCodes": ["UNAVAILABLE", "RESOURCE_EXHAUSTED"],
            },
        }
    ]
}
CHANNEL_OPTIONS = (
    *KEEPALIVE,
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.enable_retries", 1),
    ("grpc.service_config", json.dumps(RETRY_SAFE_CALLS)),
    # A channel that met a peer not listening yet (it starts later, or restarts) backs off before it tries
    # again: gRPC's default starts at 1 s and grows to 2 min, and meanwhile every call fails at once. A
    # federation has a handful of peers, so trying again within a second costs nothing and a forwarded
    # command finds a peer that came back.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
)
SERVER_OPTIONS = (
    *KEEPALIVE,
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.max_receive_message_length", 1024 * 1024),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
)


@dataclass(frozen=True)
class RemoteVerification:
    """A peer's signed answer to 核验, its signature checked against the key the manifest lists."""

    assertion: dict[str, Any]
    signed_payload: bytes
    signature: bytes
    key_id: str
    holder_matches: bool


class PeerClients:
    def __init__(
        self,
        province: str,
        manifest: Callable[[], Manifest],
        credentials: grpc.ChannelCredentials,
        endpoints: dict[str, str] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        answer_max_age_s: float = ANSWER_MAX_AGE_S,
    ) -> None:
        self._province = province
        self._manifest = manifest
        self._credentials = credentials
        self._endpoints = endpoints or {}  # overrides of the manifest's endpoints (gateways, test proxies)
        self._clock, self._answer_max_age_s = clock, answer_max_age_s  # the node's (maybe simulated) time
        self._lock = threading.Lock()
        self._channels: dict[tuple[str, str], grpc.Channel] = {}

    def member(self, province: str) -> Member:
        member = self._manifest().member(province)
        if member is None:
            raise PeerUnavailable(province, "not in the federation manifest")
        return member

    def endpoint(self, province: str) -> str:
        """Where to reach a member: an override, else its manifest endpoint; never a non-member."""
        member = self.member(province)
        return self._endpoints.get(province) or member.grpc_endpoint

    def aio_channel(self, province: str) -> grpc.aio.Channel:
        """A fresh asyncio channel (one per replication session)."""
        endpoint = self.endpoint(province)
        return grpc.aio.secure_channel(endpoint, self._credentials, options=channel_options(province))

    def _stub(self, province: str) -> pb_grpc.FederationServiceStub:
        endpoint = self.endpoint(province)
        with self._lock:
            channel = self._channels.get((province, endpoint))
            if channel is None:
                channel = grpc.secure_channel(endpoint, self._credentials, options=channel_options(province))
                self._channels[(province, endpoint)] = channel
        return pb_grpc.FederationServiceStub(channel)

    def forward(
        self, writer: str, case_id: str, command: str, arguments: dict[str, Any], office: str, operator: str
    ) -> tuple[int, str]:
        """Ask the case's writer to record a command of this province; its (version, state) after it."""
        request = pb.ForwardCaseCommandRequest(
            case_id=case_id,
            command=CASE_COMMAND[command],
            arguments=json.dumps(arguments).encode(),
            office_code=office,
            operator_id=operator,
            request_id=uuid.uuid4().hex,  # the same on every try: the writer records the command once
        )
        backoff = 0.2
        for attempt in range(1, FORWARD_ATTEMPTS + 1):
            try:
                response = self._stub(writer).ForwardCaseCommand(request, timeout=COMMAND_TIMEOUT_S)
            except grpc.RpcError as e:
                error = translate(writer, e)
                if not isinstance(error, PeerUnavailable) or attempt == FORWARD_ATTEMPTS:
                    raise error from None
                if isinstance(error, PeerBusy):  # shed: nothing was recorded; wait as long as it asks
                    time.sleep(error.retry_after_s)
                else:
                    time.sleep(random.uniform(0, backoff))  # noqa: S311 - jitter, not security
                backoff *= 2
                continue
            return response.version, response.state
        raise PeerUnavailable(writer, "no answer")  # pragma: no cover - the loop returns or raises

    def verify(
        self,
        issuer: str,
        identifier: str,
        case_reference: str,
        purpose: str,
        consent_reference: str,
        holder_digest: str,
    ) -> RemoteVerification:
        """核验 at the issuing province; raises RemoteRejected (its Once-Only code) or PeerUnavailable."""
        request = pb.VerifyCertificateRequest(
            identifier=identifier,
            case_reference=case_reference,
            purpose=purpose,
            consent_reference=consent_reference,
            holder_digest=holder_digest,
        )
        try:
            response = self._stub(issuer).VerifyCertificate(request, timeout=UNARY_TIMEOUT_S)
        except grpc.RpcError as e:
            raise translate(issuer, e) from None
        assertion = self._signed_answer(issuer, response.signed_payload, response.signature, identifier)
        return RemoteVerification(
            assertion=assertion,
            signed_payload=response.signed_payload,
            signature=response.signature,
            key_id=response.key_id,
            holder_matches=assertion.get("holder_matches") is True,
        )

    def _signed_answer(
        self, province: str, payload: bytes, signature: bytes, identifier: str
    ) -> dict[str, Any]:
        """A province's answer about ``identifier``, signed by the key its manifest entry lists, and fresh."""
        signed = signed_by_member(self.member(province))(payload, signature)
        try:
            assertion = json.loads(payload) if signed else None
        except ValueError:
            assertion = None
        if not isinstance(assertion, dict):
            raise RemoteConflict(
                f"SIGNATURE_INVALID: province {province}'s answer is not signed by its manifest key"
            ) from None
        _check_answer(assertion, identifier, province, self._clock(), self._answer_max_age_s)
        return assertion

    def accept_transfer(
        self, origin: str, previous_identifier: str, destination_identifier: str, holder_digest: str
    ) -> None:
        """迁入: the origin records that this province transfers its certificate in; raises its refusal
        (RemoteConflict, RemoteInvalid, RemoteNotFound) or PeerUnavailable. The origin's signed answer must
        name this province's certificate as the destination."""
        request = pb.AcceptTransferRequest(
            previous_identifier=previous_identifier,
            destination_identifier=destination_identifier,
            holder_digest=holder_digest,
        )
        try:
            response = self._stub(origin).AcceptTransfer(request, timeout=UNARY_TIMEOUT_S)
        except grpc.RpcError as e:
            raise translate(origin, e) from None
        assertion = self._signed_answer(
            origin, response.signed_payload, response.signature, previous_identifier
        )
        if assertion.get("destination_identifier") != destination_identifier:
            raise RemoteConflict(f"ANSWER_MISMATCH: province {origin} did not record this transfer-in")

    # Transparency log and witnessing: answers are parsed and checked here; their meaning, by the witness.

    def tree_head(self, province: str) -> tuple[TreeHead, list[Cosignature]]:
        """The peer's latest signed head and the cosignatures it holds; RemoteNotFound before its first."""
        try:
            response = self._stub(province).GetTreeHead(pb.GetTreeHeadRequest(), timeout=UNARY_TIMEOUT_S)
        except grpc.RpcError as e:
            raise translate(province, e) from None
        try:
            head = head_from_message(response.head)
            cosignatures = [cosignature_from_message(c) for c in response.cosignatures]
        except ValueError as e:
            raise RemoteInvalid(f"province {province}: a malformed tree head: {e}") from None
        return head, cosignatures

    def consistency_proof(self, province: str, first: int, second: int) -> list[bytes]:
        request = pb.GetConsistencyProofRequest(first=first, second=second)
        try:
            response = self._stub(province).GetConsistencyProof(request, timeout=UNARY_TIMEOUT_S)
        except grpc.RpcError as e:
            raise translate(province, e) from None
        try:
            return hashes_from_message(list(response.path))
        except ValueError as e:
            raise RemoteInvalid(f"province {province}: a malformed consistency proof: {e}") from None

    def submit_cosignature(self, province: str, head: TreeHead, cosignature: Cosignature) -> None:
        request = pb.SubmitCosignatureRequest(
            head=head_to_message(head), cosignature=cosignature_to_message(cosignature)
        )
        try:
            self._stub(province).SubmitCosignature(request, timeout=UNARY_TIMEOUT_S)
        except grpc.RpcError as e:
            raise translate(province, e) from None

    def close(self) -> None:
        with self._lock:
            for channel in self._channels.values():
                channel.close()
            self._channels.clear()


def _check_answer(
    assertion: dict[str, Any], identifier: str, issuer: str, now: datetime, max_age_s: float
) -> None:
    """A signed answer must be about the certificate asked for, by the province asked, and fresh: an old or
    borrowed answer (replayed) is not an answer to this request."""
    try:
        verified_at = datetime.fromisoformat(str(assertion.get("verified_at")))
        age = abs((now - verified_at).total_seconds())
    except (TypeError, ValueError):
        age = float("inf")
    if (
        assertion.get("identifier") != identifier
        or assertion.get("verifier_province") != issuer
        or age > max_age_s
    ):
        raise RemoteConflict(
            f"ANSWER_MISMATCH: province {issuer}'s answer is not a fresh answer to this request"
        )


def channel_options(province: str) -> tuple[tuple[str, object], ...]:
    """The channel settings, and the name the server's certificate must carry: that of ``province``'s node,
    so a member redirecting an endpoint cannot pose as another province (the CA gives each name once)."""
    return (*CHANNEL_OPTIONS, ("grpc.ssl_target_name_override", node_name(province)))


def retry_after_s(error: grpc.RpcError) -> float:
    """How long a peer that shed a call asks to wait (its ``retry-after`` trailer), within a bound."""
    # a blocking call's error is a grpc.Call; an asyncio call's (AioRpcError) is not, but has the same method
    trailers = error.trailing_metadata() if isinstance(error, grpc.Call | grpc.aio.AioRpcError) else None
    asked = dict(trailers or ()).get("retry-after")
    try:
        seconds = float(asked) if isinstance(asked, str) else BUSY_DEFAULT_S
    except ValueError:
        seconds = BUSY_DEFAULT_S
    if math.isnan(seconds):
        seconds = BUSY_DEFAULT_S
    return min(max(seconds, 0.0), RETRY_AFTER_CAP_S)


def translate(province: str, error: grpc.RpcError) -> Exception:
    """A peer's gRPC status as the named error the node maps to HTTP (and back to gRPC)."""
    answered = isinstance(error, grpc.Call | grpc.aio.AioRpcError)
    code = error.code() if answered else grpc.StatusCode.UNKNOWN
    detail = (error.details() if answered else None) or code.name
    kinds: dict[grpc.StatusCode, type[RemoteRejected]] = {
        grpc.StatusCode.INVALID_ARGUMENT: RemoteInvalid,
        grpc.StatusCode.FAILED_PRECONDITION: RemoteConflict,
        grpc.StatusCode.NOT_FOUND: RemoteNotFound,
        grpc.StatusCode.PERMISSION_DENIED: RemoteForbidden,
        grpc.StatusCode.UNAUTHENTICATED: RemoteForbidden,
    }
    kind = kinds.get(code)
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return PeerBusy(province, detail, retry_after_s(error))
    if kind is None:
        return PeerUnavailable(province, detail)
    return kind(f"province {province}: {detail}")
