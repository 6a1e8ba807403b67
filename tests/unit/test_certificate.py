"""The certificate aggregate: given events, when a command, then new events (or a refusal and none)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from aggregates.certificate import (
    RECORDED_STATUSES,
    TRANSITIONS,
    Certificate,
    CertificateContent,
    HolderCertificates,
    Link,
    Status,
    canonical_json,
    certificate_id,
)
from aggregates.clock import CHINA
from aggregates.consent import UseChannel
from aggregates.errors import IllegalTransition, InvalidField
from aggregates.identifiers import CertificateIdentifier
from aggregates.responsibility import Actor
from tests.builders import ACTOR, CONSENT, OTHER_HOLDER, T0, content, issue_body, issued


def given_status(status: Status) -> Certificate:
    """A certificate brought to ``status`` through legal operations, with its events already collected."""
    certificate = issued()
    path = {
        Status.VALID: [],
        Status.SUSPENDED: ["suspend"],
        Status.ANNULLED: ["annul"],
        Status.CANCELLED: ["cancel"],
        Status.EXPIRED: ["expire"],
        Status.REVOKED: ["revoke"],
        Status.TRANSFERRED_OUT: ["transfer_out"],
    }[status]
    for step in path:
        destination = "320000" if step == "transfer_out" else None
        certificate.change_status(step, reason="given", actor=ACTOR, at=T0, destination_province=destination)
    certificate.collect_events()
    assert certificate.status is status
    return certificate


def test_issue_records_one_event_with_every_field_and_the_actor() -> None:
    certificate = issued()
    [event] = certificate.collect_events()
    assert isinstance(event, Certificate.Issued)
    assert event.identifier == "1.2.156.3005.2." + ".".join(
        [event.type_code, event.issuer_code, "2430599", "001", event.identifier[-1]]
    )
    assert CertificateIdentifier.parse(event.identifier).serial == "2430599"
    assert (event.office_code, event.operator_id, event.province) == ("OFFICE01", "op-001", "310000")
    assert event.timestamp == T0
    assert certificate.id == certificate_id(event.identifier)
    assert certificate.status is Status.VALID


@pytest.mark.parametrize("status", RECORDED_STATUSES)
@pytest.mark.parametrize("operation", list(TRANSITIONS))
def test_every_operation_from_every_status_is_allowed_or_refused_by_the_table(
    operation: str, status: Status
) -> None:
    certificate = given_status(status)
    allowed_from, to = TRANSITIONS[operation]
    destination = "320000" if operation == "transfer_out" else None
    if status in allowed_from:
        certificate.change_status(
            operation, reason="依法处理", actor=ACTOR, at=T0, destination_province=destination
        )
        [event] = certificate.collect_events()
        assert isinstance(event, Certificate.StatusChanged)
        assert (event.operation, event.status, event.reason) == (operation, to.value, "依法处理")
        assert certificate.status is to
    else:
        with pytest.raises(IllegalTransition, match=f"cannot {operation}"):
            certificate.change_status(
                operation, reason="依法处理", actor=ACTOR, at=T0, destination_province=destination
            )
        assert certificate.collect_events() == []
        assert certificate.status is status


def test_a_cancelled_certificate_allows_nothing() -> None:
    assert not [op for op, (allowed, _) in TRANSITIONS.items() if Status.CANCELLED in allowed]


@pytest.mark.parametrize("status", [Status.ANNULLED, Status.REVOKED, Status.EXPIRED])
def test_an_annulled_revoked_or_expired_certificate_may_only_be_cancelled(status: Status) -> None:
    """行政许可法 第70条: a licence annulled (撤销), revoked (吊销) or lapsed is cancelled (注销)."""
    assert [op for op, (allowed, _) in TRANSITIONS.items() if status in allowed] == ["cancel"]


@pytest.mark.parametrize(
    ("destination", "message"),
    [
        (None, "names its destination"),
        ("310000", "another province"),
        ("31000", "province-level code"),
        ("190000", "province-level code"),  # six digits ending 0000, but no such province (GB/T 2260)
        ("320100", "province-level code"),  # Nanjing: a city, not a province
    ],
)
def test_transfer_out_needs_another_province(destination: str | None, message: str) -> None:
    certificate = given_status(Status.VALID)
    with pytest.raises(InvalidField, match=message) as refused:
        certificate.change_status(
            "transfer_out", reason="迁出", actor=ACTOR, at=T0, destination_province=destination
        )
    assert refused.value.field == "destination_province"
    assert certificate.collect_events() == []


def test_only_a_transfer_out_names_a_destination() -> None:
    certificate = given_status(Status.VALID)
    with pytest.raises(InvalidField, match="only a transfer-out"):
        certificate.change_status("suspend", reason="r", actor=ACTOR, at=T0, destination_province="320000")


def test_undo_transfer_out_restores_validity() -> None:
    certificate = given_status(Status.TRANSFERRED_OUT)
    assert certificate.destination_province == "320000"
    certificate.change_status("undo_transfer_out", reason="撤回迁出", actor=ACTOR, at=T0)
    assert certificate.status is Status.VALID
    assert certificate.destination_province is None


def test_a_reason_is_required_and_bounded() -> None:
    certificate = given_status(Status.VALID)
    for reason in ("", "   ", "x" * 501):
        with pytest.raises(InvalidField) as refused:
            certificate.change_status("suspend", reason=reason, actor=ACTOR, at=T0)
        assert refused.value.field == "reason"
    assert certificate.collect_events() == []


def test_unknown_operation_is_an_invalid_field() -> None:
    with pytest.raises(InvalidField) as refused:
        given_status(Status.VALID).change_status("destroy", reason="r", actor=ACTOR, at=T0)
    assert refused.value.field == "operation"


@pytest.mark.parametrize(
    ("link", "status", "allowed"),
    [
        (Link.RENEWED, Status.VALID, True),
        (Link.RENEWED, Status.EXPIRED, True),
        (Link.RENEWED, Status.REVOKED, False),
        (Link.RENEWED, Status.SUSPENDED, False),
        (Link.CHANGED, Status.VALID, True),
        (Link.CHANGED, Status.EXPIRED, False),
        (Link.CHANGED, Status.TRANSFERRED_OUT, False),
    ],
)
def test_supersede_rules(link: Link, status: Status, allowed: bool) -> None:
    certificate = given_status(status)
    successor = str(CertificateIdentifier.parse(certificate.identifier).next_version())
    if allowed:
        certificate.supersede(successor, link, actor=ACTOR, at=T0)
        [event] = certificate.collect_events()
        assert isinstance(event, Certificate.Superseded)
        assert (event.successor_identifier, event.link) == (successor, link.value)
        # The event records the resulting status; replaying it only assigns it.
        assert event.status == "EXPIRED"
        assert certificate.status is Status.EXPIRED
    else:
        verb = {Link.RENEWED: "renew", Link.CHANGED: "change"}[link]
        with pytest.raises(IllegalTransition, match=f"^cannot {verb} {certificate.identifier}: it is "):
            certificate.supersede(successor, link, actor=ACTOR, at=T0)
        assert certificate.collect_events() == []


def test_a_superseded_event_is_replayed_from_its_recorded_status() -> None:
    """Replaying assigns the recorded status: the @event method holds no rule of its own."""
    certificate = given_status(Status.VALID)
    successor = str(CertificateIdentifier.parse(certificate.identifier).next_version())
    certificate.supersede(successor, Link.RENEWED, actor=ACTOR, at=T0)
    [event] = certificate.collect_events()
    assert isinstance(event, Certificate.Superseded)
    changes: dict[str, Any] = {"status": "SUSPENDED"}  # as if the event had recorded another status
    recorded_otherwise = dataclasses.replace(event, **changes)
    replayed = given_status(Status.VALID)
    recorded_otherwise.mutate(replayed)
    assert replayed.status is Status.SUSPENDED


def test_a_certificate_is_superseded_once() -> None:
    certificate = given_status(Status.VALID)
    successor = str(CertificateIdentifier.parse(certificate.identifier).next_version())
    certificate.supersede(successor, Link.RENEWED, actor=ACTOR, at=T0)
    with pytest.raises(IllegalTransition, match="superseded by"):
        certificate.supersede(successor, Link.RENEWED, actor=ACTOR, at=T0)


def test_an_issuer_issues_only_for_its_own_province() -> None:
    assert issued(jurisdiction_code="310115").content.jurisdiction_code == "310115"  # a district of 310000
    with pytest.raises(InvalidField, match="issuing province 310000") as refused:
        issued(jurisdiction_code="320000")
    assert refused.value.field == "jurisdiction_code"
    with pytest.raises(InvalidField) as refused:
        Certificate.issue(
            content(),
            signature="c2ln",
            signature_algorithm="Ed25519",
            signing_key_id="0011223344556677",
            actor=Actor("190000", "OFFICE01", "op-001"),
            at=T0,
        )
    assert refused.value.field == "province"


@pytest.mark.parametrize("field", ["holder_name", "name", "number", "type_name", "issuer_name", "definer"])
@pytest.mark.parametrize("control", ["\x00", "\n", "\x1b", "\x7f"])
def test_text_fields_refuse_control_characters(field: str, control: str) -> None:
    with pytest.raises(InvalidField, match="control characters") as refused:
        content(**{field: f"张{control}三"})
    assert refused.value.field == field
    assert "张" not in str(refused.value)


def test_a_reason_refuses_control_characters() -> None:
    with pytest.raises(InvalidField, match="control characters"):
        given_status(Status.VALID).change_status("suspend", reason="暂扣\r\n伪造一行日志", actor=ACTOR, at=T0)


def test_a_previous_identifier_is_recorded_in_its_canonical_form() -> None:
    previous = "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F"
    recorded = content(previous_identifier=f"  {previous.lower()} ", link=Link.TRANSFERRED_IN)
    assert recorded.previous_identifier == previous


def test_a_valid_certificate_past_its_validity_is_effectively_expired() -> None:
    certificate = issued()
    valid_to = date.fromisoformat(certificate.content.valid_to or "")
    assert certificate.effective_status(valid_to) is Status.VALID
    assert certificate.effective_status(valid_to + timedelta(days=1)) is Status.EXPIRED
    assert issued(valid_to=None).effective_status(date(2999, 1, 1)) is Status.VALID


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"holder_id": "11010519491231002Y"}, "holder_id"),
        ({"holder_id_type": "999"}, "holder_id_type"),
        ({"holder_id_type": "001"}, "holder_id"),  # a citizen ID is not a credit code
        ({"issuer_code": "11220000013544541K"}, "issuer_code"),
        ({"type_code": "short"}, "type_code"),
        ({"jurisdiction_code": "990000"}, "jurisdiction_code"),
        ({"issue_date": "2026-02-30"}, "issue_date"),
        ({"valid_to": "2000-01-01"}, "valid_to"),
        ({"file_digest": "md5:abc"}, "file_digest"),
        ({"holder_name": " "}, "holder_name"),
        ({"serial": "bad serial"}, "serial"),
        ({"previous_identifier": "1.2.156.3005.2.x"}, "previous_identifier"),
    ],
)
def test_content_validation_names_the_field(overrides: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidField) as refused:
        content(**overrides)
    assert refused.value.field == field


def test_valid_from_before_issue_date_is_refused() -> None:
    body = issue_body()
    with pytest.raises(InvalidField) as refused:
        content(valid_from="2000-01-01", valid_to=body["valid_to"])
    assert refused.value.field == "valid_from"


def test_the_signing_payload_is_canonical_and_covers_every_field() -> None:
    first = content()
    assert first.signing_payload() == content().signing_payload()
    assert first.signing_payload() != content(holder_name="李四").signing_payload()
    joint = content(other_holders=[OTHER_HOLDER])
    for name in CertificateContent.__dataclass_fields__:
        assert f'"{name}":'.encode() in joint.signing_payload()
        assert (f'"{name}":'.encode() in first.signing_payload()) == (name != "other_holders")
    assert joint.signing_payload() != first.signing_payload()


def test_a_one_holder_certificate_signs_the_bytes_signed_before_several_holders() -> None:
    # the payload of a round-1 certificate (tests/fixtures/stores/round1), re-made from its recorded fields:
    # exactly the fields declared then, so its stored signature still verifies
    first = content()
    before = {name: getattr(first, name) for name in CertificateContent.__dataclass_fields__}
    del before["other_holders"]
    assert first.signing_payload() == canonical_json(before)


def test_several_holders_are_validated_each_by_the_rule_of_its_id_type() -> None:
    joint = content(other_holders=[{**OTHER_HOLDER, "id": OTHER_HOLDER["id"].lower()}])
    assert joint.other_holders == [OTHER_HOLDER]
    assert joint.holders() == [(joint.holder_id_type, joint.holder_id), ("111", OTHER_HOLDER["id"])]
    first = content()
    for others, field in [
        ([{**OTHER_HOLDER, "id": OTHER_HOLDER["id"][:-1] + "1"}], "other_holders/0/id"),
        ([{**OTHER_HOLDER, "id_type": "999"}], "other_holders/0/id_type"),
        ([{**OTHER_HOLDER, "name": " "}], "other_holders/0/name"),
        ([{"name": "x", "id": OTHER_HOLDER["id"]}], "other_holders/0"),
        ([OTHER_HOLDER, OTHER_HOLDER], "other_holders/1/id"),
        ([{**OTHER_HOLDER, "id": first.holder_id}], "other_holders/0/id"),  # the holder again
        ([OTHER_HOLDER] * 21, "other_holders"),
    ]:
        with pytest.raises(InvalidField) as refused:
            content(other_holders=others)
        assert refused.value.field == field
        assert OTHER_HOLDER["id"][:-1] not in str(refused.value)


def test_an_issued_event_of_version_1_reads_with_its_one_holder() -> None:
    state: dict[str, Any] = {"holder_name": "张三"}
    Certificate.Issued.upcast_v1_v2(state)
    assert state == {"holder_name": "张三", "other_holders": []}


def test_a_holder_index_lists_each_certificate_once_and_carries_no_personal_data() -> None:
    at = datetime(2025, 9, 24, 9, 0, tzinfo=UTC)
    index = HolderCertificates.open("111", "11010519491231002X", at)
    index.add("A", at)
    index.add("B", at)
    index.add("A", at)
    events = index.collect_events()
    assert index.identifiers == ["A", "B"]
    assert len(events) == 3
    assert index.id == HolderCertificates.id_for("111", "11010519491231002X")
    for event in events:
        assert "11010519491231002X" not in repr(event.__dict__)


def test_a_use_is_recorded_with_who_how_case_purpose_and_consent() -> None:
    certificate = issued()
    certificate.collect_events()
    window = Actor("320000", "32-WINDOW-01", "w-1")
    certificate.record_use(
        window,
        UseChannel.REST,
        case_reference="3200002026112300000001",
        purpose="落户审核",
        consent_reference=CONSENT,
        at=T0,
    )
    [used] = certificate.collect_events()
    assert isinstance(used, Certificate.Used)
    assert (used.requester_province, used.purpose, used.consent_reference) == ("320000", "落户审核", CONSENT)
    assert (used.channel, used.office_code, used.operator_id) == ("REST", "32-WINDOW-01", "w-1")
    certificate.record_use(
        window, UseChannel.GRPC, case_reference=None, purpose="核验", consent_reference=CONSENT, at=T0
    )
    assert certificate.use_count == 2
    certificate.collect_events()
    day_after = (T0 + timedelta(days=1)).astimezone(CHINA).strftime("%Y%m%d")
    for province, case, purpose, consent, field in [
        ("190000", "C1", "p", CONSENT, "requester_province"),
        ("320000", "", "p", CONSENT, "case_reference"),
        ("320000", "C1", " ", CONSENT, "purpose"),
        ("320000", "C1", "p", "", "consent_reference"),
        ("320000", "C1", "p", "AUTH-1", "consent_reference"),  # any non-empty string no longer passes
        ("320000", "C1", "p", "310000:20250230:A1", "consent_reference"),  # no such day
        ("320000", "C1", "p", f"310000:{day_after}:A1", "consent_reference"),  # given after the use
        ("320000", "C1", "p", "310000:２０２５0924:A1", "consent_reference"),  # full-width digits
        ("320000", "C1", "p", "310000:20250924:A1\n", "consent_reference"),
        ("320000", "C1", "p", "3100:20250924:A1", "consent_reference"),
    ]:
        requester = Actor(province, "32-WINDOW-01", "w-1")
        with pytest.raises(InvalidField) as refused:
            certificate.record_use(
                requester,
                UseChannel.CASE,
                case_reference=case,
                purpose=purpose,
                consent_reference=consent,
                at=T0,
            )
        assert refused.value.field == field
        assert not consent or consent not in str(refused.value)
    assert certificate.collect_events() == []


def test_a_consent_reference_may_name_the_agency_by_its_credit_code() -> None:
    certificate = issued()
    certificate.record_use(
        Actor("310000", "31-W", "w"),
        UseChannel.CASE,
        case_reference="C1",
        purpose="p",
        consent_reference="11220000013544541J:20250924:x-1",
        at=T0,
    )
    assert certificate.use_count == 1


def test_a_version_1_use_reads_as_a_peers_federation_call() -> None:
    state = {"requester_province": "320000", "case_reference": "C1", "purpose": "p", "consent_reference": "A"}
    Certificate.Used.upcast_v1_v2(state)
    assert state == {
        "requester_province": "320000",
        "case_reference": "C1",
        "purpose": "p",
        "consent_reference": "A",
        "channel": "FEDERATION",
        "office_code": "FEDERATION",
        "operator_id": "320000",
    }
