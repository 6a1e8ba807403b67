"""The transparency log over a node's store, on SQLite and PostgreSQL: one leaf per stored event, gap-free, in
the log's order, each the exact stored record; its proofs verify with the independent verifier."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.persistence import Notification
from hypothesis import given
from hypothesis import strategies as st

from federation.transparency_verify import verify_consistency, verify_inclusion
from infra.transparency_tree import leaf_hash
from node.services import Services
from node.usecases.case_commands import ACCEPT
from projections.transparency_log import TransparencyLog, leaf_bytes, leaf_hashes, leaf_record
from tests.builders import FakeClock
from tests.integration.test_case_service import JS_HANDLER, proxy_case


def test_every_stored_event_is_a_leaf_and_every_proof_verifies(node: Services, clock: FakeClock) -> None:
    log = TransparencyLog(node.app, node.views, batch_size=7)  # small batches: many of them
    proxy_case(node, clock)
    assert log.tick() > 0
    first_size = log.size()
    first_root = log.root(first_size)
    case_id = proxy_case(node, clock)
    node.cases.run(ACCEPT, case_id, JS_HANDLER)
    log.tick()
    assert log.tick() == 0  # nothing appended twice

    notifications = node.app.recorder.select_notifications(start=1, limit=1_000_000)
    size = log.size()
    assert size == len(notifications) > first_size
    leaves = [hashed for page in log.leaf_hash_pages(0, size) for hashed in page]
    assert leaves == [leaf_hash(leaf_record(n)) for n in notifications]  # the stored records, in log order
    head = log.root(size)
    for index in range(size):
        assert verify_inclusion(index, size, leaves[index], log.inclusion(index, size), head)
    assert verify_consistency(first_size, size, first_root, head, log.consistency(first_size, size))


def test_leaf_records_differ_when_any_part_of_the_stored_record_differs(
    node: Services, clock: FakeClock
) -> None:
    proxy_case(node, clock)
    records = [leaf_record(n) for n in node.app.recorder.select_notifications(start=1, limit=1000)]
    assert len(set(records)) == len(records)


def test_the_leaf_encoding_never_changes() -> None:
    """Signed heads and witnesses' cosignatures hold roots over these bytes: a change would break them all."""
    record = Notification(
        originator_id=UUID("6f1c2a34-0d5e-4b7a-9c11-2e3f4a5b6c7d"),
        originator_version=3,
        topic="aggregates.case:Case.Accepted",
        state=b'{"a":1}',
        id=12,
    )
    assert leaf_record(record).hex() == (
        "00000024" + b"6f1c2a34-0d5e-4b7a-9c11-2e3f4a5b6c7d".hex()
        + "00000008" + "0000000000000003"
        + "0000001d" + b"aggregates.case:Case.Accepted".hex()
        + "00000007" + b'{"a":1}'.hex()
    )  # fmt: skip
    assert leaf_hash(leaf_record(record)).hex() == (
        "2b879516eda11f9ca2aee2b124675af016910299a7809c31e0c567b1b5a3540e"
    )
    [hashed] = leaf_hashes([(12, str(record.originator_id), 3, record.topic, record.state)])
    assert hashed.hex() == "2b879516eda11f9ca2aee2b124675af016910299a7809c31e0c567b1b5a3540e"


@given(
    st.lists(st.tuples(st.uuids(), st.integers(0, 2**64 - 1), st.text(max_size=80), st.binary(max_size=3000)))
)
def test_the_audits_batch_hashing_gives_the_leaf_hash_of_each_record(
    records: list[tuple[UUID, int, str, bytes]],
) -> None:
    """``audit verify`` hashes a batch at once; each hash must be the one of the leaf's documented bytes."""
    batch = [
        (n, str(originator), version, topic, state)
        for n, (originator, version, topic, state) in enumerate(records)
    ]
    assert leaf_hashes(batch) == [leaf_hash(leaf_bytes(*record[1:])) for record in batch]
