"""A registered verifier (核验方): a police unit's handheld or a hotel desk that checks credentials offline.

Verifiers are not provinces, so the federation's manifest does not list them: each node registers its own,
with the scenarios it may check in and the public key it signs its requests with, and the federation carries
the registrations to every node, so that any holder's wallet can check a request's signature. A registration
is changed by replacing its key or scenarios, and ended by withdrawing it; its history stays.
"""

from __future__ import annotations

import re
from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from aggregates.credential_scenarios import SCENARIO_CODES
from aggregates.errors import IllegalTransition, InvalidField
from aggregates.responsibility import Actor

VERIFIER_NAMESPACE = uuid5(NAMESPACE_URL, "urn:tongban:verifier")
# The registering province's code, a dot, then the province's own name for it: unique across the federation.
VERIFIER_ID_PATTERN = r"^[1-8][0-9]0000\.[a-z0-9][a-z0-9.-]{1,56}$"
_VERIFIER_ID = re.compile(VERIFIER_ID_PATTERN)
_ED25519_X = re.compile(r"^[A-Za-z0-9_-]{43}$")  # 32 bytes, base64url without padding
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def validate_jwk(jwk: object) -> dict[str, str]:
    """An Ed25519 public key as a JWK (RFC 8037): its public members only, in their canonical form."""
    if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise InvalidField("jwk", "must be an Ed25519 public key (kty OKP, crv Ed25519)")
    if "d" in jwk:
        raise InvalidField("jwk", "must hold no private key")
    x = jwk.get("x")
    if not isinstance(x, str) or not _ED25519_X.match(x):
        raise InvalidField("jwk", "x must be 32 bytes in base64url")
    return {"crv": "Ed25519", "kty": "OKP", "x": x}


class VerifierRegistration(Aggregate):
    class Registered(Aggregate.Created):
        verifier_id: str
        organisation: str
        province: str
        scenarios: list[str]
        public_key_x: str  # the Ed25519 key's x: the JWK's only variable member
        office_code: str
        operator_id: str

    class Changed(Aggregate.Event):
        scenarios: list[str]
        public_key_x: str
        office_code: str
        operator_id: str

    class Withdrawn(Aggregate.Event):
        office_code: str
        operator_id: str

    @staticmethod
    def id_for(verifier_id: str) -> UUID:
        return uuid5(VERIFIER_NAMESPACE, verifier_id)

    @classmethod
    def register(
        cls,
        verifier_id: str,
        organisation: str,
        scenarios: list[str],
        jwk: object,
        actor: Actor,
        at: datetime,
    ) -> VerifierRegistration:
        """``verifier_id`` is federation-wide: it begins with the registering province's code."""
        if not _VERIFIER_ID.match(verifier_id) or not verifier_id.startswith(f"{actor.province}."):
            raise InvalidField("verifier_id", "must be this province's code, a dot, then 2-57 of [a-z0-9.-]")
        organisation = organisation.strip()
        if not organisation or len(organisation) > 200 or _CONTROL.search(organisation):
            raise InvalidField("organisation", "must be 1 to 200 characters, no control characters")
        return cls._create(
            cls.Registered,
            id=cls.id_for(verifier_id),
            verifier_id=verifier_id,
            organisation=organisation,
            province=actor.province,
            scenarios=_scenarios(scenarios),
            public_key_x=validate_jwk(jwk)["x"],
            office_code=actor.office_code,
            operator_id=actor.operator_id,
            timestamp=at,
        )

    @event(Registered)
    def __init__(
        self,
        verifier_id: str,
        organisation: str,
        province: str,
        scenarios: list[str],
        public_key_x: str,
        office_code: str,
        operator_id: str,
    ) -> None:
        self.verifier_id = verifier_id
        self.organisation = organisation
        self.province = province
        self.scenarios = list(scenarios)
        self.public_key_x = public_key_x
        self.withdrawn = False

    @property
    def jwk(self) -> dict[str, str]:
        return {"crv": "Ed25519", "kty": "OKP", "x": self.public_key_x}

    def change(self, scenarios: list[str], jwk: object, actor: Actor, at: datetime) -> None:
        """A new key (a lost handheld) or other scenarios; requests signed with the old key stop checking."""
        if self.withdrawn:
            raise IllegalTransition(self.verifier_id, "change", "WITHDRAWN")
        self._changed(
            scenarios=_scenarios(scenarios),
            public_key_x=validate_jwk(jwk)["x"],
            office_code=actor.office_code,
            operator_id=actor.operator_id,
            timestamp=at,
        )

    @event(Changed)
    def _changed(
        self, scenarios: list[str], public_key_x: str, office_code: str, operator_id: str, timestamp: datetime
    ) -> None:
        self.scenarios = list(scenarios)
        self.public_key_x = public_key_x

    def withdraw(self, actor: Actor, at: datetime) -> None:
        if self.withdrawn:
            raise IllegalTransition(self.verifier_id, "withdraw", "WITHDRAWN")
        self._withdrawn(office_code=actor.office_code, operator_id=actor.operator_id, timestamp=at)

    @event(Withdrawn)
    def _withdrawn(self, office_code: str, operator_id: str, timestamp: datetime) -> None:
        self.withdrawn = True


def _scenarios(scenarios: list[str]) -> list[str]:
    if not scenarios or len(set(scenarios)) != len(scenarios):
        raise InvalidField("scenarios", "must name at least one scenario, each once")
    if any(s not in SCENARIO_CODES for s in scenarios):
        raise InvalidField("scenarios", f"must each be one of {', '.join(sorted(SCENARIO_CODES))}")
    return sorted(scenarios)
