"""`tongban audit verify`: recompute a node's transparency tree from its event store and check it against the
leaves the node logged and every tree head it signed, so that a row changed, deleted, inserted, reordered or
truncated in the database shows, at the first leaf where the store no longer says what was logged.

It streams: the store's records, the logged leaves and the signed heads are each read a page at a time, side
by side, and the tree is folded with a frontier (O(log n) hashes), so its memory does not grow with the log.
Each head is checked as the frontier reaches its size. The leaves still come first: a bad leaf anywhere is
reported before a bad head, as when every leaf was compared before any head."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from eventsourcing.persistence import ApplicationRecorder

from federation.tree_heads import Cosignature, SignatureCheck, cosignature_payload
from infra.read_ahead import read_ahead
from infra.transparency_tree import Frontier
from node.signing import PublicKey
from node.store.stored_records import stored_records
from node.usecases.transparency import tree_head
from projections.transparency_log import TransparencyLog, leaf_hashes

log = structlog.get_logger("tongban.audit")


@dataclass(frozen=True)
class AuditReport:
    leaves_checked: int  # leaves of the store compared with the logged ones before the first bad one
    heads_checked: int
    first_bad_index: int | None = None  # None: the store says exactly what was logged and signed
    problem: str = ""
    event: str = ""  # what the store holds at that leaf now: notification id, originator, version, topic

    @property
    def clean(self) -> bool:
        return self.first_bad_index is None and not self.problem


class _Logged:
    """The logged leaves as a stream that gives as many as asked, whatever the size of the pages read."""

    def __init__(self, pages: Iterator[tuple[list[int], list[bytes]]]) -> None:
        self._pages, self._at = pages, 0
        self._ids: list[int] = []
        self._hashes: list[bytes] = []

    def take(self, wanted: int) -> tuple[list[int], list[bytes]]:
        """(notification ids, leaf hashes) of the next ``wanted`` leaves, or of as many as are left."""
        ids: list[int] = []
        hashes: list[bytes] = []
        while len(ids) < wanted:
            if self._at == len(self._ids):
                page = next(self._pages, None)
                if page is None:
                    break
                (self._ids, self._hashes), self._at = page, 0
            if not ids and self._at == 0 and len(self._ids) == wanted:  # a page as long as the batch: as is
                ids, hashes, self._at = self._ids, self._hashes, wanted
                break
            upto = min(len(self._ids), self._at + wanted - len(ids))
            ids += self._ids[self._at : upto]
            hashes += self._hashes[self._at : upto]
            self._at = upto
        return ids, hashes


class _Heads:
    """The signed heads in order of size, each checked (signature, root, cosignatures) when the frontier
    reaches its size. The first bad one is kept as ``problem`` and ends the heads' checks."""

    def __init__(
        self,
        heads: Iterator[tuple[dict[str, Any], list[dict[str, Any]]]],
        public_keys: Sequence[PublicKey],
        province: str,
        witness_keys: Mapping[str, SignatureCheck],
    ) -> None:
        self._heads, self._keys = heads, {key.key_id: key for key in public_keys}
        self._province, self._witness_keys = province, witness_keys
        self._next = next(self._heads, None)
        self.checked, self.problem, self._previous_size = 0, "", 0

    def extend(self, frontier: Frontier, hashes: list[bytes]) -> None:
        """Append ``hashes`` to ``frontier``, checking each head whose size is reached on the way."""
        done = 0
        while done < len(hashes):
            if self._next is None:
                frontier.extend(hashes[done:] if done else hashes)
                return
            upto = min(len(hashes), done + self._next[0]["tree_size"] - frontier.size)
            frontier.extend(hashes[done:upto])
            done = upto
            self.check_reached(frontier)

    def check_reached(self, frontier: Frontier) -> None:
        while self._next is not None and self._next[0]["tree_size"] <= frontier.size:
            self._check(*self._next, frontier)

    def check_rest(self, frontier: Frontier) -> None:
        """The heads past the store's last leaf: the store cannot give their roots."""
        while self._next is not None:
            self._check(*self._next, frontier)

    def _check(self, head: dict[str, Any], cosignatures: list[dict[str, Any]], frontier: Frontier) -> None:
        self.checked += 1
        self._next = next(self._heads, None)
        size = head["tree_size"]
        key = self._keys.get(head["key_id"])
        signed = tree_head(head, self._province)
        if key is None or not key.verify(signed.payload(), signed.signature):
            self._fail(f"the head of size {size} is not signed by this node")
        elif frontier.size != size or frontier.root().hex() != head["root_hash"]:
            self._fail(
                f"the store does not give the root signed for size {size}: a leaf from {self._previous_size} "
                f"to {size - 1} was changed, in the store and in the logged leaves alike"
            )
        else:
            for document in cosignatures:
                cosignature = Cosignature.from_json(document)
                check = self._witness_keys.get(cosignature.witness)
                payload = cosignature_payload(signed, cosignature.witness, cosignature.cosigned_at)
                if check is None or not check(payload, cosignature.signature):
                    self._fail(
                        f"the cosignature of province {cosignature.witness} over the head of size {size} "
                        "does not verify with that province's manifest key"
                    )
                    return
        self._previous_size = size

    def _fail(self, problem: str) -> None:
        self.problem, self._next = problem, None


def verify(
    recorder: ApplicationRecorder,
    transparency_log: TransparencyLog,
    province: str,
    public_keys: Sequence[PublicKey],
    witness_keys: Mapping[str, SignatureCheck],
    progress: Callable[[int], None] = lambda _done: None,
) -> AuditReport:
    """Check the store against the logged leaves, every signed head (its signature with ``public_keys``, the
    node's own) and every cosignature kept (with ``witness_keys``, the witnesses' manifest keys)."""
    started = time.monotonic()
    log.info("audit.verify_started", province=province)
    report = _verify(recorder, transparency_log, province, public_keys, witness_keys, progress)
    log.info(
        "audit.verify_finished",
        province=province,
        clean=report.clean,
        leaves=report.leaves_checked,
        heads=report.heads_checked,
        first_bad_index=report.first_bad_index,
        seconds=round(time.monotonic() - started, 3),
    )
    return report


def _verify(
    recorder: ApplicationRecorder,
    transparency_log: TransparencyLog,
    province: str,
    public_keys: Sequence[PublicKey],
    witness_keys: Mapping[str, SignatureCheck],
    progress: Callable[[int], None],
) -> AuditReport:
    # the store's pages and the logged leaves are read ahead, each in a thread, while this one hashes
    with (
        read_ahead(stored_records(recorder)) as batches,
        read_ahead(transparency_log.logged_leaf_pages()) as logged_pages,
    ):
        logged = _Logged(logged_pages)
        heads = _Heads(transparency_log.signed_heads(), public_keys, province, witness_keys)
        frontier = Frontier()
        heads.check_reached(frontier)
        compared = 0  # leaves of the store compared with logged ones; the store may run ahead of the log
        for batch in batches:
            hashes = leaf_hashes(batch)
            logged_ids, logged_hashes = logged.take(len(batch))
            if logged_ids:
                ids = [record[0] for record in batch[: len(logged_ids)]]
                if ids != logged_ids or hashes[: len(logged_hashes)] != logged_hashes:
                    bad = next(
                        i
                        for i, (n, h) in enumerate(zip(logged_ids, logged_hashes, strict=True))
                        if (n, h) != (ids[i], hashes[i])
                    )
                    return AuditReport(
                        compared + bad,
                        heads.checked,
                        compared + bad,
                        "the stored event differs from the one logged",
                        _describe(recorder, ids[bad]),
                    )
                compared += len(logged_ids)
            heads.extend(frontier, hashes)
            progress(frontier.size)
        if logged.take(1)[0]:
            return AuditReport(
                compared,
                heads.checked,
                frontier.size,
                f"leaf {frontier.size} was logged, but the store no longer holds an event there",
            )
    heads.check_rest(frontier)
    return AuditReport(compared, heads.checked, None, heads.problem)


def _describe(recorder: ApplicationRecorder, notification_id: int) -> str:
    [held] = recorder.select_notifications(start=notification_id, limit=1)
    return f"notification {held.id}: {held.originator_id} version {held.originator_version} {held.topic}"
