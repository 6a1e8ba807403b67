"""Scenarios (亮证场景): what a verifier in each may ask of a holder, and how old a status list it may trust.

A scenario names the certificate types it may check and, for each, the claims it may request: a hotel desk
checks an ID card's name and number, never a driving licence's points. A verifier is registered for some
scenarios; a request outside them, or asking more than its scenario allows, is refused by the wallet before
anything is shown, and by the verifier kit before anything is checked.

Policies travel from the node to wallets and kits as JSON (:meth:`ScenarioPolicy.to_json`), so that every
party reads the same rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from credentials.jose import Invalid


@dataclass(frozen=True)
class ScenarioPolicy:
    code: str
    name: str
    claims: Mapping[str, frozenset[str]]  # certificate type code -> claims a verifier may request
    max_status_age_s: int  # a status list older than this is stale ...
    accept_stale: bool  # ... and then the answer is ACCEPT_STALE (True) or a refusal (False)

    def allows(self, type_code: str, claims: Iterable[str]) -> bool:
        allowed = self.claims.get(type_code)
        return allowed is not None and set(claims) <= allowed

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "claims": {type_code: sorted(names) for type_code, names in sorted(self.claims.items())},
            "max_status_age_s": self.max_status_age_s,
            "accept_stale": self.accept_stale,
        }

    @classmethod
    def from_json(cls, document: Any) -> ScenarioPolicy:
        try:
            claims = document["claims"]
            policy = cls(
                code=str(document["code"]),
                name=str(document["name"]),
                claims={str(t): frozenset(str(c) for c in names) for t, names in claims.items()},
                max_status_age_s=int(document["max_status_age_s"]),
                accept_stale=bool(document["accept_stale"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise Invalid("POLICY_MALFORMED") from None
        if policy.max_status_age_s <= 0:
            raise Invalid("POLICY_MALFORMED")
        return policy
