"""A node adopts a newer signed manifest from disk, and keeps the one it has when the file is bad or old."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from federation.manifest_source import ManifestSource
from federation.pki import create_dev_federation, load_manifest, sign_manifest

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def federation(tmp_path: Path) -> ManifestSource:
    keys = {p: Ed25519PrivateKey.generate() for p in ("310000", "320000")}
    public = {
        p: k.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
        for p, k in keys.items()
    }
    create_dev_federation(
        tmp_path,
        {p: f"127.0.0.1:{7000 + i}" for i, p in enumerate(keys)},
        dict.fromkeys(keys, "x"),
        public,
        now=NOW,
    )
    (tmp_path / "first-manifest.json").write_text((tmp_path / "manifest.json").read_text())
    return ManifestSource(
        tmp_path / "manifest.json",
        tmp_path / "manifest.pub",
        load_manifest(tmp_path / "manifest.json", tmp_path / "manifest.pub"),
    )


def publish(tmp_path: Path, serial: int) -> None:
    """What the federation operator does: sign a new version of the manifest and put it in place."""
    signed = json.loads((tmp_path / "first-manifest.json").read_text())
    document = {key: value for key, value in signed.items() if key != "signature"}
    document |= {"serial": serial, "valid_until": (NOW + timedelta(days=60)).isoformat()}
    key = serialization.load_pem_private_key((tmp_path / "manifest.key").read_bytes(), None)
    assert isinstance(key, Ed25519PrivateKey)
    (tmp_path / "manifest.json").write_text(json.dumps(sign_manifest(document, key)))


def test_a_newer_signed_manifest_is_adopted(tmp_path: Path) -> None:
    source = federation(tmp_path)
    publish(tmp_path, 2)
    assert source.refresh() is True
    assert source.current().serial == 2
    assert source.warnings(NOW) == []


def test_a_bad_file_keeps_the_current_manifest_and_says_why(tmp_path: Path) -> None:
    source = federation(tmp_path)
    (tmp_path / "manifest.json").write_text('{"serial": 9, "signature": "AAAA"}')
    assert source.refresh() is False
    assert source.current().serial == 1
    assert source.refresh_failures == 1
    [warning] = source.warnings(NOW)
    assert "could not be adopted" in warning
    assert "serving with serial 1" in warning
    publish(tmp_path, 2)  # the operator fixes it: the warning goes
    assert source.refresh() is True
    assert source.warnings(NOW) == []


def test_an_older_or_equal_serial_is_not_adopted(tmp_path: Path) -> None:
    source = federation(tmp_path)
    publish(tmp_path, 3)
    assert source.refresh() is True
    publish(tmp_path, 2)
    assert source.refresh() is False
    assert source.current().serial == 3


def test_an_expired_manifest_is_a_warning_not_a_stop(tmp_path: Path) -> None:
    source = federation(tmp_path)
    later = source.current().valid_until + timedelta(hours=1)
    [warning] = source.warnings(later)
    assert "expired" in warning
    assert source.current().serial == 1  # still the manifest in use
