"""Service statistics (办件统计) on SQLite and PostgreSQL: the figures, as JSON and CSV, checked against the
cases' own deadlines; filters and pages; refusals of bad queries."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from aiohttp import web

from aggregates.deadline import DeadlineStatus
from aggregates.responsibility import Actor
from node.auth import Role
from node.services import Services
from node.usecases.case_commands import (
    ACCEPT,
    APPEAL_RATING,
    ATTACH_MATERIAL,
    CONCLUDE,
    DECIDE_RATING_APPEAL,
    DELIVER,
    EXTEND,
    PROVIDE_SUPPLEMENT,
    RATE,
    REQUEST_SUPPLEMENT,
    WITHDRAW,
)
from projections.service_statistics import COLUMNS, ServiceStatistics
from tests.builders import EXTENSION_APPROVAL, FakeClock
from tests.conftest import Keys
from tests.integration.rest_client import Api, run
from tests.integration.test_case_board import online_case
from tests.integration.test_case_service import JS_HANDLER, SH_WINDOW, approve, deadlines, proxy_case

DIGEST = "sha256:" + "5" * 64


def handled_cases(node: Services, clock: FakeClock) -> tuple[str, str, str]:
    """Three cases:
    - quick: PROXY, concluded the next working day, rated 5;
    - slow: PROXY, a supplement round after acceptance, concluded after the promised 5 days, rated 1 (a
      rectification opens and is left unanswered);
    - online: FULL_ONLINE in Shanghai, filed in October, accepted and still open."""
    quick = proxy_case(node, clock)
    node.cases.run(ACCEPT, quick, JS_HANDLER)
    approve(node, quick, JS_HANDLER)
    clock.set_china_time("2025-09-25")
    node.cases.run(CONCLUDE, quick, JS_HANDLER, result="ISSUED")
    node.cases.run(RATE, quick, SH_WINDOW, score=5, channel="WINDOW")
    slow = proxy_case(node, clock)
    node.cases.run(ACCEPT, slow, JS_HANDLER)
    clock.set_china_time("2025-09-26")
    node.cases.run(REQUEST_SUPPLEMENT, slow, JS_HANDLER, missing=["M04"], reason="照片不清晰")
    clock.set_china_time("2025-09-29")
    node.cases.run(ATTACH_MATERIAL, slow, SH_WINDOW, material_code="M04", file_digest=DIGEST)
    node.cases.run(PROVIDE_SUPPLEMENT, slow, SH_WINDOW)
    clock.set_china_time("2025-10-20")
    node.cases.run(CONCLUDE, slow, JS_HANDLER, result="RETURNED")
    node.cases.run(RATE, slow, SH_WINDOW, score=1, channel="WINDOW", comment="等太久")
    online = online_case(node)
    return quick, slow, online


def test_statistics_show_volumes_handling_time_materials_supplements_and_ratings(
    node: Services, clock: FakeClock, keys: Keys
) -> None:
    quick, slow, _online = handled_cases(node, clock)
    promised = {case_id: deadlines(node, node.cases.case(case_id))[0] for case_id in (quick, slow)}
    assert [p.status for p in promised.values()] == [
        DeadlineStatus.CONCLUDED_ON_TIME,
        DeadlineStatus.CONCLUDED_LATE,
    ]
    days = sorted(p.days_used for p in promised.values())
    clock.set_china_time("2025-12-31")  # the rectification (15 working days) is overdue by then
    node.projections[ServiceStatistics.name].tick()

    async def scenario(api: Api, _app: web.Application) -> None:
        status, body, _headers = await api.call("GET", "/v1/statistics?group_by=mode", role=Role.AUDITOR)
        assert status == 200, body
        by_mode = {group["group"]["mode"]: group for group in body["groups"]}
        assert list(by_mode) == ["FULL_ONLINE", "PROXY"]
        proxy = by_mode["PROXY"]
        assert proxy["volume"] == {
            "filed": 2,
            "accepted": 2,
            "refused": 0,
            "withdrawn": 0,
            "concluded": 2,
            "open": 0,
        }
        assert proxy["handling"] == {
            "measured": 2,
            "unmeasured": 0,
            "average_days": sum(days) / 2,
            "p90_days": days[1],
            "average_promised_days": 5,
            "within_promised": 1,
            "within_promised_rate": 0.5,
            "within_statutory_rate": 1.0,
            "extended": 0,
        }
        # M01 and M04 as files, M02 replaced by the parents' ID card certificate, in each case
        assert proxy["materials"] == {"on_file": 6, "spared": 2, "spared_rate": 0.3333}
        assert proxy["supplements"] == {"rounds": 1, "cases_with_supplement": 1, "rounds_per_case": 0.5}
        assert proxy["ratings"] == {
            "rated": 2,
            "counted": 2,
            "good": 1,
            "good_rate": 0.5,
            "of_window_service": 0,
            "rectifications_open": 1,
            "rectifications_overdue": 1,
            "appealed": 0,
            "appeals_upheld": 0,
            "appeals_rejected": 0,
        }
        online = by_mode["FULL_ONLINE"]
        assert online["volume"]["open"] == 1
        assert online["handling"]["average_days"] is None  # nothing concluded: no figure, not zero
        assert body["lag"]["events"] == 0

        _status, by_month, _headers = await api.call("GET", "/v1/statistics", role=Role.PLATFORM)
        assert [(g["group"], g["volume"]["filed"]) for g in by_month["groups"]] == [
            ({"filed_month": "2025-09"}, 2),
            ({"filed_month": "2025-10"}, 1),
        ]
        _status, items, _headers = await api.call(
            "GET", "/v1/statistics?group_by=item,handling_province&mode=PROXY", role=Role.AUDITOR
        )
        assert [g["group"] for g in items["groups"]] == [
            {
                "item_province": "320000",
                "item_code": "GA-0003",
                "item_name": node.cases.case(quick).item.name,
                "handling_province": "320000",
            }
        ]
        for query, filed in (
            ("?from=2025-10", [1]),
            ("?from=2025-11", []),
            ("?to=2025-09&province=320000", [2]),
            ("?province=330000", []),
        ):
            _status, found, _headers = await api.call("GET", "/v1/statistics" + query, role=Role.AUDITOR)
            assert [g["volume"]["filed"] for g in found["groups"]] == filed, query

    run(node, keys, scenario)


def test_statistics_page_by_group_and_export_as_csv(node: Services, clock: FakeClock, keys: Keys) -> None:
    handled_cases(node, clock)
    node.projections[ServiceStatistics.name].tick()

    async def scenario(api: Api, app: web.Application) -> None:
        _status, whole, _headers = await api.call(
            "GET", "/v1/statistics?group_by=mode,receiving_province", role=Role.AUDITOR
        )
        assert len(whole["groups"]) == 2
        seen: list[dict[str, Any]] = []
        cursor = ""
        for _page in range(5):
            _status, page, _headers = await api.call(
                "GET", f"/v1/statistics?group_by=mode,receiving_province&limit=1{cursor}", role=Role.AUDITOR
            )
            seen += page["groups"]
            if page["next_cursor"] is None:
                break
            cursor = f"&cursor={page['next_cursor']}"
        assert seen == whole["groups"]

        headers = keys.bearer(Role.AUDITOR, "310000")
        async with api.session.get(
            api.base + "/v1/statistics.csv?group_by=mode", headers=headers
        ) as response:
            assert response.status == 200
            assert response.content_type == "text/csv"
            text = await response.text()
        records = list(csv.DictReader(io.StringIO(text)))
        _status, json_groups, _headers = await api.call(
            "GET", "/v1/statistics?group_by=mode", role=Role.AUDITOR
        )
        assert [r["mode"] for r in records] == ["FULL_ONLINE", "PROXY"]
        proxy = records[1]
        assert (
            proxy["volume.filed"],
            proxy["handling.within_promised_rate"],
            proxy["ratings.good_rate"],
        ) == (
            "2",
            "0.5",
            "0.5",
        )
        assert records[0]["handling.average_days"] == ""  # no figure: an empty field
        assert len(records[0]) == 1 + sum(len(v) for k, v in json_groups["groups"][0].items() if k != "group")
        async with api.session.get(
            api.base + "/v1/statistics.csv?group_by=mode&limit=1", headers=headers
        ) as response:
            assert 'rel="next"' in response.headers["Link"]

        for query in ("?group_by=colour", "?group_by=mode,mode", "?from=2025-13", "?limit=0", "?cursor=xyz"):
            status, problem, _headers = await api.call("GET", "/v1/statistics" + query, role=Role.AUDITOR)
            assert (status, problem["type"].rsplit("/", 1)[1]) == (422, "invalid-field"), query
        status, _body, _headers = await api.call(
            "GET", "/v1/statistics", role=Role.AUDITOR, province="320000"
        )
        assert status == 403

    run(node, keys, scenario)


def stats_rows(node: Services) -> list[tuple[Any, ...]]:
    with node.views.transaction() as tx:
        return tx.fetchall(f"SELECT {', '.join(COLUMNS)} FROM view_case_statistics ORDER BY case_id")  # noqa: S608


def test_a_rebuild_equals_the_live_statistics(node: Services, clock: FakeClock) -> None:
    handled_cases(node, clock)
    extended = proxy_case(node, clock)
    node.cases.run(ACCEPT, extended, JS_HANDLER)
    node.cases.run(EXTEND, extended, JS_HANDLER, days=3, reason="需现场核查", **EXTENSION_APPROVAL)
    follower = node.projections[ServiceStatistics.name]
    follower.tick()
    live = stats_rows(node)
    assert len(live) == 4
    assert follower.rebuild() > 0
    assert stats_rows(node) == live


def test_a_withdrawn_case_is_counted_as_withdrawn_never_as_open_or_refused(
    node: Services, clock: FakeClock, keys: Keys
) -> None:
    withdrawn = proxy_case(node, clock)
    node.cases.run(ACCEPT, withdrawn, JS_HANDLER)
    node.cases.run(WITHDRAW, withdrawn, SH_WINDOW, reason="申请人撤回")
    still_open = proxy_case(node, clock)
    node.cases.run(ACCEPT, still_open, JS_HANDLER)
    clock.set_china_time("2025-12-31")  # long past both limits: an open case is overdue, a withdrawn one not
    node.projections[ServiceStatistics.name].tick()

    async def scenario(api: Api, _app: web.Application) -> None:
        status, body, _headers = await api.call("GET", "/v1/statistics?group_by=mode", role=Role.AUDITOR)
        assert status == 200, body
        [proxy] = body["groups"]
        assert proxy["volume"] == {
            "filed": 2, "accepted": 2, "refused": 0, "withdrawn": 1, "concluded": 0, "open": 1,
        }  # fmt: skip

    run(node, keys, scenario)


def test_a_bad_rating_set_aside_on_appeal_no_longer_counts_against_the_office(
    node: Services, clock: FakeClock, keys: Keys
) -> None:
    """国办发〔2019〕51号: a 差评 whose appeal is upheld (复核) no longer counts: it leaves the good rate and
    the open rectifications; one whose appeal is rejected still counts, its rectification still due. A rating
    of the receiving window's own service (收件) is counted as such."""
    quick, slow, _online = handled_cases(node, clock)  # quick rated 5, slow rated 1 (the handling)
    node.cases.run(APPEAL_RATING, slow, JS_HANDLER, reason="超时系申请人补正所致")
    js_admin = Actor("320000", "JS-ZWFW", "admin-2")
    node.cases.run(DECIDE_RATING_APPEAL, slow, js_admin, outcome="UPHELD", reason="经核实，申诉成立")
    window = proxy_case(node, clock)
    node.cases.run(ACCEPT, window, JS_HANDLER)
    approve(node, window, JS_HANDLER)
    node.cases.run(CONCLUDE, window, JS_HANDLER, result="ISSUED")
    node.cases.run(DELIVER, window, SH_WINDOW, method="WINDOW", reference="窗口领取")
    node.cases.run(RATE, window, SH_WINDOW, score=2, channel="WINDOW", service="WINDOW")
    node.cases.run(APPEAL_RATING, window, SH_WINDOW, reason="系统故障")
    sh_admin = Actor("310000", "SH-ZWFW", "admin-1")
    node.cases.run(DECIDE_RATING_APPEAL, window, sh_admin, outcome="REJECTED", reason="等候超时属实")
    clock.set_china_time("2025-12-31")  # the window's rectification is overdue by then
    follower = node.projections[ServiceStatistics.name]
    follower.tick()
    with node.views.transaction() as tx:
        ratings = dict(tx.fetchall("SELECT case_id, answered_by FROM view_case_ratings"))
    assert ratings == {quick: "320000", slow: "320000", window: "310000"}  # 谁办理谁负责

    async def scenario(api: Api, _app: web.Application) -> None:
        status, body, _headers = await api.call("GET", "/v1/statistics?group_by=mode", role=Role.AUDITOR)
        assert status == 200, body
        proxy = next(g for g in body["groups"] if g["group"] == {"mode": "PROXY"})
        assert proxy["ratings"] == {
            "rated": 3,
            "counted": 2,  # the 1 set aside on appeal counts no longer
            "good": 1,
            "good_rate": 0.5,
            "of_window_service": 1,
            "rectifications_open": 1,  # the window's: its appeal was rejected
            "rectifications_overdue": 1,
            "appealed": 2,
            "appeals_upheld": 1,
            "appeals_rejected": 1,
        }

    run(node, keys, scenario)
    live = follower.rows()
    follower.rebuild()
    assert follower.rows() == live


def test_article_42_an_extension_counts_against_the_statutory_limit_only(
    node: Services, clock: FakeClock
) -> None:
    """行政许可法第42条: given a case extended by 10 days with the head's approval, when it concludes after
    its promised due date but within the extended statutory one, then the statistics count it late against the
    promised limit and on time against the statutory one, as the case's own deadlines do."""
    case_id = proxy_case(node, clock)
    clock.set_china_time("2025-09-26")
    node.cases.run(ACCEPT, case_id, JS_HANDLER)  # promised due 2025-10-10, statutory 2025-10-30
    clock.set_china_time("2025-10-09")
    node.cases.run(EXTEND, case_id, JS_HANDLER, days=10, reason="需调取档案", **EXTENSION_APPROVAL)
    clock.set_china_time("2025-10-15")
    approve(node, case_id, JS_HANDLER)
    concluded = node.cases.run(CONCLUDE, case_id, JS_HANDLER, result="ISSUED")
    promised, statutory = deadlines(node, concluded)
    assert (promised.status, statutory.status) == ("CONCLUDED_LATE", "CONCLUDED_ON_TIME")
    follower = node.projections[ServiceStatistics.name]
    follower.tick()
    with node.views.transaction() as tx:
        [row] = tx.fetchall(
            "SELECT extension_days, within_promised, within_statutory FROM view_case_statistics "
            "WHERE case_id = ?",
            (case_id,),
        )
        [(limits,)] = tx.fetchall("SELECT limits FROM view_case_extensions WHERE case_id = ?", (case_id,))
    assert (tuple(row), json.loads(limits)) == ((10, 0, 1), ["STATUTORY"])
    live = stats_rows(node)
    follower.rebuild()
    assert stats_rows(node) == live
