"""The JSON shapes of verifier registrations (``node/http/verifiers.py``), derived from the aggregate."""

from __future__ import annotations

from aggregates.credential_scenarios import SCENARIO_CODES
from aggregates.verifier import VERIFIER_ID_PATTERN
from node.schemas.common import NO_CONTROL_CHARACTERS, PROVINCE, Schema

VERIFIER_ID: Schema = {
    "type": "string",
    "pattern": VERIFIER_ID_PATTERN,
    "description": "the registering province's code, a dot, then its own name, e.g. 330000.hz-hotel-0001",
}
JWK: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["kty", "crv", "x"],
    "properties": {
        "kty": {"const": "OKP"},
        "crv": {"const": "Ed25519"},
        "x": {"type": "string", "pattern": "^[A-Za-z0-9_-]{43}$"},
    },
    "description": "the verifier's Ed25519 public key (RFC 8037), with which it signs its requests",
}
ORGANISATION: Schema = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": NO_CONTROL_CHARACTERS}
SCENARIOS: Schema = {
    "type": "array",
    "minItems": 1,
    "uniqueItems": True,
    "items": {"enum": sorted(SCENARIO_CODES)},
}
REGISTER: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["verifier_id", "organisation", "scenarios", "jwk"],
    "properties": {
        "verifier_id": VERIFIER_ID,
        "organisation": ORGANISATION,
        "scenarios": SCENARIOS,
        "jwk": JWK,
    },
}
CHANGE: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["scenarios", "jwk"],
    "properties": {"scenarios": SCENARIOS, "jwk": JWK},
}
REGISTRATION: Schema = {
    "type": "object",
    "required": ["verifier_id", "organisation", "province", "scenarios", "jwk"],
    "properties": {
        "verifier_id": VERIFIER_ID,
        "organisation": {"type": "string"},
        "province": PROVINCE,
        "scenarios": SCENARIOS,
        "jwk": JWK,
        "withdrawn": {"type": "boolean"},
    },
}
REGISTRATIONS: Schema = {
    "type": "object",
    "required": ["verifiers"],
    "properties": {"verifiers": {"type": "array", "items": REGISTRATION}},
}
