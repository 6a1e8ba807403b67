"""Every province's current status list: this node's own publications and the copies its peers sent, as the
verifier kits sync them (the last signed token of each province)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.utils import get_topic

from aggregates.status_list import StatusListPublication
from infra.view_store import Transaction

DDL = (
    """CREATE TABLE IF NOT EXISTS view_status_lists (
        publication_id TEXT PRIMARY KEY,
        province TEXT NOT NULL,
        token TEXT NOT NULL,
        issued_at BIGINT NOT NULL
    )""",
)


class StatusLists:
    name = "status_lists"
    tables = ("view_status_lists",)

    def __init__(self) -> None:
        self.topics: Sequence[str] = sorted(
            get_topic(cls) for cls in (StatusListPublication.Started, StatusListPublication.Published)
        )

    def create(self, tx: Transaction) -> None:
        for statement in DDL:
            tx.execute(statement)

    def apply(self, tx: Transaction, event: Any) -> None:
        publication_id = str(event.originator_id)
        if isinstance(event, StatusListPublication.Started):
            columns = ("publication_id", "province", "token", "issued_at")
            tx.insert_many("view_status_lists", columns, [(publication_id, event.province, "", 0)])
        else:
            tx.execute(
                "UPDATE view_status_lists SET token = ?, issued_at = ? WHERE publication_id = ?",
                (event.token, event.issued_at, publication_id),
            )

    def flush(self, tx: Transaction) -> None:
        """Each event is written as it is applied: publications are few."""


def current_lists(tx: Transaction) -> dict[str, str]:
    """province -> its last published token (provinces that published none are left out)."""
    rows = tx.fetchall("SELECT province, token FROM view_status_lists WHERE token <> '' ORDER BY province")
    return {str(province): str(token) for province, token in rows}
