"""Random command sequences on PROXY cases against a simple model of the rules, on SQLite AND PostgreSQL.

After every step: each store's case is in the state the model predicts, refused commands were refused by
both stores alike (and wrote nothing), and the stores hold the same number of events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from aggregates.case import State
from aggregates.errors import DomainError
from aggregates.responsibility import Actor
from node.calendar.source import CalendarBook
from node.signing import Ed25519Signer
from node.usecases import case_commands as cc
from node.usecases.case_commands import CaseCommand
from node.usecases.cases import CaseService
from node.usecases.catalogue import CatalogueService
from node.usecases.certificates import CertificateService
from simulators.sample_data import sample_catalogue
from tests.builders import (
    APPROVER_TITLE,
    DENIAL,
    EXTENSION_APPROVAL,
    REFUSAL,
    SPECIAL_PROCEDURE_NOTICE,
    FakeClock,
    approver_of,
)
from tests.integration.both_stores import BothStores, require_both_stores

WINDOW = Actor("310000", "SH-WIN", "w")
HANDLER = Actor("320000", "JS-GA", "h")
PLATFORM = Actor("310000", "SH-APP", "p")
SUPERVISOR = Actor("320000", "JS-ZWFW", "s")  # Jiangsu's 政务服务管理机构: reviews appeals (复核)
APPLICANT = {"name": "李四", "id_type": "111", "id_number": "11010519491231002X"}
ITEM = next(i for i in sample_catalogue()["items"] if i["code"] == "GA-0003")  # PROXY, extension allowed
REQUIRED = sorted(m["code"] for m in ITEM["materials"] if m["required"])
BEFORE = {State.SUBMITTED, State.RECEIVED, State.FORWARDED}
ENDED = {State.CONCLUDED, State.REFUSED, State.DELIVERED, State.ARCHIVED}
OPEN = {*BEFORE, State.ACCEPTED, State.SUPPLEMENT_REQUESTED, State.SPECIAL_PROCEDURE}


@dataclass
class ModelCase:
    state: State = State.SUBMITTED
    attached: frozenset[str] = frozenset()
    listed: frozenset[str] = frozenset()  # the materials the open supplement notice lists
    resume: State = State.SUBMITTED
    reviews: int = 0
    rounds: int = 0
    extended: bool = False
    rated: bool = False
    score: int = 0
    appealed: bool = False
    appeal_decided: bool = False

    @property
    def complete(self) -> bool:
        return set(REQUIRED) <= self.attached


class CaseWorkflow(RuleBasedStateMachine):
    cases = Bundle("cases")

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock(datetime.fromisoformat("2025-09-01T10:00:00+08:00"))
        self.stores_under_test = BothStores()
        self.apps = self.stores_under_test.apps
        signer = Ed25519Signer.generate()
        calendars = CalendarBook.load()
        self.services: dict[str, CaseService] = {}
        for name, app in self.apps.items():
            catalogue = CatalogueService(app, self.clock)
            fields = {k: v for k, v in ITEM.items() if k not in ("illustrative", "source")}
            catalogue.publish_item("320000", fields, HANDLER)
            certificates = CertificateService(
                app, signer=signer, public_keys=[signer.public_key()], province="310000", clock=self.clock
            )
            self.services[name] = CaseService(
                app,
                catalogue=catalogue,
                certificates=certificates,
                calendars=calendars,
                province="310000",
                clock=self.clock,
            )
        self.model: dict[str, ModelCase] = {}
        self.ids: dict[str, dict[str, str]] = {}  # model key -> store name -> case id

    def teardown(self) -> None:
        self.stores_under_test.close()

    def _run(self, key: str, command: CaseCommand, allowed: bool, actor: Actor, **arguments: Any) -> None:
        """Run a command on every store: all accept it when the model allows it, all refuse it otherwise."""
        self.clock.advance(hours=1)  # 50 steps stay well inside every limit, so deadlines never refuse
        for name, service in self.services.items():
            before = service.case(self.ids[key][name]).version
            try:
                service.run(command, self.ids[key][name], actor, **arguments)
                outcome = True
            except DomainError:
                outcome = False
                assert service.case(self.ids[key][name]).version == before, "a refusal wrote something"
            assert outcome == allowed, (
                f"{name}: {command.name} from {self.model[key]} gave {outcome}, model says {allowed}"
            )

    @precondition(lambda self: len(self.model) < 3)  # few cases, so that each goes deep
    @rule(target=cases)
    def submit(self) -> str:
        key = f"case{len(self.model)}"
        self.ids[key] = {
            name: str(
                s.submit(
                    WINDOW, item_province="320000", item_code="GA-0003", mode="PROXY", applicant=APPLICANT
                ).id
            )
            for name, s in self.services.items()
        }
        self.model[key] = ModelCase()
        return key

    def receive(self, key: str) -> None:
        m = self.model[key]
        self._run(key, cc.RECEIVE, m.state == State.SUBMITTED, WINDOW)
        if m.state == State.SUBMITTED:
            m.state = State.RECEIVED

    def forward(self, key: str) -> None:
        m = self.model[key]
        self._run(key, cc.FORWARD, m.state == State.RECEIVED, WINDOW)
        if m.state == State.RECEIVED:
            m.state = State.FORWARDED

    def attach_required(self, key: str) -> None:
        """Attach every required material: before acceptance any, in a supplement only those it lists."""
        m = self.model[key]
        for code in REQUIRED:
            allowed = m.state in BEFORE or (m.state == State.SUPPLEMENT_REQUESTED and code in m.listed)
            self._run(
                key,
                cc.ATTACH_MATERIAL,
                allowed,
                WINDOW,
                material_code=code,
                file_digest="sha256:" + "a" * 64,
            )
            if allowed:
                m.attached = m.attached | {code}

    def accept(self, key: str) -> None:
        m = self.model[key]
        allowed = m.state == State.FORWARDED and m.complete
        self._run(key, cc.ACCEPT, allowed, HANDLER)
        if allowed:
            m.state = State.ACCEPTED

    def refuse(self, key: str) -> None:
        m = self.model[key]
        # only once the case is in the handling province's hands, and never after acceptance
        allowed = m.state == State.FORWARDED or (
            m.state == State.SUPPLEMENT_REQUESTED and m.resume != State.ACCEPTED
        )
        self._run(key, cc.REFUSE, allowed, HANDLER, **REFUSAL)
        if allowed:
            m.state = State.REFUSED

    def request_supplement(self, key: str) -> None:
        m = self.model[key]
        missing = sorted((set(REQUIRED) - m.attached) | {"M04"})
        allowed = m.state in (State.FORWARDED, State.ACCEPTED)
        self._run(key, cc.REQUEST_SUPPLEMENT, allowed, HANDLER, missing=missing, reason="请补正")
        if allowed:
            m.resume, m.state, m.rounds = m.state, State.SUPPLEMENT_REQUESTED, m.rounds + 1
            m.attached = m.attached - set(missing)
            m.listed = frozenset(missing)

    def provide_supplement(self, key: str) -> None:
        m = self.model[key]
        allowed = m.state == State.SUPPLEMENT_REQUESTED and m.complete
        self._run(key, cc.PROVIDE_SUPPLEMENT, allowed, PLATFORM)
        if allowed:
            m.state = m.resume

    def review(self, key: str) -> None:
        m = self.model[key]
        allowed = m.state == State.ACCEPTED and m.reviews < 3
        step = ("UNDERTAKE", "CHECK", "APPROVE", "APPROVE")[m.reviews]
        # 批准 by another officer than 承办, naming their role
        officer, extra = (
            (approver_of(HANDLER), {"title": APPROVER_TITLE}) if step == "APPROVE" else (HANDLER, {})
        )
        self._run(key, cc.RECORD_REVIEW, allowed, officer, step=step, opinion="ok", **extra)
        m.reviews += allowed

    def special_procedure(self, key: str) -> None:
        m = self.model[key]
        if m.state == State.SPECIAL_PROCEDURE:
            self._run(key, cc.END_SPECIAL_PROCEDURE, True, HANDLER, outcome="核查完毕")
            m.state = State.ACCEPTED
        else:
            self._run(
                key,
                cc.START_SPECIAL_PROCEDURE,
                m.state == State.ACCEPTED,
                HANDLER,
                kind="EXPERT_REVIEW",
                reason="专家评审",
                **SPECIAL_PROCEDURE_NOTICE,
            )
            if m.state == State.ACCEPTED:
                m.state = State.SPECIAL_PROCEDURE

    def extend(self, key: str) -> None:
        m = self.model[key]
        allowed = m.state == State.ACCEPTED and not m.extended
        self._run(key, cc.EXTEND, allowed, HANDLER, days=5, reason="情况复杂", **EXTENSION_APPROVAL)
        m.extended = m.extended or allowed

    def conclude(self, key: str, result: str = "ISSUED") -> None:
        m = self.model[key]
        allowed = m.state == State.ACCEPTED and (
            result == "RETURNED" or m.reviews == 3
        )  # decisions need 批准
        self._run(key, cc.CONCLUDE, allowed, HANDLER, result=result, **(DENIAL if result == "DENIED" else {}))
        if allowed:
            m.state = State.CONCLUDED

    def deliver(self, key: str) -> None:
        m = self.model[key]
        allowed = m.state in (State.CONCLUDED, State.REFUSED)
        self._run(key, cc.DELIVER, allowed, HANDLER, method="POST", reference="EMS0001")
        if allowed:
            m.state = State.DELIVERED

    def archive(self, key: str) -> None:
        m = self.model[key]
        self._run(key, cc.ARCHIVE, m.state == State.DELIVERED, HANDLER)
        if m.state == State.DELIVERED:
            m.state = State.ARCHIVED

    def rate(self, key: str, score: int = 4) -> None:
        m = self.model[key]
        allowed = m.state in ENDED and not m.rated
        self._run(key, cc.RATE, allowed, PLATFORM, score=score, channel="ONLINE", comment="")
        if allowed:
            m.rated, m.score = True, score

    def appeal(self, key: str) -> None:
        m = self.model[key]
        allowed = m.rated and m.score <= 2 and not m.appealed  # 申诉: a 差评 only, once
        self._run(key, cc.APPEAL_RATING, allowed, HANDLER, reason="申诉")
        m.appealed = m.appealed or allowed

    def decide_appeal(self, key: str) -> None:
        m = self.model[key]
        allowed = m.appealed and not m.appeal_decided  # 复核: once
        self._run(key, cc.DECIDE_RATING_APPEAL, allowed, SUPERVISOR, outcome="REJECTED", reason="复核")
        m.appeal_decided = m.appeal_decided or allowed

    COMMANDS = (
        "receive",
        "forward",
        "attach_required",
        "accept",
        "refuse",
        "request_supplement",
        "provide_supplement",
        "review",
        "special_procedure",
        "extend",
        "conclude",
        "deliver",
        "archive",
        "rate",
        "appeal",
        "decide_appeal",
    )

    @rule(key=cases, command=st.sampled_from(COMMANDS))
    def any_command(self, key: str, command: str) -> None:
        """Any command at any time: mostly refusals, which must be refused alike and write nothing."""
        getattr(self, command)(key)

    @rule(
        key=cases,
        choice=st.integers(0, 3),
        result=st.sampled_from(["ISSUED", "DENIED", "RETURNED"]),
        score=st.integers(1, 5),
    )
    def next_step(self, key: str, choice: int, result: str, score: int) -> None:
        """A step the rules allow now, so that sequences reach deep states (review, suspensions, rating)."""
        m = self.model[key]
        if m.state in (State.SUBMITTED, State.RECEIVED):
            if choice == 3 and not m.complete:
                self.attach_required(key)
            else:
                (self.receive if m.state == State.SUBMITTED else self.forward)(key)
        elif m.state == State.FORWARDED:
            if choice == 0:
                self.request_supplement(key)
            elif choice == 1 or m.complete:
                self.accept(key)  # refused while materials are missing
            else:
                self.attach_required(key)
        elif m.state == State.SUPPLEMENT_REQUESTED:
            (self.attach_required if not m.complete else self.provide_supplement)(key)
        elif m.state == State.ACCEPTED:
            [self.review, self.extend, self.request_supplement, self.special_procedure][choice](key)
            if choice == 0 and m.reviews == 3:
                self.conclude(key, result)
        elif m.state == State.SPECIAL_PROCEDURE:
            self.special_procedure(key)
        elif m.state in (State.CONCLUDED, State.REFUSED):
            self.deliver(key)
        elif m.state == State.DELIVERED:
            self.archive(key)
        elif not m.rated:
            self.rate(key, score)
        elif not m.appealed:
            self.appeal(key)
        else:
            self.decide_appeal(key)

    @invariant()
    def stores_match_the_model(self) -> None:
        for key, m in self.model.items():
            for name, service in self.services.items():
                case = service.case(self.ids[key][name])
                assert (case.state, case.supplement_rounds, len(case.review_steps)) == (
                    m.state,
                    m.rounds,
                    m.reviews,
                ), name
                assert (case.rating is not None, case.appealed, bool(case.extension_days)) == (
                    m.rated,
                    m.appealed,
                    m.extended,
                )
                assert (case.appeal_outcome is not None) == m.appeal_decided

    @invariant()
    def stores_hold_the_same_events(self) -> None:
        self.stores_under_test.assert_same_event_count()


def test_case_workflow_against_the_model_on_both_stores() -> None:
    require_both_stores()
    run_state_machine_as_test(
        CaseWorkflow,
        settings=settings(
            max_examples=25,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
