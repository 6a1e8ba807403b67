"""One background worker set per province: the node process holding a PostgreSQL advisory lock runs them.

A province that outgrows one machine runs several node processes on one database. Their APIs are stateless
and all serve; but the background workers (read models and the tree-head signer, federation pullers, the
deadline timer, the reliance watcher, the witness) must run in exactly one. The lock is a session lock on a
connection of its own: when the process dies, PostgreSQL ends the session and frees the lock, and a standby
takes it at its next try (``lease_retry_s``).
"""

from __future__ import annotations

import contextlib
import hashlib

import psycopg

CONNECT_TIMEOUT_S = 5


def lease_key(schema: str) -> int:
    """A signed 64-bit key per node schema: provinces sharing a database never share a lease."""
    digest = hashlib.sha256(f"tongban-workers:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class WorkerLease:
    def __init__(self, conninfo: str, schema: str) -> None:
        self._conninfo, self.key = conninfo, lease_key(schema)
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None

    def try_acquire(self) -> bool:
        """Take the lease if no other process holds it; False (and no exception) when PostgreSQL is away."""
        try:
            if self._connection is None or self._connection.closed:
                self._connection = psycopg.connect(
                    self._conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
                )
            row = self._connection.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        except psycopg.Error:
            self._drop()
            return False
        return bool(row and row[0])

    def held(self) -> bool:
        """Whether the lease's session is still alive (a lost connection has lost the lock with it)."""
        if self._connection is None:
            return False
        try:
            self._connection.execute("SELECT 1")
        except psycopg.Error:
            self._drop()
            return False
        return True

    def release(self) -> None:
        if self._connection is not None and not self._connection.closed:
            with contextlib.suppress(psycopg.Error):  # the session ends below, and the lock with it
                self._connection.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
        self._drop()

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._connection = None
