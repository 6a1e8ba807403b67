"""Fuzzing every gRPC request message the node serves, over real gRPC on 127.0.0.1: the public
CertificateService (plaintext, bearer token) and the FederationService (mutual TLS, as Jiangsu's node).

5,000 inputs per message type (``fuzz_inputs.EXAMPLES``): a valid message with one field changed (unknown enum
numbers, out-of-range integers, awkward text, bytes of any length), messages with random fields, the valid
message's bytes truncated or followed by unknown fields, and bytes that are no message at all. Every call
answers OK or a status with a message, never INTERNAL, UNKNOWN or a timeout; and a refused call writes nothing
to the node's event log.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
import structlog
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from hypothesis import given
from hypothesis import strategies as st
from tongban.certificates.v1 import certificates_pb2 as public_pb
from tongban.federation.v1 import federation_pb2 as pb

from aggregates.certificate import holder_digest
from aggregates.identifiers import CertificateIdentifier
from federation.handshake import PROTOCOL_VERSION
from federation.tree_heads import TreeHead, cosignature_payload
from node.auth import Role
from node.signing import Ed25519Signer
from tests.builders import CONSENT, issue_body
from tests.integration.fuzz_inputs import EXAMPLES, FUZZ, TEXT, batches
from tests.integration.served_node import JS, SH, ServedNode, served_node

JIANGSU_ISSUER = "113200000135445419"  # a credit code whose division is Jiangsu's

TIMEOUT_S = 10.0
FEDERATION = "/tongban.federation.v1.FederationService/"
PUBLIC = "/tongban.certificates.v1.CertificateService/"
APPLICANT = {"name": "赵敏", "id_type": "111", "id_number": "11010519491231002X"}
# Never a crash, never a hang: what a refusal may not be.
CRASHES = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DEADLINE_EXCEEDED}


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedNode]:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    try:
        with served_node(tmp_path_factory.mktemp("fuzz-grpc"), federation=True) as served:
            yield served
    finally:
        structlog.reset_defaults()


@dataclass(frozen=True)
class Valid:
    """One valid request of every type, from what the module seeded."""

    messages: dict[str, Message]


@pytest.fixture(scope="module")
def valid(node: ServedNode) -> Valid:
    issued = node.call(
        "POST", "/v1/certificates", body=issue_body(0, issue_date="2025-01-02", valid_from="2025-01-02")
    )
    assert issued.status == 201, issued.body
    identifier = issued.body["identifier"]
    # a certificate transferred out to Jiangsu, whose transfer-in Jiangsu asks Shanghai to record
    moving = node.call(
        "POST", "/v1/certificates", body=issue_body(1, issue_date="2025-01-02", valid_from="2025-01-02")
    )
    assert moving.status == 201, moving.body
    moved = node.call(
        "POST",
        f"/v1/certificates/{moving.body['identifier']}/transfer-out",
        body={"reason": "迁出", "destination_province": JS},
    )
    assert moved.status == 200, moved.body
    destination = CertificateIdentifier.build(moving.body["type_code"], JIANGSU_ISSUER, "7654321", 1)
    proxy = {"item_province": JS, "item_code": "GA-0003", "mode": "PROXY", "applicant": APPLICANT}
    case = node.call("POST", "/v1/cases", role=Role.WINDOW, body=proxy)
    assert case.status == 201, case.body
    head = node.services.transparency.publish_head()
    assert head is not None
    signed = TreeHead(SH, head["tree_size"], head["root_hash"], head["signed_at"], head["key_id"], b"")
    witness = Ed25519Signer.from_pem_file(node.directory / JS / "signing.key")
    cosigned_at = "2025-09-24T09:00:00+08:00"
    return Valid(
        {
            "public/VerifyCertificate": public_pb.VerifyCertificateRequest(
                identifier=identifier,
                file_digest=issued.body["file_digest"],
                purpose="住宿登记",
                consent_reference=CONSENT,
            ),
            "public/GetCertificate": public_pb.GetCertificateRequest(identifier=identifier),
            "Handshake": pb.HandshakeRequest(
                province=JS,
                protocol_versions=[PROTOCOL_VERSION],
                capabilities=[pb.CAPABILITY_CASE_REPLICATION],
                manifest_serial=1,
            ),
            "VerifyCertificate": pb.VerifyCertificateRequest(
                identifier=identifier,
                case_reference="JS-2025-0001",
                purpose="失业登记",
                consent_reference=CONSENT,
                holder_digest="ab" * 32,
            ),
            "PullEvents": pb.PullEventsRequest(after_position=0, max_batch_events=10, follow=False),
            "AcceptTransfer": pb.AcceptTransferRequest(
                previous_identifier=moving.body["identifier"],
                destination_identifier=str(destination),
                holder_digest=holder_digest(moving.body["holder"]["id_type"], moving.body["holder"]["id"]),
            ),
            "ForwardCaseCommand": pb.ForwardCaseCommandRequest(
                case_id=case.body["case_id"],
                command=pb.CASE_COMMAND_ATTACH_MATERIAL,
                arguments=b'{"material_code": "M02", "file_digest": "sha256:' + b"c" * 64 + b'"}',
                office_code="JS01",
                operator_id="op-js",
                request_id="fuzz-request-0001",
            ),
            "GetTreeHead": pb.GetTreeHeadRequest(),
            "GetInclusionProof": pb.GetInclusionProofRequest(leaf_index=0, tree_size=head["tree_size"]),
            "GetConsistencyProof": pb.GetConsistencyProofRequest(first=1, second=head["tree_size"]),
            "SubmitCosignature": pb.SubmitCosignatureRequest(
                head=pb.SignedTreeHead(
                    province=SH,
                    tree_size=head["tree_size"],
                    root_hash=bytes.fromhex(head["root_hash"]),
                    signed_at=head["signed_at"],
                    key_id=head["key_id"],
                    signature=base64.b64decode(head["signature"]),
                ),
                cosignature=pb.Cosignature(
                    witness_province=JS,
                    key_id=witness.key_id,
                    cosigned_at=cosigned_at,
                    signature=witness.sign(cosignature_payload(signed, JS, cosigned_at)),
                ),
            ),
        }
    )


# Protobuf text must be valid UTF-8: a lone surrogate cannot even be put in a message.
_PROTO_TEXT = TEXT.filter(lambda text: not any(0xD800 <= ord(c) <= 0xDFFF for c in text))
_BOUNDS = {
    "TYPE_INT32": (-(2**31), 2**31 - 1),
    "TYPE_INT64": (-(2**63), 2**63 - 1),
    "TYPE_UINT32": (0, 2**32 - 1),
    "TYPE_UINT64": (0, 2**64 - 1),
    "TYPE_ENUM": (-(2**31), 2**31 - 1),  # any number: protobuf keeps unknown enum numbers
}


_TYPE_NAMES = {
    getattr(FieldDescriptor, name): name
    for name in ("TYPE_STRING", "TYPE_BYTES", "TYPE_BOOL", "TYPE_MESSAGE", *_BOUNDS)
}


def _values(field: Any) -> st.SearchStrategy[Any]:
    """Any value protobuf lets a sender put in ``field`` (one element, for a repeated field)."""
    kind = _TYPE_NAMES[field.type]
    if kind == "TYPE_STRING":
        return _PROTO_TEXT
    if kind == "TYPE_BYTES":
        return st.one_of(st.binary(max_size=80), st.sampled_from([b"", b"\x00" * 32, b"\xff" * 5000]))
    if kind == "TYPE_BOOL":
        return st.booleans()
    if kind == "TYPE_MESSAGE":
        return random_message(field.message_type._concrete_class)
    low, high = _BOUNDS[kind]
    return st.one_of(st.integers(low, high), st.sampled_from([low, high, 0, 1, 7, 99]))


def _set(message: Message, field: Any, value: Any) -> None:
    if field.is_repeated:
        getattr(message, field.name).extend(value)
    elif _TYPE_NAMES[field.type] == "TYPE_MESSAGE":
        getattr(message, field.name).CopyFrom(value)
    else:
        setattr(message, field.name, value)


def _field_value(field: Any) -> st.SearchStrategy[Any]:
    single = _values(field)
    return st.lists(single, max_size=5) if field.is_repeated else single


def random_message(cls: type[Message]) -> st.SearchStrategy[Message]:
    """A message of ``cls`` with some of its fields set to anything their types allow."""

    @st.composite
    def build(draw: st.DrawFn) -> Message:
        message = cls()
        for field in cls.DESCRIPTOR.fields:
            if draw(st.booleans()):
                _set(message, field, draw(_field_value(field)))
        return message

    return build()


@st.composite
def one_field_changed(draw: st.DrawFn, valid: Message) -> Message:
    message = type(valid)()
    message.CopyFrom(valid)
    fields: list[Any] = list(valid.DESCRIPTOR.fields)
    if not fields:
        return message
    field = draw(st.sampled_from(fields))
    message.ClearField(field.name)
    if draw(st.integers(0, 4)):  # else: the field left unset
        _set(message, field, draw(_field_value(field)))
    return message


_VARINT_FIELD_99 = b"\x98\x06"  # field 99, wire type 0
UNKNOWN_FIELDS = st.sampled_from(
    [
        _VARINT_FIELD_99 + b"\x01",
        b"\xa2\x06\x03abc",
        b"\xfd\x07\x00\x00\x00\x00",
        _VARINT_FIELD_99 + b"\xff" * 10,
    ]
)


def wire_inputs(valid: Message) -> st.SearchStrategy[bytes]:
    """The bytes a caller may send for ``valid``'s type."""
    encoded = valid.SerializeToString()
    return st.one_of(
        st.just(encoded),
        one_field_changed(valid).map(lambda m: m.SerializeToString()),
        one_field_changed(valid).map(lambda m: m.SerializeToString()),
        random_message(type(valid)).map(lambda m: m.SerializeToString()),
        st.tuples(one_field_changed(valid), UNKNOWN_FIELDS).map(lambda t: t[0].SerializeToString() + t[1]),
        st.integers(0, max(0, len(encoded) - 1)).map(lambda cut: encoded[:cut]),
        st.binary(max_size=100),
    )


def _refusal(error: grpc.RpcError) -> grpc.StatusCode:
    """The status of a refused call, which must say why."""
    call = error if isinstance(error, grpc.Call) else None
    assert call is not None
    assert call.details(), f"{call.code()} without a message"
    return call.code()


def _public_call(node: ServedNode, channel: grpc.Channel, rpc: str) -> Callable[[bytes], grpc.StatusCode]:
    method: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(PUBLIC + rpc)
    metadata = (("authorization", f"Bearer {node.token(Role.ISSUER)}"),)

    def call(request: bytes) -> grpc.StatusCode:
        try:
            method(request, timeout=TIMEOUT_S, metadata=metadata)
        except grpc.RpcError as error:
            return _refusal(error)
        return grpc.StatusCode.OK

    return call


def _federation_call(channel: grpc.Channel, rpc: str) -> Callable[[bytes], grpc.StatusCode]:
    if rpc == "PullEvents":
        stream: grpc.UnaryStreamMultiCallable[bytes, bytes] = channel.unary_stream(FEDERATION + rpc)

        def pull(request: bytes) -> grpc.StatusCode:
            responses = stream(request, timeout=TIMEOUT_S)
            try:
                next(responses, None)  # the first batch (or heartbeat) comes at once, even when following
            except grpc.RpcError as error:
                return _refusal(error)
            finally:
                responses.cancel()
            return grpc.StatusCode.OK

        return pull
    method: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(FEDERATION + rpc)

    def call(request: bytes) -> grpc.StatusCode:
        try:
            method(request, timeout=TIMEOUT_S)
        except grpc.RpcError as error:
            return _refusal(error)
        return grpc.StatusCode.OK

    return call


MESSAGES = [
    "public/VerifyCertificate",
    "public/GetCertificate",
    "Handshake",
    "VerifyCertificate",
    "PullEvents",
    "ForwardCaseCommand",
    "GetTreeHead",
    "GetInclusionProof",
    "GetConsistencyProof",
    "SubmitCosignature",
    "AcceptTransfer",
]


def test_every_request_message_type_is_fuzzed() -> None:
    served = {f"public/{m.name}" for m in public_pb.DESCRIPTOR.services_by_name["CertificateService"].methods}
    served |= {m.name for m in pb.DESCRIPTOR.services_by_name["FederationService"].methods}
    assert served == set(MESSAGES)


@pytest.mark.parametrize("rpc", MESSAGES)
def test_no_message_crashes_the_node_or_writes_when_refused(node: ServedNode, valid: Valid, rpc: str) -> None:
    public = rpc.startswith("public/")
    channel = node.public_channel() if public else node.federation_channel(JS)
    call = (
        _public_call(node, channel, rpc.removeprefix("public/")) if public else _federation_call(channel, rpc)
    )
    codes: set[grpc.StatusCode] = set()

    @FUZZ
    @given(requests=batches(wire_inputs(valid.messages[rpc])))
    def fuzz(requests: list[bytes]) -> None:
        for request in requests:
            before = node.events()
            code = call(request)
            codes.add(code)
            assert code not in CRASHES, code
            if code != grpc.StatusCode.OK:
                assert node.events() == before, f"a refused message ({code.name}) wrote events"

    try:
        fuzz()
    finally:
        channel.close()
    if EXAMPLES >= 1000:  # the inputs reached past decoding: some answered, some were refused
        assert grpc.StatusCode.OK in codes or rpc == "GetTreeHead", codes
