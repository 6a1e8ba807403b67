"""The application service on real stores: SQLite and PostgreSQL (the ``settings`` fixture runs both)."""

from __future__ import annotations

import base64
import dataclasses
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from aggregates.certificate import Link, Status
from aggregates.errors import IllegalTransition, InvalidField
from aggregates.identifiers import CertificateIdentifier
from node.application import AlreadyExists, NodeApplication, NotFound
from node.bootstrap import build_services, close_services
from node.certificates import CertificateService
from node.services import Services
from node.settings import Settings
from node.signing import Ed25519Signer, PublicKey
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


def test_transfer_out_and_in_link_across_provinces(services: Services) -> None:
    registry = services.certificates
    elsewhere = "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F"
    arrived = registry.transfer_in(
        ACTOR, previous_identifier=elsewhere, **{"service_item_code": None, **issue_body()}
    )
    assert (arrived.content.previous_identifier, arrived.content.link) == (elsewhere, "TRANSFERRED_IN")
    registry.change_status(
        arrived.identifier, "transfer_out", ACTOR, reason="迁出", destination_province="320000"
    )
    assert registry.certificate(arrived.identifier).status is Status.TRANSFERRED_OUT
    registry.change_status(arrived.identifier, "undo_transfer_out", ACTOR, reason="撤销迁出")
    assert registry.certificate(arrived.identifier).status is Status.VALID


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
        identifiers = list(pool.map(lambda _: registry.issue(ACTOR, **body).identifier, range(10)))
    listed = [c.identifier for c in registry.holder_certificates("111", body["holder_id"])]
    assert sorted(listed) == sorted(identifiers)
    assert len(set(listed)) == 10
    assert registry.holder_certificates("111", "11010519491231002X") == []
