"""A case accepted on the test date (tests/dates.py): its due dates, their PROVISIONAL label and the timer's
warning and breach hold whatever year the count runs into. CI runs this at three dates."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aggregates.calendar import CalendarKind
from aggregates.deadline import DeadlineState
from node.services import Services
from node.usecases.case_commands import ACCEPT
from tests.builders import FakeClock, day_by_day
from tests.dates import TEST_DATE
from tests.integration.test_case_service import JS_HANDLER, proxy_case

pytestmark = pytest.mark.dated


def test_a_case_accepted_on_the_test_date_is_due_and_breached_on_the_counted_day(
    node: Services, clock: FakeClock
) -> None:
    clock.set_china_time(TEST_DATE.isoformat())  # received and accepted: 第32条 counts from the receipt
    case_id = proxy_case(node, clock)
    case = node.cases.run(ACCEPT, case_id, JS_HANDLER)
    computed = node.cases.deadlines(case)
    assert computed is not None
    calendar = node.cases.calendar_of(case)
    for state, limit in (
        (computed.promised, case.item.promised_limit_days),
        (computed.statutory, case.item.statutory_limit_days),
    ):
        assert isinstance(state, DeadlineState)
        assert state.due_on == day_by_day(calendar, TEST_DATE, limit)
        counted_years = range(TEST_DATE.year, state.due_on.year + 1)
        provisional = tuple(y for y in counted_years if calendar.schedule(y).kind == CalendarKind.PROVISIONAL)
        assert state.provisional_years == provisional  # PROVISIONAL exactly when it counts through one

    promised = computed.promised
    assert isinstance(promised, DeadlineState)
    assert promised.due_on is not None
    clock.set_china_time(promised.due_on.isoformat())
    assert "DeadlineWarned:PROMISED" in node.timer.tick()
    clock.set_china_time((promised.due_on + timedelta(days=1)).isoformat())
    assert "DeadlineBreached:PROMISED" in node.timer.tick()
