"""The transparency log (RFC 6962): each stored event of the node is a leaf of an append-only Merkle tree.

Leaves are numbered 0, 1, 2 ... with no gaps, in the order of the node's log. Notification ids can have gaps
(after a PostgreSQL crash, say), so they are kept beside the leaf index, never used as it. The leaf is the
exact stored record: originator id, version, topic and the stored state bytes as the store holds them (the
encrypted bytes, where a payload is encrypted), so that erasing a key later leaves the tree valid.

Like a read model, the log follows the node's event log and writes each batch of leaves with its position in
ONE transaction of the view store: a crash inside a batch leaves neither, and no leaf is added twice.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Notification

from infra.log_follower import LogFollower, StoredPositions
from infra.transparency_tree import (
    LEAF_PREFIX,
    Frontier,
    consistency_ranges,
    inclusion_ranges,
    leaf_hash,
    root,
)
from infra.view_store import Transaction, ViewStore

NAME = "transparency_log"
DDL = (
    """CREATE TABLE IF NOT EXISTS tlog_leaves (
        leaf_index BIGINT PRIMARY KEY,
        notification_id BIGINT NOT NULL UNIQUE,
        leaf_hash TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS tlog_heads (
        tree_size BIGINT PRIMARY KEY,
        root_hash TEXT NOT NULL,
        signed_at TEXT NOT NULL,
        key_id TEXT NOT NULL,
        signature TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS tlog_cosignatures (
        tree_size BIGINT NOT NULL,
        witness TEXT NOT NULL,
        key_id TEXT NOT NULL,
        cosigned_at TEXT NOT NULL,
        signature TEXT NOT NULL,
        PRIMARY KEY (tree_size, witness))""",
)
HEAD_COLUMNS = ("tree_size", "root_hash", "signed_at", "key_id", "signature")
COSIGNATURE_COLUMNS = ("witness", "key_id", "cosigned_at", "signature")
VERSION_PREFIX = (8).to_bytes(4, "big")
PAGE = 10_000  # rows a reader of the tree's tables holds at once
_LEAF_HEAD = struct.Struct(">cI")  # the leaf-hash prefix 0x00, then the originator id's length
_LEAF_MIDDLE = struct.Struct(">IQI")  # the version's length (8), the version, the topic's length
_sha256 = hashlib.sha256


def leaf_record(notification: Notification) -> bytes:
    return leaf_bytes(
        str(notification.originator_id),
        notification.originator_version,
        notification.topic,
        notification.state,
    )


def leaf_bytes(originator_id: str, version: int, topic: str, state: bytes) -> bytes:
    """The stored record as leaf data: each part length-prefixed (4 bytes, big-endian), so that no two records
    encode alike: originator id (text), version (8 bytes, big-endian), topic, stored state bytes."""
    originator = originator_id.encode()
    topic_bytes = topic.encode()
    return b"".join((
        len(originator).to_bytes(4, "big"), originator,
        VERSION_PREFIX, version.to_bytes(8, "big"),
        len(topic_bytes).to_bytes(4, "big"), topic_bytes,
        len(state).to_bytes(4, "big"), state,
    ))  # fmt: skip


def leaf_hashes(records: Iterable[tuple[int, str, int, str, bytes]]) -> list[bytes]:
    """The leaf hash, SHA-256(0x00 || leaf_bytes(...)), of each stored record given as (notification id,
    originator id, version, topic, state). The same bytes as ``leaf_bytes`` (a test holds them equal), built
    in one loop with its lookups hoisted: ``audit verify`` runs it once for every event of the log."""
    hashes: list[bytes] = []
    keep, head, middle = hashes.append, _LEAF_HEAD.pack, _LEAF_MIDDLE.pack
    for _id, originator_id, version, topic, state in records:
        originator, topic_bytes = originator_id.encode(), topic.encode()
        parts = (
            head(LEAF_PREFIX, len(originator)),
            originator,
            middle(8, version, len(topic_bytes)),
            topic_bytes,
        )
        keep(_sha256(b"".join((*parts, len(state).to_bytes(4, "big"), state))).digest())
    return hashes


class TransparencyLog:
    def __init__(self, app: Application[UUID], store: ViewStore, batch_size: int) -> None:
        self._store = store
        self._frontier = Frontier()
        # every topic: each stored event is a leaf
        self._log = LogFollower(app.recorder, NAME, (), batch_size, StoredPositions(store), self._append)
        with store.transaction() as tx:
            for statement in DDL:
                tx.execute(statement)

    def tick(self) -> int:
        """Append a leaf for every event the log holds beyond the last one; returns how many."""
        return self._log.catch_up()

    def _append(self, tx: Transaction, notifications: Sequence[Notification]) -> None:
        first = self._size(tx)
        tx.insert_many(
            "tlog_leaves",
            ("leaf_index", "notification_id", "leaf_hash"),
            [
                (first + offset, n.id, leaf_hash(leaf_record(n)).hex())
                for offset, n in enumerate(notifications)
            ],
        )

    def size(self) -> int:
        with self._store.transaction() as tx:
            return self._size(tx)

    @staticmethod
    def _size(tx: Transaction) -> int:
        [(last,)] = tx.fetchall("SELECT MAX(leaf_index) FROM tlog_leaves")
        return 0 if last is None else int(last) + 1

    def leaf_hash_pages(self, start: int, end: int) -> Iterator[list[bytes]]:
        """The hashes of leaves ``start`` to ``end - 1``, in leaf order, a page at a time: no reader holds a
        whole log's leaves. Raises ValueError when the log holds fewer."""
        after = start
        while after < end:
            with self._store.transaction() as tx:
                rows = tx.fetchall(
                    "SELECT leaf_index, leaf_hash FROM tlog_leaves WHERE leaf_index >= ? AND leaf_index < ? "
                    "ORDER BY leaf_index LIMIT ?",
                    (after, end, PAGE),
                )
            if not rows or rows[-1][0] != after + len(rows) - 1:  # indexes are unique: none is missing
                raise ValueError(f"the log does not hold every leaf from {after} to {end - 1}")
            after += len(rows)
            yield [bytes.fromhex(hashed) for _index, hashed in rows]

    def _range_root(self, start: int, end: int) -> bytes:
        return root(hashed for page in self.leaf_hash_pages(start, end) for hashed in page)

    def root(self, size: int) -> bytes:
        """The root of the first ``size`` leaves. The latest size, the one heads are signed over, comes from
        a frontier kept in memory, which reads only the leaves appended since it was last asked."""
        if size < self._frontier.size:
            return self._range_root(0, size)
        for page in self.leaf_hash_pages(self._frontier.size, size):
            self._frontier.extend(page)
        return self._frontier.root()

    def leaf(self, leaf_index: int) -> tuple[int, bytes]:
        """(notification id, leaf hash) of one leaf, as logged when it was appended."""
        with self._store.transaction() as tx:
            rows = tx.fetchall(
                "SELECT notification_id, leaf_hash FROM tlog_leaves WHERE leaf_index = ?", (leaf_index,)
            )
        if not rows:
            raise ValueError(f"the log holds no leaf {leaf_index}")
        [(notification_id, hashed)] = rows
        return int(notification_id), bytes.fromhex(hashed)

    def inclusion(self, leaf_index: int, size: int) -> list[bytes]:
        return self.inclusions([leaf_index], size)[leaf_index]

    def inclusions(self, leaf_indexes: Sequence[int], size: int) -> dict[int, list[bytes]]:
        """The audit path of each of these leaves in the tree of ``size``. Paths of nearby leaves share their
        upper nodes (the largest subtrees), so each distinct subtree's leaves are read once."""
        paths = {index: inclusion_ranges(index, size) for index in leaf_indexes}
        roots = {leaves: self._range_root(*leaves) for leaves in {r for path in paths.values() for r in path}}
        return {index: [roots[leaves] for leaves in path] for index, path in paths.items()}

    def consistency(self, old_size: int, size: int) -> list[bytes]:
        return [self._range_root(start, end) for start, end in consistency_ranges(old_size, size)]

    def record_head(self, head: dict[str, Any]) -> None:
        """Keep a signed tree head (the node publishes each one it signs; witnesses ask for them)."""
        with self._store.transaction() as tx:
            tx.insert_many("tlog_heads", HEAD_COLUMNS, [tuple(head[c] for c in HEAD_COLUMNS)])

    def latest_head(self) -> dict[str, Any] | None:
        with self._store.transaction() as tx:
            rows = tx.fetchall(
                f"SELECT {', '.join(HEAD_COLUMNS)} FROM tlog_heads ORDER BY tree_size DESC LIMIT 1"  # noqa: S608
            )
        return dict(zip(HEAD_COLUMNS, rows[0], strict=True)) if rows else None

    def head(self, tree_size: int) -> dict[str, Any] | None:
        with self._store.transaction() as tx:
            rows = tx.fetchall(
                f"SELECT {', '.join(HEAD_COLUMNS)} FROM tlog_heads WHERE tree_size = ?",  # noqa: S608
                (tree_size,),
            )
        return dict(zip(HEAD_COLUMNS, rows[0], strict=True)) if rows else None

    def record_cosignature(self, tree_size: int, cosignature: dict[str, Any]) -> None:
        """Keep a witness's cosignature of the head of ``tree_size`` (once per witness and head)."""
        with self._store.transaction() as tx:
            tx.execute(
                "INSERT INTO tlog_cosignatures (tree_size, witness, key_id, cosigned_at, signature) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (tree_size, *(cosignature[c] for c in COSIGNATURE_COLUMNS)),
            )

    def cosignatures(self, tree_size: int) -> list[dict[str, Any]]:
        """The cosignatures kept of the head of ``tree_size``."""
        with self._store.transaction() as tx:
            rows = tx.fetchall(
                f"SELECT {', '.join(COSIGNATURE_COLUMNS)} FROM tlog_cosignatures "  # noqa: S608
                "WHERE tree_size = ? ORDER BY witness",
                (tree_size,),
            )
        return [dict(zip(COSIGNATURE_COLUMNS, row, strict=True)) for row in rows]

    def holds_cosignatures(self) -> bool:
        with self._store.transaction() as tx:
            return bool(tx.fetchall("SELECT 1 FROM tlog_cosignatures LIMIT 1"))

    def leaf_indexes(self, notification_ids: Sequence[int]) -> dict[int, int]:
        """The leaf index of each of these notifications that the log holds, by notification id."""
        found: dict[int, int] = {}
        for first in range(0, len(notification_ids), PAGE):
            chosen = list(notification_ids[first : first + PAGE])
            with self._store.transaction() as tx:
                rows = tx.fetchall(
                    "SELECT notification_id, leaf_index FROM tlog_leaves "  # noqa: S608 - placeholders only
                    f"WHERE notification_id IN ({', '.join('?' * len(chosen))})",
                    chosen,
                )
            found |= {int(n): int(i) for n, i in rows}
        return found

    def logged_leaf_pages(self) -> Iterator[tuple[list[int], list[bytes]]]:
        """The notification ids and the leaf hashes of every leaf, in leaf order, as logged when each was
        appended, a page at a time."""
        after = 0
        while True:
            with self._store.transaction() as tx:
                rows = tx.fetchall(
                    "SELECT leaf_index, notification_id, leaf_hash FROM tlog_leaves WHERE leaf_index >= ? "
                    "ORDER BY leaf_index LIMIT ?",
                    (after, PAGE),
                )
            if rows:
                yield [row[1] for row in rows], [bytes.fromhex(row[2]) for row in rows]
            if len(rows) < PAGE:
                return
            after = int(rows[-1][0]) + 1

    def signed_heads(self) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """Every signed tree head, smallest first, with the cosignatures kept of it, a page at a time."""
        after = 0
        while True:
            with self._store.transaction() as tx:
                rows = tx.fetchall(
                    f"SELECT {', '.join(HEAD_COLUMNS)} FROM tlog_heads WHERE tree_size > ? "  # noqa: S608
                    "ORDER BY tree_size LIMIT ?",
                    (after, PAGE),
                )
                heads = [dict(zip(HEAD_COLUMNS, row, strict=True)) for row in rows]
                last = heads[-1]["tree_size"] if heads else after
                cosigned = tx.fetchall(
                    f"SELECT tree_size, {', '.join(COSIGNATURE_COLUMNS)} FROM tlog_cosignatures "  # noqa: S608
                    "WHERE tree_size > ? AND tree_size <= ? ORDER BY tree_size, witness",
                    (after, last),
                )
            of_size: dict[int, list[dict[str, Any]]] = {}
            for size, *values in cosigned:
                of_size.setdefault(int(size), []).append(dict(zip(COSIGNATURE_COLUMNS, values, strict=True)))
            yield from ((head, of_size.get(head["tree_size"], [])) for head in heads)
            if len(rows) < PAGE:
                return
            after = last
