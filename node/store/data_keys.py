"""Per-person data keys, in their own tables in the event store's database (SQLite or PostgreSQL).

A person is known here only by a pseudonym: an HMAC, under a node secret, of where the data came from (this
province, or the peer whose copy this is) and the person's ID type and number. An ID number has too little
entropy for a plain hash: anyone could hash every candidate. The secret is itself wrapped by the master key.

``personal_data_keys``: one row per data key (a random 256-bit AES key), wrapped by the master key. Forgetting
a person sets the wrapped key to NULL (crypto-shredding); the row stays, so that a forgotten key reads as
destroyed rather than unknown. ``personal_data_subjects``: which aggregates' personal fields each key sealed,
so a forget can name them (to evict caches, scrub read models and tell peers) without a scan of the log.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from infra.store_reads import read_transaction
from node.store.master_key import KEY_BYTES, MasterKey, MasterKeyring

# The one row that is not a person's key (key ids are random hex); a row's name, not a secret.
PSEUDONYM_SECRET = "pseudonym-secret"  # noqa: S105
_CACHE_LIMIT = 50_000


@dataclass
class Destroyed:
    """What a forget destroyed: the data keys, and the aggregates whose personal fields they sealed."""

    key_ids: list[str] = field(default_factory=list)
    applicant_ids: list[str] = field(default_factory=list)
    certificate_ids: list[str] = field(default_factory=list)

    @property
    def subject_ids(self) -> list[str]:
        return [*self.applicant_ids, *self.certificate_ids]


class DataKeyStore:
    def __init__(self, datastore: SQLiteDatastore | PostgresDatastore, keyring: MasterKeyring) -> None:
        self._db = _Database(datastore)
        self.datastore = datastore  # the event store's own: the quarantine's sealed rows live beside the keys
        self.keyring = keyring
        self._lock = threading.Lock()
        self._sealing: dict[str, tuple[str, bytes]] = {}  # person -> its live key (id, key), once stored
        self._deferred = (
            threading.local()
        )  # a thread's rows (and new keys) held for ``rows_written_together``
        self._opening: dict[str, bytes | None] = {}  # key id -> key, or None once destroyed
        self._db.create_tables()
        self._secret = self._pseudonym_secret()

    # Pseudonyms

    def person(self, origin: str, id_type: str, id_number: str) -> str:
        message = f"{origin}|{id_type}|{id_number}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def persons(self, id_type: str, id_number: str) -> list[str]:
        """The person's pseudonyms for every origin this node holds data from (its own, each peer's copy)."""
        rows = self._db.query("SELECT DISTINCT origin FROM {keys} WHERE key_id <> ?", (PSEUDONYM_SECRET,))
        return [self.person(origin, id_type, id_number) for (origin,) in rows]

    # Sealing and opening

    @contextmanager
    def rows_written_together(self) -> Iterator[None]:
        """Within this block, the rows sealing adds (a new person's key, the subjects a key seals) wait, and
        are written in one transaction when it ends: the caller then stores the events they serve. Saves that
        group commit writes together so cost one more transaction between them, not one or two each. A new key
        is used by other threads only once it is stored, so no event anywhere refers to a key not yet stored.
        """
        rows: list[tuple[str, tuple[Any, ...]]] = []
        new_keys: dict[str, tuple[str, bytes]] = {}
        self._deferred.rows, self._deferred.new_keys = rows, new_keys
        try:
            yield
        finally:
            self._deferred.rows = self._deferred.new_keys = None
        if rows:
            with self._db.transaction() as tx:
                for statement, params in rows:
                    tx.execute(statement, params)
        with self._lock:
            for person, key in new_keys.items():
                self._remember(self._sealing, person, key)

    def _write(self, statement: str, params: tuple[Any, ...]) -> None:
        rows = getattr(self._deferred, "rows", None)
        if rows is None:
            self._db.execute(statement, params)
        else:
            rows.append((statement, params))

    def sealing_key(self, person: str, origin: str, subject_id: str, kind: str) -> tuple[str, bytes]:
        """The person's live data key (made on first use), noting that it seals ``subject_id``'s fields."""
        new_keys = getattr(self._deferred, "new_keys", None)
        with self._lock:
            known = self._sealing.get(person) or (new_keys or {}).get(person)
            if known is None:
                known = self._live_key(person)
                if known is not None:
                    self._remember(self._sealing, person, known)
        if known is None:
            known = self._new_key(person, origin)
            if new_keys is None:
                with self._lock:
                    self._remember(self._sealing, person, known)
            else:
                new_keys[person] = known
        self._write(
            "INSERT INTO {subjects} (originator_id, key_id, kind) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (subject_id, known[0], kind),
        )
        return known

    def opening_key(self, key_id: str) -> bytes | None:
        """The data key with that id, or None when it was destroyed (or never existed here)."""
        if key_id in self._opening:
            return self._opening[key_id]
        rows = self._db.query("SELECT master_key_id, wrapped FROM {keys} WHERE key_id = ?", (key_id,))
        key = None
        if rows and rows[0][1] is not None:
            master_key_id, wrapped = rows[0]
            key = self.keyring.find(master_key_id).unwrap(bytes(wrapped), key_id.encode())
        self._remember(self._opening, key_id, key)
        return key

    def _live_key(self, person: str) -> tuple[str, bytes] | None:
        rows = self._db.query(
            "SELECT key_id, master_key_id, wrapped FROM {keys} WHERE person = ? AND wrapped IS NOT NULL",
            (person,),
        )
        if not rows:
            return None
        key_id, master_key_id, wrapped = rows[0]
        return key_id, self.keyring.find(master_key_id).unwrap(bytes(wrapped), key_id.encode())

    def _new_key(self, person: str, origin: str) -> tuple[str, bytes]:
        # A new random id, not the pseudonym: a person forgotten and seen again gets a new key, and the
        # envelopes of the old one keep reading as erased.
        key_id, key = secrets.token_hex(16), secrets.token_bytes(KEY_BYTES)
        self._insert_key(key_id, person, origin, key)
        return key_id, key

    def _insert_key(self, key_id: str, person: str, origin: str, key: bytes) -> None:
        master = self.keyring.newest
        self._write(
            "INSERT INTO {keys} (key_id, person, origin, master_key_id, wrapped, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (key_id, person, origin, master.key_id, master.wrap(key, key_id.encode()), _now()),
        )

    @staticmethod
    def _remember(cache: dict[str, Any], key: str, value: Any) -> None:
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[key] = value

    # Forgetting

    def destroy(self, persons: Sequence[str]) -> dict[str, Destroyed]:
        """Destroy every data key of these pseudonyms (those destroyed before are named again), by the origin
        of the data they sealed: this node's own, or a peer's copy."""
        by_origin: dict[str, Destroyed] = {}
        if not persons:
            return by_origin
        marks = ", ".join("?" for _ in persons)
        with self._lock, self._db.transaction(secure_delete=True) as tx:
            tx.execute(
                "UPDATE {keys} SET wrapped = NULL, master_key_id = NULL, destroyed_at = ? "  # noqa: S608
                f"WHERE person IN ({marks}) AND wrapped IS NOT NULL",
                (_now(), *persons),
            )
            for key_id, origin in tx.query(
                f"SELECT key_id, origin FROM {{keys}} WHERE person IN ({marks}) ORDER BY key_id",  # noqa: S608
                persons,
            ):
                by_origin.setdefault(origin, Destroyed()).key_ids.append(key_id)
                self._opening[key_id] = None
            for person in persons:
                self._sealing.pop(person, None)
            for destroyed in by_origin.values():
                id_marks = ", ".join("?" for _ in destroyed.key_ids)
                for subject_id, kind in tx.query(
                    f"SELECT DISTINCT originator_id, kind FROM {{subjects}} WHERE key_id IN ({id_marks}) "  # noqa: S608
                    "ORDER BY originator_id",
                    destroyed.key_ids,
                ):
                    (destroyed.applicant_ids if kind == "applicant" else destroyed.certificate_ids).append(
                        subject_id
                    )
        self._db.reclaim()
        return by_origin

    def persons_of(self, subject_ids: Sequence[str], origin: str) -> list[str]:
        """The pseudonyms whose keys sealed these aggregates' fields, for data that came from ``origin``."""
        if not subject_ids:
            return []
        marks = ", ".join("?" for _ in subject_ids)
        rows = self._db.query(
            "SELECT DISTINCT k.person FROM {subjects} s JOIN {keys} k ON k.key_id = s.key_id "  # noqa: S608
            f"WHERE k.origin = ? AND s.originator_id IN ({marks}) ORDER BY k.person",
            (origin, *subject_ids),
        )
        return [row[0] for row in rows]

    # The master key

    def master_key_ids(self) -> set[str]:
        rows = self._db.query("SELECT DISTINCT master_key_id FROM {keys} WHERE wrapped IS NOT NULL")
        return {row[0] for row in rows}

    def rewrap(self, successor: MasterKey) -> int:
        """Wrap every live key (and the pseudonym secret) with ``successor``, in one transaction."""
        count = 0
        with self._lock, self._db.transaction(secure_delete=True) as tx:
            rows = tx.query(
                "SELECT key_id, master_key_id, wrapped FROM {keys} "
                "WHERE wrapped IS NOT NULL AND master_key_id <> ?",
                (successor.key_id,),
            )
            for key_id, master_key_id, wrapped in rows:
                key = self.keyring.find(master_key_id).unwrap(bytes(wrapped), key_id.encode())
                tx.execute(
                    "UPDATE {keys} SET master_key_id = ?, wrapped = ? WHERE key_id = ?",
                    (successor.key_id, successor.wrap(key, key_id.encode()), key_id),
                )
                count += 1
        self._db.reclaim()
        return count

    def _pseudonym_secret(self) -> bytes:
        if not self._db.query("SELECT 1 FROM {keys} WHERE key_id = ?", (PSEUDONYM_SECRET,)):
            self._insert_key(PSEUDONYM_SECRET, "", "", secrets.token_bytes(KEY_BYTES))
        key = self.opening_key(PSEUDONYM_SECRET)
        assert key is not None  # noqa: S101 - the row is never destroyed
        return key


def _now() -> str:
    return datetime.now(UTC).isoformat()


_KEYS_DDL = (
    "CREATE TABLE IF NOT EXISTS {keys} (key_id TEXT PRIMARY KEY, person TEXT NOT NULL, origin TEXT NOT NULL, "
    "master_key_id TEXT, wrapped {blob}, created_at TEXT NOT NULL, destroyed_at TEXT)"
)
_SUBJECTS_DDL = (
    "CREATE TABLE IF NOT EXISTS {subjects} (originator_id TEXT NOT NULL, key_id TEXT NOT NULL, "
    "kind TEXT NOT NULL, PRIMARY KEY (originator_id, key_id))"
)


class _Tx:
    """One transaction's cursor; SQL is written with ``?`` and ``{keys}``/``{subjects}`` table names."""

    def __init__(self, cursor: Any, names: dict[str, str], postgres: bool) -> None:
        self._cursor, self._names, self._postgres = cursor, names, postgres

    def _sql(self, statement: str) -> str:
        statement = statement.format(**self._names)
        return statement.replace("?", "%s") if self._postgres else statement

    def execute(self, statement: str, params: Iterable[Any] = ()) -> None:
        self._cursor.execute(self._sql(statement), tuple(params))

    def query(self, statement: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        self.execute(statement, params)
        rows = self._cursor.fetchall()
        return [tuple(row.values()) if isinstance(row, dict) else tuple(row) for row in rows]


class _Database:
    """The event store's own connections (eventsourcing's datastore), so keys live in the same database."""

    def __init__(self, datastore: SQLiteDatastore | PostgresDatastore) -> None:
        self._datastore = datastore
        self._postgres = isinstance(datastore, PostgresDatastore)
        if isinstance(datastore, PostgresDatastore):
            schema = f'"{datastore.schema}".'
            self._names = {
                "keys": f"{schema}personal_data_keys",
                "subjects": f"{schema}personal_data_subjects",
            }
            self._blob = "BYTEA"
        else:
            self._names = {"keys": "personal_data_keys", "subjects": "personal_data_subjects"}
            self._blob = "BLOB"

    def create_tables(self) -> None:
        with self.transaction() as tx:
            tx.execute(_KEYS_DDL.replace("{blob}", self._blob))
            tx.execute(_SUBJECTS_DDL)
            tx.execute("CREATE INDEX IF NOT EXISTS personal_data_keys_person ON {keys} (person)")

    @contextmanager
    def transaction(self, *, secure_delete: bool = False) -> Iterator[_Tx]:
        with self._datastore.transaction(commit=True) as cursor:
            if secure_delete and not self._postgres:
                cursor.execute("PRAGMA secure_delete = ON")  # overwrite a destroyed key's bytes in the file
            yield _Tx(cursor, self._names, self._postgres)

    def execute(self, statement: str, params: Iterable[Any] = ()) -> None:
        with self.transaction() as tx:
            tx.execute(statement, params)

    def query(self, statement: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with read_transaction(self._datastore) as cursor:
            return _Tx(cursor, self._names, self._postgres).query(statement, params)

    def reclaim(self) -> None:
        """SQLite: empty the write-ahead log, which may still hold page images with a destroyed key."""
        if isinstance(self._datastore, SQLiteDatastore):
            with self._datastore.get_connection(commit=True) as connection:
                connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
