"""Follows the node's notification log into one read model (``infra.log_follower``): each batch of events and
the new position in ONE transaction of the view store (exactly once), whatever crashes or restarts happen."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Notification

from infra.log_follower import LogFollower, StoredPositions
from infra.view_store import Transaction, ViewStore


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
        batch_size: int,
        before_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self._app = app
        self._store = store
        self.projection = projection
        self._log = LogFollower(
            app.recorder,
            projection.name,
            projection.topics,
            batch_size,
            StoredPositions(store),
            self._apply,
            before_commit,
        )
        with store.transaction() as tx:
            projection.create(tx)

    def position(self) -> int:
        return self._log.position()

    def tick(self) -> int:
        """Apply what the log holds beyond the position, batch by batch; returns how many events."""
        return self._log.catch_up()

    def _apply(self, tx: Transaction, notifications: Sequence[Notification]) -> None:
        self.apply_events(tx, [self._app.mapper.to_domain_event(n) for n in notifications])

    def apply_events(self, tx: Transaction, events: Sequence[Any]) -> None:
        """Apply events already decoded (by this follower, or once for every read model: ``together``)."""
        for event in events:
            self.projection.apply(tx, event)
        self.projection.flush(tx)

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

        def clear(tx: Transaction) -> None:
            for table in self.projection.tables:
                tx.execute(f"DELETE FROM {table}")  # noqa: S608 - a read model's own table names

        self._log.reset(clear)

    def lag(self) -> Lag:
        backlog = self._log.backlog()
        if backlog.first is None:
            return Lag(backlog.positions, 0.0)
        oldest: datetime = self._app.mapper.to_domain_event(backlog.first).timestamp  # type: ignore[attr-defined]
        return Lag(backlog.positions, max((datetime.now(UTC) - oldest).total_seconds(), 0.0))
