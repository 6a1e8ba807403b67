"""The IETF Token Status List: one entry of 2 bits per credential in a compressed byte array, signed.

Chosen over the W3C Bitstring Status List because it is made for SD-JWT (a credential's ``status`` claim
points at an index in a list) and signs the list as a plain JWT with the same key, while the W3C list is a
Verifiable Credential of the W3C data model, which nothing else here uses. Two bits give four statuses:
VALID, INVALID (revoked for good), SUSPENDED (reversible) and a fourth the format leaves to applications,
not used here.

Entry ``i`` sits in byte ``i * bits // 8``, least significant bits first; the array is DEFLATE-compressed
with the ZLIB format and base64url-encoded as ``lst``. The token carries ``ttl``: how long a verifier may keep
it before fetching again.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, TypeGuard

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from credentials.jose import Invalid, JwsSigner, b64url, sign_compact, unb64url, verify_compact

TOKEN_TYPE = "statuslist+jwt"  # noqa: S105 - a media type, not a secret
BITS = 2
MIN_ENTRIES = 131_072  # herd privacy: a list this long says little about whose credential a fetch concerns
MAX_ENTRIES = 1 << 24  # what a verifier accepts from a peer: a bound on the memory a list may take


class CredentialStatus(IntEnum):
    VALID = 0x00
    INVALID = 0x01
    SUSPENDED = 0x02


class StatusList:
    """A mutable list of ``size`` entries of :data:`BITS` bits, all VALID at first."""

    def __init__(self, size: int, data: bytes | None = None) -> None:
        if size <= 0 or size % (8 // BITS):
            raise ValueError("size must be a positive multiple of 4")
        self.size = size
        self._bytes = bytearray(data if data is not None else size * BITS // 8)
        if len(self._bytes) != size * BITS // 8:
            raise ValueError("data does not hold size entries")

    def __getitem__(self, index: int) -> CredentialStatus:
        self._check(index)
        byte, shift = divmod(index * BITS, 8)
        return CredentialStatus((self._bytes[byte] >> shift) & ((1 << BITS) - 1))

    def __setitem__(self, index: int, status: CredentialStatus) -> None:
        self._check(index)
        byte, shift = divmod(index * BITS, 8)
        mask = ((1 << BITS) - 1) << shift
        self._bytes[byte] = (self._bytes[byte] & ~mask) | (int(status) << shift)

    def not_valid(self) -> dict[int, CredentialStatus]:
        """Every entry that is not VALID, by index (a sparse list skips its zero bytes)."""
        per_byte, mask = 8 // BITS, (1 << BITS) - 1
        found = {}
        for byte_index, byte in enumerate(self._bytes):
            if byte:
                for slot in range(per_byte):
                    if value := (byte >> (slot * BITS)) & mask:
                        found[byte_index * per_byte + slot] = CredentialStatus(value)
        return found

    def _check(self, index: int) -> None:
        if not 0 <= index < self.size:
            raise IndexError("no such entry in the status list")

    def encoded(self) -> str:
        return b64url(zlib.compress(bytes(self._bytes), 9))

    @classmethod
    def decode(cls, bits: Any, lst: Any) -> StatusList:
        if bits != BITS or not isinstance(lst, str):
            raise Invalid("STATUS_LIST_MALFORMED")
        inflater = zlib.decompressobj()
        try:
            data = inflater.decompress(unb64url(lst), MAX_ENTRIES * BITS // 8 + 1)
        except zlib.error:
            raise Invalid("STATUS_LIST_MALFORMED") from None
        if not inflater.eof or not data or len(data) > MAX_ENTRIES * BITS // 8:
            raise Invalid("STATUS_LIST_MALFORMED")  # truncated, empty, or a bomb beyond the bound
        return cls(len(data) * 8 // BITS, data)


@dataclass(frozen=True)
class StatusListToken:
    """A verified list: whose it is (``sub``), when signed, for how long it may be kept, and its entries."""

    uri: str
    issued_at: int
    ttl: int
    entries: StatusList
    token: str  # as signed: kept as it is, so it can be passed on and checked again

    @classmethod
    def sign(cls, uri: str, entries: StatusList, *, at: int, ttl: int, signer: JwsSigner) -> StatusListToken:
        payload = {
            "sub": uri,
            "iat": at,
            "ttl": ttl,
            "status_list": {"bits": BITS, "lst": entries.encoded()},
        }
        return cls(uri, at, ttl, entries, sign_compact({"typ": TOKEN_TYPE}, payload, signer))

    @classmethod
    def verify(cls, token: str, key: Ed25519PublicKey) -> StatusListToken:
        _, payload = verify_compact(token, key, TOKEN_TYPE)
        listed, uri = payload.get("status_list"), payload.get("sub")
        at, ttl = payload.get("iat"), payload.get("ttl")
        if not (isinstance(listed, dict) and isinstance(uri, str) and _whole(at) and _whole(ttl)):
            raise Invalid("STATUS_LIST_MALFORMED")
        return cls(uri, at, ttl, StatusList.decode(listed.get("bits"), listed.get("lst")), token)


def _whole(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
