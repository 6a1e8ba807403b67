"""No refusal repeats what the client sent: hostile values (a bidi override, NUL, a person's name and ID
number) are planted in every path parameter, in query parameter names and values, in every string field of
every request body, in bearer tokens, and in the string fields of every public and federation gRPC request;
every answer is searched for them, problem detail, pointer and ``instance`` included."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import grpc
import pytest
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from tongban.certificates.v1 import certificates_pb2 as public_pb
from tongban.federation.v1 import federation_pb2 as pb

from node.auth import Role
from node.http.app import ENDPOINTS
from tests.integration.fuzz_inputs import MARKER
from tests.integration.served_node import SH, ServedNode, served_node
from tests.integration.test_fuzz_rest import SCHEMAS, Seeded, _filled, _valid
from tests.integration.test_fuzz_rest import seeded as seeded  # noqa: PLC0414 - the fixture, shared

CANARY = "ECHOCANARY"
HOSTILE = f"\u202e{CANARY}\x00{MARKER}"  # right-to-left override, NUL, a name and an ID number
ASCII_HOSTILE = f"{CANARY}-{MARKER[-18:]}"  # for headers and metadata, which carry ASCII only
TELLTALES = ("\u202e", "\x00", "\\u0000", "\\u202e", CANARY, MARKER, MARKER[:2], MARKER[-18:])


def leaked(text: str) -> list[str]:
    return [t for t in TELLTALES if t in text]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedNode]:
    with served_node(tmp_path_factory.mktemp("no-echo"), federation=True) as served:
        yield served


def _answer_text(node: ServedNode, method: str, path: str, **kwargs: Any) -> tuple[int, str]:
    answer = node.call(method, path, **kwargs)
    return answer.status, json.dumps(answer.body, ensure_ascii=False)


PATH_VALUES = {"province": SH, "code": "RS-0001", "part_code": "P1", "notice_no": "NO-SUCH-1"}


def _valid_path(template: str, seeded: Seeded) -> dict[str, str]:
    return {
        "identifier": seeded.certificate,
        "case_id": seeded.online_case,
        "bundle_id": seeded.bundle,
        **PATH_VALUES,
    }


@pytest.mark.parametrize(
    ("method", "template"), sorted({(ep.method, ep.path) for ep in ENDPOINTS if "{" in ep.path})
)
def test_a_hostile_path_parameter_is_never_repeated(
    node: ServedNode, seeded: Seeded, method: str, template: str
) -> None:
    for name in re.findall(r"{(\w+)}", template):
        values = _valid_path(template, seeded) | {name: quote(HOSTILE, safe="")}
        path = template.format(**values)
        status, text = _answer_text(node, method, path, role=Role.ADMIN, body={})
        assert status == 422, (name, status, text)
        assert leaked(text) == [], (name, text)


@pytest.mark.parametrize(
    "path", ["/v1/board", "/v1/transparency/head", "/v1/statistics", f"/v1/catalogue/{SH}/items"]
)
def test_a_hostile_query_parameter_name_or_value_is_never_repeated(node: ServedNode, path: str) -> None:
    hostile = quote(HOSTILE, safe="")
    for query in (
        f"?{hostile}=1",
        f"?limit={hostile}",
        f"?limit=1&{quote(chr(0))}{CANARY}=x",
        f"?limit={quote('١٢')}",
    ):
        status, text = _answer_text(node, "GET", path + query, role=Role.ADMIN)
        assert status == 422, (query, status, text)
        assert leaked(text) == [], (query, text)


def test_non_ascii_digits_are_refused_with_422_naming_the_parameter(node: ServedNode) -> None:
    """Arabic-Indic and full-width digits are digits to Python's int(), never to the documented pattern."""
    for path, name in (
        ("/v1/transparency/inclusion?leaf_index=٠&tree_size=1", "leaf_index"),
        ("/v1/transparency/consistency?first=1&second=２", "second"),
        (f"/v1/case-views/{'0' * 8}-0000-0000-0000-{'0' * 12}?after_version=١", "after_version"),
        (f"/v1/catalogue/{SH}/items/RS-0001?version=１", "version"),
    ):
        answer = node.call("GET", quote(path, safe="/?=&"), role=Role.ADMIN)
        assert answer.status == 422, (path, answer.body)
        assert answer.body["pointer"] == f"/{name}"


@pytest.mark.parametrize("schema", sorted(SCHEMAS))
def test_a_hostile_body_field_is_never_repeated(node: ServedNode, seeded: Seeded, schema: str) -> None:
    targets, valid = SCHEMAS[schema]
    body = _valid(valid, seeded)
    for field in [k for k, v in body.items() if isinstance(v, str)] or ["planted"]:
        for method, template, role in targets:
            status, text = _answer_text(
                node, method, _filled(template, seeded), role=role, body={**body, field: HOSTILE}
            )
            assert leaked(text) == [], (schema, field, status, text)


def test_a_hostile_bearer_token_is_never_repeated(node: ServedNode) -> None:
    for token in (
        ASCII_HOSTILE,
        f"{ASCII_HOSTILE}.{ASCII_HOSTILE}.{ASCII_HOSTILE}",
        "eyJhbGciOiJub25lIn0.e30.",
    ):
        status, text = _answer_text(
            node, "GET", "/v1/transparency/head", role=None, headers={"Authorization": f"Bearer {token}"}
        )
        assert status == 401
        assert leaked(text) == [], text
        assert "Invalid header" not in text
        assert "padding" not in text


# gRPC: every string field of every request, on the public port and on the federation port


def _hostile(message: Message) -> Message:
    for field in message.DESCRIPTOR.fields:
        if field.type == FieldDescriptor.TYPE_STRING and not field.is_repeated:
            setattr(message, field.name, HOSTILE)
        elif field.type == FieldDescriptor.TYPE_BYTES and not field.is_repeated:
            setattr(message, field.name, HOSTILE.encode())
    return message


def _calls(service: Any, module: Any) -> list[tuple[str, Message]]:
    return [
        (method.name, _hostile(getattr(module, method.input_type.name)()))
        for method in service.methods
        if not method.server_streaming
    ]


def _details_leak(
    channel: grpc.Channel, path: str, request: Message, metadata: tuple[tuple[str, str | bytes], ...]
) -> list[str]:
    call: grpc.UnaryUnaryMultiCallable[Message, bytes] = channel.unary_unary(
        path, request_serializer=lambda m: m.SerializeToString(), response_deserializer=bytes
    )
    try:
        call(request, metadata=metadata, timeout=10)
    except grpc.RpcError as e:
        return leaked(str(e.details()))
    return []


def test_hostile_grpc_fields_and_tokens_are_never_repeated(node: ServedNode) -> None:
    service = public_pb.DESCRIPTOR.services_by_name["CertificateService"]
    token = node.token(Role.ISSUER)
    with node.public_channel() as channel:
        for name, request in _calls(service, public_pb):
            path = f"/tongban.certificates.v1.CertificateService/{name}"
            for metadata in (
                (("authorization", f"Bearer {token}"),),
                (("authorization", f"Bearer {ASCII_HOSTILE}"),),
                (("authorization", ASCII_HOSTILE),),
            ):
                assert _details_leak(channel, path, request, metadata) == [], (name, metadata[0][1][:12])


def test_hostile_forwarded_command_fields_are_never_repeated(node: ServedNode) -> None:
    service = pb.DESCRIPTOR.services_by_name["FederationService"]
    with node.federation_channel("320000") as channel:
        for name, request in _calls(service, pb):
            path = f"/tongban.federation.v1.FederationService/{name}"
            assert _details_leak(channel, path, request, ()) == [], name
