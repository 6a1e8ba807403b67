"""What the kit does: take a sync from its node, make a signed request, check a presentation offline and
record the check.

A sync is checked before it replaces anything: the manifest must be signed by the federation's manifest key
(the kit's trust anchor, given when it was set up) and not older than the one held; each province's status
list must be signed by a key that manifest lists for that province. A sync that fails keeps the last good one.

What a sync brought is checked once and kept in memory (:class:`Trusted`) until the store holds another sync,
so a check costs its own two signatures, not the manifest's and every list's again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from credentials import qr
from credentials.check import Result, Verdict, check
from credentials.jose import Invalid, key_id_for, public_key_of, unverified_header
from credentials.policy import ScenarioPolicy
from credentials.requests import VerifierRequest
from credentials.status_list import StatusListToken
from federation.pki import Manifest, ManifestError, node_name, parse_manifest
from verifier.store import KitStore


class SyncRefused(Exception):
    """A sync that does not check; the kit keeps what it had. The message says why, in our words."""


@dataclass(frozen=True)
class Registration:
    """A registered verifier (a police unit's handheld, a hotel desk), as its node replicates it."""

    verifier_id: str
    organisation: str
    province: str
    scenarios: frozenset[str]
    jwk: dict[str, str]

    @classmethod
    def from_json(cls, document: Any) -> Registration:
        try:
            registration = cls(
                str(document["verifier_id"]),
                str(document["organisation"]),
                str(document["province"]),
                frozenset(str(s) for s in document["scenarios"]),
                {k: str(v) for k, v in document["jwk"].items()},
            )
            public_key_of(registration.jwk)
        except (KeyError, TypeError, AttributeError, Invalid):
            raise SyncRefused("a verifier registration is malformed") from None
        return registration

    def to_json(self) -> dict[str, Any]:
        return {
            "verifier_id": self.verifier_id,
            "organisation": self.organisation,
            "province": self.province,
            "scenarios": sorted(self.scenarios),
            "jwk": self.jwk,
        }


def trusted_keys(manifest: Manifest) -> dict[str, dict[str, Ed25519PublicKey]]:
    """The node's name (``iss``) -> key id -> key, for every member's current and retired signing keys."""
    keys: dict[str, dict[str, Ed25519PublicKey]] = {}
    for member in manifest.members:
        listed = keys.setdefault(node_name(member.province), {})
        for pem in (member.signing_public_key_pem, *member.retired_signing_public_keys_pem):
            key = serialization.load_pem_public_key(pem.encode())
            if isinstance(key, Ed25519PublicKey):
                listed[key_id_for(key)] = key
    return keys


@dataclass(frozen=True)
class Trusted:
    """A kept sync, checked: the issuers' keys by node name and key id, the status lists by URI, the
    policies by scenario; ``store_version``: the store's as it was read."""

    store_version: int
    keys: dict[str, dict[str, Ed25519PublicKey]]
    lists: dict[str, StatusListToken]
    policies: dict[str, ScenarioPolicy]


class VerifierKit:
    def __init__(self, store: KitStore, verifier_id: str, manifest_key: Ed25519PublicKey) -> None:
        self._store = store
        self.verifier_id = verifier_id
        self._manifest_key = manifest_key
        self._trusted: Trusted | None = None

    # What a sync brings

    def apply_sync(self, bundle: dict[str, Any], now: int) -> dict[str, int]:
        """Check a bundle from the node and keep it; raises :class:`SyncRefused` and keeps the last one."""
        try:
            manifest = parse_manifest(bundle["manifest"], self._manifest_key)
        except (KeyError, TypeError, ManifestError):
            raise SyncRefused("the manifest is missing or not signed by the federation") from None
        held = self._manifest()
        if held is not None and manifest.serial < held.serial:
            raise SyncRefused("the manifest is older than the one the kit holds")
        keys = trusted_keys(manifest)
        lists = {}
        for province, token in dict(bundle.get("status_lists", {})).items():
            lists[str(province)] = self._checked_list(str(province), token, keys)
        try:
            policies = [ScenarioPolicy.from_json(p).to_json() for p in bundle["policies"]]
        except (KeyError, TypeError, Invalid):
            raise SyncRefused("the scenario policies are malformed") from None
        verifiers = [Registration.from_json(v).to_json() for v in bundle.get("verifiers", [])]
        self._store.put(
            {
                "manifest": bundle["manifest"],
                "status_lists": {p: t.token for p, t in lists.items()},
                "policies": policies,
                "verifiers": verifiers,
                "synced_at": now,
            }
        )
        self._trusted = None
        return {"status_lists": len(lists), "policies": len(policies), "verifiers": len(verifiers)}

    def _checked_list(
        self, province: str, token: Any, keys: dict[str, dict[str, Ed25519PublicKey]]
    ) -> StatusListToken:
        try:
            kid = str(unverified_header(str(token)).get("kid", ""))
            key = keys.get(node_name(province), {}).get(kid)
            if key is None:
                raise SyncRefused(f"the status list of {province} is signed by a key not in the manifest")
            return StatusListToken.verify(str(token), key)
        except Invalid:
            raise SyncRefused(f"the status list of {province} does not check") from None

    def _manifest(self) -> Manifest | None:
        held = self._store.get("manifest")
        return None if held is None else parse_manifest(held, self._manifest_key)

    def policies(self) -> dict[str, ScenarioPolicy]:
        return {p["code"]: ScenarioPolicy.from_json(p) for p in self._store.get("policies") or []}

    def registration(self) -> Registration | None:
        return next(
            (
                Registration.from_json(v)
                for v in self._store.get("verifiers") or []
                if v["verifier_id"] == self.verifier_id
            ),
            None,
        )

    # A check at the desk

    def request(self, scenario: str, type_code: str, claims: tuple[str, ...], now: int) -> VerifierRequest:
        """A fresh request, within this verifier's registered scenarios and the scenario's policy."""
        registration = self.registration()
        if registration is None or scenario not in registration.scenarios:
            raise Invalid("SCENARIO_NOT_REGISTERED")
        policy = self.policies().get(scenario)
        if policy is None or not policy.allows(type_code, claims):
            raise Invalid("CLAIMS_NOT_ALLOWED")
        return VerifierRequest.new(self.verifier_id, scenario, type_code, claims, now)

    def sign(self, request: VerifierRequest) -> str:
        """The request as shown to the holder: signed with the kit's own key."""
        return request.sign(self._store.key())

    def check(self, shown: str | bytes, request: VerifierRequest, now: int) -> Result:
        """The verdict on what the holder showed (text, or the compact form), recorded for the issuer."""
        trusted = self.trusted()
        policy = trusted.policies.get(request.scenario)
        if policy is None:
            raise Invalid("UNKNOWN_SCENARIO")
        with self._store.checking() as kept:
            try:
                text = qr.expand(shown) if isinstance(shown, bytes) else shown
            except Invalid as unreadable:
                result = Result(Verdict.REFUSE, unreadable.code)
            else:
                result = check(
                    text,
                    request,
                    issuer_keys=trusted.keys.get,
                    status_lists=trusted.lists,
                    policy=policy,
                    seen_nonce=lambda nonce: kept.seen(nonce, now),
                    now=now,
                )
            record_id = str(uuid.uuid4())
            kept.record(
                record_id,
                {
                    "record_id": record_id,
                    "verifier_id": self.verifier_id,
                    "scenario": request.scenario,
                    "at": datetime.fromtimestamp(now, UTC).isoformat(),
                    "verdict": result.verdict.value,
                    "reason": result.reason,
                    "issuer": result.issuer,
                    "credential_id": result.credential_id,
                },
            )
        return result

    def trusted(self) -> Trusted:
        """The kept sync, checked once per sync: read again after this kit's own sync, or once another
        process (a ``tongban verifier sync`` beside a running desk) wrote to the store."""
        version = self._store.version()
        if self._trusted is None or self._trusted.store_version != version:
            manifest = self._manifest()
            keys = trusted_keys(manifest) if manifest is not None else {}
            lists = {t.uri: t for t in self._status_lists(keys)}
            self._trusted = Trusted(version, keys, lists, self.policies())
        return self._trusted

    def _status_lists(self, keys: dict[str, dict[str, Ed25519PublicKey]]) -> list[StatusListToken]:
        stored = self._store.get("status_lists") or {}
        return [self._checked_list(province, token, keys) for province, token in stored.items()]

    def pending_records(self) -> list[dict[str, Any]]:
        return self._store.pending()

    def uploaded(self, record_ids: list[str]) -> None:
        self._store.uploaded(record_ids)
