"""SD-JWT (RFC 9901) with key binding: what a holder shows verifies, and each way of cheating is refused with
its own reason."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credentials import sd_jwt
from credentials.jose import DeviceKey, Invalid, b64url, sha256_b64url, sign_compact, unb64url
from credentials.sd_jwt import Disclosure, SdJwt

ISSUER = DeviceKey.generate()  # stands in for a node's signer: same interface
DEVICE = DeviceKey.generate()
CLAIMS = {
    "holder_name": "赵敏",
    "holder_id": "11010519491231002X",
    "number": "310123",
    "valid_to": "2030-01-01",
}


def credential(device: DeviceKey = DEVICE, claims: dict[str, str] = CLAIMS) -> SdJwt:
    always = {
        "iss": "urn:tongban:310000",
        "vct": "11100000000013338W001",
        "cnf": {"jwk": device.jwk},
        "iat": 1,
    }
    return sd_jwt.issue(claims, always, ISSUER)


def shown(names: list[str], **changes: object) -> str:
    options = {"nonce": "n-1", "audience": "verifier-1", "at": 1_800_000_000, **changes}
    return sd_jwt.present(credential(), names, DEVICE, **options)  # type: ignore[arg-type]


def refusal(text: str) -> str:
    with pytest.raises(Invalid) as refused:
        sd_jwt.verify_presentation(text, ISSUER.private_key.public_key())
    return refused.value.code


def test_a_presentation_shows_only_the_chosen_claims_bound_to_nonce_and_audience() -> None:
    checked = sd_jwt.verify_presentation(shown(["holder_name", "holder_id"]), ISSUER.private_key.public_key())
    assert checked.disclosed == {"holder_name": "赵敏", "holder_id": "11010519491231002X"}
    assert (checked.binding["nonce"], checked.binding["aud"]) == ("n-1", "verifier-1")
    assert checked.payload["vct"] == "11100000000013338W001"
    assert "number" not in json.dumps(checked.payload)  # undisclosed claims appear as digests only


@given(st.sets(st.sampled_from(sorted(CLAIMS))))
def test_any_subset_of_claims_verifies_as_exactly_that_subset(names: set[str]) -> None:
    checked = sd_jwt.verify_presentation(shown(sorted(names)), ISSUER.private_key.public_key())
    assert checked.disclosed == {name: CLAIMS[name] for name in names}


def test_the_issuer_signs_digests_never_the_values() -> None:
    issued = credential()
    body = issued.payload()
    assert len(body["_sd"]) == len(CLAIMS)
    assert body["_sd"] == sorted(body["_sd"])
    assert not any(value in issued.issuer_jwt for value in CLAIMS.values())
    assert SdJwt.parse(issued.serialise()) == issued


def test_a_tampered_disclosure_fails_its_digest() -> None:
    issuer_jwt, rest = shown(["holder_name"]).split("~", 1)
    salt, name, _ = json.loads(unb64url(rest.split("~")[0]))
    forged = b64url(json.dumps([salt, name, "张三"], ensure_ascii=False).encode())
    text = "~".join([issuer_jwt, forged, ""]) + rest.split("~")[-1]
    assert refusal(text) == "DISCLOSURE_DIGEST_MISMATCH"


def test_a_disclosure_from_another_credential_fails_its_digest() -> None:
    other = credential(claims={"points": "12"})
    issuer_jwt, *_ = shown([]).split("~")
    text = f"{issuer_jwt}~{other.disclosures[0].encoded}~"
    binding = sign_compact(
        {"typ": "kb+jwt"},
        {"iat": 1, "aud": "verifier-1", "nonce": "n-1", "sd_hash": sha256_b64url(text)},
        DEVICE,
    )
    assert refusal(text + binding) == "DISCLOSURE_DIGEST_MISMATCH"


def test_a_repeated_disclosure_is_refused() -> None:
    issued = credential()
    name = issued.disclosures[0]
    text = f"{issued.issuer_jwt}~{name.encoded}~{name.encoded}~"
    binding = sign_compact(
        {"typ": "kb+jwt"},
        {"iat": 1, "aud": "v", "nonce": "n", "sd_hash": sha256_b64url(text)},
        DEVICE,
    )
    assert refusal(text + binding) == "DISCLOSURE_REPEATED"


def test_a_copy_without_the_device_key_cannot_be_presented() -> None:
    thief = DeviceKey.generate()
    stolen = sd_jwt.present(credential(), ["holder_name"], thief, nonce="n", audience="v", at=1)
    assert refusal(stolen) == "KEY_BINDING_SIGNATURE_INVALID"


def test_a_key_binding_moved_to_other_disclosures_is_refused() -> None:
    binding = shown(["holder_name"]).split("~")[-1]
    other = shown(["holder_id"])
    assert refusal(other[: -len(other.split("~")[-1])] + binding) == "KEY_BINDING_MISMATCH"


def test_a_presentation_without_key_binding_is_refused() -> None:
    assert refusal(credential().serialise()) == "NO_KEY_BINDING"


def test_another_issuers_signature_is_refused() -> None:
    forged = sd_jwt.issue(CLAIMS, {"cnf": {"jwk": DEVICE.jwk}}, DeviceKey.generate())
    text = sd_jwt.present(forged, ["holder_name"], DEVICE, nonce="n", audience="v", at=1)
    assert refusal(text) == "SIGNATURE_INVALID"


def test_an_unsigned_token_is_refused() -> None:
    header = b64url(json.dumps({"alg": "none", "typ": "dc+sd-jwt"}).encode())
    body = b64url(json.dumps({"_sd": [], "_sd_alg": "sha-256", "cnf": {"jwk": DEVICE.jwk}}).encode())
    text = f"{header}.{body}.~"
    binding = sign_compact({"typ": "kb+jwt"}, {"sd_hash": sha256_b64url(text)}, DEVICE)
    assert refusal(text + binding) == "ALGORITHM_NOT_ALLOWED"


@pytest.mark.parametrize(
    "encoded",
    [
        "not base64!",
        b64url(b"[1, 2]"),
        b64url(json.dumps(["salt", "_sd", "x"]).encode()),
        b64url(json.dumps(["salt", "cnf", {}]).encode()),
    ],
)
def test_a_malformed_disclosure_is_refused(encoded: str) -> None:
    with pytest.raises(Invalid) as refused:
        Disclosure.parse(encoded)
    assert refused.value.code == "DISCLOSURE_MALFORMED"
