"""The offline verdict on a presentation, and the wallet's reading of a verifier's request: each refusal has
its own reason, and nothing needs a network."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from credentials import sd_jwt
from credentials.check import Result, Verdict, check
from credentials.jose import DeviceKey, Invalid
from credentials.policy import ScenarioPolicy
from credentials.requests import VerifierRequest, read_request
from credentials.status_list import CredentialStatus, StatusList, StatusListToken

ID_CARD, DRIVING_LICENCE = "11100000000013338W001", "11100000000013127D002"
NOW = 1_800_000_000  # 2027-01-15 in China: a fixed instant, never the machine's clock
ISSUER, DEVICE, VERIFIER = DeviceKey.generate(), DeviceKey.generate(), DeviceKey.generate()
LIST_URI = "urn:tongban:340000:status"
HOTEL = ScenarioPolicy(
    "HOTEL_CHECK_IN",
    "宾馆旅馆住宿登记",
    {ID_CARD: frozenset({"holder_name", "holder_id"})},
    max_status_age_s=86_400,
    accept_stale=True,
)
CLAIMS = {"holder_name": "赵敏", "holder_id": "11010519491231002X", "number": "340104", "issuer_name": "合肥"}


def issued(**always: Any) -> sd_jwt.SdJwt:
    clear = {
        "iss": "urn:tongban:340000",
        "jti": "cred-1",
        "vct": ID_CARD,
        "cnf": {"jwk": DEVICE.jwk},
        "status": {"status_list": {"idx": 7, "uri": LIST_URI}},
        "iat": NOW - 3600,
        "exp": NOW + 86_400,
        "valid_from": "2020-01-01",
        "valid_to": "2040-01-01",
        **always,
    }
    return sd_jwt.issue(CLAIMS, clear, ISSUER)


def request(**changes: Any) -> VerifierRequest:
    made = VerifierRequest.new(
        "hotel-desk-1", "HOTEL_CHECK_IN", ID_CARD, ("holder_name", "holder_id"), NOW - 10
    )
    return replace(made, **changes)


def status_list(status: CredentialStatus = CredentialStatus.VALID, age_s: int = 60) -> StatusListToken:
    entries = StatusList(131_072)
    entries[7] = status
    return StatusListToken.sign(LIST_URI, entries, at=NOW - age_s, ttl=3600, signer=ISSUER)


def verdict(
    presentation: str | None = None,
    asked: VerifierRequest | None = None,
    lists: dict[str, StatusListToken] | None = None,
    policy: ScenarioPolicy = HOTEL,
    seen: bool = False,
) -> Result:
    asked = asked or request()
    if presentation is None:
        presentation = sd_jwt.present(
            issued(), asked.claims, DEVICE, nonce=asked.nonce, audience=asked.verifier, at=NOW
        )
    return check(
        presentation,
        asked,
        issuer_keys=lambda iss: (
            {ISSUER.key_id: ISSUER.private_key.public_key()} if iss == "urn:tongban:340000" else None
        ),
        status_lists={LIST_URI: status_list()} if lists is None else lists,
        policy=policy,
        seen_nonce=lambda nonce: seen,
        now=NOW,
    )


def show(credential: sd_jwt.SdJwt, names: tuple[str, ...], asked: VerifierRequest, **changes: Any) -> str:
    options = {"nonce": asked.nonce, "audience": asked.verifier, "at": NOW, **changes}
    return sd_jwt.present(credential, names, DEVICE, **options)


def test_a_valid_presentation_is_accepted_showing_only_what_was_asked_and_the_lists_age() -> None:
    result = verdict()
    assert (result.verdict, result.reason, result.status_list_age_s) == (Verdict.ACCEPT, "OK", 60)
    assert result.disclosed == {"holder_name": "赵敏", "holder_id": "11010519491231002X"}
    assert (result.issuer, result.credential_id) == ("urn:tongban:340000", "cred-1")


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("extra disclosure", "DISCLOSURE_NOT_REQUESTED"),
        ("missing claim", "CLAIM_MISSING"),
        ("wrong nonce", "WRONG_NONCE"),
        ("wrong audience", "WRONG_AUDIENCE"),
        ("old key binding", "PRESENTATION_NOT_FRESH"),
        ("credential expired", "CREDENTIAL_EXPIRED"),
        ("certificate lapsed", "CERTIFICATE_EXPIRED"),
        ("certificate not yet valid", "CERTIFICATE_NOT_YET_VALID"),
        ("another type", "WRONG_CERTIFICATE_TYPE"),
    ],
)
def test_each_fault_of_a_presentation_has_its_own_reason(case: str, reason: str) -> None:
    asked = request()
    presentations = {
        "extra disclosure": lambda: show(issued(), ("holder_name", "holder_id", "number"), asked),
        "missing claim": lambda: show(issued(), ("holder_name",), asked),
        "wrong nonce": lambda: show(issued(), asked.claims, asked, nonce="another"),
        "wrong audience": lambda: show(issued(), asked.claims, asked, audience="police-1"),
        "old key binding": lambda: show(issued(), asked.claims, asked, at=NOW - 3600),
        "credential expired": lambda: show(issued(exp=NOW - 3600), asked.claims, asked),
        "certificate lapsed": lambda: show(issued(valid_to="2026-12-31"), asked.claims, asked),
        "certificate not yet valid": lambda: show(issued(valid_from="2027-02-01"), asked.claims, asked),
        "another type": lambda: show(issued(vct=DRIVING_LICENCE), asked.claims, asked),
    }
    result = verdict(presentations[case](), asked)
    assert (result.verdict, result.reason) == (Verdict.REFUSE, reason)
    assert result.disclosed == {}


def test_the_same_nonce_twice_at_one_verifier_is_a_replay() -> None:
    assert verdict(seen=True).reason == "REPLAYED"


@pytest.mark.parametrize(
    ("status", "reason"), [(CredentialStatus.INVALID, "REVOKED"), (CredentialStatus.SUSPENDED, "SUSPENDED")]
)
def test_the_status_bit_refuses_a_revoked_or_suspended_certificate(
    status: CredentialStatus, reason: str
) -> None:
    result = verdict(lists={LIST_URI: status_list(status)})
    assert (result.verdict, result.reason, result.status_list_age_s) == (Verdict.REFUSE, reason, 60)


def test_a_stale_list_gives_accept_stale_where_the_policy_allows_it_and_a_refusal_where_not() -> None:
    stale = {LIST_URI: status_list(age_s=2 * 86_400)}
    assert (verdict(lists=stale).verdict, verdict(lists=stale).status_list_age_s) == (
        Verdict.ACCEPT_STALE,
        2 * 86_400,
    )
    strict = replace(HOTEL, accept_stale=False)
    assert verdict(lists=stale, policy=strict).reason == "STATUS_LIST_TOO_OLD"
    assert verdict(lists={}).reason == "NO_STATUS_LIST"


def test_an_issuer_key_the_manifest_does_not_list_is_refused() -> None:
    asked = request()
    forged = sd_jwt.issue(CLAIMS, {"iss": "urn:tongban:999999", "cnf": {"jwk": DEVICE.jwk}}, ISSUER)
    assert verdict(show(forged, asked.claims, asked), asked).reason == "UNKNOWN_ISSUER"


def _read(token: str, at: int = NOW) -> VerifierRequest:
    policies = {HOTEL.code: HOTEL}
    return read_request(
        token,
        lambda verifier, kid: VERIFIER.private_key.public_key() if verifier == "hotel-desk-1" else None,
        policies,
        at,
    )


def test_a_wallet_reads_a_signed_request_within_its_scenario() -> None:
    asked = request()
    assert _read(asked.sign(VERIFIER)) == asked


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (lambda: request(claims=("holder_name", "points")).sign(VERIFIER), "CLAIMS_NOT_ALLOWED"),
        (lambda: request(type_code=DRIVING_LICENCE).sign(VERIFIER), "CLAIMS_NOT_ALLOWED"),
        (lambda: request(scenario="ROAD_CHECK").sign(VERIFIER), "UNKNOWN_SCENARIO"),
        (lambda: request(verifier="someone-else").sign(VERIFIER), "UNKNOWN_VERIFIER"),
        (lambda: request().sign(DeviceKey.generate()), "SIGNATURE_INVALID"),
        (lambda: request(expires_at=NOW - 1).sign(VERIFIER), "REQUEST_EXPIRED"),
        (lambda: request(expires_at=NOW + 3600).sign(VERIFIER), "MALFORMED_REQUEST"),
        (lambda: "not.a.token", "MALFORMED_REQUEST"),
    ],
)
def test_a_wallet_refuses_a_request_it_may_not_answer(token: Any, reason: str) -> None:
    with pytest.raises(Invalid) as refused:
        _read(token())
    assert refused.value.code == reason
