"""The scenarios ask each certificate type only for claims its credential discloses, and a type discloses only
metadata a certificate has."""

from __future__ import annotations

from aggregates.certificate import DECLARED_FIELDS
from aggregates.certificate_types import CERTIFICATE_TYPES, CREDENTIAL_CLAIMS, certificate_type
from aggregates.credential_scenarios import SCENARIOS


def test_every_scenario_asks_a_declared_type_only_for_claims_its_credential_discloses() -> None:
    for scenario in SCENARIOS:
        for type_code, claims in scenario.claims.items():
            declared = certificate_type(type_code)
            assert declared is not None, (scenario.code, type_code)
            assert claims <= set(declared.claims), (scenario.code, type_code, claims - set(declared.claims))


def test_every_type_discloses_certificate_metadata_it_may() -> None:
    assert set(CREDENTIAL_CLAIMS) <= set(DECLARED_FIELDS)
    for declared in CERTIFICATE_TYPES:
        assert declared.claims, declared.code
        assert set(declared.claims) <= set(CREDENTIAL_CLAIMS), declared.code
        assert len(set(declared.claims)) == len(declared.claims), declared.code
