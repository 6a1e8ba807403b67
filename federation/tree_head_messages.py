"""Tree heads and cosignatures to and from their protobuf messages. What comes from a peer is checked here:
protobuf accepts any bytes and any number, so a malformed head raises ValueError before anyone trusts it."""

from __future__ import annotations

from tongban.federation.v1 import federation_pb2 as pb

from federation.tree_heads import Cosignature, TreeHead

HASH_BYTES = 32
MAX_TEXT = 64
MAX_SIGNATURE_BYTES = 512


def head_to_message(head: TreeHead) -> pb.SignedTreeHead:
    return pb.SignedTreeHead(
        province=head.province,
        tree_size=head.tree_size,
        root_hash=bytes.fromhex(head.root_hash),
        signed_at=head.signed_at,
        key_id=head.key_id,
        signature=head.signature,
    )


def head_from_message(message: pb.SignedTreeHead) -> TreeHead:
    if len(message.root_hash) != HASH_BYTES:
        raise ValueError(f"root_hash must be {HASH_BYTES} bytes")
    if message.tree_size < 1:
        raise ValueError("tree_size must be at least 1")
    _text("province", message.province)
    _text("signed_at", message.signed_at)
    _text("key_id", message.key_id)
    _signature(message.signature)
    return TreeHead(
        province=message.province,
        tree_size=message.tree_size,
        root_hash=message.root_hash.hex(),
        signed_at=message.signed_at,
        key_id=message.key_id,
        signature=message.signature,
    )


def cosignature_to_message(cosignature: Cosignature) -> pb.Cosignature:
    return pb.Cosignature(
        witness_province=cosignature.witness,
        key_id=cosignature.key_id,
        cosigned_at=cosignature.cosigned_at,
        signature=cosignature.signature,
    )


def cosignature_from_message(message: pb.Cosignature) -> Cosignature:
    _text("witness_province", message.witness_province)
    _text("cosigned_at", message.cosigned_at)
    _text("key_id", message.key_id)
    _signature(message.signature)
    return Cosignature(message.witness_province, message.key_id, message.cosigned_at, message.signature)


def hashes_from_message(path: list[bytes]) -> list[bytes]:
    if any(len(node) != HASH_BYTES for node in path):
        raise ValueError(f"every proof node must be {HASH_BYTES} bytes")
    return list(path)


def _text(name: str, value: str) -> None:
    if not 1 <= len(value) <= MAX_TEXT or not value.isprintable():
        raise ValueError(f"{name} must be 1 to {MAX_TEXT} printable characters")


def _signature(value: bytes) -> None:
    if not 1 <= len(value) <= MAX_SIGNATURE_BYTES:
        raise ValueError(f"signature must be 1 to {MAX_SIGNATURE_BYTES} bytes")
