"""A holder's wallet: the device key, the credentials it holds, and what it shows a verifier."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from credentials import sd_jwt
from credentials.jose import DeviceKey, Invalid, public_key_of
from credentials.policy import ScenarioPolicy
from credentials.proof import make_proof
from credentials.requests import VerifierRequest, read_request

KEY_FILE, CREDENTIALS_DIR, TRUST_FILE = "device.key", "credentials", "trust.json"
_CREDENTIAL_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


@dataclass(frozen=True)
class Shown:
    """A presentation made for a request, and the claims it disclosed (for the holder's screen)."""

    presentation: str
    disclosed: dict[str, Any]
    request: VerifierRequest


class Wallet:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        key = serialization.load_pem_private_key((directory / KEY_FILE).read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the wallet's key is not an Ed25519 private key")
        self.device = DeviceKey(key)

    @classmethod
    def create(cls, directory: Path) -> Wallet:
        path = directory / KEY_FILE
        if path.exists():
            raise FileExistsError("this directory already holds a wallet")
        directory.mkdir(parents=True, exist_ok=True)
        (directory / CREDENTIALS_DIR).mkdir(exist_ok=True)
        path.touch(mode=0o600)
        path.write_bytes(
            DeviceKey.generate().private_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return cls(directory)

    def proof(self, audience: str, at: int) -> str:
        """What the holder's platform sends with a credential request: the device's key and its signature
        over the issuing node's name, a time and a fresh nonce, so that only the key's holder can ask."""
        return make_proof(self.device, self.device.jwk, audience, at)

    def add(self, text: str) -> str:
        """Keep a credential bound to this device's key; its file name is its ``jti``."""
        credential = sd_jwt.SdJwt.parse(text)
        payload = credential.payload()
        cnf = payload.get("cnf")
        if not isinstance(cnf, dict) or cnf.get("jwk") != self.device.jwk:
            raise Invalid("NOT_BOUND_TO_THIS_DEVICE")
        name = str(payload.get("jti", ""))
        if not _CREDENTIAL_ID.fullmatch(name):
            raise Invalid("MALFORMED_CREDENTIAL")
        (self.directory / CREDENTIALS_DIR / f"{name}.sd-jwt").write_text(text, encoding="ascii")
        return name

    def credentials(self) -> list[sd_jwt.SdJwt]:
        folder = self.directory / CREDENTIALS_DIR
        return [sd_jwt.SdJwt.parse(p.read_text(encoding="ascii")) for p in sorted(folder.glob("*.sd-jwt"))]

    def due(self, within_s: int, now: int) -> list[sd_jwt.SdJwt]:
        """The credentials that expire within ``within_s`` seconds (or have): the holder's platform asks their
        node again with a fresh proof, and the node refreshes each (the same id: ``add`` replaces it)."""
        return [c for c in self.credentials() if int(c.payload()["exp"]) <= now + within_s]

    def remove(self, jti: str) -> bool:
        path = self.directory / CREDENTIALS_DIR / f"{jti}.sd-jwt"
        if not path.exists():
            return False
        path.unlink()
        return True

    def keep_trust(self, verifiers: list[dict[str, Any]], policies: list[dict[str, Any]]) -> None:
        """The registered verifiers and scenario policies, as synced from the holder's platform."""
        document = {
            "verifiers": verifiers,
            "policies": [ScenarioPolicy.from_json(p).to_json() for p in policies],
        }
        (self.directory / TRUST_FILE).write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")

    def _trust(self) -> tuple[dict[str, dict[str, Any]], dict[str, ScenarioPolicy]]:
        path = self.directory / TRUST_FILE
        document = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        verifiers = {str(v["verifier_id"]): v for v in document.get("verifiers", [])}
        policies = {p["code"]: ScenarioPolicy.from_json(p) for p in document.get("policies", [])}
        return verifiers, policies

    def read(self, token: str, now: int) -> VerifierRequest:
        """A verifier's request, checked: its registered key signed it, it is unexpired, and its scenario is
        one the verifier is registered for and allows what it asks. Raises :class:`Invalid`."""
        verifiers, policies = self._trust()

        def key(verifier: str, kid: str) -> Ed25519PublicKey | None:
            registered = verifiers.get(verifier)
            return None if registered is None else public_key_of(registered.get("jwk"))

        request = read_request(token, key, policies, now)
        if request.scenario not in verifiers[request.verifier].get("scenarios", []):
            raise Invalid("SCENARIO_NOT_REGISTERED")
        return request

    def present(self, token: str, now: int) -> Shown:
        """Only what the checked request asks, from a credential of the type it names, bound to its nonce."""
        request = self.read(token, now)
        for credential in self.credentials():
            payload = credential.payload()
            held = {d.name for d in credential.disclosures}
            if (
                payload.get("vct") == request.type_code
                and set(request.claims) <= held
                and now <= payload["exp"]
            ):
                text = sd_jwt.present(
                    credential,
                    request.claims,
                    self.device,
                    nonce=request.nonce,
                    audience=request.verifier,
                    at=now,
                )
                claims = credential.claims()
                return Shown(text, {name: claims[name] for name in request.claims}, request)
        raise Invalid("NO_MATCHING_CREDENTIAL")
