"""Transitions by the law on the Certificate aggregate: 注销 after a lapse by date (行政许可法 第70条), the
origin's record of a transfer-in (迁入) and the undo it forbids, and the national status codes."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from aggregates.certificate import (
    NATIONAL_STATUS_CODES,
    RECORDED_STATUSES,
    Certificate,
    Status,
    holder_digest,
    national_status_code,
)
from aggregates.clock import CHINA
from aggregates.errors import IllegalTransition, InvalidField
from aggregates.identifiers import CertificateIdentifier
from tests.builders import ACTOR, T0, issued

JIANGSU, JIANGSU_ISSUER = "320000", "113200000135445419"  # an issuer whose credit code's division is 320000
ZHEJIANG_ISSUER = "11330000013544541D"


def transferred_out() -> Certificate:
    certificate = issued()
    certificate.change_status("transfer_out", reason="迁出", actor=ACTOR, at=T0, destination_province=JIANGSU)
    certificate.collect_events()
    return certificate


def destination_of(
    certificate: Certificate, issuer_code: str = JIANGSU_ISSUER, serial: str = "7654321"
) -> str:
    """A certificate of the same type issued in Jiangsu (an issuer code whose division is 320000)."""
    return str(CertificateIdentifier.build(certificate.content.type_code, issuer_code, serial, 1))


def holder(certificate: Certificate) -> str:
    return holder_digest(certificate.content.holder_id_type, certificate.content.holder_id)


def day_after(valid_to: str) -> datetime:
    return datetime.combine(date.fromisoformat(valid_to) + timedelta(days=1), time(9), CHINA)


def test_a_certificate_lapsed_by_date_may_be_cancelled_and_nothing_else() -> None:
    certificate = issued()
    certificate.collect_events()
    assert certificate.content.valid_to
    lapsed = day_after(certificate.content.valid_to)
    for operation in ("suspend", "transfer_out", "revoke"):
        destination = JIANGSU if operation == "transfer_out" else None
        with pytest.raises(IllegalTransition, match="it is EXPIRED"):
            certificate.change_status(
                operation, reason="r", actor=ACTOR, at=lapsed, destination_province=destination
            )
    certificate.change_status("cancel", reason="有效期届满未延续, 依法注销", actor=ACTOR, at=lapsed)
    [event] = certificate.collect_events()
    assert isinstance(event, Certificate.StatusChanged)
    assert (event.operation, event.status) == ("cancel", "CANCELLED")


def test_the_last_day_of_validity_is_still_valid_in_china() -> None:
    certificate = issued()
    assert certificate.content.valid_to
    last_day = datetime.combine(date.fromisoformat(certificate.content.valid_to), time(23, 30), CHINA)
    certificate.change_status("suspend", reason="暂扣", actor=ACTOR, at=last_day)
    assert certificate.status is Status.SUSPENDED


def test_the_origin_records_a_transfer_in_of_the_same_type_and_holder_once() -> None:
    certificate = transferred_out()
    destination = destination_of(certificate)
    assert certificate.accept_transfer(JIANGSU, destination, holder(certificate), T0) is True
    [event] = certificate.collect_events()
    assert isinstance(event, Certificate.TransferAccepted)
    assert (event.destination_province, event.destination_identifier) == (JIANGSU, destination)
    assert (certificate.status, certificate.destination_identifier) == (Status.TRANSFERRED_OUT, destination)
    assert certificate.accept_transfer(JIANGSU, destination.lower(), holder(certificate), T0) is False
    assert certificate.collect_events() == []
    with pytest.raises(IllegalTransition, match=r"transferred in already$"):
        certificate.accept_transfer(
            JIANGSU, destination_of(certificate, serial="1111111"), holder(certificate), T0
        )
    assert certificate.collect_events() == []


def test_no_undo_of_a_transfer_out_after_the_destination_transferred_in() -> None:
    certificate = transferred_out()
    destination = destination_of(certificate)
    certificate.accept_transfer(JIANGSU, destination, holder(certificate), T0)
    certificate.collect_events()
    with pytest.raises(IllegalTransition) as refused:
        certificate.change_status("undo_transfer_out", reason="撤回", actor=ACTOR, at=T0)
    assert str(refused.value) == (
        f"cannot undo_transfer_out {certificate.identifier}: "
        f"it is TRANSFERRED_OUT and transferred in as {destination}"
    )
    assert certificate.collect_events() == []


def test_a_transfer_in_is_refused_unless_transferred_out_to_that_province() -> None:
    valid = issued()
    valid.collect_events()
    with pytest.raises(IllegalTransition, match="it is VALID"):
        valid.accept_transfer(JIANGSU, destination_of(valid), holder(valid), T0)
    certificate = transferred_out()
    zhejiang = destination_of(certificate, ZHEJIANG_ISSUER)
    with pytest.raises(IllegalTransition, match=r"TRANSFERRED_OUT to another province$"):
        certificate.accept_transfer("330000", zhejiang, holder(certificate), T0)
    assert valid.collect_events() == []
    assert certificate.collect_events() == []


def test_a_transfer_in_must_keep_the_type_and_the_holder() -> None:
    certificate = transferred_out()
    other_type = str(CertificateIdentifier.build("11100000000013338W033", JIANGSU_ISSUER, "7654321", 1))
    with pytest.raises(InvalidField) as refused:
        certificate.accept_transfer(JIANGSU, other_type, holder(certificate), T0)
    assert refused.value.field == "type_code"
    with pytest.raises(InvalidField) as refused:
        certificate.accept_transfer(JIANGSU, destination_of(certificate), "0" * 64, T0)
    assert refused.value.field == "holder_id"
    shanghai_issued = destination_of(certificate, certificate.content.issuer_code)
    with pytest.raises(InvalidField) as refused:
        certificate.accept_transfer(JIANGSU, shanghai_issued, holder(certificate), T0)
    assert refused.value.field == "destination_identifier"
    assert certificate.collect_events() == []
    assert certificate.destination_identifier is None


def test_each_status_has_one_national_code_and_any_other_is_99() -> None:
    codes = [NATIONAL_STATUS_CODES[s] for s in RECORDED_STATUSES]
    assert codes == ["01", "02", "03", "04", "05", "06", "07"]
    assert national_status_code(Status.TRANSFERRED_OUT) == "07"
    assert national_status_code(Status.NOT_YET_VALID) == "99"  # read, never recorded: no national code
