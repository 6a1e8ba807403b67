"""Limits against abuse, over real HTTP and gRPC on 127.0.0.1: body size (413), string and list lengths (422 /
INVALID_ARGUMENT), per-token rate limits (429 with Retry-After), gRPC message size (RESOURCE_EXHAUSTED) and
in-flight calls per peer province on the federation port (RESOURCE_EXHAUSTED). Nothing refused is written.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from tongban.certificates.v1 import certificates_pb2 as public_pb
from tongban.certificates.v1 import certificates_pb2_grpc as public_grpc
from tongban.federation.v1 import federation_pb2 as pb
from tongban.federation.v1 import federation_pb2_grpc as pb_grpc

from federation.handshake import PROTOCOL_VERSION
from node.auth import Role
from node.grpc.server import MAX_MESSAGE_BYTES
from tests.builders import CONSENT, REFUSAL, issue_body
from tests.integration.served_node import JS, SH, ZJ, ServedNode, served_node

APPLICANT = {"name": "赵敏", "id_type": "111", "id_number": "11010519491231002X"}
ISSUE = issue_body(0, issue_date="2025-01-02", valid_from="2025-01-02")
FEDERATION_MAX_BYTES = 1024 * 1024  # federation.client.SERVER_OPTIONS: requests are small


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedNode]:
    env = {
        "TONGBAN_MAX_BODY_BYTES": "65536",
        "TONGBAN_RATE_LIMIT_PER_S": "0.01",  # one request per 100 s: a spent bucket stays spent in a test
        "TONGBAN_RATE_LIMIT_BURST": "200",
        "TONGBAN_FEDERATION_PEER_CONCURRENCY": "2",
    }
    with served_node(tmp_path_factory.mktemp("limits"), federation=True, env=env) as served:
        yield served


@pytest.fixture(scope="module")
def case_path(node: ServedNode) -> str:
    body = {"item_province": SH, "item_code": "RS-0001", "mode": "FULL_ONLINE", "applicant": APPLICANT}
    answer = node.call("POST", "/v1/cases", role=Role.PLATFORM, body=body, operator="seeder")
    assert answer.status == 201, answer.body
    return f"/v1/cases/{answer.body['case_id']}"


def _refused(node: ServedNode, answer: Any, before: int, status: int) -> dict[str, Any]:
    assert answer.status == status, answer.body
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert node.events() == before
    assert isinstance(answer.body, dict)
    return answer.body


def test_a_body_over_max_body_bytes_is_413_problem_json(node: ServedNode) -> None:
    before = node.events()
    raw = json.dumps({**ISSUE, "name": "证" * 40_000}).encode()
    problem = _refused(node, node.call("POST", "/v1/certificates", raw=raw, operator="big"), before, 413)
    assert problem["type"].endswith("/request-entity-too-large")


@pytest.mark.parametrize(
    ("suffix", "role", "body", "pointer"),
    [
        ("/refuse", Role.HANDLER, {**REFUSAL, "reason": "x" * 1001}, "/reason"),
        (
            "/supplement-request",
            Role.HANDLER,
            {"missing": [f"M{i}" for i in range(51)], "reason": "x"},
            "/missing",
        ),
        ("/materials", Role.PLATFORM, {"material_code": "M" * 65, "file_digest": "sha256:" + "0" * 64}, None),
        ("/rating", Role.PLATFORM, {"score": 1, "channel": "ONLINE", "comment": "慢" * 1001}, "/comment"),
        ("/deliver", Role.WINDOW, {"method": "POST", "reference": "x" * 201}, "/reference"),
    ],
)
def test_long_strings_and_lists_in_case_bodies_are_422(
    node: ServedNode, case_path: str, suffix: str, role: Role, body: dict[str, Any], pointer: str | None
) -> None:
    before = node.events()
    answer = node.call("POST", case_path + suffix, role=role, body=body, operator="lengths")
    problem = _refused(node, answer, before, 422)
    assert problem["pointer"] == (pointer or "/material_code")


def test_long_lists_of_a_catalogue_item_and_of_joint_parts_are_422(node: ServedNode) -> None:
    before = node.events()
    material = {"code": "M01", "name": "材料", "substitutes": [], "required": True}
    item = {
        "name": "测试",
        "department": "部门",
        "modes": ["FULL_ONLINE"],
        "materials": [material] * 101,
        "statutory_limit_days": 20,
        "promised_limit_days": 10,
        "supplement_days": 5,
        "extension_days": 0,
        "fee_fen": 0,
        "joint_parts": [],
    }
    path = "/v1/catalogue/310000/items/LIMIT-1"
    problem = _refused(
        node, node.call("PUT", path, role=Role.ADMIN, body=item, operator="lengths"), before, 422
    )
    assert problem["pointer"] == "/materials"
    substitutes = {**material, "substitutes": ["11100000000013338W001"] * 51}
    answer = node.call(
        "PUT", path, role=Role.ADMIN, body={**item, "materials": [substitutes]}, operator="lengths"
    )
    assert _refused(node, answer, before, 422)["pointer"] == "/materials/0/substitutes"
    parts = {f"P{i}": JS for i in range(21)}
    case = {
        "item_province": JS,
        "item_code": "GA-0001",
        "mode": "JOINT",
        "applicant": APPLICANT,
        "parts": parts,
    }
    answer = node.call("POST", "/v1/cases", role=Role.WINDOW, body=case, operator="lengths")
    assert _refused(node, answer, before, 422)["pointer"] == "/parts"


def test_each_token_has_its_own_rate_limit_answered_with_429_and_retry_after(node: ServedNode) -> None:
    for _ in range(200):  # the burst
        assert (
            node.call("GET", "/v1/catalogue/310000/bundles", role=Role.WINDOW, operator="busy").status == 200
        )
    before = node.events()
    answer = node.call("GET", "/v1/catalogue/310000/bundles", role=Role.WINDOW, operator="busy")
    problem = _refused(node, answer, before, 429)
    assert problem["type"].endswith("/too-many-requests")
    assert 1 <= int(answer.headers["retry-after"]) <= 100
    answer = node.call("POST", "/v1/cases", role=Role.WINDOW, operator="busy", body={})
    _refused(node, answer, before, 429)  # before the body is even read
    # another operator's token of the same office is not slowed down by the first one
    assert node.call("GET", "/v1/catalogue/310000/bundles", role=Role.WINDOW, operator="calm").status == 200


def test_the_public_grpc_port_refuses_a_message_over_its_size_limit(node: ServedNode) -> None:
    before = node.events()
    with node.public_channel() as channel:
        stub = public_grpc.CertificateServiceStub(channel)
        request = public_pb.GetCertificateRequest(identifier="x" * (MAX_MESSAGE_BYTES + 1))
        metadata = (("authorization", f"Bearer {node.token(Role.ISSUER)}"),)
        with pytest.raises(grpc.RpcError) as refused:
            stub.GetCertificate(request, timeout=10, metadata=metadata)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert node.events() == before


def _jiangsu_verify(**overrides: Any) -> pb.VerifyCertificateRequest:
    fields = {
        "identifier": "1.2.156.3005.2.11100000000013338W001.11310000000001331J.1.001.F",
        "case_reference": "JS-1",
        "purpose": "核验",
        "consent_reference": CONSENT,
        **overrides,
    }
    return pb.VerifyCertificateRequest(**fields)


@pytest.mark.parametrize(
    ("rpc", "message"),
    [
        ("VerifyCertificate", _jiangsu_verify(purpose="x" * (FEDERATION_MAX_BYTES + 1))),
        ("VerifyCertificate", _jiangsu_verify(purpose="x" * 201)),
        ("VerifyCertificate", _jiangsu_verify(case_reference="x" * 65)),
        ("VerifyCertificate", _jiangsu_verify(consent_reference="x" * 129)),
        ("Handshake", pb.HandshakeRequest(province=JS, protocol_versions=[PROTOCOL_VERSION] * 17)),
        ("Handshake", pb.HandshakeRequest(province=JS, protocol_versions=[PROTOCOL_VERSION, "v" * 65])),
        (
            "ForwardCaseCommand",
            pb.ForwardCaseCommandRequest(
                case_id="00000000-0000-4000-8000-000000000000",
                command=pb.CASE_COMMAND_ARCHIVE,
                arguments=b'{"x": "' + b"x" * 70_000 + b'"}',
                office_code="JS01",
                operator_id="op",
                request_id="limits-0001",
            ),
        ),
    ],
    ids=["message-size", "purpose", "case-reference", "consent", "versions", "version-length", "arguments"],
)
def test_the_federation_port_refuses_oversized_messages_and_fields(
    node: ServedNode, rpc: str, message: Any
) -> None:
    before = node.events()
    with node.federation_channel(JS) as channel, pytest.raises(grpc.RpcError) as refused:
        getattr(pb_grpc.FederationServiceStub(channel), rpc)(message, timeout=10)
    error: Any = refused.value
    expected = (
        grpc.StatusCode.RESOURCE_EXHAUSTED
        if message.ByteSize() > FEDERATION_MAX_BYTES
        else grpc.StatusCode.INVALID_ARGUMENT
    )
    assert (error.code(), bool(error.details())) == (expected, True)
    assert node.events() == before


def test_each_peer_province_has_a_bound_on_calls_in_flight(node: ServedNode) -> None:
    """Two calls in flight per province here (federation_peer_concurrency=2): a following PullEvents stream
    stays in flight until cancelled."""
    with node.federation_channel(JS) as jiangsu, node.federation_channel(ZJ) as zhejiang:
        js = pb_grpc.FederationServiceStub(jiangsu)
        follow = pb.PullEventsRequest(after_position=0, follow=True)
        streams = [js.PullEvents(follow, timeout=30) for _ in range(2)]
        for stream in streams:
            next(stream)  # the first batch arrived: the call is in flight
        with pytest.raises(grpc.RpcError) as refused:
            js.GetTreeHead(pb.GetTreeHeadRequest(), timeout=10)
        error: Any = refused.value
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert error.details().startswith(f"province {JS} has 2 federation calls in flight")
        # another province is served as usual
        assert _tree_head_code(pb_grpc.FederationServiceStub(zhejiang)) != grpc.StatusCode.RESOURCE_EXHAUSTED
        streams[0].cancel()
        code = grpc.StatusCode.RESOURCE_EXHAUSTED
        deadline = time.monotonic() + 10
        while code == grpc.StatusCode.RESOURCE_EXHAUSTED and time.monotonic() < deadline:
            time.sleep(0.05)  # the server sees the cancellation a moment later
            code = _tree_head_code(js)
        assert code != grpc.StatusCode.RESOURCE_EXHAUSTED
        streams[1].cancel()


def _tree_head_code(stub: pb_grpc.FederationServiceStub) -> grpc.StatusCode:
    try:
        stub.GetTreeHead(pb.GetTreeHeadRequest(), timeout=10)
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK
