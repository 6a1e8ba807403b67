"""A verifier's request (核验请求), shown to the holder as a QR code or as a file, signed by the verifier.

It names the verifier, the scenario, the certificate type and the claims wanted, a fresh nonce and an expiry.
The wallet checks the signature with the key the verifier registered at its node (replicated to every node of
the federation), and the request against the scenario's policy, before it shows anything.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from credentials.jose import (
    Invalid,
    JwsSigner,
    sign_compact,
    unverified_header,
    unverified_payload,
    verify_compact,
)
from credentials.policy import ScenarioPolicy

REQUEST_TYPE = "tongban-request+jwt"
_IDENTIFIER = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_CLAIM = re.compile(r"^[a-z_]{1,40}$")
MAX_VALIDITY_S = 600  # a request is for one encounter at a desk, not for later


@dataclass(frozen=True)
class VerifierRequest:
    verifier: str  # the registered verifier's id; the presentation's audience
    scenario: str
    type_code: str
    claims: tuple[str, ...]
    nonce: str
    issued_at: int
    expires_at: int

    @classmethod
    def new(
        cls,
        verifier: str,
        scenario: str,
        type_code: str,
        claims: tuple[str, ...],
        at: int,
        valid_s: int = 300,
    ) -> VerifierRequest:
        return cls(verifier, scenario, type_code, claims, secrets.token_urlsafe(16), at, at + valid_s)

    def sign(self, key: JwsSigner) -> str:
        payload = {
            "iss": self.verifier,
            "scenario": self.scenario,
            "vct": self.type_code,
            "claims": list(self.claims),
            "nonce": self.nonce,
            "iat": self.issued_at,
            "exp": self.expires_at,
        }
        return sign_compact({"typ": REQUEST_TYPE}, payload, key)


def read_request(
    token: str,
    verifier_key: Callable[[str, str], Ed25519PublicKey | None],
    policies: Mapping[str, ScenarioPolicy],
    now: int,
) -> VerifierRequest:
    """A request whose signature checks with its registered verifier's key (``verifier_key(verifier, kid)``),
    unexpired, and within its scenario's policy; raises :class:`Invalid` with the reason."""
    claimed = _unverified_issuer(token)
    key = verifier_key(claimed, str(unverified_header(token).get("kid", "")))
    if key is None:
        raise Invalid("UNKNOWN_VERIFIER")
    _, payload = verify_compact(token, key, REQUEST_TYPE)
    request = _parsed(payload)
    if request.verifier != claimed:
        raise Invalid("MALFORMED_REQUEST")
    if not request.issued_at <= now + 60 or now > request.expires_at:
        raise Invalid("REQUEST_EXPIRED")
    if request.expires_at - request.issued_at > MAX_VALIDITY_S:
        raise Invalid("MALFORMED_REQUEST")
    policy = policies.get(request.scenario)
    if policy is None:
        raise Invalid("UNKNOWN_SCENARIO")
    if not policy.allows(request.type_code, request.claims):
        raise Invalid("CLAIMS_NOT_ALLOWED")
    return request


def _unverified_issuer(token: str) -> str:
    try:
        issuer = unverified_payload(token).get("iss")
    except Invalid:
        raise Invalid("MALFORMED_REQUEST") from None
    if not isinstance(issuer, str) or not _IDENTIFIER.match(issuer):
        raise Invalid("MALFORMED_REQUEST")
    return issuer


def _parsed(payload: dict[str, Any]) -> VerifierRequest:
    try:
        request = VerifierRequest(
            verifier=payload["iss"],
            scenario=payload["scenario"],
            type_code=payload["vct"],
            claims=tuple(payload["claims"]),
            nonce=payload["nonce"],
            issued_at=payload["iat"],
            expires_at=payload["exp"],
        )
    except (KeyError, TypeError):
        raise Invalid("MALFORMED_REQUEST") from None
    texts = (request.verifier, request.scenario, request.type_code, request.nonce)
    if not all(isinstance(t, str) and _IDENTIFIER.match(t) for t in texts):
        raise Invalid("MALFORMED_REQUEST")
    if not request.claims or not all(isinstance(c, str) and _CLAIM.match(c) for c in request.claims):
        raise Invalid("MALFORMED_REQUEST")
    if len(set(request.claims)) != len(request.claims):
        raise Invalid("MALFORMED_REQUEST")
    if not all(
        isinstance(t, int) and not isinstance(t, bool) for t in (request.issued_at, request.expires_at)
    ):
        raise Invalid("MALFORMED_REQUEST")
    return request
