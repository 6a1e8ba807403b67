"""Compact JWS for credentials, status lists and requests.

A node signs through its signer interface (``sign(bytes) -> bytes``), which may sit in a hardware module and
never hands out its key, so a token is assembled here: base64url header and payload, and the signer's
signature over them (RFC 7515 §7.1). A token is read here, strictly (three segments of canonical base64url,
JSON objects, no ``crit``), and its signature checked by PyJWT's EdDSA algorithm (RFC 8037, Ed25519), the
one algorithm the federation uses: a token naming another, ``none`` included, is refused before any check.
PyJWT's own reader is not used: it reads every segment again, character by character in Python, which cost
as much as the two signatures of an offline check (``benchmarks/offline_check.py``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm

ALGORITHM = "EdDSA"  # RFC 8037: Ed25519 keys sign as EdDSA
_SIGNER_ALGORITHMS = {"Ed25519": ALGORITHM}  # the node signer's name for it
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]*$")
_EDDSA = OKPAlgorithm()


class Invalid(Exception):
    """A token, key or encoding that does not check; ``code`` says which check, in our words."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class JwsSigner(Protocol):
    """What signs: the node's signer (``node/signing.py``) or a device key."""

    @property
    def algorithm(self) -> str: ...

    @property
    def key_id(self) -> str: ...

    def sign(self, payload: bytes) -> bytes: ...


@dataclass(frozen=True)
class DeviceKey:
    """A holder device's or a verifier's own Ed25519 key: a :class:`JwsSigner` that also shows its JWK."""

    private_key: Ed25519PrivateKey

    algorithm = "Ed25519"

    @classmethod
    def generate(cls) -> DeviceKey:
        return cls(Ed25519PrivateKey.generate())

    @property
    def key_id(self) -> str:
        return thumbprint(self.jwk)

    @property
    def jwk(self) -> dict[str, str]:
        return jwk_of(self.private_key.public_key())

    def sign(self, payload: bytes) -> bytes:
        return self.private_key.sign(payload)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    """Strict: base64url characters only, no padding; raises :class:`Invalid`."""
    if not _BASE64URL.fullmatch(text) or len(text) % 4 == 1:
        raise Invalid("BAD_ENCODING")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise Invalid("BAD_ENCODING") from None


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_b64url(text: str) -> str:
    return b64url(hashlib.sha256(text.encode("ascii")).digest())


def sign_compact(header: dict[str, Any], payload: dict[str, Any], signer: JwsSigner) -> str:
    try:
        alg = _SIGNER_ALGORITHMS[signer.algorithm]
    except KeyError:
        raise ValueError(f"no JWS algorithm for a {signer.algorithm} signer") from None
    protected = b64url(canonical({**header, "alg": alg, "kid": signer.key_id}))
    signing_input = f"{protected}.{b64url(canonical(payload))}"
    return f"{signing_input}.{b64url(signer.sign(signing_input.encode('ascii')))}"


def unverified_header(token: str) -> dict[str, Any]:
    """A token's protected header before its signature is checked: only to find which key checks it."""
    try:
        return _json_object(unb64url(token.split(".", 1)[0]))
    except Invalid:
        raise Invalid("MALFORMED_TOKEN") from None


def unverified_payload(token: str) -> dict[str, Any]:
    """A token's payload before its signature is checked: only to find which key checks it."""
    try:
        payload = json.loads(unb64url(token.split(".")[1]))
    except (Invalid, ValueError, IndexError):
        raise Invalid("MALFORMED_TOKEN") from None
    if not isinstance(payload, dict):
        raise Invalid("MALFORMED_TOKEN")
    return payload


def verify_compact(token: str, key: Ed25519PublicKey, typ: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and payload of a token signed by ``key``, of type ``typ``; raises :class:`Invalid`."""
    segments = token.split(".")
    if len(segments) != 3:
        raise Invalid("MALFORMED_TOKEN")
    protected, payload, signature = (unb64url(segment) for segment in segments)
    if any(
        b64url(raw) != segment for raw, segment in zip((protected, payload, signature), segments, strict=True)
    ):
        # one text per token: a decoder that forgives stray bits would accept altered signatures
        raise Invalid("MALFORMED_TOKEN")
    header = _json_object(protected)
    if header.get("alg") != ALGORITHM:  # none, HMAC with a public key, any other
        raise Invalid("ALGORITHM_NOT_ALLOWED")
    if "crit" in header:  # extensions a verifier must understand: we understand none
        raise Invalid("MALFORMED_TOKEN")
    if not _EDDSA.verify(f"{segments[0]}.{segments[1]}".encode("ascii"), key, signature):
        raise Invalid("SIGNATURE_INVALID")
    if header.get("typ") != typ:
        raise Invalid("WRONG_TOKEN_TYPE")
    return header, _json_object(payload)


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        raise Invalid("MALFORMED_TOKEN") from None
    if not isinstance(value, dict):
        raise Invalid("MALFORMED_TOKEN")
    return value


def jwk_of(key: Ed25519PublicKey) -> dict[str, str]:
    return {"crv": "Ed25519", "kty": "OKP", "x": b64url(key.public_bytes_raw())}


def public_key_of(jwk: Any) -> Ed25519PublicKey:
    """The Ed25519 public key a JWK names (only its public members count); raises :class:`Invalid`."""
    if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or "d" in jwk:
        raise Invalid("BAD_KEY")
    try:
        key = OKPAlgorithm.from_jwk({"kty": "OKP", "crv": "Ed25519", "x": jwk.get("x")})
    except (jwt.PyJWTError, ValueError, TypeError):
        raise Invalid("BAD_KEY") from None
    if not isinstance(key, Ed25519PublicKey):
        raise Invalid("BAD_KEY")
    return key


def key_id_for(key: Ed25519PublicKey) -> str:
    """A node key's id (``kid``): the first 16 hex digits of SHA-256 over the raw public key. Verifiers find
    a province's key by it among those the federation's manifest lists."""
    return hashlib.sha256(key.public_bytes_raw()).hexdigest()[:16]


def thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638: SHA-256 over the required members in lexicographic order, base64url."""
    required = {"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}
    return b64url(hashlib.sha256(canonical(required)).digest())
