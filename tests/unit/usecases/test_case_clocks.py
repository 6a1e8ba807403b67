"""The clocks after the decision through the deadline timer, over an in-memory store on the injected clock:
the delivery limit (送达, 行政许可法 第44条), also of a 一件事 whose items are decided apart, and the
rectification of a 差评 (整改); and how the case's and the bundle's views show them.

November 2025 has no public holiday: its working days are Monday to Friday."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from aggregates.responsibility import Actor
from node.calendar.source import package_schedules
from node.presentation.cases import bundle_json, case_json
from node.schemas.cases import BUNDLE_CASE, CASE
from node.services import Services
from node.usecases import case_commands as cc
from node.workers.deadline_timer import DeadlineTimer
from tests.builders import CONSENT, REFUSAL, FakeClock, review_calls
from tests.unit.usecases.test_cases import (
    APPLICANT,
    ID_CARD,
    JS_HANDLER,
    SH_PLATFORM,
    SH_WINDOW,
    file_proxy,
    forwarded_proxy,
)

SH_HANDLER = Actor("310000", "SH-HANDLE", "h-9")
SH_ADMIN = Actor("310000", "SH-ZWFW", "admin-1")


def timer(node: Services) -> DeadlineTimer:
    return DeadlineTimer(node.app, node.timers, node.settings.timer_batch_events)


def decide(node: Services, case_id: str, handler: Actor, result: str = "ISSUED") -> None:
    """受理, 承办 → 审核 → 批准, then the decision, on the clock's day."""
    node.cases.run(cc.ACCEPT, case_id, handler)
    for step, officer, extra in review_calls(handler):
        node.cases.run(cc.RECORD_REVIEW, case_id, officer, step=step, opinion="同意", **extra)
    node.cases.run(cc.CONCLUDE, case_id, handler, result=result)


def decided_proxy(node: Services, clock: FakeClock, day: str) -> str:
    """A PROXY case received in Shanghai, decided in Jiangsu on ``day``."""
    case_id = forwarded_proxy(node)
    clock.set_china_time(day)
    decide(node, case_id, JS_HANDLER)
    return case_id


def first_days(node: Services, clock: FakeClock, days: list[str]) -> dict[str, str]:
    """Tick one timer on each day (10:00); the first day each record was made."""
    ticking = timer(node)
    recorded: dict[str, str] = {}
    for day in days:
        clock.set_china_time(day)
        for what in ticking.tick():
            recorded.setdefault(what, day)
    return recorded


NOVEMBER = [f"2025-11-{d:02d}" for d in range(4, 29)]


def test_article_44_the_timer_warns_and_breaches_an_undelivered_decision_once(
    node: Services, clock: FakeClock
) -> None:
    """Given a decision on Monday 2025-11-03 (delivery due 11-17, the 10th working day after), when the
    timer ticks each day, then it warns on 11-12 (three working days left) and breaches on 11-18, once
    each, as Shanghai, which writes the decided PROXY case and delivers it at its window."""
    case_id = decided_proxy(node, clock, "2025-11-03")
    assert first_days(node, clock, NOVEMBER[:16]) == {
        "DeadlineWarned:DELIVERY": "2025-11-12",
        "DeadlineBreached:DELIVERY": "2025-11-18",
    }
    timeline = node.cases.timeline(case_id)
    records = [e for e in timeline if e.event.startswith("Deadline")]
    assert [(e.event, e.detail["limit"], e.province) for e in records] == [
        ("DeadlineWarned", "DELIVERY", "310000"),
        ("DeadlineBreached", "DELIVERY", "310000"),
    ]


def test_article_44_delivery_stops_the_clock_and_the_case_shows_it(node: Services, clock: FakeClock) -> None:
    """Given a decision on 2025-11-03, when the case is read before the delivery, then its deadlines show
    the delivery limit (due 11-17, days left); when delivered on 11-14, the timer records nothing after and
    the limit reads CONCLUDED_ON_TIME."""
    case_id = decided_proxy(node, clock, "2025-11-03")
    clock.set_china_time("2025-11-10")
    shown = case_json(node.cases.case(case_id), node.cases)
    Draft202012Validator(CASE).validate(shown)
    delivery = shown["deadlines"]["delivery"]
    assert (delivery["status"], delivery["due_on"], delivery["days_left"]) == ("ON_TIME", "2025-11-17", 5)
    assert (delivery["calendar"], delivery["provisional_years"], delivery["breach"]) == ("OFFICIAL", [], None)
    assert "rectification" not in shown["deadlines"]
    clock.set_china_time("2025-11-14")
    node.cases.run(cc.DELIVER, case_id, SH_WINDOW, method="WINDOW", reference="徐汇窗口")
    assert first_days(node, clock, NOVEMBER[10:]) == {}
    delivery = case_json(node.cases.case(case_id), node.cases)["deadlines"]["delivery"]
    assert (delivery["status"], delivery["days_left"]) == ("CONCLUDED_ON_TIME", None)


def test_a_refusal_runs_no_delivery_clock_and_a_bad_rating_of_it_shows_its_rectification(
    node: Services, clock: FakeClock
) -> None:
    """Given a refusal (不予受理, no decision on the permission), then no delivery clock runs: the deadlines
    show only the notice limit the refusal stopped (行政许可法 第32条); when it is rated 差评, then they show
    the rectification too (the decision limits never ran)."""
    case_id = forwarded_proxy(node)
    clock.set_china_time("2025-11-03")
    node.cases.run(cc.REFUSE, case_id, JS_HANDLER, **REFUSAL)
    refused = case_json(node.cases.case(case_id), node.cases)["deadlines"]
    assert (refused["promised"], refused["statutory"], refused["notice"]["status"]) == (
        None,
        None,
        "CONCLUDED_LATE",
    )
    assert "delivery" not in refused
    node.cases.run(cc.RATE, case_id, SH_PLATFORM, score=1, channel="ONLINE", comment="")
    shown = case_json(node.cases.case(case_id), node.cases)
    Draft202012Validator(CASE).validate(shown)
    deadlines = shown["deadlines"]
    assert (deadlines["promised"], deadlines["statutory"], "delivery" in deadlines) == (None, None, False)
    assert (deadlines["rectification"]["due_on"], deadlines["rectification"]["status"]) == (
        "2025-11-24",
        "ON_TIME",
    )


def test_the_timer_warns_and_breaches_an_unanswered_rectification_until_the_answer(
    node: Services, clock: FakeClock
) -> None:
    """Given a 差评 on 2025-11-03 (rectification due 11-24, 15 working days), when the timer ticks each day,
    then it warns on 11-19 and breaches on 11-25, once each; once the office answers, nothing more, and the
    rectification reads CONCLUDED_LATE with its breach."""
    case_id = decided_proxy(node, clock, "2025-11-03")
    node.cases.run(cc.DELIVER, case_id, SH_WINDOW, method="WINDOW", reference="徐汇窗口")
    node.cases.run(cc.RATE, case_id, SH_PLATFORM, score=2, channel="ONLINE", comment="")
    assert node.cases.case(case_id).rectification_due_on == "2025-11-24"
    assert first_days(node, clock, NOVEMBER[:22]) == {
        "DeadlineWarned:RECTIFICATION": "2025-11-19",
        "DeadlineBreached:RECTIFICATION": "2025-11-25",
    }
    node.cases.run(cc.RESPOND_TO_RECTIFICATION, case_id, JS_HANDLER, response="已整改")
    assert first_days(node, clock, NOVEMBER[22:]) == {}
    shown = case_json(node.cases.case(case_id), node.cases)["deadlines"]["rectification"]
    assert (shown["status"], shown["breach"]) == (
        "CONCLUDED_LATE",
        {"due_on": "2025-11-24", "recorded_on": "2025-11-25"},
    )


def test_an_upheld_appeal_stops_the_rectification_clock(node: Services, clock: FakeClock) -> None:
    """Given a 差评 appealed by the rated office, when the appeal is upheld (申诉成立) before the due date,
    then the timer never warns or breaches its rectification."""
    case_id = decided_proxy(node, clock, "2025-11-03")
    node.cases.run(cc.DELIVER, case_id, SH_WINDOW, method="WINDOW", reference="徐汇窗口")
    node.cases.run(cc.RATE, case_id, SH_PLATFORM, score=1, channel="ONLINE", comment="")
    node.cases.run(cc.APPEAL_RATING, case_id, JS_HANDLER, reason="评价与事实不符")
    clock.set_china_time("2025-11-05")
    node.cases.run(
        cc.DECIDE_RATING_APPEAL, case_id, Actor("320000", "JS-ZWFW", "a-1"), outcome="UPHELD", reason="不实"
    )
    assert first_days(node, clock, NOVEMBER) == {}


def _bundle(node: Services) -> tuple[str, list[str]]:
    """出生一件事 filed online in Shanghai, every required material attached; its item case ids."""
    bundle, filed = node.bundles.submit_bundle(
        SH_PLATFORM,
        bundle_province="310000",
        bundle_code="YJS-BIRTH",
        mode="FULL_ONLINE",
        applicant=APPLICANT,
    )
    bundle_id = str(bundle.id)
    card = node.certificates.issue(SH_WINDOW, **ID_CARD).identifier
    for material in node.bundles.bundle_materials(bundle_id):
        if not material["required"]:
            continue
        if material["key"] == "types:11100000000013338W001":
            node.bundles.attach_to_bundle(
                bundle_id,
                SH_PLATFORM,
                material_key=material["key"],
                certificate_identifier=card,
                consent_reference=CONSENT,
            )
        else:
            node.bundles.attach_to_bundle(
                bundle_id, SH_PLATFORM, material_key=material["key"], file_digest="sha256:" + "9" * 64
            )
    return bundle_id, [str(case.id) for case in filed]


def test_article_44_an_item_decided_early_is_due_first_and_a_late_bundle_delivery_breaches_it(
    node: Services, clock: FakeClock
) -> None:
    """一件事: given one item decided on 2025-11-03 and the others on 11-14, then the bundle's one delivery
    is due by the early item's due date (11-17); when the bundle is delivered on 11-19, then the timer has
    warned of and breached that item's delivery limit (on 11-18) and no other item's."""
    clock.set_china_time("2025-11-03", hour=9)
    bundle_id, case_ids = _bundle(node)
    early, *others = case_ids
    decide(node, early, SH_HANDLER)
    clock.set_china_time("2025-11-14")
    for case_id in others:
        decide(node, case_id, SH_HANDLER)
    bundle, filed = node.bundles.bundle_with_cases(bundle_id)
    shown: dict[str, Any] = bundle_json(bundle, filed, node.cases)
    Draft202012Validator(BUNDLE_CASE).validate(shown)
    assert shown["delivery_due"] == {
        "due_on": "2025-11-17",
        "items_due": [node.cases.case(early).case_no],
        "breached": [],
        "calendar": "OFFICIAL",
        "provisional_years": [],
    }
    assert first_days(node, clock, ["2025-11-17", "2025-11-18", "2025-11-19"]) == {
        "DeadlineWarned:DELIVERY": "2025-11-17",  # the early item's last day; the others have 7 left
        "DeadlineBreached:DELIVERY": "2025-11-18",
    }
    node.bundles.deliver_bundle(bundle_id, SH_WINDOW, "POST", "EMS1234567890CN")
    breached = {case_id: node.cases.case(case_id).breaches.get("DELIVERY") for case_id in case_ids}
    assert breached == {
        early: {"due_on": "2025-11-17", "recorded_on": "2025-11-18"},
        **dict.fromkeys(others),
    }
    bundle, filed = node.bundles.bundle_with_cases(bundle_id)
    assert bundle_json(bundle, filed, node.cases)["delivery_due"] is None
    assert first_days(node, clock, NOVEMBER[16:]) == {}


def test_the_timer_leaves_a_decision_without_a_delivery_clock_alone(node: Services, clock: FakeClock) -> None:
    """Given a case filed and left before acceptance, and a refused one, then the timer records nothing for
    either on any day: no delivery clock runs without a decision (行政许可法 第44条)."""
    file_proxy(node.cases)
    refused = forwarded_proxy(node)
    clock.set_china_time("2025-11-03")
    node.cases.run(cc.REFUSE, refused, JS_HANDLER, **REFUSAL)
    assert first_days(node, clock, NOVEMBER) == {}


def test_every_clock_says_when_it_counts_through_a_provisional_year(node: Services, clock: FakeClock) -> None:
    """Given a case received on 29 December of the last year whose schedule is official, then each clock that
    counts into the next year says it is provisional, with that year: the notice limit (行政许可法 第32条),
    then the decision limits (第42条), the delivery (第44条) and the rectification of a 差评 (整改)."""
    first_provisional = package_schedules()[-1].year + 1
    clock.set_china_time(f"{first_provisional - 1}-12-29")
    case_id = forwarded_proxy(node)

    def shown(limit: str) -> tuple[str, list[int]]:
        state = case_json(node.cases.case(case_id), node.cases)["deadlines"][limit]
        return state["calendar"], state["provisional_years"]

    assert shown("notice") == ("PROVISIONAL", [first_provisional])
    decide(node, case_id, JS_HANDLER)
    for limit in ("statutory", "delivery"):
        assert shown(limit) == ("PROVISIONAL", [first_provisional])
    node.cases.run(cc.DELIVER, case_id, SH_WINDOW, method="WINDOW", reference="徐汇窗口")
    node.cases.run(cc.RATE, case_id, SH_PLATFORM, score=1, channel="ONLINE", comment="")
    assert shown("rectification") == ("PROVISIONAL", [first_provisional])
