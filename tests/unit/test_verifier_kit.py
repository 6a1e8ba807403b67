"""The offline verifier kit: a sync it checks before keeping, a check with no network, issuer key rotation,
and records that carry no disclosed value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from credentials import qr, sd_jwt
from credentials.check import Verdict
from credentials.jose import DeviceKey, Invalid
from credentials.policy import ScenarioPolicy
from credentials.status_list import CredentialStatus, StatusList, StatusListToken
from federation.pki import MANIFEST_FORMAT, node_name, sign_manifest
from node.signing import Ed25519Signer
from verifier.kit import SyncRefused, VerifierKit
from verifier.store import KitStore

ANHUI = "340000"
ID_CARD = "11100000000013338W001"
NOW = 1_800_000_000
HOTEL = ScenarioPolicy(
    "HOTEL_CHECK_IN", "宾馆旅馆住宿登记", {ID_CARD: frozenset({"holder_name", "holder_id"})}, 86_400, True
)
MANIFEST_KEY = Ed25519PrivateKey.generate()
OLD_NODE_KEY, NODE_KEY = Ed25519Signer.generate(), Ed25519Signer.generate()  # a node's signers
DEVICE = DeviceKey.generate()
LIST_URI = f"urn:tongban:{ANHUI}:status"


def manifest(
    serial: int, retired: tuple[Ed25519Signer, ...] = (), signer: Ed25519PrivateKey = MANIFEST_KEY
) -> dict[str, Any]:
    at = datetime.fromtimestamp(NOW, UTC)
    member = {
        "province": ANHUI,
        "name": "安徽",
        "grpc_endpoint": "127.0.0.1:1",
        "tls_ca_pem": "",
        "certificate_sha256": "",
        "signing_public_key_pem": NODE_KEY.public_key_pem(),
        "retired_signing_public_keys_pem": [k.public_key_pem() for k in retired],
    }
    document = {
        "format": MANIFEST_FORMAT,
        "federation": "test",
        "serial": serial,
        "issued_at": at.isoformat(),
        "valid_from": at.isoformat(),
        "valid_until": (at + timedelta(days=30)).isoformat(),
        "members": [member],
    }
    return sign_manifest(document, signer)


def status_list(status: CredentialStatus = CredentialStatus.VALID, signer: Any = NODE_KEY) -> str:
    entries = StatusList(131_072)
    entries[9] = status
    return StatusListToken.sign(LIST_URI, entries, at=NOW - 60, ttl=3600, signer=signer).token


def bundle(**changes: Any) -> dict[str, Any]:
    return {
        "manifest": manifest(1),
        "status_lists": {ANHUI: status_list()},
        "policies": [HOTEL.to_json()],
        "verifiers": [
            {
                "verifier_id": "hotel-desk-1",
                "organisation": "杭州某宾馆",
                "province": "330000",
                "scenarios": ["HOTEL_CHECK_IN"],
                "jwk": DeviceKey.generate().jwk,
            }
        ],
        **changes,
    }


@pytest.fixture
def kit(tmp_path: Path) -> VerifierKit:
    made = VerifierKit(KitStore(tmp_path), "hotel-desk-1", MANIFEST_KEY.public_key())
    made.apply_sync(bundle(), NOW)
    return made


def presentation(kit: VerifierKit, signer: Ed25519Signer = NODE_KEY) -> tuple[Any, str]:
    credential = sd_jwt.issue(
        {"holder_name": "赵敏", "holder_id": "11010519491231002X", "number": "340104"},
        {
            "iss": node_name(ANHUI),
            "jti": "cred-9",
            "vct": ID_CARD,
            "cnf": {"jwk": DEVICE.jwk},
            "status": {"status_list": {"idx": 9, "uri": LIST_URI}},
            "iat": NOW - 60,
            "exp": NOW + 3600,
            "valid_from": "2020-01-01",
            "valid_to": None,
        },
        signer,
    )
    request = kit.request("HOTEL_CHECK_IN", ID_CARD, ("holder_name", "holder_id"), NOW)
    shown = sd_jwt.present(
        credential, request.claims, DEVICE, nonce=request.nonce, audience="hotel-desk-1", at=NOW
    )
    return request, shown


def test_a_check_needs_no_network_and_its_record_keeps_no_disclosed_value(kit: VerifierKit) -> None:
    request, shown = presentation(kit)
    result = kit.check(qr.compact(shown), request, NOW)  # as scanned from the compact QR code
    assert (result.verdict, result.reason) == (Verdict.ACCEPT, "OK")
    [record] = kit.pending_records()
    assert {k: record[k] for k in ("verifier_id", "scenario", "verdict", "issuer", "credential_id")} == {
        "verifier_id": "hotel-desk-1",
        "scenario": "HOTEL_CHECK_IN",
        "verdict": "ACCEPT",
        "issuer": node_name(ANHUI),
        "credential_id": "cred-9",
    }
    assert "赵敏" not in str(record)
    assert "11010519491231002X" not in str(record)
    kit.uploaded([record["record_id"]])
    assert kit.pending_records() == []


def test_after_a_sync_that_brings_a_revocation_the_same_presentation_is_refused(kit: VerifierKit) -> None:
    request, shown = presentation(kit)
    assert kit.check(shown, request, NOW).verdict is Verdict.ACCEPT
    kit.apply_sync(bundle(status_lists={ANHUI: status_list(CredentialStatus.INVALID)}), NOW)
    # the very same presentation: refused for what it is now, not merely as a replay
    assert kit.check(shown, request, NOW).reason == "REVOKED"


def test_the_same_presentation_twice_is_a_replay(kit: VerifierKit) -> None:
    request, shown = presentation(kit)
    assert kit.check(shown, request, NOW).verdict is Verdict.ACCEPT
    assert kit.check(shown, request, NOW).reason == "REPLAYED"


def test_a_retired_key_verifies_while_the_manifest_lists_it(kit: VerifierKit) -> None:
    kit.apply_sync(bundle(manifest=manifest(2, retired=(OLD_NODE_KEY,))), NOW)
    request, shown = presentation(kit, signer=OLD_NODE_KEY)
    assert kit.check(shown, request, NOW).verdict is Verdict.ACCEPT
    kit.apply_sync(bundle(manifest=manifest(3)), NOW)  # no longer listed
    request, shown = presentation(kit, signer=OLD_NODE_KEY)
    assert kit.check(shown, request, NOW).reason == "UNKNOWN_ISSUER_KEY"


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"manifest": manifest(1, signer=Ed25519PrivateKey.generate())}, "not signed by the federation"),
        ({"manifest": manifest(0)}, "older than the one the kit holds"),
        ({"status_lists": {ANHUI: status_list(signer=DeviceKey.generate())}}, "a key not in the manifest"),
        ({"policies": [{"code": "X"}]}, "policies are malformed"),
    ],
)
def test_a_sync_that_does_not_check_keeps_the_last_good_one(
    kit: VerifierKit, changes: dict[str, Any], why: str
) -> None:
    with pytest.raises(SyncRefused, match=why):
        kit.apply_sync(bundle(**changes), NOW)
    request, shown = presentation(kit)
    assert kit.check(shown, request, NOW).verdict is Verdict.ACCEPT


def test_a_request_outside_the_registered_scenarios_or_the_policy_is_never_made(kit: VerifierKit) -> None:
    with pytest.raises(Invalid, match="SCENARIO_NOT_REGISTERED"):
        kit.request("ROAD_CHECK", ID_CARD, ("holder_name",), NOW)
    with pytest.raises(Invalid, match="CLAIMS_NOT_ALLOWED"):
        kit.request("HOTEL_CHECK_IN", ID_CARD, ("holder_name", "number"), NOW)
