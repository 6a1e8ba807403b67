"""Every read model caught up together (``projections.together``), on SQLite and PostgreSQL: the same rows
as each alone, each event decoded once per batch, a crash inside the shared batch leaves every read model as
the last commit left it, and a read model whose handler fails holds back none of the others."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eventsourcing.persistence import Notification

from node.services import Services
from projections.follower import ProjectionFollower
from projections.together import ReadModels
from tests.builders import FakeClock
from tests.integration.test_read_model_recovery import Crashing, snapshot, work
from tests.integration.test_service_statistics import handled_cases


def every_table(node: Services) -> list[str]:
    return [t for follower in node.projections.values() for t in follower.projection.tables]


def positions(node: Services) -> dict[str, int]:
    return {name: follower.position() for name, follower in node.projections.items()}


def test_together_gives_each_read_model_the_rows_it_gets_alone(node: Services, clock: FakeClock) -> None:
    handled_cases(node, clock)
    work(node, clock)
    assert node.read_models.tick() > 0
    together = snapshot(node, every_table(node))
    head = node.app.recorder.max_notification_id()
    assert set(positions(node).values()) == {head}
    assert sum(len(rows) for rows in together.values()) > 0
    for follower in node.projections.values():
        follower.rebuild()
    assert snapshot(node, every_table(node)) == together
    assert node.read_models.tick() == 0  # in step: nothing read again


def test_each_event_is_decoded_once_for_every_read_model(
    node: Services, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    node.read_models.tick()
    handled_cases(node, clock)
    work(node, clock)
    decoded: list[int] = []
    decode: Callable[[Notification], Any] = node.app.mapper.to_domain_event

    def counting(notification: Notification) -> Any:
        decoded.append(notification.id)
        return decode(notification)

    monkeypatch.setattr(node.app.mapper, "to_domain_event", counting)
    read = node.read_models.tick()
    assert read > 0
    assert decoded
    assert len(decoded) == len(set(decoded))  # never the same event twice
    alone = ProjectionFollower(
        node.app, node.views, node.projections["case_view"].projection, node.settings.projection_batch_events
    )
    alone.reset()
    decoded.clear()
    alone.tick()
    assert len(decoded) == len(set(decoded))
    assert len(decoded) > 0  # the follower alone decodes its own: the same events again


def test_a_crash_inside_the_shared_batch_leaves_every_read_model_as_committed(
    node: Services, clock: FakeClock
) -> None:
    handled_cases(node, clock)
    work(node, clock)
    node.read_models.tick()
    tables = every_table(node)
    committed, before = snapshot(node, tables), positions(node)
    work(node, clock)  # the next batch

    followers = dict(node.projections)
    board = followers["case_board"]
    followers["case_board"] = ProjectionFollower(
        node.app, node.views, Crashing(board.projection, at=3), node.settings.projection_batch_events
    )
    crashing = ReadModels(node.app, node.views, followers, node.settings.projection_batch_events)
    with pytest.raises(KeyboardInterrupt):
        crashing.tick()
    assert snapshot(node, tables) == committed  # neither rows nor positions of any read model moved
    assert positions(node) == before

    assert node.read_models.tick() > 0  # the restarted node catches every read model up
    recovered = snapshot(node, tables)
    assert recovered != committed
    for follower in node.projections.values():
        follower.rebuild()
    assert snapshot(node, tables) == recovered


def test_a_read_model_behind_the_others_catches_up_with_them(node: Services, clock: FakeClock) -> None:
    handled_cases(node, clock)
    work(node, clock)
    node.read_models.tick()
    expected = snapshot(node, every_table(node))
    node.projections["case_view"].reset()  # e.g. an operator's rebuild, started and interrupted
    assert node.read_models.tick() > 0
    assert snapshot(node, every_table(node)) == expected
    assert len(set(positions(node).values())) == 1


class Failing(Crashing):
    def apply(self, tx: Any, event: Any) -> None:
        raise RuntimeError("a read model's bug")


def test_a_failing_read_model_holds_back_none_of_the_others(node: Services, clock: FakeClock) -> None:
    node.read_models.tick()
    before = positions(node)
    handled_cases(node, clock)
    followers = dict(node.projections)
    followers["case_view"] = ProjectionFollower(
        node.app,
        node.views,
        Failing(followers["case_view"].projection, at=0),
        node.settings.projection_batch_events,
    )
    models = ReadModels(node.app, node.views, followers, node.settings.projection_batch_events)
    with pytest.raises(RuntimeError):
        models.tick()
    assert positions(node) == before  # together: the failure rolled the whole batch back
    failed = models.tick_each()
    assert list(failed) == ["case_view"]
    after = positions(node)
    assert after["case_view"] == before["case_view"]
    moved = [name for name in after if after[name] > before[name]]
    assert "case_board" in moved
    assert "service_statistics" in moved
