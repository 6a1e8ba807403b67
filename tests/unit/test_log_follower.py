"""The one follower of a node's log (infra/log_follower.py), over eventsourcing's own SQLite recorder: batches
by topic from a position, ids with gaps, positions in memory or in the view store's transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from uuid import uuid4

import pytest
from eventsourcing.persistence import Notification, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

from infra.log_follower import LogFollower, MemoryPositions, StoredPositions
from infra.view_store import SQLiteViewStore, Transaction

WANTED, OTHER = "tests:Wanted", "tests:Other"


class Log:
    """An event table with eventsourcing's own recorder, where ids can be made to have gaps."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.recorder = SQLiteApplicationRecorder(SQLiteDatastore(str(path)))
        self.recorder.create_table()

    def record(self, *topics: str) -> None:
        for topic in topics:
            self.recorder.insert_events([StoredEvent(uuid4(), 1, topic, b"{}")])

    def lose(self, *ids: int) -> None:
        """Ids taken by transactions that rolled back (a PostgreSQL crash): the log never holds them."""
        with sqlite3.connect(self.path) as connection:
            connection.executemany("DELETE FROM stored_events WHERE rowid = ?", [(i,) for i in ids])

    def ids(self, *topics: str) -> list[int]:
        return [n.id for n in self.recorder.select_notifications(start=1, limit=1000, topics=topics)]


@pytest.fixture
def log(tmp_path: Path) -> Log:
    return Log(tmp_path / "events.sqlite3")


@pytest.fixture
def views(tmp_path: Path) -> Iterator[SQLiteViewStore]:
    store = SQLiteViewStore(tmp_path / "views.sqlite3")
    with store.transaction() as tx:
        tx.execute("CREATE TABLE seen (notification_id BIGINT PRIMARY KEY)")
    yield store
    store.close()


class Batches:
    """A reader that remembers each batch it was handed."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    def __call__(self, _tx: object, notifications: Sequence[Notification]) -> None:
        self.batches.append([n.id for n in notifications])

    @property
    def handled(self) -> list[int]:
        return [i for batch in self.batches for i in batch]


def in_memory(
    log: Log, reader: Batches, batch_size: int, topics: Sequence[str] = (WANTED,)
) -> LogFollower[None]:
    return LogFollower(log.recorder, "reader", topics, batch_size, MemoryPositions(), reader)


def seen(views: SQLiteViewStore) -> list[int]:
    with views.transaction() as tx:
        return [row[0] for row in tx.fetchall("SELECT notification_id FROM seen ORDER BY notification_id")]


def remember(tx: Transaction, notifications: Sequence[Notification]) -> None:
    tx.insert_many("seen", ("notification_id",), [(n.id,) for n in notifications])


def test_it_hands_its_topics_over_in_batches_from_its_position(log: Log) -> None:
    log.record(WANTED, OTHER, WANTED, WANTED, OTHER, WANTED, WANTED, OTHER, WANTED)
    reader = Batches()
    follower = in_memory(log, reader, batch_size=2)
    assert follower.catch_up() == 6
    assert reader.batches == [[1, 3], [4, 6], [7, 9]]
    assert follower.position() == 9
    assert follower.catch_up() == 0  # nothing handed over twice
    log.record(OTHER, WANTED)
    assert follower.catch_up() == 1
    assert reader.batches[-1] == [11]


def test_ids_with_gaps_are_followed_in_order_and_none_is_waited_for(log: Log) -> None:
    log.record(*[WANTED] * 10)
    log.lose(2, 3, 7)
    reader = Batches()
    follower = in_memory(log, reader, batch_size=3)
    follower.catch_up()
    assert reader.batches == [[1, 4, 5], [6, 8, 9], [10]]
    assert reader.handled == log.ids(WANTED)
    log.record(WANTED)
    follower.catch_up()
    assert reader.handled[-1] == 11 == follower.position()


def test_after_a_short_batch_the_position_is_the_head_even_past_its_last_topic(log: Log) -> None:
    log.record(WANTED, OTHER, OTHER, OTHER)
    reader = Batches()
    follower = in_memory(log, reader, batch_size=5)
    follower.catch_up()
    assert (reader.batches, follower.position()) == ([[1]], 4)  # the other topics are not read again


def test_every_topic_when_none_is_named(log: Log) -> None:
    log.record(WANTED, OTHER, WANTED)
    reader = Batches()
    in_memory(log, reader, batch_size=2, topics=()).catch_up()
    assert reader.batches == [[1, 2], [3]]


def test_a_batch_whose_handler_fails_is_handed_over_again(log: Log) -> None:
    log.record(*[WANTED] * 5)
    reader = Batches()
    failures = iter([RuntimeError("the store is away")])

    def handle(tx: None, notifications: Sequence[Notification]) -> None:
        if notifications[0].id == 3:
            error = next(failures, None)
            if error is not None:
                raise error
        reader(tx, notifications)

    follower = LogFollower(log.recorder, "reader", (WANTED,), 2, MemoryPositions(), handle)
    with pytest.raises(RuntimeError):
        follower.catch_up()
    assert (reader.handled, follower.position()) == ([1, 2], 2)
    assert follower.catch_up() == 3
    assert reader.batches == [[1, 2], [3, 4], [5]]


def test_positions_in_memory_start_again_from_the_log_s_start(log: Log) -> None:
    """A reader with its state in memory learns it again from the log after a restart."""
    log.record(WANTED, WANTED)
    in_memory(log, Batches(), batch_size=10).catch_up()
    restarted = Batches()
    in_memory(log, restarted, batch_size=10).catch_up()
    assert restarted.handled == [1, 2]


def test_stored_rows_and_position_commit_together_or_not_at_all(log: Log, views: SQLiteViewStore) -> None:
    log.record(*[WANTED] * 7)
    crashes = iter([False, True])

    def crash() -> None:
        if next(crashes, False):
            raise KeyboardInterrupt  # the process dies inside the second batch, before it commits

    crashing = LogFollower(log.recorder, "reader", (WANTED,), 3, StoredPositions(views), remember, crash)
    with pytest.raises(KeyboardInterrupt):
        crashing.catch_up()
    assert (seen(views), crashing.position()) == ([1, 2, 3], 3)

    restarted = LogFollower(log.recorder, "reader", (WANTED,), 3, StoredPositions(views), remember)
    assert restarted.position() == 3  # the restart resumes where the store says
    assert restarted.catch_up() == 4
    assert seen(views) == [1, 2, 3, 4, 5, 6, 7]  # each once


def test_a_position_moved_under_a_batch_aborts_it(log: Log, views: SQLiteViewStore) -> None:
    log.record(*[WANTED] * 4)
    follower = LogFollower(log.recorder, "reader", (WANTED,), 2, StoredPositions(views), remember)
    follower.catch_up()
    log.record(WANTED)

    def elsewhere(tx: Transaction, notifications: Sequence[Notification]) -> None:
        remember(tx, notifications)
        # another process (a rebuild, another node process) applied the batch meanwhile
        tx.execute("UPDATE view_tracking SET position = 5 WHERE name = 'reader'")

    racing = LogFollower(log.recorder, "reader", (WANTED,), 2, StoredPositions(views), elsewhere)
    assert racing.catch_up() == 0
    assert (seen(views), racing.position()) == ([1, 2, 3, 4], 4)  # neither its rows nor its position


def test_a_reset_forgets_the_rows_and_the_position_together(log: Log, views: SQLiteViewStore) -> None:
    log.record(WANTED, OTHER, WANTED)
    follower = LogFollower(log.recorder, "reader", (WANTED,), 10, StoredPositions(views), remember)
    follower.catch_up()
    follower.reset(lambda tx: tx.execute("DELETE FROM seen"))
    assert (seen(views), follower.position()) == ([], 0)
    assert follower.catch_up() == 2
    assert seen(views) == [1, 3]


def test_the_backlog_counts_positions_and_shows_the_first_waiting_event(log: Log) -> None:
    log.record(WANTED, OTHER)
    follower = in_memory(log, Batches(), batch_size=10)
    follower.catch_up()
    log.record(OTHER, OTHER, WANTED)
    backlog = follower.backlog()
    assert backlog.positions == 3
    assert backlog.first is not None
    assert backlog.first.id == 5
    follower.catch_up()
    assert follower.backlog().positions == 0
    assert follower.backlog().first is None


def test_a_batch_holds_at_least_one_event(log: Log) -> None:
    with pytest.raises(ValueError, match="at least one"):
        in_memory(log, Batches(), batch_size=0)
