"""The transparency log (RFC 6962): each stored event of the node is a leaf of an append-only Merkle tree.

Leaves are numbered 0, 1, 2 ... with no gaps, in the order of the node's log. Notification ids can have gaps
(after a PostgreSQL crash, say), so they are kept beside the leaf index, never used as it. The leaf is the
exact stored record: originator id, version, topic and the stored state bytes as the store holds them (the
encrypted bytes, where a payload is encrypted), so that erasing a key later leaves the tree valid.

Like a read model, the log follows the node's event log and writes each batch of leaves with its position in
ONE transaction of the view store: a crash inside a batch leaves neither, and no leaf is added twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Notification

from infra.log_follower import LogFollower, StoredPositions
from infra.transparency_tree import Frontier, consistency_proof, inclusion_proof, leaf_hash, root
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

    def leaf_hashes(self, size: int) -> list[bytes]:
        """The first ``size`` leaf hashes, in leaf order."""
        with self._store.transaction() as tx:
            rows = tx.fetchall(
                "SELECT leaf_hash FROM tlog_leaves WHERE leaf_index < ? ORDER BY leaf_index", (size,)
            )
        if len(rows) != size:
            raise ValueError(f"the log holds {len(rows)} leaves, not {size}")
        return [bytes.fromhex(row[0]) for row in rows]

    def root(self, size: int) -> bytes:
        """The root of the first ``size`` leaves. The latest size, the one heads are signed over, comes from
        a frontier kept in memory, which reads only the leaves appended since it was last asked."""
        if size < self._frontier.size:
            return root(self.leaf_hashes(size))
        with self._store.transaction() as tx:
            rows = tx.fetchall(
                "SELECT leaf_hash FROM tlog_leaves WHERE leaf_index >= ? AND leaf_index < ? "
                "ORDER BY leaf_index",
                (self._frontier.size, size),
            )
        if self._frontier.size + len(rows) != size:
            raise ValueError(f"the log holds fewer than {size} leaves")
        for (hashed,) in rows:
            self._frontier.append(bytes.fromhex(hashed))
        return self._frontier.root()

    def inclusion(self, leaf_index: int, size: int) -> list[bytes]:
        return inclusion_proof(leaf_index, self.leaf_hashes(size))

    def consistency(self, old_size: int, size: int) -> list[bytes]:
        return consistency_proof(old_size, self.leaf_hashes(size))

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

    def cosignatures(self, tree_size: int | None = None) -> dict[int, list[dict[str, Any]]]:
        """The cosignatures kept (of one head, or of all), by the tree size of the head each covers."""
        where, params = ("WHERE tree_size = ?", (tree_size,)) if tree_size is not None else ("", ())
        with self._store.transaction() as tx:
            rows = tx.fetchall(
                f"SELECT tree_size, {', '.join(COSIGNATURE_COLUMNS)} FROM tlog_cosignatures "  # noqa: S608
                f"{where} ORDER BY tree_size, witness",
                params,
            )
        found: dict[int, list[dict[str, Any]]] = {}
        for size, *values in rows:
            found.setdefault(int(size), []).append(dict(zip(COSIGNATURE_COLUMNS, values, strict=True)))
        return found

    def logged_leaves(self) -> list[tuple[int, bytes]]:
        """(notification id, leaf hash) of every leaf, in leaf order, as logged when each was appended."""
        with self._store.transaction() as tx:
            rows = tx.fetchall("SELECT notification_id, leaf_hash FROM tlog_leaves ORDER BY leaf_index")
        return [(int(n), bytes.fromhex(h)) for n, h in rows]

    def heads(self) -> list[dict[str, Any]]:
        """Every signed tree head, smallest first."""
        with self._store.transaction() as tx:
            rows = tx.fetchall(f"SELECT {', '.join(HEAD_COLUMNS)} FROM tlog_heads ORDER BY tree_size")  # noqa: S608
        return [dict(zip(HEAD_COLUMNS, row, strict=True)) for row in rows]
