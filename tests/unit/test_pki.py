"""The development federation PKI and the signed manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from federation.pki import (
    ManifestError,
    create_dev_federation,
    load_manifest,
    parse_manifest,
    province_of_certificate,
)


def federation(tmp_path: Path) -> Path:
    return create_dev_federation(
        tmp_path,
        {"310000": "127.0.0.1:7101", "320000": "node.js.example:7102"},
        {"310000": "上海", "320000": "江苏"},
        {"310000": "PEM-310000", "320000": "PEM-320000"},
    )


def test_the_manifest_lists_each_node_and_its_certificate(tmp_path: Path) -> None:
    manifest = load_manifest(federation(tmp_path), tmp_path / "manifest.pub")
    assert [m.province for m in manifest.members] == ["310000", "320000"]
    member = manifest.member("320000")
    assert member is not None
    assert (member.grpc_endpoint, member.signing_public_key_pem) == ("node.js.example:7102", "PEM-320000")
    assert province_of_certificate((tmp_path / "320000" / "node.pem").read_bytes()) == "320000"
    assert province_of_certificate((tmp_path / "ca.pem").read_bytes()) is None
    assert (tmp_path / "320000" / "node.key").stat().st_mode & 0o777 == 0o600
    assert manifest.member("340000") is None


def test_a_tampered_or_foreign_manifest_is_refused(tmp_path: Path) -> None:
    path = federation(tmp_path)
    signed = json.loads(path.read_text())
    real = serialization.load_pem_public_key((tmp_path / "manifest.pub").read_bytes())
    assert isinstance(real, Ed25519PublicKey)
    assert parse_manifest(signed, real).serial == 1
    with pytest.raises(ManifestError, match="not signed by the federation"):
        parse_manifest(signed, Ed25519PrivateKey.generate().public_key())
    with pytest.raises(ManifestError, match="not signed by the federation"):
        parse_manifest({**signed, "valid_until": "2999-01-01T00:00:00+00:00"}, real)
    with pytest.raises(ManifestError, match="no valid signature"):
        parse_manifest({k: v for k, v in signed.items() if k != "signature"}, real)


def test_keys_are_never_overwritten(tmp_path: Path) -> None:
    federation(tmp_path)
    with pytest.raises(FileExistsError):
        federation(tmp_path)
