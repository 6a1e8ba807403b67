"""The reference wallet: it keeps only credentials bound to its device, refuses a request it may not answer
before showing anything, shows only what is asked, and proves to the issuing node that it holds its key."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from credentials import sd_jwt
from credentials.jose import DeviceKey, Invalid
from credentials.policy import ScenarioPolicy
from credentials.proof import check_proof
from credentials.requests import VerifierRequest
from wallet.wallet import Wallet

ID_CARD, DRIVING_LICENCE = "11100000000013338W001", "11100000000013127D002"
NOW = 1_800_000_000
ISSUER, HOTEL_KEY = DeviceKey.generate(), DeviceKey.generate()
HOTEL = ScenarioPolicy(
    "HOTEL_CHECK_IN", "宾馆旅馆住宿登记", {ID_CARD: frozenset({"holder_name", "holder_id"})}, 3600, True
)
ROAD = ScenarioPolicy(
    "ROAD_CHECK", "机动车路面查验", {DRIVING_LICENCE: frozenset({"holder_name", "points"})}, 3600, False
)


@pytest.fixture
def wallet(tmp_path: Path) -> Wallet:
    made = Wallet.create(tmp_path / "wallet")
    made.keep_trust(
        [
            {"verifier_id": "hotel-desk-1", "scenarios": ["HOTEL_CHECK_IN"], "jwk": HOTEL_KEY.jwk},
        ],
        [HOTEL.to_json(), ROAD.to_json()],
    )
    made.add(credential(made, ID_CARD).serialise())
    made.add(credential(made, DRIVING_LICENCE, jti="licence-0002").serialise())
    return made


def credential(wallet: Wallet, type_code: str, jti: str = "idcard-00001") -> sd_jwt.SdJwt:
    claims = {"holder_name": "赵敏", "holder_id": "11010519491231002X", "points": "12"}
    clear = {
        "iss": "340000.node.tongban",
        "jti": jti,
        "vct": type_code,
        "cnf": {"jwk": wallet.device.jwk},
        "exp": NOW + 60,
    }
    return sd_jwt.issue(claims, clear, ISSUER)


def hotel_request(**changes: Any) -> VerifierRequest:
    asked = VerifierRequest.new("hotel-desk-1", "HOTEL_CHECK_IN", ID_CARD, ("holder_name", "holder_id"), NOW)
    return replace(asked, **changes)


def test_the_wallet_shows_only_what_the_request_asks_bound_to_its_nonce(wallet: Wallet) -> None:
    request = hotel_request()
    shown = wallet.present(request.sign(HOTEL_KEY), NOW)
    assert shown.disclosed == {"holder_name": "赵敏", "holder_id": "11010519491231002X"}
    checked = sd_jwt.verify_presentation(shown.presentation, ISSUER.private_key.public_key())
    assert checked.disclosed == shown.disclosed
    assert (checked.binding["nonce"], checked.binding["aud"]) == (request.nonce, "hotel-desk-1")


@pytest.mark.parametrize(
    ("request_token", "reason"),
    [
        # a hotel may not ask for a driving licence's points: its scenario is not the road check
        (
            lambda: hotel_request(
                scenario="ROAD_CHECK", type_code=DRIVING_LICENCE, claims=("holder_name", "points")
            ).sign(HOTEL_KEY),
            "SCENARIO_NOT_REGISTERED",
        ),
        (lambda: hotel_request(claims=("holder_name", "points")).sign(HOTEL_KEY), "CLAIMS_NOT_ALLOWED"),
        (lambda: hotel_request().sign(DeviceKey.generate()), "SIGNATURE_INVALID"),
        (lambda: hotel_request(verifier="unregistered").sign(HOTEL_KEY), "UNKNOWN_VERIFIER"),
        (lambda: hotel_request(expires_at=NOW - 1).sign(HOTEL_KEY), "REQUEST_EXPIRED"),
    ],
)
def test_a_request_it_may_not_answer_is_refused_before_anything_is_shown(
    wallet: Wallet, request_token: object, reason: str
) -> None:
    with pytest.raises(Invalid) as refused:
        wallet.present(request_token(), NOW)  # type: ignore[operator]
    assert refused.value.code == reason


def test_a_credential_bound_to_another_device_is_not_kept(wallet: Wallet, tmp_path: Path) -> None:
    other = Wallet.create(tmp_path / "other")
    with pytest.raises(Invalid, match="NOT_BOUND_TO_THIS_DEVICE"):
        wallet.add(credential(other, ID_CARD, jti="stolen-00001").serialise())
    assert len(wallet.credentials()) == 2


def test_the_proof_shows_the_device_key_to_its_node_only_fresh(wallet: Wallet) -> None:
    proof = wallet.proof("340000.node.tongban", NOW)
    jwk, nonce = check_proof(proof, "340000.node.tongban", NOW + 10)
    assert jwk == wallet.device.jwk
    assert len(nonce) >= 16
    for audience, at, reason in [
        ("310000.node.tongban", NOW, "PROOF_WRONG_AUDIENCE"),
        ("340000.node.tongban", NOW + 3600, "PROOF_NOT_FRESH"),
    ]:
        with pytest.raises(Invalid, match=reason):
            check_proof(proof, audience, at)
    header, payload, _ = proof.split(".")
    forged = f"{header}.{payload}.{DeviceKey.generate().sign(b'x').hex()}"
    with pytest.raises(Invalid, match="PROOF_"):
        check_proof(forged, "340000.node.tongban", NOW)
