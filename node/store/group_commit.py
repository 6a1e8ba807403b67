"""Group commit: saves that arrive together are written in ONE transaction of the event store.

Each command is still validated on its own, by its own aggregate, in its own thread; only the write is
shared. The first waiting saver becomes the leader: it takes every save queued so far, records their events in
one transaction, and hands the leadership on. Callers queued meanwhile form the next batch, so no one waits
for a timer. The PostgreSQL recorder locks its table per transaction, so one transaction per save caps a node
far below what the database commits; a batch pays that price once.

Each caller gets its own answer. When the shared transaction fails (two commands raced on one aggregate, and
its version is taken twice), every save of the batch is recorded again on its own, so only the loser sees
the IntegrityError. Nothing returns before its transaction has committed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import UUID

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import Recording

MAX_BATCH = 256

Record = Callable[[ProcessingEvent[UUID]], list[Recording[UUID]]]


@dataclass
class _Save:
    processing_event: ProcessingEvent[UUID]
    done: bool = False
    recordings: list[Recording[UUID]] = field(default_factory=list)
    error: BaseException | None = None


class GroupCommitter:
    def __init__(self, record: Record, max_batch: int = MAX_BATCH) -> None:
        self._record, self._max_batch = record, max_batch
        self._changed = threading.Condition()
        self._queue: list[_Save] = []
        self._leading = False
        self.batches = 0  # transactions written, for the benchmark and the tests

    def commit(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        """Record the event's events durably, together with whatever else is waiting; raise its own error."""
        save = _Save(processing_event)
        with self._changed:
            self._queue.append(save)
            while self._leading and not save.done:
                self._changed.wait()
            if not save.done:
                self._leading = True
                batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
        if not save.done:
            try:
                self._write(batch)
            finally:
                with self._changed:
                    self._leading = False
                    self._changed.notify_all()
        if save.error is not None:
            raise save.error
        return save.recordings

    def _write(self, batch: list[_Save]) -> None:
        self.batches += 1
        if len(batch) > 1:
            merged: ProcessingEvent[UUID] = ProcessingEvent()
            for save in batch:
                merged.events += save.processing_event.events
                merged.aggregates.update(save.processing_event.aggregates)
            recordings = self._record_merged(merged)
            if recordings is not None:
                start = 0
                for save in batch:
                    count = len(save.processing_event.events)
                    save.recordings, save.done = recordings[start : start + count], True
                    start += count
                return
        for save in batch:  # one at a time: each gets its own answer or error
            try:
                save.recordings = self._record(save.processing_event)
            except Exception as e:  # handed to the caller it belongs to
                save.error = e
            save.done = True

    def _record_merged(self, merged: ProcessingEvent[UUID]) -> list[Recording[UUID]] | None:
        """The batch in one transaction; None when it failed (the transaction wrote nothing)."""
        try:
            return self._record(merged)
        except Exception:  # the saves are recorded again alone, each raising its own error
            return None
