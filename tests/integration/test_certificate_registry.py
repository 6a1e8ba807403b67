"""The application service on real stores: SQLite and PostgreSQL (the ``settings`` fixture runs both)."""

from __future__ import annotations

import base64
import dataclasses
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from aggregates.certificate import Link, Status
from aggregates.errors import IllegalTransition, InvalidField
from aggregates.identifiers import CertificateIdentifier
from node.bootstrap import build_services, close_services
from node.services import Services
from node.settings import Settings
from node.signing import Ed25519Signer, PublicKey, load_public_key
from node.store.application import AlreadyExists, NodeApplication, NotFound
from node.usecases.certificates import CertificateService
from tests.builders import ACTOR, issue_body


def issue(registry: CertificateService, n: int = 0, **overrides: object) -> str:
    body = {"service_item_code": None, **issue_body(n), **overrides}
    return registry.issue(ACTOR, **body).identifier


def event_count(services: Services) -> int:
    return services.app.recorder.max_notification_id() or 0


def test_issued_certificate_reads_back_after_reopening_the_store(settings: Settings) -> None:
    first = build_services(settings)
    identifier = issue(first.certificates)
    close_services(first)
    reopened = build_services(settings)
    try:
        certificate = reopened.certificates.certificate(identifier)
        assert certificate.status is Status.VALID
        assert certificate.content.holder_id == issue_body()["holder_id"]
        assert certificate.province == "310000"
    finally:
        close_services(reopened)


def test_status_operations_history_and_as_of(services: Services) -> None:
    registry = services.certificates
    identifier = issue(registry)
    registry.change_status(identifier, "suspend", ACTOR, reason="违法记分满12分")
    registry.change_status(identifier, "release", ACTOR, reason="学习考试合格")
    registry.change_status(identifier, "revoke", ACTOR, reason="吊销")
    entries = registry.history(identifier)
    assert [(e.event, e.status) for e in entries] == [
        ("Issued", "VALID"),
        ("StatusChanged", "SUSPENDED"),
        ("StatusChanged", "VALID"),
        ("StatusChanged", "REVOKED"),
    ]
    assert {(e.office_code, e.operator_id) for e in entries} == {("OFFICE01", "op-001")}
    for entry in entries:
        as_of = registry.certificate_as_of(identifier, entry.at)
        assert as_of is not None
        assert as_of.status.value == entry.status
    assert registry.certificate_as_of(identifier, entries[0].at - timedelta(seconds=1)) is None
    with pytest.raises(IllegalTransition):
        registry.change_status(identifier, "release", ACTOR, reason="too late")
    assert len(registry.history(identifier)) == 4


def test_verify_answers_are_signed_and_honest(services: Services) -> None:
    registry = services.certificates
    identifier = issue(registry)
    [key] = registry.public_keys()
    digest = issue_body()["file_digest"]

    def check(answer_identifier: str, **kwargs: object) -> dict[str, object]:
        signed = registry.verify(answer_identifier, **kwargs)  # type: ignore[arg-type]
        assert key.verify(signed.payload, signed.signature)
        assert signed.key_id == key.key_id
        return signed.assertion

    now = check(identifier, file_digest=digest)
    assert (now["authentic"], now["problem"], now["status"], now["digest_checked"]) == (
        True,
        None,
        "VALID",
        True,
    )
    mismatch = check(identifier, file_digest="sha256:" + "0" * 64)
    assert (mismatch["authentic"], mismatch["problem"]) == (False, "DIGEST_MISMATCH")
    unknown = str(CertificateIdentifier.parse(identifier).next_version())
    missing = check(unknown)
    assert (missing["authentic"], missing["problem"], missing["status"]) == (False, "NOT_FOUND", None)
    issued_at = registry.history(identifier)[0].at
    before = check(identifier, as_of=issued_at - timedelta(days=1))
    assert (before["authentic"], before["problem"]) == (False, "NOT_YET_ISSUED")
    registry.change_status(identifier, "suspend", ACTOR, reason="暂扣")
    assert check(identifier)["status"] == "SUSPENDED"
    assert check(identifier, as_of=issued_at)["status"] == "VALID"


def test_a_signature_that_does_not_match_the_key_is_not_authentic(
    services: Services, settings: Settings
) -> None:
    """Read the same store with a different public key under the same key id: every signature must fail."""
    identifier = issue(services.certificates)
    impostor = Ed25519Signer.generate()
    [real] = services.certificates.public_keys()
    wrong_key = PublicKey("Ed25519", real.key_id, impostor.public_key_pem())
    store = NodeApplication(env=settings.eventsourcing_env())
    reader = CertificateService(store, signer=impostor, public_keys=[wrong_key], province="310000")
    try:
        signed = reader.verify(identifier)
        assert (signed.assertion["authentic"], signed.assertion["problem"]) == (False, "SIGNATURE_INVALID")
        assert services.certificates.verify(identifier).assertion["authentic"] is True
    finally:
        store.close()


def test_certificate_signature_covers_the_content(services: Services) -> None:
    registry = services.certificates
    certificate = registry.certificate(issue(registry))
    [key] = registry.public_keys()
    signature = base64.b64decode(certificate.signature)
    assert key.verify(certificate.content.signing_payload(), signature)
    tampered = dataclasses.replace(certificate.content, holder_name="篡改")
    assert not key.verify(tampered.signing_payload(), signature)


def test_renew_and_change_chain_versions_and_supersede(services: Services) -> None:
    registry = services.certificates
    first = issue(registry)
    body = issue_body()
    renewed = registry.reissue(
        first,
        Link.RENEWED,
        ACTOR,
        issue_date=body["issue_date"],
        valid_from=body["valid_from"],
        valid_to="2040-01-01",
        file_digest="sha256:" + "1" * 64,
    )
    assert CertificateIdentifier.parse(renewed.identifier).version == 2
    assert (renewed.content.previous_identifier, renewed.content.link) == (first, "RENEWED")
    old = registry.certificate(first)
    assert (old.status, old.successor_identifier) == (Status.EXPIRED, renewed.identifier)
    changed = registry.reissue(
        renewed.identifier, Link.CHANGED, ACTOR, name="新名称", file_digest="sha256:" + "2" * 64
    )
    assert CertificateIdentifier.parse(changed.identifier).version == 3
    assert changed.content.name == "新名称"
    assert changed.content.valid_to == "2040-01-01"
    with pytest.raises(IllegalTransition):
        registry.reissue(first, Link.RENEWED, ACTOR, file_digest="sha256:" + "3" * 64)
    holder = registry.holder_certificates("111", body["holder_id"])
    assert [c.identifier for c in holder] == [first, renewed.identifier, changed.identifier]


def test_a_transfer_out_is_undone_until_the_destination_transfers_in(services: Services) -> None:
    """The transfer-in and the undo it forbids: tests/integration/test_certificate_transitions_api.py."""
    registry = services.certificates
    identifier = issue(registry)
    registry.change_status(identifier, "transfer_out", ACTOR, reason="迁出", destination_province="320000")
    moved = registry.certificate(identifier)
    assert (moved.status, moved.destination_province) == (Status.TRANSFERRED_OUT, "320000")
    registry.change_status(identifier, "undo_transfer_out", ACTOR, reason="撤销迁出")
    assert registry.certificate(identifier).status is Status.VALID


def test_refused_commands_write_nothing(services: Services) -> None:
    registry = services.certificates
    identifier = issue(registry)
    before = event_count(services)
    with pytest.raises(AlreadyExists):
        issue(registry, serial=CertificateIdentifier.parse(identifier).serial)
    with pytest.raises(InvalidField):
        issue(registry, holder_id="11010519491231002Y")
    with pytest.raises(IllegalTransition):
        registry.change_status(identifier, "release", ACTOR, reason="not suspended")
    with pytest.raises(NotFound):
        registry.change_status(
            str(CertificateIdentifier.parse(identifier).next_version()), "suspend", ACTOR, reason="r"
        )
    with pytest.raises(InvalidField):
        registry.certificate("not-an-identifier")
    assert event_count(services) == before


def test_holder_list_is_consistent_under_concurrent_issues(services: Services) -> None:
    """Ten threads issue to one holder at once; the holder index must list all ten, once each."""
    registry = services.certificates
    body = {"service_item_code": None, **issue_body()}
    with ThreadPoolExecutor(max_workers=5) as pool:
        identifiers = list(
            pool.map(lambda n: registry.issue(ACTOR, **{**body, "number": f"N-{n}"}).identifier, range(10))
        )
    listed = [c.identifier for c in registry.holder_certificates("111", body["holder_id"])]
    assert sorted(listed) == sorted(identifiers)
    assert len(set(listed)) == 10
    assert registry.holder_certificates("111", "11010519491231002X") == []


def test_a_certificate_signed_by_a_retired_key_verifies_while_that_key_is_configured(
    services: Services, settings: Settings
) -> None:
    """After a key rotation the retired public key keeps old certificates verifiable; without it they fail."""
    identifier = issue(services.certificates)  # signed by the node's current (soon retired) key
    retired = load_public_key(settings.signing_key.with_suffix(".pub"))
    [current] = services.certificates.public_keys()
    assert (retired.algorithm, retired.key_id) == (current.algorithm, current.key_id)
    successor = Ed25519Signer.generate()
    store = NodeApplication(env=settings.eventsourcing_env())
    try:
        rotated = CertificateService(
            store, signer=successor, public_keys=[successor.public_key(), retired], province="310000"
        )
        answer = rotated.verify(identifier)
        assert (answer.assertion["authentic"], answer.assertion["problem"]) == (True, None)
        assert answer.key_id == successor.key_id
        assert successor.public_key().verify(answer.payload, answer.signature)
        assert {k.key_id for k in rotated.public_keys()} == {successor.key_id, retired.key_id}
        forgotten = CertificateService(
            store, signer=successor, public_keys=[successor.public_key()], province="310000"
        )
        assert forgotten.verify(identifier).assertion["problem"] == "SIGNATURE_INVALID"
    finally:
        store.close()


def test_validity_ends_at_midnight_china_standard_time(settings: Settings) -> None:
    """valid_to 2026-03-01 lapses at 03-02 00:00 CST = 03-01 16:00 UTC, while the UTC date is still 03-01."""
    now = [datetime(2026, 3, 1, 1, 0, tzinfo=UTC)]
    services = build_services(settings, clock=lambda: now[0])
    try:
        registry = services.certificates
        identifier = issue(registry, issue_date="2026-01-01", valid_from="2026-01-01", valid_to="2026-03-01")
        last_cst_minute = datetime(2026, 3, 1, 15, 59, tzinfo=UTC)  # 23:59 CST on 03-01
        after_cst_midnight = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)  # 00:30 CST on 03-02, 03-01 in UTC
        now[0] = last_cst_minute
        assert registry.verify(identifier).assertion["status"] == "VALID"
        now[0] = after_cst_midnight
        assert registry.verify(identifier).assertion["status"] == "EXPIRED"
        now[0] = datetime(2026, 3, 9, tzinfo=UTC)
        assert registry.verify(identifier, as_of=last_cst_minute).assertion["status"] == "VALID"
        assert registry.verify(identifier, as_of=after_cst_midnight).assertion["status"] == "EXPIRED"
    finally:
        close_services(services)


def test_as_of_in_the_future_or_without_an_offset_is_refused(services: Services) -> None:
    registry = services.certificates
    identifier = issue(registry)
    for as_of in (datetime.now(UTC) + timedelta(minutes=5), datetime(2026, 1, 1)):
        with pytest.raises(InvalidField) as refused:
            registry.verify(identifier, as_of=as_of)
        assert refused.value.field == "as_of"


def test_every_entry_point_uses_the_canonical_identifier(services: Services) -> None:
    registry = services.certificates
    identifier = issue(registry)
    sloppy = f" {identifier.lower()}\t"
    assert registry.certificate(sloppy).identifier == identifier
    assert registry.verify(sloppy).assertion["identifier"] == identifier
    assert registry.change_status(sloppy, "suspend", ACTOR, reason="暂扣").identifier == identifier
    assert registry.certificate_as_of(sloppy, datetime.now(UTC)) is not None
    assert [e.event for e in registry.history(sloppy)] == ["Issued", "StatusChanged"]
    registry.change_status(sloppy, "release", ACTOR, reason="解除")
    renewed = registry.reissue(sloppy, Link.RENEWED, ACTOR, file_digest="sha256:" + "4" * 64)
    assert renewed.content.previous_identifier == identifier
    assert registry.history(identifier)[-1].status == "EXPIRED"
    assert registry.certificate(identifier).successor_identifier == renewed.identifier
