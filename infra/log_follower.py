"""One follower of a node's notification log, for every reader that must see each of its events once and in
order: the read models, the transparency tree, the deadline timer and the reliance watcher.

A follower reads the log in batches (the notifications of the topics its reader wants) from a position, hands
each batch to the reader's handler, and moves the position past it. Where the position lives is the reader's
choice:

- ``MemoryPositions``: the reader keeps its state in memory, so its position too; a restart reads the log
  again from the start, which rebuilds that state;
- ``StoredPositions``: the position lives in the view store, and the handler writes its rows in the same
  transaction that moves it, so a crash inside a batch leaves neither and no batch is applied twice.

eventsourcing 9.5's projection runner needs a subscription to the store, which SQLite lacks, so a follower
polls: whoever runs it decides when (every few seconds, or when the node's log signal says the log grew).
Notification ids may have gaps (a PostgreSQL transaction that took an id and rolled back): nothing here
assumes they are contiguous, only ordered.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from eventsourcing.persistence import Notification

from infra.view_store import PositionMoved, Transaction, ViewStore, advance, position

Tx = TypeVar("Tx")  # what a batch is handled in: a view store transaction, or nothing (positions in memory)


class Recorder(Protocol):
    """What a follower reads: eventsourcing's application recorder (``app.recorder``). Not the application's
    notification log, whose ``select`` caps a batch at 10 notifications."""

    def max_notification_id(self) -> int | None: ...

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]: ...


class Positions(Protocol[Tx]):
    """Where followers keep their positions (the last notification id each has considered)."""

    def transaction(self) -> AbstractContextManager[Tx]:
        """One batch: its handling and its new position commit together, or neither does."""

    def position(self, tx: Tx, name: str) -> int: ...

    def advance(self, tx: Tx, name: str, previous: int, new: int) -> None:
        """Move ``name`` from ``previous`` to ``new``; PositionMoved when it is no longer at ``previous``."""

    def forget(self, tx: Tx, name: str) -> None:
        """Back to the start of the log."""


class MemoryPositions:
    """Positions in memory, for a reader whose state is in memory too."""

    def __init__(self) -> None:
        self._positions: dict[str, int] = {}
        self._lock = threading.Lock()  # one batch at a time, as a transaction of the view store would

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            yield None

    def position(self, tx: None, name: str) -> int:
        return self._positions.get(name, 0)

    def advance(self, tx: None, name: str, previous: int, new: int) -> None:
        if self._positions.get(name, 0) != previous:
            raise PositionMoved(f"{name} is no longer at position {previous}")
        self._positions[name] = new

    def forget(self, tx: None, name: str) -> None:
        self._positions.pop(name, None)


class StoredPositions:
    """Positions in the view store (``view_tracking``), moved in the transaction that writes the rows."""

    def __init__(self, store: ViewStore) -> None:
        self._store = store

    def transaction(self) -> AbstractContextManager[Transaction]:
        return self._store.transaction()

    def position(self, tx: Transaction, name: str) -> int:
        return position(tx, name)

    def advance(self, tx: Transaction, name: str, previous: int, new: int) -> None:
        advance(tx, name, previous, new)

    def forget(self, tx: Transaction, name: str) -> None:
        tx.execute("DELETE FROM view_tracking WHERE name = ?", (name,))


@dataclass(frozen=True)
class Backlog:
    positions: int  # positions of the log not yet considered (ids, so gaps count too)
    first: Notification | None  # the first notification of the follower's topics not yet handled


class LogFollower(Generic[Tx]):
    """Hands the log's notifications of ``topics`` (every topic when empty) to ``handle``, ``batch_size`` at a
    time, each batch in one transaction of ``positions`` with the position it reaches."""

    def __init__(
        self,
        recorder: Recorder,
        name: str,
        topics: Sequence[str],
        batch_size: int,
        positions: Positions[Tx],
        handle: Callable[[Tx, Sequence[Notification]], None],
        before_commit: Callable[[], None] = lambda: None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"{name}: a batch holds at least one event, not {batch_size}")
        self._recorder = recorder
        self.name = name
        self._topics = tuple(topics)
        self._batch_size = batch_size
        self._positions = positions
        self._handle = handle
        self._before_commit = before_commit  # a test hook: the chaos suite's forced crash point

    def position(self) -> int:
        with self._positions.transaction() as tx:
            return self._positions.position(tx, self.name)

    def head(self) -> int:
        return self._recorder.max_notification_id() or 0

    def catch_up(self) -> int:
        """Handle what the log holds beyond the position, batch by batch; returns how many notifications."""
        return in_batches(self.head, self._positions.transaction, self._batch)

    def _batch(self, tx: Tx, head: int) -> tuple[int, bool]:
        """Handle one batch in ``tx``; (notifications handled, whether the head was reached)."""
        before = self._positions.position(tx, self.name)
        if before >= head:
            return 0, True
        # Up to the head read before the batch: a notification recorded meanwhile waits for the next call.
        notifications = self._recorder.select_notifications(
            start=before + 1, limit=self._batch_size, stop=head, topics=self._topics
        )
        self._handle(tx, notifications)
        full = len(notifications) == self._batch_size
        # A short batch means the log holds nothing else of these topics up to the head: the position goes
        # there, so a reader of rare topics does not read the same stretch of the log again and again.
        self._positions.advance(tx, self.name, before, notifications[-1].id if full else head)
        self._before_commit()
        return len(notifications), not full

    def reset(self, clear: Callable[[Tx], None] = lambda tx: None) -> None:
        """Back to the start of the log, in one transaction with ``clear`` (emptying the reader's rows)."""
        with self._positions.transaction() as tx:
            clear(tx)
            self._positions.forget(tx, self.name)

    def backlog(self) -> Backlog:
        at = self.position()
        head = self.head()
        waiting = self._recorder.select_notifications(start=at + 1, limit=1, stop=head, topics=self._topics)
        return Backlog(max(head - at, 0), waiting[0] if waiting else None)


def in_batches(
    head: Callable[[], int],
    transaction: Callable[[], AbstractContextManager[Tx]],
    batch: Callable[[Tx, int], tuple[int, bool]],
) -> int:
    """Batch after batch, each in a transaction of its own and up to the head read just before it, until one
    reaches that head; ``batch`` returns (notifications handled, whether it reached the head). Stops when
    another process moved a position meanwhile (a rebuild, another node process): that one handles it, not
    twice. Returns how many notifications were handled."""
    handled = 0
    while True:
        at = head()
        try:
            with transaction() as tx:
                count, done = batch(tx, at)
        except PositionMoved:
            return handled
        handled += count
        if done:
            return handled
