"""The inbox's quarantine (federation/inbox.py, federation/quarantine.py). Given cases Shanghai received for
Jiangsu and replicates to it, when Jiangsu's inbox refuses one event, then that event's stream alone is held,
from that event on, and every other stream applies with the position; a retry applies the held events once.
A case's time runs at the province that handles it (行政许可法 第42条), so one bad event must not hold back
the other cases of the feed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from itertools import zip_longest
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import Mapper, OperationalError
from tongban.federation.v1 import federation_pb2 as pb

from aggregates.case import Case
from federation.inbox import Inbox
from node.settings import load_settings
from node.store.application import NodeApplication
from tests.builders import FakeClock
from tests.unit.test_case import forwarded

SH, JS = "310000", "320000"


@pytest.fixture
def jiangsu(tmp_path: Path) -> Iterator[NodeApplication]:
    settings = load_settings(province=JS, environ={"TONGBAN_DATA_DIR": str(tmp_path)})
    Path(settings.sqlite_path).parent.mkdir(parents=True)
    app = NodeApplication(env=settings.eventsourcing_env())
    yield app
    app.close()


def inbox_of(app: NodeApplication) -> Inbox:
    return Inbox(app, JS, FakeClock(datetime.fromisoformat("2026-03-02T09:00:00+08:00")))


def feed(app: NodeApplication, cases: list[Case]) -> pb.PullEventsResponse:
    """The cases' events as Shanghai's log would hold them, interleaved: one of each in turn."""
    mapper: Mapper[Any] = Mapper(transcoder=app.mapper.transcoder)
    batch = pb.PullEventsResponse()
    turns = zip_longest(*(case.collect_events() for case in cases))
    for position, event in enumerate((e for turn in turns for e in turn if e is not None), start=1):
        stored = mapper.to_stored_event(event)
        batch.events.add(
            position=position,
            originator_id=str(stored.originator_id),
            originator_version=stored.originator_version,
            topic=stored.topic,
            state=stored.state,
        )
    batch.next_position = batch.head_position = len(batch.events)
    return batch


def versions(app: NodeApplication, case: Case) -> list[int]:
    return [e.originator_version for e in app.events.get(case.id)]


def poisoned(batch: pb.PullEventsResponse, case: Case, version: int) -> pb.PullEventsResponse:
    copy = pb.PullEventsResponse()
    copy.CopyFrom(batch)
    for event in copy.events:
        if event.originator_id == str(case.id) and event.originator_version == version:
            event.state = json.dumps({**json.loads(event.state), "smuggled": 1}).encode()
    return copy


def test_article_42_a_refused_event_holds_back_its_own_stream_only(jiangsu: NodeApplication) -> None:
    # given three cases forwarded to Jiangsu, the second with a forged field in its third event
    cases = [forwarded() for _ in range(3)]
    lengths = [c.version for c in cases]
    batch = poisoned(feed(jiangsu, cases), cases[1], 3)
    # when Jiangsu applies the feed
    inbox = inbox_of(jiangsu)
    applied = inbox.apply(SH, batch)
    # then the others apply whole, the second up to version 2, and the position reaches the feed's end
    assert versions(jiangsu, cases[0]) == list(range(1, lengths[0] + 1))
    assert versions(jiangsu, cases[2]) == list(range(1, lengths[2] + 1))
    assert versions(jiangsu, cases[1]) == [1, 2]
    assert (applied.position, inbox.position(SH)) == (batch.next_position, batch.next_position)
    assert applied.quarantined == lengths[1] - 2
    [held] = inbox.quarantine.streams()
    assert (held.peer, held.stream_id, held.from_version) == (SH, str(cases[1].id), 3)
    assert held.reason == "an event whose fields differ from its class"
    assert [h.reason for h in inbox.quarantine.held(SH)][1:] == ["held behind version 3"] * (lengths[1] - 3)


def test_article_42_a_later_event_of_a_held_stream_waits_behind_it(jiangsu: NodeApplication) -> None:
    # given a case whose third event was held, the rest of its stream arriving in a later batch
    case = forwarded()
    whole = poisoned(feed(jiangsu, [case]), case, 3)
    first, second = pb.PullEventsResponse(), pb.PullEventsResponse()
    first.events.extend(whole.events[:3])
    first.next_position, first.head_position = 3, whole.head_position
    second.events.extend(whole.events[3:])
    second.next_position = second.head_position = whole.head_position
    inbox = inbox_of(jiangsu)
    inbox.apply(SH, first)
    # when the later batch comes, with valid events of the held stream
    applied = inbox.apply(SH, second)
    # then none of them is applied before the held one: they join it in the quarantine
    assert versions(jiangsu, case) == [1, 2]
    assert (applied.stored, applied.quarantined) == (0, case.version - 3)
    assert [h.version for h in inbox.quarantine.held(SH)] == list(range(3, case.version + 1))


def test_article_42_a_retry_after_the_fix_applies_the_held_events_once_in_order(
    jiangsu: NodeApplication,
) -> None:
    # given a case held from version 3, and the peer's corrected event in place of the forged one
    case = forwarded()
    clean = feed(jiangsu, [case])
    inbox = inbox_of(jiangsu)
    inbox.apply(SH, poisoned(clean, case, 3))
    master = (
        jiangsu.data_keys.keyring.newest
    )  # held bytes are sealed, bound to their peer, stream and version
    sealed = master.wrap(clean.events[2].state, f"{SH}|{case.id}|3".encode())
    with jiangsu.factory.datastore.transaction(commit=True) as cursor:  # type: ignore[attr-defined]
        cursor.execute(
            "UPDATE federation_quarantine SET master_key_id = ?, sealed = ? WHERE version = 3",
            (master.key_id, sealed),
        )
    # when the operator retries the stream, twice
    retried = inbox.retry(SH, [str(case.id)])
    again = inbox.retry(SH, [str(case.id)])
    # then the held events apply once, in order, and leave the quarantine
    assert (retried.released, retried.still_held, again.released) == (case.version - 2, 0, 0)
    assert versions(jiangsu, case) == list(range(1, case.version + 1))
    assert inbox.quarantine.streams() == []


def test_article_42_a_store_failure_is_not_the_events_fault_and_holds_nothing(
    jiangsu: NodeApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a feed whose streams Jiangsu must read, and a store that fails on that read
    cases = [forwarded() for _ in range(2)]
    batch = feed(jiangsu, cases)
    inbox = inbox_of(jiangsu)

    def unreachable(stream_id: object) -> None:
        raise OperationalError("the store went away")

    monkeypatch.setattr(inbox, "_load", unreachable)
    batch.events[0].originator_version = 2  # not new here: its stream must be read
    # when the inbox applies it
    with pytest.raises(OperationalError):
        inbox.apply(SH, batch)
    # then no stream is quarantined and the position stays: the batch comes again later
    assert (inbox.quarantine.streams(), inbox.position(SH)) == ([], 0)
