"""A development federation PKI: a root CA, one TLS certificate per province node, a signed manifest.

Like X-Road's global configuration, the manifest lists every member (province code, federation gRPC
endpoint, the CA that signs its TLS certificate, the fingerprint of that certificate, and the public key
that signs its certificates and assertions) with a validity period, signed by the federation's manifest key.
A node trusts the root CA and the manifest key; a peer's province comes from its client certificate.
"""

from __future__ import annotations

import base64
import functools
import ipaddress
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

MANIFEST_FORMAT = "tongban.manifest.v1"
# The province code travels in the node certificate's subject as the organizational unit (OU=310000).
PROVINCE_ATTRIBUTE = NameOID.ORGANIZATIONAL_UNIT_NAME


class ManifestError(ValueError):
    """The manifest is unreadable, malformed or not signed by the federation; the message says which."""


@dataclass(frozen=True, slots=True)
class Member:
    province: str
    name: str
    grpc_endpoint: str
    tls_ca_pem: str
    certificate_sha256: str
    signing_public_key_pem: str
    # Keys the province signed with before (certificates, credentials, status lists): what they signed still
    # verifies while the manifest lists them here. Optional in the document: older manifests list none.
    retired_signing_public_keys_pem: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Manifest:
    federation: str
    serial: int
    issued_at: datetime
    valid_from: datetime
    valid_until: datetime
    members: tuple[Member, ...]
    # The document as signed, so that it can be passed on (to verifier kits) and checked again by anyone.
    signed: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def member(self, province: str) -> Member | None:
        return next((m for m in self.members if m.province == province), None)


def signed_by_member(member: Member) -> Callable[[bytes, bytes], bool]:
    """(payload, signature) -> whether the member's signing key (the one the manifest lists) signed it."""
    key = serialization.load_pem_public_key(member.signing_public_key_pem.encode())
    return lambda payload, signature: ed25519_verifies(key, payload, signature)


def ed25519_verifies(key: PublicKeyTypes, payload: bytes, signature: bytes) -> bool:
    """Whether ``key`` is an Ed25519 key and ``signature`` is its signature of ``payload``."""
    if not isinstance(key, Ed25519PublicKey):
        return False
    try:
        key.verify(signature, payload)
    except InvalidSignature:
        return False
    return True


def node_name(province: str) -> str:
    """The name a node's certificate carries for its province; a caller expects it from that province."""
    return f"{province}.node.tongban"


def certificate_sha256(pem: bytes) -> str:
    return _certificate(pem).fingerprint(hashes.SHA256()).hex()


def province_of_certificate(pem: bytes) -> str | None:
    """The province code in a node certificate's subject (exactly one OU), or None."""
    values = _certificate(pem).subject.get_attributes_for_oid(PROVINCE_ATTRIBUTE)
    return str(values[0].value) if len(values) == 1 else None


@functools.lru_cache(maxsize=64)
def _certificate(pem: bytes) -> x509.Certificate:
    """A certificate is a function of its bytes: a peer's, asked for on every batch of its pull stream, is
    parsed once (a federation has a few members, and a manifest a few certificates each)."""
    return x509.load_pem_x509_certificate(pem)


def _private_pem(key: ec.EllipticCurvePrivateKey | Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=False)  # never overwrite a key
    path.write_bytes(data)


def _subject(common_name: str, province: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tongban")]
    if province is not None:
        attributes.append(x509.NameAttribute(PROVINCE_ATTRIBUTE, province))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


@dataclass(frozen=True)
class CertificateAuthority:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @classmethod
    def create(cls, name: str, now: datetime, days: int) -> CertificateAuthority:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = _subject(name)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .sign(key, hashes.SHA256())
        )
        return cls(key, certificate)

    @classmethod
    def load(cls, directory: Path) -> CertificateAuthority:
        """The CA that ``create_dev_federation`` wrote, to issue more node certificates."""
        key = serialization.load_pem_private_key((directory / "ca.key").read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{directory / 'ca.key'} is not an EC private key")
        return cls(key, x509.load_pem_x509_certificate((directory / "ca.pem").read_bytes()))

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def issue_node(
        self, province: str, host: str, not_before: datetime, not_after: datetime
    ) -> tuple[bytes, bytes]:
        """(key PEM, certificate PEM) of a node: a server AND client certificate carrying its province."""
        key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = [
            x509.DNSName(node_name(province)),  # what callers check: this certificate serves THAT province
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        ]
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_subject(f"tongban node {province}", province))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(list(dict.fromkeys(names))), critical=False)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        return _private_pem(key), certificate.public_bytes(serialization.Encoding.PEM)


def _canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_manifest(document: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    return {**document, "signature": base64.b64encode(key.sign(_canonical(document))).decode()}


def parse_manifest(signed: dict[str, Any], public_key: Ed25519PublicKey) -> Manifest:
    """Check the signature and the format; the validity period is the caller's to judge (it degrades)."""
    document = dict(signed)
    try:
        signature = base64.b64decode(document.pop("signature"), validate=True)
    except (KeyError, TypeError, ValueError):
        raise ManifestError("the manifest carries no valid signature field") from None
    try:
        public_key.verify(signature, _canonical(document))
    except InvalidSignature:
        raise ManifestError("the manifest is not signed by the federation's manifest key") from None
    if document.get("format") != MANIFEST_FORMAT:
        raise ManifestError(f"the manifest is not {MANIFEST_FORMAT}")
    try:
        return Manifest(
            federation=str(document["federation"]),
            serial=int(document["serial"]),
            issued_at=datetime.fromisoformat(document["issued_at"]),
            valid_from=datetime.fromisoformat(document["valid_from"]),
            valid_until=datetime.fromisoformat(document["valid_until"]),
            members=tuple(_member(member) for member in document["members"]),
            signed=dict(signed),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise ManifestError(f"the manifest is malformed: {e}") from None


def _member(document: dict[str, Any]) -> Member:
    retired = document.get("retired_signing_public_keys_pem", [])
    if not isinstance(retired, list) or not all(isinstance(pem, str) for pem in retired):
        raise TypeError("retired_signing_public_keys_pem must be a list of PEM texts")
    return Member(**{**document, "retired_signing_public_keys_pem": tuple(retired)})


def load_manifest(path: Path, public_key_path: Path) -> Manifest:
    try:
        signed = json.loads(path.read_text(encoding="utf-8"))
        key = serialization.load_pem_public_key(public_key_path.read_bytes())
    except (OSError, ValueError) as e:
        raise ManifestError(f"cannot read the manifest {path} or its key {public_key_path}: {e}") from None
    if not isinstance(key, Ed25519PublicKey) or not isinstance(signed, dict):
        raise ManifestError(f"{public_key_path} is not an Ed25519 public key, or {path} is not a JSON object")
    return parse_manifest(signed, key)


def create_dev_federation(
    directory: Path,
    endpoints: dict[str, str],
    names: dict[str, str],
    signing_public_keys: dict[str, str],
    *,
    days: int = 365,
    manifest_days: int = 30,
    now: datetime | None = None,
) -> Path:
    """Write ``ca.pem``, ``<province>/node.key`` + ``node.pem``, ``manifest.json`` (+ its key pair) under
    ``directory``. ``endpoints`` maps each province to its federation endpoint (host:port)."""
    now = now or datetime.now(UTC)
    authority = CertificateAuthority.create("tongban development federation root CA", now, days)
    _write_private(directory / "ca.key", _private_pem(authority.key))
    (directory / "ca.pem").write_bytes(authority.pem)
    members = []
    for province, endpoint in endpoints.items():
        key_pem, certificate_pem = authority.issue_node(
            province, endpoint.rsplit(":", 1)[0], now - timedelta(minutes=5), now + timedelta(days=days)
        )
        _write_private(directory / province / "node.key", key_pem)
        (directory / province / "node.pem").write_bytes(certificate_pem)
        members.append(
            {
                "province": province,
                "name": names[province],
                "grpc_endpoint": endpoint,
                "tls_ca_pem": authority.pem.decode(),
                "certificate_sha256": certificate_sha256(certificate_pem),
                "signing_public_key_pem": signing_public_keys[province],
            }
        )
    manifest_key = Ed25519PrivateKey.generate()
    _write_private(directory / "manifest.key", _private_pem(manifest_key))
    (directory / "manifest.pub").write_bytes(
        manifest_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    document = {
        "format": MANIFEST_FORMAT,
        "federation": "yangtze-river-delta-dev",
        "serial": 1,
        "issued_at": now.isoformat(),
        "valid_from": now.isoformat(),
        "valid_until": (now + timedelta(days=manifest_days)).isoformat(),
        "members": members,
    }
    manifest = directory / "manifest.json"
    manifest.write_text(
        json.dumps(sign_manifest(document, manifest_key), ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return manifest
