"""Bad presentations at an offline verifier: each refused with its own reason, none accepted after any
mutation (Hypothesis), and a presentation of the reference wallet checked by an independent RFC 9901 check."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credentials import sd_jwt
from credentials.check import MAX_PRESENTATION_CHARS, Result, Verdict, check
from credentials.jose import DeviceKey, b64url, key_id_for
from credentials.policy import ScenarioPolicy
from credentials.requests import VerifierRequest
from credentials.status_list import StatusList, StatusListToken
from node.signing import Ed25519Signer
from tests.unit import rfc9901_reference
from wallet.wallet import Wallet

ID_CARD = "11100000000013338W001"
NOW = 1_800_000_000
ISSUER = Ed25519Signer.generate()  # a node's signer: key ids as the manifest's
HOTEL = ScenarioPolicy(
    "HOTEL_CHECK_IN", "宾馆旅馆住宿登记", {ID_CARD: frozenset({"holder_name", "holder_id"})}, 86_400, True
)
VERIFIER = DeviceKey.generate()
URI = "urn:tongban:status-list:340000"
CLAIMS = {"holder_name": "赵敏", "holder_id": "11010519491231002X", "number": "340104"}


def issuer_public() -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(ISSUER.public_key_pem().encode())
    assert isinstance(key, Ed25519PublicKey)
    return key


def credential(device: DeviceKey, index: int = 9) -> sd_jwt.SdJwt:
    clear = {
        "iss": "340000.node.tongban",
        "jti": "Zx8kq2Vw3m9Tt1YbQ0aP1w",
        "vct": ID_CARD,
        "cnf": {"jwk": device.jwk},
        "status": {"status_list": {"idx": index, "uri": URI}},
        "iat": NOW - 60,
        "exp": NOW + 3600,
        "valid_from": "2020-01-01",
        "valid_to": None,
    }
    return sd_jwt.issue(CLAIMS, clear, ISSUER)


def request() -> VerifierRequest:
    return VerifierRequest.new("330000.hotel-1", "HOTEL_CHECK_IN", ID_CARD, ("holder_name", "holder_id"), NOW)


DEVICE = DeviceKey.generate()
ASKED = request()
VALID = sd_jwt.present(
    credential(DEVICE), ASKED.claims, DEVICE, nonce=ASKED.nonce, audience=ASKED.verifier, at=NOW
)
LIST = StatusListToken.sign(URI, StatusList(131_072), at=NOW - 60, ttl=3600, signer=ISSUER)


def verdict(text: str, asked: VerifierRequest = ASKED) -> Result:
    keys = {"340000.node.tongban": {key_id_for(issuer_public()): issuer_public()}}
    return check(
        text,
        asked,
        issuer_keys=keys.get,
        status_lists={URI: LIST},
        policy=HOTEL,
        seen_nonce=lambda nonce: False,
        now=NOW,
    )


def resigned(header: dict[str, Any], payload_of: str, signature: bytes) -> str:
    """``VALID`` with its issuer JWT's header replaced and signed otherwise."""
    _, payload, _ = payload_of.split("~", maxsplit=1)[0].split(".")
    protected = b64url(json.dumps(header).encode())
    return f"{protected}.{payload}.{b64url(signature)}~" + "~".join(payload_of.split("~")[1:])


def test_the_valid_presentation_is_accepted() -> None:
    assert verdict(VALID).verdict is Verdict.ACCEPT


def test_alg_none_hmac_with_the_public_key_and_other_algorithms_are_refused() -> None:
    public_pem = ISSUER.public_key_pem().encode()
    _, payload, _ = VALID.split("~", maxsplit=1)[0].split(".")
    signing_input = f"{b64url(json.dumps({'alg': 'HS256', 'typ': 'dc+sd-jwt'}).encode())}.{payload}"
    hmac_signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    for alg, signature in (("none", b""), ("HS256", hmac_signature), ("ES256", b"\x00" * 64)):
        text = resigned(
            {"alg": alg, "typ": "dc+sd-jwt", "kid": key_id_for(issuer_public())}, VALID, signature
        )
        assert verdict(text).reason == "ALGORITHM_NOT_ALLOWED", alg


def test_a_header_with_extensions_the_verifier_must_understand_is_refused_though_signed() -> None:
    header = {
        "alg": "EdDSA",
        "typ": "dc+sd-jwt",
        "kid": key_id_for(issuer_public()),
        "crit": ["b64"],
        "b64": True,
    }
    _, payload, _ = VALID.split("~", maxsplit=1)[0].split(".")
    signature = ISSUER.sign(f"{b64url(json.dumps(header).encode())}.{payload}".encode())
    assert verdict(resigned(header, VALID, signature)).reason == "MALFORMED_TOKEN"


def test_an_issuer_not_in_the_manifest_and_a_key_it_does_not_list_are_refused_apart() -> None:
    stranger = Ed25519Signer.generate()
    forged = sd_jwt.issue(CLAIMS, {**credential(DEVICE).payload(), "iss": "990000.node.tongban"}, stranger)
    unknown = sd_jwt.present(forged, ASKED.claims, DEVICE, nonce=ASKED.nonce, audience=ASKED.verifier, at=NOW)
    assert verdict(unknown).reason == "UNKNOWN_ISSUER"
    other_key = sd_jwt.issue(CLAIMS, credential(DEVICE).payload(), stranger)
    unlisted = sd_jwt.present(
        other_key, ASKED.claims, DEVICE, nonce=ASKED.nonce, audience=ASKED.verifier, at=NOW
    )
    assert verdict(unlisted).reason == "UNKNOWN_ISSUER_KEY"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("!!!.???.***~x", "MALFORMED_TOKEN"),
        (VALID.split("~")[0] + "~not*base64~" + VALID.split("~")[-1], "DISCLOSURE_MALFORMED"),
        (VALID.split("~")[0] + f"~{b64url(b'{not json')}~" + VALID.split("~")[-1], "DISCLOSURE_MALFORMED"),
        ("x" * (MAX_PRESENTATION_CHARS + 1), "PRESENTATION_TOO_LARGE"),
        (VALID.split("~")[0] + "~", "NO_KEY_BINDING"),
    ],
)
def test_malformed_and_oversized_presentations_are_refused(text: str, reason: str) -> None:
    assert verdict(text).reason == reason


def test_a_signature_in_a_non_canonical_encoding_is_refused() -> None:
    """The last character of a base64url signature carries spare bits: a lenient decoder reads "x" as "w"."""
    issuer_jwt, rest = VALID.split("~", 1)
    last = issuer_jwt[-1]
    spare = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    altered = spare[spare.index(last) ^ 1]  # the same four data bits, a spare bit set or cleared
    assert verdict(f"{issuer_jwt[:-1]}{altered}~{rest}").reason == "MALFORMED_TOKEN"


def test_a_status_index_out_of_the_list_is_refused() -> None:
    beyond = credential(DEVICE, index=131_072)
    text = sd_jwt.present(beyond, ASKED.claims, DEVICE, nonce=ASKED.nonce, audience=ASKED.verifier, at=NOW)
    assert verdict(text).reason == "STATUS_INDEX_OUT_OF_RANGE"


def test_a_request_for_claims_the_scenario_does_not_allow_is_refused() -> None:
    greedy = replace(ASKED, claims=("holder_name", "holder_id", "number"))
    text = sd_jwt.present(
        credential(DEVICE), greedy.claims, DEVICE, nonce=greedy.nonce, audience=greedy.verifier, at=NOW
    )
    assert verdict(text, greedy).reason == "CLAIMS_NOT_ALLOWED"


def _mutated(data: st.DataObject) -> str:
    kind = data.draw(st.sampled_from(["flip", "drop", "swap", "insert", "truncate"]))
    text = VALID
    if kind == "flip":
        at = data.draw(st.integers(0, len(text) - 1))
        replacement = data.draw(st.sampled_from("AQgw_-~.x0=+/ \u00e9"))
        return text[:at] + replacement + text[at + 1 :]
    parts = text.split("~")
    if kind == "drop":
        del parts[data.draw(st.integers(0, len(parts) - 1))]
    elif kind == "swap":
        i, j = data.draw(st.integers(0, len(parts) - 1)), data.draw(st.integers(0, len(parts) - 1))
        parts[i], parts[j] = parts[j], parts[i]
    elif kind == "insert":
        extra = credential(DEVICE).disclosures[2].encoded  # a real disclosure of another issue
        parts.insert(data.draw(st.integers(1, len(parts) - 1)), extra)
    else:
        return text[: data.draw(st.integers(0, len(text) - 1))]
    return "~".join(parts)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_no_mutation_of_a_presentation_is_accepted_nor_crashes_the_verifier(data: st.DataObject) -> None:
    text = _mutated(data)
    if text == VALID:
        return
    assert verdict(text).verdict is Verdict.REFUSE


def test_a_presentation_of_the_reference_wallet_passes_an_independent_rfc_9901_check(tmp_path: Path) -> None:
    wallet = Wallet.create(tmp_path / "wallet")
    wallet.keep_trust(
        [{"verifier_id": ASKED.verifier, "scenarios": ["HOTEL_CHECK_IN"], "jwk": VERIFIER.jwk}],
        [HOTEL.to_json()],
    )
    wallet.add(credential(wallet.device).serialise())
    shown = wallet.present(ASKED.sign(VERIFIER), NOW)
    claims = rfc9901_reference.check(shown.presentation, issuer_public(), ASKED.nonce, ASKED.verifier)
    assert claims == {"holder_name": "赵敏", "holder_id": "11010519491231002X"}
