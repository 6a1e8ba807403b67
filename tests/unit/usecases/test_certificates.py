"""CertificateService over an in-memory store: issue, reissue, status operations, verification (核验),
verification for a peer, holder lists and history; each refusal leaves the store as it was."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from aggregates.certificate import (
    Certificate,
    CertificateContent,
    HolderCertificates,
    Link,
    Status,
    holder_digest,
)
from aggregates.consent import UseChannel
from aggregates.errors import IllegalTransition, InvalidField
from aggregates.identifiers import CertificateIdentifier
from aggregates.responsibility import Actor
from node.services import Services
from node.store.application import AlreadyExists, NotFound
from node.store.idempotency import Idempotency, IdempotencyKeyReused
from node.usecases.certificates import Use
from simulators.sample_data import sample_certificates
from tests.builders import ACTOR, CONSENT, OTHER_HOLDER, FakeClock, issue_fields
from tests.dates import TEST_DATE

ISSUED_ON = date(2025, 9, 1)  # before the clock's day (2025-09-24)


def issue(node: Services, n: int = 0, **overrides: Any) -> Certificate:
    return node.certificates.issue(ACTOR, **issue_fields(n, ISSUED_ON, **overrides))


def events(node: Services) -> int:
    return node.app.recorder.max_notification_id() or 0


def test_issue_records_the_certificate_and_its_holder_index_signed_by_the_node(
    node: Services, clock: FakeClock
) -> None:
    before = events(node)
    certificate = issue(node)
    fields = issue_fields(0, ISSUED_ON)
    stored = node.certificates.certificate(certificate.identifier)
    assert (stored.status, stored.province, stored.content.holder_id) == (
        Status.VALID,
        "310000",
        fields["holder_id"],
    )
    assert stored.created_on == clock.now
    assert events(node) == before + 4  # Issued, its number claimed, the holder index opened and added to
    index: HolderCertificates = node.app.repository.get(HolderCertificates.id_for("111", fields["holder_id"]))
    assert index.identifiers == [certificate.identifier]
    [key] = node.certificates.public_keys()
    assert key.key_id == stored.signing_key_id


def test_a_serial_issued_before_is_refused_and_a_drawn_one_is_fresh(node: Services) -> None:
    first = issue(node, serial="2430599")
    before = events(node)
    with pytest.raises(AlreadyExists, match="already issued"):
        issue(node, serial="2430599")
    assert events(node) == before
    drawn = issue(node)
    assert drawn.identifier != first.identifier
    assert CertificateIdentifier.parse(first.identifier).serial == "2430599"


def test_an_idempotent_retry_gets_the_first_certificate_and_a_reused_key_is_refused(node: Services) -> None:
    body = issue_fields(0, ISSUED_ON)
    request = Idempotency.for_request("issue", ACTOR, "retry-0001", body)
    first = node.certificates.issue(ACTOR, idempotency=request, **body)
    before = events(node)
    again = node.certificates.issue(ACTOR, idempotency=request, **body)
    assert again.identifier == first.identifier
    assert events(node) == before
    other = issue_fields(1, ISSUED_ON)
    reused = Idempotency.for_request("issue", ACTOR, "retry-0001", other)
    with pytest.raises(IdempotencyKeyReused):
        node.certificates.issue(ACTOR, idempotency=reused, **other)
    assert events(node) == before


def test_invalid_content_is_refused_naming_the_field(node: Services) -> None:
    before = events(node)
    with pytest.raises(InvalidField) as refused:
        issue(node, holder_id="310101198501150740")  # wrong check character
    assert refused.value.field == "holder_id"
    assert events(node) == before


def test_status_operations_follow_the_rules_and_the_history_names_who(
    node: Services, clock: FakeClock
) -> None:
    identifier = issue(node).identifier
    clock.advance(days=1)
    suspended = node.certificates.change_status(identifier, "suspend", ACTOR, reason="违法记分满12分")
    assert suspended.status is Status.SUSPENDED
    with pytest.raises(IllegalTransition):
        node.certificates.change_status(identifier, "suspend", ACTOR, reason="again")
    with pytest.raises(InvalidField, match="must be one of"):
        node.certificates.change_status(identifier, "shred", ACTOR, reason="no such operation")
    with pytest.raises(InvalidField, match="destination"):
        node.certificates.change_status(
            identifier, "release", ACTOR, reason="x", destination_province="320000"
        )
    node.certificates.change_status(identifier, "release", ACTOR, reason="学习考试合格")
    history = node.certificates.history(identifier)
    assert [(e.event, e.status, e.detail.get("operation")) for e in history] == [
        ("Issued", "VALID", None),
        ("StatusChanged", "SUSPENDED", "suspend"),
        ("StatusChanged", "VALID", "release"),
    ]
    assert {(e.office_code, e.operator_id) for e in history} == {(ACTOR.office_code, ACTOR.operator_id)}
    assert history[1].at == clock.now


def test_a_transfer_out_names_another_province(node: Services) -> None:
    identifier = issue(node).identifier
    with pytest.raises(InvalidField, match="another province"):
        node.certificates.change_status(
            identifier, "transfer_out", ACTOR, reason="迁出", destination_province="310000"
        )
    moved = node.certificates.change_status(
        identifier, "transfer_out", ACTOR, reason="迁出", destination_province="320000"
    )
    assert moved.status is Status.TRANSFERRED_OUT


def test_a_renewal_is_the_next_version_and_expires_its_predecessor(node: Services) -> None:
    old = issue(node)
    renewed = node.certificates.reissue(old.identifier, Link.RENEWED, ACTOR, valid_to="2050-01-01")
    parsed_old, parsed_new = (CertificateIdentifier.parse(i) for i in (old.identifier, renewed.identifier))
    assert parsed_new.serial == parsed_old.serial
    assert parsed_new.version == parsed_old.version + 1
    assert renewed.content.previous_identifier == old.identifier
    assert renewed.content.valid_to == "2050-01-01"
    predecessor = node.certificates.certificate(old.identifier)
    assert (predecessor.status, predecessor.successor_identifier) == (Status.EXPIRED, renewed.identifier)
    holder = issue_fields(0, ISSUED_ON)["holder_id"]
    listed = node.certificates.holder_certificates("111", holder)
    assert [c.identifier for c in listed] == [old.identifier, renewed.identifier]
    with pytest.raises(IllegalTransition, match="superseded"):
        node.certificates.reissue(old.identifier, Link.RENEWED, ACTOR)


def test_transfer_in_links_only_another_provinces_certificate_checked_at_its_origin(node: Services) -> None:
    """The transfer-in itself, checked and recorded at the origin: tests/integration/
    test_certificate_transitions_api.py (two nodes in one process) and tests/e2e (over the federation)."""
    here = issue(node).identifier
    before = events(node)
    with pytest.raises(InvalidField, match="undo-transfer-out") as refused:
        node.certificates.transfer_in(ACTOR, previous_identifier=here, **issue_fields(1, ISSUED_ON))
    assert refused.value.field == "previous_identifier"
    jiangsu = {"service_item_code": None, **sample_certificates("320000", 1, seed=7, today=TEST_DATE)[0]}
    foreign = CertificateContent.create(serial="7654321", **jiangsu).identifier  # issued in Jiangsu
    assert CertificateIdentifier.parse(foreign).issuing_province == "320000"
    with pytest.raises(InvalidField, match="checked at the origin province") as refused:
        node.certificates.transfer_in(ACTOR, previous_identifier=foreign, **issue_fields(1, ISSUED_ON))
    assert refused.value.field == "previous_identifier"
    assert events(node) == before


def test_lookups_refuse_unknown_and_malformed_identifiers_and_accept_any_case(node: Services) -> None:
    identifier = issue(node).identifier
    assert node.certificates.certificate(identifier.lower()).identifier == identifier
    other = CertificateIdentifier.parse(identifier).next_version()
    with pytest.raises(NotFound):
        node.certificates.certificate(str(other))
    with pytest.raises(NotFound):
        node.certificates.history(str(other))
    with pytest.raises(InvalidField) as refused:
        node.certificates.certificate("not-an-identifier")
    assert refused.value.field == "identifier"
    assert node.certificates.holder_certificates("111", "11010519491231002X") == []


def test_verify_answers_signed_with_the_status_as_of_an_instant(node: Services, clock: FakeClock) -> None:
    identifier = issue(node).identifier
    issued_at = clock.now
    clock.advance(days=2)
    node.certificates.change_status(identifier, "revoke", ACTOR, reason="吊销")
    [key] = node.certificates.public_keys()
    now = node.certificates.verify(identifier)
    assert key.verify(now.payload, now.signature)
    assert (now.assertion["authentic"], now.assertion["status"], now.assertion["problem"]) == (
        True,
        "REVOKED",
        None,
    )
    assert now.assertion["verified_at"] == clock.now.isoformat()
    then = node.certificates.verify(identifier, as_of=issued_at + timedelta(days=1))
    assert then.assertion["status"] == "VALID"
    before = node.certificates.verify(identifier, as_of=issued_at - timedelta(seconds=1))
    assert (before.assertion["authentic"], before.assertion["problem"]) == (False, "NOT_YET_ISSUED")


def test_verify_refuses_as_of_in_the_future_or_without_a_zone(node: Services, clock: FakeClock) -> None:
    identifier = issue(node).identifier
    with pytest.raises(InvalidField, match="future"):
        node.certificates.verify(identifier, as_of=clock.now + timedelta(minutes=1))
    with pytest.raises(InvalidField, match="time zone"):
        node.certificates.verify(identifier, as_of=datetime(2025, 9, 24, 9, 0))


def test_verify_reports_a_digest_mismatch_an_unknown_certificate_and_expiry(
    node: Services, clock: FakeClock
) -> None:
    fields = issue_fields(2, ISSUED_ON)  # a 居住证, valid for a limited time
    identifier = node.certificates.issue(ACTOR, **fields).identifier
    matched = node.certificates.verify(identifier, file_digest=fields["file_digest"])
    assert (matched.assertion["authentic"], matched.assertion["digest_checked"]) == (True, True)
    mismatch = node.certificates.verify(identifier, file_digest="sha256:" + "0" * 64)
    assert (mismatch.assertion["authentic"], mismatch.assertion["problem"]) == (False, "DIGEST_MISMATCH")
    unknown = node.certificates.verify(str(CertificateIdentifier.parse(identifier).next_version()))
    assert (unknown.assertion["problem"], unknown.assertion["status"]) == ("NOT_FOUND", None)
    clock.now = datetime.fromisoformat(f"{fields['valid_to']}T23:59:00+08:00")
    assert node.certificates.verify(identifier).assertion["status"] == "VALID"
    clock.advance(minutes=2)  # midnight in China: the certificate has lapsed
    assert node.certificates.verify(identifier).assertion["status"] == "EXPIRED"


def test_verify_for_a_peer_records_the_use_and_compares_the_holder_without_the_number(
    node: Services,
) -> None:
    fields = issue_fields(0, ISSUED_ON)
    identifier = node.certificates.issue(ACTOR, **fields).identifier
    digest = holder_digest("111", fields["holder_id"])
    answer = node.certificates.verify_for_peer(
        identifier, "320000", "CASE-1", "办理户口迁移", "310000:20200101:CONSENT-1", digest
    )
    assert answer is not None
    assert (answer.assertion["authentic"], answer.assertion["holder_matches"]) == (True, True)
    stranger = node.certificates.verify_for_peer(
        identifier,
        "330000",
        "CASE-2",
        "核验",
        "310000:20200101:CONSENT-2",
        holder_digest("111", "11010519491231002X"),
    )
    assert stranger is not None
    assert stranger.assertion["holder_matches"] is False
    uses = [e for e in node.certificates.history(identifier) if e.event == "Used"]
    assert [(u.office_code, u.operator_id, u.detail["case_reference"]) for u in uses] == [
        ("FEDERATION", "320000", "CASE-1"),
        ("FEDERATION", "330000", "CASE-2"),
    ]
    with pytest.raises(InvalidField) as refused:
        node.certificates.verify_for_peer(identifier, "31000", "CASE-3", "核验", "310000:20200101:CONSENT-3")
    assert refused.value.field == "requester_province"
    unknown = str(CertificateIdentifier.parse(identifier).next_version())
    assert (
        node.certificates.verify_for_peer(unknown, "320000", "CASE-4", "核验", "310000:20200101:CONSENT-4")
        is None
    )


def test_certificate_as_of_rebuilds_past_versions(node: Services, clock: FakeClock) -> None:
    identifier = issue(node).identifier
    issued_at = clock.now
    clock.advance(hours=1)
    node.certificates.change_status(identifier, "suspend", ACTOR, reason="暂扣")
    instants = (issued_at - timedelta(seconds=1), issued_at, clock.now)
    as_of = [node.certificates.certificate_as_of(identifier, t) for t in instants]
    assert [c.status if c else None for c in as_of] == [None, Status.VALID, Status.SUSPENDED]


def test_every_verification_in_the_province_is_a_use_with_purpose_and_consent(node: Services) -> None:
    identifier = node.certificates.issue(ACTOR, **issue_fields(0, ISSUED_ON)).identifier
    hotel = Actor("310000", "31-HOTEL-PLATFORM", "p-1")
    answer = node.certificates.verify_for_use(identifier, Use(hotel, UseChannel.REST, "住宿登记", CONSENT))
    assert answer.assertion["authentic"] is True
    [use] = [e for e in node.certificates.history(identifier) if e.event == "Used"]
    assert (use.office_code, use.operator_id) == ("31-HOTEL-PLATFORM", "p-1")
    assert use.detail == {
        "requester_province": "310000",
        "channel": "REST",
        "case_reference": None,
        "purpose": "住宿登记",
        "consent_reference": CONSENT,
    }


@pytest.mark.parametrize(
    ("use", "field"),
    [
        (Use(ACTOR, UseChannel.REST, "住宿登记", "AUTH-1"), "consent_reference"),
        (Use(ACTOR, UseChannel.GRPC, "", CONSENT), "purpose"),
        (Use(ACTOR, UseChannel.REST, "住宿登记", CONSENT, ""), "case_reference"),
    ],
)
def test_a_refused_use_writes_nothing_whether_or_not_the_certificate_is_here(
    node: Services, use: Use, field: str
) -> None:
    identifier = node.certificates.issue(ACTOR, **issue_fields(0, ISSUED_ON)).identifier
    unknown = str(CertificateIdentifier.parse(identifier).next_version())
    before = events(node)
    for target in (identifier, unknown):
        with pytest.raises(InvalidField) as refused:
            node.certificates.verify_for_use(target, use)
        assert refused.value.field == field
    with pytest.raises(InvalidField, match="as_of"):  # a bad question is refused before the use is recorded
        node.certificates.verify_for_use(
            identifier, Use(ACTOR, UseChannel.REST, "p", CONSENT), as_of=datetime(2099, 1, 1, tzinfo=UTC)
        )
    assert events(node) == before


def test_a_change_may_add_a_holder_who_then_finds_the_new_version_in_their_list(node: Services) -> None:
    first = issue(node)
    changed = node.certificates.reissue(
        first.identifier,
        Link.CHANGED,
        ACTOR,
        other_holders=[OTHER_HOLDER],
        file_digest="sha256:" + "e" * 64,
    )
    assert changed.content.other_holders == [OTHER_HOLDER]
    listed = node.certificates.holder_certificates(OTHER_HOLDER["id_type"], OTHER_HOLDER["id"])
    assert [c.identifier for c in listed] == [changed.identifier]
    holder = node.certificates.holder_certificates("111", first.content.holder_id)
    assert [c.identifier for c in holder] == [first.identifier, changed.identifier]
    assert node.certificates.verify(changed.identifier).assertion["authentic"] is True
