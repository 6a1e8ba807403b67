"""The aggregate's issuing rules and effective status: the catalogue's types, the issuer's province, the
issue date on the clock, validity rules, and transitions read at an instant."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from aggregates.certificate import Certificate, Status
from aggregates.certificate_number import CertificateNumber
from aggregates.certificate_types import CERTIFICATE_TYPES, HolderKind, certificate_type, holder_kind
from aggregates.errors import IllegalTransition, InvalidField
from aggregates.identifiers import CertificateIdentifier
from simulators.sample_data import credit_code
from tests.builders import ACTOR, T0, content, issued

MINISTRY = credit_code("100000", 5)  # a central body: division 100000
JIANGSU_ISSUER = credit_code("320000", 5)


def issue_at(at: datetime, listed: frozenset[str] = frozenset(), **overrides: Any) -> Certificate:
    return Certificate.issue(
        content(**overrides),
        signature="c2lnbmF0dXJl",
        signature_algorithm="Ed25519",
        signing_key_id="0011223344556677",
        actor=ACTOR,
        at=at,
        listed_issuers=listed,
    )


def test_the_catalogue_declares_each_type_once_with_a_valid_code() -> None:
    codes = [t.code for t in CERTIFICATE_TYPES]
    assert len(codes) == len(set(codes))
    assert all(certificate_type(code) is t for code, t in zip(codes, CERTIFICATE_TYPES, strict=True))
    assert certificate_type("11100000000013338W999") is None
    assert (holder_kind("111"), holder_kind("001")) == (HolderKind.PERSON, HolderKind.ORGANISATION)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"type_code": "11100000000013338W999"}, "type_code"),  # well formed, not in the catalogue
        ({"type_name": "身份证"}, "type_name"),  # not the catalogue's name of the type
        ({"definer": "公安厅"}, "definer"),
        ({"holder_id_type": "001", "holder_id": credit_code("310115", 3)}, "holder_id_type"),  # an ID card
        ({"type_code": "11100000000013338W041", "type_name": "居住证", "valid_to": None}, "valid_to"),
        ({"valid_from": "2000-01-01"}, "valid_from"),  # an ID card's validity starts when it is issued
    ],
)
def test_content_refuses_what_the_catalogue_does_not_allow(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidField) as refused:
        content(**overrides)
    assert refused.value.field == field


def test_a_business_licence_may_be_valid_before_it_is_issued() -> None:
    licence = content(
        type_code="11100000000014527B001",
        type_name="营业执照",
        definer="市场监管总局",
        holder_id_type="001",
        holder_id=credit_code("310115", 3, authority="9"),
        valid_from="2010-05-04",
        valid_to=None,
    )
    assert (licence.valid_from, licence.valid_to) == ("2010-05-04", None)


@pytest.mark.parametrize("issuer", [JIANGSU_ISSUER, MINISTRY])
def test_an_issuer_outside_the_province_is_refused_unless_listed(issuer: str) -> None:
    with pytest.raises(InvalidField) as refused:
        issue_at(T0, issuer_code=issuer)
    assert refused.value.field == "issuer_code"
    assert issue_at(T0, frozenset({issuer}), issuer_code=issuer).content.issuer_code == issuer


def test_a_central_issuers_identifier_names_no_province() -> None:
    certificate = issue_at(T0, frozenset({MINISTRY}), issuer_code=MINISTRY)
    assert CertificateIdentifier.parse(certificate.identifier).issuing_province is None
    assert CertificateIdentifier.parse(issued().identifier).issuing_province == "310000"


def test_the_issue_date_may_be_today_in_china_never_later() -> None:
    late_evening_utc = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)  # 2026-03-02 01:00 in China
    assert issue_at(late_evening_utc).content.issue_date == "2026-03-02"
    with pytest.raises(InvalidField) as refused:
        issue_at(datetime(2026, 3, 1, 15, 0, tzinfo=UTC))  # 23:00 on 03-01 in China
    assert refused.value.field == "issue_date"


def test_the_effective_status_on_a_day() -> None:
    certificate = issued(valid_from="2026-03-10", valid_to="2026-03-20")
    assert certificate.effective_status(date(2026, 3, 9)) is Status.NOT_YET_VALID
    assert certificate.effective_status(date(2026, 3, 10)) is Status.VALID
    assert certificate.effective_status(date(2026, 3, 20)) is Status.VALID
    assert certificate.effective_status(date(2026, 3, 21)) is Status.EXPIRED
    certificate.change_status("suspend", reason="暂扣", actor=ACTOR, at=T0)
    for day in (date(2026, 3, 9), date(2026, 3, 21)):  # a recorded status other than VALID is itself
        assert certificate.effective_status(day) is Status.SUSPENDED


def test_a_lapsed_certificate_cannot_be_suspended_or_transferred_out_and_its_expiry_can_be_recorded() -> None:
    lapsed_on = datetime(2026, 3, 21, 1, 0, tzinfo=UTC)
    for operation, destination in (("suspend", None), ("transfer_out", "320000")):
        certificate = issued(valid_to="2026-03-20")
        certificate.collect_events()
        with pytest.raises(IllegalTransition, match="it is EXPIRED"):
            certificate.change_status(
                operation, reason="依法处理", actor=ACTOR, at=lapsed_on, destination_province=destination
            )
        assert certificate.collect_events() == []
    certificate = issued(valid_to="2026-03-20")
    certificate.change_status("expire", reason="有效期届满", actor=ACTOR, at=lapsed_on)
    assert certificate.status is Status.EXPIRED


def test_a_certificate_not_yet_in_force_is_acted_on_as_recorded() -> None:
    certificate = issued(valid_from="2026-04-01", valid_to="2026-09-01")
    certificate.change_status("annul", reason="发证错误", actor=ACTOR, at=T0)
    assert certificate.status is Status.ANNULLED


def test_a_number_passes_only_from_the_certificate_that_holds_it() -> None:
    claim = CertificateNumber.claim("11100000000013338W001", JIANGSU_ISSUER, "N-1", "first", T0)
    assert claim.id == CertificateNumber.id_for("11100000000013338W001", JIANGSU_ISSUER, "N-1")
    with pytest.raises(IllegalTransition):
        claim.pass_on("someone else", "second", T0)
    claim.pass_on("first", "second", T0)
    assert claim.identifier == "second"
    assert all("N-1" not in str(vars(event)) for event in claim.collect_events())  # never the number
