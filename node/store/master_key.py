"""The node's master key: it wraps every person's data key (``node/store/data_keys.py``) and nothing else.

A key file in the node's directory, made on first start (mode 0600) and never overwritten. The file holds
one line, ``tongban-master-key-v1 <key id> <base64 of 32 random bytes>``; the key id is public (every wrapped
data key names the master key that wrapped it), the rest is the secret.

Rotation (``tongban master-key rotate``) writes the successor beside the key as ``master.key.next`` before
it re-wraps anything, then re-wraps every data key in one transaction, and only then swaps the files: the
old key becomes ``master.key.retired-<id>``, which nothing needs any more. A rotation cut short at any point
is finished by running the command again: until then the node loads both keys.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = "tongban-master-key-v1"
KEY_BYTES = 32
NONCE_BYTES = 12


class MasterKeyError(RuntimeError):
    """The master key file is missing, malformed, or does not open a wrapped key; the message says which."""


@dataclass(frozen=True, slots=True)
class MasterKey:
    key_id: str
    secret: bytes

    @classmethod
    def generate(cls) -> MasterKey:
        secret = secrets.token_bytes(KEY_BYTES)
        return cls(hashlib.sha256(b"tongban-master-key-id:" + secret).hexdigest()[:16], secret)

    def wrap(self, data_key: bytes, bound_to: bytes) -> bytes:
        """AES-256-GCM of a data key; ``bound_to`` (its key id) makes a wrapped key useless in another row."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + AESGCM(self.secret).encrypt(nonce, data_key, bound_to)

    def unwrap(self, wrapped: bytes, bound_to: bytes) -> bytes:
        try:
            return AESGCM(self.secret).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], bound_to)
        except InvalidTag:
            raise MasterKeyError(f"master key {self.key_id} does not open a wrapped data key") from None

    def file_text(self) -> str:
        return f"{MAGIC} {self.key_id} {base64.b64encode(self.secret).decode()}\n"


def load(path: Path) -> MasterKey:
    try:
        magic, key_id, encoded = path.read_text().split()
        secret = base64.b64decode(encoded, validate=True)
    except (OSError, ValueError) as e:
        raise MasterKeyError(f"cannot read the master key {path}: {type(e).__name__}") from None
    if magic != MAGIC or len(secret) != KEY_BYTES:
        raise MasterKeyError(f"{path} is not a tongban master key")
    return MasterKey(key_id, secret)


def write_new(path: Path, key: MasterKey) -> None:
    """Write a key file that must not exist yet (never overwrite a key), durably, readable by the owner."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(key.file_text())
        file.flush()
        os.fsync(file.fileno())


def next_path(path: Path) -> Path:
    return path.with_name(path.name + ".next")


def retired_path(path: Path, key: MasterKey) -> Path:
    return path.with_name(f"{path.name}.retired-{key.key_id}")


class MasterKeyring:
    """The master key in use, and its successor while a rotation is unfinished. Wrapping uses the newest.

    A key id it does not know makes it read the files again: another process may have rotated meanwhile.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._keys: dict[str, MasterKey] = {}
        self.newest = self._reload()

    @classmethod
    def load_or_create(cls, path: Path) -> MasterKeyring:
        if not path.exists() and not next_path(path).exists():
            with contextlib.suppress(FileExistsError):  # another process of this node made it first
                write_new(path, MasterKey.generate())
        return cls(path)

    def _reload(self) -> MasterKey:
        if not self.path.exists() and not next_path(self.path).exists():
            raise MasterKeyError(f"no master key at {self.path}")
        loaded = [load(p) for p in (self.path, next_path(self.path)) if p.exists()]
        self._keys.update({key.key_id: key for key in loaded})
        self.newest = loaded[-1]
        return self.newest

    def rotation_unfinished(self) -> bool:
        return next_path(self.path).exists()

    def find(self, key_id: str) -> MasterKey:
        if key_id not in self._keys:
            self._reload()
        try:
            return self._keys[key_id]
        except KeyError:
            raise MasterKeyError(
                f"data keys are wrapped by master key {key_id}, which is not at {self.path}: "
                "restore that key file (or finish its rotation)"
            ) from None
