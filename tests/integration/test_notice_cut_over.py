"""The cut-over of 行政许可法 第32条's notice limit on a store written before it (tests/fixtures/stores/
round2, by commit ce3c988): the open cases that arrived before acceptance there are not swept into deemed
acceptances. The timer's first visit records when their notice clock starts (the upgrade day), and only 5
working days after that visit may it deem them accepted; cases accepted under the old rule keep their date.
Each test runs on both stores the old code wrote: SQLite, and PostgreSQL (its dump loaded into a database of
its own, schema old_round2_310000)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from aggregates.case import Case, Limit, State
from aggregates.errors import InvalidField
from aggregates.responsibility import Actor
from node.bootstrap import build_services, close_services
from node.services import Services
from node.settings import load_settings
from node.usecases import case_commands as cc
from tests.builders import FakeClock, day_by_day
from tests.integration.old_stores import copy_fixture, restored_database

FIXTURES = Path(__file__).parents[1] / "fixtures" / "stores" / "round2"
SH = "310000"
SCHEMA = "old_round2_310000"  # the schema the old code wrote the node in (README.md)
UPGRADE = datetime.fromisoformat("2026-04-14T10:00:00+08:00")  # a Tuesday, six weeks after the receipts
JS_HANDLER = Actor("320000", "32-HANDLER-01", "handler-1")
CUT_OVER = ("received", "forwarded", "online")  # arrived before the rule, before acceptance, no notice


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def old_node(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Services, FakeClock, dict[str, Any]]]:
    """The round-2 store in a copy of its own (a file under tmp_path, or a new database loaded from the
    dump), opened by today's composition root on the upgrade day."""
    kind = request.param
    directory = tmp_path / "round2"
    expected = copy_fixture(FIXTURES / kind, directory)
    assert datetime.fromisoformat(expected["last_event_at"]) < UPGRADE
    environ = {"TONGBAN_DATA_DIR": str(directory)}
    if kind == "sqlite":
        yield from _opened(environ, expected)
        return
    server: str = request.getfixturevalue("postgres_url")
    with restored_database(server, FIXTURES / kind / f"{SCHEMA}.sql.gz") as url:
        yield from _opened(
            environ | {"TONGBAN_POSTGRES_URL": url, "TONGBAN_POSTGRES_SCHEMA": SCHEMA}, expected
        )


def _opened(
    environ: dict[str, str], expected: dict[str, Any]
) -> Iterator[tuple[Services, FakeClock, dict[str, Any]]]:
    clock = FakeClock(UPGRADE)
    services = build_services(load_settings(province=SH, environ=environ), clock=clock)
    try:
        yield services, clock, expected
    finally:
        close_services(services)


def test_article_32_cases_open_before_the_upgrade_get_five_working_days_from_the_timers_first_visit(
    old_node: tuple[Services, FakeClock, dict[str, Any]],
) -> None:
    node, clock, expected = old_node
    marks: dict[str, str] = expected["cases"]
    states = {mark: node.cases.case(case_id).state.value for mark, case_id in marks.items()}
    assert states == expected["states"]  # the old events load as they were written
    assert all(node.cases.case(marks[mark]).needs_notice_clock() for mark in CUT_OVER)

    first = node.timer.tick()
    assert (first["NoticeClockStarted"], first["AcceptanceDeemed"]) == (len(CUT_OVER), 0)
    for mark in CUT_OVER:
        case = node.cases.case(marks[mark])
        assert (case.notice_clock_from, case.clock_runs(Limit.NOTICE)) == ("2026-04-14", True)
    for mark in ("submitted", "noticed", "accepted"):  # not arrived, noticed already, accepted already
        assert node.cases.case(marks[mark]).notice_clock_from is None

    calendar = node.cases.calendar_of(node.cases.case(marks["received"]))
    due = day_by_day(calendar, date(2026, 4, 14), 5)
    deemed: Counter[str] = Counter()
    day = date(2026, 4, 15)
    while day <= due:
        clock.set_china_time(day.isoformat(), hour=23)
        deemed.update(node.timer.tick())
        day += timedelta(days=1)
    assert (deemed["AcceptanceDeemed"], deemed["NoticeClockStarted"]) == (0, 0)

    clock.set_china_time((due + timedelta(days=1)).isoformat(), hour=9)
    assert node.timer.tick()["AcceptanceDeemed"] == len(CUT_OVER)
    for mark in CUT_OVER:
        case = node.cases.case(marks[mark])
        assert (case.state, case.accepted_on) == (State.ACCEPTED, "2026-04-14")
        assert case.acceptance_deemed == {"accepted_on": "2026-04-14", "notice_due_on": due.isoformat()}
    assert node.timer.tick()["AcceptanceDeemed"] == 0  # once


def test_article_32_cases_accepted_or_noticed_under_the_old_rule_keep_it(
    old_node: tuple[Services, FakeClock, dict[str, Any]],
) -> None:
    node, _clock, expected = old_node
    marks: dict[str, str] = expected["cases"]
    assert node.cases.case(marks["accepted"]).accepted_on == expected["accepted_on"] == "2026-03-04"
    old_notice = next(
        e for e in node.app.events.get(UUID(marks["noticed"])) if isinstance(e, Case.SupplementRequested)
    )
    assert (old_notice.follows_round, old_notice.defective, old_notice.notice_due_on) == (None, [], None)
    # 一次性告知 holds from the upgrade on: a second notice names only what the first round supplied
    with pytest.raises(InvalidField, match="一次性告知"):
        node.cases.run(cc.REQUEST_SUPPLEMENT, marks["noticed"], JS_HANDLER, missing=["M01"], reason="再补")
    accepted = node.cases.run(cc.ACCEPT, marks["noticed"], JS_HANDLER)
    assert accepted.accepted_on == "2026-04-14"  # received before the rule: the day of the acceptance
