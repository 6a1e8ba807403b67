"""A device's proof of possession: sent with a credential request, signed by the device key it names.

The holder's platform asks the issuing node for a credential on the holder's behalf and passes this proof on:
the device key's JWK, the node it is meant for, a time and a fresh nonce, signed with that very key. The node
binds the credential to the key (``cnf``) only when the proof checks, so no one can have a credential bound to
a key they do not hold.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from credentials.jose import (
    Invalid,
    JwsSigner,
    public_key_of,
    sign_compact,
    unverified_payload,
    verify_compact,
)

PROOF_TYPE = "tongban-proof+jwt"
MAX_AGE_S = 300
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def make_proof(device: JwsSigner, jwk: dict[str, str], audience: str, at: int) -> str:
    payload = {"aud": audience, "iat": at, "nonce": secrets.token_urlsafe(16), "jwk": jwk}
    return sign_compact({"typ": PROOF_TYPE}, payload, device)


def check_proof(token: str, audience: str, now: int) -> tuple[dict[str, str], str]:
    """The device's JWK and the proof's nonce (for the caller to refuse a replay), when the proof checks.
    Raises :class:`Invalid` with the reason."""
    try:
        claimed: Any = unverified_payload(token).get("jwk")
        key = public_key_of(claimed)
        _, payload = verify_compact(token, key, PROOF_TYPE)
    except Invalid as e:
        raise Invalid(f"PROOF_{e.code}") from None
    at, nonce = payload.get("iat"), payload.get("nonce")
    if payload.get("aud") != audience:
        raise Invalid("PROOF_WRONG_AUDIENCE")
    if not isinstance(at, int) or isinstance(at, bool) or not now - MAX_AGE_S <= at <= now + 60:
        raise Invalid("PROOF_NOT_FRESH")
    if not isinstance(nonce, str) or not _NONCE.match(nonce):
        raise Invalid("PROOF_MALFORMED")
    return {"crv": claimed["crv"], "kty": claimed["kty"], "x": claimed["x"]}, nonce
