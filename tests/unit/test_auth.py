"""Bearer tokens: who the caller is, and what they may do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.auth import Forbidden, Principal, Role, TokenVerifier, Unauthenticated, mint_token
from node.signing import (
    ED25519,
    VERIFIERS,
    Ed25519Signer,
    PublicKey,
    Signer,
    load_public_key,
    register_verifier,
)

ISSUER = Ed25519PrivateKey.generate()
VERIFIER = TokenVerifier(ISSUER.public_key())


def token(**overrides: object) -> str:
    now = datetime.now(UTC)
    claims = {
        "aud": "tongban",
        "sub": "op-001",
        "province": "310000",
        "office": "SH01",
        "role": "issuer",
        "iat": now,
        "exp": now + timedelta(hours=1),
        **overrides,
    }
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, ISSUER, algorithm="EdDSA")


def test_a_minted_token_names_the_actor() -> None:
    minted = mint_token(ISSUER, province="320000", office_code="JS01", operator_id="op-7", role=Role.HANDLER)
    principal = VERIFIER.verify(f"Bearer {minted}")
    assert principal == Principal("320000", "JS01", "op-7", Role.HANDLER)
    assert (principal.actor.office_code, principal.actor.operator_id) == ("JS01", "op-7")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "missing"),
        ("", "missing"),
        ("Token abc", "Bearer"),
        ("Bearer ", "Bearer"),
        (f"Bearer {token(exp=datetime.now(UTC) - timedelta(hours=1))}", "expired"),
        (f"Bearer {token(aud='someone-else')}", "invalid"),
        (f"Bearer {token(exp=None)}", "invalid"),
        (f"Bearer {token(role='superuser')}", "role"),
        (f"Bearer {token(province='31')}", "province"),
        (f"Bearer {token(province='190000')}", "province"),  # six digits ending 0000, but no such province
        (f"Bearer {token(province='310100')}", "province"),  # a city, not a province
        (f"Bearer {token(province=' 310000')}", "province"),
        (f"Bearer {token(province=310000)}", "province"),
        (f"Bearer {token(office='../etc')}", "office"),
        ("Bearer " + token(office="SH01\n"), "office"),  # "$" would let a trailing newline into the logs
        ("Bearer " + token(sub="op-1\n"), "sub"),
        (
            "Bearer "
            + jwt.encode(
                {"aud": "tongban", "sub": "x", "iat": 1, "exp": 4102444800},
                Ed25519PrivateKey.generate(),
                algorithm="EdDSA",
            ),
            "invalid",
        ),
        (
            "Bearer "
            + jwt.encode(
                {"aud": "tongban", "sub": "x"}, "secret-hmac-key-of-32-bytes-long!", algorithm="HS256"
            ),
            "invalid",
        ),
    ],
)
def test_bad_tokens_are_unauthenticated(header: str | None, message: str) -> None:
    with pytest.raises(Unauthenticated, match=message):
        VERIFIER.verify(header)


def test_roles_and_provinces_are_enforced() -> None:
    principal = Principal("310000", "SH01", "op-1", Role.WINDOW)
    principal.require(Role.WINDOW, Role.ISSUER, province="310000")
    with pytest.raises(Forbidden, match="role window"):
        principal.require(Role.ISSUER)
    with pytest.raises(Forbidden, match="only province 320000"):
        principal.require(Role.WINDOW, province="320000")


def test_signatures_verify_only_the_signed_bytes() -> None:
    signer = Ed25519Signer.generate()
    key = signer.public_key()
    signature = signer.sign(b"payload")
    assert key.verify(b"payload", signature)
    assert not key.verify(b"payloaD", signature)
    assert not Ed25519Signer.generate().public_key().verify(b"payload", signature)


def test_a_principal_logs_ids_only() -> None:
    principal = Principal("310000", "SH01", "op-1", Role.ISSUER)
    assert principal.log_context() == {
        "province": "310000",
        "office_code": "SH01",
        "operator_id": "op-1",
        "role": "issuer",
    }


def test_verification_dispatches_on_the_algorithm_through_the_registry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another algorithm (SM2) plugs in by registering a verifier; an unregistered one never verifies."""
    monkeypatch.setitem(
        VERIFIERS, "TEST-ALG", lambda pem, payload, signature: signature == pem.encode() + payload
    )
    key = PublicKey("TEST-ALG", "k1", "pem")
    assert key.verify(b"payload", b"pempayload")
    assert not key.verify(b"payload", b"other")
    assert not PublicKey("SM2", "k1", "pem").verify(b"payload", b"pempayload")  # nothing registered for SM2
    signer = Ed25519Signer.generate()
    ed_key = signer.public_key()
    assert ed_key.verify(b"payload", signer.sign(b"payload"))
    monkeypatch.setitem(VERIFIERS, ED25519, lambda pem, payload, signature: False)
    assert not ed_key.verify(b"payload", signer.sign(b"payload"))  # proves verify() goes through the registry
    register_verifier("TEST-ALG-2", lambda pem, payload, signature: True)
    try:
        assert PublicKey("TEST-ALG-2", "k2", "").verify(b"", b"")
    finally:
        del VERIFIERS["TEST-ALG-2"]


def test_a_malformed_key_or_signature_is_simply_not_valid() -> None:
    signer = Ed25519Signer.generate()
    assert not PublicKey(ED25519, signer.key_id, "not a pem").verify(b"payload", signer.sign(b"payload"))
    assert not signer.public_key().verify(b"payload", b"short")


def test_a_signer_exposes_its_public_key_and_a_retired_key_loads_from_its_pem(tmp_path: Path) -> None:
    signer: Signer = Ed25519Signer.generate()
    key = signer.public_key()
    assert (key.algorithm, key.key_id) == (signer.algorithm, signer.key_id)
    (tmp_path / "old.pub").write_text(signer.public_key_pem())
    loaded = load_public_key(tmp_path / "old.pub")
    assert loaded == key
    assert loaded.verify(b"payload", signer.sign(b"payload"))
    (tmp_path / "private.pem").write_bytes(Ed25519Signer.generate().private_key_pem())
    (tmp_path / "garbage.pub").write_text("hello")
    for bad in ("private.pem", "garbage.pub"):
        with pytest.raises(ValueError, match=bad):
            load_public_key(tmp_path / bad)


class _Counted:
    """jwt.decode, counting its calls: whether a token's signature was checked again."""

    def __init__(self) -> None:
        self.calls = 0
        self._decode = jwt.decode

    def __call__(self, *args: object, **kwargs: object) -> object:
        self.calls += 1
        return self._decode(*args, **kwargs)  # type: ignore[arg-type]


def test_a_verified_token_is_kept_until_its_exp_and_then_checked_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decode = _Counted()
    monkeypatch.setattr("node.auth.jwt.decode", decode)
    now = [datetime.now(UTC).timestamp()]
    verifier = TokenVerifier(ISSUER.public_key(), leeway_s=30, clock=lambda: now[0])
    minted = token(exp=datetime.fromtimestamp(now[0], UTC) + timedelta(minutes=5))
    first = verifier.verify(f"Bearer {minted}")
    assert verifier.verify(f"Bearer  {minted} ") == first
    assert decode.calls == 1  # the second request's signature was not checked again
    now[0] += 5 * 60 + 29  # within the leeway after exp
    verifier.verify(f"Bearer {minted}")
    assert decode.calls == 1
    now[0] += 2  # past exp and the leeway: checked again (and PyJWT, on the machine's clock, still takes it)
    verifier.verify(f"Bearer {minted}")
    assert decode.calls == 2


def test_a_token_that_does_not_verify_is_never_kept_and_the_kept_ones_are_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decode = _Counted()
    monkeypatch.setattr("node.auth.jwt.decode", decode)
    verifier = TokenVerifier(ISSUER.public_key(), cache_size=2)
    forged = jwt.encode(
        {"aud": "tongban", "sub": "op", "province": "310000", "office": "SH01", "role": "issuer",
         "iat": datetime.now(UTC), "exp": datetime.now(UTC) + timedelta(hours=1)},
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
    )  # fmt: skip
    for _ in range(2):
        with pytest.raises(Unauthenticated, match="signature"):
            verifier.verify(f"Bearer {forged}")
    assert decode.calls == 2
    first, second, third = (token(sub=f"op-{n}") for n in range(3))
    for minted in (first, second, third, third, first):  # the third pushed the first out: checked again
        verifier.verify(f"Bearer {minted}")
    assert decode.calls == 2 + 4
