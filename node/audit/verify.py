"""`tongban audit verify`: recompute a node's transparency tree from its event store and check it against the
leaves the node logged and every tree head it signed, so that a row changed, deleted, inserted, reordered or
truncated in the database shows, at the first leaf where the store no longer says what was logged."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from eventsourcing.persistence import ApplicationRecorder

from federation.tree_heads import Cosignature, SignatureCheck, cosignature_payload
from infra.transparency_tree import Frontier, leaf_hash
from node.signing import PublicKey
from node.store.stored_records import stored_records
from node.usecases.transparency import tree_head
from projections.transparency_log import TransparencyLog, leaf_bytes


@dataclass(frozen=True)
class AuditReport:
    leaves_checked: int
    heads_checked: int
    first_bad_index: int | None = None  # None: the store says exactly what was logged and signed
    problem: str = ""
    event: str = ""  # what the store holds at that leaf now: notification id, originator, version, topic

    @property
    def clean(self) -> bool:
        return self.first_bad_index is None and not self.problem


def recompute(recorder: ApplicationRecorder, progress: Callable[[int], None]) -> list[tuple[int, bytes]]:
    """(notification id, leaf hash) of every stored event, in the order of the log."""
    leaves: list[tuple[int, bytes]] = []
    for batch in stored_records(recorder):
        leaves += [(n, leaf_hash(leaf_bytes(o, v, t, s))) for n, o, v, t, s in batch]
        progress(len(leaves))
    return leaves


def verify(
    recorder: ApplicationRecorder,
    log: TransparencyLog,
    province: str,
    public_keys: Sequence[PublicKey],
    witness_keys: Mapping[str, SignatureCheck],
    progress: Callable[[int], None] = lambda _done: None,
) -> AuditReport:
    """Check the store against the logged leaves, every signed head (its signature with ``public_keys``, the
    node's own) and every cosignature kept (with ``witness_keys``, the witnesses' manifest keys)."""
    now = recompute(recorder, progress)
    logged = log.logged_leaves()
    heads = log.heads()
    checked = min(len(now), len(logged))
    for index in range(len(logged)):
        if index >= len(now):
            return AuditReport(
                checked, 0, index, f"leaf {index} was logged, but the store no longer holds an event there"
            )
        if now[index] != logged[index]:
            return AuditReport(
                checked,
                0,
                index,
                "the stored event differs from the one logged",
                _describe(recorder, now[index][0]),
            )
    keys = {key.key_id: key for key in public_keys}
    cosignatures = log.cosignatures()
    frontier = Frontier()
    for number, head in enumerate(heads, 1):
        key = keys.get(head["key_id"])
        signed = tree_head(head, province)
        if key is None or not key.verify(signed.payload(), signed.signature):
            return AuditReport(
                checked, number, None, f"the head of size {head['tree_size']} is not signed by this node"
            )
        size = head["tree_size"]
        for _id, hashed in now[frontier.size : size]:
            frontier.append(hashed)
        if frontier.size != size or frontier.root().hex() != head["root_hash"]:
            after = heads[number - 2]["tree_size"] if number > 1 else 0
            return AuditReport(
                checked,
                number,
                None,
                f"the store does not give the root signed for size {size}: a leaf from {after} to {size - 1} "
                "was changed, in the store and in the logged leaves alike",
            )
        for document in cosignatures.get(size, []):
            cosignature = Cosignature.from_json(document)
            check = witness_keys.get(cosignature.witness)
            payload = cosignature_payload(signed, cosignature.witness, cosignature.cosigned_at)
            if check is None or not check(payload, cosignature.signature):
                return AuditReport(
                    checked,
                    number,
                    None,
                    f"the cosignature of province {cosignature.witness} over the head of size {size} "
                    "does not verify with that province's manifest key",
                )
    return AuditReport(checked, len(heads))


def _describe(recorder: ApplicationRecorder, notification_id: int) -> str:
    [held] = recorder.select_notifications(start=notification_id, limit=1)
    return f"notification {held.id}: {held.originator_id} version {held.originator_version} {held.topic}"
