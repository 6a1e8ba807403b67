"""Reads of our own tables through the event store's connections (eventsourcing's datastore)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore


def read_transaction(datastore: SQLiteDatastore | PostgresDatastore) -> AbstractContextManager[Any]:
    """A transaction that only reads. On PostgreSQL it ends in COMMIT rather than ROLLBACK: after a rollback
    psycopg forgets every prepared statement of the connection (it sends DEALLOCATE ALL), so each read of
    ours that rolled back made the pooled connection prepare eventsourcing's own statements again, about one
    statement in three under load. Committing a transaction that wrote nothing flushes nothing."""
    return datastore.transaction(commit=isinstance(datastore, PostgresDatastore))
