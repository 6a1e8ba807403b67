"""Every stored record of a node's event table, read in log order straight from the table, for the audit.

``audit verify`` reads each record once and hashes it. Through the recorder's ``select_notifications`` each
row first becomes a UUID and a Notification, which costs more than the hashing; here a row stays a tuple of
(notification id, originator id as text, version, topic, state), which is all a leaf needs. The SQL names
only the columns eventsourcing's own recorders create.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg import sql

Record = tuple[int, str, int, str, bytes]
BATCH = 10_000


def stored_records(recorder: ApplicationRecorder) -> Iterator[list[Record]]:
    """Batches of records after one another, in the order of the log."""
    position = 0
    while True:
        batch = _batch(recorder, position)
        if batch:
            yield batch
        if len(batch) < BATCH:
            return
        position = batch[-1][0]


def _batch(recorder: ApplicationRecorder, after: int) -> list[Record]:
    if isinstance(recorder, SQLiteApplicationRecorder):
        statement = (
            "SELECT rowid, originator_id, originator_version, topic, state "  # noqa: S608 - the recorder's table
            f"FROM {recorder.events_table_name} WHERE rowid > ? ORDER BY rowid LIMIT ?"
        )
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, (after, BATCH))
            return [(r[0], _dashed(r[1]), r[2], r[3], bytes(r[4])) for r in cursor.fetchall()]
    if isinstance(recorder, PostgresApplicationRecorder):
        query = sql.SQL(
            "SELECT notification_id, originator_id::text AS originator_id, originator_version, topic, state "
            "FROM {schema}.{table} WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
        ).format(
            schema=sql.Identifier(recorder.datastore.schema), table=sql.Identifier(recorder.events_table_name)
        )
        with recorder.datastore.get_connection() as connection, connection.cursor() as cursor:
            cursor.execute(query, (after, BATCH))
            rows: list[dict[str, Any]] = cursor.fetchall()
        return [
            (r["notification_id"], r["originator_id"], r["originator_version"], r["topic"], bytes(r["state"]))
            for r in rows
        ]
    raise TypeError(f"no stored-record reader for {type(recorder).__name__}")


def _dashed(hex_id: str) -> str:
    """SQLite keeps a UUID as its 32 hex digits; the leaf holds its canonical text, as ``str(UUID)`` gives."""
    if len(hex_id) != 32:
        return hex_id
    return f"{hex_id[:8]}-{hex_id[8:12]}-{hex_id[12:16]}-{hex_id[16:20]}-{hex_id[20:]}"
