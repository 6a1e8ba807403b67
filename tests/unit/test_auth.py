"""Bearer tokens: who the caller is, and what they may do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.auth import Forbidden, Principal, Role, TokenVerifier, Unauthenticated, mint_token
from node.signing import Ed25519Signer

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
        (f"Bearer {token(office='../etc')}", "office"),
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
