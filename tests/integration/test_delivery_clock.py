"""The delivery limit (送达, 行政许可法 第44条) and the rectification of a 差评 (整改) through the deadline
timer, on real stores (SQLite and PostgreSQL) with an injected clock, across a restart of the node; and the
supervision board's due dates.

A 异地代收代办 (PROXY) case received in Shanghai and decided in Jiangsu on Monday 2025-11-03 (November 2025
has no public holiday): its delivery is due on 11-17, the 10th working day after the decision.
"""

from __future__ import annotations

from aggregates.clock import china_date
from node.bootstrap import build_services, close_services
from node.calendar.source import case_calendar
from node.services import Services
from node.settings import Settings
from node.usecases.case_commands import ACCEPT, CONCLUDE, DELIVER, RATE, RESPOND_TO_RECTIFICATION
from node.workers.deadline_timer import DeadlineTimer
from projections.case_board import CaseBoard, with_deadlines
from tests.builders import FakeClock
from tests.integration.test_case_service import JS_HANDLER, SH_PLATFORM, SH_WINDOW, approve, proxy_case


def test_article_44_the_timer_breaches_an_undelivered_decision_once_across_a_restart(
    settings: Settings, node: Services, clock: FakeClock
) -> None:
    """Given a decision on 2025-11-03, when the timer ticks each working day and the node restarts on 11-14,
    then the delivery limit is warned of on 11-12 and breached on 11-18, once each; once delivered, and
    rated 差评, the rectification is warned of and breached the same way until the office answers."""
    case_id = proxy_case(node, clock)
    clock.set_china_time("2025-11-03")
    node.cases.run(ACCEPT, case_id, JS_HANDLER)
    approve(node, case_id, JS_HANDLER)
    node.cases.run(CONCLUDE, case_id, JS_HANDLER, result="ISSUED")
    timer = DeadlineTimer(node.app, node.timers, node.settings.timer_batch_events)
    recorded: dict[str, str] = {}
    for day in (
        "2025-11-10",
        "2025-11-12",
        "2025-11-13",
        "2025-11-14",
        "2025-11-17",
        "2025-11-18",
        "2025-11-19",
    ):
        clock.set_china_time(day)
        for what in timer.tick():
            recorded.setdefault(what, day)
        if day == "2025-11-14":  # a new process on the same store finds the undelivered decision in the log
            close_services(node)
            node = build_services(settings, clock=clock)
            timer = DeadlineTimer(node.app, node.timers, node.settings.timer_batch_events)
    assert recorded == {"DeadlineWarned:DELIVERY": "2025-11-12", "DeadlineBreached:DELIVERY": "2025-11-18"}

    # the supervision board shows the delivery due date and its breach
    board = node.projections[CaseBoard.name]
    board.tick()
    with node.views.transaction() as tx:
        [row] = with_deadlines(tx, [{"case_id": case_id}], china_date(node.cases.now()), case_calendar)
    assert (row["due"]["delivery"], row["due"]["delivery_breach"]) == (
        "2025-11-17",
        {"due_on": "2025-11-17", "recorded_on": "2025-11-18"},
    )

    node.cases.run(DELIVER, case_id, SH_WINDOW, method="WINDOW", reference="徐汇窗口")
    node.cases.run(RATE, case_id, SH_PLATFORM, score=1, channel="ONLINE", comment="")  # due 2025-12-10
    recorded.clear()
    for day in ("2025-11-20", "2025-12-04", "2025-12-05", "2025-12-10", "2025-12-11", "2025-12-12"):
        clock.set_china_time(day)
        for what in timer.tick():
            recorded.setdefault(what, day)
    assert recorded == {
        "DeadlineWarned:RECTIFICATION": "2025-12-05",
        "DeadlineBreached:RECTIFICATION": "2025-12-11",
    }
    node.cases.run(RESPOND_TO_RECTIFICATION, case_id, JS_HANDLER, response="已整改")
    clock.set_china_time("2025-12-15")
    assert not timer.tick()
    events = [e.event for e in node.cases.timeline(case_id)]
    assert (events.count("DeadlineWarned"), events.count("DeadlineBreached")) == (2, 2)
    close_services(node)
