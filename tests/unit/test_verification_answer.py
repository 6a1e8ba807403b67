"""A signed verification answer (核验结果) says what it says of a certificate once
(``aggregates.certificate.ANSWER_DETAILS``): the service's assertion, the REST schema, and the answers of the
public and the federation gRPC services each carry every detail under its name."""

from __future__ import annotations

from google.protobuf.descriptor import FieldDescriptor
from tongban.certificates.v1 import certificates_pb2 as public_pb
from tongban.federation.v1 import federation_pb2 as federation_pb

from aggregates.certificate import ANSWER_DETAILS
from node.schemas.common import NULLABLE_TEXT, VERIFICATION
from node.services import Services
from tests.builders import ACTOR, issue_fields


def test_both_grpc_answers_carry_every_detail_as_text() -> None:
    for message in (public_pb.VerifyCertificateResponse, federation_pb.VerifyCertificateResponse):
        fields = message.DESCRIPTOR.fields_by_name
        missing = [name for name in ANSWER_DETAILS if name not in fields]
        assert missing == [], message.DESCRIPTOR.full_name
        assert {fields[name].type for name in ANSWER_DETAILS} == {FieldDescriptor.TYPE_STRING}


def test_the_rest_schema_carries_every_detail_as_nullable_text() -> None:
    properties = VERIFICATION["properties"]["assertion"]["properties"]
    assert {name: properties.get(name) for name in ANSWER_DETAILS} == dict.fromkeys(
        ANSWER_DETAILS, NULLABLE_TEXT
    )


def test_the_signed_assertion_carries_every_detail(node: Services) -> None:
    certificate = node.certificates.issue(ACTOR, **issue_fields(0, node.cases.now().date()))
    assertion = node.certificates.verify(certificate.identifier).assertion
    assert set(ANSWER_DETAILS) <= assertion.keys()
    assert (assertion["valid_from"], assertion["national_status_code"]) == (
        certificate.content.valid_from,
        "01",
    )
