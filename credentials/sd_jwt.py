"""SD-JWT (RFC 9901) with key binding, as certificates travel to a holder's device and back to a verifier.

The issuer signs a JWT whose payload holds, for each claim of the certificate, only the digest of a
*disclosure*: the base64url of ``[salt, name, value]`` with a fresh 128-bit salt. The holder keeps the
disclosures and shows a verifier only those it asks for, followed by a key-binding JWT signed with the device
key that the credential's ``cnf`` names, over the verifier's nonce and audience and a digest of what is shown
(``sd_hash``). A copy without the device key cannot be presented; a disclosure changed, added or repeated
fails its digest.

Serialisation: ``<issuer JWT>~<disclosure>~…~<key-binding JWT>``, or ending in ``~`` without key binding.
No maintained Python library follows RFC 9901 as published, so this layer is ours, on PyJWT (``jose``).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from credentials.jose import (
    Invalid,
    JwsSigner,
    b64url,
    public_key_of,
    sha256_b64url,
    sign_compact,
    unb64url,
    verify_compact,
)

CREDENTIAL_TYPE = "dc+sd-jwt"  # SD-JWT VC's media type, in the issuer JWT's typ
KEY_BINDING_TYPE = "kb+jwt"
DIGEST_ALGORITHM = "sha-256"
# What a disclosure may never name: they carry the SD-JWT's own structure, or claims the issuer always shows.
RESERVED_NAMES = frozenset({"_sd", "...", "_sd_alg", "iss", "vct", "cnf", "status", "iat", "nbf", "exp"})


@dataclass(frozen=True)
class Disclosure:
    salt: str
    name: str
    value: Any
    encoded: str  # exactly as issued: the digest is over these characters, never over a re-encoding

    @classmethod
    def new(cls, name: str, value: Any) -> Disclosure:
        salt = b64url(secrets.token_bytes(16))
        encoded = b64url(json.dumps([salt, name, value], ensure_ascii=False).encode())
        return cls(salt, name, value, encoded)

    @classmethod
    def parse(cls, encoded: str) -> Disclosure:
        try:
            decoded = json.loads(unb64url(encoded))
        except (Invalid, ValueError):
            raise Invalid("DISCLOSURE_MALFORMED") from None
        if not (
            isinstance(decoded, list)
            and len(decoded) == 3
            and isinstance(decoded[0], str)
            and isinstance(decoded[1], str)
        ):
            raise Invalid("DISCLOSURE_MALFORMED")
        if decoded[1] in RESERVED_NAMES:
            raise Invalid("DISCLOSURE_MALFORMED")
        return cls(decoded[0], decoded[1], decoded[2], encoded)

    @property
    def digest(self) -> str:
        return sha256_b64url(self.encoded)


@dataclass(frozen=True)
class SdJwt:
    """An issued credential as the holder keeps it: the issuer's JWT and every disclosure."""

    issuer_jwt: str
    disclosures: tuple[Disclosure, ...]

    def serialise(self) -> str:
        return "~".join([self.issuer_jwt, *(d.encoded for d in self.disclosures)]) + "~"

    @classmethod
    def parse(cls, text: str) -> SdJwt:
        parts = text.split("~")
        if len(parts) < 2 or parts[-1] != "":
            raise Invalid("MALFORMED_CREDENTIAL")
        return cls(parts[0], tuple(Disclosure.parse(p) for p in parts[1:-1]))

    def payload(self) -> dict[str, Any]:
        """The issuer JWT's payload, unverified: what the holder's wallet shows its owner."""
        try:
            body = json.loads(unb64url(self.issuer_jwt.split(".")[1]))
        except (Invalid, ValueError, IndexError):
            raise Invalid("MALFORMED_CREDENTIAL") from None
        if not isinstance(body, dict):
            raise Invalid("MALFORMED_CREDENTIAL")
        return body

    def claims(self) -> dict[str, Any]:
        return {d.name: d.value for d in self.disclosures}


def issue(claims: Mapping[str, Any], always: Mapping[str, Any], signer: JwsSigner) -> SdJwt:
    """``claims`` selectively disclosable, one disclosure each; ``always`` (iss, vct, cnf, status, iat, exp)
    in the clear. Digests are sorted, so their order says nothing about the claims' order."""
    if reserved := RESERVED_NAMES & set(claims):
        raise ValueError(f"claims may not be named {sorted(reserved)}")
    disclosures = tuple(Disclosure.new(name, value) for name, value in claims.items())
    payload = {**always, "_sd": sorted(d.digest for d in disclosures), "_sd_alg": DIGEST_ALGORITHM}
    return SdJwt(sign_compact({"typ": CREDENTIAL_TYPE}, payload, signer), disclosures)


def present(
    credential: SdJwt, names: Iterable[str], device: JwsSigner, *, nonce: str, audience: str, at: int
) -> str:
    """What the holder shows: the disclosures of ``names`` only, bound to the verifier's nonce and audience by
    the device key. Raises KeyError for a name the credential does not hold."""
    by_name = {d.name: d for d in credential.disclosures}
    chosen = [by_name[name] for name in names]
    shown = "~".join([credential.issuer_jwt, *(d.encoded for d in chosen)]) + "~"
    binding = sign_compact(
        {"typ": KEY_BINDING_TYPE},
        {"iat": at, "aud": audience, "nonce": nonce, "sd_hash": sha256_b64url(shown)},
        device,
    )
    return shown + binding


@dataclass(frozen=True)
class Presentation:
    """A presentation whose signatures and digests all check: what the verifier may then judge."""

    payload: dict[str, Any]  # the issuer JWT's, without _sd
    header: dict[str, Any]  # the issuer JWT's
    disclosed: dict[str, Any]  # name -> value of each disclosure shown
    binding: dict[str, Any]  # the key-binding JWT's payload (iat, aud, nonce, sd_hash)


def split(text: str) -> tuple[str, list[str], str]:
    """The issuer JWT, the disclosures and the key-binding JWT of a presentation; raises :class:`Invalid`."""
    parts = text.split("~")
    if len(parts) < 2 or not parts[-1]:
        raise Invalid("NO_KEY_BINDING")
    return parts[0], parts[1:-1], parts[-1]


def verify_presentation(text: str, issuer_key: Ed25519PublicKey) -> Presentation:
    """Check the issuer's signature, every disclosure against the digests it signed (none changed, none
    repeated, none foreign) and the key binding against ``cnf`` and what is shown. Nonce, audience, freshness,
    validity and status are the caller's to judge on the result. Raises :class:`Invalid` with the reason."""
    issuer_jwt, encoded, binding_jwt = split(text)
    header, payload = verify_compact(issuer_jwt, issuer_key, CREDENTIAL_TYPE)
    if payload.get("_sd_alg") != DIGEST_ALGORITHM:
        raise Invalid("UNSUPPORTED_DIGEST")
    digests = payload.pop("_sd", None)
    payload.pop("_sd_alg")
    if not isinstance(digests, list) or len(set(digests)) != len(digests):
        raise Invalid("MALFORMED_CREDENTIAL")
    if len(set(encoded)) != len(encoded):
        raise Invalid("DISCLOSURE_REPEATED")
    disclosed: dict[str, Any] = {}
    for item in encoded:
        disclosure = Disclosure.parse(item)
        if disclosure.digest not in digests:
            raise Invalid("DISCLOSURE_DIGEST_MISMATCH")
        if disclosure.name in disclosed or disclosure.name in payload:
            raise Invalid("DISCLOSURE_REPEATED")
        disclosed[disclosure.name] = disclosure.value
    cnf = payload.get("cnf")
    device_key = public_key_of(cnf.get("jwk") if isinstance(cnf, dict) else None)
    try:
        _, binding = verify_compact(binding_jwt, device_key, KEY_BINDING_TYPE)
    except Invalid as e:  # the device's signature, not the issuer's: its own reason
        raise Invalid(f"KEY_BINDING_{e.code}") from None
    if binding.get("sd_hash") != sha256_b64url(text[: -len(binding_jwt)]):
        raise Invalid("KEY_BINDING_MISMATCH")
    return Presentation(payload, header, disclosed, binding)
