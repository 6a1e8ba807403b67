"""TransparencyService over an in-memory store: signed tree heads over the node's log, inclusion and
consistency proofs that an auditor can check, witnesses' cosignatures kept only when they verify."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from aggregates.errors import InvalidField
from federation.transparency_verify import verify_consistency, verify_inclusion
from federation.tree_heads import Cosignature, TreeHead, cosignature_payload
from node.services import Services
from node.signing import Ed25519Signer
from node.usecases.transparency import tree_head
from tests.builders import ACTOR, FakeClock, issue_fields

WITNESS = "320000"


def grow(node: Services, n: int = 0) -> None:
    """Four more events: a certificate issued, its number claimed, its holder index opened and added to."""
    node.certificates.issue(ACTOR, **issue_fields(n, date(2025, 9, 1)))


def published(node: Services) -> dict[str, Any]:
    head = node.transparency.publish_head()
    assert head is not None, "the log grew: a new head is signed"
    return head


def proven_consistent(node: Services, first: dict[str, Any], second: dict[str, Any]) -> bool:
    """Whether the node's consistency proof between two of its heads checks against their signed roots."""
    sizes = first["tree_size"], second["tree_size"]
    roots = bytes.fromhex(first["root_hash"]), bytes.fromhex(second["root_hash"])
    path = [bytes.fromhex(h) for h in node.transparency.consistency(*sizes)["path"]]
    return verify_consistency(*sizes, *roots, path)


def cosign(head: TreeHead, witness: Ed25519Signer, at: str = "2025-09-24T10:00:00+08:00") -> Cosignature:
    return Cosignature(WITNESS, witness.key_id, at, witness.sign(cosignature_payload(head, WITNESS, at)))


def test_a_head_covers_every_event_is_signed_by_the_node_and_is_not_repeated(
    node: Services, clock: FakeClock
) -> None:
    head = published(node)
    assert head["tree_size"] == node.app.recorder.max_notification_id()  # the catalogue's events
    assert (head["signed_at"], head["key_id"]) == (
        clock.now.isoformat(),
        node.certificates.public_keys()[0].key_id,
    )
    [key] = node.certificates.public_keys()
    signed = tree_head(head, "310000")
    assert key.verify(signed.payload(), signed.signature)
    assert node.transparency.publish_head() is None  # nothing new
    latest = node.transparency.latest_head()
    assert latest is not None
    assert (latest["province"], latest["tree_size"], latest["cosignatures"]) == (
        "310000",
        head["tree_size"],
        [],
    )


def test_proofs_check_against_the_signed_roots(node: Services) -> None:
    first = published(node)
    grow(node)
    second = published(node)
    assert second["tree_size"] == first["tree_size"] + 4
    assert proven_consistent(node, first, second)
    assert not proven_consistent(node, {**first, "root_hash": second["root_hash"]}, second)
    last = second["tree_size"] - 1
    inclusion = node.transparency.inclusion(last, second["tree_size"])
    assert verify_inclusion(
        last,
        second["tree_size"],
        bytes.fromhex(inclusion["leaf_hash"]),
        [bytes.fromhex(h) for h in inclusion["path"]],
        bytes.fromhex(second["root_hash"]),
    )
    assert not verify_inclusion(  # the same proof does not place the leaf anywhere else
        last - 1,
        second["tree_size"],
        bytes.fromhex(inclusion["leaf_hash"]),
        [bytes.fromhex(h) for h in inclusion["path"]],
        bytes.fromhex(second["root_hash"]),
    )


def test_proofs_end_only_at_signed_sizes_and_refuse_bad_ranges(node: Services) -> None:
    with pytest.raises(InvalidField) as unsigned:
        node.transparency.inclusion(0, 1)  # no head signed yet
    assert unsigned.value.field == "tree_size"
    head = published(node)
    size = head["tree_size"]
    refusals: list[tuple[Callable[[], object], str]] = [
        (lambda: node.transparency.inclusion(0, size + 1), "tree_size"),
        (lambda: node.transparency.inclusion(0, size - 1), "tree_size"),  # below the head, never signed
        (lambda: node.transparency.inclusion(size, size), "leaf_index"),
        (lambda: node.transparency.inclusion(-1, size), "leaf_index"),
        (lambda: node.transparency.consistency(0, size), "first"),
        (lambda: node.transparency.consistency(size, size + 3), "second"),
    ]
    for call, field in refusals:
        with pytest.raises(InvalidField) as refused:
            call()
        assert refused.value.field == field


def test_a_witness_cosignature_is_kept_only_for_a_signed_head_and_the_witness_key(node: Services) -> None:
    head = published(node)
    signed = tree_head(head, "310000")
    witness, impostor = Ed25519Signer.generate(), Ed25519Signer.generate()
    by_witness = witness.public_key().verify
    with pytest.raises(InvalidField) as forged:
        node.transparency.accept_cosignature(signed, cosign(signed, impostor), by_witness)
    assert forged.value.field == "cosignature"
    other_root = TreeHead(
        "310000", signed.tree_size, "00" * 32, signed.signed_at, signed.key_id, signed.signature
    )
    with pytest.raises(InvalidField) as unknown:
        node.transparency.accept_cosignature(other_root, cosign(other_root, witness), by_witness)
    assert unknown.value.field == "head"
    latest = node.transparency.latest_head()
    assert latest is not None
    assert latest["cosignatures"] == []
    cosignature = cosign(signed, witness)
    node.transparency.accept_cosignature(signed, cosignature, by_witness)
    latest = node.transparency.latest_head()
    assert latest is not None
    assert latest["cosignatures"] == [cosignature.as_json()]
