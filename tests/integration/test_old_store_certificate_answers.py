"""Certificates written by round 1's code (tests/fixtures/stores/round1; round 2's store holds none), opened
by today's code on both stores: no certificate event changed, and the new ones (``TransferAccepted``) only add
to a stream, so every old certificate answers 核验 with today's details and follows today's transitions."""

from __future__ import annotations

import uuid

from aggregates.certificate import ANSWER_DETAILS, NATIONAL_STATUS_CODES, Certificate, Status
from node.services import Services
from tests.integration.test_old_store_opens import HANDLER, old_store, opened

__all__ = ["old_store", "opened"]  # the fixtures of the round-1 store, shared with that module


def old_certificates(services: Services) -> list[Certificate]:
    recorder, repository = services.app.recorder, services.app.repository
    found: list[Certificate] = []
    position = 0
    while batch := recorder.select_notifications(start=position + 1, limit=200):
        for n in batch:
            if n.topic.endswith("Certificate.Issued"):
                found.append(repository.get(uuid.UUID(str(n.originator_id))))
        position = batch[-1].id
    return found


def test_every_old_certificate_answers_with_todays_details(opened: Services) -> None:
    certificates = old_certificates(opened)
    assert len(certificates) == 17
    for certificate in certificates:
        assertion = opened.certificates.verify(certificate.identifier).assertion
        assert set(ANSWER_DETAILS) <= assertion.keys()
        status = Status(assertion["status"])
        assert assertion["national_status_code"] == NATIONAL_STATUS_CODES.get(status, "99")
        assert assertion["valid_from"] == certificate.content.valid_from
        assert (assertion["successor_identifier"], assertion["destination_identifier"]) == (None, None)


def test_an_old_revoked_certificate_is_cancelled_today(opened: Services) -> None:
    """行政许可法 第70条 applies to what the old code revoked, too."""
    [revoked] = [c for c in old_certificates(opened) if c.status is Status.REVOKED]
    cancelled = opened.certificates.change_status(revoked.identifier, "cancel", HANDLER, reason="依法注销")
    assert cancelled.status is Status.CANCELLED
    history = opened.certificates.history(revoked.identifier)
    assert [e.status for e in history[-2:]] == [Status.REVOKED, Status.CANCELLED]
