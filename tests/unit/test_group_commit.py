"""Group commit with a recorder stand-in that holds the first transaction open: the saves queued meanwhile are
written together as the next batch, each caller gets its own recordings, and a save that cannot be recorded
fails alone."""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import IntegrityError, Recording

from node.store.group_commit import GroupCommitter

BOUND_S = 10.0


class Event:
    def __init__(self, name: str) -> None:
        self.name, self.originator_id = name, uuid4()


class Recorder:
    """Records lists of events; the first call waits for ``release``; an event named "bad" fails its batch."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()
        self.transactions: list[list[str]] = []
        self._lock = threading.Lock()

    def __call__(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        names = [e.name for e in processing_event.events]  # type: ignore[attr-defined]
        with self._lock:
            first = not self.transactions
            self.transactions.append(names)
        if first:
            self.entered.set()
            assert self.release.wait(BOUND_S)
        if "bad" in names:
            raise IntegrityError("version taken")
        return [Recording(e, None) for e in processing_event.events]  # type: ignore[arg-type]


def saver(committer: GroupCommitter, name: str, results: dict[str, Any]) -> threading.Thread:
    def run() -> None:
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        processing_event.events.append(Event(name))  # type: ignore[arg-type]
        try:
            results[name] = [r.domain_event.name for r in committer.commit(processing_event)]  # type: ignore[attr-defined]
        except IntegrityError as e:
            results[name] = e

    return threading.Thread(target=run, name=name)


def run_batch(names: list[str]) -> tuple[Recorder, GroupCommitter, dict[str, Any]]:
    recorder, results = Recorder(), dict[str, Any]()
    committer = GroupCommitter(recorder)
    first = saver(committer, "first", results)
    first.start()
    assert recorder.entered.wait(BOUND_S)  # the first transaction is open
    others = [saver(committer, name, results) for name in names]
    for thread in others:
        thread.start()
    deadline = threading.Event()
    while len(committer._queue) < len(names) and not deadline.wait(0.01):
        pass
    recorder.release.set()
    for thread in (first, *others):
        thread.join(BOUND_S)
    return recorder, committer, results


def test_saves_queued_meanwhile_are_written_in_one_transaction() -> None:
    recorder, committer, results = run_batch(["a", "b", "c", "d"])
    assert recorder.transactions[0] == ["first"]
    assert sorted(recorder.transactions[1]) == ["a", "b", "c", "d"]
    assert len(recorder.transactions) == 2 == committer.batches
    assert results == {name: [name] for name in ("first", "a", "b", "c", "d")}  # each its own recordings


def test_a_save_that_fails_fails_alone() -> None:
    recorder, _committer, results = run_batch(["a", "bad", "c"])
    assert sorted(recorder.transactions[1]) == ["a", "bad", "c"]  # tried together, then one by one
    assert sorted(map(tuple, recorder.transactions[2:])) == [("a",), ("bad",), ("c",)]
    assert isinstance(results["bad"], IntegrityError)
    assert (results["a"], results["c"], results["first"]) == (["a"], ["c"], ["first"])


@pytest.mark.parametrize("count", [1, 7])
def test_lone_saves_pass_straight_through(count: int) -> None:
    recorder = Recorder()
    recorder.release.set()
    committer, results = GroupCommitter(recorder), dict[str, Any]()
    for n in range(count):
        thread = saver(committer, f"s{n}", results)
        thread.start()
        thread.join(BOUND_S)
    assert recorder.transactions == [[f"s{n}"] for n in range(count)]
    assert results == {f"s{n}": [f"s{n}"] for n in range(count)}
