"""Bearer tokens (JWT, EdDSA) that identify the actor of every REST and gRPC call.

The node holds only the token issuer's PUBLIC key, so a compromised node cannot mint tokens.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

import jwt
from cachetools import TLRUCache
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from aggregates.identifiers import InvalidIdentifier, validate_province
from aggregates.responsibility import Actor

AUDIENCE = "tongban"
_CODE = re.compile(r"[0-9A-Za-z_-]{1,64}")
# an operator id may hold dots too: a verifier's kit acts as its registered verifier id (310000.hotel-0001)
_OPERATOR = re.compile(r"[0-9A-Za-z_.-]{1,64}")


class Role(StrEnum):
    WINDOW = "window"  # 窗口: receives applications
    HANDLER = "handler"  # 审批: decides cases
    ISSUER = "issuer"  # issues and manages certificates
    AUDITOR = "auditor"  # reads everything, changes nothing
    ADMIN = "admin"  # operates the node
    PLATFORM = "platform"  # an applicant-facing platform (一网通办 app): files online, supplies, rates
    VERIFIER = "verifier"  # a registered verifier's kit (police handheld, hotel desk): syncs, uploads checks


# Who may read a certificate's full record (it holds the holder's personal data).
CERTIFICATE_READERS = (Role.ISSUER, Role.WINDOW, Role.HANDLER, Role.AUDITOR, Role.ADMIN)


class Unauthenticated(Exception):
    """No token, or a token that is invalid or expired (HTTP 401)."""


class Forbidden(Exception):
    """A valid token whose role or province may not do this (HTTP 403)."""


@dataclass(frozen=True, slots=True)
class Principal:
    province: str
    office_code: str
    operator_id: str
    role: Role

    @property
    def actor(self) -> Actor:
        return Actor(self.province, self.office_code, self.operator_id)

    def log_context(self) -> dict[str, str]:
        """Who acts, for every log line of the request: ids only, never personal data."""
        return {
            "province": self.province,
            "office_code": self.office_code,
            "operator_id": self.operator_id,
            "role": self.role.value,
        }

    def require(self, *roles: Role, province: str | None = None) -> None:
        """Refuse unless the caller has one of ``roles`` and, when given, belongs to ``province``."""
        if self.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(f"role {self.role.value} may not do this; allowed: {allowed}")
        if province is not None and self.province != province:
            raise Forbidden(f"only province {province} may do this; the token is for {self.province}")


@dataclass(frozen=True)
class _Verified:
    principal: Principal
    expires_at: float  # Unix seconds, the token's exp and the leeway


class TokenVerifier:
    """Bearer tokens of the federation's token issuer. A platform sends the same token with every request
    until it expires: a token verified once is kept (by its exact text) until then, so each request does not
    check the same signature again (benchmarks/cpu_profile.py saw it cost 7% of a node's CPU). Only a token
    that verified is kept, never past its exp, and at most ``cache_size`` of them."""

    def __init__(
        self,
        public_key: Ed25519PublicKey,
        leeway_s: float = 30.0,
        cache_size: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = public_key
        self._leeway = leeway_s
        self._clock = clock
        self._verified: TLRUCache[str, _Verified] = TLRUCache(
            maxsize=cache_size, ttu=lambda _token, verified, _now: verified.expires_at, timer=clock
        )
        self._lock = threading.Lock()

    @classmethod
    def from_pem_file(cls, path: Path) -> TokenVerifier:
        key = serialization.load_pem_public_key(path.read_bytes())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(f"{path} does not hold an Ed25519 public key")
        return cls(key)

    def verify(self, authorization: str | None) -> Principal:
        """Parse an ``Authorization: Bearer <jwt>`` value into the caller's principal."""
        if not authorization:
            raise Unauthenticated("missing bearer token")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
        token = token.strip()
        with self._lock:
            kept = self._verified.get(token)
        if kept is not None:
            return kept.principal
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=["EdDSA"],
                audience=AUDIENCE,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "sub", "aud"]},
            )
        except jwt.InvalidTokenError as e:
            # our words, never the library's: its messages may quote parts of what the client sent
            reason = next((text for kind, text in _TOKEN_PROBLEMS if isinstance(e, kind)), "invalid token")
            raise Unauthenticated(reason) from None
        principal = _principal(claims)
        expires_at = float(claims["exp"]) + self._leeway  # required and numeric: PyJWT checked it
        with self._lock:
            self._verified[token] = _Verified(principal, expires_at)
        return principal


# The most specific first: InvalidSignatureError is a DecodeError, ExpiredSignatureError an InvalidTokenError.
_TOKEN_PROBLEMS: tuple[tuple[type[jwt.InvalidTokenError], str], ...] = (
    (jwt.ExpiredSignatureError, "token expired"),
    (jwt.ImmatureSignatureError, "token not valid yet"),
    (jwt.InvalidSignatureError, "invalid token: its signature does not verify with this federation's key"),
    (jwt.InvalidAlgorithmError, "invalid token: it must be signed with EdDSA"),
    (jwt.InvalidAudienceError, "invalid token: it is not for tongban nodes"),
    (jwt.MissingRequiredClaimError, "invalid token: it lacks a required claim (exp, iat, sub, aud)"),
    (jwt.DecodeError, "invalid token: not a JWT this node can decode"),
)


def _principal(claims: dict[str, object]) -> Principal:
    province, office, operator = claims.get("province"), claims.get("office"), claims.get("sub")
    if not isinstance(province, str) or province != province.strip():
        raise Unauthenticated("token claim 'province' must be a province-level code such as 310000")
    try:
        validate_province(province)
    except InvalidIdentifier:
        raise Unauthenticated("token claim 'province' must be a province-level code such as 310000") from None
    if not isinstance(office, str) or not _CODE.fullmatch(office):
        raise Unauthenticated("token claim 'office' must be an office code")
    if not isinstance(operator, str) or not _OPERATOR.fullmatch(operator):
        raise Unauthenticated("token claim 'sub' must be an operator id")
    try:
        role = Role(str(claims.get("role")))
    except ValueError:
        raise Unauthenticated(f"token claim 'role' must be one of {', '.join(Role)}") from None
    return Principal(province, office, operator, role)


def mint_token(
    private_key: Ed25519PrivateKey,
    *,
    province: str,
    office_code: str,
    operator_id: str,
    role: Role,
    ttl: timedelta = timedelta(hours=8),
    now: datetime | None = None,
) -> str:
    """Mint a token (development and tests; production tokens come from the province's identity service)."""
    issued = now or datetime.now(UTC)
    claims = {
        "aud": AUDIENCE,
        "sub": operator_id,
        "province": province,
        "office": office_code,
        "role": role.value,
        "iat": int(issued.timestamp()),
        "exp": int((issued + ttl).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, private_key, algorithm="EdDSA")


def load_private_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key
