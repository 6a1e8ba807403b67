"""The quarantine: events from a peer that this node's inbox refused, with every later event of the same
stream, held in a table of the event store's database (SQLite or PostgreSQL) so that one bad event holds back
only its own stream and the rest of the peer's feed keeps flowing.

A row is one held event: the peer, the stream (a case's or applicant's aggregate id, or a certificate's id for
a status notice), its version (a notice's log position), its position in the peer's log, its topic, why it
is held (the inbox's own words, never the event's content) and when it was first and last seen. The event's
wire bytes are kept too, for an operator's retry, sealed with the node's master key (AES-256-GCM, bound to the
row's peer, stream and version; ``master_key_id`` names the key): a held applicant event carries a person's
identity, and personal data is never stored unsealed. A held applicant's identity is deleted with the rows
when the peer's erasure notice names it (``forget``); a master key rotation wraps the rows again (``rewrap``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from infra.store_reads import read_transaction

NOTICE_TOPIC = "certificate_notice"  # a held certificate status notice (not an event: no class topic)

_DDL = (
    "CREATE TABLE IF NOT EXISTS {table} (peer TEXT NOT NULL, stream_id TEXT NOT NULL, "
    "version BIGINT NOT NULL, "
    "position BIGINT NOT NULL, topic TEXT NOT NULL, reason TEXT NOT NULL, "
    "master_key_id TEXT NOT NULL, sealed {blob} NOT NULL, "
    "first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, PRIMARY KEY (peer, stream_id, version))"
)


@dataclass(frozen=True)
class HeldEvent:
    peer: str
    stream_id: str
    version: int
    position: int
    topic: str
    reason: str
    state: bytes


@dataclass(frozen=True)
class QuarantinedStream:
    """What ``/readyz`` and the CLI show of one held stream: no event content."""

    peer: str
    stream_id: str
    from_version: int
    events: int
    reason: str  # why its first held event was refused
    first_seen: str
    last_seen: str

    def describe(self) -> dict[str, object]:
        return {
            "stream_id": self.stream_id,
            "from_version": self.from_version,
            "events": self.events,
            "reason": self.reason,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
        }


class SealingKey(Protocol):
    """The node's master key (``node/store/master_key.py``), as the quarantine uses it: AES-256-GCM."""

    @property
    def key_id(self) -> str: ...

    def wrap(self, data: bytes, bound_to: bytes, /) -> bytes: ...

    def unwrap(self, wrapped: bytes, bound_to: bytes, /) -> bytes: ...


class Keyring(Protocol):
    """The node's master keyring: the key that seals new rows, and any key a row names."""

    @property
    def newest(self) -> SealingKey: ...

    def find(self, key_id: str, /) -> SealingKey: ...


def _bound_to(peer: str, stream_id: str, version: int) -> bytes:
    """What a sealed row is bound to: its bytes open in no other row."""
    return f"{peer}|{stream_id}|{version}".encode()


class QuarantineStore:
    def __init__(self, datastore: SQLiteDatastore | PostgresDatastore, keyring: Keyring) -> None:
        self._datastore = datastore
        self._keyring = keyring
        self._postgres = isinstance(datastore, PostgresDatastore)
        if isinstance(datastore, PostgresDatastore):
            self._table, blob = f'"{datastore.schema}".federation_quarantine', "BYTEA"
        else:
            self._table, blob = "federation_quarantine", "BLOB"
        with self._cursor() as cursor:
            cursor.execute(_DDL.format(table=self._table, blob=blob))

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        with self._datastore.transaction(commit=True) as cursor:
            yield cursor

    def _sql(self, statement: str) -> str:
        statement = statement.format(table=self._table)
        return statement.replace("?", "%s") if self._postgres else statement

    def _query(self, statement: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with read_transaction(self._datastore) as cursor:
            cursor.execute(self._sql(statement), tuple(params))
            rows = cursor.fetchall()
        return [tuple(row.values()) if isinstance(row, dict) else tuple(row) for row in rows]

    def hold(self, events: Sequence[HeldEvent], at: str) -> list[HeldEvent]:
        """Hold these events (held again: only ``last_seen`` moves); returns those that were not held yet."""
        new = []
        with self._cursor() as cursor:
            for e in events:
                cursor.execute(
                    self._sql("SELECT 1 FROM {table} WHERE peer = ? AND stream_id = ? AND version = ?"),
                    (e.peer, e.stream_id, e.version),
                )
                if cursor.fetchall():
                    cursor.execute(
                        self._sql(
                            "UPDATE {table} SET last_seen = ? "
                            "WHERE peer = ? AND stream_id = ? AND version = ?"
                        ),
                        (at, e.peer, e.stream_id, e.version),
                    )
                    continue
                master = self._keyring.newest
                sealed = master.wrap(e.state, _bound_to(e.peer, e.stream_id, e.version))
                cursor.execute(
                    self._sql(
                        "INSERT INTO {table} (peer, stream_id, version, position, topic, reason, "
                        "master_key_id, sealed, first_seen, last_seen) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
                    ),
                    (
                        e.peer,
                        e.stream_id,
                        e.version,
                        e.position,
                        e.topic,
                        e.reason,
                        master.key_id,
                        sealed,
                        at,
                        at,
                    ),
                )
                new.append(e)
        return new

    def stream_ids(self, peer: str) -> set[str]:
        return {
            row[0] for row in self._query("SELECT DISTINCT stream_id FROM {table} WHERE peer = ?", (peer,))
        }

    def held(self, peer: str, stream_ids: Sequence[str] | None = None) -> list[HeldEvent]:
        """The peer's held events (of these streams, or all), in the order of the peer's log."""
        rows = self._query(
            "SELECT peer, stream_id, version, position, topic, reason, master_key_id, sealed FROM {table} "
            "WHERE peer = ? ORDER BY position, stream_id, version",
            (peer,),
        )
        wanted = None if stream_ids is None else set(stream_ids)
        return [
            HeldEvent(
                r[0], r[1], int(r[2]), int(r[3]), r[4], r[5], self._open(r[0], r[1], int(r[2]), r[6], r[7])
            )
            for r in rows
            if wanted is None or r[1] in wanted
        ]

    def _open(self, peer: str, stream_id: str, version: int, master_key_id: str, sealed: Any) -> bytes:
        return self._keyring.find(master_key_id).unwrap(bytes(sealed), _bound_to(peer, stream_id, version))

    def master_key_ids(self) -> set[str]:
        """The master keys that seal held events (a node must have each of them)."""
        return {row[0] for row in self._query("SELECT DISTINCT master_key_id FROM {table}")}

    def rewrap(self, successor: SealingKey) -> int:
        """Seal every held event with ``successor`` (a master key rotation), in one transaction."""
        count = 0
        with self._cursor() as cursor:
            if not self._postgres:
                cursor.execute("PRAGMA secure_delete = ON")  # overwrite the old sealed bytes in the file
            cursor.execute(
                self._sql(
                    "SELECT peer, stream_id, version, master_key_id, sealed FROM {table} "
                    "WHERE master_key_id <> ?"
                ),
                (successor.key_id,),
            )
            rows = [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in cursor.fetchall()]
            for peer, stream_id, version, master_key_id, sealed in rows:
                bound_to = _bound_to(peer, stream_id, int(version))
                state = self._keyring.find(master_key_id).unwrap(bytes(sealed), bound_to)
                cursor.execute(
                    self._sql(
                        "UPDATE {table} SET master_key_id = ?, sealed = ? "
                        "WHERE peer = ? AND stream_id = ? AND version = ?"
                    ),
                    (successor.key_id, successor.wrap(state, bound_to), peer, stream_id, version),
                )
                count += 1
        return count

    def release(self, events: Sequence[HeldEvent]) -> None:
        """These events were applied (or found held here already): they leave the quarantine."""
        with self._cursor() as cursor:
            for e in events:
                cursor.execute(
                    self._sql("DELETE FROM {table} WHERE peer = ? AND stream_id = ? AND version = ?"),
                    (e.peer, e.stream_id, e.version),
                )

    def refused_again(self, event: HeldEvent, reason: str, at: str) -> None:
        """A retry refused the event again: it stays, with the new reason."""
        with self._cursor() as cursor:
            cursor.execute(
                self._sql(
                    "UPDATE {table} SET reason = ?, last_seen = ? "
                    "WHERE peer = ? AND stream_id = ? AND version = ?"
                ),
                (reason, at, event.peer, event.stream_id, event.version),
            )

    def forget(self, peer: str, stream_ids: Sequence[str]) -> None:
        """The peer forgot these people: their held identities go too (erasure notices)."""
        with self._cursor() as cursor:
            for stream_id in stream_ids:
                cursor.execute(
                    self._sql("DELETE FROM {table} WHERE peer = ? AND stream_id = ?"), (peer, stream_id)
                )

    def streams(self) -> list[QuarantinedStream]:
        """Every held stream, by peer: its first held version, why that one was refused, how many are held."""
        rows = self._query(
            "SELECT peer, stream_id, version, reason, first_seen, last_seen FROM {table} "
            "ORDER BY peer, stream_id, version"
        )
        found: dict[tuple[str, str], QuarantinedStream] = {}
        for peer, stream_id, version, reason, first_seen, last_seen in rows:
            known = found.get((peer, stream_id))
            if known is None:
                found[(peer, stream_id)] = QuarantinedStream(
                    peer, stream_id, int(version), 1, reason, first_seen, last_seen
                )
            else:
                found[(peer, stream_id)] = QuarantinedStream(
                    peer,
                    stream_id,
                    known.from_version,
                    known.events + 1,
                    known.reason,
                    min(known.first_seen, first_seen),
                    max(known.last_seen, last_seen),
                )
        return list(found.values())
