"""The witness alerts this node raised against other provinces' transparency logs: forks, rollbacks, heads
their keys did not sign. Shown in ``/readyz``, ``/metrics`` and to auditors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.utils import get_topic

from aggregates.log_alert import LogAlert
from infra.view_store import Transaction

DDL = """CREATE TABLE IF NOT EXISTS view_log_alerts (
    alert_id TEXT PRIMARY KEY,
    province TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    tree_size BIGINT NOT NULL,
    root_hash TEXT NOT NULL,
    accepted_tree_size BIGINT NOT NULL,
    accepted_root_hash TEXT NOT NULL,
    observed_at TEXT NOT NULL)"""
COLUMNS = (
    "alert_id",
    "province",
    "kind",
    "detail",
    "tree_size",
    "root_hash",
    "accepted_tree_size",
    "accepted_root_hash",
    "observed_at",
)


class LogAlerts:
    name = "log_alerts"
    tables = ("view_log_alerts",)

    def __init__(self) -> None:
        self.topics: Sequence[str] = [get_topic(LogAlert.Raised)]
        self._rows: list[tuple[Any, ...]] = []

    def create(self, tx: Transaction) -> None:
        tx.execute(DDL)

    def apply(self, tx: Transaction, event: Any) -> None:
        self._rows.append((
            str(event.originator_id), event.province, event.kind, event.detail, event.tree_size,
            event.root_hash, event.accepted_tree_size, event.accepted_root_hash,
            event.observed_at.isoformat(),
        ))  # fmt: skip

    def flush(self, tx: Transaction) -> None:
        tx.insert_many("view_log_alerts", COLUMNS, self._rows)
        self._rows = []


def alerts(tx: Transaction) -> list[dict[str, Any]]:
    """Every alert raised, oldest first."""
    rows = tx.fetchall(f"SELECT {', '.join(COLUMNS)} FROM view_log_alerts ORDER BY observed_at, alert_id")  # noqa: S608
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows]
