"""Node signatures behind a small interface, so SM2 can join Ed25519 later.

A key id is the first 16 hex digits of SHA-256 over the raw public key, so verifiers can pick the key.
Verification dispatches on the algorithm through :data:`VERIFIERS`: another algorithm (SM2) registers a
verifier with :func:`register_verifier` and a key loader with :func:`register_public_key_loader`; nothing else
changes.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from credentials.jose import key_id_for
from federation.pki import ed25519_verifies

ED25519 = "Ed25519"

# algorithm -> verify(public key PEM, payload, signature) -> bool
Verifier = Callable[[str, bytes, bytes], bool]
VERIFIERS: dict[str, Verifier] = {}
# a loaded public key -> (algorithm, key id), or None when the loader does not know the key's kind
PublicKeyLoader = Callable[[PublicKeyTypes], tuple[str, str] | None]
PUBLIC_KEY_LOADERS: list[PublicKeyLoader] = []


def register_verifier(algorithm: str, verifier: Verifier) -> None:
    """Make :meth:`PublicKey.verify` understand ``algorithm`` (e.g. "SM2")."""
    VERIFIERS[algorithm] = verifier


def register_public_key_loader(loader: PublicKeyLoader) -> None:
    """Make :func:`load_public_key` recognise another kind of public key."""
    PUBLIC_KEY_LOADERS.append(loader)


class Signer(Protocol):
    algorithm: str
    key_id: str

    def sign(self, payload: bytes) -> bytes: ...

    def public_key(self) -> PublicKey: ...

    def public_key_pem(self) -> str: ...


@dataclass(frozen=True)
class PublicKey:
    algorithm: str
    key_id: str
    pem: str

    def verify(self, payload: bytes, signature: bytes) -> bool:
        """True only if ``signature`` is this key's signature over ``payload``; unknown algorithms fail."""
        verifier = VERIFIERS.get(self.algorithm)
        if verifier is None:
            return False
        try:
            return verifier(self.pem, payload, signature)
        except ValueError:  # a malformed PEM or signature is simply not a valid signature
            return False


def load_public_key(path: Path) -> PublicKey:
    """A public key from a PEM file (e.g. a retired signing key's ``.pub``). Raises ValueError or OSError."""
    pem = path.read_text()
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        raise ValueError(f"{path} does not hold a PEM public key: {e}") from None
    for loader in PUBLIC_KEY_LOADERS:
        found = loader(key)
        if found is not None:
            algorithm, key_id = found
            return PublicKey(algorithm, key_id, pem)
    raise ValueError(f"{path} holds a public key of an unsupported algorithm ({type(key).__name__})")


def _verify_ed25519(pem: str, payload: bytes, signature: bytes) -> bool:
    return ed25519_verifies(serialization.load_pem_public_key(pem.encode()), payload, signature)


def _load_ed25519(key: PublicKeyTypes) -> tuple[str, str] | None:
    return (ED25519, key_id_for(key)) if isinstance(key, Ed25519PublicKey) else None


class Ed25519Signer:
    algorithm = ED25519

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.key_id = key_id_for(private_key.public_key())

    @classmethod
    def generate(cls) -> Ed25519Signer:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem_file(cls, path: Path) -> Ed25519Signer:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 private key")
        return cls(key)

    def sign(self, payload: bytes) -> bytes:
        return self._key.sign(payload)

    def public_key(self) -> PublicKey:
        return PublicKey(self.algorithm, self.key_id, self.public_key_pem())

    def public_key_pem(self) -> str:
        return (
            self._key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def private_key_pem(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def write_key_pair(self, private_path: Path, public_path: Path) -> None:
        """Write the private key readable by the owner only, and the public key beside it."""
        private_path.parent.mkdir(parents=True, exist_ok=True)
        private_path.touch(mode=0o600, exist_ok=False)
        private_path.write_bytes(self.private_key_pem())
        public_path.write_text(self.public_key_pem())


register_verifier(ED25519, _verify_ed25519)
register_public_key_loader(_load_ed25519)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)
