"""Every domain enum that crosses a proto maps to a proto value and back, and every proto value but
UNSPECIFIED maps to a domain value: a proto that lags the domain, or a domain that lags the proto, fails here
and not on the first message that carries the new value in production. An enum that more than one proto
uses is defined once."""

from __future__ import annotations

import importlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from google.protobuf.descriptor import EnumDescriptor, FieldDescriptor
from tongban.certificates.v1 import certificates_pb2 as certificates_pb
from tongban.common.v1 import certificate_status_pb2 as common_pb
from tongban.federation.v1 import federation_pb2 as federation_pb

from aggregates.certificate import Status
from federation.proto_enums import CASE_COMMAND, CERTIFICATE_STATUS, COMMAND_OF_PROTO, STATUS_OF_PROTO
from node.grpc.certificates import VERIFICATION_PROBLEM
from node.usecases.certificates import VerificationProblem
from node.usecases.forwarded_commands import FORWARDABLE

PROTOS = Path(__file__).resolve().parents[2] / "protos"


@dataclass(frozen=True)
class Crossing:
    """A domain enum, its proto enum, and the tables between them (None: that way is never decoded)."""

    domain: Collection[str]
    proto: EnumDescriptor
    prefix: str
    to_proto: Mapping[Any, int]
    from_proto: Mapping[Any, Any] | None


CROSSINGS = {
    "certificate status": Crossing(
        list(Status),
        common_pb.CertificateStatus.DESCRIPTOR,
        "CERTIFICATE_STATUS_",
        CERTIFICATE_STATUS,
        STATUS_OF_PROTO,
    ),
    "verification problem": Crossing(
        list(VerificationProblem),
        certificates_pb.VerificationProblem.DESCRIPTOR,
        "VERIFICATION_PROBLEM_",
        VERIFICATION_PROBLEM,
        None,  # only answered, never read: a node decodes no problem
    ),
    "forwarded case command": Crossing(
        list(FORWARDABLE),
        federation_pb.CaseCommand.DESCRIPTOR,
        "CASE_COMMAND_",
        CASE_COMMAND,
        COMMAND_OF_PROTO,
    ),
}


@pytest.mark.parametrize("crossing", CROSSINGS.values(), ids=CROSSINGS)
def test_every_domain_value_maps_to_its_proto_value_and_back(crossing: Crossing) -> None:
    assert set(crossing.to_proto) == set(crossing.domain)
    for value in crossing.domain:
        number = crossing.to_proto[value]
        assert crossing.proto.values_by_number[number].name == crossing.prefix + value  # its own, not any
        if crossing.from_proto is not None:
            assert crossing.from_proto[number] == value


@pytest.mark.parametrize("crossing", CROSSINGS.values(), ids=CROSSINGS)
def test_every_proto_value_but_unspecified_maps_to_a_domain_value(crossing: Crossing) -> None:
    assert crossing.proto.values_by_number[0].name == crossing.prefix + "UNSPECIFIED"
    named = set(crossing.proto.values_by_number) - {0}
    assert set(crossing.to_proto.values()) == named
    assert len(set(crossing.to_proto.values())) == len(crossing.to_proto)  # no two values share a number
    if crossing.from_proto is not None:
        assert set(crossing.from_proto) == named  # UNSPECIFIED and unknown numbers decode to nothing
        assert {crossing.from_proto[n] for n in named} == set(crossing.domain)


def _generated_modules() -> list[ModuleType]:
    return [
        importlib.import_module(".".join(path.relative_to(PROTOS).with_suffix("").parts))
        for path in sorted(PROTOS.rglob("*_pb2.py"))
    ]


def test_each_enum_is_defined_in_one_proto_only() -> None:
    defined: dict[str, list[str]] = {}
    for module in _generated_modules():
        for name in module.DESCRIPTOR.enum_types_by_name:
            defined.setdefault(name, []).append(module.DESCRIPTOR.name)
    assert {name: files for name, files in defined.items() if len(files) > 1} == {}


def _status_fields() -> list[FieldDescriptor]:
    return [
        field
        for module in _generated_modules()
        for message in module.DESCRIPTOR.message_types_by_name.values()
        for field in message.fields
        if field.enum_type is not None and field.enum_type.name == "CertificateStatus"
    ]


def test_both_contracts_carry_the_one_certificate_status() -> None:
    shared: EnumDescriptor = common_pb.CertificateStatus.DESCRIPTOR
    fields = _status_fields()
    assert {f.containing_type.full_name for f in fields if f.containing_type} == {
        "tongban.certificates.v1.VerifyCertificateResponse",
        "tongban.certificates.v1.Certificate",
        "tongban.federation.v1.CertificateStatusNotice",
    }
    assert all(f.enum_type is shared for f in fields)
