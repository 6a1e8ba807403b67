"""The case supervision board (电子监察), a read model of the node's log, on SQLite and PostgreSQL: what it
shows through REST, that a rebuild equals the live one, that a crash inside a batch applies nothing twice, and
that it equals a plain fold over the same events."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import pytest
from aiohttp import web
from eventsourcing.utils import get_topic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregates.calendar import DateOutsideCalendar
from aggregates.case import ENDED_STATES, Case
from aggregates.deadline import DeadlineState, DeadlineStatus
from aggregates.errors import IllegalTransition, InvalidField
from aggregates.identifiers import CertificateIdentifier
from aggregates.responsibility import Actor
from node.auth import Role
from node.cli import main as cli
from node.services import Services
from node.usecases.case_commands import (
    ACCEPT,
    APPEAL_RATING,
    ATTACH_MATERIAL,
    CONCLUDE,
    DECIDE_RATING_APPEAL,
    DELIVER,
    END_SPECIAL_PROCEDURE,
    EXTEND,
    PROVIDE_SUPPLEMENT,
    RATE,
    REQUEST_SUPPLEMENT,
    RESPOND_TO_RECTIFICATION,
    START_SPECIAL_PROCEDURE,
)
from projections.case_board import COLUMNS, CaseBoard
from projections.case_view import CaseView, case_steps
from projections.certificate_uses import CertificateUses
from projections.recognition_registry import RecognitionRegistry
from projections.service_statistics import ServiceStatistics
from simulators.sample_data import credit_code
from tests.builders import (
    CONSENT,
    EXTENSION_APPROVAL,
    SPECIAL_PROCEDURE_NOTICE,
    SUPPLEMENT_TIMEOUT_DECISION,
    FakeClock,
)
from tests.conftest import Keys
from tests.integration.rest_client import Api, run
from tests.integration.test_case_service import APPLICANT, JS_HANDLER, SH_WINDOW, approve, id_card, proxy_case

SH, JS = "310000", "320000"
ID_CARD = "11100000000013338W001"
SH_PLATFORM = Actor(SH, "SH-YWTB", "app")
SH_HANDLER = Actor(SH, "SH-GA-01", "h-001")
DIGEST = "sha256:" + "7" * 64


def online_case(node: Services) -> str:
    """出入境记录查询 filed online to Shanghai, materials attached, accepted there."""
    case = node.cases.submit(
        SH_PLATFORM, item_province=SH, item_code="YM-0001", mode="FULL_ONLINE", applicant=APPLICANT
    )
    for material in case.missing_materials():
        node.cases.run(ATTACH_MATERIAL, str(case.id), SH_PLATFORM, material_code=material, file_digest=DIGEST)
    node.cases.run(ACCEPT, str(case.id), SH_HANDLER)
    return str(case.id)


def rows(node: Services) -> list[tuple[Any, ...]]:
    with node.views.transaction() as tx:
        return tx.fetchall(f"SELECT {', '.join(COLUMNS)} FROM view_case_board ORDER BY case_id")  # noqa: S608


def test_the_board_shows_roles_deadlines_and_who_must_act(
    node: Services, clock: FakeClock, keys: Keys
) -> None:
    proxy = proxy_case(node, clock)  # received here, forwarded: Jiangsu must act
    online = online_case(node)  # handled here
    clock.set_china_time("2025-12-31")
    assert node.timers.check_timers(online)  # past both limits: red
    node.projections[CaseBoard.name].tick()

    async def scenario(api: Api, _app: web.Application) -> None:
        status, board, _headers = await api.call("GET", "/v1/board", role=Role.AUDITOR)
        assert status == 200, board
        by_id = {row["case_id"]: row for row in board["cases"]}
        assert (by_id[proxy]["roles"], by_id[proxy]["writer"], by_id[proxy]["waiting_on_peer"]) == (
            ["RECEIVING"],
            "320000",
            True,
        )
        assert (by_id[online]["roles"], by_id[online]["deadline"], by_id[online]["waiting_on_peer"]) == (
            ["RECEIVING", "HANDLING"],
            "RED",
            False,
        )
        assert board["counts"]["red"] == 1
        assert board["counts"]["waiting_on_peer"] == 1
        assert board["counts"]["by_mode"] == {"PROXY": 1, "FULL_ONLINE": 1}
        assert board["lag"]["events"] == 0
        for query, expected in (
            ("?waiting_on_peer=true", [proxy]),
            ("?deadline=RED", [online]),
            ("?role=HANDLING", [online]),
            ("?mode=PROXY", [proxy]),
        ):
            _, filtered, _ = await api.call("GET", "/v1/board" + query, role=Role.AUDITOR)
            assert [row["case_id"] for row in filtered["cases"]] == expected, query
        status, problem, _ = await api.call("GET", "/v1/board?deadline=PURPLE", role=Role.AUDITOR)
        assert (status, problem["type"].rsplit("/", 1)[1]) == (422, "invalid-field")
        status, _, _ = await api.call("GET", "/v1/board", role=Role.AUDITOR, province="320000")
        assert status == 403  # another province's auditor reads its own node's board

    run(node, keys, scenario)


def test_article_42_the_board_keeps_a_promised_breach_after_an_extension(
    node: Services, clock: FakeClock, keys: Keys
) -> None:
    """行政许可法第42条: given a case whose promised limit the timer found breached, when the head approves an
    extension, then the board's due dates move the statutory limit only, and show the promised breach (the
    due date passed, the day recorded) beside a statutory limit never breached."""
    clock.set_china_time("2025-09-26")  # received the day it is accepted: 第32条 counts from the receipt
    case_id = proxy_case(node, clock)
    node.cases.run(ACCEPT, case_id, JS_HANDLER)  # promised due 2025-10-10, statutory 2025-10-30
    clock.set_china_time("2025-10-11")
    assert node.timers.check_timers(case_id) == ["DeadlineBreached:PROMISED"]
    clock.set_china_time("2025-10-13")
    node.cases.run(EXTEND, case_id, JS_HANDLER, days=10, reason="需调取档案", **EXTENSION_APPROVAL)
    node.projections[CaseBoard.name].tick()

    async def scenario(api: Api, _app: web.Application) -> None:
        status, board, _headers = await api.call("GET", "/v1/board?deadline=RED", role=Role.AUDITOR)
        assert status == 200, board
        [row] = board["cases"]
        assert row["case_id"] == case_id
        assert {
            k: row["due"][k] for k in ("promised", "statutory", "promised_breach", "statutory_breach")
        } == {
            "promised": "2025-10-10",
            "statutory": "2025-11-13",
            "promised_breach": {"due_on": "2025-10-10", "recorded_on": "2025-10-11"},
            "statutory_breach": None,
        }

    run(node, keys, scenario)


def test_pages_are_stable_and_complete(node: Services, clock: FakeClock, keys: Keys) -> None:
    filed = sorted(online_case(node) for _ in range(5))
    node.projections[CaseBoard.name].tick()

    async def scenario(api: Api, _app: web.Application) -> None:
        seen: list[str] = []
        cursor = ""
        for _page in range(10):
            _status, page, _headers = await api.call(
                "GET", f"/v1/board?limit=2&sort=case_no{cursor}", role=Role.AUDITOR
            )
            seen += [row["case_id"] for row in page["cases"]]
            if page["next_cursor"] is None:
                break
            cursor = f"&cursor={page['next_cursor']}"
        assert sorted(seen) == filed
        assert len(seen) == len(set(seen))

    run(node, keys, scenario)


def test_a_rebuild_equals_the_live_board(node: Services, clock: FakeClock) -> None:
    proxy = proxy_case(node, clock)
    node.cases.run(ACCEPT, proxy, JS_HANDLER)
    approve(node, proxy, JS_HANDLER)
    node.cases.run(CONCLUDE, proxy, JS_HANDLER, result="ISSUED")
    online_case(node)
    follower = node.projections[CaseBoard.name]
    follower.tick()
    live = rows(node)
    assert follower.rebuild() > 0
    assert rows(node) == live


def plain_fold(node: Services) -> dict[str, tuple[str, str, int, int]]:
    """The model: a plain fold of the log's case events into (state, writer, warned, breached) per case."""
    board: dict[str, tuple[str, str, int, int]] = {}
    notifications = node.app.recorder.select_notifications(start=1, limit=100_000)
    for notification in notifications:
        if not notification.topic.startswith(get_topic(Case) + "."):
            continue
        case = node.cases.case(str(UUID(str(notification.originator_id))))
        board[str(case.id)] = (
            case.state.value,
            case.writer(),
            int(bool(case.deadlines_warned)),
            int(bool(case.deadlines_breached)),
        )
    return board


# The steps that may come next in each state (the walk also tries time passing, which may record nothing).
NEXT: dict[str, tuple[str, ...]] = {
    "FORWARDED": ("accept", "supplement"),
    "ACCEPTED": ("supplement", "special", "extend", "conclude", "time_passes"),
    "SUPPLEMENT_REQUESTED": ("supply", "time_passes"),
    "SPECIAL_PROCEDURE": ("end_special", "time_passes"),
    "CONCLUDED": ("deliver", "rate_good", "rate_bad", "rate_bad_window"),
    "REFUSED": ("deliver", "rate_bad"),
    "DELIVERED": (
        "rate_good",
        "rate_bad",
        "rate_bad_window",
        "respond",
        "respond_window",
        "appeal",
        "appeal_window",
        "uphold",
        "reject",
    ),
}
SH_ADMIN = Actor("310000", "SH-ZWFW", "admin-1")  # each province's 政务服务管理机构 reviews appeals (复核)
JS_ADMIN = Actor("320000", "JS-ZWFW", "admin-2")


@settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.data(), cases=st.integers(1, 3))
def test_the_board_case_view_and_statistics_equal_a_plain_fold_of_the_same_events(
    node: Services, clock: FakeClock, data: st.DataObject, cases: int
) -> None:
    """Random walks of PROXY cases through the workflow, each step drawn from those its state allows. The
    board must equal a fold of each case's state; the case view must hold each case's events, in order; the
    statistics' row of each case must hold what the case itself says: its dates, materials, supplement
    rounds, rating, and the working days its own deadline counted."""
    clock.set_china_time("2025-09-24")  # each example starts at the same time: its walk depends on its draws
    for _ in range(cases):
        case_id = proxy_case(node, clock)
        for _step in range(data.draw(st.integers(0, 8))):
            choices = NEXT.get(node.cases.case(case_id).state.value)
            if not choices:
                break
            _attempt(node, clock, case_id, data.draw(st.sampled_from(choices)))
    node.projections[CaseBoard.name].tick()
    columns = ", ".join(("case_id", "state", "writer", "warned", "breached"))
    with node.views.transaction() as tx:
        shown = {row[0]: tuple(row[1:]) for row in tx.fetchall(f"SELECT {columns} FROM view_case_board")}  # noqa: S608
    assert shown == plain_fold(node)
    node.projections[CaseView.name].tick()
    with node.views.transaction() as tx:
        for case_id in shown:
            steps = [(step["version"], step["event"], step["province"]) for step in case_steps(tx, case_id)]
            events = node.app.events.get(UUID(case_id))
            assert steps == [(e.originator_version, type(e).__name__, e.province) for e in events]  # type: ignore[attr-defined]
    node.projections[ServiceStatistics.name].tick()
    rows = statistics_rows(node)
    assert rows.keys() == shown.keys()
    for case_id, row in rows.items():
        assert row == statistics_fold(node, case_id)
    with node.views.transaction() as tx:
        ratings = {row[0]: tuple(row[1:]) for row in tx.fetchall("SELECT * FROM view_case_ratings")}
    rated = [node.cases.case(case_id) for case_id in shown]
    assert ratings == {
        str(case.id): (case.rated_service, case.rating_answered_by, case.appeal_outcome)
        for case in rated
        if case.rating is not None
    }


STATISTICS_FACTS = (
    "accepted_on",
    "concluded_on",
    "result",
    "refused",
    "extension_days",
    "materials",
    "supplement_rounds",
    "handling_days",
    "within_promised",
    "rating",
    "rectification_due_on",
    "rectification_responded",
    "appealed",
)


def statistics_rows(node: Services) -> dict[str, dict[str, Any]]:
    with node.views.transaction() as tx:
        found = tx.fetchall(f"SELECT case_id, {', '.join(STATISTICS_FACTS)} FROM view_case_statistics")  # noqa: S608
    return {
        row[0]: dict(zip(STATISTICS_FACTS, row[1:], strict=True)) | {"materials": json.loads(row[6])}
        for row in found
    }


def statistics_fold(node: Services, case_id: str) -> dict[str, Any]:
    """The model: what the case aggregate itself holds, and what its own deadline says it used."""
    case = node.cases.case(case_id)
    measured = None
    if case.concluded_on is not None and case.accepted_on is not None:
        # as of the day it concluded: the clock has moved on since (examples share the node)
        deadlines = node.cases.deadlines(case, datetime.fromisoformat(f"{case.concluded_on}T23:00:00+08:00"))
        assert deadlines is not None
        measured = deadlines.promised if isinstance(deadlines.promised, DeadlineState) else None
    return {
        "accepted_on": case.accepted_on,
        "concluded_on": case.concluded_on,
        "result": case.result,
        "refused": int(case.concluded_on is None and case.state in ENDED_STATES),
        "extension_days": case.extension_days,
        "materials": {code: m["certificate_identifier"] is not None for code, m in case.materials.items()},
        "supplement_rounds": case.supplement_rounds,
        "handling_days": measured.days_used if measured else None,
        "within_promised": int(measured.status == DeadlineStatus.CONCLUDED_ON_TIME) if measured else None,
        "rating": case.rating,
        "rectification_due_on": case.rectification_due_on,
        "rectification_responded": int(case.rectification_responded),
        "appealed": int(case.appealed),
    }


def _attempt(node: Services, clock: FakeClock, case_id: str, step: str) -> None:
    cases = node.cases
    actions: dict[str, Callable[[], object]] = {
        "accept": lambda: cases.run(ACCEPT, case_id, JS_HANDLER),
        "supplement": lambda: cases.run(
            REQUEST_SUPPLEMENT, case_id, JS_HANDLER, missing=["M04"], reason="不清晰"
        ),
        "supply": lambda: cases.run(PROVIDE_SUPPLEMENT, case_id, SH_WINDOW),
        "special": lambda: cases.run(
            START_SPECIAL_PROCEDURE,
            case_id,
            JS_HANDLER,
            kind="EXPERT_REVIEW",
            reason="专家评审",
            **SPECIAL_PROCEDURE_NOTICE,
        ),
        "end_special": lambda: cases.run(END_SPECIAL_PROCEDURE, case_id, JS_HANDLER, outcome="核查完毕"),
        "extend": lambda: cases.run(EXTEND, case_id, JS_HANDLER, days=3, reason="复杂", **EXTENSION_APPROVAL),
        "conclude": lambda: cases.run(CONCLUDE, case_id, JS_HANDLER, result="RETURNED"),
        "deliver": lambda: cases.run(DELIVER, case_id, SH_WINDOW, method="WINDOW", reference="窗口领取"),
        "time_passes": lambda: (clock.advance(days=9), node.timers.check_timers(case_id)),
        "rate_good": lambda: cases.run(RATE, case_id, SH_WINDOW, score=4, channel="WINDOW"),
        "rate_bad": lambda: cases.run(RATE, case_id, SH_WINDOW, score=2, channel="WINDOW", comment="慢"),
        "respond": lambda: cases.run(RESPOND_TO_RECTIFICATION, case_id, JS_HANDLER, response="已整改"),
        "appeal": lambda: cases.run(APPEAL_RATING, case_id, JS_HANDLER, reason="评价与事实不符"),
        "rate_bad_window": lambda: cases.run(
            RATE, case_id, SH_WINDOW, score=1, channel="WINDOW", service="WINDOW"
        ),
        "respond_window": lambda: cases.run(RESPOND_TO_RECTIFICATION, case_id, SH_WINDOW, response="已整改"),
        "appeal_window": lambda: cases.run(APPEAL_RATING, case_id, SH_WINDOW, reason="系统故障"),
        "uphold": lambda: cases.run(
            DECIDE_RATING_APPEAL, case_id, JS_ADMIN, outcome="UPHELD", reason="申诉成立"
        ),
        "reject": lambda: cases.run(
            DECIDE_RATING_APPEAL, case_id, SH_ADMIN, outcome="REJECTED", reason="申诉不成立"
        ),
    }
    with contextlib.suppress(
        IllegalTransition, InvalidField, DateOutsideCalendar
    ):  # refused: nothing recorded
        actions[step]()


def test_the_rebuild_command_rebuilds_a_running_nodes_board(
    node: Services, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    online_case(node)
    node.projections[CaseBoard.name].tick()
    live = rows(node)
    settings = node.settings
    monkeypatch.setenv("TONGBAN_DATA_DIR", str(settings.data_dir))
    if settings.postgres_url:
        monkeypatch.setenv("TONGBAN_POSTGRES_URL", settings.postgres_url)
        monkeypatch.setenv("TONGBAN_POSTGRES_SCHEMA", settings.postgres_schema)
    assert cli.main(["projections", "rebuild", "--province", SH]) == 0
    assert "case_board: rebuilt from 2 events" in capsys.readouterr().out
    assert rows(node) == live
    assert cli.main(["projections", "rebuild", "--province", SH, "--name", "nothing"]) == 2


def test_a_holders_use_log_shows_each_verification_for_them_only(node: Services, keys: Keys) -> None:
    """用证记录: Jiangsu verified the holder's ID card for two cases over the federation, a Zhejiang platform
    and a Shanghai platform over REST (the latter inside the issuing province, for no case); another person
    sees none of it, and a verification without consent is refused and recorded nowhere."""
    holder = {"id_type": "111", "id_number": APPLICANT["id_number"]}
    stranger = {"id_type": "111", "id_number": "310101199001011234"}
    identifier = id_card(node)
    for n in (1, 2):
        node.certificates.verify_for_peer(
            identifier, "320000", f"3200002025092400000{n}", "新生儿入户", f"320000:20250924:C-{n}"
        )

    async def scenario(api: Api, _app: web.Application) -> None:
        for province, consent in (("330000", "330000:20250924:ZLB-7"), ("310000", "310000:20250924:SSB-9")):
            verification = {"identifier": identifier, "purpose": "住宿登记", "consent_reference": consent}
            status, answer, _headers = await api.call(
                "POST", "/v1/verifications", role=Role.PLATFORM, province=province, body=verification
            )
            assert (status, answer["assertion"]["authentic"]) == (200, True), answer
        for missing in ("purpose", "consent_reference"):
            refused = {"identifier": identifier, "purpose": "住宿登记", "consent_reference": CONSENT}
            del refused[missing]
            status, problem, _headers = await api.call(
                "POST", "/v1/verifications", role=Role.PLATFORM, province="330000", body=refused
            )
            assert status == 422, problem
        status, problem, _headers = await api.call(
            "POST",
            "/v1/verifications",
            role=Role.PLATFORM,
            province="330000",
            body={"identifier": identifier, "purpose": "住宿登记", "consent_reference": "any string at all"},
        )
        assert (status, problem["pointer"]) == (422, "/consent_reference")
        assert "any string at all" not in problem["detail"]
        node.projections[CertificateUses.name].tick()
        status, mine, _headers = await api.call("POST", "/v1/holder-uses", role=Role.PLATFORM, body=holder)
        assert status == 200, mine
        assert [
            (u["requester_province"], u["case_reference"], u["consent_reference"]) for u in mine["uses"]
        ] == [
            ("310000", None, "310000:20250924:SSB-9"),
            ("330000", None, "330000:20250924:ZLB-7"),
            ("320000", "32000020250924000002", "320000:20250924:C-2"),
            ("320000", "32000020250924000001", "320000:20250924:C-1"),
        ]
        assert [e.event for e in node.certificates.history(identifier)].count("Used") == 4
        _status, first, _headers = await api.call(
            "POST", "/v1/holder-uses", role=Role.PLATFORM, body={**holder, "limit": 1}
        )
        _status, rest, _headers = await api.call(
            "POST", "/v1/holder-uses", role=Role.PLATFORM, body={**holder, "cursor": first["next_cursor"]}
        )
        assert (first["uses"] + rest["uses"], rest["next_cursor"]) == (mine["uses"], None)
        _status, by_zj, _headers = await api.call(
            "POST", "/v1/holder-uses", role=Role.AUDITOR, body={**holder, "requester_province": "330000"}
        )
        assert [u["consent_reference"] for u in by_zj["uses"]] == ["330000:20250924:ZLB-7"]
        for wrong in ({"limit": 0}, {"cursor": "bm8"}, {"requester_province": "32"}):
            status, problem, _headers = await api.call(
                "POST", "/v1/holder-uses", role=Role.PLATFORM, body={**holder, **wrong}
            )
            assert (status, problem["pointer"]) == (422, f"/{next(iter(wrong))}"), problem
        _status, theirs, _headers = await api.call(
            "POST", "/v1/holder-uses", role=Role.PLATFORM, body=stranger
        )
        assert theirs["uses"] == []
        status, _body, _headers = await api.call("POST", "/v1/holder-uses", role=Role.HANDLER, body=holder)
        assert status == 403

    run(node, keys, scenario)
    with node.views.transaction() as tx:
        live = tx.fetchall("SELECT * FROM view_certificate_uses ORDER BY certificate_id, version")
    assert node.projections[CertificateUses.name].rebuild() > 0
    with node.views.transaction() as tx:
        assert tx.fetchall("SELECT * FROM view_certificate_uses ORDER BY certificate_id, version") == live


def test_the_recognition_registry_counts_decisions_and_shows_relied_on_statuses(
    node: Services, clock: FakeClock, keys: Keys
) -> None:
    """证照互认: Shanghai recognised one Jiangsu ID card and refused another; an open case relies on a
    Shanghai ID card that was suspended since."""
    foreign = [str(CertificateIdentifier.build(ID_CARD, credit_code(JS, 1000 + n), f"S{n}")) for n in (1, 2)]
    filed = node.cases.submit(
        SH_PLATFORM, item_province=SH, item_code="YM-0001", mode="FULL_ONLINE", applicant=APPLICANT
    )
    case = node.cases.case(str(filed.id))
    valid = {"authentic": True, "status": "VALID"}
    case.decide_recognition("M01", foreign[0], JS, valid, None, SH_PLATFORM, clock())
    case.decide_recognition("M01", foreign[1], JS, None, "status SUSPENDED", SH_PLATFORM, clock())
    node.app.save(case)  # as the node does after verifying at the issuer (a federation this test has not)
    own = id_card(node)
    node.cases.run(
        ATTACH_MATERIAL,
        str(filed.id),
        SH_PLATFORM,
        material_code="M01",
        certificate_identifier=own,
        consent_reference=CONSENT,
    )
    node.certificates.change_status(own, "suspend", SH_WINDOW, reason="暂扣")
    other = id_card(node)
    second = node.cases.submit(
        SH_PLATFORM, item_province=SH, item_code="YM-0001", mode="FULL_ONLINE", applicant=APPLICANT
    )
    node.cases.run(
        ATTACH_MATERIAL,
        str(second.id),
        SH_PLATFORM,
        material_code="M01",
        certificate_identifier=other,
        consent_reference=CONSENT,
    )
    node.projections[RecognitionRegistry.name].tick()

    async def scenario(api: Api, _app: web.Application) -> None:
        status, seen, _headers = await api.call("GET", "/v1/recognition-registry", role=Role.AUDITOR)
        assert status == 200, seen
        assert seen["decisions"] == [
            {
                "type_code": ID_CARD,
                "issuing_province": JS,
                "recognising_province": SH,
                "recognised": 1,
                "refused": 1,
                "refusal_reasons": {"status SUSPENDED": 1},
            }
        ]
        assert seen["relied_on"] == sorted(
            [
                {"identifier": own, "status": "SUSPENDED", "status_source": "recorded", "open_cases": 1},
                {"identifier": other, "status": "VALID", "status_source": "recorded", "open_cases": 1},
            ],
            key=lambda relied: str(relied["identifier"]),
        )
        for query, decisions, relied in (
            (f"?issuing_province={JS}&recognising_province={SH}", 1, []),  # this node's own are Shanghai's
            (f"?issuing_province={SH}", 0, sorted([own, other])),
            ("?issuing_province=330000", 0, []),
            (f"?type_code={ID_CARD}&status=VALID", 1, [other]),
            ("?type_code=11100000000013251K001", 0, []),
        ):
            _status, found, _headers = await api.call(
                "GET", "/v1/recognition-registry" + query, role=Role.AUDITOR
            )
            assert (len(found["decisions"]), [r["identifier"] for r in found["relied_on"]]) == (
                decisions,
                relied,
            ), query
        _status, first, _headers = await api.call(
            "GET", "/v1/recognition-registry?limit=1", role=Role.AUDITOR
        )
        _status, second, _headers = await api.call(
            "GET", f"/v1/recognition-registry?limit=1&cursor={first['next_cursor']}", role=Role.AUDITOR
        )
        assert [r["identifier"] for r in first["relied_on"] + second["relied_on"]] == sorted([own, other])
        for query in ("?status=LOST", "?issuing_province=99", "?limit=501", "?cursor=%%%", "?colour=red"):
            status, problem, _headers = await api.call(
                "GET", "/v1/recognition-registry" + query, role=Role.AUDITOR
            )
            assert (status, problem["type"].rsplit("/", 1)[1]) == (422, "invalid-field"), query

    run(node, keys, scenario)
    with node.views.transaction() as tx:
        live = tx.fetchall("SELECT * FROM view_recognitions ORDER BY case_id, version")
    node.projections[RecognitionRegistry.name].rebuild()
    with node.views.transaction() as tx:
        assert tx.fetchall("SELECT * FROM view_recognitions ORDER BY case_id, version") == live


def test_the_case_view_is_the_cases_whole_timeline(node: Services, clock: FakeClock, keys: Keys) -> None:
    """责任追溯 from the read model: the same steps, actors and details as the case's own timeline."""
    proxy = proxy_case(node, clock)
    node.cases.run(ACCEPT, proxy, JS_HANDLER)
    approve(node, proxy, JS_HANDLER)
    node.cases.run(CONCLUDE, proxy, JS_HANDLER, result="ISSUED")
    node.projections[CaseView.name].tick()

    async def scenario(api: Api, _app: web.Application) -> None:
        _status, timeline, _headers = await api.call("GET", f"/v1/cases/{proxy}/timeline", role=Role.AUDITOR)
        status, view, _headers = await api.call("GET", f"/v1/case-views/{proxy}", role=Role.AUDITOR)
        assert status == 200, view
        assert view["entries"] == timeline["entries"]
        assert (view["provinces"], view["next_after_version"]) == ([SH, JS], None)
        pages: list[dict[str, Any]] = []
        after = 0
        for _page in range(20):
            _status, page, _headers = await api.call(
                "GET", f"/v1/case-views/{proxy}?limit=3&after_version={after}", role=Role.AUDITOR
            )
            pages += page["entries"]
            if page["next_after_version"] is None:
                break
            after = page["next_after_version"]
        assert pages == timeline["entries"]
        _status, by_js, _headers = await api.call(
            "GET", f"/v1/case-views/{proxy}?province={JS}", role=Role.AUDITOR
        )
        assert by_js["entries"] == [e for e in timeline["entries"] if e["province"] == JS]
        assert by_js["entries"]
        for query in ("?province=JS", "?after_version=-1", "?limit=0", "?colour=red"):
            status, _problem, _headers = await api.call(
                "GET", f"/v1/case-views/{proxy}{query}", role=Role.AUDITOR
            )
            assert status == 422, query
        status, _view, _headers = await api.call(
            "GET", f"/v1/case-views/{proxy}", role=Role.WINDOW, province="340000"
        )
        assert status == 403  # an officer of a province that is no party
        status, _view, _headers = await api.call("GET", f"/v1/case-views/{UUID(int=7)}", role=Role.AUDITOR)
        assert status == 404

    run(node, keys, scenario)
    with node.views.transaction() as tx:
        live = tx.fetchall("SELECT * FROM view_case_steps ORDER BY case_id, version")
    node.projections[CaseView.name].rebuild()
    with node.views.transaction() as tx:
        assert tx.fetchall("SELECT * FROM view_case_steps ORDER BY case_id, version") == live


def test_articles_45_and_38_over_rest_the_notice_of_a_special_procedure_and_the_lapsed_supplements_task(
    node: Services, clock: FakeClock, keys: Keys
) -> None:
    """行政许可法 第45条: given an accepted case, when a handler starts 专家评审 over REST with the written
    notice of its time, then the case shows it; 现场核查 (第34条) is refused. 第38条: when a supplement asked
    for after acceptance lapses, then the timer records it, the case and the board show the task, and only a
    reasoned SUPPLEMENT_TIMEOUT conclusion by a handler closes it."""
    clock.set_china_time("2026-03-02")
    case_id = online_case(node)
    path = f"/v1/cases/{case_id}"
    material = node.cases.case(case_id).item.materials[0].code

    async def scenario(api: Api, _app: web.Application) -> None:
        status, problem, _ = await api.call(
            "POST",
            path + "/special-procedure/start",
            role=Role.HANDLER,
            body={"kind": "INSPECTION", "reason": "现场核查", **SPECIAL_PROCEDURE_NOTICE},
        )
        assert (status, problem["type"].rsplit("/", 1)[1]) == (422, "invalid-field")
        status, problem, _ = await api.call(
            "POST",
            path + "/special-procedure/start",
            role=Role.HANDLER,
            body={"kind": "EXPERT_REVIEW", "reason": "专家评审"},
        )
        assert status == 422, problem  # 第45条: the notice of its time is required
        status, case, _ = await api.call(
            "POST",
            path + "/special-procedure/start",
            role=Role.HANDLER,
            body={"kind": "EXPERT_REVIEW", "reason": "专家评审", **SPECIAL_PROCEDURE_NOTICE},
        )
        assert status == 200, case
        assert case["state"] == "SPECIAL_PROCEDURE"
        assert {k: case["special_procedure"][k] for k in ("kind", "expected_days", "notified_on")} == {
            "kind": "EXPERT_REVIEW",
            "expected_days": 10,
            "notified_on": "2026-03-02",
        }
        assert case["special_procedure"]["legal_basis"] == ["《中华人民共和国行政许可法》第四十五条"]
        status, case, _ = await api.call(
            "POST", path + "/special-procedure/end", role=Role.HANDLER, body={"outcome": "评审完毕"}
        )
        assert (status, case["special_procedure"]) == (200, None)
        status, case, _ = await api.call(
            "POST",
            path + "/supplement-request",
            role=Role.HANDLER,
            body={"missing": [material], "reason": "材料不清晰"},
        )
        assert status == 200, case
        clock.set_china_time(case["supplement"]["due_on"])
        clock.advance(days=1)
        assert "SupplementLapsed" in node.timers.check_timers(case_id)
        node.projections[CaseBoard.name].tick()
        status, case, _ = await api.call("GET", path, role=Role.HANDLER)
        assert (status, case["state"], case["task"]["kind"], case["task"]["decision"]) == (
            200,
            "SUPPLEMENT_REQUESTED",
            "DECIDE_SUPPLEMENT_TIMEOUT",
            "CONCLUDE",
        )
        _, board, _ = await api.call("GET", "/v1/board?task=DECIDE_SUPPLEMENT_TIMEOUT", role=Role.AUDITOR)
        assert [row["case_id"] for row in board["cases"]] == [case_id]
        assert board["cases"][0]["task"]["kind"] == "DECIDE_SUPPLEMENT_TIMEOUT"
        assert board["counts"]["awaiting_decision"] == 1
        status, problem, _ = await api.call(
            "POST", path + "/conclude", role=Role.HANDLER, body={"result": "SUPPLEMENT_TIMEOUT"}
        )
        assert status == 422, problem  # 第38条: reason, legal basis and remedies
        status, case, _ = await api.call(
            "POST", path + "/conclude", role=Role.HANDLER, body=SUPPLEMENT_TIMEOUT_DECISION
        )
        assert (status, case["result"], case["task"]) == (200, "SUPPLEMENT_TIMEOUT", None)
        assert case["decision"]["kind"] == "SUPPLEMENT_TIMEOUT"
        node.projections[CaseBoard.name].tick()
        _, board, _ = await api.call("GET", "/v1/board?task=DECIDE_SUPPLEMENT_TIMEOUT", role=Role.AUDITOR)
        assert (board["cases"], board["counts"]["awaiting_decision"]) == ([], 0)

    run(node, keys, scenario)
