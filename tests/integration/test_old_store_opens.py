"""A store written by the code of round 1 (commit 6022e3a) opens with today's code, on SQLite and PostgreSQL.

The stores are in ``tests/fixtures/stores/round1/`` (its README says how they were written, and
``expected.json`` beside each is what the old code said its store held): Shanghai's node of a three-province
federation, with certificates of several kinds and statuses, cases in the three modes from filing to archive,
a 一件事 bundle, two erasures, its transparency log with two signed heads cosigned by the other provinces,
and its read models caught up. Today's composition root opens each with its own keys, and:

- every aggregate in the log loads, in the states the old code wrote, and the auditors' replay agrees;
- every read model rebuilt from the old log gives the rows the old code left in its view tables; the two
  tables round 2 added stay empty until a rebuild fills them (docs/calendar.md: rebuild the board once);
- the tree recomputed from the stored events gives the root of each head the old code signed, and
  ``tongban audit verify`` finds every leaf, head and cosignature in order;
- a command of today (conclude, and the new withdrawal) works on a case the old code accepted, and the next
  signed head extends the old ones;
- the old extension (延期) reads with the meaning it had (``Case.Extended`` version 1, upcast on read: it
  moved both limits, its approver and notice unknown), and the old case's deadlines are what they were;
- the old ratings (好差评) and appeal read with the meaning they had (``Case.Rated`` version 1, upcast on
  read: a rating of the handling, answered by the handling province; the appeal not decided), the stored
  records unchanged, and today's review (复核) decides the old appeal.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from aggregates.bundle import BundleCase
from aggregates.case import Case, Limit, State
from aggregates.catalogue import BEFORE_RULE
from aggregates.certificate import Certificate
from aggregates.deadline import DeadlineInputs, DeadlineState, Suspension, due_date
from aggregates.erasure import ERASED
from aggregates.errors import IllegalTransition
from aggregates.responsibility import Actor
from federation.pki import signed_by_member
from federation.transparency_verify import verify_consistency
from infra.transparency_tree import root
from node.audit.replay import replay_log
from node.audit.verify import verify
from node.bootstrap import build_services, close_services
from node.cli import main as cli
from node.presentation.cases import case_json
from node.services import Services
from node.settings import Settings, load_settings
from node.store.application import NotFound
from node.store.stored_records import stored_records
from node.usecases.case_commands import (
    APPEAL_RATING,
    CONCLUDE,
    DECIDE_RATING_APPEAL,
    RECORD_REVIEW,
    WITHDRAW,
)
from node.workers.deadline_timer import DeadlineTimer
from projections.case_board import CaseBoard
from projections.case_view import DETAIL_JSON
from projections.service_statistics import ServiceStatistics, StatisticsQuery, statistics
from projections.transparency_log import leaf_hashes
from tests.builders import FakeClock, day_by_day, review_calls
from tests.integration.old_stores import copy_fixture, restored_database

FIXTURES = Path(__file__).parents[1] / "fixtures" / "stores" / "round1"
SH = "310000"
SCHEMA = "old_round1_310000"  # the schema the old code wrote Shanghai's node in (README.md)
# Round 2 added these tables to read models that existed before: the old store has none of their rows.
NEW_TABLES = {
    "case_board": {"view_case_board_clock", "view_case_board_task"},
    # the other holders of certificates of several: the old store's certificates each had one holder
    "certificate_uses": {"view_certificate_other_holders"},
    "service_statistics": {"view_case_calendar_years", "view_case_ratings", "view_case_extensions"},
    # 亮证 came after round 2: its read models are new
    "verifier_registry": {"view_verifiers"},
    "status_lists": {"view_status_lists"},
    "credential_statuses": {"view_credential_statuses"},
}
# Fields events gained since round 1, with the value their upcasters give an old event: the case view's
# steps show each event as read today, so a step rebuilt from an old event shows the field too.
UPCAST = {
    "Rated": {"service": "HANDLING"},
    "Extended": {
        "limits": ["PROMISED", "STATUTORY"],
        **dict.fromkeys(
            (
                "approver_id",
                "approver_title",
                "approver_office",
                "notice_method",
                "notice_reference",
                "notified_on",
            )
        ),
    },
    # 行政许可法 第38条: decisions and review steps recorded before the rule carry no basis, remedies or role
    "Refused": dict.fromkeys(("ground", "legal_basis", "remedies", "competent_agency")),
    "Concluded": dict.fromkeys(("reason", "legal_basis", "remedies", "delivery_limit_days")),
    "ReviewStepRecorded": {"title": None},
    # 行政许可法 第45条: a special procedure started before the rule recorded no notice of its time, no basis
    "SpecialProcedureStarted": dict.fromkeys(
        ("expected_days", "notice_method", "notice_reference", "notified_on", "legal_basis")
    ),
    # 行政许可法 第32条: filed and received before the notice limit was kept, notices before 一次性告知
    "Submitted": {"notice_clock": False},
    "Received": {"notice_clock": False},
    "SupplementRequested": {"defective": [], "follows_round": None, "notice_due_on": None},
}
# A day after the last event the old code wrote (expected.json: last_event_at), never the wall clock's.
NOW = datetime.fromisoformat("2026-04-14T10:00:00+08:00")
REPLAY_ALL = datetime.fromisoformat("2100-01-01T00:00:00+08:00")
HANDLER = Actor(SH, "31-HANDLER-01", "handler-1")
PLATFORM = Actor(SH, "31-PLATFORM-01", "platform-1")
ADMIN = Actor(SH, "31-ZWFW-01", "admin-1")  # Shanghai's 政务服务管理机构: it reviews appeals (复核)
RATED = get_topic(Case.Rated)
APPEALED = get_topic(Case.RatingAppealed)
EXTENDED = get_topic(Case.Extended)


@dataclass(frozen=True)
class OldStore:
    settings: Settings
    expected: dict[str, Any]  # what the old code said its store held (expected.json)

    @property
    def cases(self) -> dict[str, Any]:
        marks: dict[str, Any] = self.expected["cases"]
        return marks


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def old_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OldStore]:
    """The old store, in a copy of its own: a file under tmp_path, or a new database loaded from the dump."""
    kind = request.param
    directory = tmp_path / "round1"
    expected = copy_fixture(FIXTURES / kind, directory)
    environ = {
        "TONGBAN_DATA_DIR": str(directory),
        "TONGBAN_FEDERATION_DIR": str(directory),
        "TONGBAN_HTTP_PORT": "0",
        "TONGBAN_GRPC_PORT": "0",
    }
    if kind == "sqlite":
        yield OldStore(load_settings(province=SH, environ=environ), expected)
        return
    server: str = request.getfixturevalue("postgres_url")
    with restored_database(server, FIXTURES / kind / f"{SCHEMA}.sql.gz") as url:
        environ |= {"TONGBAN_POSTGRES_URL": url, "TONGBAN_POSTGRES_SCHEMA": SCHEMA}
        yield OldStore(load_settings(province=SH, environ=environ), expected)


@pytest.fixture
def opened(old_store: OldStore) -> Iterator[Services]:
    """The old store opened by today's composition root, on a clock after its last event."""
    assert datetime.fromisoformat(old_store.expected["last_event_at"]) < NOW
    services = build_services(old_store.settings, clock=FakeClock(NOW))
    yield services
    close_services(services)


def test_every_aggregate_of_the_old_log_loads_in_the_state_it_was_written(
    old_store: OldStore, opened: Services
) -> None:
    expected = old_store.expected
    recorder, repository = opened.app.recorder, opened.app.repository
    assert recorder.max_notification_id() == expected["max_notification_id"]
    topics: Counter[str] = Counter()
    originators: list[uuid.UUID] = []
    position = 0
    while batch := recorder.select_notifications(start=position + 1, limit=200):
        for notification in batch:
            topics[notification.topic] += 1
            if notification.originator_version == 1:
                originators.append(uuid.UUID(str(notification.originator_id)))
        position = batch[-1].id
    assert dict(topics) == expected["events_by_topic"]

    kinds: Counter[str] = Counter()
    cases: Counter[str] = Counter()
    certificates: Counter[str] = Counter()
    bundles: Counter[str] = Counter()
    for originator in originators:
        aggregate: Aggregate = repository.get(originator)  # every event, through today's classes and topics
        kinds[type(aggregate).__name__] += 1
        if isinstance(aggregate, Case):
            cases[aggregate.state.value] += 1
        elif isinstance(aggregate, Certificate):
            certificates[aggregate.status.value] += 1
        elif isinstance(aggregate, BundleCase):
            bundles["delivered" if aggregate.delivered else "open"] += 1
    assert dict(kinds) == expected["aggregates_by_class"]
    assert dict(cases) == expected["cases_by_state"]
    assert dict(certificates) == expected["certificates_by_status"]
    assert dict(bundles) == expected["bundles"]
    assert sum(cases.values()) >= 30
    assert set(cases) >= {"ACCEPTED", "ARCHIVED", "DELIVERED", "SUBMITTED"}

    # the auditors' replay folds the same log to the same counts (as of an instant after every event: the old
    # code stamped the catalogue and holder indexes and the peers' notices with the wall clock of the run)
    replayed = replay_log(recorder, opened.app.mapper, REPLAY_ALL).as_json()
    assert replayed["events_read"] == replayed["events_replayed"] == sum(expected["events_by_topic"].values())
    assert replayed["aggregates"] == expected["aggregates_by_class"]
    assert replayed["states"]["Case"] == expected["cases_by_state"]
    assert replayed["states"]["Certificate"] == expected["certificates_by_status"]


def test_the_cases_marked_in_the_fixture_are_where_the_old_code_left_them(
    old_store: OldStore, opened: Services
) -> None:
    marks, cases = old_store.cases, opened.cases
    states = {
        State.ARCHIVED: marks["archived_proxy"],
        State.SUBMITTED: [marks["submitted"], marks["online_not_accepted"], marks["flagged"]],
        State.RECEIVED: [marks["received"]],
        State.FORWARDED: [marks["forwarded"]],
        State.ACCEPTED: [*marks["accepted_open"], marks["accepted_at_jiangsu"]],
        State.SUPPLEMENT_REQUESTED: [marks["supplement_requested"]],
        State.SPECIAL_PROCEDURE: [marks["special_procedure"]],
        State.CONCLUDED: [*marks["joint"], marks["denied_after_extension"], marks["supplement_timed_out"]],
        State.DELIVERED: [*marks["full_online"][:3], marks["refused"]],
    }
    for state, case_ids in states.items():
        assert [cases.case(c).state for c in case_ids] == [state] * len(case_ids), state
    # filed at Jiangsu with a Shanghai certificate: Shanghai recorded the use only
    with pytest.raises(NotFound):
        cases.case(marks["full_online"][3])
    joint = cases.case(marks["joint"][0])
    assert (joint.mode, {code: part.result for code, part in joint.parts.items()}) == (
        "JOINT",
        {"P1": "ISSUED", "P2": "ISSUED", "P3": "ISSUED"},
    )
    assert cases.case(marks["denied_after_extension"]).result == "DENIED"
    assert cases.case(marks["supplement_timed_out"]).result == "SUPPLEMENT_TIMEOUT"
    assert "Refused" in [entry.event for entry in cases.timeline(marks["refused"])]
    # decisions recorded before 行政许可法 第38条 keep their meaning: a reason (refusals) and nothing more
    old_refusal = cases.case(marks["refused"]).decision
    assert old_refusal is not None
    assert old_refusal["reason"] is not None
    assert (old_refusal["legal_basis"], old_refusal["remedies"], old_refusal["ground"]) == (None, None, None)
    old_denial = cases.case(marks["denied_after_extension"]).decision
    assert old_denial is not None
    assert (old_denial["kind"], old_denial["reason"], old_denial["remedies"]) == ("DENIED", None, None)
    assert cases.case(marks["flagged"]).certificate_flags
    # cases filed before items declared their law keep the effect it had (第45条 cut-over): the old kinds
    # stop the clock, so does a supplement after acceptance, and an old special procedure has no notice
    in_procedure = cases.case(marks["special_procedure"])
    assert in_procedure.item.clock_stops == BEFORE_RULE
    assert in_procedure.special_procedure is not None
    assert in_procedure.special_procedure["notice_method"] is None
    assert in_procedure.special_procedure["expected_days"] is None
    assert in_procedure.suspensions[-1][1] is None
    assert cases.case(marks["supplement_requested"]).item.clock_stops.supplement_stops_clock
    assert cases.case(marks["supplement_requested"]).open_task is None
    bundle: Aggregate = opened.app.repository.get(uuid.UUID(marks["bundle"]))
    assert isinstance(bundle, BundleCase)
    assert bundle.delivered
    assert {cases.case(c).state for c in bundle.case_ids} == {State.DELIVERED}

    # personal data sealed by the old code opens with its master key; what it forgot stays forgotten
    kept = cases.applicant(marks["accepted_open"][0])
    assert kept.name not in ("", ERASED)
    assert len(kept.id_number) == 18
    forgotten = cases.applicant(marks["joint"][0])  # Shanghai forgot this applicant
    assert (forgotten.name, forgotten.id_number) == (ERASED, ERASED)
    holder = opened.certificates.certificate(marks["forgotten_holder_certificate"]).content
    assert (holder.holder_name, holder.holder_id) == (ERASED, ERASED)
    copy = cases.applicant(marks["forgotten_copy_case"])  # Jiangsu forgot its applicant: the copy is gone
    assert copy.id_number == ERASED


def test_the_read_models_rebuilt_from_the_old_log_give_the_old_rows(
    old_store: OldStore, opened: Services
) -> None:
    old_counts: dict[str, dict[str, int]] = old_store.expected["view_rows"]
    assert set(old_counts) <= set(opened.projections)
    for name, follower in opened.projections.items():
        # a read model the old code had is caught up; a newer one reads the old log first (filling nothing)
        assert follower.tick() == 0 or name not in old_counts, f"{name}: the old code left it caught up"
        left = follower.rows()  # the view tables as the old code left them
        old_tables = set(old_counts.get(name, {}))
        assert set(follower.projection.tables) - old_tables == NEW_TABLES.get(name, set())
        assert {t: len(left[t]) for t in old_tables} == old_counts.get(name, {}), name
        assert all(not left[t] for t in NEW_TABLES.get(name, ())), f"{name}: filled by a rebuild only"
        follower.rebuild()
        rebuilt = follower.rows()
        for table in old_tables:
            expected = _upcast_steps(left[table]) if table == "view_case_steps" else left[table]
            assert rebuilt[table] == expected, f"{name}.{table} rebuilt from the old log differs"
    # the intended difference (docs/calendar.md): the board's legal clocks appear once it is rebuilt
    boards = opened.projections[CaseBoard.name].rows()
    assert len(boards["view_case_board_clock"]) == len(boards["view_case_board"]) > 0


def _upcast_steps(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The case view's rows as the old code left them, each step's detail with the fields its event gained
    since (the only intended difference of a rebuild: ``UPCAST``)."""
    steps = []
    for row in rows:
        event, detail = row[3], row[-1]
        if event in UPCAST:
            detail = DETAIL_JSON.encode(json.loads(detail) | UPCAST[event])
        steps.append((*row[:-1], detail))
    return sorted(steps, key=repr)


def test_the_tree_recomputed_from_the_old_store_gives_the_heads_it_signed(
    old_store: OldStore,
    opened: Services,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    restored_logging: None,
) -> None:
    expected = old_store.expected
    log = opened.transparency.log
    assert log.tick() == 0, "the old code logged every event as a leaf"
    head = opened.transparency.latest_head()
    assert head is not None
    assert {k: head[k] for k in expected["latest_head"]} == expected["latest_head"]
    assert sorted(c["witness"] for c in head["cosignatures"]) == expected["cosigners_of_latest_head"]
    heads = [signed for signed, _cosignatures in log.signed_heads()]
    assert len(heads) == expected["heads"] >= 2
    leaves = [hashed for batch in stored_records(opened.app.recorder) for hashed in leaf_hashes(batch)]
    for signed in heads:  # every head the old code signed, from the stored events alone
        assert root(leaves[: signed["tree_size"]]).hex() == signed["root_hash"]
    assert opened.transparency.publish_head() is None  # nothing new to sign

    assert opened.federation is not None
    members = opened.federation.manifest.current().members
    witnesses = {m.province: signed_by_member(m) for m in members if m.province != SH}
    report = verify(opened.app.recorder, log, SH, opened.certificates.public_keys(), witnesses)
    assert report.clean, report
    assert (report.leaves_checked, report.heads_checked) == (head["tree_size"], expected["heads"])
    # the witness's memory of the other provinces' heads, kept by the old code, reads back
    for peer in ("320000", "330000"):
        assert opened.federation.witnessing.witnessed_head(peer)["head"]["province"] == peer

    # and the auditors' command, as an operator runs it on the old node's settings
    settings = old_store.settings
    monkeypatch.setenv("TONGBAN_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TONGBAN_FEDERATION_DIR", settings.federation_dir)
    if settings.postgres_url:
        monkeypatch.setenv("TONGBAN_POSTGRES_URL", settings.postgres_url)
        monkeypatch.setenv("TONGBAN_POSTGRES_SCHEMA", settings.postgres_schema)
    assert cli.main(["audit", "verify", "--province", SH]) == 0
    assert "no tampering found" in capsys.readouterr().out


def test_todays_commands_work_on_cases_the_old_code_accepted(old_store: OldStore, opened: Services) -> None:
    concluded_id, withdrawn_id = old_store.cases["accepted_open"]
    old_head = opened.transparency.latest_head()
    assert old_head is not None
    for step, officer, extra in review_calls(HANDLER):
        opened.cases.run(RECORD_REVIEW, concluded_id, officer, step=step, opinion="同意", **extra)
    concluded = opened.cases.run(CONCLUDE, concluded_id, HANDLER, result="ISSUED")
    assert (concluded.state, concluded.result) == (State.CONCLUDED, "ISSUED")
    assert concluded.concluded_on == "2026-04-14"
    withdrawn = opened.cases.run(WITHDRAW, withdrawn_id, PLATFORM, reason="申请人申请撤回")
    assert (withdrawn.state, withdrawn.withdrawn_on) == (State.WITHDRAWN, "2026-04-14")

    # the read models and the tree go on from where the old code left them
    board = opened.projections[CaseBoard.name]
    assert board.tick() > 0
    states = {row[0]: row[3] for row in board.rows()["view_case_board"]}
    assert (states[concluded_id], states[withdrawn_id]) == ("CONCLUDED", "WITHDRAWN")
    new_head = opened.transparency.publish_head()
    assert new_head is not None
    assert new_head["tree_size"] > old_head["tree_size"]
    proof = opened.transparency.consistency(old_head["tree_size"], new_head["tree_size"])
    assert verify_consistency(
        old_head["tree_size"],
        new_head["tree_size"],
        bytes.fromhex(old_head["root_hash"]),
        bytes.fromhex(new_head["root_hash"]),
        [bytes.fromhex(h) for h in proof["path"]],
    )


def test_article_44_decisions_the_old_code_left_undelivered_run_no_delivery_clock(
    old_store: OldStore,
) -> None:
    """行政许可法 第44条, the cut-over: given the decisions round 1 recorded (``Case.Concluded`` version 1)
    and left undelivered, when today's timer runs weeks later, then none of their delivery limits is warned
    of or breached: no delivery clock ran for a decision recorded before it was kept. A decision recorded
    today (version 3) runs its clock: due the 10th working day after it."""
    clock = FakeClock(NOW)
    services = build_services(old_store.settings, clock=clock)
    try:
        marks = old_store.cases
        undelivered = [*marks["joint"], marks["denied_after_extension"], marks["supplement_timed_out"]]
        for case_id in undelivered:
            case = services.cases.case(case_id)
            assert (case.state, case.delivery_limit_days) == (State.CONCLUDED, None)
            assert not case.clock_runs(Limit.DELIVERY)
            assert services.cases.delivery_deadline(case) is None
            assert "delivery" not in (case_json(case, services.cases)["deadlines"] or {})
        decided_id = marks["accepted_open"][0]
        for step, officer, extra in review_calls(HANDLER):
            services.cases.run(RECORD_REVIEW, decided_id, officer, step=step, opinion="同意", **extra)
        decided = services.cases.run(CONCLUDE, decided_id, HANDLER, result="ISSUED")
        assert decided.delivery_limit_days == 10
        due = services.cases.delivery_deadline(decided)
        assert isinstance(due, DeadlineState)
        assert due.due_on == day_by_day(services.cases.calendar_of(decided), date(2026, 4, 14), 10)
        timer = DeadlineTimer(services.app, services.timers, services.settings.timer_batch_events)
        recorded: Counter[str] = Counter()
        for day in ("2026-04-24", "2026-06-01"):
            clock.set_china_time(day)
            recorded.update(timer.tick())
        assert not [c for c in undelivered if {"DELIVERY"} & {*services.cases.case(c).deadlines_warned}]
        assert not [c for c in undelivered if "DELIVERY" in services.cases.case(c).breaches]
        # the supplement round 1 left open lapsed: the timer records the lapse and decides nothing (a
        # handler does, 第38条), so no delivery clock runs for it
        lapsed = services.cases.case(marks["supplement_requested"])
        assert (lapsed.state, lapsed.result, recorded["SupplementLapsed"]) == (
            State.SUPPLEMENT_REQUESTED,
            None,
            1,
        )
        breached = {c for c in (*undelivered, decided_id) if "DELIVERY" in services.cases.case(c).breaches}
        assert breached == {decided_id}
        assert recorded["DeadlineBreached:DELIVERY"] == 1
    finally:
        close_services(services)


def test_old_ratings_and_appeals_read_as_they_were_meant_and_the_old_appeal_is_reviewed_today(
    old_store: OldStore, opened: Services
) -> None:
    """Round 1 stored ``Case.Rated`` without ``service`` (version 1) and let any rating be appealed. Read
    today, each old rating is one of the handling, answered by the handling province (the upcaster's default,
    which is what round 1 did), the stored records are untouched, and the old appeal, never decided, is
    reviewed (复核) by today's command."""
    recorder, mapper = opened.app.recorder, opened.app.mapper
    stored = [n for n in recorder.select_notifications(start=1, limit=10_000) if n.topic in (RATED, APPEALED)]
    ratings = [n for n in stored if n.topic == RATED]
    assert len(ratings) == old_store.expected["events_by_topic"][RATED] == 5
    for notification in ratings:
        written = json.loads(notification.state)
        assert "service" not in written  # version 1, as round 1 wrote it
        assert "class_version" not in written
        rated = mapper.to_domain_event(notification)
        assert isinstance(rated, Case.Rated)
        assert rated.service == "HANDLING"
        case = opened.cases.case(str(notification.originator_id))
        assert (case.rated_service, case.rating_answered_by) == ("HANDLING", case.handling_province)
    [appeal] = [mapper.to_domain_event(n) for n in stored if n.topic == APPEALED]
    assert isinstance(appeal, Case.RatingAppealed)
    assert (appeal.reason, appeal.province) == ("评价与事实不符", SH)

    appealed_id = old_store.cases["full_online"][2]  # rated 2 at Shanghai, appealed by Shanghai's handler
    case = opened.cases.case(appealed_id)
    assert (case.rating, case.appealed, case.appeal_outcome) == (2, True, None)
    assert (case.rating_counts, case.rectification_open) == (True, True)
    answered = opened.cases.case(old_store.cases["full_online"][1])  # rated 1, rectification answered
    assert (answered.rating, answered.rectification_open, answered.appealed) == (1, False, False)

    # today's rules on the old case: no second appeal; the review decides the old one
    with pytest.raises(IllegalTransition, match="already appealed once"):
        opened.cases.run(APPEAL_RATING, appealed_id, HANDLER, reason="再次申诉")
    decided = opened.cases.run(
        DECIDE_RATING_APPEAL, appealed_id, ADMIN, outcome="UPHELD", reason="经复核，评价与事实不符"
    )
    assert (decided.appeal_outcome, decided.rating_counts, decided.rectification_open) == (
        "UPHELD",
        False,
        False,
    )
    follower = opened.projections[ServiceStatistics.name]
    assert follower.tick() == 1  # the old read model goes on: no rebuild needed
    with opened.views.transaction() as tx:
        [whole] = statistics(tx, StatisticsQuery(group_by=()), NOW.date())
    assert whole["ratings"]["appealed"] == 1
    assert (whole["ratings"]["appeals_upheld"], whole["ratings"]["counted"]) == (1, 4)


def test_the_old_extension_moved_both_limits_and_the_old_cases_deadlines_are_unchanged(
    old_store: OldStore, opened: Services
) -> None:
    """行政许可法第42条, cut-over: round 1 stored ``Case.Extended`` without ``limits``, approver or notice
    (version 1), and its extension moved the promised limit too. Read today it still does (the upcaster's
    meaning: both limits, approver and notice None), the stored record is untouched, and the case's due dates
    are the old code's: its statutory and promised limits each lengthened by the extension's days."""
    recorder, mapper = opened.app.recorder, opened.app.mapper
    [notification] = [n for n in recorder.select_notifications(start=1, limit=10_000) if n.topic == EXTENDED]
    written = json.loads(notification.state)
    assert "limits" not in written
    assert "class_version" not in written
    extended = mapper.to_domain_event(notification)
    assert isinstance(extended, Case.Extended)
    assert extended.limits == ["PROMISED", "STATUTORY"]
    assert (extended.approver_id, extended.notice_reference, extended.notified_on) == (None, None, None)

    case = opened.cases.case(str(notification.originator_id))
    assert str(case.id) == old_store.cases["denied_after_extension"]
    assert (case.extension_days, case.extended_limits) == (extended.days, ["PROMISED", "STATUTORY"])
    assert case.extension is not None
    assert case.extension["approver_id"] is None
    deadlines = opened.cases.deadlines(case)
    assert deadlines is not None
    promised, statutory = deadlines.promised, deadlines.statutory
    assert isinstance(promised, DeadlineState)
    assert isinstance(statutory, DeadlineState)
    calendar = opened.cases.calendar_of(case)
    for state, limit_days in (
        (promised, case.item.promised_limit_days),
        (statutory, case.item.statutory_limit_days),
    ):
        # the old code's count: the limit plus the extension's days, whatever the limit
        old = DeadlineInputs(
            date.fromisoformat(case.accepted_on or ""),
            limit_days,
            tuple(
                Suspension(date.fromisoformat(start), date.fromisoformat(end) if end else None)
                for start, end in case.suspensions
            ),
            case.extension_days,
            date.fromisoformat(case.concluded_on) if case.concluded_on else None,
        )
        assert state.due_on == due_date(calendar, old)
        assert state.breach is None


def test_old_certificates_still_verify_and_old_uses_read_as_peers_federation_calls(
    old_store: OldStore, opened: Services
) -> None:
    """``Certificate.Issued`` version 1 (one holder) is upcast to no other holders, and the signing payload
    leaves an empty list out: every certificate the old code signed verifies with today's code, but for the
    forgotten holder's (its content is gone). ``Certificate.Used`` version 1 reads as a peer's federation
    call."""
    recorder, mapper = opened.app.recorder, opened.app.mapper
    issued: list[Any] = []
    used: list[Any] = []
    position = 0
    while batch := recorder.select_notifications(start=position + 1, limit=200):
        for notification in batch:
            if notification.topic == get_topic(Certificate.Issued):
                issued.append(mapper.to_domain_event(notification))
            elif notification.topic == get_topic(Certificate.Used):
                used.append(mapper.to_domain_event(notification))
        position = batch[-1].id
    assert len(issued) == old_store.expected["events_by_topic"][get_topic(Certificate.Issued)]
    assert all(event.other_holders == [] for event in issued)
    problems = Counter(
        opened.certificates.verify(event.identifier, as_of=NOW).assertion["problem"] for event in issued
    )
    assert problems == Counter({None: len(issued) - 1, "HOLDER_ERASED": 1})
    assert used
    assert {(u.channel, u.office_code, u.operator_id == u.requester_province) for u in used} == {
        ("FEDERATION", "FEDERATION", True)
    }
