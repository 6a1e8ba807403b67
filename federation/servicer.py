"""The federation service one province node offers the others, over mutual TLS only.

Every RPC first authenticates the caller against the signed manifest (``handshake.authenticate_peer``);
what it may then do is decided by the case and certificate rules of this node, never by what it claims.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, NoReturn, Protocol

import grpc
import structlog
from tongban.federation.v1 import federation_pb2 as pb
from tongban.federation.v1 import federation_pb2_grpc as pb_grpc

from aggregates.certificate import ANSWER_DETAILS
from aggregates.errors import IllegalTransition, InvalidField
from federation.errors import CommandRefused
from federation.handshake import PeerRefused, authenticate_peer, negotiate
from federation.log_signal import LogSignal
from federation.outbox import DEFAULT_BATCH_EVENTS, MAX_BATCH_EVENTS, Outbox
from federation.pki import Manifest, Member, signed_by_member
from federation.proto_enums import COMMAND_OF_PROTO
from federation.tree_head_messages import (
    cosignature_from_message,
    cosignature_to_message,
    head_from_message,
    head_to_message,
)
from federation.tree_heads import Cosignature, SignatureCheck, TreeHead

log = structlog.get_logger("tongban.federation")
VERIFY_TIMEOUT_S = 5.0
COMMAND_TIMEOUT_S = 10.0
MAX_COMMAND_ARGUMENTS = 64 * 1024
HEARTBEAT_S = 5.0
GATHER_S = 0.02  # after a wake, how long a stream lets more events come before it reads the log
STREAM_THREADS = 4  # threads that read the outbox for the PullEvents streams, apart from the shared pool


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


class TreeHeadSource(Protocol):
    """This node's transparency log as peers see it: signed heads, proofs, and the witnesses' cosignatures."""

    def latest_head(self) -> dict[str, Any] | None: ...

    def inclusion(self, leaf_index: int, tree_size: int) -> dict[str, Any]: ...

    def consistency(self, first: int, second: int) -> dict[str, Any]: ...

    def accept_cosignature(
        self, head: TreeHead, cosignature: Cosignature, signed_by_witness: SignatureCheck
    ) -> None: ...


# The longest identifier, case reference, purpose and consent reference a 核验 may name (as the use log).
VERIFY_FIELD_LIMITS = {"identifier": 128, "case_reference": 64, "purpose": 200, "consent_reference": 128}


def _check_verify_lengths(request: pb.VerifyCertificateRequest) -> None:
    for name, most in VERIFY_FIELD_LIMITS.items():
        if len(getattr(request, name)) > most:
            raise PeerRefused(
                grpc.StatusCode.INVALID_ARGUMENT, f"INVALID_REQUEST: {name} must be at most {most} characters"
            )
    if request.holder_digest and not re.fullmatch(r"[0-9a-f]{64}", request.holder_digest):
        raise PeerRefused(
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_REQUEST: holder_digest must be 64 lower-case hex digits",
        )


# identifier, requester province, case reference, purpose, consent reference, holder digest -> answer;
# None: not issued here
PeerVerifier = Callable[[str, str, str, str, str, str], SignedAnswer | None]
# previous identifier, destination (requesting) province, destination identifier, holder digest -> answer;
# None: not issued here
TransferAcceptor = Callable[[str, str, str, str], SignedAnswer | None]
# requesting province, case id, command name, arguments, office code, operator id, request id
# -> (version, state)
CommandHandler = Callable[[str, str, str, dict[str, Any], str, str, str], tuple[int, str]]


class FederationServicer(pb_grpc.FederationServiceServicer):
    def __init__(
        self,
        province: str,
        manifest: Callable[[], Manifest],
        capabilities: frozenset[int] = frozenset(),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        verifier: PeerVerifier | None = None,
        outbox: Outbox | None = None,
        log_signal: LogSignal | None = None,
        commands: CommandHandler | None = None,
        heartbeat_s: float = HEARTBEAT_S,
        tree_heads: TreeHeadSource | None = None,
        transfers: TransferAcceptor | None = None,
    ) -> None:
        self._province = province
        self._manifest = manifest
        self._capabilities = capabilities
        self._clock = clock
        self._verifier = verifier
        self._outbox = outbox
        self._signal = log_signal or LogSignal()
        self._commands = commands
        self._heartbeat_s = heartbeat_s
        self._tree_heads = tree_heads
        self._transfers = transfers
        self._closing = False
        self._stream_threads = ThreadPoolExecutor(STREAM_THREADS, thread_name_prefix="pull-events")

    def close(self) -> None:
        """The node is stopping: end the open PullEvents streams now (UNAVAILABLE: the peers pull again later)
        rather than hold the shutdown for its whole grace period."""
        self._closing = True
        self._signal.notify()

    async def _refuse(
        self, context: grpc.aio.ServicerContext[Any, Any], rpc: str, refused: PeerRefused
    ) -> NoReturn:
        log.warning("federation.peer_refused", rpc=rpc, code=refused.code.name, reason=refused.message)
        await context.abort(refused.code, refused.message)
        raise AssertionError("abort returns never")  # pragma: no cover - context.abort raises

    async def _peer(self, context: grpc.aio.ServicerContext[Any, Any], rpc: str) -> Member:
        try:
            return authenticate_peer(context.auth_context(), self._manifest())
        except PeerRefused as refused:
            await self._refuse(context, rpc, refused)

    async def Handshake(
        self, request: pb.HandshakeRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.HandshakeResponse:
        try:
            outcome = negotiate(
                request,
                context.auth_context(),
                self._manifest(),
                self._province,
                self._capabilities,
                self._clock(),
            )
        except PeerRefused as refused:
            await self._refuse(context, "Handshake", refused)
        log.info(
            "federation.handshake", peer=outcome.peer.province, version=outcome.response.protocol_version
        )
        return outcome.response

    # 核验

    async def VerifyCertificate(
        self, request: pb.VerifyCertificateRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.VerifyCertificateResponse:
        peer = await self._peer(context, "VerifyCertificate")
        try:
            answer = await self._verify(request, peer)
        except PeerRefused as refused:
            await self._refuse(context, "VerifyCertificate", refused)
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
            holder_matches=bool(answer.assertion.get("holder_matches")),
            type_code=answer.assertion.get("type_code") or "",
            **{name: answer.assertion.get(name) or "" for name in ANSWER_DETAILS},
        )

    # 迁入

    async def AcceptTransfer(
        self, request: pb.AcceptTransferRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.AcceptTransferResponse:
        peer = await self._peer(context, "AcceptTransfer")
        try:
            answer = await self._accept_transfer(request, peer)
        except PeerRefused as refused:
            await self._refuse(context, "AcceptTransfer", refused)
        log.info("federation.transfer_accepted", peer=peer.province)
        return pb.AcceptTransferResponse(
            signed_payload=answer.payload,
            signature=answer.signature,
            signature_algorithm=answer.algorithm,
            key_id=answer.key_id,
        )

    async def _accept_transfer(self, request: pb.AcceptTransferRequest, peer: Member) -> SignedAnswer:
        if self._transfers is None:
            raise PeerRefused(grpc.StatusCode.PERMISSION_DENIED, "this node accepts no transfer-in")
        if (
            len(request.previous_identifier) > VERIFY_FIELD_LIMITS["identifier"]
            or len(request.destination_identifier) > VERIFY_FIELD_LIMITS["identifier"]
            or not re.fullmatch(r"[0-9a-f]{64}", request.holder_digest)
        ):
            raise PeerRefused(
                grpc.StatusCode.INVALID_ARGUMENT,
                "identifiers of at most 128 characters and a holder_digest of 64 lower-case hex digits",
            )
        arguments = (
            request.previous_identifier,
            peer.province,
            request.destination_identifier,
            request.holder_digest,
        )
        try:
            answer = await asyncio.wait_for(asyncio.to_thread(self._transfers, *arguments), VERIFY_TIMEOUT_S)
        except TimeoutError:
            raise PeerRefused(
                grpc.StatusCode.DEADLINE_EXCEEDED, "the origin node did not answer in time"
            ) from None
        except InvalidField as e:
            raise PeerRefused(grpc.StatusCode.INVALID_ARGUMENT, str(e)) from None
        except IllegalTransition as e:
            raise PeerRefused(grpc.StatusCode.FAILED_PRECONDITION, str(e)) from None
        if answer is None:
            raise PeerRefused(grpc.StatusCode.NOT_FOUND, "no such certificate was issued here")
        return answer

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
        _check_verify_lengths(request)
        arguments = (
            request.identifier,
            peer.province,
            request.case_reference,
            request.purpose,
            request.consent_reference,
            request.holder_digest,
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

    # Replication

    async def PullEvents(
        self, request: pb.PullEventsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[pb.PullEventsResponse]:
        peer = await self._peer(context, "PullEvents")
        if self._outbox is None:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "this node does not replicate cases")
        outbox = self._outbox
        limit = min(request.max_batch_events or DEFAULT_BATCH_EVENTS, MAX_BATCH_EVENTS)
        position = request.after_position
        if position > await asyncio.to_thread(outbox.head):
            await self._refuse(
                context,
                "PullEvents",
                PeerRefused(grpc.StatusCode.INVALID_ARGUMENT, "after_position lies beyond this node's log"),
            )
        log.info("federation.pull_started", peer=peer.province, after=position, follow=request.follow)
        last_sent = 0.0
        while True:
            if self._closing:
                await context.abort(grpc.StatusCode.UNAVAILABLE, "this node is stopping: pull again later")
            await self._peer(context, "PullEvents")  # again each time: a newer manifest may drop the caller
            seen = self._signal.generation
            # the streams' own threads: the shared pool may be full of commands waiting for replication
            batch = await asyncio.get_running_loop().run_in_executor(
                self._stream_threads, outbox.batch, peer.province, position, limit
            )
            # A batch that only moves the position past events the peer does not receive waits for the
            # heartbeat: each event of the log would otherwise cost every other peer a message and a
            # transaction of its inbox. The peer's resume position may then lag by up to a heartbeat, which
            # costs it a re-read of events it does not receive, never an event.
            news = Outbox.size(batch) > 0  # events, certificate notices, erasure notices
            if news or time.monotonic() - last_sent >= self._heartbeat_s:
                yield batch
                last_sent = time.monotonic()
            position = batch.next_position
            if position < batch.head_position:
                continue
            if not request.follow:
                return
            if await self._signal.wait(seen, self._heartbeat_s):
                # Let the writes that come together arrive together: under load a wake per write cost every
                # stream a read of the log per event; this bounds the reads to one per gathering, for a delay
                # far below the apply latency a peer is promised.
                await asyncio.sleep(GATHER_S)

    async def ForwardCaseCommand(
        self, request: pb.ForwardCaseCommandRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ForwardCaseCommandResponse:
        peer = await self._peer(context, "ForwardCaseCommand")
        try:
            name, arguments = self._command(request)
        except PeerRefused as refused:
            await self._refuse(context, "ForwardCaseCommand", refused)
        handler = self._commands
        if handler is None:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "this node takes no forwarded commands")
        call = (
            peer.province,
            request.case_id,
            name,
            arguments,
            request.office_code,
            request.operator_id,
            request.request_id,
        )
        try:
            version, state = await asyncio.wait_for(asyncio.to_thread(handler, *call), COMMAND_TIMEOUT_S)
        except CommandRefused as refused:
            await self._refuse(context, "ForwardCaseCommand", PeerRefused(refused.code, refused.message))
        except TimeoutError:
            await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "the command did not complete in time")
        log.info("federation.command_recorded", peer=peer.province, command=name, version=version)
        return pb.ForwardCaseCommandResponse(version=version, state=state)

    # Transparency log and witnessing

    async def _tree_heads_for(
        self, context: grpc.aio.ServicerContext[Any, Any], rpc: str
    ) -> tuple[Member, TreeHeadSource]:
        peer = await self._peer(context, rpc)
        if self._tree_heads is None:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "this node keeps no transparency log")
        return peer, self._tree_heads

    async def GetTreeHead(
        self, request: pb.GetTreeHeadRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.GetTreeHeadResponse:
        _peer, source = await self._tree_heads_for(context, "GetTreeHead")
        latest = await asyncio.to_thread(source.latest_head)
        if latest is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "this node has signed no tree head yet")
        return pb.GetTreeHeadResponse(
            head=head_to_message(TreeHead.from_json(latest)),
            cosignatures=[
                cosignature_to_message(Cosignature.from_json(c)) for c in latest.get("cosignatures", [])
            ],
        )

    async def GetInclusionProof(
        self, request: pb.GetInclusionProofRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.GetInclusionProofResponse:
        _peer, source = await self._tree_heads_for(context, "GetInclusionProof")
        try:
            proof = await asyncio.to_thread(source.inclusion, request.leaf_index, request.tree_size)
        except InvalidField as e:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
        return pb.GetInclusionProofResponse(
            leaf_index=proof["leaf_index"],
            tree_size=proof["tree_size"],
            leaf_hash=bytes.fromhex(proof["leaf_hash"]),
            path=[bytes.fromhex(h) for h in proof["path"]],
        )

    async def GetConsistencyProof(
        self, request: pb.GetConsistencyProofRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.GetConsistencyProofResponse:
        _peer, source = await self._tree_heads_for(context, "GetConsistencyProof")
        try:
            proof = await asyncio.to_thread(source.consistency, request.first, request.second)
        except InvalidField as e:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
        return pb.GetConsistencyProofResponse(
            first=proof["first"], second=proof["second"], path=[bytes.fromhex(h) for h in proof["path"]]
        )

    async def SubmitCosignature(
        self, request: pb.SubmitCosignatureRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.SubmitCosignatureResponse:
        peer, source = await self._tree_heads_for(context, "SubmitCosignature")
        try:
            head = head_from_message(request.head)
            cosignature = cosignature_from_message(request.cosignature)
            if cosignature.witness != peer.province:
                raise InvalidField("witness_province", "must be the caller's own province")  # noqa: TRY301
            await asyncio.to_thread(source.accept_cosignature, head, cosignature, signed_by_member(peer))
        except (ValueError, InvalidField) as e:
            await self._refuse(
                context, "SubmitCosignature", PeerRefused(grpc.StatusCode.INVALID_ARGUMENT, str(e))
            )
        log.info("transparency.cosignature_kept", witness=peer.province, tree_size=head.tree_size)
        return pb.SubmitCosignatureResponse()

    @staticmethod
    def _command(request: pb.ForwardCaseCommandRequest) -> tuple[str, dict[str, Any]]:
        command = COMMAND_OF_PROTO.get(request.command)
        if command is None:  # protobuf keeps a number its enum does not know; UNSPECIFIED names nothing
            raise PeerRefused(grpc.StatusCode.INVALID_ARGUMENT, "an unknown command number")
        if len(request.arguments) > MAX_COMMAND_ARGUMENTS:
            raise PeerRefused(grpc.StatusCode.INVALID_ARGUMENT, "arguments larger than 64 KiB")
        try:
            arguments = json.loads(request.arguments or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise PeerRefused(grpc.StatusCode.INVALID_ARGUMENT, "arguments are not a JSON object") from None
        if not isinstance(arguments, dict):
            raise PeerRefused(grpc.StatusCode.INVALID_ARGUMENT, "arguments are not a JSON object")
        for name, value in (("office_code", request.office_code), ("operator_id", request.operator_id)):
            if not 1 <= len(value) <= 64 or not value.isprintable():
                raise PeerRefused(
                    grpc.StatusCode.INVALID_ARGUMENT, f"{name} must be 1 to 64 printable characters"
                )
        return command, arguments
