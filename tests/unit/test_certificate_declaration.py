"""The certificate's fields are declared once (``aggregates.certificate.CertificateFields``). The stored event
keeps its names and order for ever; the aggregate's state, the REST JSON and its schema, the issue request and
the gRPC message each carry every declared field under its name, with the right type."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import pytest
from google.protobuf.descriptor import FieldDescriptor
from tongban.certificates.v1 import certificates_pb2 as pb

from aggregates.certificate import (
    DECLARED_FIELDS,
    HOLDER_KEYS,
    INPUT_FIELDS,
    Certificate,
    CertificateContent,
    CertificateFields,
)
from node.grpc.certificates import certificate_message
from node.presentation.certificates import HOLDER_PREFIX, certificate_json
from node.schemas.common import CERTIFICATE, ISSUE_REQUEST, NULLABLE_TEXT
from tests.builders import OTHER_HOLDER, T0, issued

# Stored Issued events carry exactly these fields, in this order, in every store written so far: a schema for
# ever. A new field needs an upcaster for the events stored without it; a rename or a move breaks old stores.
STORED_ISSUED_FIELDS = [
    "originator_id",
    "originator_version",
    "timestamp",
    "originator_topic",
    "identifier",
    "type_code",
    "type_name",
    "name",
    "number",
    "issuer_name",
    "issuer_code",
    "definer",
    "issue_date",
    "valid_from",
    "valid_to",
    "jurisdiction_code",
    "holder_name",
    "holder_id_type",
    "holder_id",
    "service_item_code",
    "file_digest",
    "previous_identifier",
    "link",
    "other_holders",  # version 2; a version 1 event is upcast to none
    "signature",
    "signature_algorithm",
    "signing_key_id",
    "province",
    "office_code",
    "operator_id",
]
HINTS = typing.get_type_hints(CertificateFields)


# The one declared field that is not text: the other holders, each named by HOLDER_KEYS.
HOLDERS = "other_holders"
TEXT_FIELDS = [name for name in DECLARED_FIELDS if name != HOLDERS]


def optional(name: str) -> bool:
    return bool(HINTS[name] == str | None) or name == HOLDERS


def test_the_declaration_holds_text_fields_and_the_list_of_other_holders() -> None:
    assert all(HINTS[name] in (str, str | None) for name in TEXT_FIELDS)
    assert HINTS[HOLDERS] == list[dict[str, str]]
    assert [f"holder_{key}" for key in HOLDER_KEYS] == [n for n in DECLARED_FIELDS if n.startswith("holder_")]


def test_the_stored_issued_event_keeps_its_fields_and_their_order() -> None:
    assert [f.name for f in dataclasses.fields(Certificate.Issued)] == STORED_ISSUED_FIELDS
    [event] = issued().collect_events()
    assert list(vars(event)) == STORED_ISSUED_FIELDS  # the order the stored JSON is written in
    assert STORED_ISSUED_FIELDS[4 : 4 + len(DECLARED_FIELDS)] == list(DECLARED_FIELDS)


def test_the_state_replayed_from_the_event_holds_every_declared_field() -> None:
    original = issued()
    [event] = original.collect_events()
    replayed = event.mutate(None)
    assert isinstance(replayed, Certificate)
    assert replayed.content == original.content
    assert all(getattr(replayed.content, name) == getattr(event, name) for name in DECLARED_FIELDS)
    assert dataclasses.asdict(replayed.content) == {name: getattr(event, name) for name in DECLARED_FIELDS}
    assert (replayed.signature, replayed.province) == (event.signature, event.province)


def _json_place(name: str) -> tuple[str, ...]:
    if name.startswith(HOLDER_PREFIX):
        return ("holder", name.removeprefix(HOLDER_PREFIX))
    return (name,)


def _at(document: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        document = document[key]
    return document


def test_the_json_carries_every_declared_field_and_its_schema_types_it() -> None:
    certificate = issued(service_item_code=None, other_holders=[OTHER_HOLDER])
    document = certificate_json(certificate, T0.date())
    schema = CERTIFICATE["properties"]
    assert document[HOLDERS] == [OTHER_HOLDER] == certificate.content.other_holders
    assert schema[HOLDERS]["items"] == schema["holder"]
    for name in TEXT_FIELDS:
        place = _json_place(name)
        assert _at(document, place) == getattr(certificate.content, name)
        typed = schema[place[0]] if len(place) == 1 else schema[place[0]]["properties"][place[1]]
        assert typed == (NULLABLE_TEXT if optional(name) else {"type": "string"}), name
    holder = [name for name in DECLARED_FIELDS if name.startswith(HOLDER_PREFIX)]
    assert schema["holder"]["required"] == [_json_place(name)[1] for name in holder]


def test_the_issue_request_takes_every_input_field_and_requires_the_ones_never_null() -> None:
    assert set(ISSUE_REQUEST["properties"]) == {*INPUT_FIELDS, "serial"}
    assert ISSUE_REQUEST["required"] == [name for name in INPUT_FIELDS if not optional(name)]


def test_the_proto_message_carries_every_declared_field_as_text() -> None:
    fields = pb.Certificate.DESCRIPTOR.fields_by_name
    assert fields[HOLDERS].is_repeated
    holder_message = fields[HOLDERS].message_type
    assert holder_message is not None
    assert list(holder_message.fields_by_name) == list(HOLDER_KEYS)
    for name in TEXT_FIELDS:
        assert name in fields, f"pb.Certificate lacks the declared field {name}"
        assert fields[name].type == FieldDescriptor.TYPE_STRING, name
        assert not fields[name].is_repeated, name
    certificate = issued(service_item_code=None, valid_to=None, other_holders=[OTHER_HOLDER])
    message = certificate_message(certificate, T0.date())
    assert [{key: getattr(h, key) for key in HOLDER_KEYS} for h in message.other_holders] == [OTHER_HOLDER]
    for name in TEXT_FIELDS:
        assert getattr(message, name) == (getattr(certificate.content, name) or ""), name


def test_create_rebuilds_the_content_from_its_inputs() -> None:
    content = issued().content
    inputs = {name: getattr(content, name) for name in INPUT_FIELDS}
    assert CertificateContent.create(serial="2430599", **inputs) == content


@pytest.mark.parametrize(("added", "left_out"), [({"colour": "red"}, None), ({}, "valid_to")])
def test_create_refuses_a_field_it_does_not_declare_or_a_missing_input(
    added: dict[str, Any], left_out: str | None
) -> None:
    content = issued().content
    inputs = {name: getattr(content, name) for name in INPUT_FIELDS if name != left_out}
    with pytest.raises(TypeError):
        CertificateContent.create(serial="2430599", **inputs, **added)
