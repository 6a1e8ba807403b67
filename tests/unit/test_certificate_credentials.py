"""亮证 on the certificate: a credential is issued only of a certificate in force, never past its validity,
and is revoked on its own."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from aggregates.certificate import Certificate
from aggregates.clock import CHINA
from aggregates.errors import IllegalTransition, InvalidField
from tests.builders import ACTOR, T0, issued

CREDENTIAL, OTHER = "A" * 22, "B" * 22
DEVICE = "x" * 43


def test_a_credential_of_a_valid_certificate_is_recorded_with_its_entry() -> None:
    certificate = issued()
    certificate.issue_credential(CREDENTIAL, 7, DEVICE, T0 + timedelta(days=7), actor=ACTOR, at=T0)
    assert certificate.credentials == {CREDENTIAL: 7}
    [event] = certificate.collect_events()[-1:]
    assert isinstance(event, Certificate.CredentialIssued)
    assert (event.status_index, event.device_key_thumbprint, event.requester_province) == (
        7,
        DEVICE,
        "310000",
    )


@pytest.mark.parametrize(
    ("credential_id", "index", "device", "lasts", "field"),
    [
        ("short", 1, DEVICE, timedelta(days=1), "credential_id"),
        (CREDENTIAL + "\n", 1, DEVICE, timedelta(days=1), "credential_id"),
        (CREDENTIAL, -1, DEVICE, timedelta(days=1), "status_index"),
        (CREDENTIAL, 1, "not a thumbprint", timedelta(days=1), "device_key_thumbprint"),
        (CREDENTIAL, 1, DEVICE, timedelta(0), "expires_at"),
        (CREDENTIAL, 1, DEVICE, timedelta(days=100 * 365), "expires_at"),  # past the certificate's validity
    ],
)
def test_a_bad_credential_is_refused(
    credential_id: str, index: int, device: str, lasts: timedelta, field: str
) -> None:
    certificate = issued()
    with pytest.raises(InvalidField) as refused:
        certificate.issue_credential(credential_id, index, device, T0 + lasts, actor=ACTOR, at=T0)
    assert refused.value.field == field


def test_the_limit_is_the_end_of_the_last_valid_day_in_china() -> None:
    certificate = issued()
    assert certificate.content.valid_to is not None
    last_day = date.fromisoformat(certificate.content.valid_to)
    assert certificate.credential_limit(T0) == datetime.combine(last_day + timedelta(days=1), time(), CHINA)
    endless = issued(valid_to=None)
    assert endless.credential_limit(T0) == T0 + timedelta(days=365)  # refreshed, like any credential


def test_no_credential_of_a_certificate_not_in_force() -> None:
    certificate = issued()
    certificate.change_status("suspend", reason="暂扣", actor=ACTOR, at=T0)
    with pytest.raises(IllegalTransition):
        certificate.issue_credential(CREDENTIAL, 1, DEVICE, T0 + timedelta(days=1), actor=ACTOR, at=T0)


def test_a_credential_is_revoked_once_and_only_one_it_holds() -> None:
    certificate = issued()
    certificate.issue_credential(CREDENTIAL, 1, DEVICE, T0 + timedelta(days=1), actor=ACTOR, at=T0)
    certificate.revoke_credential(CREDENTIAL, "手机丢失", actor=ACTOR, at=T0)
    assert certificate.revoked_credentials == {CREDENTIAL}
    with pytest.raises(IllegalTransition):
        certificate.revoke_credential(CREDENTIAL, "again", actor=ACTOR, at=T0)
    with pytest.raises(InvalidField):
        certificate.revoke_credential(OTHER, "not its own", actor=ACTOR, at=T0)


def test_a_live_credential_of_its_device_is_refreshed_in_place_and_a_revoked_one_never() -> None:
    certificate = issued()
    certificate.issue_credential(CREDENTIAL, 1, DEVICE, T0 + timedelta(days=7), actor=ACTOR, at=T0)
    assert (certificate.live_credential(DEVICE), certificate.live_credential("y" * 43)) == (CREDENTIAL, None)
    later = T0 + timedelta(days=6)
    certificate.refresh_credential(CREDENTIAL, later + timedelta(days=7), actor=ACTOR, at=later)
    [event] = certificate.collect_events()[-1:]
    assert isinstance(event, Certificate.CredentialRefreshed)
    assert (event.credential_id, event.expires_at) == (CREDENTIAL, later + timedelta(days=7))
    assert certificate.credentials == {CREDENTIAL: 1}  # the same entry of the status list
    for expires_at in (later, T0 + timedelta(days=100 * 365)):  # not after now; past the certificate
        with pytest.raises(InvalidField):
            certificate.refresh_credential(CREDENTIAL, expires_at, actor=ACTOR, at=later)
    with pytest.raises(InvalidField):
        certificate.refresh_credential(OTHER, later + timedelta(days=1), actor=ACTOR, at=later)
    certificate.revoke_credential(CREDENTIAL, "手机丢失", actor=ACTOR, at=later)
    assert certificate.live_credential(DEVICE) is None
    with pytest.raises(IllegalTransition):
        certificate.refresh_credential(CREDENTIAL, later + timedelta(days=1), actor=ACTOR, at=later)


def test_no_refresh_of_a_credential_of_a_certificate_not_in_force() -> None:
    certificate = issued()
    certificate.issue_credential(CREDENTIAL, 1, DEVICE, T0 + timedelta(days=1), actor=ACTOR, at=T0)
    certificate.change_status("suspend", reason="暂扣", actor=ACTOR, at=T0)
    with pytest.raises(IllegalTransition):
        certificate.refresh_credential(CREDENTIAL, T0 + timedelta(days=1), actor=ACTOR, at=T0)
