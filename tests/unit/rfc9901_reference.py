"""An independent check of an SD-JWT+KB presentation, written from RFC 9901 for the tests only.

It shares no code with ``credentials/``: the JWS is split and its Ed25519 signature checked with
``cryptography`` directly, the disclosures hashed as section 4.2.3 says, their digests looked up in ``_sd``
(section 7.1, steps 3-5), and the key binding checked as section 7.3 says (``sd_hash`` over the presentation
up to and including the last ``~``). It raises ``AssertionError`` where a verifier would reject.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def _b64decode(text: str) -> bytes:
    assert "=" not in text, "base64url without padding (RFC 9901 section 1.2)"
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _jws(token: str, key: Ed25519PublicKey) -> tuple[dict[str, Any], dict[str, Any]]:
    header_b64, payload_b64, signature_b64 = token.split(".")
    header = json.loads(_b64decode(header_b64))
    assert header["alg"] == "EdDSA", "only the algorithm agreed out of band"
    try:
        key.verify(_b64decode(signature_b64), f"{header_b64}.{payload_b64}".encode("ascii"))
    except InvalidSignature:
        raise AssertionError("signature") from None
    return header, json.loads(_b64decode(payload_b64))


def check(presentation: str, issuer_key: Ed25519PublicKey, nonce: str, audience: str) -> dict[str, Any]:
    """The disclosed claims of a valid presentation (only top-level object properties, as issued here)."""
    parts = presentation.split("~")
    issuer_jwt, disclosures, kb_jwt = parts[0], parts[1:-1], parts[-1]
    header, payload = _jws(issuer_jwt, issuer_key)
    assert header["typ"] == "dc+sd-jwt"
    assert payload.get("_sd_alg", "sha-256") == "sha-256"
    digests = payload["_sd"]
    claims: dict[str, Any] = {}
    seen: set[str] = set()
    for disclosure in disclosures:
        digest = base64.urlsafe_b64encode(hashlib.sha256(disclosure.encode("ascii")).digest()).decode()
        digest = digest.rstrip("=")
        assert digest in digests, "a disclosure whose digest the issuer did not sign"
        assert digest not in seen, "a disclosure given twice"
        seen.add(digest)
        salt, name, value = json.loads(_b64decode(disclosure))
        assert isinstance(salt, str)
        assert name not in ("_sd", "...")
        assert name not in payload
        assert name not in claims
        claims[name] = value
    jwk = payload["cnf"]["jwk"]
    assert (jwk["kty"], jwk["crv"]) == ("OKP", "Ed25519")
    device = Ed25519PublicKey.from_public_bytes(_b64decode(jwk["x"]))
    kb_header, kb_payload = _jws(kb_jwt, device)
    assert kb_header["typ"] == "kb+jwt"
    assert (kb_payload["nonce"], kb_payload["aud"]) == (nonce, audience)
    shown = presentation[: len(presentation) - len(kb_jwt)]
    expected = base64.urlsafe_b64encode(hashlib.sha256(shown.encode("ascii")).digest()).decode().rstrip("=")
    assert kb_payload["sd_hash"] == expected
    return claims
