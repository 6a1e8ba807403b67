"""The kit's directory: one SQLite file for what it synced, the nonces it saw and its check records, and the
verifier's private key beside it (mode 600)."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from credentials.jose import DeviceKey

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS synced (name TEXT PRIMARY KEY, document TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS nonces (nonce TEXT PRIMARY KEY, seen_at INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS records "
    "(id TEXT PRIMARY KEY, record TEXT NOT NULL, uploaded INTEGER NOT NULL)",
)
KEY_FILE, DATABASE = "verifier.key", "kit.sqlite"


class KitStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        # one connection for the kit's life (opening and closing one per use costs more than a check), used by
        # one thread at a time: a desk's app may check from a worker thread
        self._db = sqlite3.connect(directory / DATABASE, check_same_thread=False)
        self._lock = threading.Lock()
        with self._connection() as db:
            # Write-ahead log, synchronised at checkpoints (as Android keeps its apps' databases): a check's
            # commit is one append that survives the kit's crash; a power cut may lose the last moments'
            # records and nonces, which an fsync per check would keep at a third of the checking rate
            # (benchmarks/offline_check.py).
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            for statement in _SCHEMA:
                db.execute(statement)

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._db:  # one transaction per use
            yield self._db

    def close(self) -> None:
        self._db.close()

    def key(self) -> DeviceKey:
        key = serialization.load_pem_private_key((self.directory / KEY_FILE).read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the kit's key is not an Ed25519 private key")
        return DeviceKey(key)

    @staticmethod
    def create_key(directory: Path) -> DeviceKey:
        path = directory / KEY_FILE
        if path.exists():
            raise FileExistsError("this directory already holds a verifier key")
        key = DeviceKey.generate()
        pem = key.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        directory.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_bytes(pem)
        return key

    def put(self, documents: dict[str, Any]) -> None:
        """Replace synced documents together: a sync is all or nothing."""
        with self._connection() as db:
            db.executemany(
                "INSERT OR REPLACE INTO synced (name, document) VALUES (?, ?)",
                [(name, json.dumps(doc, ensure_ascii=False)) for name, doc in documents.items()],
            )

    def version(self) -> int:
        """Changes whenever another process commits to the kit's store (SQLite's ``data_version``): what this
        kit read from it may be stale."""
        with self._lock:
            row = self._db.execute("PRAGMA data_version").fetchone()
        return int(row[0])

    def get(self, name: str) -> Any:
        with self._connection() as db:
            row = db.execute("SELECT document FROM synced WHERE name = ?", (name,)).fetchone()
        return None if row is None else json.loads(row[0])

    @contextmanager
    def checking(self) -> Iterator[CheckTransaction]:
        """One transaction for a check: the nonce it saw and its record are kept together, or neither."""
        with self._connection() as db:
            yield CheckTransaction(db)

    def pending(self, limit: int = 500) -> list[dict[str, Any]]:
        with self._connection() as db:
            rows = db.execute(
                "SELECT record FROM records WHERE uploaded = 0 ORDER BY rowid LIMIT ?", (limit,)
            ).fetchall()
        return [json.loads(row[0]) for row in rows]

    def uploaded(self, record_ids: list[str]) -> None:
        with self._connection() as db:
            db.executemany("UPDATE records SET uploaded = 1 WHERE id = ?", [(i,) for i in record_ids])


class CheckTransaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def seen(self, nonce: str, at: int) -> bool:
        """Whether ``nonce`` was seen before; remembers it either way."""
        inserted = self._db.execute(
            "INSERT OR IGNORE INTO nonces (nonce, seen_at) VALUES (?, ?)", (nonce, at)
        ).rowcount
        return inserted == 0

    def record(self, record_id: str, record: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT INTO records (id, record, uploaded) VALUES (?, ?, 0)",
            (record_id, json.dumps(record, ensure_ascii=False)),
        )
