"""Follows the node's notification log into one read model: each batch of events and the new position in ONE
transaction of the view store (exactly once), whatever crashes or restarts happen."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import Application

from infra.view_store import PositionMoved, Transaction, ViewStore, advance, position


class Projection(Protocol):
    """A read model: its tables, the event topics it reads, and how one event changes its rows."""

    name: str
    topics: Sequence[str]

    @property
    def tables(self) -> Sequence[str]:
        """Every table it writes: a rebuild empties them all."""

    def create(self, tx: Transaction) -> None: ...

    def apply(self, tx: Transaction, event: Any) -> None: ...

    def flush(self, tx: Transaction) -> None:
        """Write what the batch's events changed, before the position moves in the same transaction."""


@dataclass(frozen=True)
class Lag:
    events: int  # positions of the log not yet considered
    seconds: float  # age of the oldest event not yet applied (0 when in step)


class ProjectionFollower:
    def __init__(
        self,
        app: Application[UUID],
        store: ViewStore,
        projection: Projection,
        batch_size: int = 2000,
        before_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self._before_commit = before_commit  # a test hook: the chaos suite's forced crash point
        self._app = app
        self._store = store
        self.projection = projection
        self._batch_size = batch_size
        with store.transaction() as tx:
            projection.create(tx)

    def position(self) -> int:
        with self._store.transaction() as tx:
            return position(tx, self.projection.name)

    def tick(self) -> int:
        """Apply what the log holds beyond the position, batch by batch; returns how many events."""
        applied = 0
        while True:
            head = self._app.recorder.max_notification_id() or 0
            try:
                with self._store.transaction() as tx:
                    count, done = self._batch(tx, head)
            except PositionMoved:
                return applied  # another process (a rebuild, another node process) applies it: not twice
            applied += count
            if done:
                return applied

    def _batch(self, tx: Transaction, head: int) -> tuple[int, bool]:
        """Apply one batch in the caller's transaction; (events applied, whether the head was reached)."""
        before = position(tx, self.projection.name)
        if before >= head:
            return 0, True
        notifications = self._app.recorder.select_notifications(
            start=before + 1, limit=self._batch_size, stop=head, topics=self.projection.topics
        )
        for notification in notifications:
            self.projection.apply(tx, self._app.mapper.to_domain_event(notification))
        self.projection.flush(tx)
        full = len(notifications) == self._batch_size
        # a short batch means nothing else it reads lies up to the head: the position goes there
        advance(tx, self.projection.name, before, notifications[-1].id if full else head)
        self._before_commit()
        return len(notifications), not full

    def rebuild(self) -> int:
        """Forget every row and the position, then apply the whole log again."""
        self.reset()
        return self.tick()

    def rows(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table, in a fixed order: what a rebuild must give again."""
        with self._store.transaction() as tx:
            return {
                table: sorted(tx.fetchall(f"SELECT * FROM {table}"), key=repr)  # noqa: S608 - our own tables
                for table in self.projection.tables
            }

    def rebuild_matches(self) -> bool:
        """Catch up, keep the rows, rebuild from the whole log, and say whether the rows came out the same."""
        self.tick()
        live = self.rows()
        self.rebuild()
        return self.rows() == live

    def reset(self) -> None:
        """Forget every row and the position: the next tick catches up from the start of the log."""
        with self._store.transaction() as tx:
            for table in self.projection.tables:
                tx.execute(f"DELETE FROM {table}")  # noqa: S608 - a read model's own table names
            tx.execute("DELETE FROM view_tracking WHERE name = ?", (self.projection.name,))

    def lag(self) -> Lag:
        at = self.position()
        head = self._app.recorder.max_notification_id() or 0
        waiting = self._app.recorder.select_notifications(
            start=at + 1, limit=1, stop=head, topics=self.projection.topics
        )
        if not waiting:
            return Lag(max(head - at, 0), 0.0)
        oldest: datetime = self._app.mapper.to_domain_event(waiting[0]).timestamp  # type: ignore[attr-defined]
        return Lag(head - at, max((datetime.now(UTC) - oldest).total_seconds(), 0.0))
