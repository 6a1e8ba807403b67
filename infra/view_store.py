"""Where read models live: plain SQL tables beside the event store, on SQLite or PostgreSQL.

Each projection's rows and its tracking position (the last notification id it applied) are written in ONE
transaction, so a crash in the middle of a batch leaves neither: the batch is read again and applied once.
SQL is written once with ``?`` placeholders; on PostgreSQL they become ``%s``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import psycopg
from psycopg_pool import ConnectionPool

TRACKING_DDL = "CREATE TABLE IF NOT EXISTS view_tracking (name TEXT PRIMARY KEY, position BIGINT NOT NULL)"


class Transaction(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def insert_many(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Append new rows: the fastest way each store has (COPY on PostgreSQL)."""


class PositionMoved(Exception):
    """The tracking position did not move forward: another process applied that batch already."""


class ViewStore(Protocol):
    dialect: str

    @contextmanager
    def transaction(self) -> Iterator[Transaction]: ...

    def close(self) -> None: ...


class _SQLiteTransaction:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._connection.execute(sql, tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._connection.executemany(sql, [tuple(row) for row in rows])

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self._connection.execute(sql, tuple(params)).fetchall())

    def insert_many(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        marks = ", ".join("?" for _ in columns)
        self.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)  # noqa: S608


class SQLiteViewStore:
    """One file per node (``views.sqlite3``), apart from the event store so readers never block writers."""

    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        # A read model is derived from the event store: a power cut that loses its last commits loses their
        # rows and their position together (WAL keeps them consistent), and the follower applies those
        # events again. So its commits need not wait for the disk, as the event store's must.
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._lock = threading.Lock()
        with self.transaction() as tx:
            tx.execute(TRACKING_DDL)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._lock:
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield _SQLiteTransaction(self._connection)
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")

    def close(self) -> None:
        self._connection.close()


class _PostgresTransaction:
    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self._connection = connection

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._connection.execute(sql.replace("?", "%s"), tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            with self._connection.cursor() as cursor:
                cursor.executemany(sql.replace("?", "%s"), [tuple(row) for row in rows])

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self._connection.execute(sql.replace("?", "%s"), tuple(params)).fetchall())

    def insert_many(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        # one COPY rather than a statement per row: a read model's catch-up writes thousands of rows a batch
        with (
            self._connection.cursor() as cursor,
            cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)


class PostgresViewStore:
    """Tables in the node's own schema, beside the event store's, prefixed ``view_``."""

    dialect = "postgres"

    def __init__(self, conninfo: str, schema: str) -> None:
        self._pool = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=4,
            kwargs={"options": f"-c search_path={schema}", "autocommit": False},
            open=True,
        )
        with self.transaction() as tx:
            tx.execute(TRACKING_DDL)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._pool.connection() as connection, connection.transaction():
            yield _PostgresTransaction(connection)

    def close(self) -> None:
        self._pool.close()


def position(tx: Transaction, name: str) -> int:
    rows = tx.fetchall("SELECT position FROM view_tracking WHERE name = ?", (name,))
    return int(rows[0][0]) if rows else 0


def positions(tx: Transaction, names: Sequence[str]) -> dict[str, int]:
    """Several trackers' positions in one statement (0 for one that has none yet)."""
    marks = ", ".join("?" for _ in names)
    found = dict(tx.fetchall(f"SELECT name, position FROM view_tracking WHERE name IN ({marks})", names))  # noqa: S608
    return {name: int(found.get(name, 0)) for name in names}


def advance(tx: Transaction, name: str, previous: int, new: int) -> None:
    """Move ``name``'s position from ``previous`` to ``new`` in the caller's transaction, or refuse."""
    if previous == 0:
        rows = tx.fetchall("SELECT 1 FROM view_tracking WHERE name = ?", (name,))
        if not rows:
            tx.execute("INSERT INTO view_tracking (name, position) VALUES (?, ?)", (name, new))
            return
    moved = tx.fetchall(
        "UPDATE view_tracking SET position = ? WHERE name = ? AND position = ? RETURNING position",
        (new, name, previous),
    )
    if not moved:
        raise PositionMoved(f"{name} is no longer at position {previous}")
