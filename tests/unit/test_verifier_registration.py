"""A verifier's registration: validated when made or changed, and ended by a withdrawal."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aggregates.errors import IllegalTransition, InvalidField
from aggregates.responsibility import Actor
from aggregates.verifier import VerifierRegistration

AT = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
ZHEJIANG = Actor("330000", "ZJ-GA-01", "admin-1")
JWK = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}


def register(**changes: object) -> VerifierRegistration:
    arguments: dict[str, object] = {
        "verifier_id": "330000.hotel-desk-1",
        "organisation": "杭州某宾馆",
        "scenarios": ["HOTEL_CHECK_IN"],
        "jwk": JWK,
        "actor": ZHEJIANG,
        "at": AT,
        **changes,
    }
    return VerifierRegistration.register(**arguments)  # type: ignore[arg-type]


def test_a_registration_keeps_the_key_and_scenarios_under_an_id_from_the_verifier_id() -> None:
    registration = register()
    assert registration.id == VerifierRegistration.id_for("330000.hotel-desk-1")
    assert (registration.province, registration.scenarios, registration.jwk) == (
        "330000",
        ["HOTEL_CHECK_IN"],
        {"crv": "Ed25519", "kty": "OKP", "x": JWK["x"]},
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"verifier_id": "310000.hotel-desk-1"}, "verifier_id"),  # another province's prefix
        ({"verifier_id": "330000.Hotel"}, "verifier_id"),
        ({"organisation": " "}, "organisation"),
        ({"organisation": "a\x00b"}, "organisation"),
        ({"scenarios": []}, "scenarios"),
        ({"scenarios": ["HOTEL_CHECK_IN", "HOTEL_CHECK_IN"]}, "scenarios"),
        ({"scenarios": ["PAWNSHOP"]}, "scenarios"),
        ({"jwk": {**JWK, "crv": "P-256"}}, "jwk"),
        ({"jwk": {**JWK, "d": JWK["x"]}}, "jwk"),  # a private key is never registered
        ({"jwk": {**JWK, "x": "short"}}, "jwk"),
        ({"jwk": "not an object"}, "jwk"),
    ],
)
def test_a_bad_registration_is_refused_naming_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidField) as refused:
        register(**changes)
    assert refused.value.field == field


def test_a_new_key_replaces_the_old_and_a_withdrawn_registration_changes_no_more() -> None:
    registration = register()
    other = {**JWK, "x": "A" * 43}
    registration.change(["HOTEL_CHECK_IN", "ROAD_CHECK"], other, ZHEJIANG, AT)
    assert (registration.public_key_x, registration.scenarios) == ("A" * 43, ["HOTEL_CHECK_IN", "ROAD_CHECK"])
    registration.withdraw(ZHEJIANG, AT)
    with pytest.raises(IllegalTransition):
        registration.change(["HOTEL_CHECK_IN"], JWK, ZHEJIANG, AT)
    with pytest.raises(IllegalTransition):
        registration.withdraw(ZHEJIANG, AT)
