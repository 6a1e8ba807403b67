"""The rows of one table that one batch of events changes, kept in memory and written together at the batch's
end: a catch-up makes a round trip per batch rather than one per event."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from infra.view_store import Transaction

JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False)  # built once: json.dumps builds one per call


class RowBatch:
    """Rows of ``table`` keyed by its first column. A batch is one transaction: when :meth:`get` or
    :meth:`add` sees another transaction (the next batch, or a retry after a crash), it starts afresh, so
    nothing of a batch that was rolled back is kept.

    Columns named in ``json_columns`` hold JSON text in the table and plain lists or dicts in the batch: they
    are decoded once when read and encoded once when written, however many events change them."""

    def __init__(self, table: str, columns: Sequence[str], json_columns: Sequence[str] = ()) -> None:
        self.columns = tuple(columns)
        self._json = tuple(json_columns)
        key, rest = self.columns[0], self.columns[1:]
        listed = ", ".join(self.columns)
        # our own table and column names, never input
        self._table = table
        self._update = f"UPDATE {table} SET {', '.join(f'{c} = ?' for c in rest)} WHERE {key} = ?"  # noqa: S608
        self._select = f"SELECT {listed} FROM {table} WHERE {key} = ?"  # noqa: S608
        self._rows: dict[str, dict[str, Any]] = {}
        self._new: set[str] = set()
        self._batch_of: Transaction | None = None

    def add(self, tx: Transaction, values: Sequence[Any]) -> dict[str, Any]:
        """A new row, from its values in column order."""
        self._begin(tx)
        row = dict(zip(self.columns, values, strict=True))
        key = str(values[0])
        self._rows[key] = row
        self._new.add(key)
        return row

    def get(self, tx: Transaction, key: str) -> dict[str, Any]:
        """The row as this batch left it, read from the table the first time the batch needs it."""
        self._begin(tx)
        row = self._rows.get(key)
        if row is None:
            [found] = tx.fetchall(self._select, (key,))
            row = self._rows[key] = dict(zip(self.columns, found, strict=True))
            for column in self._json:
                row[column] = json.loads(row[column])
        return row

    def find(self, tx: Transaction, key: str) -> dict[str, Any] | None:
        """:meth:`get`, or None when the table has no such row."""
        self._begin(tx)
        if key in self._rows or tx.fetchall(self._select, (key,)):
            return self.get(tx, key)
        return None

    def flush(self, tx: Transaction) -> None:
        """Write every row the batch changed: one statement for the new ones, one for the others."""
        for row in self._rows.values():
            for column in self._json:
                row[column] = JSON.encode(row[column])
        new = [tuple(row.values()) for key, row in self._rows.items() if key in self._new]
        changed = [
            (*(row[c] for c in self.columns[1:]), key)
            for key, row in self._rows.items()
            if key not in self._new
        ]
        tx.insert_many(self._table, self.columns, new)
        tx.executemany(self._update, changed)
        self._rows, self._new, self._batch_of = {}, set(), None

    def _begin(self, tx: Transaction) -> None:
        if tx is not self._batch_of:
            self._rows, self._new, self._batch_of = {}, set(), tx
