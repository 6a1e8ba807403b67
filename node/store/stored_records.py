"""Every stored record of a node's event table, read straight from the table in log order (for the audit
tree) or aggregate by aggregate (for a replay).

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
    return _pages(recorder, by_aggregate=False)


def stored_records_by_aggregate(recorder: ApplicationRecorder) -> Iterator[list[Record]]:
    """Batches of records in the order of the table's primary key: each aggregate's records together, by
    version. A reader that folds one aggregate at a time can forget it before the next, so its memory does
    not grow with the log."""
    return _pages(recorder, by_aggregate=True)


def _pages(recorder: ApplicationRecorder, by_aggregate: bool) -> Iterator[list[Record]]:
    # Keyset pagination: each page starts after the last row of the one before, so no page costs more than
    # the first however long the log is. ``after`` is that row's notification id, or in aggregate order its
    # (originator id as stored, version).
    after: tuple[Any, ...] = (0,) if not by_aggregate else ()
    while True:
        rows = _page(recorder, after, by_aggregate)
        if rows:
            yield [(r[0], _dashed(str(r[1])), r[2], r[3], bytes(r[4])) for r in rows]
        if len(rows) < BATCH:
            return
        last = rows[-1]
        after = (last[1], last[2]) if by_aggregate else (last[0],)


def _page(recorder: ApplicationRecorder, after: tuple[Any, ...], by_aggregate: bool) -> list[tuple[Any, ...]]:
    if isinstance(recorder, SQLiteApplicationRecorder):
        where = "(originator_id, originator_version) > (?, ?)" if by_aggregate else "rowid > ?"
        order = "originator_id, originator_version" if by_aggregate else "rowid"
        statement = (
            "SELECT rowid, originator_id, originator_version, topic, state "  # noqa: S608 - the recorder's table
            f"FROM {recorder.events_table_name} {'WHERE ' + where if after else ''} ORDER BY {order} LIMIT ?"
        )
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, (*after, BATCH))
            return [tuple(r) for r in cursor.fetchall()]
    if isinstance(recorder, PostgresApplicationRecorder):
        where = "(originator_id, originator_version) > (%s, %s)" if by_aggregate else "notification_id > %s"
        order = "originator_id, originator_version" if by_aggregate else "notification_id"
        query = sql.SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state "  # noqa: S608 - as above
            f"FROM {{schema}}.{{table}} {'WHERE ' + where if after else ''} ORDER BY {order} LIMIT %s"
        ).format(
            schema=sql.Identifier(recorder.datastore.schema), table=sql.Identifier(recorder.events_table_name)
        )
        with recorder.datastore.get_connection() as connection, connection.cursor() as cursor:
            cursor.execute(query, (*after, BATCH))
            rows: list[dict[str, Any]] = cursor.fetchall()
        return [
            (r["notification_id"], r["originator_id"], r["originator_version"], r["topic"], r["state"])
            for r in rows
        ]
    raise TypeError(f"no stored-record reader for {type(recorder).__name__}")


def _dashed(hex_id: str) -> str:
    """SQLite keeps a UUID as its 32 hex digits; the leaf holds its canonical text, as ``str(UUID)`` gives."""
    if len(hex_id) != 32:
        return hex_id
    return f"{hex_id[:8]}-{hex_id[8:12]}-{hex_id[12:16]}-{hex_id[16:20]}-{hex_id[20:]}"
